"""Improved precision and recall (Kynkaanniemi et al. 2019, k =
``config.eval.prd_k``) in the CAS classifier's feature space, at the sizes
of ``fid_half``, with their real-vs-real floor.

report.json: ``precision``, ``recall``, ``precision_real_vs_real``,
``recall_real_vs_real``, ``prd_k``.
"""

from __future__ import annotations

from sigjax.evaluation import base
from sigjax.evaluation import distribution
from sigjax.evaluation import render


def run(ctx) -> dict:
  return distribution.suite_features(ctx, ("prd",))


def summarize(result: dict) -> dict:
  return {**distribution.prd_keys("", result), "prd_k": result["prd"]["k"]}


def summary_rows(report: dict) -> list:
  return [render.floor_row("precision", report["precision"],
                           report["precision_real_vs_real"],
                           f"fidelity, k={report['prd_k']}, sizes of "
                           "fid_half", 3),
          render.floor_row("recall", report["recall"],
                           report["recall_real_vs_real"],
                           "diversity (a collapsed generator has low recall)",
                           3)]


def section(report: dict, unused_figdir, unused_artifacts) -> list:
  if "fid" in report["experiments"]:
    return []  # fid's section shows both
  return distribution.suite_section(report)


EXPERIMENT = base.Experiment(
    name="prd", run=run, summarize=summarize, section=section,
    needs=("cas",), needs_why="its feature space is the CAS classifier's",
    summary_rows=summary_rows)
