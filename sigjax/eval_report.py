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


# Where the suite's classifier and the independent network disagree enough
# to say so: CAS apart by more than this, or FID at equal sizes within
# FID_FLOOR_FACTOR x its real-vs-real floor in one feature space only.
CAS_DISAGREEMENT = 0.05
FID_FLOOR_FACTOR = 2.0


def _fid_keys(prefix: str, f: dict) -> dict:
  return {f"{prefix}fid": f["fid"],
          f"{prefix}fid_real_vs_real": f["fid_real_vs_real"],
          f"{prefix}fid_half": f["fid_half"], f"{prefix}kid": f["kid"]["kid"],
          f"{prefix}kid_std": f["kid"]["kid_std"],
          f"{prefix}kid_stderr": f["kid"]["kid_stderr"],
          f"{prefix}kid_half": f["kid_half"]["kid"],
          f"{prefix}kid_real_vs_real": f["kid_real_vs_real"]["kid"]}


def _prd_keys(prefix: str, f: dict) -> dict:
  return {f"{prefix}precision": f["prd"]["precision"],
          f"{prefix}recall": f["prd"]["recall"],
          f"{prefix}precision_real_vs_real": f["prd_real_vs_real"]["precision"],
          f"{prefix}recall_real_vs_real": f["prd_real_vs_real"]["recall"]}


def disagreements(out: dict) -> list:
  """Sentences naming where the two networks' verdicts part."""
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
    chk = rf.get("check")
    out["realfake_accuracy"] = rf["accuracy"]
    out["realfake_balanced_accuracy"] = rf["balanced_accuracy"]
    out["realfake_per_class"] = {
        k: v for k, v in rf["report"].items() if k in ("generated", "real")}
    out.update(detector=rf["detector"],
               detector_input_size=rf["input_size"],
               detector_resized=rf["resized"],
               detector_competent=chk["competent"] if chk else None,
               detector_check_balanced_accuracy=(
                   chk["balanced_accuracy"] if chk else None))
  if "multilabel" in results:
    ml = results["multilabel"]
    out["multilabel_identity_accuracy"] = ml["identity"]["accuracy"]
    out["multilabel_genuine_accuracy"] = ml["genuine"]["accuracy"]
  if "fid" in results:
    out.update(_fid_keys("", results["fid"]))
  if "prd" in results:
    out.update(_prd_keys("", results["prd"]))
    out["prd_k"] = results["prd"]["prd"]["k"]
  if "indep" in results:
    ind = results["indep"]
    out["indep_cas_accuracy"] = ind["generated"]["accuracy"]
    out["indep_real_test_accuracy"] = ind["real_test"]["accuracy"]
    out.update(_fid_keys("indep_", ind))
    out.update(_prd_keys("indep_", ind))
  if "strokes" in results:
    st = results["strokes"]
    out.update(
        strokes_components=st["generated"]["components"]["mean"],
        strokes_components_real=st["real_test"]["components"]["mean"],
        strokes_speckle=st["generated"]["speckle"]["mean"],
        strokes_speckle_real=st["real_test"]["speckle"]["mean"],
        strokes_ink_ratio=(st["generated"]["ink"]["mean"] /
                           max(st["real_test"]["ink"]["mean"], 1e-9)),
        strokes_components_w1=st["components_w1"],
        strokes_components_w1_real_vs_real=st["components_w1_real_vs_real"])
  if "copies" in results:
    cp = results["copies"]
    out.update(copies_share=cp["share_generated"],
               copies_share_real_train=cp["share_real_train"],
               copies_nearest=cp["generated"]["median"],
               copies_nearest_real_train=cp["real_train_loo"]["median"])
    if "real_test" in cp:
      out["copies_nearest_real_test"] = cp["real_test"]["median"]
  out["disagreements"] = disagreements(out)
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


def _yes(v) -> str:
  return "-" if v is None else ("yes" if v else "**no**")


def _postprocess_note(report: dict) -> str:
  mode, setting = report["postprocess"], report.get("postprocess_setting")
  why = {"binarize": "thresholded at 0.5 to binary ink, the form of the "
                     "real data", "uint8": "rounded to 256 grey levels, "
                                           "as a PNG file stores them",
         "none": "the generator's raw output in [0, 1]",
         "otsu": "each image Otsu-thresholded to binary ink, the step that "
                 "makes the real images binary (the generator learnt ink "
                 "coverage, config.data.ink='coverage')"}.get(mode, "")
  src = ""
  if setting == "auto":
    src = (" (`auto`: the real data is "
           + ("binary" if report.get("real_data_binary") else "not binary")
           + ")")
  return f"Generated images were scored as `{mode}`{src}: {why}."


