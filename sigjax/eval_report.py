"""report.json, report.md and the PNG figures of the evaluation suite.

``summarize(results)`` lifts the headline numbers to the top-level keys the
issue names (``cas_accuracy``, ``fid``, ...); ``write`` renders the figures
(matplotlib Agg) and a markdown report that shows them inline.
"""

from __future__ import annotations

import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from sigjax import viz

# The original project's numbers (Vivek-23-Titan/Signature-Replication-using-
# Generative-Adversarial-Networks, notebooks and README), for comparison.
ORIGINAL = {
    "cas_accuracy": (0.9997, "3000 generated, classifier trained on 1000 real "
                             "(README)"),
    "real_test_accuracy": (None, "not reported"),
    "tstr_accuracy": (0.98, "trained on 3000 generated, validated on the 1000 "
                            "real (Copy_of_Signatures_CGAN.ipynb)"),
    "realfake_accuracy": (None, "VGG19 detector's number not in the notebooks;"
                                " the multi-label net separated real/fake "
                                "100%"),
    "realfake_balanced_accuracy": (None, "mean of the two recalls; 50% = "
                                         "chance (the test set is 5:1)"),
    "multilabel_identity_accuracy": (0.998, "1000 test images (README)"),
    "multilabel_genuine_accuracy": (1.0, "1000 test images (README)"),
    "fid": (None, "not measured by the original"),
    "kid": (None, "not measured by the original"),
}


def summarize(results: dict) -> dict:
  """The top-level report keys from the per-experiment results."""
  out = {}
  if "cas" in results:
    out["cas_accuracy"] = results["cas"]["generated"]["accuracy"]
    out["real_test_accuracy"] = results["cas"]["real_test"]["accuracy"]
  if "tstr" in results:
    out["tstr_accuracy"] = results["tstr"]["real_test"]["accuracy"]
  if "realfake" in results:
    rf = results["realfake"]
    out["realfake_accuracy"] = rf["accuracy"]
    out["realfake_balanced_accuracy"] = rf["balanced_accuracy"]
    out["realfake_per_class"] = {
        k: v for k, v in rf["report"].items() if k in ("generated", "real")}
  if "multilabel" in results:
    ml = results["multilabel"]
    out["multilabel_identity_accuracy"] = ml["identity"]["accuracy"]
    out["multilabel_genuine_accuracy"] = ml["genuine"]["accuracy"]
  if "fid" in results:
    f = results["fid"]
    out.update(fid=f["fid"], fid_real_vs_real=f["fid_real_vs_real"],
               fid_half=f["fid_half"], kid=f["kid"]["kid"],
               kid_std=f["kid"]["kid_std"], kid_stderr=f["kid"]["kid_stderr"],
               kid_real_vs_real=f["kid_real_vs_real"]["kid"])
  return out


# ---------------------------------------------------------------- figures --


