"""TFDS builder for the cross-media Chinese signatures (manual dir, no download).

The data (93 writers x the same 10 names x 4 media; see the README in the
data folder) is read from a manual directory: ``$SIGJAX_CROSS_MEDIA_DIR`` or
``../shared/data/cross_media_signatures`` next to the repository.

Builder configs choose what is stored (and so what a split contains):

* ``label``: ``name`` (10 classes, the pinyin names "Wang Tao" ..., hanzi in
  ``name_hanzi``) or ``writer`` (93 classes "writer 1" ...);
* ``media``: a subset of paper, ipad, phone_in_hand, phone_on_table
  (default paper: 10 classes x 93 = 930 images);
* ``variant``: ``bin`` (the authors' binarized 224 px images) or ``raw``
  (RGBA scans, writers 1-10 only).

Splits are deterministic and seeded by ``split_seed``. With ``label='name'``
they are disjoint by writer (a test set of hands never seen in training): a
seeded permutation of the writers is cut [test | validation | train] with
``test_fraction`` / ``val_fraction`` (defaults 0.2 / 0.1: 19 / 9 / 65 of the
93 writers). With ``label='writer'`` every class must appear in every split,
so each writer's images are split instead (same fractions, per writer).

Examples store the source file's bytes unchanged (``image``), so decoding and
preprocessing happen when loading, through the same ``sigjax.preprocess``
code as every other source, and ``image_size`` stays a pipeline setting.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path

from etils import epath
import numpy as np
import tensorflow_datasets as tfds

from configs import common

from sigjax.errors import DataError

ENV_DIR = "SIGJAX_CROSS_MEDIA_DIR"
MEDIA = ("paper", "ipad", "phone_in_hand", "phone_on_table")
NAMES = ("Wang Tao", "Zhang Lei", "Guo Xin", "Chen Jing", "Zhao Xue",
         "Li Haoran", "Xu Junjie", "Yang Zihan", "Dong Xinyi", "Zhu Jiayi")
DEFAULT_SPLIT = (0.1, 0.2, 0)  # val_fraction, test_fraction, split_seed


def default_manual_dir() -> Path:
  """$SIGJAX_CROSS_MEDIA_DIR, else ../shared/data/cross_media_signatures
  next to the repository (never a machine-specific absolute path)."""
  env = os.environ.get(ENV_DIR)
  if env:
    return Path(env).expanduser()
  repo = Path(__file__).resolve().parents[2]
  return (repo / ".." / "shared" / "data" / "cross_media_signatures").resolve()


@dataclasses.dataclass(eq=False)
class CrossMediaConfig(tfds.core.BuilderConfig):
  label: str = "name"
  media: tuple = ("paper",)
  variant: str = "bin"
  val_fraction: float = DEFAULT_SPLIT[0]
  test_fraction: float = DEFAULT_SPLIT[1]
  split_seed: int = DEFAULT_SPLIT[2]


def config_name(label, media, variant, val_fraction=DEFAULT_SPLIT[0],
                test_fraction=DEFAULT_SPLIT[1], split_seed=DEFAULT_SPLIT[2]):
  """e.g. 'name_paper_bin'; non-default split settings are appended."""
  m = "all" if tuple(media) == MEDIA else "+".join(media)
  name = f"{label}_{m}_{variant}"
  if (val_fraction, test_fraction, split_seed) != DEFAULT_SPLIT:
    name += f"_v{val_fraction:g}_t{test_fraction:g}_s{split_seed}"
  return name


def make_config(label="name", media=("paper",), variant="bin",
                val_fraction=DEFAULT_SPLIT[0], test_fraction=DEFAULT_SPLIT[1],
                split_seed=DEFAULT_SPLIT[2]) -> CrossMediaConfig:
  """A validated config; raises ValueError naming the bad setting."""
  if label not in ("name", "writer"):
    raise ValueError(f"config.data.label={label!r}: use 'name' or 'writer'")
  bad = [m for m in media if m not in MEDIA]
  media = tuple(m for m in MEDIA if m in set(media))  # canonical order
  if bad or not media:
    raise ValueError(f"config.data.media: use 'all' or a comma-separated "
                     f"subset of {','.join(MEDIA)}")
  if variant not in ("bin", "raw"):
    raise ValueError(f"config.data.variant={variant!r}: use 'bin' or 'raw'")
  name = config_name(label, media, variant, val_fraction, test_fraction,
                     split_seed)
  return CrossMediaConfig(
      name=name, label=label, media=media, variant=variant,
      val_fraction=float(val_fraction), test_fraction=float(test_fraction),
      split_seed=int(split_seed),
      description=f"label={label}, media={'+'.join(media)}, "
                  f"variant={variant}, splits by "
                  f"{'writer' if label == 'name' else 'image per writer'}")


def _split_of(n: int, key: list, val_fraction, test_fraction) -> list:
  """Split name of each of n items: a permutation seeded by ``key`` cut as
  [test | validation | train] (each held-out part >= 1 item if its fraction
  is > 0 and n >= 3)."""
  perm = np.random.default_rng(key).permutation(n)

  def count(f):
    k = int(round(n * f))
    return max(k, 1) if f > 0 and n >= 3 else k

  n_test, n_val = count(test_fraction), count(val_fraction)
  out = [""] * n
  for rank, i in enumerate(perm):
    out[i] = ("test" if rank < n_test else
              "validation" if rank < n_test + n_val else "train")
  return out


class CrossMediaSignatures(tfds.core.GeneratorBasedBuilder):
  """Cross-media Chinese signatures (Luo et al. 2023), from a manual dir."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Source bytes + writer/name/medium metadata."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      "Point manual_dir at the cross_media_signatures folder (README.md, "
      "manifest.csv, bin/, raw/), e.g. ../shared/data/cross_media_signatures "
      f"or ${ENV_DIR}.")
  BUILDER_CONFIGS = [
      make_config("name", ("paper",), "bin"),
      make_config("name", MEDIA, "bin"),
      make_config("writer", MEDIA, "bin"),
      make_config("name", ("paper",), "raw"),
  ]
  DEFAULT_CONFIG_NAME = "name_paper_bin"

  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls) -> epath.Path:
    # TFDS 4.9.10 computes this with the `importlib_resources` backport, which
    # it only declares for Python < 3.9 (ModuleNotFoundError here); the answer
    # it would compute is this file.
    return epath.Path(__file__)

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    names = (list(NAMES) if cfg.label == "name" else
             [f"writer {w}" for w in range(1, 94)])
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Tensor(shape=(), dtype=np.object_),
            "label": tfds.features.ClassLabel(names=names),
            "writer": tfds.features.Scalar(dtype=np.int32),
            "name_id": tfds.features.Scalar(dtype=np.int32),
            "name_hanzi": tfds.features.Text(),
            "medium": tfds.features.ClassLabel(names=list(MEDIA)),
            "path": tfds.features.Text(),
        }),
        supervised_keys=("image", "label"),
        homepage="https://github.com/dishangti/Cross-media-Signatures",
        citation="Luo, J. et al. (2023), Is There a Difference between Paper "
                 "and Electronic Chinese Signatures?, Advanced Intelligent "
                 "Systems 5: 2300439, doi:10.1002/aisy.202300439.",
    )

  def _rows(self, manual_dir: Path) -> list:
    cfg = self.builder_config
    manifest = manual_dir / "manifest.csv"
    if not manifest.is_file():
      raise FileNotFoundError(f"{manifest} not found: manual dir {manual_dir} "
                              "is not the cross-media data folder")
    with open(manifest, newline="", encoding="utf-8") as f:
      rows = [r for r in csv.DictReader(f)
              if r["variant"] == cfg.variant and r["medium"] in cfg.media]
    if not rows:
      raise ValueError(f"{manifest} has no {cfg.variant} images of "
                       f"{'+'.join(cfg.media)}")
    return sorted(rows, key=lambda r: (int(r["writer"]), r["path"]))

  def _split_generators(self, dl_manager):
    cfg = self.builder_config
    manual_dir = Path(dl_manager.manual_dir)
    rows = self._rows(manual_dir)
    if cfg.label == "name":  # disjoint by writer
      writers = sorted({int(r["writer"]) for r in rows})
      of = dict(zip(writers, _split_of(len(writers), [cfg.split_seed, 1],
                                       cfg.val_fraction, cfg.test_fraction)))
      split = [of[int(r["writer"])] for r in rows]
    else:  # every writer in every split: split each writer's images
      split = [""] * len(rows)
      for w in sorted({int(r["writer"]) for r in rows}):
        idx = [i for i, r in enumerate(rows) if int(r["writer"]) == w]
        for i, s in zip(idx, _split_of(len(idx), [cfg.split_seed, 2, w],
                                       cfg.val_fraction, cfg.test_fraction)):
          split[i] = s
    return {s: self._generate_examples(
        manual_dir, [r for r, t in zip(rows, split) if t == s])
            for s in ("train", "validation", "test")}

  def _generate_examples(self, manual_dir: Path, rows: list):
    cfg = self.builder_config
    for r in rows:
      yield r["path"], {
          "image": (manual_dir / r["path"]).read_bytes(),
          "label": (int(r["name_id"]) if cfg.label == "name"
                    else int(r["writer"]) - 1),
          "writer": int(r["writer"]),
          "name_id": int(r["name_id"]),
          "name_hanzi": r["name_hanzi"],
          "medium": r["medium"],
          "path": r["path"],
      }


