"""The evaluation suite: every experiment of the original project, one report.

    python launch.py --config=configs/evaluate.py:cpu \
        --config.gan_workdir=RUN --workdir=OUT

``run(config, workdir)`` restores the generator of RUN (``sigjax.inference``),
loads the real data it was trained on (RUN/config.json's data settings,
unless overridden) and calls ``run_suite``, which tests and callers with an
in-process generator (anything with ``sample(labels, seed)``) use directly.
It writes OUT/report.json, OUT/report.md and OUT/figures/*.png.

Experiments (``config.eval.experiments``; report.json keys):

* ``cas`` -> ``cas_accuracy`` / ``real_test_accuracy``: the original's best
  classifier trained on the real train split, tested on generated images and
  on the real test split.
* ``tstr`` -> ``tstr_accuracy``: the same classifier trained on generated
  images only, tested on the real test split (history plotted).
* ``realfake`` -> ``realfake_accuracy``, ``realfake_balanced_accuracy``,
  ``detector``, ``detector_competent``, ``detector_check_balanced_accuracy``:
  a real/generated detector (``config.eval.detector``: ``vgg19``, the
  original's, or ``cnn``, the best classifier's architecture with two
  outputs) on the original's split (500 real + 500 generated to train, the
  remaining real + 2500 generated to test, scaled down proportionally when
  there are fewer than 1000 real images). Its competence check trains the
  same detector the same way on real images against deliberately degraded
  copies of real images (``config.eval.detector_check``); a detector that
  cannot separate those (balanced accuracy < ``detector_check_min``) is
  flagged, and its verdict on the generator is not evidence.
* ``multilabel`` -> ``multilabel_identity_accuracy`` /
  ``multilabel_genuine_accuracy``: the 11-output sigmoid classifier (per
  class 40/10/50% of the real images for train/validation/test, each with as
  many generated).
* ``fid`` -> ``fid`` / ``kid`` (+ ``kid_stderr``) in the CAS classifier's
  512-d feature space, with ``fid_real_vs_real`` / ``kid_real_vs_real`` (two
  disjoint, class-stratified halves of the real data) as the floor and
  ``fid_half`` / ``kid_half`` (one real half vs as many generated images) to
  read against it at the same sample sizes (needs ``cas``).
* ``prd`` -> ``precision`` / ``recall``: improved precision and recall
  (Kynkaanniemi et al. 2019, k = ``config.eval.prd_k``) in the same feature
  space and at the same sizes as ``fid_half``, with their real-vs-real floor
  ``precision_real_vs_real`` / ``recall_real_vs_real`` (needs ``cas``).
* ``indep`` -> ``indep_*``: a second, independent network
  (``sigjax.models.resnet_classifier.SmallResNet``: another architecture,
  another seed, its own augmentation, and for cross-media data with name
  labels, trained on every medium of the training writers,
  ``config.eval.indep_media``) gives its own CAS, accuracy on the real test
  split, FID/KID and precision/recall. Where it and the suite's classifier
  disagree, ``disagreements`` says so.

Generated images are scored in the form ``config.eval.postprocess`` names
(``auto``: binarized when the real data is binary, else uint8); the report
states the form. Every random choice derives from ``config.seed``; on CPU a
rerun gives the same numbers.
"""

from __future__ import annotations

import collections
import functools
import hashlib
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
from sigjax import preprocess
from sigjax.models import classifier as clf_models
from sigjax.models import resnet_classifier
from sigjax.models import vgg19

EXPERIMENTS = ("cas", "tstr", "realfake", "multilabel", "fid", "prd", "indep",
               "strokes", "copies")
