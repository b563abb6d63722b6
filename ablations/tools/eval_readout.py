r"""Evaluates one training run with its trained (non-EMA) generator weights.

    python -m ablations.tools.eval_readout RUN OUT [experiments]

A run's EMA generator is only a read-out of training (it does not change
what G and D learn), so the same run can be scored twice: by the ablation
runner with its EMA generator and by this script with the trained weights.
Uses the ``cpu`` evaluation preset; ``experiments`` defaults to cas,fid,prd.
"""

import sys


def main(argv):
  from configs import evaluate as eval_config  # pylint: disable=g-import-not-at-top
  from sigjax import evaluate  # pylint: disable=g-import-not-at-top
  from sigjax import inference  # pylint: disable=g-import-not-at-top
  run_dir, out = argv[1], argv[2]
  config = eval_config.get_config("cpu")
  config.gan_workdir = run_dir
  config.eval.experiments = argv[3] if len(argv) > 3 else "cas,fid,prd"
  load = inference.load_generator
  inference.load_generator = lambda *a, **k: load(*a, **{**k, "ema": False})
  try:
    report = evaluate.run(config, out)
  finally:
    inference.load_generator = load
  keys = ("cas_accuracy", "fid", "fid_half", "fid_real_vs_real", "kid",
          "precision", "recall")
  print({k: report.get(k) for k in keys})


if __name__ == "__main__":
  main(sys.argv)
