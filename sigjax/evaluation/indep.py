"""A second, independent network (``sigjax.models.resnet_classifier
.SmallResNet``: another architecture, another seed, its own augmentation,
and for cross-media data with name labels, trained on every medium of the
training writers, ``config.eval.indep_media``) gives its own CAS, accuracy
on the real test split, FID/KID and precision/recall. Where it and the
suite's classifier disagree, ``disagreements`` says so.

report.json: ``indep_cas_accuracy``, ``indep_real_test_accuracy``,
``indep_fid*``, ``indep_kid*``, ``indep_precision*``, ``indep_recall*``;
``disagreements`` (every report).
"""

from __future__ import annotations

import os

from sigjax import classify
from sigjax.evaluation import base
from sigjax.evaluation import common
from sigjax.evaluation import distribution
from sigjax.evaluation import render
from sigjax.evaluation.base import EvaluationError
from sigjax.models import resnet_classifier

# Where the suite's classifier and the independent network disagree enough
# to say so: CAS apart by more than this, or FID at equal sizes within
# FID_FLOOR_FACTOR x its real-vs-real floor in one feature space only.
CAS_DISAGREEMENT = 0.05
FID_FLOOR_FACTOR = 2.0


def _train_split(real):
  """(its training images, whether they are other media's) after the checks
  that the test split is disjoint from them."""
  other = "indep_train" in real
  tr = real["indep_train"] if other else real["train"]
  te = real["test"]
  common.need(len(tr.labels), "independent network: no training images",
              "data split")
  common.need(len(te.labels),
              "independent network: the real test split is empty",
              "data split")
  shared = set(te.meta.get("writer", [])) & set(tr.meta.get("writer", []))
  if other and shared:
    raise EvaluationError(
        f"independent network: its training images include test writers "
        f"{sorted(shared)[:5]}; the splits must be disjoint by writer")
  return tr, other


