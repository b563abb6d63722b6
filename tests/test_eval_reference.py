"""The evaluation suite's report on a fixed small run matches the committed
reference (tests/data/eval_reference/), number for number.

The run: ``configs/cgan.py:test`` trained from scratch (4 steps, 16x16
images, 3 classes, seed 0), then evaluated with ``configs/evaluate.py:test``
and every experiment that preset enables. Both are deterministic on CPU, so
report.json must equal the reference bitwise except for the wall times and
the temporary directory's path; report.md must equal it except for those.
A refactor of the suite that changes any number, key, key order or line of
the report fails here.

The reference was written by the suite as it stood before it became a
registry of experiments (2026-12-03, on a 2-vCPU AMD EPYC Zen 4 host,
AVX-512). XLA's CPU code follows the host's instruction set, so another
host may differ in the last bits; compare there against a reference
written by an unchanged checkout first. Rewrite it only for an intended
change of the report:

    SIGJAX_WRITE_EVAL_REFERENCE=1 python -m pytest -n 0 \
        tests/test_eval_reference.py
"""

import difflib
import json
import math
import os
import re
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from configs import cgan as cgan_configs
from configs import evaluate as eval_configs
from sigjax import evaluate
from sigjax import train_loop

REFERENCE = Path(__file__).resolve().parent / "data" / "eval_reference"
WRITE = os.environ.get("SIGJAX_WRITE_EVAL_REFERENCE") == "1"
EXACT = WRITE or os.environ.get("SIGJAX_EVAL_REFERENCE_EXACT") == "1"
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
# Measured durations: the only values that may differ between two runs.
WALL_TIME_KEYS = ("wall_time_s", "total_wall_time_s")
TMP = "<tmp>"


def _normalise(obj, root: str):
  """``obj`` without wall times and with ``root`` (the temporary directory)
  spelled as <tmp>; everything else, key order included, as it is."""
  if isinstance(obj, dict):
    return {k: _normalise(v, root) for k, v in obj.items()
            if k not in WALL_TIME_KEYS}
  if isinstance(obj, list):
    return [_normalise(v, root) for v in obj]
  if isinstance(obj, str):
    return obj.replace(root, TMP)
  return obj


def normalised_json(path: Path, root: str) -> str:
  """report.json as canonical text: floats as Python writes them (exact:
  repr round-trips), keys in the report's order."""
  report = json.loads(path.read_text())
  return json.dumps(_normalise(report, root), indent=1) + "\n"


def normalised_md(path: Path, root: str) -> str:
  """report.md with the temporary directory and the timings masked."""
  md = path.read_text().replace(root, TMP)
  md = re.sub(r"Total wall time [0-9.]+ s\.", "Total wall time <s> s.", md)
  return re.sub(r"^\| (\w+) \| [0-9.]+ \|$", r"| \1 | <s> |", md,
                flags=re.MULTILINE)


def mask_numbers(text: str) -> str:
  return _NUMBER.sub("#", text)


def assert_close_tree(want, got, path="report"):
  """Same structure (keys in order, types, strings, flags); numbers within
  a few percent (see the module docstring)."""
  if isinstance(want, dict):
    assert isinstance(got, dict), path
    assert list(got) == list(want), f"{path}: keys {list(got)} != {list(want)}"
    for k in want:
      assert_close_tree(want[k], got[k], f"{path}.{k}")
  elif isinstance(want, list):
    assert isinstance(got, list) and len(got) == len(want), path
    for i, (a, b) in enumerate(zip(want, got)):
      assert_close_tree(a, b, f"{path}[{i}]")
  elif isinstance(want, bool) or want is None or isinstance(want, str):
    assert got == want, f"{path}: {got!r} != {want!r}"
  else:
    assert isinstance(got, (int, float)) and not isinstance(got, bool), path
    assert (math.isnan(want) and math.isnan(got)) or math.isclose(
        got, want, rel_tol=0.05, abs_tol=0.05), f"{path}: {got} != {want}"


def _diff(want: str, got: str, name: str) -> str:
  return "".join(difflib.unified_diff(
      want.splitlines(True), got.splitlines(True), f"reference/{name}",
      f"this run/{name}", n=2))


def test_report_of_a_fixed_small_run_matches_the_reference(tmp_path):
  run_dir, out = tmp_path / "run", tmp_path / "eval"
  train_loop.run(cgan_configs.get_config("test"), str(run_dir))
  config = eval_configs.get_config("test")
  config.gan_workdir = str(run_dir)
  # No fit kept from another test in this process: fit_reused is reported.
  evaluate.default_cache().clear()
  report = evaluate.run(config, str(out))
  assert set(report["wall_time_s"]) == set(evaluate.EXPERIMENTS)
  got = {"report.json": normalised_json(out / "report.json", str(tmp_path)),
         "report.md": normalised_md(out / "report.md", str(tmp_path))}
  if WRITE:
    REFERENCE.mkdir(parents=True, exist_ok=True)
    for name, text in got.items():
      (REFERENCE / name).write_text(text)
  want_md = (REFERENCE / "report.md").read_text()
  want_json = (REFERENCE / "report.json").read_text()
  if EXACT:
    for name, want in (("report.json", want_json), ("report.md", want_md)):
      assert got[name] == want, _diff(want, got[name], name)
  else:
    assert mask_numbers(got["report.md"]) == mask_numbers(want_md), _diff(
        mask_numbers(want_md), mask_numbers(got["report.md"]), "report.md")
    assert_close_tree(json.loads(want_json), json.loads(got["report.json"]))
  want = json.loads(want_json)
  assert math.isclose(want["cas_accuracy"], report["cas_accuracy"],
                      abs_tol=0.05)
  assert TMP + "/run" in want["info"]["gan_workdir"]
