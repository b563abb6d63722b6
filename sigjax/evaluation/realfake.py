"""A real/generated detector and its competence check.

The detector (``config.eval.detector``: ``vgg19``, the original's, or
``cnn``, the best classifier's architecture with two outputs) is trained
on the original's split (500 real + 500 generated, the remaining real +
2500 generated to test, scaled down proportionally when there are fewer
than 1000 real images). Its competence check trains the same detector the
same way on real images against deliberately degraded copies of real images
(``config.eval.detector_check``); a detector that cannot separate those
(balanced accuracy < ``detector_check_min``) is flagged, and its verdict on
the generator is not evidence.

report.json: ``realfake_accuracy``, ``realfake_balanced_accuracy``,
``realfake_per_class``, ``detector``, ``detector_input_size``,
``detector_resized``, ``detector_competent``,
``detector_check_balanced_accuracy``.
"""

from __future__ import annotations

import os

import jax
import numpy as np

from sigjax import classify
from sigjax import viz
from sigjax.evaluation import base
from sigjax.evaluation import common
from sigjax.evaluation import context
from sigjax.evaluation import render
from sigjax.evaluation.base import EvaluationError
from sigjax.models import classifier as clf_models
from sigjax.models import vgg19

DETECTORS = ("vgg19", "cnn")
DEGRADATIONS = ("break", "blur")
# The smallest input each detector takes; smaller images are resized up.
DETECTOR_MIN_SIZE = {"vgg19": vgg19.MIN_SIZE, "cnn": 8}
ORIGINAL = {
    "realfake_accuracy": (None, "VGG19 detector's number not in the notebooks;"
                                " the multi-label net separated real/fake "
                                "100%"),
    "realfake_balanced_accuracy": (None, "mean of the two recalls; 50% = "
                                         "chance (the test set is 5:1)"),
}
LABELS = ["generated", "real"]


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


def _detector(ctx, size: int):
  """(the configured detector, in ``ctx.cache``; its epochs)."""
  e = ctx.e
  if e.detector == "vgg19":
    mode, batch, lr = e.detector_mode, int(e.detector_batch_size), float(
        e.detector_lr)

    def build_vgg19():
      clf_models.detector_trainable(("backbone", "block1_conv1"),
                                    mode)  # validate
      return classify.Classifier(
          clf_models.RealFakeDetector(input_size=size), "multiclass", 2,
          lr=lr, batch_size=batch,
          trainable=lambda p: clf_models.detector_trainable(p, mode))
    return ctx.cache.classifier(("vgg19", int(size), mode, batch, lr),
                                build_vgg19), e.detector_epochs
  batch, lr = int(e.cnn_detector_batch_size), float(e.cnn_detector_lr)
  dropout = float(e.cnn_detector_dropout)

  def build_cnn():
    model = clf_models.SignatureCNN(num_outputs=2, conv_dropout=dropout)
    return classify.Classifier(model, "multiclass", 2, lr=lr,
                               batch_size=batch)
  return ctx.cache.classifier(("cnn_detector", batch, lr, dropout),
                              build_cnn), e.cnn_detector_epochs


def fit_detector(ctx, x_tr, y_tr, x_te, y_te, prefix, size) -> dict:
  """Trains the configured detector on (x_tr, y_tr) and scores x_te."""
  e = ctx.e
  init = None
  if e.detector == "vgg19":
    if e.vgg19_weights:
      init = {"backbone": vgg19.load_weights(e.vgg19_weights,
                                             include_top=False)}
  else:  # cnn: resized here (the model takes any size)
    x_tr, x_te = _resize(x_tr, size), _resize(x_te, size)
  det, epochs = _detector(ctx, size)
  fit = det.fit(x_tr, y_tr, epochs=epochs, seed=ctx.seed, class_names=LABELS,
                init_params=init, log_prefix=prefix)
  logits, _ = det.predict(fit.state, x_te)
  pred = logits.argmax(-1)
  out = common.report_block(y_te, pred, LABELS)
  # The test split is 5:1 generated:real, so a detector that never learnt
  # scores ~83% by always answering "generated": report the balanced
  # accuracy (mean per-class recall, 50% = chance) and flag that case.
  recalls = [float(np.mean(pred[y_te == k] == k)) for k in (0, 1)]
  out.update(balanced_accuracy=float(np.mean(recalls)),
             one_class=bool(len(np.unique(pred)) == 1),
             history=fit.history, train_steps=fit.steps, epochs=int(epochs))
  return out


