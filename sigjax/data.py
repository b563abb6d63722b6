"""The signature data pipeline: one entry point for every source.

``load(config.data, split)`` decodes a whole split up front in Python (through
the one preprocessing of ``sigjax.preprocess``) into a ``SignatureData`` of
cached numpy arrays; ``train_dataset`` / ``eval_dataset`` then build tf.data
pipelines over those arrays. Decoding first means a bad file is found, skipped
and reported before any training starts, never in the middle of an epoch.

Sources (``config.data.source``):

* ``synthetic`` (default): procedural signatures, no files (sigjax.synthetic).
* ``folder``: ``ROOT/<class>/<images>`` (the original project's layout);
  ``config.data.dir`` = ROOT; class names = sorted folder names.
* ``cross_media``: the TFDS builder over the real cross-media signatures
  (sigjax.datasets.cross_media), split by writer.

Splits ``train`` / ``validation`` / ``test`` / ``all``. ``synthetic`` and
``folder`` split each class by image (``val_fraction``, ``test_fraction``,
``seed``); ``config.data.fraction`` keeps that fraction of every class of the
train split (nested: a smaller fraction is a subset of a larger one).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import zlib
from pathlib import Path
from typing import Optional, Sequence

from absl import logging
import numpy as np
import tensorflow as tf

from sigjax import preprocess
from sigjax.errors import DataError  # also importable as sigjax.data.DataError

SPLITS = ("train", "validation", "test", "all")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclasses.dataclass
class SignatureData:
  """A decoded split: images float32 (N, S, S, 1) in [0, 1] (ink = 1), labels
  int32 (N,) indexing ``class_names``; ``skipped`` lists unusable files as
  {"path", "reason"}. ``meta`` holds per-image lists aligned with ``labels``
  (``path`` for folder and cross_media, plus ``writer``, ``name_id``,
  ``name_hanzi``, ``medium`` for cross_media; ``index`` for synthetic) and
  source details (``split``, ``image_size``, ``root`` or ``manual_dir`` and
  ``tfds_config``)."""
  images: np.ndarray
  labels: np.ndarray
  class_names: list
  skipped: list = dataclasses.field(default_factory=list)
  source: str = ""
  meta: dict = dataclasses.field(default_factory=dict)

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  def __len__(self) -> int:
    return len(self.labels)

  def counts(self) -> dict:
    """Class name -> number of images, in label order."""
    c = np.bincount(self.labels, minlength=self.num_classes)
    return {name: int(k) for name, k in zip(self.class_names, c)}


# ----------------------------------------------------------------- splitting


def check_split_settings(cfg) -> None:
  """Raises DataError naming the setting when split settings are invalid."""
  v, t, f = float(cfg.val_fraction), float(cfg.test_fraction), float(
      cfg.fraction)
  if not (0 <= v < 1 and 0 <= t < 1 and v + t < 1):
    raise DataError(
        f"config.data.val_fraction={v} and config.data.test_fraction={t} must "
        "be >= 0 with a sum below 1")
  if not 0 < f <= 1:
    raise DataError(f"config.data.fraction={f} must be in (0, 1]")


def _stable_seed(seed: int, key: str) -> list:
  return [int(seed), zlib.crc32(key.encode("utf-8"))]


def split_items(n: int, split: str, key: str, cfg) -> np.ndarray:
  """Indices (into the n items of one group) that belong to ``split``.

  A permutation seeded by (data.seed, key) is cut as [test | validation |
  train]; with fraction f > 0 and n >= 3 each held-out part gets at least one
  item and train always keeps one. Keying by name (class folder, writer)
  keeps a group's split unchanged when other groups are added or removed.
  ``fraction`` keeps the first round(f * n_train) (at least 1) of train.
  """
  if split not in SPLITS:
    raise DataError(f"split={split!r}: use one of {', '.join(SPLITS)}")
  if split == "all":
    return np.arange(n)
  perm = np.random.default_rng(_stable_seed(cfg.seed, key)).permutation(n)

  def count(frac):
    k = int(round(n * frac))
    return max(k, 1) if frac > 0 and n >= 3 else k

  n_test, n_val = count(cfg.test_fraction), count(cfg.val_fraction)
  while n_test + n_val >= n and n_test + n_val > 0:  # train keeps one
    if n_val >= n_test and n_val > 0:
      n_val -= 1
    else:
      n_test -= 1
  if split == "test":
    return np.sort(perm[:n_test])
  if split == "validation":
    return np.sort(perm[n_test:n_test + n_val])
  train = perm[n_test + n_val:]
  keep = max(1, int(round(len(train) * float(cfg.fraction))))
  return np.sort(train[:keep])


def _select(groups: Sequence, split: str, cfg) -> np.ndarray:
  """Per-group split: ``groups`` gives each item's group key (class name)."""
  groups = np.asarray(groups)
  out = []
  for g in sorted(set(groups.tolist())):
    idx = np.flatnonzero(groups == g)
    out.append(idx[split_items(len(idx), split, str(g), cfg)])
  return np.sort(np.concatenate(out)) if out else np.zeros(0, np.int64)


