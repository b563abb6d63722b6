"""The resize-conv-form sweep's two rules (ablations/perf/verdict.py) on
made-up runs: each clause can pass and fail, and fewer than three seeds is
pending, never a pass. Reads no data and trains nothing."""

import csv

import pytest

from ablations.perf import verdict

FIELDS = ["variant", "seed", "cas_accuracy", "indep_cas_accuracy",
          "tstr_accuracy", "fid_half", "fid_real_vs_real",
          "realfake_balanced_accuracy", "strokes_components"]


def row(variant, seed, cas=0.92, indep=0.80, tstr=0.86, fid=4.0, det=0.67,
        pieces=9.0):
  return dict(variant=variant, seed=str(seed), cas_accuracy=cas,
              indep_cas_accuracy=indep, tstr_accuracy=tstr, fid_half=fid,
              fid_real_vs_real=2.5, realfake_balanced_accuracy=det,
              strokes_components=pieces)


QUALITY = [
    {"variant": "quality_step2500", "seed": str(s),
     "indep_cas_accuracy": i, "tstr_accuracy": t, "fid_half": f,
     "realfake_balanced_accuracy": d, "strokes_components": p}
    for s, i, t, f, d, p in [(0, 0.80, 0.86, 4.8, 0.69, 9.6),
                             (1, 0.79, 0.85, 4.7, 0.66, 8.8),
                             (2, 0.79, 0.85, 3.3, 0.67, 9.8)]] + [
    {"variant": "quality_step2500", "seed": "mean", "indep_cas_accuracy": ""}]


def by_measure(clauses):
  return {c.measure: c for c in clauses}


def test_phase_rule_holds_each_measure_to_quality_seeds():
  runs = [row("phase", s) for s in range(3)]
  clauses = by_measure(verdict.phase_clauses(runs, QUALITY))
  assert verdict.verdict(clauses.values()) == "passes"
  assert clauses["independent CAS"].bound == pytest.approx(0.79)
  assert clauses["detector balanced accuracy"].bound == pytest.approx(0.72)
  # FID ratios of the reference use the candidate runs' floor (2.5).
  assert clauses["FID at equal sizes / floor"].bound == pytest.approx(
      4.8 / 2.5 + 0.3)
  # One measure over its bound fails the whole rule.
  runs[0]["strokes_components"] = 12.0
  clauses = by_measure(verdict.phase_clauses(runs, QUALITY))
  assert not clauses["ink pieces per signature"].passed
  assert verdict.verdict(clauses.values()) == "fails"


def test_bf16_rule_is_a_two_sample_test_of_the_means():
  fp32 = [row("phase", s, cas=c) for s, c in enumerate([0.90, 0.92, 0.94])]
  close = [row("phase_bf16", s, cas=c)
           for s, c in enumerate([0.91, 0.93, 0.95])]
  clauses = by_measure(verdict.bf16_clauses(fp32 + close))
  cas = clauses["suite CAS"]
  assert cas.value == pytest.approx(0.01)
  assert cas.bound == pytest.approx(2 * (2 * 0.02 ** 2 / 3) ** 0.5)
  assert cas.passed
  far = [row("phase_bf16", s, cas=c) for s, c in enumerate([0.80, 0.81, 0.82])]
  assert not by_measure(verdict.bf16_clauses(fp32 + far))["suite CAS"].passed


def test_fewer_than_three_seeds_is_pending(tmp_path):
  runs = [row("phase", s) for s in range(3)] + [row("phase_bf16", 0),
                                                row("phase_bf16", 1)]
  assert verdict.verdict(verdict.bf16_clauses(runs)).startswith("pending")
  assert verdict.verdict(
      verdict.phase_clauses(runs[:2], QUALITY)).startswith("pending")
  path = tmp_path / "runs.csv"
  with open(path, "w", newline="") as f:
    w = csv.DictWriter(f, FIELDS)
    w.writeheader()
    w.writerows(runs)
  text = verdict.render(str(path))
  assert "takes the phase form: passes" in text
  assert "equals fp32 (phase form): pending" in text


def test_missing_runs_file_is_named(tmp_path, capsys):
  assert verdict.main([f"--runs={tmp_path}/nope.csv"]) == 2
  assert "nope.csv" in capsys.readouterr().err
