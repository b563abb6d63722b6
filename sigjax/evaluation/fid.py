"""FID and KID (+ its standard error) in the CAS classifier's 512-d feature
space, with ``fid_real_vs_real`` / ``kid_real_vs_real`` (two disjoint,
class-stratified halves of the real data) as the floor and ``fid_half`` /
``kid_half`` (one real half vs as many generated images) to read against it
at the same sample sizes.

report.json: ``fid``, ``fid_real_vs_real``, ``fid_half``, ``kid``,
``kid_std``, ``kid_stderr``, ``kid_half``, ``kid_real_vs_real``.
"""

from __future__ import annotations

from sigjax.evaluation import base
from sigjax.evaluation import distribution
from sigjax.evaluation import render

ORIGINAL = {
    "fid": (None, "not measured by the original"),
    "kid": (None, "not measured by the original"),
}


def run(ctx) -> dict:
  return distribution.suite_features(ctx, ("fid",))


def summarize(result: dict) -> dict:
  return distribution.fid_keys("", result)


def original_rows(report: dict) -> list:
  (fid, fid_note), (kid, kid_note) = ORIGINAL["fid"], ORIGINAL["kid"]
  return [render.original_row(report, "fid", fid, fid_note, pct=False),
          render.original_row(
              report, "kid", kid, kid_note, pct=False,
              extra=f" ± {report['kid_stderr']:.2g} (s.e.)")]


def summary_rows(report: dict) -> list:
  return [render.floor_row("fid_half", report["fid_half"],
                           report["fid_real_vs_real"],
                           "one real half vs as many generated"),
          render.floor_row("kid_half", report["kid_half"],
                           report["kid_real_vs_real"],
                           "same sizes as fid_half")]


def section(report: dict, unused_figdir, unused_artifacts) -> list:
  return distribution.suite_section(report)  # with prd's numbers, if any


EXPERIMENT = base.Experiment(
    name="fid", run=run, summarize=summarize, section=section,
    needs=("cas",), needs_why="its feature space is the CAS classifier's",
    original_rows=original_rows, summary_rows=summary_rows)