# ------------------------------------------------------------------ decoding


def decode_all(items: Sequence, image_size: int, read=preprocess.load_image):
  """Decodes items (paths or bytes) with a thread pool (PIL releases the GIL).

  Returns (images list with None for failures, {index: reason}).
  """
  def one(item):
    try:
      return read(item, image_size), None
    except preprocess.ImageError as e:
      return None, str(e)

  workers = max(1, min(8, os.cpu_count() or 1))
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    results = list(pool.map(one, items))
  return [r[0] for r in results], {
      i: r[1] for i, r in enumerate(results) if r[1] is not None}


def warn_skipped(skipped: list, where: str) -> None:
  """One warning that counts and names every skipped file."""
  if skipped:
    names = "; ".join(f"{s['path']} ({s['reason']})" for s in skipped)
    logging.warning("Skipped %d unusable file(s) in %s: %s", len(skipped),
                    where, names)


def _ink(cfg) -> str:
  """config.data.ink, validated."""
  ink = cfg.ink
  if ink not in preprocess.INKS:
    raise DataError(f"config.data.ink={ink!r}: use one of "
                    f"{', '.join(preprocess.INKS)}")
  return ink


def _reader(read, cfg):
  ink = _ink(cfg)
  return lambda item, image_size: read(item, image_size, ink)


def _stack(images: list, image_size: int) -> np.ndarray:
  if not images:
    return np.zeros((0, image_size, image_size, 1), np.float32)
  return np.stack(images).astype(np.float32)


# ------------------------------------------------------------------- sources


def _scan_folder(root: Path):
  """(class names, [(class, relpath)], skipped) of ROOT/<class>/<files>."""
  if not root.exists():
    raise DataError(f"data folder {root} does not exist (config.data.dir)")
  if not root.is_dir():
    raise DataError(f"data folder {root} is not a folder (config.data.dir)")
  skipped, files = [], []
  entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
  classes = [p.name for p in entries if p.is_dir()]
  for p in entries:
    if not p.is_dir():
      skipped.append({"path": p.name, "reason": "not inside a class folder"})
  if not classes:
    raise DataError(f"data folder {root} has no class subfolders; expected "
                    "ROOT/<person>/<images>")
  for name in classes:
    for f in sorted((root / name).iterdir()):
      rel = f"{name}/{f.name}"
      if f.name.startswith("."):
        continue
      if f.is_dir():
        skipped.append({"path": rel, "reason": "a folder (not searched)"})
      elif f.suffix.lower() not in IMAGE_EXTENSIONS:
        skipped.append({"path": rel, "reason": f"not an image file extension "
                                               f"({f.suffix or 'none'})"})
      else:
        files.append((name, rel))
  return classes, files, skipped


