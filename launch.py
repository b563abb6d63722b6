r"""sigjax entry point: ``python launch.py --config=configs/<job>.py[:preset]``.

The config's ``job`` field picks what runs in ``--workdir``:
train (configs/cgan.py), preview (configs/data_preview.py),
evaluate (configs/evaluate.py), generate (configs/generate.py).
Any field can be overridden: ``--config.train.steps=200``.
"""

import importlib
import os
import sys

# Quieter TensorFlow start-up (it is only the input pipeline here).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/cgan.py", "Job config file, optionally file.py:preset.",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Where the job writes.")

JOBS = {
    "train": "sigjax.train",
    "preview": "sigjax.preview",
    "evaluate": "sigjax.evaluate",
    "generate": "sigjax.generate",
}

# Errors that mean "the user's input is unusable": reported in one line,
# exit code 2, no traceback.
_USER_ERRORS = ("DataError", "CheckpointError", "ConfigError",
                "NonFiniteLossError", "WeightsError", "EvaluationError")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  config = _CONFIG.value
  workdir = _WORKDIR.value
  if not workdir:
    raise app.UsageError("--workdir is required (where the job writes).")
  if config.job not in JOBS:
    raise app.UsageError(
        f"config.job={config.job!r} is not one of {sorted(JOBS)}.")
  # Prefer the project's package over any installed copy.
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
  module = importlib.import_module(JOBS[config.job])
  try:
    module.run(config, workdir)
  except Exception as e:  # pylint: disable=broad-except
    if type(e).__name__ in _USER_ERRORS or isinstance(e, (FileNotFoundError,)):
      logging.error("%s: %s", type(e).__name__, e)
      print(f"error: {e}", file=sys.stderr)
      sys.exit(2)
    raise


if __name__ == "__main__":
  app.run(main)
