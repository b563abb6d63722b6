"""The evaluation suite: every experiment of the original project, one report.

    python launch.py --config=configs/evaluate.py:cpu \
        --config.gan_workdir=RUN --workdir=OUT

``run(config, workdir)`` restores the generator of RUN (``sigjax.inference``),
loads the real data it was trained on (RUN/config.json's data settings,
unless overridden) and calls ``run_suite``, which tests and callers with an
in-process generator (anything with ``sample(labels, seed)``) use directly.
It writes OUT/report.json, OUT/report.md and OUT/figures/*.png.

Experiments (report.json keys):

* ``cas_accuracy`` / ``real_test_accuracy``: the original's best classifier
  trained on the real train split, tested on generated images and on the
  real test split.
* ``tstr_accuracy``: the same classifier trained on generated images only,
  tested on the real test split (history plotted).
* ``realfake_accuracy``: the VGG19 real/generated detector (500 real + 500
  generated to train, the remaining real + 2500 generated to test, scaled
  down proportionally when there are fewer than 1000 real images).
* ``multilabel_identity_accuracy`` / ``multilabel_genuine_accuracy``: the
  11-output sigmoid classifier (per class 40/10/50% of the real images for
  train/validation/test, each with as many generated).
* ``fid`` / ``kid`` (+ ``kid_stderr``) in the CAS classifier's 512-d feature
  space, with ``fid_real_vs_real`` (two disjoint halves of the real data) as
  the floor and ``fid_half`` (one real half vs as many generated images) to
  read against it at the same sample size.

Every random choice derives from ``config.seed``; on CPU a rerun gives the
same numbers.
"""

from __future__ import annotations

import functools
import json
import os
import time
from typing import Any, Optional

from absl import logging
import jax
import ml_collections
import numpy as np

from configs import common
from sigjax import classify
from sigjax import data as data_lib
from sigjax import eval_report
from sigjax import metrics
from sigjax.models import classifier as clf_models
from sigjax.models import vgg19

EXPERIMENTS = ("cas", "tstr", "realfake", "multilabel", "fid")
# Seeds of the generated sets (offsets from config.seed).
_SEEDS = {"cas": 101, "tstr": 202, "realfake": 303, "multilabel": 404,
          "realfake_split": 505, "multilabel_split": 606, "fid_split": 707,
          "grid": 808}


class EvaluationError(ValueError):
  """The suite cannot run on this input (named in the message)."""


# ----------------------------------------------------------------- inputs --


def resolve_data_config(config, run_config: Optional[dict]):
  """config.data with every None field filled from RUN's config (then the
  common defaults), so evaluation reads the data the GAN was trained on."""
  d = common.data_config()
  run_data = (run_config or {}).get("data", {})
  for k in list(d.keys()):
    v = config.data.get(k) if "data" in config else None
    if v is None and k in run_data and run_data[k] is not None:
      v = type(d[k])(run_data[k]) if not isinstance(d[k], tuple) else tuple(
          run_data[k])
    if v is not None:
      d[k] = v
  return d


def load_real(data_cfg) -> dict:
  """{'train', 'validation', 'test', 'all'} SignatureData of the real data."""
  return {s: data_lib.load(data_cfg, split=s)
          for s in ("train", "validation", "test", "all")}


def postprocess(images: np.ndarray, mode: str) -> np.ndarray:
  """The generated images as the classifiers see them."""
  images = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
  if mode == "none":
    return images
  if mode == "uint8":  # what saving to PNG and reading back does
    return np.round(images * 255.0) / 255.0
  if mode == "binarize":
    return (images >= 0.5).astype(np.float32)
  raise EvaluationError(f"config.eval.postprocess={mode!r}: use none, uint8 or "
                        "binarize")


class _Sampler:
  """Generates class-balanced sets (labels 0..C-1 repeated, as the original)."""

  def __init__(self, generator, num_classes, seed, mode):
    self.g, self.c, self.seed, self.mode = generator, num_classes, seed, mode

  def balanced(self, n_per_class: int, key: str):
    labels = np.tile(np.arange(self.c, dtype=np.int32), n_per_class)
    return self.labelled(labels, key), labels

  def labelled(self, labels, key: str, offset: int = 0):
    """Generated images for ``labels``, seeded by (config.seed, key, offset)."""
    if len(labels) == 0:
      raise EvaluationError(f"{key}: asked for 0 generated images")
    x = self.g.sample(np.asarray(labels, np.int32),
                      seed=self.seed + _SEEDS[key] + 1000 * offset)
    return postprocess(x, self.mode)


