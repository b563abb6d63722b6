r"""D's overfitting probe over training, for every run of a sweep.

    python -m ablations.tools.probe_curves --workdir=SWEEP_OUT \
        [--out=probe.csv] [--every=250]

Reads ``<variant>/seed_<s>/train/metrics.jsonl`` under the sweep's output
folder and writes one CSV row per run and logged step (every ``--every``
steps): D's accuracy and mean logit on its training reals and on held-out
(validation) reals (``sigjax.train_loop.OverfitProbe``), their gaps, and
each run's onset of memorising (``sigjax.train_loop.overfit_onset``),
also printed.
"""

import csv
import glob
import os
import sys

from absl import app
from absl import flags

from sigjax import train_loop

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A sweep's output folder.")
flags.DEFINE_string("out", "", "CSV to write ('' = stdout).")
flags.DEFINE_integer("every", 250, "Keep logged steps that are multiples.")

FIELDS = ("variant", "seed", "step", "d_train_acc", "d_val_acc", "acc_gap",
          "d_train_logit", "d_val_logit", "logit_gap", "onset")


def rows_of(workdir: str, every: int) -> list:
  out = []
  for train in sorted(glob.glob(os.path.join(workdir, "*", "seed_*",
                                             "train"))):
    variant = os.path.basename(os.path.dirname(os.path.dirname(train)))
    seed = os.path.basename(os.path.dirname(train))[len("seed_"):]
    metrics = train_loop.read_metrics(train)
    onset = train_loop.overfit_onset(metrics)
    for r in metrics:
      if "d_val_acc" not in r or r["step"] % every:
        continue
      out.append({
          "variant": variant, "seed": seed, "step": r["step"],
          "d_train_acc": round(r["d_train_acc"], 4),
          "d_val_acc": round(r["d_val_acc"], 4),
          "acc_gap": round(r["d_train_acc"] - r["d_val_acc"], 4),
          "d_train_logit": round(r["d_train_logit"], 4),
          "d_val_logit": round(r["d_val_logit"], 4),
          "logit_gap": round(r["d_train_logit"] - r["d_val_logit"], 4),
          "onset": "" if onset is None else onset})
  return out


def main(argv):
  del argv
  rows = rows_of(FLAGS.workdir, FLAGS.every)
  f = open(FLAGS.out, "w", newline="") if FLAGS.out else sys.stdout
  w = csv.DictWriter(f, FIELDS)
  w.writeheader()
  w.writerows(rows)
  if FLAGS.out:
    f.close()


if __name__ == "__main__":
  flags.mark_flag_as_required("workdir")
  app.run(main)
