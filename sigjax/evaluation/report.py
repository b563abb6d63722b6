"""report.json, report.md and the PNG figures of the evaluation suite.

``summarize(results)`` lifts each experiment's headline numbers to the
report's top level (``cas_accuracy``, ``fid``, ...); ``write`` renders the
report around the experiments' own parts (``base.Experiment``): the opening
grid of real and generated signatures, the summary table, each
experiment's section and the wall times.
"""

from __future__ import annotations

import json
import os

import numpy as np

from sigjax import viz
from sigjax.evaluation import indep
from sigjax.evaluation import registry
from sigjax.evaluation import render


def summarize(results: dict) -> dict:
  """The top-level report keys from the per-experiment results."""
  out = {}
  for x in registry.selected(results):
    out.update(x.summarize(results[x.name]))
  out["disagreements"] = indep.disagreements(out)
  return out


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


def _head(report: dict) -> list:
  info = report.get("info", {})
  md = ["# Evaluation report", "",
        f"Generator: `{info.get('gan_workdir', 'in-process')}`, "
        f"checkpoint step {info.get('checkpoint_step', '-')}"
        + (f" ({info['generator']} generator)" if "generator" in info
           else "") + "; preset "
        f"`{report['preset']}`; seed {report['seed']}; real images per "
        f"split: {render.sizes(report['real_sizes'])}. Total wall time "
        f"{report['total_wall_time_s']:.1f} s."]
  if info.get("trained_media"):
    md += ["", f"Media that trained the generator: {info['trained_media']}"
           + (f" (the medium a condition; drawn here: {info['medium']})"
              if info.get("medium_conditioning") else " (pooled)")
           + f". Real references: {info.get('data', {}).get('media', '?')}"
           " signatures."]
  g_size, j_size = info.get("generator_size"), info.get("judged_size")
  if g_size and j_size and g_size != j_size:
    md += ["", f"Judged at {j_size}x{j_size}: the generator's {g_size}x"
           f"{g_size} images area-averaged down before the postprocessing, "
           f"against real signatures read at {j_size}x{j_size} "
           "(config.eval.image_size)."]
  return md + ["", _postprocess_note(report), ""]


def _grid(names, figdir: str, grid_real, grid_gen) -> list:
  """The opening figure: each class's real signatures, then generated."""
  k = grid_real.shape[1]
  grid = np.concatenate([grid_real, grid_gen], axis=1)
  viz.class_grid(grid, names, os.path.join(figdir, "real_vs_generated.png"),
                 title="real | generated",
                 col_labels=["real"] * k + ["generated"] * k)
  return ["## Real | generated signatures", "",
          f"Each row: {k} real signatures of the class, then {k} generated.",
          "", "![real vs generated](figures/real_vs_generated.png)", ""]


def _summary(report: dict, experiments) -> list:
  """Warnings, the table (the numbers the original reported first, beside
  its values, then the rest) and the notes below it."""
  md = ["## Summary", ""]
  for x in experiments:
    md += x.warning(report)
  md += ["| metric | value | the original | note |", "|---|---|---|---|"]
  for x in experiments:
    md += x.original_rows(report)
  for x in experiments:
    md += x.summary_rows(report)
  md.append("")
  for x in experiments:
    md += x.notes(report)
  return md


def _wall_times(report: dict) -> list:
  md = ["## Wall time per experiment", "", "| experiment | seconds |",
        "|---|---|"]
  md += [f"| {k} | {v:.1f} |" for k, v in report["wall_time_s"].items()]
  return md + [f"| total | {report['total_wall_time_s']:.1f} |", ""]


def write(report: dict, workdir: str, grid_real, grid_gen,
          artifacts=None) -> None:
  """Writes report.json, report.md and figures/*.png into ``workdir``.

  ``grid_real``, ``grid_gen``: (C, k, H, W, 1) real and generated images per
  class for the opening figure; ``artifacts``: the experiments'
  ``Context.artifacts`` (example images their sections draw)."""
  figdir = os.path.join(workdir, "figures")
  os.makedirs(figdir, exist_ok=True)
  artifacts = artifacts or {}
  experiments = registry.selected(report["experiments"])
  md = _head(report)
  md += _grid(report["class_names"], figdir, grid_real, grid_gen)
  md += _summary(report, experiments)
  for x in experiments:
    md += x.section(report, figdir, artifacts.get(x.name, {}))
  md += _wall_times(report)
  with open(os.path.join(workdir, "report.md"), "w") as fh:
    fh.write("\n".join(md))
  with open(os.path.join(workdir, "report.json"), "w") as fh:
    json.dump(report, fh, indent=1, default=render.json_default)