def _load_folder(cfg, split: str) -> SignatureData:
  if not cfg.dir:
    raise DataError("config.data.dir is empty: set --config.data.dir=ROOT "
                    "(ROOT/<person>/<images>) for data.source='folder'")
  root = Path(cfg.dir).expanduser()
  classes, files, skipped = _scan_folder(root)
  images, errors = decode_all([root / rel for _, rel in files], cfg.image_size,
                              read=_reader(preprocess.load_image, cfg))
  skipped += [{"path": files[i][1], "reason": r} for i, r in errors.items()]
  skipped.sort(key=lambda s: s["path"])
  warn_skipped(skipped, str(root))
  ok = [i for i in range(len(files)) if images[i] is not None]
  have = {files[i][0] for i in ok}
  empty = [c for c in classes if c not in have]
  if empty:
    raise DataError(
        "class folder(s) with no usable images: "
        + ", ".join(str(root / c) for c in empty)
        + (f" ({len(skipped)} file(s) skipped, see the warning)"
           if skipped else ""))
  groups = [files[i][0] for i in ok]
  sel = [ok[j] for j in _select(groups, split, cfg)]
  _check_split_classes(classes, [files[i][0] for i in sel], split,
                       lambda c: str(root / c))
  return SignatureData(
      images=_stack([images[i] for i in sel], cfg.image_size),
      labels=np.array([classes.index(files[i][0]) for i in sel], np.int32),
      class_names=classes, skipped=skipped, source="folder",
      meta={"root": str(root), "split": split,
            "path": [files[i][1] for i in sel]})


def _check_split_classes(classes, present, split, where) -> None:
  missing = [c for c in classes if c not in set(present)]
  if missing:
    raise DataError(
        f"split {split!r} has no images of class(es) "
        + ", ".join(where(c) for c in missing)
        + ": add images or lower config.data.val_fraction/test_fraction")


def _load_synthetic(cfg, split: str) -> SignatureData:
  from sigjax import synthetic  # pylint: disable=g-import-not-at-top
  images, labels, names = synthetic.generate(
      int(cfg.num_classes), int(cfg.synthetic_per_class), int(cfg.image_size),
      int(cfg.seed), ink=_ink(cfg))
  sel = _select([names[l] for l in labels], split, cfg)
  _check_split_classes(names, [names[l] for l in labels[sel]], split,
                       lambda c: f"synthetic {c}")
  return SignatureData(images=images[sel], labels=labels[sel],
                       class_names=list(names), source="synthetic",
                       meta={"split": split, "index": sel.tolist()})


def _load_cross_media(cfg, split: str) -> SignatureData:
  from sigjax.datasets import cross_media  # pylint: disable=g-import-not-at-top
  if split not in SPLITS:
    raise DataError(f"split={split!r}: use one of {', '.join(SPLITS)}")
  examples, names, info = cross_media.load_examples(cfg, split)
  images, errors = decode_all([e["image"] for e in examples], cfg.image_size,
                              read=_reader(preprocess.load_bytes, cfg))
  skipped = [{"path": examples[i]["path"], "reason": r}
             for i, r in errors.items()]
  warn_skipped(skipped, info["manual_dir"])
  ok = [i for i in range(len(examples)) if images[i] is not None]
  if not ok:
    raise DataError(f"cross_media split {split!r} is empty "
                    f"({info['manual_dir']})")
  if cfg.fraction < 1 and split == "train":
    ok = [ok[j] for j in _fraction(
        [examples[i]["label"] for i in ok], float(cfg.fraction), cfg.seed)]
  meta = {k: [examples[i][k] for i in ok]
          for k in ("path", "writer", "name_id", "name_hanzi", "medium")}
  meta.update(info, split=split)
  return SignatureData(
      images=_stack([images[i] for i in ok], cfg.image_size),
      labels=np.array([examples[i]["label"] for i in ok], np.int32),
      class_names=list(names), skipped=skipped, source="cross_media", meta=meta)


def _fraction(labels, fraction: float, seed: int) -> np.ndarray:
  """Keeps round(fraction * n) (>= 1) items of each label, seeded, nested."""
  labels = np.asarray(labels)
  keep = []
  for c in np.unique(labels):
    idx = np.flatnonzero(labels == c)
    perm = np.random.default_rng(_stable_seed(seed, f"fraction/{c}"))
    k = max(1, int(round(len(idx) * fraction)))
    keep.append(idx[perm.permutation(len(idx))[:k]])
  return np.sort(np.concatenate(keep))


