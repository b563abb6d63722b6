"""The data preview job: what the model will see, and a small dataset card.

``python launch.py --config=configs/data_preview.py --workdir=OUT`` writes

* ``OUT/preview.png``: preprocessed samples (exactly the training tensors),
  one labelled row per class;
* ``OUT/stats.json``: ``classes`` (names in label order),
  ``images_per_class``, ``skipped`` (each unusable file with its reason),
  ``ink_fraction`` (class -> mean fraction of ink pixels), ``image_size``,
  plus ``source``, ``split`` and ``num_images``.

Unusable data raises ``sigjax.data.DataError`` (launch.py exits non-zero
with its message).
"""

from __future__ import annotations

import json
import os

from absl import logging
import numpy as np

from sigjax import data as data_lib
from sigjax import viz


def sample_grid(data: data_lib.SignatureData, per_class: int, seed: int):
  """(classes, per_class, S, S, 1): a seeded choice of each class's images,
  NaN-padded (blank tiles) where a class has fewer."""
  rng = np.random.default_rng(seed)
  s = data.images.shape[1:]
  grid = np.full((data.num_classes, per_class) + s, np.nan, np.float32)
  for c in range(data.num_classes):
    idx = np.flatnonzero(data.labels == c)
    pick = np.sort(rng.choice(idx, min(per_class, len(idx)), replace=False))
    grid[c, :len(pick)] = data.images[pick]
  return grid


def dataset_card(data: data_lib.SignatureData) -> dict:
  """The stats.json content of a loaded split."""
  ink = {name: float(data.images[data.labels == c].mean())
         for c, name in enumerate(data.class_names)}
  return {
      "source": data.source,
      "split": data.meta.get("split"),
      "classes": list(data.class_names),
      "num_images": len(data),
      "images_per_class": data.counts(),
      "ink_fraction": ink,
      "image_size": int(data.images.shape[1]),
      "skipped": list(data.skipped),
  }


def run(config, workdir: str) -> dict:
  """Loads ``config.data`` (split ``config.data.split``) and writes
  preview.png and stats.json into ``workdir``; returns the card."""
  data = data_lib.load(config.data, config.data.split)
  os.makedirs(workdir, exist_ok=True)
  card = dataset_card(data)
  with open(os.path.join(workdir, "stats.json"), "w", encoding="utf-8") as f:
    json.dump(card, f, indent=2, ensure_ascii=False)
  per_class = int(config.train.samples_per_class)
  title = (f"{data.source} / {card['split']}: {len(data)} images, "
           f"{data.num_classes} classes, {card['image_size']} px")
  labels = [f"{n} ({card['images_per_class'][n]})" for n in data.class_names]
  viz.class_grid(sample_grid(data, per_class, config.seed), labels,
                 os.path.join(workdir, "preview.png"), title=title)
  logging.info("Wrote %s/preview.png and stats.json (%s).", workdir, title)
  return card
