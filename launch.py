r"""sigjax entry point: ``python launch.py --config=configs/<job>.py[:preset]``.

The config's ``job`` field picks what runs in ``--workdir``:
train (configs/cgan.py), preview (configs/data_preview.py),
evaluate (configs/evaluate.py), generate (configs/generate.py).
Any field can be overridden: ``--config.train.steps=200``.

The console shows the job's progress and sigjax's own messages; every log
line (Orbax, TensorFlow, absl included) goes to ``<workdir>/<job>.log``.
``-v`` (``--verbosity=1``) shows those library lines on the console again.
A user error (bad data, a workdir of another run, ...) is one ``error:``
line and exit code 2.
"""

import importlib
import os
import sys

_REPO = os.path.dirname(os.path.abspath(__file__))
# Prefer the project's package over any installed copy.
sys.path.insert(0, _REPO)

from sigjax import console  # pylint: disable=g-import-not-at-top

_ARGV = console.expand_verbose_flag(sys.argv)
# TensorFlow (only the input pipeline here) prints its C++ INFO/WARNING
# lines unless told otherwise before it is imported; -v keeps them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL",
                      "0" if console.argv_verbosity(_ARGV) >= 1 else "2")

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/cgan.py", "Job config file, optionally file.py:preset.",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Where the job writes.")

JOBS = {
    "train": "sigjax.train_loop",
    "preview": "sigjax.preview",
    "evaluate": "sigjax.evaluate",
    "generate": "sigjax.generate",
}

# Errors that mean "the user's input is unusable": reported in one line,
# exit code 2, no traceback (subclasses count, e.g. WorkdirMismatchError is
# a CheckpointError).
_USER_ERRORS = ("DataError", "CheckpointError", "ConfigError",
                "NonFiniteLossError", "WeightsError", "EvaluationError")


def is_user_error(e: BaseException) -> bool:
  return isinstance(e, FileNotFoundError) or any(
      c.__name__ in _USER_ERRORS for c in type(e).__mro__)


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
  log_path = console.setup(workdir, config.job)
  logging.info("%s job (preset %s) in %s; full log: %s", config.job,
               config.get("preset", "-"), os.path.abspath(workdir), log_path)
  module = importlib.import_module(JOBS[config.job])
  try:
    module.run(config, workdir)
  except Exception as e:  # pylint: disable=broad-except
    if is_user_error(e):
      logging.error("%s: %s", type(e).__name__, e, extra=console.FILE_ONLY)
      print(f"error: {e}", file=sys.stderr)
      sys.exit(2)
    logging.exception("%s: %s", type(e).__name__, e, extra=console.FILE_ONLY)
    raise


if __name__ == "__main__":
  app.run(main, argv=_ARGV)