def medium_conditioned(data: SignatureData, media: Sequence[str]
                       ) -> SignatureData:
  """``data`` relabelled for ``model.medium_conditioning``: label =
  rank of the image's medium in ``media`` * names + name label, class names
  ``"<name> (<medium>)"`` in label order. ``meta['condition_names']`` and
  ``meta['condition_media']`` keep the two factors. Raises DataError when
  an image has no medium (not cross_media data) or one outside ``media``."""
  media = list(media)
  if "medium" not in data.meta:
    raise DataError(f"model.medium_conditioning: {data.source} data carries "
                    "no medium per image; use data.source='cross_media'")
  have = data.meta["medium"]
  bad = sorted(set(have) - set(media))
  if bad:
    raise DataError(f"model.medium_conditioning: images of medium "
                    f"{', '.join(bad)} are not in config.data.media "
                    f"({', '.join(media)})")
  rank = np.array([media.index(m) for m in have], np.int32)
  names = list(data.class_names)
  meta = dict(data.meta, condition_names=names, condition_media=media)
  return dataclasses.replace(
      data, labels=(rank * len(names) + data.labels).astype(np.int32),
      class_names=[f"{n} ({m})" for m in media for n in names], meta=meta)


_SOURCES = {"folder": _load_folder, "synthetic": _load_synthetic,
            "cross_media": _load_cross_media}


def load(data_cfg, split: str = "train") -> SignatureData:
  """Decodes one split of ``data_cfg.source`` into cached numpy arrays.

  Unreadable files are skipped with one warning (and listed in ``skipped``);
  a missing folder, an empty class or dataset, or a bad setting raises
  ``DataError`` naming the folder or setting.
  """
  if data_cfg.source not in _SOURCES:
    raise DataError(f"config.data.source={data_cfg.source!r}: use one of "
                    f"{', '.join(sorted(_SOURCES))}")
  if int(data_cfg.image_size) < 8:
    raise DataError(f"config.data.image_size={data_cfg.image_size} must be "
                    ">= 8")
  check_split_settings(data_cfg)
  data = _SOURCES[data_cfg.source](data_cfg, split)
  if len(data) == 0:
    raise DataError(f"{data_cfg.source} split {split!r} is empty")
  data.meta.setdefault("image_size", int(data_cfg.image_size))
  return data


# ------------------------------------------------------------------ tf.data


def _process(process_index, process_count):
  if process_index is None or process_count is None:
    import jax  # pylint: disable=g-import-not-at-top
    process_index = jax.process_index() if process_index is None else (
        process_index)
    process_count = jax.process_count() if process_count is None else (
        process_count)
  return int(process_index), int(process_count)


def global_batch_indices(step, n: int, batch_size: int, seed: int,
                         rows: tuple = (0, None)):
  """Dataset indices of global batch ``step`` (a tf int64 scalar or int),
  rows [rows[0], rows[1]) of it (default: all).

  The index stream is epoch after epoch of a permutation of range(n) seeded
  by (seed, epoch) (``index_shuffle``: stateless, O(1) per element); batch k
  is stream positions [k*B, (k+1)*B). So every epoch sees every image
  exactly once, batches may straddle epochs (shuffle + repeat + batch), and
  batch k depends only on (seed, k): resuming at step k costs O(1).
  """
  lo, hi = rows[0], batch_size if rows[1] is None else rows[1]
  pos = tf.cast(step, tf.int64) * batch_size + tf.range(lo, hi,
                                                        dtype=tf.int64)
  epoch = pos // n
  seeds = tf.stack([tf.fill(tf.shape(pos), tf.constant(seed, tf.int64)),
                    epoch, tf.zeros_like(pos)], axis=1)  # [rows, 3]
  # tf.random.experimental.index_shuffle pads a [rows, 2] seed wrongly (TF
  # 2.21), so call its op with the [rows, 3] seed it expects (rounds=4 is
  # the wrapper's default).
  return tf.raw_ops.RandomIndexShuffle(
      index=pos % n, seed=seeds, max_index=tf.constant(n - 1, tf.int64),
      rounds=4)