class _Split:
  """The real images' side of the detector's split (``idx``: train, test
  indices into ``pool``), completed by any set of fakes."""

  def __init__(self, pool, idx):
    self.pool, (self.tr_i, self.te_i) = pool, idx

  def sets(self, fake_train, fake_test):
    """(x_tr, y_tr, x_te, y_te): real = 1, fake = 0."""
    tr_i, te_i, x = self.tr_i, self.te_i, self.pool.images
    x_tr = np.concatenate([x[tr_i], fake_train])
    y_tr = np.concatenate([np.ones(len(tr_i), np.int32),
                           np.zeros(len(fake_train), np.int32)])
    x_te = np.concatenate([x[te_i], fake_test])
    y_te = np.concatenate([np.ones(len(te_i), np.int32),
                           np.zeros(len(fake_test), np.int32)])
    return x_tr, y_tr, x_te, y_te


def _check(ctx, split: _Split, sizes, kind, size) -> tuple:
  """The competence check: the same detector, trained the same way on the
  same real images, against degraded copies of real images (each copy of a
  real image of its own side of the split, drawn with replacement, with its
  own damage) in the generated images' place and numbers. Returns (its
  result, a few of the degraded images)."""
  seed = ctx.seed + base.SEEDS["detector_check"]
  crng = np.random.default_rng(seed)
  src_tr = crng.choice(split.tr_i, sizes["train_fake"])
  src_te = crng.choice(split.te_i, sizes["test_fake"])
  dmg = context.postprocess(
      degrade(split.pool.images[np.concatenate([src_tr, src_te])], kind,
              seed), ctx.sampler.mode)
  chk = fit_detector(ctx, *split.sets(dmg[:len(src_tr)], dmg[len(src_tr):]),
                     "detector check", size)
  minimum = float(ctx.e.detector_check_min)
  return {"degradation": kind, "min_balanced_accuracy": minimum,
          "competent": bool(chk["balanced_accuracy"] >= minimum),
          **{k: chk[k] for k in ("accuracy", "balanced_accuracy",
                                 "one_class", "confusion",
                                 "train_steps")}}, dmg[:8]


def run(ctx) -> dict:
  """Real (1) vs generated (0) detector, and its competence check."""
  e, seed = ctx.e, ctx.seed
  pool = ctx.real["all"]
  sizes = realfake_sizes(len(pool.labels), e)
  rng = np.random.default_rng(seed + base.SEEDS["realfake_split"])
  order = rng.permutation(len(pool.labels))
  split = _Split(pool, (order[:sizes["train_real"]],
                        order[sizes["train_real"]:]))
  c = ctx.num_classes
  fake_tr_y = np.arange(sizes["train_fake"], dtype=np.int32) % c
  fake_te_y = np.arange(sizes["test_fake"], dtype=np.int32) % c
  fakes = ctx.sampler.labelled(np.concatenate([fake_tr_y, fake_te_y]),
                               "realfake")
  geo = detector_input(e, pool.images.shape[1])
  check_kind = str(e.detector_check or "none")
  if check_kind != "none" and check_kind not in DEGRADATIONS:
    raise EvaluationError(f"config.eval.detector_check={check_kind!r}: use "
                          f"{', '.join(DEGRADATIONS)} or none")
  out = fit_detector(ctx, *split.sets(fakes[:len(fake_tr_y)],
                                      fakes[len(fake_tr_y):]),
                     "real/fake", geo["input_size"])
  out.update(detector=e.detector, sizes=sizes, **geo)
  if e.detector == "vgg19":
    out.update(mode=e.detector_mode,
               backbone_init=e.vgg19_weights or "random (no weights file)")
  if check_kind == "none":
    out["check"] = None
    return out
  out["check"], examples = _check(ctx, split, sizes, check_kind,
                                  geo["input_size"])
  # For the report's figure, not report.json.
  ctx.artifacts["realfake"] = {"check_examples": examples}
  return out


def summarize(rf: dict) -> dict:
  chk = rf.get("check")
  return {
      "realfake_accuracy": rf["accuracy"],
      "realfake_balanced_accuracy": rf["balanced_accuracy"],
      "realfake_per_class": {k: v for k, v in rf["report"].items()
                             if k in LABELS},
      "detector": rf["detector"], "detector_input_size": rf["input_size"],
      "detector_resized": rf["resized"],
      "detector_competent": chk["competent"] if chk else None,
      "detector_check_balanced_accuracy": (chk["balanced_accuracy"] if chk
                                           else None)}