# ------------------------------------------------------------ experiments --


def _cnn_classifier(config, num_classes, task="multiclass", batch=None,
                    lr=None):
  e = config.eval
  return _classifier(num_classes, task, int(batch or e.classifier_batch_size),
                     float(lr or e.classifier_lr))


@functools.lru_cache(maxsize=8)
def _classifier(num_classes, task, batch, lr):
  """One Classifier (one compilation) per setting, reused across runs."""
  model = (clf_models.SignatureCNN(num_outputs=num_classes)
           if task == "multiclass" else clf_models.multilabel_cnn(num_classes))
  return classify.Classifier(model, task, num_classes, lr=lr, batch_size=batch)


@functools.lru_cache(maxsize=4)
def _detector(input_size, mode, batch, lr):
  clf_models.detector_trainable(("backbone", "block1_conv1"), mode)  # validate
  return classify.Classifier(
      clf_models.RealFakeDetector(input_size=input_size), "multiclass", 2,
      lr=lr, batch_size=batch,
      trainable=lambda p: clf_models.detector_trainable(p, mode))


def _report_block(y_true, y_pred, names):
  return {"accuracy": metrics.accuracy(y_true, y_pred),
          "confusion": metrics.confusion_matrix(y_true, y_pred,
                                                len(names)).tolist(),
          "report": metrics.classification_report(y_true, y_pred, names)}


def _need(n, what, setting):
  if n < 1:
    raise EvaluationError(f"{what}: no images ({setting})")


def exp_cas(config, real, sampler, names, seed):
  """Train on real, test on generated (CAS) and on the real test split."""
  e = config.eval
  tr, te = real["train"], real["test"]
  _need(len(tr.labels), "CAS: the real train split is empty", "data split")
  _need(len(te.labels), "CAS: the real test split is empty", "data split")
  _need(e.images_per_class, "CAS", "config.eval.images_per_class")
  val = real.get("validation")
  val = (val.images, val.labels) if val is not None and len(val.labels) else (
      te.images, te.labels)
  c = _cnn_classifier(config, len(names))
  fit = c.fit(tr.images, tr.labels, epochs=e.classifier_epochs, seed=seed,
              class_names=names, val=val, log_prefix="CAS")
  gen_x, gen_y = sampler.balanced(e.images_per_class, "cas")
  gen_logits, gen_feats = c.predict(fit.state, gen_x)
  real_logits, _ = c.predict(fit.state, te.images)
  out = {"generated": _report_block(gen_y, gen_logits.argmax(-1), names),
         "real_test": _report_block(te.labels, real_logits.argmax(-1), names),
         "history": fit.history, "train_steps": fit.steps,
         "sizes": {"real_train": len(tr.labels), "real_validation": len(val[1]),
                   "real_test": len(te.labels), "generated_test": len(gen_y)}}
  return out, (c, fit.state, gen_x, gen_feats)


def exp_tstr(config, real, sampler, names, seed):
  """Train on generated only, test on the real test split."""
  e = config.eval
  te = real["test"]
  _need(len(te.labels), "TSTR: the real test split is empty", "data split")
  _need(e.tstr_images_per_class, "TSTR", "config.eval.tstr_images_per_class")
  gen_x, gen_y = sampler.balanced(e.tstr_images_per_class, "tstr")
  c = _cnn_classifier(config, len(names))
  fit = c.fit(gen_x, gen_y, epochs=e.tstr_epochs, seed=seed, class_names=names,
              val=(te.images, te.labels), log_prefix="TSTR")
  logits, _ = c.predict(fit.state, te.images)
  return {"real_test": _report_block(te.labels, logits.argmax(-1), names),
          "history": fit.history, "train_steps": fit.steps,
          "sizes": {"generated_train": len(gen_y), "real_test": len(te.labels)}}


