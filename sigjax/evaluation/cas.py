"""CAS: the original's best classifier trained on the real train split,
tested on generated images and on the real test split.

report.json: ``cas_accuracy``, ``real_test_accuracy``. Leaves its fitted
classifier and the generated images' features for ``fid`` and ``prd``
(``ctx.artifacts['cas']``).
"""

from __future__ import annotations

import os

from sigjax.evaluation import base
from sigjax.evaluation import common
from sigjax.evaluation import render

ORIGINAL = {
    "cas_accuracy": (0.9997, "3000 generated, classifier trained on 1000 real "
                             "(README)"),
    "real_test_accuracy": (None, "not reported"),
}


def run(ctx) -> dict:
  """Train on real, test on generated (CAS) and on the real test split."""
  e, names, real = ctx.e, ctx.names, ctx.real
  tr, te = real["train"], real["test"]
  common.need(len(tr.labels), "CAS: the real train split is empty",
              "data split")
  common.need(len(te.labels), "CAS: the real test split is empty",
              "data split")
  common.need(e.images_per_class, "CAS", "config.eval.images_per_class")
  val = common.validation(real)
  c = common.cnn_classifier(ctx, len(names))
  fit, reused = ctx.cache.fit_real(
      ("cas", len(names), int(e.classifier_batch_size),
       float(e.classifier_lr)), c, tr.images, tr.labels,
      epochs=e.classifier_epochs, seed=ctx.seed, class_names=names, val=val,
      log_prefix="CAS")
  gen_x, gen_y = ctx.sampler.balanced(e.images_per_class, "cas")
  gen_logits, gen_feats = c.predict(fit.state, gen_x)
  real_logits, _ = c.predict(fit.state, te.images)
  ctx.artifacts["cas"] = {"classifier": c, "state": fit.state,
                          "gen_feats": gen_feats}
  return {
      "generated": common.report_block(gen_y, gen_logits.argmax(-1), names),
      "real_test": common.report_block(te.labels, real_logits.argmax(-1),
                                       names),
      "history": fit.history, "train_steps": fit.steps, "fit_reused": reused,
      "sizes": {"real_train": len(tr.labels), "real_validation": len(val[1]),
                "real_test": len(te.labels), "generated_test": len(gen_y)}}


def summarize(result: dict) -> dict:
  return {"cas_accuracy": result["generated"]["accuracy"],
          "real_test_accuracy": result["real_test"]["accuracy"]}


def original_rows(report: dict) -> list:
  return [render.original_row(report, k, *v) for k, v in ORIGINAL.items()]


def section(report: dict, figdir: str, unused_artifacts) -> list:
  cas, names = report["experiments"]["cas"], report["class_names"]
  for part, title in (("generated", "generated images"),
                      ("real_test", "real test split")):
    render.confusion_figure(cas[part]["confusion"], names,
                            os.path.join(figdir, f"cas_confusion_{part}.png"),
                            f"CAS classifier on {title}")
  render.history_figure(cas["history"],
                        os.path.join(figdir, "cas_history.png"),
                        "classifier trained on real")
  md = ["## CAS: trained on real, tested on generated", "",
        f"Images: {render.sizes(cas['sizes'])}; {cas['train_steps']} steps. "
        f"Accuracy on generated "
        f"{render.fmt(cas['generated']['accuracy'], True)},"
        f" on the real test split "
        f"{render.fmt(cas['real_test']['accuracy'], True)}.", "",
        "![CAS confusion, generated](figures/cas_confusion_generated.png) "
        "![CAS confusion, real test](figures/cas_confusion_real_test.png)",
        "", "![CAS history](figures/cas_history.png)", "",
        "Generated images:", ""]
  md += render.report_table(cas["generated"]["report"], names) + [""]
  md += ["Real test split:", ""]
  md += render.report_table(cas["real_test"]["report"], names) + [""]
  return md


EXPERIMENT = base.Experiment(
    name="cas", run=run, summarize=summarize, section=section,
    original_rows=original_rows)
