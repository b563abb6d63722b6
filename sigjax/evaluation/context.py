"""The inputs the experiments share: one ``Context`` per evaluation.

It holds the configuration, the real data, the sampler of generated images
(in the form the suite scores), the cache of classifiers and real-data fits
(``cache.Cache``; a process's runs share one), and what the experiments
that ran so far left for the others (``artifacts``: the CAS classifier and
its features for fid and prd, example images for the report).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np

from sigjax import preprocess
from sigjax.evaluation import cache as cache_lib
from sigjax.evaluation.base import EvaluationError
from sigjax.evaluation.base import SEEDS

POSTPROCESS = ("auto", "none", "uint8", "binarize", "otsu")


def is_binary(images) -> bool:
  """True when every pixel is exactly 0 or 1 (binarized data)."""
  x = np.asarray(images)
  return bool(x.size) and bool(np.all((x == 0) | (x == 1)))


def resolve_postprocess(mode: str, real_images, ink: str = "binary") -> str:
  """config.eval.postprocess with 'auto' resolved: when the real data is
  binary, its binary form as configs/generate.py writes it by default:
  'binarize' (>= 0.5) for a generator trained on binary data, 'otsu' (per
  image, as the real images are binarised) for one trained on ink coverage
  (``ink``, its config.data.ink); 'uint8' when the real data is not binary."""
  if mode not in POSTPROCESS:
    raise EvaluationError(f"config.eval.postprocess={mode!r}: use "
                          f"{', '.join(POSTPROCESS)}")
  if mode == "auto":
    if not is_binary(real_images):
      return "uint8"
    return "otsu" if ink == "coverage" else "binarize"
  return mode


def postprocess(images: np.ndarray, mode: str) -> np.ndarray:
  """The generated images as the classifiers see them."""
  images = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
  if mode == "none":
    return images
  if mode == "uint8":  # what saving to PNG and reading back does
    return np.round(images * 255.0) / 255.0
  if mode == "binarize":
    return (images >= 0.5).astype(np.float32)
  if mode == "otsu":
    return preprocess.otsu_ink(images)
  raise EvaluationError(f"config.eval.postprocess={mode!r}: use none, uint8, "
                        "binarize or otsu (or auto)")


def downscale(images: np.ndarray, factor: int) -> np.ndarray:
  """(N, S, S, C) images area-averaged to (N, S/factor, S/factor, C): each
  output pixel is the mean of a factor x factor block, as ink coverage is
  measured (``data.ink='coverage'``)."""
  if factor == 1:
    return images
  n, h, w, c = images.shape
  if h % factor or w % factor:
    raise EvaluationError(f"cannot downscale {h}x{w} images by {factor}")
  return images.reshape(n, h // factor, factor, w // factor, factor,
                        c).mean(axis=(2, 4))


def judge_factor(generator_size, judge_size) -> int:
  """How many times the generated images are downscaled to be judged at
  ``judge_size`` (config.eval.image_size; 0 = the generator's own)."""
  judge_size, generator_size = int(judge_size or 0), int(generator_size)
  if not judge_size or judge_size == generator_size:
    return 1
  if judge_size > generator_size or generator_size % judge_size:
    raise EvaluationError(
        f"config.eval.image_size={judge_size}: the generator makes "
        f"{generator_size}px images; judge at {generator_size} (0) or at a "
        f"smaller size that divides it")
  return generator_size // judge_size


class Sampler:
  """Generates class-balanced sets (labels 0..C-1 repeated, as the original);
  balanced sets are kept, so experiments asking for the same set (the CAS
  images, also scored by the independent network) share it. ``factor`` > 1
  area-averages each image down by that factor before the postprocessing
  (config.eval.image_size)."""

  def __init__(self, generator, num_classes, seed, mode, factor: int = 1):
    self.g, self.c, self.seed, self.mode = generator, num_classes, seed, mode
    self.factor = int(factor)
    self._kept = {}

  def balanced(self, n_per_class: int, key: str):
    if (n_per_class, key) not in self._kept:
      labels = np.tile(np.arange(self.c, dtype=np.int32), n_per_class)
      self._kept[(n_per_class, key)] = (self.labelled(labels, key), labels)
    return self._kept[(n_per_class, key)]

  def labelled(self, labels, key: str, offset: int = 0):
    """Generated images for ``labels``, seeded by (config.seed, key, offset)."""
    if len(labels) == 0:
      raise EvaluationError(f"{key}: asked for 0 generated images")
    x = self.g.sample(np.asarray(labels, np.int32),
                      seed=self.seed + SEEDS[key] + 1000 * offset)
    x = downscale(np.clip(np.asarray(x, np.float32), 0.0, 1.0), self.factor)
    return postprocess(x, self.mode)


@dataclasses.dataclass
class Context:
  """One evaluation's shared inputs.

  ``real``: {'train', 'validation', 'test', 'all'[, 'indep_train']}
  ``SignatureData``; ``names``: the class names; ``seed``: config.seed, from
  which every random choice derives. ``artifacts[name]``: what experiment
  ``name`` left for the experiments that need it and for its report
  section (not written to report.json)."""
  config: Any
  real: dict
  sampler: Sampler
  names: list
  seed: int
  cache: cache_lib.Cache = dataclasses.field(
      default_factory=cache_lib.default_cache)
  artifacts: dict = dataclasses.field(default_factory=dict)

  @property
  def e(self):
    """config.eval, the suite's settings."""
    return self.config.eval

  @property
  def num_classes(self) -> int:
    return len(self.names)

  def artifact(self, name: str, key: Optional[str] = None):
    """What experiment ``name`` (a declared need) left, or its ``key``."""
    if name not in self.artifacts:
      raise EvaluationError(f"{name} has not run: an experiment that reads "
                            "its results must list it in its needs")
    return self.artifacts[name] if key is None else self.artifacts[name][key]
