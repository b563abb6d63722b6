"""What every experiment of the evaluation suite is made of.

An experiment is one module of ``sigjax.evaluation`` that ends with an
``EXPERIMENT = Experiment(...)``: its name (the ``config.eval.experiments``
entry and its key under report.json's ``experiments``), the experiments it
needs (run before it; it reads their ``Context.artifacts``), how it runs
(``run(ctx) -> dict``, the JSON part of its result) and how it reports (its
top-level report keys and its parts of report.md). ``registry.py`` lists the
experiments in the order they run and report. The pattern is big_vision's
evaluators (one module each, one calling convention), with the inputs they
share handed over in one ``Context`` instead of positional tuples.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

# Seeds of the generated sets and the random splits (offsets from
# config.seed); each experiment's own entry, so no two share a stream.
SEEDS = {"cas": 101, "tstr": 202, "realfake": 303, "multilabel": 404,
         "realfake_split": 505, "multilabel_split": 606, "fid_split": 707,
         "grid": 808, "detector_check": 909, "indep": 1111}


class EvaluationError(ValueError):
  """The suite cannot run on this input (named in the message)."""


def _nothing(*unused_args) -> list:
  return []


def _no_keys(unused_result) -> dict:
  return {}


@dataclasses.dataclass(frozen=True)
class Experiment:
  """One experiment of the suite.

  * ``run(ctx) -> dict``: its result (JSON-serialisable; report.json's
    ``experiments[name]``). Objects other experiments or the report need
    (a fitted classifier, example images) go to ``ctx.artifacts[name]``.
  * ``needs``: experiments that must run (and have run) before it, and
    ``needs_why``, the reason the configuration error gives.
  * ``summarize(result) -> dict``: its headline keys at report.json's top
    level.
  * Its parts of report.md, each a list of lines, given the whole report
    (``report['experiments'][name]`` is its result): ``warning`` above the
    summary table; ``original_rows``, its rows of the summary table beside
    the original project's numbers; ``summary_rows``, its further rows;
    ``notes`` below the table; and ``section(report, figdir, artifacts)``,
    its own section (figures written into ``figdir``; ``artifacts`` is its
    ``ctx.artifacts`` entry).
  """
  name: str
  run: Callable[[Any], dict]
  summarize: Callable[[dict], dict] = _no_keys
  section: Callable[[dict, str, dict], list] = _nothing
  needs: tuple = ()
  needs_why: str = ""
  warning: Callable[[dict], list] = _nothing
  original_rows: Callable[[dict], list] = _nothing
  summary_rows: Callable[[dict], list] = _nothing
  notes: Callable[[dict], list] = _nothing
