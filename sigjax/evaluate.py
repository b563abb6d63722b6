"""The evaluation suite: every experiment of the original project, one report.

    python launch.py --config=configs/evaluate.py:cpu \
        --config.gan_workdir=RUN --workdir=OUT

``run(config, workdir)`` restores the generator of RUN (``sigjax.inference``),
loads the real data it was trained on (RUN/config.json's data settings,
unless overridden) and calls ``run_suite``, which tests and callers with an
in-process generator (anything with ``sample(labels, seed)``) use directly.
It writes OUT/report.json, OUT/report.md and OUT/figures/*.png.

The experiments (``config.eval.experiments``) are a registry
(``sigjax/evaluation/``, one module each; its docstring names its
report.json keys), run and reported in this order:

* ``cas``: the original's best classifier trained on the real train split,
  tested on generated images and on the real test split.
* ``tstr``: the same classifier trained on generated images only, tested on
  the real test split.
* ``realfake``: a real/generated detector (``config.eval.detector``) on the
  original's split, with its competence check against degraded real images.
* ``multilabel``: the original's 11-output sigmoid classifier.
* ``fid`` / ``prd``: FID/KID and precision/recall in the CAS classifier's
  feature space, beside their real-vs-real floors (need ``cas``).
* ``indep``: a second, independent network's CAS, FID/KID and
  precision/recall; where it and the suite's classifier disagree,
  ``disagreements`` says so.
* ``strokes`` / ``copies``: stroke structure and near-copies of training
  signatures, with no learned network.

This module keeps the job (``run``), the real data's inputs
(``resolve_data_config``, ``indep_data_config``, ``load_real``) and the
suite's public names.

Generated images are scored in the form ``config.eval.postprocess`` names
(``auto``: binarized when the real data is binary, else uint8); the report
states the form. Every random choice derives from ``config.seed``; on CPU a
rerun gives the same numbers.
"""

from __future__ import annotations

import json
import os

import ml_collections

from configs import common
from sigjax import data as data_lib
from sigjax.evaluation import registry
from sigjax.evaluation.base import EvaluationError
from sigjax.evaluation.cache import Cache
from sigjax.evaluation.cache import default_cache
from sigjax.evaluation.context import is_binary
from sigjax.evaluation.context import judge_factor
from sigjax.evaluation.context import POSTPROCESS
from sigjax.evaluation.context import postprocess
from sigjax.evaluation.context import resolve_postprocess
from sigjax.evaluation.copies import COPY_QUANTILE
from sigjax.evaluation.distribution import distribution_metrics
from sigjax.evaluation.distribution import fid_halves
from sigjax.evaluation.distribution import SUITE_FEATURES
from sigjax.evaluation.multilabel import multilabel_split
from sigjax.evaluation.realfake import degrade
from sigjax.evaluation.realfake import DEGRADATIONS
from sigjax.evaluation.realfake import DETECTOR_MIN_SIZE
from sigjax.evaluation.realfake import DETECTORS
from sigjax.evaluation.realfake import detector_input
from sigjax.evaluation.realfake import realfake_sizes
from sigjax.evaluation.suite import run_suite

EXPERIMENTS = registry.NAMES
# Experiments that work in the CAS classifier's feature space.
NEEDS_CAS = tuple(x.name for x in registry.EXPERIMENTS if "cas" in x.needs)
ALL_MEDIA = "paper,ipad,phone_in_hand,phone_on_table"
parse_experiments = registry.parse

__all__ = [
    "ALL_MEDIA", "COPY_QUANTILE", "Cache", "DEGRADATIONS",
    "DETECTOR_MIN_SIZE", "DETECTORS", "EXPERIMENTS", "EvaluationError",
    "GENERATORS", "NEEDS_CAS", "POSTPROCESS", "SUITE_FEATURES",
    "default_cache", "degrade", "detector_input", "distribution_metrics",
    "fid_halves", "indep_data_config", "is_binary", "load_real",
    "multilabel_split", "parse_experiments", "postprocess",
    "realfake_sizes", "resolve_data_config", "resolve_postprocess", "run",
    "run_suite", "scored_data_config"]


# ----------------------------------------------------------------- inputs --


def resolve_data_config(config, run_config):
  """config.data with every None field filled from RUN's config (a dict,
  e.g. RUN/config.json, is read with ``common.upgrade``; None: the common
  defaults), so evaluation reads the data the GAN was trained on."""
  d = common.data_config()
  if run_config is not None and not isinstance(run_config,
                                               ml_collections.ConfigDict):
    run_config = common.upgrade(run_config)
  run_data = run_config.data if run_config is not None else d
  for k in list(d.keys()):
    v = config.data[k] if "data" in config else None
    d[k] = run_data[k] if v is None else v
  return d


def scored_data_config(data_cfg, medium: str = "", ink_given: bool = False,
                       media_given: bool = False):
  """``data_cfg`` (the data a generator trained on, changed in place and
  returned) as the real references it is scored against.

  A generator trained on ink coverage is scored, like every other run,
  against the binary real images, its own output Otsu-thresholded
  (eval.postprocess='auto'), unless the ink was given (``ink_given``:
  --config.data.ink=coverage scores the soft forms). On cross-media data
  the references are the test writers' signatures in ``medium`` (the one
  the generator was asked to draw with the medium as a condition), paper
  by default whatever media trained it, unless the media were given."""
  if data_cfg.ink == "coverage" and not ink_given:
    data_cfg.ink = "binary"
  if data_cfg.source == "cross_media" and not media_given:
    data_cfg.media = medium or "paper"
  return data_cfg


