r"""The two rules of the resize-conv-form sweep, applied to committed results.

    python -m ablations.perf.verdict \
        --runs=ablations/results/resize_conv_form_runs_2026-12-03.csv \
        [--out=ablations/results/resize_conv_form_verdict_2026-12-03.md]

Both rules were written in docs/performance_loop.md before any of their
runs was scored:

* ``phase`` becomes ``:quality``'s resize-conv form when, over its three
  seeds, the means of the independent CAS and TSTR are at least the lowest
  of ``:quality``'s three seeds, the detector's balanced accuracy at most
  0.03 above the highest, the FID ratio to its floor (at equal sizes) at
  most 0.3 above the highest and the ink pieces per signature at most the
  highest (``QUALITY_CSV``; its FID floor is the phase runs' own
  ``fid_real_vs_real``: the same real images and features).
* ``phase_bf16`` equals fp32 when, for suite CAS, independent CAS, the FID
  ratio and the detector, the difference of its three-seed mean from
  ``phase``'s is at most twice the difference's standard error,
  2 sqrt(s_a^2/n_a + s_b^2/n_b) (sample standard deviations over seeds).

A rule with fewer than three seeds on either side is reported as pending,
never as passed.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import statistics
import sys
from typing import Optional, Sequence

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
QUALITY_CSV = os.path.join("ablations", "results",
                           "quality_2500_seeds_2026-11-30.csv")
SEEDS = 3


@dataclasses.dataclass
class Clause:
  measure: str
  value: float           # the candidate's mean
  bound: float           # the limit it is held to
  higher_is_better: bool
  seeds: int             # the candidate's seeds (the reference's for bf16)
  detail: str = ""

  @property
  def passed(self) -> bool:
    return (self.value >= self.bound if self.higher_is_better
            else self.value <= self.bound)


def read_rows(path: str) -> list[dict[str, str]]:
  with open(path, encoding="utf-8") as f:
    return list(csv.DictReader(f))


def seed_values(rows, variant: str, key: str) -> list[float]:
  """``key`` for every numbered seed of ``variant`` (blank cells skipped)."""
  return [float(r[key]) for r in rows
          if r["variant"] == variant and r["seed"].isdigit()
          and r.get(key, "") not in ("", "nan")]


def fid_ratios(rows, variant: str, floor: Optional[float] = None):
  """FID at equal sizes over its real-vs-real floor, per seed (the row's own
  floor unless ``floor`` is given)."""
  out = []
  for r in rows:
    if r["variant"] == variant and r["seed"].isdigit() and r.get("fid_half"):
      f = floor if floor is not None else float(r["fid_real_vs_real"])
      out.append(float(r["fid_half"]) / f)
  return out


# The FID ratio's name in the rules' specs: not a CSV column, but
# ``fid_ratios`` of two.
FID_RATIO = "fid_half / fid_real_vs_real"


def series(rows, variant: str, key: str, floor: Optional[float] = None):
  """Per-seed values of ``key`` (a CSV column or ``FID_RATIO``)."""
  if key == FID_RATIO:
    return fid_ratios(rows, variant, floor)
  return seed_values(rows, variant, key)


def phase_clauses(runs, quality) -> list[Clause]:
  """The rule for ``:quality`` taking the phase form."""
  floors = [float(r["fid_real_vs_real"]) for r in runs
            if r["variant"] == "phase" and r.get("fid_real_vs_real")]
  floor = statistics.mean(floors)
  spec = [
      ("independent CAS", "indep_cas_accuracy", True, 0.0),
      ("TSTR", "tstr_accuracy", True, 0.0),
      ("detector balanced accuracy", "realfake_balanced_accuracy", False,
       0.03),
      ("FID at equal sizes / floor", FID_RATIO, False, 0.3),
      ("ink pieces per signature", "strokes_components", False, 0.0),
  ]
  out = []
  for label, key, higher, slack in spec:
    cand = series(runs, "phase", key, floor)
    ref = series(quality, "quality_step2500", key, floor)
    bound = min(ref) if higher else max(ref) + slack
    out.append(Clause(label, statistics.mean(cand), bound, higher, len(cand),
                      "`:quality` seeds: " + " / ".join(
                          f"{v:.3f}" for v in ref)))
  return out


def bf16_clauses(runs) -> list[Clause]:
  """The rule for bf16 equalling fp32 (both in the phase form)."""
  spec = [("suite CAS", "cas_accuracy"),
          ("independent CAS", "indep_cas_accuracy"),
          ("FID at equal sizes / floor", FID_RATIO),
          ("detector balanced accuracy", "realfake_balanced_accuracy")]
  out = []
  for label, key in spec:
    a, b = series(runs, "phase_bf16", key), series(runs, "phase", key)
    n = min(len(a), len(b))
    if n < 2:
      out.append(Clause(label, math.nan, math.nan, False, n))
      continue
    se = math.sqrt(statistics.variance(a) / len(a)
                   + statistics.variance(b) / len(b))
    diff = abs(statistics.mean(a) - statistics.mean(b))
    out.append(Clause(
        label, diff, 2 * se, False, n,
        f"bf16 {statistics.mean(a):.3f} ± {statistics.stdev(a):.3f}, "
        f"fp32 {statistics.mean(b):.3f} ± {statistics.stdev(b):.3f}"))
  return out


def verdict(clauses: Sequence[Clause]) -> str:
  if any(c.seeds < SEEDS for c in clauses):
    return "pending (fewer than three seeds)"
  return "passes" if all(c.passed for c in clauses) else "fails"


def render(runs_path: str) -> str:
  runs = read_rows(runs_path)
  quality = read_rows(os.path.join(REPO, QUALITY_CSV))
  lines = ["# Verdicts of the resize-conv-form sweep", "",
           f"From `{os.path.relpath(runs_path, REPO)}` and "
           f"`{QUALITY_CSV}` by `python -m ablations.perf.verdict`; the "
           "rules: docs/performance_loop.md (written before the runs).", ""]
  phase = phase_clauses(runs, quality)
  lines += ["## `:quality` takes the phase form: "
            + verdict(phase), "",
            "| measure | phase, mean over seeds | bound | seeds | passes | "
            "reference |", "|---|---|---|---|---|---|"]
  for c in phase:
    sign = ">=" if c.higher_is_better else "<="
    lines.append(f"| {c.measure} | {c.value:.3f} | {sign} {c.bound:.3f} | "
                 f"{c.seeds} | {'yes' if c.passed else 'no'} | {c.detail} |")
  bf16 = bf16_clauses(runs)
  lines += ["", "## bf16 equals fp32 (phase form): " + verdict(bf16), "",
            "| measure | difference of means | 2 x its standard error | "
            "seeds | passes | means ± std |", "|---|---|---|---|---|---|"]
  for c in bf16:
    if math.isnan(c.value):
      lines.append(f"| {c.measure} | | | {c.seeds} | | |")
      continue
    lines.append(f"| {c.measure} | {c.value:.3f} | {c.bound:.3f} | "
                 f"{c.seeds} | {'yes' if c.passed else 'no'} | {c.detail} |")
  return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> int:
  import argparse  # pylint: disable=g-import-not-at-top
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--runs", required=True, help="the sweep's runs CSV")
  p.add_argument("--out", default="", help="also write the verdict here")
  a = p.parse_args(argv)
  if not os.path.isfile(a.runs):
    print(f"error: --runs={a.runs}: no such file", file=sys.stderr)
    return 2
  text = render(os.path.abspath(a.runs))
  print(text, end="")
  if a.out:
    with open(a.out, "w", encoding="utf-8") as f:
      f.write(text)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
