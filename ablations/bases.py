r"""A sweep's base config, stated completely, and its committed snapshot.

A sweep file builds its base as overrides on ``configs/cgan.py:paper`` (the
2019 setting, which never changes) instead of on a live preset such as
``:quality``, which changes when a study adopts something: a sweep rerun
later then trains what it trained when its results were written. Beside each
committed sweep file lies ``<sweep>.base.json``, the resolved base at the
time of its runs; tests/test_ablations.py checks that planning the sweep
still reproduces it. After a deliberate change of a sweep's base (or a new
sweep), rewrite its snapshot with

    python -m ablations.bases ablations/<study>/<sweep>.py [...]
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from typing import Any

import ml_collections


def on_paper(overrides: dict[str, Any]) -> ml_collections.ConfigDict:
  """``configs/cgan.py:paper`` with dotted ``overrides`` set.

  Every field must exist (a typo raises ``KeyError`` naming it), so the
  overrides are the whole difference between the sweep's base and the 2019
  setting.
  """
  from configs import cgan  # pylint: disable=import-outside-toplevel
  config = cgan.get_config("paper")
  for dotted, value in overrides.items():
    *path, leaf = dotted.split(".")
    node = config
    for part in path:
      node = node[part]
    if leaf not in node:
      raise KeyError(f"on_paper: no config field {dotted!r}")
    setattr(node, leaf, value)
  return config


def as_plain(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """``config`` as JSON would store it (tuples become lists)."""
  return json.loads(json.dumps(config.to_dict(), sort_keys=True))


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
  """``{'a': {'b': 1}}`` -> ``{'a.b': 1}``."""
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      out.update(flatten(value, f"{prefix}{key}."))
    else:
      out[f"{prefix}{key}"] = value
  return out


def snapshot_path(sweep_path: str) -> str:
  """``ablations/s/x.py`` -> ``ablations/s/x.base.json``."""
  return os.path.splitext(sweep_path)[0] + ".base.json"


def load_sweep_module(path: str):
  """Imports a sweep file by path (as ``ablations/run.py`` does)."""
  name = "sweep_" + os.path.splitext(os.path.basename(path))[0]
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def write_snapshot(sweep_path: str) -> str:
  """Writes the resolved base of ``sweep_path`` beside it; returns the path."""
  base = load_sweep_module(sweep_path).get_sweep()["base"]
  out = snapshot_path(sweep_path)
  with open(out, "w", encoding="utf-8") as f:
    json.dump(as_plain(base), f, indent=1, sort_keys=True)
    f.write("\n")
  return out


if __name__ == "__main__":
  for arg in sys.argv[1:]:
    print(write_snapshot(arg))
