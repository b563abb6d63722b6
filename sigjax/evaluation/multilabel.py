"""The original's multi-label classifier: 11 sigmoid outputs (the
identities + genuine), per class 40/10/50% of the real images for
train/validation/test, each with as many generated.

report.json: ``multilabel_identity_accuracy``, ``multilabel_genuine_accuracy``.
"""

from __future__ import annotations

import os

import numpy as np

from sigjax import classify
from sigjax.evaluation import base
from sigjax.evaluation import common
from sigjax.evaluation import render
from sigjax.evaluation.base import EvaluationError

ORIGINAL = {
    "multilabel_identity_accuracy": (0.998, "1000 test images (README)"),
    "multilabel_genuine_accuracy": (1.0, "1000 test images (README)"),
}
GENUINE = ["generated", "genuine"]


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


def run(ctx) -> dict:
  """Identities + genuine, sigmoid outputs, the original's 40/10/50 split."""
  e, names = ctx.e, ctx.names
  pool, c = ctx.real["all"], ctx.num_classes
  splits = multilabel_split(pool.labels, c, e.multilabel_fractions,
                            ctx.seed + base.SEEDS["multilabel_split"])
  sets = []
  for i, idx in enumerate(splits):
    fake_y = pool.labels[idx]  # as many generated as real, per class
    fake_x = ctx.sampler.labelled(fake_y, "multilabel", offset=i)
    x = np.concatenate([pool.images[idx], fake_x])
    y = classify.encode_multilabel(
        np.concatenate([pool.labels[idx], fake_y]),
        np.concatenate([np.ones(len(idx)), np.zeros(len(fake_y))]), c)
    sets.append((x, y))
  ml = common.cnn_classifier(ctx, c, "multilabel", e.multilabel_batch_size,
                             e.multilabel_lr)
  fit = ml.fit(*sets[0], epochs=e.multilabel_epochs, seed=ctx.seed,
               class_names=names, val=sets[1], log_prefix="multi-label")
  x_te, y_te = sets[2]
  logits, _ = ml.predict(fit.state, x_te)
  ident, genuine = classify.decode_multilabel(y_te, c)
  pred_id = logits[:, :c].argmax(-1)
  pred_gen = (logits[:, c] > 0).astype(np.int32)
  return {"identity": common.report_block(ident, pred_id, names),
          "genuine": common.report_block(genuine, pred_gen, GENUINE),
          "history": fit.history, "train_steps": fit.steps,
          "sizes": {s: {"real": int(len(idx)), "generated": int(len(idx))}
                    for s, idx in zip(("train", "validation", "test"), splits)}}


def summarize(ml: dict) -> dict:
  return {"multilabel_identity_accuracy": ml["identity"]["accuracy"],
          "multilabel_genuine_accuracy": ml["genuine"]["accuracy"]}


def original_rows(report: dict) -> list:
  return [render.original_row(report, k, *v) for k, v in ORIGINAL.items()]


def section(report: dict, figdir: str, unused_artifacts) -> list:
  ml, names = report["experiments"]["multilabel"], report["class_names"]
  render.confusion_figure(
      ml["identity"]["confusion"], names,
      os.path.join(figdir, "multilabel_identity_confusion.png"),
      "multi-label: identity")
  render.confusion_figure(
      ml["genuine"]["confusion"], GENUINE,
      os.path.join(figdir, "multilabel_genuine_confusion.png"),
      "multi-label: genuine")
  render.history_figure(ml["history"],
                        os.path.join(figdir, "multilabel_history.png"),
                        "multi-label classifier (identity accuracy)")
  sz = "; ".join(f"{k}: {v['real']} real + {v['generated']} generated"
                 for k, v in ml["sizes"].items())
  md = ["## Multi-label: identity + genuine", "",
        f"{sz}; {ml['train_steps']} steps. Identity accuracy "
        f"{render.fmt(ml['identity']['accuracy'], True)}, genuine accuracy "
        f"{render.fmt(ml['genuine']['accuracy'], True)}.", "",
        "![identity](figures/multilabel_identity_confusion.png) "
        "![genuine](figures/multilabel_genuine_confusion.png)", "",
        "![history](figures/multilabel_history.png)", ""]
  md += render.report_table(ml["identity"]["report"], names) + [""]
  md += render.report_table(ml["genuine"]["report"], GENUINE)
  return md + [""]


EXPERIMENT = base.Experiment(
    name="multilabel", run=run, summarize=summarize, section=section,
    original_rows=original_rows)