def _floor_row(name, value, floor, note, digits=4):
  return (f"| `{name}` | {value:.{digits}g} | - | {note}; real-vs-real floor "
          f"{floor:.{digits}g} |")


def _distribution_table(f: dict, label: str) -> list:
  """FID/KID and precision/recall of one feature space, beside the floor."""
  lines = ["| "+ label + " | FID | KID ± s.e. | precision | recall |",
           "|---|---|---|---|---|"]
  has_prd = "prd" in f
  has_fid = "fid" in f

  def kid(key):
    return (f"{f[key]['kid']:.4g} ± {f[key]['kid_stderr']:.2g}"
            if has_fid else "-")

  def prd(key, which):
    return f"{f[key][which]:.3f}" if has_prd and key in f else "-"
  sz = f["sizes"]
  if has_fid:
    lines.append(f"| all real ({sz['real']}) vs all generated "
                 f"({sz['generated']}) | {f['fid']:.4g} | {kid('kid')} | - "
                 "| - |")
  lines.append(
      f"| real half ({sz['real_half_a']}) vs generated "
      f"({sz['generated_half']}) | "
      + (f"{f['fid_half']:.4g}" if has_fid else "-")
      + f" | {kid('kid_half')} | {prd('prd', 'precision')} | "
        f"{prd('prd', 'recall')} |")
  lines.append(
      f"| real half ({sz['real_half_a']}) vs real half ({sz['real_half_b']}):"
      " the floor | "
      + (f"{f['fid_real_vs_real']:.4g}" if has_fid else "-")
      + f" | {kid('kid_real_vs_real')} | "
        f"{prd('prd_real_vs_real', 'precision')} | "
        f"{prd('prd_real_vs_real', 'recall')} |")
  return lines


