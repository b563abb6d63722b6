"""Near-copies of training signatures, with no learned network
(``metrics.nearest_ink``): each generated image (the CAS set) against its
nearest real training image, beside the same distance for real test images
(unseen writers) and for each training image against the other training
images (leave-one-out: the writer's other signatures). A generator that
memorised its training images has many generated images nearer to a
training image than almost any two real signatures are; precision and
recall against a real pool that holds the training images score such
copies as perfect.

report.json: ``copies_share``, ``copies_share_real_train``,
``copies_nearest``, ``copies_nearest_real_train``,
``copies_nearest_real_test``.
"""

from __future__ import annotations

import os

import numpy as np

from sigjax import metrics
from sigjax import viz
from sigjax.evaluation import base
from sigjax.evaluation import common
from sigjax.evaluation import render
from sigjax.evaluation.base import EvaluationError

# The copy threshold is this quantile of the training images' leave-one-out
# nearest distances, so this share of real training signatures falls below
# it.
COPY_QUANTILE = 0.05


def _quantiles(d) -> dict:
  return {"median": float(np.median(d)), "p05": float(np.quantile(d, 0.05)),
          "min": float(np.min(d)), "mean": float(np.mean(d))}


def run(ctx) -> dict:
  """Nearest-training-image distances (the CAS set is seeded by the
  sampler); the closest pairs go to the report's figure."""
  e, real = ctx.e, ctx.real
  te, tr = real["test"], real["train"]
  common.need(len(tr.labels), "copies: the real train split is empty",
              "data split")
  common.need(e.images_per_class, "copies", "config.eval.images_per_class")
  if len(tr.labels) < 2:
    raise EvaluationError("copies: the real train split needs >= 2 images "
                          "for its leave-one-out reference")
  gen_x, gen_y = ctx.sampler.balanced(e.images_per_class, "cas")
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
  k = min(int(e.copies_examples), len(d_gen))
  top = np.argsort(d_gen, kind="stable")[:k]
  ctx.artifacts["copies"] = {
      "examples": np.stack([gen_x[top], tr.images[i_gen[top]]])}
  out["example_distances"] = [float(v) for v in d_gen[top]]
  return out


def summarize(cp: dict) -> dict:
  out = {"copies_share": cp["share_generated"],
         "copies_share_real_train": cp["share_real_train"],
         "copies_nearest": cp["generated"]["median"],
         "copies_nearest_real_train": cp["real_train_loo"]["median"]}
  if "real_test" in cp:
    out["copies_nearest_real_test"] = cp["real_test"]["median"]
  return out


def summary_rows(report: dict) -> list:
  q = report["experiments"]["copies"]["threshold_quantile"]
  return [f"| `copies_share` | {report['copies_share']:.3f} | - | "
          "share of generated images nearer to a training image than "
          f"the nearest {q:.0%} of real training signatures are to "
          "another one (real train: "
          f"{report['copies_share_real_train']:.3f}); memorised "
          "signatures make many |"]


def section(report: dict, figdir: str, artifacts) -> list:
  """Near-copies of training signatures (no learned network)."""
  cp = report["experiments"]["copies"]
  rows = [("generated (the CAS set)", cp["generated"], cp["share_generated"]),
          ("real train, leave-one-out", cp["real_train_loo"],
           cp["share_real_train"])]
  if "real_test" in cp:
    rows.append(("real test (unseen writers)", cp["real_test"],
                 cp["share_real_test"]))
  md = ["## Copies of training signatures (no learned network)", "",
        "Each image's nearest real training image by ink overlap, distance "
        "1 - Dice of the two binary ink masks (0 = the same pixels, 1 = no "
        "ink in common). Leave-one-out on the training images is how near "
        "two real signatures come (mostly the same writer's); the copy "
        f"threshold ({cp['threshold']:.3f}) is its "
        f"{cp['threshold_quantile']:.0%} quantile, so a generator that draws "
        "new signatures of the training writers has about that share below "
        "it, and one that memorised its training images has many more. "
        f"Images: {render.sizes(cp['sizes'])}.", "",
        "| images | median | 5% quantile | min | share below threshold |",
        "|---|---|---|---|---|"]
  for label, q, share in rows:
    md.append(f"| {label} | {q['median']:.3f} | {q['p05']:.3f} | "
              f"{q['min']:.3f} | {share:.3f} |")
  md += ["", f"The nearest training image has the generated image's class "
         f"for {cp['same_class']:.1%} of generated images.", ""]
  examples = (artifacts or {}).get("examples")
  if examples is not None and len(examples):
    labels = [f"{d:.3f}" for d in cp["example_distances"]]
    viz.class_grid(np.asarray(examples), ["generated", "nearest train"],
                   os.path.join(figdir, "copies_nearest.png"),
                   title="the generated images nearest to a training image",
                   col_labels=labels)
    md += ["The generated images nearest to a training image (top) and "
           "those training images (bottom), distance above each column:", "",
           "![nearest training images](figures/copies_nearest.png)", ""]
  return md


EXPERIMENT = base.Experiment(
    name="copies", run=run, summarize=summarize, section=section,
    summary_rows=summary_rows)