def realfake_sizes(n_real: int, e) -> dict:
  """The original's split for n_real real images (scaled when fewer)."""
  ref = e.realfake_reference_real
  scale = min(1.0, n_real / ref)
  train_real = int(round(e.realfake_train_real * scale))
  sizes = {"train_real": train_real,
           "train_fake": int(round(e.realfake_train_fake * scale)),
           "test_real": n_real - train_real,
           "test_fake": int(round(e.realfake_test_fake * scale)),
           "scale": scale, "scaled": scale < 1.0}
  for k in ("train_real", "train_fake", "test_real", "test_fake"):
    if sizes[k] < 1:
      raise EvaluationError(
          f"real/fake: {n_real} real images give {sizes[k]} for {k} "
          f"(needs >= 1); use more real data")
  return sizes


def exp_realfake(config, real, sampler, names, seed):
  """VGG19 detector: real (1) vs generated (0)."""
  e = config.eval
  pool = real["all"]
  sizes = realfake_sizes(len(pool.labels), e)
  rng = np.random.default_rng(seed + _SEEDS["realfake_split"])
  order = rng.permutation(len(pool.labels))
  tr_i, te_i = order[:sizes["train_real"]], order[sizes["train_real"]:]
  c = len(names)
  fake_tr_y = np.arange(sizes["train_fake"], dtype=np.int32) % c
  fake_te_y = np.arange(sizes["test_fake"], dtype=np.int32) % c
  fakes = sampler.labelled(np.concatenate([fake_tr_y, fake_te_y]), "realfake")
  fake_tr, fake_te = fakes[:len(fake_tr_y)], fakes[len(fake_tr_y):]
  x_tr = np.concatenate([pool.images[tr_i], fake_tr])
  y_tr = np.concatenate([np.ones(len(tr_i), np.int32),
                         np.zeros(len(fake_tr), np.int32)])
  x_te = np.concatenate([pool.images[te_i], fake_te])
  y_te = np.concatenate([np.ones(len(te_i), np.int32),
                         np.zeros(len(fake_te), np.int32)])
  size = e.detector_input_size or x_tr.shape[1]
  if size < vgg19.MIN_SIZE:
    raise EvaluationError(
        f"real/fake: VGG19 needs >= {vgg19.MIN_SIZE} pixels, the images are "
        f"{x_tr.shape[1]}; set config.eval.detector_input_size >= 32")
  mode = e.detector_mode
  init = None
  if e.vgg19_weights:
    init = {"backbone": vgg19.load_weights(e.vgg19_weights, include_top=False)}
  det = _detector(int(size), mode, int(e.detector_batch_size),
                  float(e.detector_lr))
  fit = det.fit(x_tr, y_tr, epochs=e.detector_epochs, seed=seed,
                class_names=["generated", "real"], init_params=init,
                log_prefix="real/fake")
  logits, _ = det.predict(fit.state, x_te)
  pred = logits.argmax(-1)
  out = _report_block(y_te, pred, ["generated", "real"])
  # The test split is 5:1 generated:real, so a detector that never learnt
  # scores ~83% by always answering "generated": report the balanced
  # accuracy (mean per-class recall, 50% = chance) and flag that case.
  recalls = [float(np.mean(pred[y_te == k] == k)) for k in (0, 1)]
  out.update(balanced_accuracy=float(np.mean(recalls)),
             one_class=bool(len(np.unique(pred)) == 1))
  out.update(history=fit.history, train_steps=fit.steps, sizes=sizes,
             mode=mode, input_size=size,
             backbone_init=e.vgg19_weights or "random (no weights file)")
  return out


def multilabel_split(labels, num_classes, fractions, seed):
  """Per class, a seeded shuffle cut by ``fractions`` (train, val, test)."""
  rng = np.random.default_rng(seed)
  parts = ([], [], [])
  for k in range(num_classes):
    idx = rng.permutation(np.flatnonzero(labels == k))
    n = len(idx)
    n_tr = int(round(fractions[0] * n))
    n_va = int(round(fractions[1] * n))
    if min(n_tr, n_va, n - n_tr - n_va) < 1:
      raise EvaluationError(
          f"multi-label: class {k} has {n} real images, too few for the "
          f"{fractions} train/validation/test split (needs >= 1 in each)")
    for p, sl in zip(parts, (idx[:n_tr], idx[n_tr:n_tr + n_va],
                             idx[n_tr + n_va:])):
      p.append(sl)
  return [np.concatenate(p) for p in parts]