def write(report: dict, workdir: str, grid_real, grid_gen,
          check_examples=None, copy_examples=None) -> None:
  """Writes report.json, report.md and figures/*.png into ``workdir``.

  ``check_examples``: a few of the degraded real images of the detector's
  competence check (drawn in the report), or None. ``copy_examples``: (2, k,
  H, W) generated images nearest to a training image and those training
  images, or None."""
  figdir = os.path.join(workdir, "figures")
  os.makedirs(figdir, exist_ok=True)
  names = report["class_names"]
  ex = report["experiments"]
  info = report.get("info", {})
  md = ["# Evaluation report", ""]
  md.append(f"Generator: `{info.get('gan_workdir', 'in-process')}`, "
            f"checkpoint step {info.get('checkpoint_step', '-')}"
            + (f" ({info['generator']} generator)" if "generator" in info
               else "") + "; preset "
            f"`{report['preset']}`; seed {report['seed']}; real images per "
            f"split: {_sizes(report['real_sizes'])}. Total wall time "
            f"{report['total_wall_time_s']:.1f} s.")
  if info.get("trained_media"):
    md += ["", f"Media that trained the generator: {info['trained_media']}"
           + (f" (the medium a condition; drawn here: {info['medium']})"
              if info.get("medium_conditioning") else " (pooled)")
           + f". Real references: {info.get('data', {}).get('media', '?')}"
           " signatures."]
  md += ["", _postprocess_note(report), ""]

  k = grid_real.shape[1]
  grid = np.concatenate([grid_real, grid_gen], axis=1)
  viz.class_grid(grid, names, os.path.join(figdir, "real_vs_generated.png"),
                 title="real | generated",
                 col_labels=["real"] * k + ["generated"] * k)
  md += ["## Real | generated signatures", "",
         f"Each row: {k} real signatures of the class, then {k} generated.", "",
         "![real vs generated](figures/real_vs_generated.png)", ""]

  md += ["## Summary", ""]
  if report.get("detector_competent") is False:
    md += [f"**The real/fake detector failed its own competence check** "
           f"(balanced accuracy "
           f"{_fmt(report['detector_check_balanced_accuracy'], True)} on real "
           f"vs deliberately degraded real images, needs "
           f"{_fmt(ex['realfake']['check']['min_balanced_accuracy'], True)}): "
           "its verdict on the generator is not evidence.", ""]
  md += ["| metric | value | the original | note |", "|---|---|---|---|"]
  for key, (orig, note) in ORIGINAL.items():
    if key in report:
      pct = key != "fid" and key != "kid"
      val = _fmt(report[key], pct)
      if key == "kid":
        val += f" ± {report['kid_stderr']:.2g} (s.e.)"
      md.append(f"| `{key}` | {val} | {_fmt(orig, True)} | {note} |")
  if "detector" in report:
    chk = ex["realfake"].get("check")
    md.append(
        f"| `detector_competent` | {_yes(report['detector_competent'])} | - | "
        + (f"balanced accuracy "
           f"{_fmt(report['detector_check_balanced_accuracy'], True)} on real "
           f"vs `{chk['degradation']}`-degraded real images (needs "
           f"{_fmt(chk['min_balanced_accuracy'], True)}); detector "
           f"`{report['detector']}` at {report['detector_input_size']} px |"
           if chk else "competence check off (`config.eval.detector_check`) |"))
  if "fid" in report:
    md.append(_floor_row("fid_half", report["fid_half"],
                         report["fid_real_vs_real"],
                         "one real half vs as many generated"))
    md.append(_floor_row("kid_half", report["kid_half"],
                         report["kid_real_vs_real"], "same sizes as fid_half"))
  if "precision" in report:
    md.append(_floor_row("precision", report["precision"],
                         report["precision_real_vs_real"],
                         f"fidelity, k={report['prd_k']}, sizes of fid_half",
                         3))
    md.append(_floor_row("recall", report["recall"],
                         report["recall_real_vs_real"],
                         "diversity (a collapsed generator has low recall)",
                         3))
  if "indep_cas_accuracy" in report:
    md.append(f"| `indep_cas_accuracy` | "
              f"{_fmt(report['indep_cas_accuracy'], True)} | - | the "
              "independent network's CAS; its accuracy on the real test "
              f"split: {_fmt(report['indep_real_test_accuracy'], True)} |")
    md.append(_floor_row("indep_fid_half", report["indep_fid_half"],
                         report["indep_fid_real_vs_real"],
                         "in the independent network's features"))
    md.append(_floor_row("indep_recall", report["indep_recall"],
                         report["indep_recall_real_vs_real"],
                         "in the independent network's features", 3))
  if "strokes_components" in report:
    md.append(f"| `strokes_components` | {report['strokes_components']:.1f} "
              f"| - | ink components per image (real test: "
              f"{report['strokes_components_real']:.1f}); broken strokes "
              "make many |")
    md.append(f"| `strokes_speckle` | {report['strokes_speckle']:.3f} | - | "
              "share of ink in specks (real test: "
              f"{report['strokes_speckle_real']:.3f}) |")
  if "copies_share" in report:
    q = report["experiments"]["copies"]["threshold_quantile"]
    md.append(f"| `copies_share` | {report['copies_share']:.3f} | - | "
              "share of generated images nearer to a training image than "
              f"the nearest {q:.0%} of real training signatures are to "
              "another one (real train: "
              f"{report['copies_share_real_train']:.3f}); memorised "
              "signatures make many |")
  md.append("")
  if "indep" in ex and ("cas" in ex or "fid" in ex):
    if report["disagreements"]:
      md += ["**The suite's classifier and the independent network "
             "disagree:**", ""]
      md += [f"- {n}" for n in report["disagreements"]] + [""]
    else:
      md += ["The suite's classifier and the independent network agree "
             f"(CAS within {100 * CAS_DISAGREEMENT:.0f} points; FID at equal "
             f"sizes on the same side of {FID_FLOOR_FACTOR:g}x its floor in "
             "both, where measured).", ""]

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
    md += _realfake_section(ex["realfake"], figdir, check_examples)

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

  if "fid" in ex or "prd" in ex:
    f = dict(ex.get("fid", {}))
    f.update(ex.get("prd", {}))
    md += ["## FID, KID, precision and recall (the suite's classifier)", "",
           f"Feature space: {f['feature_space']}. FID grows as samples "
           "shrink, and precision/recall (Kynkäänniemi et al. 2019, k-NN "
           "manifolds) depend on the sample sizes too, so read each "
           "'real half vs generated' number against the real-vs-real floor "
           "below it (same sizes). Precision: the share of generated images "
           "inside the real data's manifold (fidelity); recall: the share of "
           "real images inside the generated manifold (diversity).", ""]
    md += _distribution_table(f, "suite's classifier") + [""]

  if "indep" in ex:
    md += _indep_section(ex["indep"], names, figdir)

  if "strokes" in ex:
    md += _strokes_section(ex["strokes"])

  if "copies" in ex:
    md += _copies_section(ex["copies"], figdir, copy_examples)

  md += ["## Wall time per experiment", "", "| experiment | seconds |",
         "|---|---|"]
  md += [f"| {k} | {v:.1f} |" for k, v in report["wall_time_s"].items()]
  md += [f"| total | {report['total_wall_time_s']:.1f} |", ""]

  with open(os.path.join(workdir, "report.md"), "w") as fh:
    fh.write("\n".join(md))
  with open(os.path.join(workdir, "report.json"), "w") as fh:
    json.dump(report, fh, indent=1, default=_json_default)