def confusion_figure(cm, names, path, title):
  cm = np.asarray(cm)
  n = len(names)
  fig, ax = plt.subplots(figsize=(max(4.0, 1.6 + 0.55 * n),
                                  max(3.4, 1.4 + 0.5 * n)), dpi=100)
  ax.imshow(cm, cmap="Blues")
  thresh = cm.max() / 2 if cm.size else 0
  for i in range(n):
    for j in range(n):
      ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
              color="white" if cm[i, j] > thresh else "black")
  ax.set_xticks(range(n), names, rotation=45, ha="right", fontsize=8)
  ax.set_yticks(range(n), names, fontsize=8)
  ax.set_xlabel("predicted")
  ax.set_ylabel("true")
  ax.set_title(title, fontsize=9)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def history_figure(history, path, title):
  """Train vs validation accuracy and loss per epoch."""
  fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), dpi=100)
  epochs = np.arange(1, len(history.get("loss", [])) + 1)
  for ax, key in zip(axes, ("accuracy", "loss")):
    if key in history:
      ax.plot(epochs, history[key], "r-", label=f"train {key}")
    if f"val_{key}" in history:
      ax.plot(epochs, history[f"val_{key}"], "b-", label=f"validation {key}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
  fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


# --------------------------------------------------------------- markdown --


def _fmt(v, pct=False):
  if v is None:
    return "-"
  if isinstance(v, float):
    return f"{100 * v:.2f}%" if pct else f"{v:.4g}"
  return str(v)


def report_table(rep: dict, names) -> list[str]:
  lines = ["| class | precision | recall | F1 | support |",
           "|---|---|---|---|---|"]
  for n in list(names) + ["macro avg", "weighted avg"]:
    r = rep[n]
    lines.append(f"| {n} | {r['precision']:.3f} | {r['recall']:.3f} | "
                 f"{r['f1']:.3f} | {r['support']} |")
  lines.append(f"| accuracy | | | {rep['accuracy']:.3f} | "
               f"{rep['macro avg']['support']} |")
  return lines


def _sizes(d: dict) -> str:
  return ", ".join(f"{k} {v}" for k, v in d.items()
                   if not isinstance(v, (dict, float, bool)))


def write(report: dict, workdir: str, grid_real, grid_gen) -> None:
  """Writes report.json, report.md and figures/*.png into ``workdir``."""
  figdir = os.path.join(workdir, "figures")
  os.makedirs(figdir, exist_ok=True)
  names = report["class_names"]
  ex = report["experiments"]
  info = report.get("info", {})
  md = ["# Evaluation report", ""]
  md.append(f"Generator: `{info.get('gan_workdir', 'in-process')}`, "
            f"checkpoint step {info.get('checkpoint_step', '-')}; preset "
            f"`{report['preset']}`; seed {report['seed']}; generated images "
            f"post-processed with `{report['postprocess']}`; real images per "
            f"split: {_sizes(report['real_sizes'])}. Total wall time "
            f"{report['total_wall_time_s']:.1f} s.")
  md.append("")

  k = grid_real.shape[1]
  grid = np.concatenate([grid_real, grid_gen], axis=1)
  viz.class_grid(grid, names, os.path.join(figdir, "real_vs_generated.png"),
                 title="real | generated",
                 col_labels=["real"] * k + ["generated"] * k)
  md += ["## Real | generated signatures", "",
         f"Each row: {k} real signatures of the class, then {k} generated.", "",
         "![real vs generated](figures/real_vs_generated.png)", ""]

  md += ["## Summary", "",
         "| metric | value | the original | note |", "|---|---|---|---|"]
  for key, (orig, note) in ORIGINAL.items():
    if key in report:
      pct = key != "fid" and key != "kid"
      val = _fmt(report[key], pct)
      if key == "kid":
        val += f" ± {report['kid_stderr']:.2g} (s.e.)"
      md.append(f"| `{key}` | {val} | {_fmt(orig, True)} | {note} |")
  if "fid" in report:
    md.append(f"| `fid_real_vs_real` | {_fmt(report['fid_real_vs_real'])} | - "
              "| floor: two disjoint halves of the real data |")
    md.append(f"| `fid_half` | {_fmt(report['fid_half'])} | - | one real half"
              " vs as many generated: compare with the floor |")
  md.append("")

  if "cas" in ex:
    cas = ex["cas"]
    for part, title in (("generated", "generated images"),
                        ("real_test", "real test split")):
      confusion_figure(cas[part]["confusion"], names,
                       os.path.join(figdir, f"cas_confusion_{part}.png"),
                       f"CAS classifier on {title}")
    history_figure(cas["history"], os.path.join(figdir, "cas_history.png"),
                   "classifier trained on real")
    md += ["## CAS: trained on real, tested on generated", "",
           f"Images: {_sizes(cas['sizes'])}; {cas['train_steps']} steps. "
           f"Accuracy on generated {_fmt(cas['generated']['accuracy'], True)},"
           f" on the real test split "
           f"{_fmt(cas['real_test']['accuracy'], True)}.", "",
           "![CAS confusion, generated](figures/cas_confusion_generated.png) "
           "![CAS confusion, real test](figures/cas_confusion_real_test.png)",
           "", "![CAS history](figures/cas_history.png)", "",
           "Generated images:", ""]
    md += report_table(cas["generated"]["report"], names) + [""]
    md += ["Real test split:", ""]
    md += report_table(cas["real_test"]["report"], names) + [""]

  if "tstr" in ex:
    t = ex["tstr"]
    history_figure(t["history"], os.path.join(figdir, "tstr_history.png"),
                   "TSTR: trained on generated, validated on real test")
    confusion_figure(t["real_test"]["confusion"], names,
                     os.path.join(figdir, "tstr_confusion.png"),
                     "TSTR classifier on the real test split")
    md += ["## TSTR: trained on generated, tested on real", "",
           f"Images: {_sizes(t['sizes'])}; {t['train_steps']} steps. "
           f"Accuracy {_fmt(t['real_test']['accuracy'], True)}.", "",
           "![TSTR history](figures/tstr_history.png)", "",
           "![TSTR confusion](figures/tstr_confusion.png)", ""]
    md += report_table(t["real_test"]["report"], names) + [""]

  if "realfake" in ex:
    rf = ex["realfake"]
    s = rf["sizes"]
    confusion_figure(rf["confusion"], ["generated", "real"],
                     os.path.join(figdir, "realfake_confusion.png"),
                     "VGG19 real/generated detector")
    scaled = (f" Fewer real images than the original's "
              f"{round(s['train_real'] / s['scale'])}+: the split is scaled by "
              f"{s['scale']:.3f}." if s["scaled"] else "")
    md += ["## Real vs generated (VGG19 detector)", "",
           f"Train: {s['train_real']} real + {s['train_fake']} generated; "
           f"test: {s['test_real']} real + {s['test_fake']} generated.{scaled}"
           f" Backbone: {rf['mode']} (init: {rf['backbone_init']}), input "
           f"{rf['input_size']}x{rf['input_size']}, {rf['train_steps']} steps."
           f" Accuracy {_fmt(rf['accuracy'], True)}, balanced accuracy "
           f"(mean per-class recall; 50% = chance) "
           f"{_fmt(rf['balanced_accuracy'], True)}.", ""]
    if rf["one_class"]:
      md += ["**Warning: the detector predicts one class for every test "
             "image; it did not learn, and its accuracy is only the share of "
             "that class in the test set. Train it longer "
             "(`config.eval.detector_epochs`) or from ImageNet weights "
             "(`config.eval.vgg19_weights`) before reading it.**", ""]
    md += ["![real/fake confusion](figures/realfake_confusion.png)", ""]
    md += report_table(rf["report"], ["generated", "real"]) + [""]

  if "multilabel" in ex:
    ml = ex["multilabel"]
    confusion_figure(ml["identity"]["confusion"], names,
                     os.path.join(figdir, "multilabel_identity_confusion.png"),
                     "multi-label: identity")
    confusion_figure(ml["genuine"]["confusion"], ["generated", "genuine"],
                     os.path.join(figdir, "multilabel_genuine_confusion.png"),
                     "multi-label: genuine")
    history_figure(ml["history"],
                   os.path.join(figdir, "multilabel_history.png"),
                   "multi-label classifier (identity accuracy)")
    sz = "; ".join(f"{k}: {v['real']} real + {v['generated']} generated"
                   for k, v in ml["sizes"].items())
    md += ["## Multi-label: identity + genuine", "",
           f"{sz}; {ml['train_steps']} steps. Identity accuracy "
           f"{_fmt(ml['identity']['accuracy'], True)}, genuine accuracy "
           f"{_fmt(ml['genuine']['accuracy'], True)}.", "",
           "![identity](figures/multilabel_identity_confusion.png) "
           "![genuine](figures/multilabel_genuine_confusion.png)", "",
           "![history](figures/multilabel_history.png)", ""]
    md += report_table(ml["identity"]["report"], names) + [""]
    md += report_table(ml["genuine"]["report"], ["generated", "genuine"])
    md += [""]

  if "fid" in ex:
    f = ex["fid"]
    md += ["## FID and KID", "",
           f"Feature space: {f['feature_space']}. Sizes: {_sizes(f['sizes'])}."
           " FID grows as samples shrink, so read `fid_half` against "
           "`fid_real_vs_real` (same sizes).", "",
           "| | FID | KID ± s.e. |", "|---|---|---|",
           f"| real vs generated | {f['fid']:.4g} | {f['kid']['kid']:.4g} ± "
           f"{f['kid']['kid_stderr']:.2g} |",
           f"| real half vs real half | {f['fid_real_vs_real']:.4g} | "
           f"{f['kid_real_vs_real']['kid']:.4g} ± "
           f"{f['kid_real_vs_real']['kid_stderr']:.2g} |",
           f"| real half vs generated | {f['fid_half']:.4g} | |", ""]

  md += ["## Wall time per experiment", "", "| experiment | seconds |",
         "|---|---|"]
  md += [f"| {k} | {v:.1f} |" for k, v in report["wall_time_s"].items()]
  md += [f"| total | {report['total_wall_time_s']:.1f} |", ""]

  with open(os.path.join(workdir, "report.md"), "w") as fh:
    fh.write("\n".join(md))
  with open(os.path.join(workdir, "report.json"), "w") as fh:
    json.dump(report, fh, indent=1, default=_json_default)


def _json_default(o):
  if isinstance(o, np.generic):
    return o.item()
  if isinstance(o, np.ndarray):
    return o.tolist()
  raise TypeError(f"not JSON serializable: {type(o).__name__}")
