"""report.json, report.md and the figures of the evaluation suite: the
names this module held before each experiment rendered its own section.

The report is ``sigjax.evaluation.report`` (summary keys, the report around
the experiments' parts); the shared figures and markdown pieces are
``sigjax.evaluation.render``; each experiment's section is in its module.
"""

from __future__ import annotations

from sigjax.evaluation import report as _report
from sigjax.evaluation.indep import CAS_DISAGREEMENT
from sigjax.evaluation.indep import disagreements
from sigjax.evaluation.indep import FID_FLOOR_FACTOR
from sigjax.evaluation.render import confusion_figure
from sigjax.evaluation.render import history_figure
from sigjax.evaluation.render import report_table
from sigjax.evaluation.report import summarize

__all__ = ["CAS_DISAGREEMENT", "FID_FLOOR_FACTOR", "confusion_figure",
           "disagreements", "history_figure", "report_table", "summarize",
           "write"]


def write(report: dict, workdir: str, grid_real, grid_gen,
          check_examples=None, copy_examples=None) -> None:
  """``sigjax.evaluation.report.write`` with the example images of the
  detector's competence check and of the nearest copies as arguments."""
  artifacts = {"realfake": {"check_examples": check_examples},
               "copies": {"examples": copy_examples}}
  _report.write(report, workdir, grid_real, grid_gen, artifacts)