def exp_multilabel(config, real, sampler, names, seed):
  """Identities + genuine, sigmoid outputs, the original's 40/10/50 split."""
  e = config.eval
  pool, c = real["all"], len(names)
  splits = multilabel_split(pool.labels, c, e.multilabel_fractions,
                            seed + _SEEDS["multilabel_split"])
  sets = []
  for i, idx in enumerate(splits):
    fake_y = pool.labels[idx]  # as many generated as real, per class
    fake_x = sampler.labelled(fake_y, "multilabel", offset=i)
    x = np.concatenate([pool.images[idx], fake_x])
    y = classify.encode_multilabel(
        np.concatenate([pool.labels[idx], fake_y]),
        np.concatenate([np.ones(len(idx)), np.zeros(len(fake_y))]), c)
    sets.append((x, y))
  ml = _cnn_classifier(config, c, "multilabel", e.multilabel_batch_size,
                       e.multilabel_lr)
  fit = ml.fit(*sets[0], epochs=e.multilabel_epochs, seed=seed,
               class_names=names, val=sets[1], log_prefix="multi-label")
  x_te, y_te = sets[2]
  logits, _ = ml.predict(fit.state, x_te)
  ident, genuine = classify.decode_multilabel(y_te, c)
  pred_id = logits[:, :c].argmax(-1)
  pred_gen = (logits[:, c] > 0).astype(np.int32)
  return {"identity": _report_block(ident, pred_id, names),
          "genuine": _report_block(genuine, pred_gen, ["generated", "genuine"]),
          "history": fit.history, "train_steps": fit.steps,
          "sizes": {s: {"real": int(len(idx)), "generated": int(len(idx))}
                    for s, idx in zip(("train", "validation", "test"), splits)}}