def warning(report: dict) -> list:
  if report.get("detector_competent") is not False:
    return []
  chk = report["experiments"]["realfake"]["check"]
  return [f"**The real/fake detector failed its own competence check** "
          f"(balanced accuracy "
          f"{render.fmt(report['detector_check_balanced_accuracy'], True)} "
          f"on real vs deliberately degraded real images, needs "
          f"{render.fmt(chk['min_balanced_accuracy'], True)}): its verdict "
          "on the generator is not evidence.", ""]


def original_rows(report: dict) -> list:
  return [render.original_row(report, k, *v) for k, v in ORIGINAL.items()]


def summary_rows(report: dict) -> list:
  chk = report["experiments"]["realfake"].get("check")
  if not chk:
    how = "competence check off (`config.eval.detector_check`) |"
  else:
    how = (f"balanced accuracy "
           f"{render.fmt(report['detector_check_balanced_accuracy'], True)} "
           f"on real vs `{chk['degradation']}`-degraded real images (needs "
           f"{render.fmt(chk['min_balanced_accuracy'], True)}); detector "
           f"`{report['detector']}` at {report['detector_input_size']} px |")
  return [f"| `detector_competent` | {render.yes(report['detector_competent'])}"
          f" | - | {how}"]


def _check_lines(chk, figdir: str, examples) -> list:
  """The competence check's paragraph (and figure of degraded images)."""
  if not chk:
    return ["Competence check: off (`config.eval.detector_check=none`).", ""]
  verdict = ("passed" if chk["competent"] else
             "**FAILED: its verdict on the generator is not evidence; train "
             "it longer or use another detector "
             "(`config.eval.detector`)**")
  md = [f"Competence check: the same detector, trained the same way on "
        f"the same real images, against `{chk['degradation']}`-degraded "
        f"copies of real images in place of the generated ones "
        f"(`sigjax.evaluate.degrade`), reaches a balanced accuracy of "
        f"{render.fmt(chk['balanced_accuracy'], True)} (needs "
        f"{render.fmt(chk['min_balanced_accuracy'], True)}): {verdict}.", ""]
  if examples is not None and len(examples):
    viz.class_grid(np.asarray(examples)[None], ["degraded"],
                   os.path.join(figdir, "detector_check_examples.png"),
                   title="competence check: degraded real images")
    md += ["![degraded real images](figures/detector_check_examples.png)",
           ""]
  return md


def section(report: dict, figdir: str, artifacts) -> list:
  rf = report["experiments"]["realfake"]
  s, kind = rf["sizes"], rf["detector"]
  title = {"vgg19": "VGG19 detector (the original's)",
           "cnn": "CNN detector (the best classifier's architecture, "
                  "2 outputs)"}.get(kind, kind)
  render.confusion_figure(rf["confusion"], LABELS,
                          os.path.join(figdir, "realfake_confusion.png"),
                          f"{kind} real/generated detector")
  scaled = (f" Fewer real images than the original's "
            f"{round(s['train_real'] / s['scale'])}+: the split is scaled by "
            f"{s['scale']:.3f}." if s["scaled"] else "")
  init = (f" Backbone: {rf['mode']} (init: {rf['backbone_init']})."
          if kind == "vgg19" else "")
  resized = f" Input {rf['resize_note']}." if rf["resized"] else ""
  md = [f"## Real vs generated: {title}", "",
        f"Train: {s['train_real']} real + {s['train_fake']} generated; "
        f"test: {s['test_real']} real + {s['test_fake']} generated.{scaled}"
        f"{init} Input {rf['input_size']}x{rf['input_size']}, "
        f"{rf['epochs']} epochs, {rf['train_steps']} steps.{resized} "
        f"Accuracy {render.fmt(rf['accuracy'], True)}, **balanced accuracy** "
        f"(mean per-class recall; 50% = chance, the test set is 5:1) "
        f"**{render.fmt(rf['balanced_accuracy'], True)}**.", ""]
  md += _check_lines(rf.get("check"), figdir,
                     (artifacts or {}).get("check_examples"))
  if rf["one_class"]:
    md += ["**Warning: the detector predicts one class for every test "
           "image; it did not learn, and its accuracy is only the share of "
           "that class in the test set. Train it longer "
           "(`config.eval.cnn_detector_epochs` / `detector_epochs`) or, for "
           "VGG19, from ImageNet weights (`config.eval.vgg19_weights`) "
           "before reading it.**", ""]
  md += ["![real/fake confusion](figures/realfake_confusion.png)", ""]
  return md + render.report_table(rf["report"], LABELS) + [""]


EXPERIMENT = base.Experiment(
    name="realfake", run=run, summarize=summarize, section=section,
    warning=warning, original_rows=original_rows, summary_rows=summary_rows)