def builder_from_data_config(data_cfg) -> CrossMediaSignatures:
  """The (prepared-or-not) builder for ``config.data``."""
  try:
    cfg = make_config(data_cfg.label, common.media_list(data_cfg),
                      data_cfg.variant, data_cfg.val_fraction,
                      data_cfg.test_fraction, data_cfg.seed)
  except ValueError as e:
    raise DataError(str(e)) from None
  registered = {c.name for c in CrossMediaSignatures.BUILDER_CONFIGS}
  config = cfg.name if cfg.name in registered else cfg
  return CrossMediaSignatures(config=config,
                              data_dir=data_cfg.tfds_data_dir or None)


def prepare(builder: CrossMediaSignatures, manual_dir: Path) -> None:
  """Builds the dataset into the builder's data_dir unless already there."""
  manual_dir = Path(manual_dir)
  if not (manual_dir / "manifest.csv").is_file():
    raise DataError(
        f"cross-media data not found at {manual_dir} (no manifest.csv); set "
        f"config.data.dir or ${ENV_DIR}")
  tfds.disable_progress_bar()  # one log line instead of bars in job logs
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(manual_dir)))


def build(manual_dir, data_dir, config_name: str = "name_paper_bin"):
  """Builds one registered config into ``data_dir``; returns the builder."""
  builder = CrossMediaSignatures(config=config_name, data_dir=str(data_dir))
  prepare(builder, Path(manual_dir))
  return builder


def load_examples(data_cfg, split: str):
  """(examples, class names, info) of one split, examples sorted by path.

  Each example is a dict of numpy/python values (``image`` = file bytes);
  ``split='all'`` concatenates train, validation and test.
  """
  manual_dir = Path(data_cfg.dir).expanduser() if data_cfg.dir else (
      default_manual_dir())
  builder = builder_from_data_config(data_cfg)
  prepare(builder, manual_dir)
  splits = ("train", "validation", "test") if split == "all" else (split,)
  examples = []
  for s in splits:
    ds = builder.as_dataset(split=s, shuffle_files=False)
    for ex in tfds.as_numpy(ds):
      examples.append({
          "image": ex["image"], "label": int(ex["label"]),
          "writer": int(ex["writer"]), "name_id": int(ex["name_id"]),
          "name_hanzi": ex["name_hanzi"].decode("utf-8"),
          "medium": MEDIA[int(ex["medium"])],
          "path": ex["path"].decode("utf-8")})
  examples.sort(key=lambda e: e["path"])
  names = builder.info.features["label"].names
  info = {"manual_dir": str(manual_dir), "tfds_config": builder.builder_config.name,
          "tfds_data_dir": str(builder.data_dir)}
  return examples, names, info
