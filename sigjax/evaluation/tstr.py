"""TSTR: the CAS classifier's architecture trained on generated images
only, tested on the real test split (history plotted).

report.json: ``tstr_accuracy``.
"""

from __future__ import annotations

import os

from sigjax.evaluation import base
from sigjax.evaluation import common
from sigjax.evaluation import render

ORIGINAL = {
    "tstr_accuracy": (0.98, "trained on 3000 generated, validated on the 1000 "
                            "real (Copy_of_Signatures_CGAN.ipynb)"),
}


def run(ctx) -> dict:
  """Train on generated only, test on the real test split."""
  e, names = ctx.e, ctx.names
  te = ctx.real["test"]
  common.need(len(te.labels), "TSTR: the real test split is empty",
              "data split")
  common.need(e.tstr_images_per_class, "TSTR",
              "config.eval.tstr_images_per_class")
  gen_x, gen_y = ctx.sampler.balanced(e.tstr_images_per_class, "tstr")
  c = common.cnn_classifier(ctx, len(names))
  fit = c.fit(gen_x, gen_y, epochs=e.tstr_epochs, seed=ctx.seed,
              class_names=names, val=(te.images, te.labels),
              log_prefix="TSTR")
  logits, _ = c.predict(fit.state, te.images)
  return {"real_test": common.report_block(te.labels, logits.argmax(-1),
                                           names),
          "history": fit.history, "train_steps": fit.steps,
          "sizes": {"generated_train": len(gen_y), "real_test": len(te.labels)}}


def summarize(result: dict) -> dict:
  return {"tstr_accuracy": result["real_test"]["accuracy"]}


def original_rows(report: dict) -> list:
  return [render.original_row(report, k, *v) for k, v in ORIGINAL.items()]


def section(report: dict, figdir: str, unused_artifacts) -> list:
  t, names = report["experiments"]["tstr"], report["class_names"]
  render.history_figure(t["history"], os.path.join(figdir, "tstr_history.png"),
                        "TSTR: trained on generated, validated on real test")
  render.confusion_figure(t["real_test"]["confusion"], names,
                          os.path.join(figdir, "tstr_confusion.png"),
                          "TSTR classifier on the real test split")
  md = ["## TSTR: trained on generated, tested on real", "",
        f"Images: {render.sizes(t['sizes'])}; {t['train_steps']} steps. "
        f"Accuracy {render.fmt(t['real_test']['accuracy'], True)}.", "",
        "![TSTR history](figures/tstr_history.png)", "",
        "![TSTR confusion](figures/tstr_confusion.png)", ""]
  return md + render.report_table(t["real_test"]["report"], names) + [""]


EXPERIMENT = base.Experiment(
    name="tstr", run=run, summarize=summarize, section=section,
    original_rows=original_rows)