# Experiments that work in the CAS classifier's feature space.
NEEDS_CAS = ("fid", "prd")
DETECTORS = ("vgg19", "cnn")
POSTPROCESS = ("auto", "none", "uint8", "binarize", "otsu")
DEGRADATIONS = ("break", "blur")
ALL_MEDIA = "paper,ipad,phone_in_hand,phone_on_table"
# The smallest input each detector takes; smaller images are resized up.
DETECTOR_MIN_SIZE = {"vgg19": vgg19.MIN_SIZE, "cnn": 8}
# Seeds of the generated sets (offsets from config.seed).
_SEEDS = {"cas": 101, "tstr": 202, "realfake": 303, "multilabel": 404,
          "realfake_split": 505, "multilabel_split": 606, "fid_split": 707,
          "grid": 808, "detector_check": 909, "indep": 1111}


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
  want = [m.strip() for m in media.split(",") if m.strip()]
  have = [m.strip() for m in str(data_cfg.media).split(",") if m.strip()]
  if sorted(want) == sorted(have):
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


def degrade(images, kind: str, seed: int) -> np.ndarray:
  """Deliberately damaged copies of (N, S, S, 1) ink=1 images.

  * ``break``: strokes broken into dashes and speckled, the defects of an
    undertrained generator: ink is erased in random square blocks of
    max(2, S/32) px (each block with probability 0.3) and 0.5% of the pixels
    become isolated ink dots.
  * ``blur``: a Gaussian blur of sigma S/32 px plus Gaussian noise (std 0.15).
  """
  x = np.asarray(images, np.float32)
  rng = np.random.default_rng(seed)
  n, s = x.shape[0], x.shape[1]
  if kind == "break":
    b = max(2, s // 32)
    nb = -(-s // b)
    keep = (rng.random((n, nb, nb, 1)) >= 0.3).astype(np.float32)
    mask = np.repeat(np.repeat(keep, b, axis=1), b, axis=2)[:, :s, :s]
    dots = (rng.random(x.shape) < 0.005).astype(np.float32)
    return np.maximum(x * mask, dots)
  if kind == "blur":
    sigma = max(0.5, s / 32)
    r = int(np.ceil(3 * sigma))
    t = np.arange(-r, r + 1)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    k /= k.sum()
    pad = np.pad(x, ((0, 0), (r, r), (r, r), (0, 0)))
    rows = sum(k[i] * pad[:, i:i + s, :, :] for i in range(2 * r + 1))
    out = sum(k[i] * rows[:, :, i:i + s, :] for i in range(2 * r + 1))
    out = out + rng.normal(0.0, 0.15, out.shape)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
  raise EvaluationError(f"config.eval.detector_check={kind!r}: use "
                        f"{', '.join(DEGRADATIONS)} or none")


class _Sampler:
  """Generates class-balanced sets (labels 0..C-1 repeated, as the original);
  balanced sets are kept, so experiments asking for the same set (the CAS
  images, also scored by the independent network) share it."""

  def __init__(self, generator, num_classes, seed, mode):
    self.g, self.c, self.seed, self.mode = generator, num_classes, seed, mode
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
def _vgg19_detector(input_size, mode, batch, lr):
  clf_models.detector_trainable(("backbone", "block1_conv1"), mode)  # validate
  return classify.Classifier(
      clf_models.RealFakeDetector(input_size=input_size), "multiclass", 2,
      lr=lr, batch_size=batch,
      trainable=lambda p: clf_models.detector_trainable(p, mode))


@functools.lru_cache(maxsize=4)
def _cnn_detector(batch, lr, conv_dropout):
  model = clf_models.SignatureCNN(num_outputs=2, conv_dropout=conv_dropout)
  return classify.Classifier(model, "multiclass", 2, lr=lr, batch_size=batch)


@functools.lru_cache(maxsize=4)
def _indep_classifier(num_classes, widths, max_shift, batch, lr):
  model = resnet_classifier.SmallResNet(num_outputs=num_classes,
                                        widths=widths, max_shift=max_shift)
  return classify.Classifier(model, "multiclass", num_classes, lr=lr,
                             batch_size=batch)


# Fits of the classifiers that learn from real images only (CAS, the
# independent network): they do not depend on the generator, so the runs of a
# sweep evaluated in one process share them. Keyed by the classifier's
# settings, a digest of its training and validation data, epochs and seed:
# the same inputs give the same (deterministic) fit, so a kept fit is the one
# that would be recomputed.
_REAL_FITS: "collections.OrderedDict" = collections.OrderedDict()
_REAL_FITS_MAX = 4


def _digest(*arrays) -> str:
  h = hashlib.sha1()
  for a in arrays:
    a = np.ascontiguousarray(a)
    h.update(str((a.dtype, a.shape)).encode())
    h.update(a.tobytes())
  return h.hexdigest()


def _fit_real(settings: tuple, classifier, images, labels, *, epochs, seed,
              val, **kwargs):
  """``classifier.fit`` on real data, reused when the same fit was done
  before in this process; returns (fit, reused)."""
  key = (settings, _digest(images, labels, *val), int(epochs), int(seed))
  if key in _REAL_FITS:
    _REAL_FITS.move_to_end(key)
    logging.info("%s: reusing this process's fit on the same real images.",
                 kwargs.get("log_prefix", "classifier"))
    return _REAL_FITS[key], True
  fit = classifier.fit(images, labels, epochs=epochs, seed=seed, val=val,
                       **kwargs)
  _REAL_FITS[key] = fit
  while len(_REAL_FITS) > _REAL_FITS_MAX:
    _REAL_FITS.popitem(last=False)
  return fit, False


def _report_block(y_true, y_pred, names):
  return {"accuracy": metrics.accuracy(y_true, y_pred),
          "confusion": metrics.confusion_matrix(y_true, y_pred,
                                                len(names)).tolist(),
          "report": metrics.classification_report(y_true, y_pred, names)}


def _need(n, what, setting):
  if n < 1:
    raise EvaluationError(f"{what}: no images ({setting})")


def _validation(real):
  val = real.get("validation")
  te = real["test"]
  return (val.images, val.labels) if val is not None and len(val.labels) else (
      te.images, te.labels)


def exp_cas(config, real, sampler, names, seed):
  """Train on real, test on generated (CAS) and on the real test split."""
  e = config.eval
  tr, te = real["train"], real["test"]
  _need(len(tr.labels), "CAS: the real train split is empty", "data split")
  _need(len(te.labels), "CAS: the real test split is empty", "data split")
  _need(e.images_per_class, "CAS", "config.eval.images_per_class")
  val = _validation(real)
  c = _cnn_classifier(config, len(names))
  fit, reused = _fit_real(
      ("cas", len(names), int(e.classifier_batch_size),
       float(e.classifier_lr)), c, tr.images, tr.labels,
      epochs=e.classifier_epochs, seed=seed, class_names=names, val=val,
      log_prefix="CAS")
  gen_x, gen_y = sampler.balanced(e.images_per_class, "cas")
  gen_logits, gen_feats = c.predict(fit.state, gen_x)
  real_logits, _ = c.predict(fit.state, te.images)
  out = {"generated": _report_block(gen_y, gen_logits.argmax(-1), names),
         "real_test": _report_block(te.labels, real_logits.argmax(-1), names),
         "history": fit.history, "train_steps": fit.steps,
         "fit_reused": reused,
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


def detector_input(e, image_size: int) -> dict:
  """The detector's input size for ``image_size`` images: for vgg19 the
  configured ``detector_input_size`` (0 = the data's), for cnn the data's;
  raised to the detector's minimum when smaller."""
  kind = e.detector
  if kind not in DETECTORS:
    raise EvaluationError(f"config.eval.detector={kind!r}: use "
                          f"{', '.join(DETECTORS)}")
  explicit = int(e.detector_input_size) if kind == "vgg19" else 0
  want = explicit or int(image_size)
  size = max(want, DETECTOR_MIN_SIZE[kind])
  note = ""
  if size != image_size:
    note = f"resized from {image_size}x{image_size} to {size}x{size}"
    if size != want:
      note += (f" ({kind} needs >= {DETECTOR_MIN_SIZE[kind]} px"
               + (f"; config.eval.detector_input_size={want} raised"
                  if explicit else "") + ")")
    else:
      note += " (config.eval.detector_input_size)"
  return {"input_size": size, "resized": size != image_size,
          "resize_note": note}


def _resize(images, size: int) -> np.ndarray:
  if images.shape[1] == size:
    return images
  out = jax.image.resize(jax.numpy.asarray(images),
                         (len(images), size, size, images.shape[-1]),
                         method="linear")
  return np.asarray(out, np.float32)


def _fit_detector(config, x_tr, y_tr, x_te, y_te, seed, prefix, size):
  """Trains the configured detector on (x_tr, y_tr) and scores x_te."""
  e = config.eval
  if e.detector == "vgg19":
    init = None
    if e.vgg19_weights:
      init = {"backbone": vgg19.load_weights(e.vgg19_weights,
                                             include_top=False)}
    det = _vgg19_detector(int(size), e.detector_mode,
                          int(e.detector_batch_size), float(e.detector_lr))
    epochs = e.detector_epochs
  else:  # cnn: resized here (the model takes any size)
    x_tr, x_te, init = _resize(x_tr, size), _resize(x_te, size), None
    det = _cnn_detector(int(e.cnn_detector_batch_size),
                        float(e.cnn_detector_lr),
                        float(e.cnn_detector_dropout))
    epochs = e.cnn_detector_epochs
  fit = det.fit(x_tr, y_tr, epochs=epochs, seed=seed,
                class_names=["generated", "real"], init_params=init,
                log_prefix=prefix)
  logits, _ = det.predict(fit.state, x_te)
  pred = logits.argmax(-1)
  out = _report_block(y_te, pred, ["generated", "real"])
  # The test split is 5:1 generated:real, so a detector that never learnt
  # scores ~83% by always answering "generated": report the balanced
  # accuracy (mean per-class recall, 50% = chance) and flag that case.
  recalls = [float(np.mean(pred[y_te == k] == k)) for k in (0, 1)]
  out.update(balanced_accuracy=float(np.mean(recalls)),
             one_class=bool(len(np.unique(pred)) == 1),
             history=fit.history, train_steps=fit.steps, epochs=int(epochs))
  return out


def exp_realfake(config, real, sampler, names, seed):
  """Real (1) vs generated (0) detector, and its competence check."""
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
  geo = detector_input(e, pool.images.shape[1])
  check_kind = str(e.detector_check or "none")
  if check_kind != "none" and check_kind not in DEGRADATIONS:
    raise EvaluationError(f"config.eval.detector_check={check_kind!r}: use "
                          f"{', '.join(DEGRADATIONS)} or none")

  def split_sets(fake_train, fake_test):
    x_tr = np.concatenate([pool.images[tr_i], fake_train])
    y_tr = np.concatenate([np.ones(len(tr_i), np.int32),
                           np.zeros(len(fake_train), np.int32)])
    x_te = np.concatenate([pool.images[te_i], fake_test])
    y_te = np.concatenate([np.ones(len(te_i), np.int32),
                           np.zeros(len(fake_test), np.int32)])
    return x_tr, y_tr, x_te, y_te

  out = _fit_detector(config, *split_sets(fake_tr, fake_te), seed,
                      "real/fake", geo["input_size"])
  out.update(detector=e.detector, sizes=sizes, **geo)
  if e.detector == "vgg19":
    out.update(mode=e.detector_mode,
               backbone_init=e.vgg19_weights or "random (no weights file)")
  if check_kind == "none":
    out["check"] = None
    return out
  # Competence check: the same detector, trained the same way on the same
  # real images, against degraded copies of real images (each copy of a real
  # image of its own side of the split, drawn with replacement, with its own
  # damage) in the generated images' place and numbers.
  crng = np.random.default_rng(seed + _SEEDS["detector_check"])
  src_tr = crng.choice(tr_i, sizes["train_fake"])
  src_te = crng.choice(te_i, sizes["test_fake"])
  dmg = postprocess(degrade(pool.images[np.concatenate([src_tr, src_te])],
                            check_kind, seed + _SEEDS["detector_check"]),
                    sampler.mode)
  chk = _fit_detector(config, *split_sets(dmg[:len(src_tr)],
                                          dmg[len(src_tr):]),
                      seed, "detector check", geo["input_size"])
  minimum = float(e.detector_check_min)
  out["check"] = {"degradation": check_kind, "min_balanced_accuracy": minimum,
                  "competent": bool(chk["balanced_accuracy"] >= minimum),
                  **{k: chk[k] for k in ("accuracy", "balanced_accuracy",
                                         "one_class", "confusion",
                                         "train_steps")}}
  out["check_examples"] = dmg[:8]  # for the report's figure, not report.json
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


# ------------------------------------------- feature-space distributions --


def fid_halves(labels, num_classes, n_generated, seed):
  """(real half a, real half b, generated subset of len(b)): indices.

  Class-stratified halves of the real data and a random generated subset as
  large as half b, so (a, b) is the real-vs-real floor and (a, generated
  subset) the comparison at the same sample sizes."""
  rng = np.random.default_rng(seed + _SEEDS["fid_split"])
  half_a, half_b = [], []
  for k in range(num_classes):
    idx = rng.permutation(np.flatnonzero(labels == k))
    half_a.append(idx[:len(idx) // 2])
    half_b.append(idx[len(idx) // 2:])
  a, b = np.concatenate(half_a), np.concatenate(half_b)
  if min(len(a), len(b)) < 2:
    raise EvaluationError(f"FID: {len(labels)} real images are too few "
                          "for two halves of >= 2")
  return a, b, rng.permutation(n_generated)[:len(b)]


def distribution_metrics(real_feats, gen_feats, labels, num_classes, e, seed,
                         parts=("fid", "prd")) -> dict:
  """FID/KID and/or precision/recall of one feature space, each beside its
  real-vs-real floor at equal sample sizes (``fid_halves``)."""
  a, b, g = fid_halves(labels, num_classes, len(gen_feats), seed)
  out = {"sizes": {"real": len(real_feats), "generated": len(gen_feats),
                   "real_half_a": len(a), "real_half_b": len(b),
                   "generated_half": len(g)}}
  if "fid" in parts:
    kw = dict(num_subsets=e.kid_subsets, subset_size=e.kid_subset_size,
              seed=seed)
    out.update(
        fid=metrics.fid(real_feats, gen_feats),
        fid_real_vs_real=metrics.fid(real_feats[a], real_feats[b]),
        fid_half=metrics.fid(real_feats[a], gen_feats[g]),
        kid=metrics.kid(real_feats, gen_feats, **kw),
        kid_real_vs_real=metrics.kid(real_feats[a], real_feats[b], **kw),
        kid_half=metrics.kid(real_feats[a], gen_feats[g], **kw))
  if "prd" in parts:
    k = int(e.prd_k)
    if not 1 <= k < min(len(a), len(b)):
      raise EvaluationError(
          f"precision/recall: config.eval.prd_k={k} needs 1 <= k < "
          f"{min(len(a), len(b))} (half the real images)")
    out.update(prd=metrics.precision_recall(real_feats[a], gen_feats[g], k),
               prd_real_vs_real=metrics.precision_recall(
                   real_feats[a], real_feats[b], k))
  return out


SUITE_FEATURES = ("penultimate layer (Dense 512 + LeakyReLU) of the CAS "
                  "classifier trained on the real train split")


def exp_features(config, real, cas_artifacts, names, seed, parts):
  """FID/KID ('fid') and precision/recall ('prd') in the CAS classifier's
  feature space."""
  c, state, _, gen_feats = cas_artifacts
  pool = real["all"]
  _, real_feats = c.predict(state, pool.images)
  out = distribution_metrics(real_feats, gen_feats, pool.labels, len(names),
                             config.eval, seed, parts)
  out["feature_space"] = SUITE_FEATURES
  return out


def exp_indep(config, real, sampler, names, seed):
  """The independent network: CAS, real test accuracy, FID/KID and
  precision/recall in its own feature space."""
  e = config.eval
  tr = real["indep_train"] if "indep_train" in real else real["train"]
  te = real["test"]
  _need(len(tr.labels), "independent network: no training images",
        "data split")
  _need(len(te.labels), "independent network: the real test split is empty",
        "data split")
  test_writers = set(te.meta.get("writer", []))
  shared = test_writers & set(tr.meta.get("writer", []))
  if "indep_train" in real and shared:
    raise EvaluationError(
        f"independent network: its training images include test writers "
        f"{sorted(shared)[:5]}; the splits must be disjoint by writer")
  settings = (len(names), tuple(int(w) for w in e.indep_widths),
              int(e.indep_max_shift), int(e.indep_batch_size),
              float(e.indep_lr))
  c = _indep_classifier(*settings)
  iseed = seed + _SEEDS["indep"]
  fit, reused = _fit_real(("indep",) + settings, c, tr.images, tr.labels,
                          epochs=e.indep_epochs, seed=iseed, class_names=names,
                          val=_validation(real), log_prefix="independent")
  gen_x, gen_y = sampler.balanced(e.images_per_class, "cas")
  gen_logits, gen_feats = c.predict(fit.state, gen_x)
  real_logits, _ = c.predict(fit.state, te.images)
  pool = real["all"]
  _, real_feats = c.predict(fit.state, pool.images)
  out = distribution_metrics(real_feats, gen_feats, pool.labels, len(names),
                             e, seed)
  out.update(
      generated=_report_block(gen_y, gen_logits.argmax(-1), names),
      real_test=_report_block(te.labels, real_logits.argmax(-1), names),
      history=fit.history, train_steps=fit.steps, seed=iseed,
      fit_reused=reused,
      train_data=(tr.meta.get("description", "other media")
                  if "indep_train" in real else
                  "the evaluated data's train split"),
      train_sizes={"images": len(tr.labels),
                   "writers": len(set(tr.meta.get("writer", []))) or None},
      architecture=(f"SmallResNet: stem 5x5/2 + pre-activation residual "
                    f"blocks, GroupNorm, widths {tuple(e.indep_widths)}, "
                    f"global average pooling; random shifts <= "
                    f"{e.indep_max_shift} px while training"),
      feature_space=f"global average pool ({int(e.indep_widths[-1])}-d) of "
                    "the independent network")
  return out


def _stroke_block(stats: dict) -> dict:
  return {k: {"mean": float(np.mean(v)), "std": float(np.std(v))}
          for k, v in stats.items()}


def exp_strokes(config, real, sampler, names, seed):
  """Stroke structure with no learned network (``metrics.stroke_stats``): ink
  components per image, the share of ink in specks, ink per image, for the
  generated images (the CAS set) against the real test split, with the real
  train split against the test split as the floor of the distance."""
  del seed  # the CAS set is seeded by the sampler
  e = config.eval
  te, tr = real["test"], real["train"]
  _need(len(te.labels), "strokes: the real test split is empty", "data split")
  _need(len(tr.labels), "strokes: the real train split is empty", "data split")
  _need(e.images_per_class, "strokes", "config.eval.images_per_class")
  px = int(e.get("strokes_speckle_px", 4))
  if px < 1:
    raise EvaluationError(f"config.eval.strokes_speckle_px={px}: must be an "
                          "integer >= 1 (pixels)")
  gen_x, gen_y = sampler.balanced(e.images_per_class, "cas")
  gen = metrics.stroke_stats(gen_x, px)
  test = metrics.stroke_stats(te.images, px)
  train = metrics.stroke_stats(tr.images, px)
  per_class = {}
  for c, name in enumerate(names):
    g, r = gen_y == c, te.labels == c
    per_class[name] = {
        "generated": float(gen["components"][g].mean()) if g.any() else None,
        "real_test": float(test["components"][r].mean()) if r.any() else None}
  return {"generated": _stroke_block(gen), "real_test": _stroke_block(test),
          "real_train": _stroke_block(train),
          "components_w1": metrics.wasserstein_1d(gen["components"],
                                                  test["components"]),
          "components_w1_real_vs_real": metrics.wasserstein_1d(
              train["components"], test["components"]),
          "per_class_components": per_class, "speckle_px": px,
          "sizes": {"generated": len(gen_y), "real_test": len(te.labels),
                    "real_train": len(tr.labels)}}


# The copy threshold is this quantile of the training images' leave-one-out
# nearest distances, so this share of real training signatures falls below
# it.
COPY_QUANTILE = 0.05


def exp_copies(config, real, sampler, names, seed):
  """Near-copies of training signatures, with no learned network
  (``metrics.nearest_ink``): each generated image (the CAS set) against its
  nearest real training image, beside the same distance for real test
  images (unseen writers) and for each training image against the other
  training images (leave-one-out: the writer's other signatures). A
  generator that memorised its training images has many generated images
  nearer to a training image than almost any two real signatures are;
  precision and recall against a real pool that holds the training images
  score such copies as perfect."""
  del seed  # the CAS set is seeded by the sampler
  e = config.eval
  te, tr = real["test"], real["train"]
  _need(len(tr.labels), "copies: the real train split is empty", "data split")
  _need(e.images_per_class, "copies", "config.eval.images_per_class")
  if len(tr.labels) < 2:
    raise EvaluationError("copies: the real train split needs >= 2 images "
                          "for its leave-one-out reference")
  gen_x, gen_y = sampler.balanced(e.images_per_class, "cas")
  d_gen, i_gen = metrics.nearest_ink(gen_x, tr.images)
  d_loo, _ = metrics.nearest_ink(tr.images, tr.images, exclude_self=True)
  threshold = float(np.quantile(d_loo, COPY_QUANTILE))
  out = {
      "generated": _quantiles(d_gen), "real_train_loo": _quantiles(d_loo),
      "threshold": threshold, "threshold_quantile": COPY_QUANTILE,
      "share_generated": float(np.mean(d_gen < threshold)),
      "share_real_train": float(np.mean(d_loo < threshold)),
      "same_class": float(np.mean(tr.labels[i_gen] == gen_y)),
      "sizes": {"generated": len(gen_y), "real_train": len(tr.labels)}}
  if len(te.labels):
    d_test, _ = metrics.nearest_ink(te.images, tr.images)
    out["real_test"] = _quantiles(d_test)
    out["share_real_test"] = float(np.mean(d_test < threshold))
    out["sizes"]["real_test"] = len(te.labels)
  # The closest pairs, for the report's figure: generated | nearest train.
  k = min(int(e.get("copies_examples", 8)), len(d_gen))
  top = np.argsort(d_gen, kind="stable")[:k]
  out["examples"] = np.stack([gen_x[top], tr.images[i_gen[top]]])
  out["example_distances"] = [float(v) for v in d_gen[top]]
  return out


def _quantiles(d) -> dict:
  return {"median": float(np.median(d)), "p05": float(np.quantile(d, 0.05)),
          "min": float(np.min(d)), "mean": float(np.mean(d))}


# ------------------------------------------------------------------ suite --


def parse_experiments(text: str) -> list:
  """config.eval.experiments -> the experiment names, checked."""
  wanted = [s.strip() for s in str(text).split(",") if s.strip()]
  unknown = set(wanted) - set(EXPERIMENTS)
  if unknown:
    raise EvaluationError(f"config.eval.experiments: unknown {sorted(unknown)};"
                          f" choose from {EXPERIMENTS}")
  for name in NEEDS_CAS:
    if name in wanted and "cas" not in wanted:
      raise EvaluationError(f"config.eval.experiments: {name} needs cas (its "
                            "feature space is the CAS classifier's)")
  return wanted


def run_suite(config, generator, real: dict, workdir: str,
              info: Optional[dict] = None) -> dict:
  """Runs the configured experiments and writes the report into ``workdir``.

  ``generator.sample(labels, seed)`` -> (N, S, S, 1) images in [0, 1];
  ``real``: {'train', 'test', 'all'[, 'validation', 'indep_train']}
  ``SignatureData``. Returns the report dict (also written to
  ``workdir/report.json``).
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
  wanted = parse_experiments(e.experiments)
  seed = int(config.seed)
  mode = resolve_postprocess(e.postprocess, real["all"].images,
                             getattr(generator, "ink", "binary"))
  sampler = _Sampler(generator, len(names), seed, mode)
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
  check_examples = None
  if "realfake" in wanted:
    results["realfake"] = timed("realfake", exp_realfake, config, real,
                                sampler, names, seed)
    check_examples = results["realfake"].pop("check_examples", None)
  if "multilabel" in wanted:
    results["multilabel"] = timed("multilabel", exp_multilabel, config, real,
                                  sampler, names, seed)
  if "fid" in wanted:
    results["fid"] = timed("fid", exp_features, config, real, cas_art, names,
                           seed, ("fid",))
  if "prd" in wanted:
    results["prd"] = timed("prd", exp_features, config, real, cas_art, names,
                           seed, ("prd",))
  if "indep" in wanted:
    results["indep"] = timed("indep", exp_indep, config, real, sampler, names,
                             seed)
  if "strokes" in wanted:
    results["strokes"] = timed("strokes", exp_strokes, config, real, sampler,
                               names, seed)
  copy_examples = None
  if "copies" in wanted:
    results["copies"] = timed("copies", exp_copies, config, real, sampler,
                              names, seed)
    copy_examples = results["copies"].pop("examples")

  report = eval_report.summarize(results)
  report.update(
      experiments=results, wall_time_s=times,
      total_wall_time_s=time.time() - t_start, seed=seed,
      class_names=names, preset=config.get("preset", ""),
      postprocess=mode, postprocess_setting=e.postprocess,
      real_data_binary=is_binary(real["all"].images),
      real_sizes={s: int(len(d.labels)) for s, d in real.items()},
      info=dict(info or {}), config=json.loads(config.to_json_best_effort()))
  if jax.process_index() == 0:
    grid_real, grid_gen = _grid_images(real["all"], sampler, len(names),
                                       e.grid_per_class, seed)
    eval_report.write(report, workdir, grid_real, grid_gen,
                      check_examples=check_examples,
                      copy_examples=copy_examples)
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


# config.eval.generator -> inference.load_generator's ``ema`` argument.
GENERATORS = {"auto": None, "ema": True, "raw": False}


def run(config, workdir: str) -> dict:
  """The launch.py entry point (``config.job == 'evaluate'``)."""
  from sigjax import inference  # pylint: disable=g-import-not-at-top
  run_dir = config.get("gan_workdir", "")
  if not run_dir:
    raise EvaluationError("config.gan_workdir is empty: pass "
                          "--config.gan_workdir=RUN (a training workdir)")
  if not os.path.isdir(run_dir):
    raise EvaluationError(f"config.gan_workdir={run_dir}: no such directory")
  wanted = parse_experiments(config.eval.experiments)
  which = config.eval.get("generator", "auto")
  if which not in GENERATORS:
    raise EvaluationError(f"config.eval.generator={which!r}: use "
                          + ", ".join(GENERATORS))
  generator = inference.load_generator(run_dir,
                                       step=config.eval.checkpoint_step,
                                       ema=GENERATORS[which],
                                       medium=config.eval.get("medium") or None)
  cfg_path = os.path.join(run_dir, "config.json")
  run_config = None
  if os.path.isfile(cfg_path):
    with open(cfg_path) as f:
      run_config = json.load(f)
  else:
    run_config = generator.config.to_dict()
  data_cfg = resolve_data_config(config, run_config)
  if data_cfg.ink == "coverage" and config.data.get("ink") is None:
    # A generator trained on ink coverage is scored, like every other run,
    # against the binary real images, its own output Otsu-thresholded
    # (eval.postprocess='auto'); --config.data.ink=coverage scores the soft
    # forms instead.
    data_cfg.ink = "binary"
  if data_cfg.source == "cross_media" and config.data.get("media") is None:
    # The real references are the paper signatures of the test writers
    # whatever media trained the generator (or the medium it was asked to
    # draw, with the medium as a condition); --config.data.media overrides.
    data_cfg.media = generator.medium or config.eval.get("medium") or "paper"
  if int(data_cfg.image_size) != int(generator.image_size):
    raise EvaluationError(
        f"{run_dir}: the generator makes {generator.image_size}px images but "
        f"config.data.image_size={data_cfg.image_size}")
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
          "medium": generator.medium or ""}
  if "indep" in wanted:
    info["indep_train"] = indep_data_config(data_cfg, indep_media)[1]
  os.makedirs(workdir, exist_ok=True)
  return run_suite(config, generator, real, workdir, info)
