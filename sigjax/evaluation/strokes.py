"""Stroke structure with no learned network (``metrics.stroke_stats``): ink
components per image, the share of ink in specks, ink per image, for the
generated images (the CAS set) against the real test split, with the real
train split against the test split as the floor of the distance.

report.json: ``strokes_components``, ``strokes_components_real``,
``strokes_speckle``, ``strokes_speckle_real``, ``strokes_ink_ratio``,
``strokes_components_w1``, ``strokes_components_w1_real_vs_real``.
"""

from __future__ import annotations

import numpy as np

from sigjax import metrics
from sigjax.evaluation import base
from sigjax.evaluation import common
from sigjax.evaluation import render
from sigjax.evaluation.base import EvaluationError


def _stroke_block(stats: dict) -> dict:
  return {k: {"mean": float(np.mean(v)), "std": float(np.std(v))}
          for k, v in stats.items()}


def run(ctx) -> dict:
  """The stroke statistics of the CAS set, the real test and train splits
  (the CAS set is seeded by the sampler)."""
  e, real = ctx.e, ctx.real
  te, tr = real["test"], real["train"]
  common.need(len(te.labels), "strokes: the real test split is empty",
              "data split")
  common.need(len(tr.labels), "strokes: the real train split is empty",
              "data split")
  common.need(e.images_per_class, "strokes", "config.eval.images_per_class")
  px = int(e.strokes_speckle_px)
  if px < 1:
    raise EvaluationError(f"config.eval.strokes_speckle_px={px}: must be an "
                          "integer >= 1 (pixels)")
  gen_x, gen_y = ctx.sampler.balanced(e.images_per_class, "cas")
  gen = metrics.stroke_stats(gen_x, px)
  test = metrics.stroke_stats(te.images, px)
  train = metrics.stroke_stats(tr.images, px)
  per_class = {}
  for c, name in enumerate(ctx.names):
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


def summarize(st: dict) -> dict:
  return {
      "strokes_components": st["generated"]["components"]["mean"],
      "strokes_components_real": st["real_test"]["components"]["mean"],
      "strokes_speckle": st["generated"]["speckle"]["mean"],
      "strokes_speckle_real": st["real_test"]["speckle"]["mean"],
      "strokes_ink_ratio": (st["generated"]["ink"]["mean"] /
                            max(st["real_test"]["ink"]["mean"], 1e-9)),
      "strokes_components_w1": st["components_w1"],
      "strokes_components_w1_real_vs_real": st["components_w1_real_vs_real"]}


def summary_rows(report: dict) -> list:
  return [f"| `strokes_components` | {report['strokes_components']:.1f} "
          f"| - | ink components per image (real test: "
          f"{report['strokes_components_real']:.1f}); broken strokes "
          "make many |",
          f"| `strokes_speckle` | {report['strokes_speckle']:.3f} | - | "
          "share of ink in specks (real test: "
          f"{report['strokes_speckle_real']:.3f}) |"]


def section(report: dict, unused_figdir, unused_artifacts) -> list:
  """Stroke structure (no learned network) of generated vs real images."""
  st = report["experiments"]["strokes"]
  sets = (("generated", "generated (the CAS set)"),
          ("real_test", "real test split"), ("real_train", "real train split"))
  md = ["## Stroke structure (no learned network)", "",
        "Ink components per image (8-connected), the share of the ink in "
        f"specks of at most {st['speckle_px']} px, and ink pixels per image, "
        "on the binary images the suite scores. A signature written in "
        "continuous strokes has a few components; the same layout drawn as "
        "dashes and dots has many, whatever a classifier's features say. "
        f"Images: {render.sizes(st['sizes'])}.", "",
        "| images | components | speckle | ink px |", "|---|---|---|---|"]
  for key, label in sets:
    b = st[key]
    md.append(f"| {label} | {b['components']['mean']:.2f} ± "
              f"{b['components']['std']:.2f} | {b['speckle']['mean']:.4f} | "
              f"{b['ink']['mean']:.0f} ± {b['ink']['std']:.0f} |")
  md += ["", "Distance between the distributions of components per image "
         f"(1-Wasserstein, in components): generated vs real test "
         f"{st['components_w1']:.2f}; real train vs real test (the floor: "
         f"other writers) {st['components_w1_real_vs_real']:.2f}.", "",
         "| class | components, generated | components, real test |",
         "|---|---|---|"]
  for name, v in st["per_class_components"].items():
    g, r = v["generated"], v["real_test"]
    md.append(f"| {name} | {'-' if g is None else f'{g:.2f}'} | "
              f"{'-' if r is None else f'{r:.2f}'} |")
  return md + [""]


EXPERIMENT = base.Experiment(
    name="strokes", run=run, summarize=summarize, section=section,
    summary_rows=summary_rows)
