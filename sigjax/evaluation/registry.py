"""The experiments of the evaluation suite, in the order they run and
appear in the report. To add one: write its module (``base.Experiment``)
and list it here, after the experiments it needs."""

from __future__ import annotations

from sigjax.evaluation import cas
from sigjax.evaluation import copies
from sigjax.evaluation import fid
from sigjax.evaluation import indep
from sigjax.evaluation import multilabel
from sigjax.evaluation import prd
from sigjax.evaluation import realfake
from sigjax.evaluation import strokes
from sigjax.evaluation import tstr
from sigjax.evaluation.base import EvaluationError

EXPERIMENTS = tuple(m.EXPERIMENT for m in (
    cas, tstr, realfake, multilabel, fid, prd, indep, strokes, copies))
NAMES = tuple(x.name for x in EXPERIMENTS)


def check(experiments) -> None:
  """Names are unique, and every experiment comes after those it needs
  (they run first)."""
  names = [x.name for x in experiments]
  if len(set(names)) != len(names):
    raise ValueError(f"experiment names repeat: {names}")
  for i, x in enumerate(experiments):
    for need in x.needs:
      if need not in names[:i]:
        raise ValueError(f"experiment {x.name} needs {need}, which is not "
                         "registered before it")


check(EXPERIMENTS)


def parse(text: str) -> list:
  """config.eval.experiments -> the experiment names, checked."""
  wanted = [s.strip() for s in str(text).split(",") if s.strip()]
  names = tuple(x.name for x in EXPERIMENTS)
  unknown = set(wanted) - set(names)
  if unknown:
    raise EvaluationError(f"config.eval.experiments: unknown {sorted(unknown)};"
                          f" choose from {names}")
  for x in EXPERIMENTS:
    for need in x.needs:
      if x.name in wanted and need not in wanted:
        raise EvaluationError(f"config.eval.experiments: {x.name} needs "
                              f"{need} ({x.needs_why})")
  return wanted


def selected(wanted) -> list:
  """The ``wanted`` experiments, in the registry's order."""
  return [x for x in EXPERIMENTS if x.name in wanted]