def permutation_batches(data: SignatureData, batch_size: int, seed: int,
                        start_step: int = 0,
                        process_index: Optional[int] = None,
                        process_count: Optional[int] = None):
  """The 'permutation' order fed from the host: an infinite iterator of this
  process's rows of every global batch from ``start_step`` on, as numpy
  (images, labels) like ``train_dataset``'s. The indices are the ones
  ``sigjax.batch_order.permutation_batch_indices`` gives on the device
  (computed by JAX on the CPU; threefry and JAX's stable sort are the same
  on every backend), so a run may move between the host and the device
  path and stay exact.
  """
  import jax  # pylint: disable=g-import-not-at-top
  from sigjax import batch_order  # pylint: disable=g-import-not-at-top
  n = len(data)
  if n == 0:
    raise DataError(f"no images to train on ({data.source})")
  pi, pc = _process(process_index, process_count)
  if batch_size < 1 or batch_size % pc:
    raise ValueError(f"batch_size={batch_size} must be a positive multiple "
                     f"of the process count ({pc})")
  local = batch_size // pc
  cpu = jax.local_devices(backend="cpu")[0]
  key = jax.device_put(batch_order.order_key(seed), cpu)
  indices = jax.jit(lambda k, s: batch_order.permutation_batch_indices(
      k, s, n, batch_size))
  images = np.asarray(data.images, np.float32)
  labels = np.asarray(data.labels, np.int32)
  step = int(start_step)
  while True:
    idx = np.asarray(indices(key, jax.device_put(np.int32(step), cpu)))
    idx = idx[pi * local:(pi + 1) * local]
    yield images[idx], labels[idx]
    step += 1


def train_dataset(data: SignatureData, batch_size: int, seed: int,
                  start_step: int = 0, process_index: Optional[int] = None,
                  process_count: Optional[int] = None,
                  prefetch: int = 2) -> tf.data.Dataset:
  """Infinite (images, labels) batches for training, starting at global step
  ``start_step``.

  ``batch_size`` is the global batch; this process gets rows
  [p*B/P, (p+1)*B/P) of every global batch (``process_index`` p and
  ``process_count`` P default to JAX's), so the shards of all processes are
  disjoint and together are exactly the global batch. Images float32
  (B/P, S, S, 1), labels int32 (B/P,).
  """
  n = len(data)
  if n == 0:
    raise DataError(f"no images to train on ({data.source})")
  pi, pc = _process(process_index, process_count)
  if batch_size < 1 or batch_size % pc:
    raise ValueError(f"batch_size={batch_size} must be a positive multiple "
                     f"of the process count ({pc})")
  local = batch_size // pc
  images = tf.constant(np.asarray(data.images, np.float32))
  labels = tf.constant(np.asarray(data.labels, np.int32))

  def batch(step):
    idx = global_batch_indices(step, n, batch_size, seed,
                               rows=(pi * local, (pi + 1) * local))
    return tf.gather(images, idx), tf.gather(labels, idx)

  ds = tf.data.Dataset.counter(int(start_step), dtype=tf.int64)
  ds = ds.map(batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  return ds.prefetch(prefetch)


def eval_dataset(data: SignatureData, batch_size: int,
                 prefetch: int = 2) -> tf.data.Dataset:
  """One ordered pass over every image (the last batch may be smaller).

  Not sharded by process: each process sees the whole split (evaluation
  sets are small; ``sigjax.classify`` pads and shards itself).
  """
  ds = tf.data.Dataset.from_tensor_slices(
      (np.asarray(data.images, np.float32), np.asarray(data.labels, np.int32)))
  return ds.batch(batch_size, drop_remainder=False).prefetch(prefetch)


def get_dataset(data_cfg, split: str, batch_size: int, seed: int,
                train: bool = True, start_step: int = 0):
  """(tf.data.Dataset, SignatureData) for ``split`` of ``data_cfg``."""
  data = load(data_cfg, split)
  prefetch = int(data_cfg.prefetch or 1)
  if train:
    ds = train_dataset(data, batch_size, seed, start_step, prefetch=prefetch)
  else:
    ds = eval_dataset(data, batch_size, prefetch=prefetch)
  return ds, data