def exp_fid(config, real, cas_artifacts, names, seed):
  """FID/KID in the CAS classifier's feature space, and the real floor."""
  e = config.eval
  c, state, _, gen_feats = cas_artifacts
  pool = real["all"]
  _, real_feats = c.predict(state, pool.images)
  rng = np.random.default_rng(seed + _SEEDS["fid_split"])
  half_a, half_b = [], []
  for k in range(len(names)):  # class-stratified halves
    idx = rng.permutation(np.flatnonzero(pool.labels == k))
    half_a.append(idx[:len(idx) // 2])
    half_b.append(idx[len(idx) // 2:])
  a, b = np.concatenate(half_a), np.concatenate(half_b)
  if min(len(a), len(b)) < 2:
    raise EvaluationError(f"FID: {len(pool.labels)} real images are too few "
                          "for two halves of >= 2")
  gen_half = gen_feats[rng.permutation(len(gen_feats))[:len(b)]]
  k = metrics.kid(real_feats, gen_feats, e.kid_subsets, e.kid_subset_size,
                  seed=seed)
  k_rr = metrics.kid(real_feats[a], real_feats[b], e.kid_subsets,
                     e.kid_subset_size, seed=seed)
  return {"fid": metrics.fid(real_feats, gen_feats),
          "fid_real_vs_real": metrics.fid(real_feats[a], real_feats[b]),
          "fid_half": metrics.fid(real_feats[a], gen_half),
          "kid": k, "kid_real_vs_real": k_rr,
          "feature_space": "penultimate layer (Dense 512 + LeakyReLU) of the "
                           "CAS classifier trained on the real train split",
          "sizes": {"real": len(pool.labels), "generated": len(gen_feats),
                    "real_half_a": len(a), "real_half_b": len(b),
                    "generated_half": len(gen_half)}}


# ------------------------------------------------------------------ suite --


def run_suite(config, generator, real: dict, workdir: str,
              info: Optional[dict] = None) -> dict:
  """Runs the configured experiments and writes the report into ``workdir``.

  ``generator.sample(labels, seed)`` -> (N, S, S, 1) images in [0, 1];
  ``real``: {'train', 'test', 'all'[, 'validation']} ``SignatureData``.
  Returns the report dict (also written to ``workdir/report.json``).
  """
  t_start = time.time()
  e = config.eval
  names = list(real["all"].class_names)
  g_classes = getattr(generator, "num_classes", len(names))
  if g_classes != len(names):
    raise EvaluationError(
        f"the generator has {g_classes} classes but the real data has "
        f"{len(names)} ({', '.join(names)}); evaluate it on the data it was "
        "trained on")
  wanted = [s.strip() for s in e.experiments.split(",") if s.strip()]
  unknown = set(wanted) - set(EXPERIMENTS)
  if unknown:
    raise EvaluationError(f"config.eval.experiments: unknown {sorted(unknown)};"
                          f" choose from {EXPERIMENTS}")
  if "fid" in wanted and "cas" not in wanted:
    raise EvaluationError("config.eval.experiments: fid needs cas (its "
                          "feature space is the CAS classifier's)")
  seed = int(config.seed)
  sampler = _Sampler(generator, len(names), seed, e.postprocess)
  results, times = {}, {}

  def timed(name, fn, *args):
    t0 = time.time()
    logging.info("Experiment %s ...", name)
    out = fn(*args)
    times[name] = time.time() - t0
    logging.info("Experiment %s done in %.1f s.", name, times[name])
    return out

  cas_art = None
  if "cas" in wanted:
    results["cas"], cas_art = timed("cas", exp_cas, config, real, sampler,
                                    names, seed)
  if "tstr" in wanted:
    results["tstr"] = timed("tstr", exp_tstr, config, real, sampler, names,
                            seed)
  if "realfake" in wanted:
    results["realfake"] = timed("realfake", exp_realfake, config, real,
                                sampler, names, seed)
  if "multilabel" in wanted:
    results["multilabel"] = timed("multilabel", exp_multilabel, config, real,
                                  sampler, names, seed)
  if "fid" in wanted:
    results["fid"] = timed("fid", exp_fid, config, real, cas_art, names, seed)

  report = eval_report.summarize(results)
  report.update(
      experiments=results, wall_time_s=times,
      total_wall_time_s=time.time() - t_start, seed=seed,
      class_names=names, preset=config.get("preset", ""),
      postprocess=e.postprocess,
      real_sizes={s: int(len(d.labels)) for s, d in real.items()},
      info=dict(info or {}), config=json.loads(config.to_json_best_effort()))
  if jax.process_index() == 0:
    grid_real, grid_gen = _grid_images(real["all"], sampler, len(names),
                                       e.grid_per_class, seed)
    eval_report.write(report, workdir, grid_real, grid_gen)
  return report


def _grid_images(pool, sampler, c, k, seed):
  rng = np.random.default_rng(seed + _SEEDS["grid"])
  reals = []
  for cls in range(c):
    idx = np.flatnonzero(pool.labels == cls)
    pick = rng.choice(idx, min(k, len(idx)), replace=False)
    imgs = pool.images[pick]
    if len(imgs) < k:  # short classes: empty (NaN) tiles
      imgs = np.concatenate([imgs, np.full((k - len(imgs),) + imgs.shape[1:],
                                           np.nan, np.float32)])
    reals.append(imgs)
  gen = sampler.labelled(np.repeat(np.arange(c), k), "grid")
  return np.stack(reals), gen.reshape((c, k) + gen.shape[1:])


def run(config, workdir: str) -> dict:
  """The launch.py entry point (``config.job == 'evaluate'``)."""
  from sigjax import inference  # pylint: disable=g-import-not-at-top
  run_dir = config.get("gan_workdir", "")
  if not run_dir:
    raise EvaluationError("config.gan_workdir is empty: pass "
                          "--config.gan_workdir=RUN (a training workdir)")
  if not os.path.isdir(run_dir):
    raise EvaluationError(f"config.gan_workdir={run_dir}: no such directory")
  generator = inference.load_generator(run_dir,
                                       step=config.eval.checkpoint_step)
  cfg_path = os.path.join(run_dir, "config.json")
  run_config = None
  if os.path.isfile(cfg_path):
    with open(cfg_path) as f:
      run_config = json.load(f)
  else:
    run_config = generator.config.to_dict()
  data_cfg = resolve_data_config(config, run_config)
  if int(data_cfg.image_size) != int(generator.image_size):
    raise EvaluationError(
        f"{run_dir}: the generator makes {generator.image_size}px images but "
        f"config.data.image_size={data_cfg.image_size}")
  real = load_real(data_cfg)
  if generator.num_classes != real["all"].num_classes:
    raise EvaluationError(
        f"{run_dir}: the checkpoint has {generator.num_classes} classes "
        f"({', '.join(generator.class_names)}) but the data "
        f"({data_cfg.source}) has {real['all'].num_classes}")
  info = {"gan_workdir": run_dir, "checkpoint_step": int(generator.step),
          "data": data_cfg.to_dict()}
  os.makedirs(workdir, exist_ok=True)
  return run_suite(config, generator, real, workdir, info)