def run(ctx) -> dict:
  """The independent network: CAS, real test accuracy, FID/KID and
  precision/recall in its own feature space."""
  e, names, real = ctx.e, ctx.names, ctx.real
  tr, other = _train_split(real)
  te = real["test"]
  settings = (len(names), tuple(int(w) for w in e.indep_widths),
              int(e.indep_max_shift), int(e.indep_batch_size),
              float(e.indep_lr))

  def build():
    num_classes, widths, max_shift, batch, lr = settings
    model = resnet_classifier.SmallResNet(num_outputs=num_classes,
                                          widths=widths, max_shift=max_shift)
    return classify.Classifier(model, "multiclass", num_classes, lr=lr,
                               batch_size=batch)
  c = ctx.cache.classifier(("indep",) + settings, build)
  iseed = ctx.seed + base.SEEDS["indep"]
  fit, reused = ctx.cache.fit_real(
      ("indep",) + settings, c, tr.images, tr.labels, epochs=e.indep_epochs,
      seed=iseed, class_names=names, val=common.validation(real),
      log_prefix="independent")
  gen_x, gen_y = ctx.sampler.balanced(e.images_per_class, "cas")
  gen_logits, gen_feats = c.predict(fit.state, gen_x)
  real_logits, _ = c.predict(fit.state, te.images)
  pool = real["all"]
  _, real_feats = c.predict(fit.state, pool.images)
  out = distribution.distribution_metrics(real_feats, gen_feats, pool.labels,
                                          len(names), e, ctx.seed)
  out.update(
      generated=common.report_block(gen_y, gen_logits.argmax(-1), names),
      real_test=common.report_block(te.labels, real_logits.argmax(-1), names),
      history=fit.history, train_steps=fit.steps, seed=iseed,
      fit_reused=reused,
      train_data=(tr.meta.get("description", "other media") if other else
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


def summarize(ind: dict) -> dict:
  return {"indep_cas_accuracy": ind["generated"]["accuracy"],
          "indep_real_test_accuracy": ind["real_test"]["accuracy"],
          **distribution.fid_keys("indep_", ind),
          **distribution.prd_keys("indep_", ind)}


def disagreements(out: dict) -> list:
  """Sentences naming where the two networks' verdicts part (``out``: the
  report's top-level keys)."""
  notes = []
  if "cas_accuracy" in out and "indep_cas_accuracy" in out:
    a, b = out["cas_accuracy"], out["indep_cas_accuracy"]
    if abs(a - b) > CAS_DISAGREEMENT:
      notes.append(
          f"CAS differs by {100 * abs(a - b):.1f} points between the suite's "
          f"classifier ({100 * a:.1f}%) and the independent network "
          f"({100 * b:.1f}%); more than {100 * CAS_DISAGREEMENT:.0f} points.")
  if "fid_half" in out and "indep_fid_half" in out:
    verdicts = []
    for p in ("", "indep_"):
      half, floor = out[f"{p}fid_half"], out[f"{p}fid_real_vs_real"]
      verdicts.append((half <= FID_FLOOR_FACTOR * floor, half, floor))
    if verdicts[0][0] != verdicts[1][0]:
      say = lambda v: "within" if v else "beyond"  # pylint: disable=unnecessary-lambda-assignment
      notes.append(
          f"FID at equal sizes is {say(verdicts[0][0])} {FID_FLOOR_FACTOR:g}x "
          f"the real-vs-real floor in the suite's feature space "
          f"({verdicts[0][1]:.3g} vs {verdicts[0][2]:.3g}) but "
          f"{say(verdicts[1][0])} it in the independent network's "
          f"({verdicts[1][1]:.3g} vs {verdicts[1][2]:.3g}).")
  return notes


def summary_rows(report: dict) -> list:
  return [f"| `indep_cas_accuracy` | "
          f"{render.fmt(report['indep_cas_accuracy'], True)} | - | the "
          "independent network's CAS; its accuracy on the real test "
          f"split: {render.fmt(report['indep_real_test_accuracy'], True)} |",
          render.floor_row("indep_fid_half", report["indep_fid_half"],
                           report["indep_fid_real_vs_real"],
                           "in the independent network's features"),
          render.floor_row("indep_recall", report["indep_recall"],
                           report["indep_recall_real_vs_real"],
                           "in the independent network's features", 3)]


def notes(report: dict) -> list:
  """Whether the two networks agree, where both were asked."""
  ex = report["experiments"]
  if "cas" not in ex and "fid" not in ex:
    return []
  if report["disagreements"]:
    return (["**The suite's classifier and the independent network "
             "disagree:**", ""]
            + [f"- {n}" for n in report["disagreements"]] + [""])
  return ["The suite's classifier and the independent network agree "
          f"(CAS within {100 * CAS_DISAGREEMENT:.0f} points; FID at equal "
          f"sizes on the same side of {FID_FLOOR_FACTOR:g}x its floor in "
          "both, where measured).", ""]


def section(report: dict, figdir: str, unused_artifacts) -> list:
  ind, names = report["experiments"]["indep"], report["class_names"]
  render.confusion_figure(
      ind["generated"]["confusion"], names,
      os.path.join(figdir, "indep_confusion_generated.png"),
      "independent network on generated images")
  render.history_figure(ind["history"],
                        os.path.join(figdir, "indep_history.png"),
                        "independent network")
  ts = ind["train_sizes"]
  md = ["## The independent network", "",
        f"{ind['architecture']}. Trained on {ind['train_data']} "
        f"({ts['images']} images"
        + (f", {ts['writers']} writers" if ts.get("writers") else "")
        + f"; {ind['train_steps']} steps, seed {ind['seed']}); it shares "
          "neither architecture nor training data with the suite's "
          "classifier. Accuracy on the real test split "
        f"{render.fmt(ind['real_test']['accuracy'], True)}; on the generated "
        f"images (its CAS) {render.fmt(ind['generated']['accuracy'], True)}.",
        "", f"Feature space: {ind['feature_space']}.", ""]
  md += distribution.distribution_table(ind, "independent network") + [""]
  md += ["![independent network, generated]"
         "(figures/indep_confusion_generated.png) "
         "![independent network history](figures/indep_history.png)", ""]
  return md


EXPERIMENT = base.Experiment(
    name="indep", run=run, summarize=summarize, section=section,
    summary_rows=summary_rows, notes=notes)
