"""Writes generated signatures to disk, the original's 3000-image set.

``OUT/images/<class>/<i>.png`` (ink black on white, as a scan would be) and
``OUT/labels.csv`` (path,label,class_name). Deterministic in config.seed.
"""

import csv
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
                                 step=config.step if config.step >= 0 else None)
  per_class = int(config.per_class)
  rows = []
  for c, name in enumerate(gen.class_names):
    folder = os.path.join(workdir, "images", safe_name(name))
    os.makedirs(folder, exist_ok=True)
    images = gen.sample(np.full(per_class, c), seed=config.seed * 100003 + c)
    for i, img in enumerate(images):
      rel = os.path.join("images", safe_name(name), f"{i}.png")
      pixels = ((1.0 - img[..., 0]) * 255.0).round().astype(np.uint8)
      Image.fromarray(pixels, mode="L").save(os.path.join(workdir, rel))
      rows.append((rel, c, name))
  with open(os.path.join(workdir, "labels.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["path", "label", "class_name"])
    w.writerows(rows)
  logging.info("Wrote %d images of %d classes from %s (step %d) to %s.",
               len(rows), gen.num_classes, config.gan_workdir, gen.step,
               workdir)