def indep_data_config(data_cfg, indep_media: str):
  """(data config the independent network trains on, why), or (None, why)
  when it trains on the evaluated data's own train split.

  Other media are used only for cross-media data with name labels, whose
  splits are disjoint by writer and the same for every choice of media (so
  the extra images are the training writers', never a test writer's)."""
  media = ALL_MEDIA if indep_media == "all" else str(indep_media or "")
  if not media:
    return None, "the evaluated data's train split (config.eval.indep_media='')"
  if data_cfg.source != "cross_media":
    return None, (f"the evaluated data's train split ({data_cfg.source} data "
                  "has no other media)")
  if data_cfg.label != "name":
    return None, ("the evaluated data's train split (label "
                  f"{data_cfg.label!r} splits each writer's images, so other "
                  "media could hold test images)")
  try:
    want = common.media_list({"media": media})
  except ValueError:
    raise EvaluationError(
        f"config.eval.indep_media={indep_media!r}: use '', 'all' or a "
        f"comma-separated subset of {ALL_MEDIA}") from None
  if want == common.media_list(data_cfg):  # 'all' included
    return None, "the evaluated data's train split (same media)"
  d = ml_collections.ConfigDict(data_cfg.to_dict())
  d.media = ",".join(want)
  return d, f"the training writers' {d.media} images"


def load_real(data_cfg, indep_media: str = "") -> dict:
  """{'train', 'validation', 'test', 'all'} SignatureData of the real data,
  plus 'indep_train' when the independent network trains on other media
  (``indep_data_config``)."""
  real = {s: data_lib.load(data_cfg, split=s)
          for s in ("train", "validation", "test", "all")}
  d, _ = indep_data_config(data_cfg, indep_media)
  if d is not None:
    real["indep_train"] = data_lib.load(d, split="train")
    real["indep_train"].meta["description"] = f"cross_media {d.media}, train"
  return real


# config.eval.generator -> inference.load_generator's ``ema`` argument.
GENERATORS = {"auto": None, "ema": True, "raw": False}


def run(config, workdir: str) -> dict:
  """The launch.py entry point (``config.job == 'evaluate'``)."""
  from sigjax import inference  # pylint: disable=g-import-not-at-top
  run_dir = config.gan_workdir
  if not run_dir:
    raise EvaluationError("config.gan_workdir is empty: pass "
                          "--config.gan_workdir=RUN (a training workdir)")
  if not os.path.isdir(run_dir):
    raise EvaluationError(f"config.gan_workdir={run_dir}: no such directory")
  wanted = parse_experiments(config.eval.experiments)
  which = config.eval.generator
  if which not in GENERATORS:
    raise EvaluationError(f"config.eval.generator={which!r}: use "
                          + ", ".join(GENERATORS))
  generator = inference.load_generator(run_dir,
                                       step=config.eval.checkpoint_step,
                                       ema=GENERATORS[which],
                                       medium=config.eval.medium or None)
  # RUN's config as common.upgrade reads it (the checkpoint's when RUN
  # has no config.json).
  cfg_path = os.path.join(run_dir, "config.json")
  run_config = generator.config
  if os.path.isfile(cfg_path):
    try:
      with open(cfg_path) as f:
        saved = json.load(f)
    except ValueError as e:
      raise EvaluationError(f"{cfg_path}: not readable as JSON ({e})") from e
    run_config = common.upgrade(saved, cfg_path)
  data_cfg = scored_data_config(
      resolve_data_config(config, run_config),
      generator.medium or config.eval.medium,
      ink_given=config.data.ink is not None,
      media_given=config.data.media is not None)
  judge = int(config.eval.image_size or generator.image_size)
  try:
    judge_factor(generator.image_size, judge)
  except EvaluationError as e:
    raise EvaluationError(f"{run_dir}: {e}") from e
  if config.eval.image_size:
    # The real data at the size it is judged at (the generated images are
    # area-averaged down to it, evaluation/context.py).
    data_cfg.image_size = judge
  if int(data_cfg.image_size) != judge:
    raise EvaluationError(
        f"{run_dir}: the generator makes {generator.image_size}px images but "
        f"config.data.image_size={data_cfg.image_size} (to judge at a "
        f"smaller size, set config.eval.image_size)")
  indep_media = config.eval.indep_media if "indep" in wanted else ""
  real = load_real(data_cfg, indep_media)
  if generator.num_classes != real["all"].num_classes:
    raise EvaluationError(
        f"{run_dir}: the checkpoint has {generator.num_classes} classes "
        f"({', '.join(generator.class_names)}) but the data "
        f"({data_cfg.source}) has {real['all'].num_classes}")
  info = {"gan_workdir": run_dir, "checkpoint_step": int(generator.step),
          "generator": "ema" if generator.ema else "raw",
          "data": data_cfg.to_dict(),
          "trained_media": ",".join(generator.media),
          "medium_conditioning": bool(generator.condition_media),
          "medium": generator.medium or "",
          "generator_size": int(generator.image_size),
          "judged_size": judge}
  if "indep" in wanted:
    info["indep_train"] = indep_data_config(data_cfg, indep_media)[1]
  os.makedirs(workdir, exist_ok=True)
  return run_suite(config, generator, real, workdir, info)