def _strokes_section(st: dict) -> list:
  """Stroke structure (no learned network) of generated vs real images."""
  sets = (("generated", "generated (the CAS set)"),
          ("real_test", "real test split"), ("real_train", "real train split"))
  md = ["## Stroke structure (no learned network)", "",
        "Ink components per image (8-connected), the share of the ink in "
        f"specks of at most {st['speckle_px']} px, and ink pixels per image, "
        "on the binary images the suite scores. A signature written in "
        "continuous strokes has a few components; the same layout drawn as "
        "dashes and dots has many, whatever a classifier's features say. "
        f"Images: {_sizes(st['sizes'])}.", "",
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


def _copies_section(cp: dict, figdir: str, examples) -> list:
  """Near-copies of training signatures (no learned network)."""
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
        f"Images: {_sizes(cp['sizes'])}.", "",
        "| images | median | 5% quantile | min | share below threshold |",
        "|---|---|---|---|---|"]
  for label, q, share in rows:
    md.append(f"| {label} | {q['median']:.3f} | {q['p05']:.3f} | "
              f"{q['min']:.3f} | {share:.3f} |")
  md += ["", f"The nearest training image has the generated image's class "
         f"for {cp['same_class']:.1%} of generated images.", ""]
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


def _realfake_section(rf: dict, figdir: str, check_examples) -> list:
  s = rf["sizes"]
  kind = rf["detector"]
  title = {"vgg19": "VGG19 detector (the original's)",
           "cnn": "CNN detector (the best classifier's architecture, "
                  "2 outputs)"}.get(kind, kind)
  confusion_figure(rf["confusion"], ["generated", "real"],
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
        f"Accuracy {_fmt(rf['accuracy'], True)}, **balanced accuracy** "
        f"(mean per-class recall; 50% = chance, the test set is 5:1) "
        f"**{_fmt(rf['balanced_accuracy'], True)}**.", ""]
  chk = rf.get("check")
  if chk:
    verdict = ("passed" if chk["competent"] else
               "**FAILED: its verdict on the generator is not evidence; train "
               "it longer or use another detector "
               "(`config.eval.detector`)**")
    md += [f"Competence check: the same detector, trained the same way on "
           f"the same real images, against `{chk['degradation']}`-degraded "
           f"copies of real images in place of the generated ones "
           f"(`sigjax.evaluate.degrade`), reaches a balanced accuracy of "
           f"{_fmt(chk['balanced_accuracy'], True)} (needs "
           f"{_fmt(chk['min_balanced_accuracy'], True)}): {verdict}.", ""]
    if check_examples is not None and len(check_examples):
      ex = np.asarray(check_examples)[None]
      viz.class_grid(ex, ["degraded"],
                     os.path.join(figdir, "detector_check_examples.png"),
                     title="competence check: degraded real images")
      md += ["![degraded real images](figures/detector_check_examples.png)",
             ""]
  else:
    md += ["Competence check: off (`config.eval.detector_check=none`).", ""]
  if rf["one_class"]:
    md += ["**Warning: the detector predicts one class for every test "
           "image; it did not learn, and its accuracy is only the share of "
           "that class in the test set. Train it longer "
           "(`config.eval.cnn_detector_epochs` / `detector_epochs`) or, for "
           "VGG19, from ImageNet weights (`config.eval.vgg19_weights`) "
           "before reading it.**", ""]
  md += ["![real/fake confusion](figures/realfake_confusion.png)", ""]
  md += report_table(rf["report"], ["generated", "real"]) + [""]
  return md


def _indep_section(ind: dict, names, figdir: str) -> list:
  confusion_figure(ind["generated"]["confusion"], names,
                   os.path.join(figdir, "indep_confusion_generated.png"),
                   "independent network on generated images")
  history_figure(ind["history"], os.path.join(figdir, "indep_history.png"),
                 "independent network")
  ts = ind["train_sizes"]
  md = ["## The independent network", "",
        f"{ind['architecture']}. Trained on {ind['train_data']} "
        f"({ts['images']} images"
        + (f", {ts['writers']} writers" if ts.get("writers") else "")
        + f"; {ind['train_steps']} steps, seed {ind['seed']}); it shares "
          "neither architecture nor training data with the suite's "
          "classifier. Accuracy on the real test split "
        f"{_fmt(ind['real_test']['accuracy'], True)}; on the generated images "
        f"(its CAS) {_fmt(ind['generated']['accuracy'], True)}.", "",
        f"Feature space: {ind['feature_space']}.", ""]
  md += _distribution_table(ind, "independent network") + [""]
  md += ["![independent network, generated]"
         "(figures/indep_confusion_generated.png) "
         "![independent network history](figures/indep_history.png)", ""]
  return md


def _json_default(o):
  if isinstance(o, np.generic):
    return o.item()
  if isinstance(o, np.ndarray):
    return o.tolist()
  raise TypeError(f"not JSON serializable: {type(o).__name__}")
