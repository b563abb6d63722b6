"""Writes generated signatures to disk, the original's 3000-image set.

``OUT/images/<class>/<i>.png`` (ink black on white, as a scan would be),
``OUT/labels.csv`` (path,label,class_name) and ``OUT/generate.json`` (the
run, step and output form). Deterministic in config.seed.

``config.output``: 'binary' (default): black ink on white, the binary form
of the data the GAN learnt from (thresholded at 0.5; per-image Otsu for a GAN
trained on ink coverage, config.data.ink='coverage'); 'raw': G's sigmoid
output as grey levels.
"""

import csv
import json
import os
import re

from absl import logging
import numpy as np
from PIL import Image

from sigjax import inference


def safe_name(name: str) -> str:
  """A class name usable as a folder name on every OS."""
  return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "class"


def run(config, workdir: str):
  if not config.gan_workdir:
    raise ValueError("Set --config.gan_workdir=RUN (a training workdir).")
  gen = inference.load_generator(config.gan_workdir,
                                 step=config.step if config.step >= 0 else None,
                                 medium=config.medium or None)
  per_class = int(config.per_class)
  output = config.output
  if output not in inference.OUTPUTS:
    raise ValueError(f"output={output!r}: use 'binary' (ink as in the "
                     "training data) or 'raw' (G's grey sigmoid output)")
  rows = []
  for c, name in enumerate(gen.class_names):
    folder = os.path.join(workdir, "images", safe_name(name))
    os.makedirs(folder, exist_ok=True)
    images = gen.sample(np.full(per_class, c), seed=config.seed * 100003 + c,
                        output=output)
    for i, img in enumerate(images):
      rel = os.path.join("images", safe_name(name), f"{i}.png")
      pixels = ((1.0 - img[..., 0]) * 255.0).round().astype(np.uint8)
      Image.fromarray(pixels, mode="L").save(os.path.join(workdir, rel))
      rows.append((rel, c, name))
  with open(os.path.join(workdir, "labels.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["path", "label", "class_name"])
    w.writerows(rows)
  with open(os.path.join(workdir, "generate.json"), "w") as f:
    json.dump({"gan_workdir": config.gan_workdir, "step": gen.step,
               "output": output, "per_class": per_class,
               "seed": int(config.seed), "ema": gen.ema,
               "trained_media": ",".join(gen.media),
               "medium": gen.medium or "",
               "class_names": gen.class_names}, f, indent=2)
  logging.info("Wrote %d %s images of %d classes from %s (step %d) to %s.",
               len(rows), output, gen.num_classes, config.gan_workdir, gen.step,
               workdir)
