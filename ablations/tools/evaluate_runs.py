r"""Scores several training runs (seeds of one recipe) against the quality
targets of issue 11, in one process, and prints mean ± spread.

    python -m ablations.tools.evaluate_runs --workdir=OUT RUN [RUN ...] \
        [--experiments=cas,tstr,realfake,fid,prd,indep,strokes,copies] \
        [--preset=cpu] [--generator=auto|ema|raw] [--checkpoint_step=N]

Every RUN is a training workdir (e.g. one ``configs/cgan.py:quality`` run
per seed); its report goes to ``OUT/<i>_<name>`` (``name``: the run folder's
name; for a sweep's ``VARIANT/seed_S/train`` folders ``VARIANT_seed_S``) and
the summary to
``OUT/summary.json`` and ``OUT/summary.md``. ``--checkpoint_step=N`` scores
every run's step-N checkpoint instead of its newest (the reports go to
``OUT/<i>_<name>_step<N>``), e.g. the step-1500 point of a longer run. One
process evaluates all runs, so the fits that learn from real images only
(the CAS classifier, the independent network) are done once and shared
(``sigjax.evaluate``).

Targets (issue 11, item 4), each given as mean ± sample std over the runs
and checked on the mean:

* FID at equal sample sizes <= 2x its real-vs-real floor;
* TSTR >= 0.90;
* CAS of the suite's classifier and of the independent network >= the
  independent network's accuracy on real test images - 0.02;
* the (competent) detector's balanced accuracy <= 0.75;
* recall >= 0.5;
* continuous strokes (item 4's grid, measured; ``strokes``): the
  1-Wasserstein distance between generated and real ink components per
  image within 2x its real train-vs-test floor, and ink per image within
  0.8-1.25x the real.
"""

import json
import os

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import numpy as np

from ablations.run import run_name  # pylint: disable=g-import-not-at-top

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Where the reports and summary go.")
flags.DEFINE_string("experiments",
                    "cas,tstr,realfake,fid,prd,indep,strokes,copies",
                    "config.eval.experiments for every run.")
flags.DEFINE_string("preset", "cpu", "configs/evaluate.py preset.")
flags.DEFINE_enum("generator", "auto", ["auto", "ema", "raw"],
                  "config.eval.generator: the EMA generator where a run has "
                  "one (auto), or the trained weights (raw).")
flags.DEFINE_integer("checkpoint_step", None,
                     "config.eval.checkpoint_step for every run: score this "
                     "step's checkpoint (default: each run's newest).")

KEYS = ("fid_half", "fid_real_vs_real", "fid", "kid", "cas_accuracy",
        "real_test_accuracy", "indep_cas_accuracy", "indep_real_test_accuracy",
        "indep_fid_half", "indep_fid_real_vs_real", "tstr_accuracy",
        "realfake_balanced_accuracy", "detector_competent", "precision",
        "recall", "indep_precision", "indep_recall", "strokes_components",
        "strokes_components_real", "strokes_speckle", "strokes_speckle_real",
        "strokes_ink_ratio", "strokes_components_w1",
        "strokes_components_w1_real_vs_real", "copies_share",
        "copies_share_real_train", "copies_nearest",
        "copies_nearest_real_train")


def _stats(values):
  v = np.array([float(x) for x in values if x is not None], np.float64)
  if not v.size:
    return None
  return {"mean": float(v.mean()),
          "std": float(v.std(ddof=1)) if v.size > 1 else None,
          "values": v.tolist()}


def targets(s: dict) -> list:
  """(target, measured mean, met?) for the targets the summary can check."""
  m = lambda k: (s.get(k) or {}).get("mean")  # noqa: E731
  out = []
  if m("fid_half") is not None and m("fid_real_vs_real") is not None:
    ratio = m("fid_half") / m("fid_real_vs_real")
    out.append(("FID (equal sizes) <= 2x floor", f"{ratio:.1f}x", ratio <= 2))
  if m("tstr_accuracy") is not None:
    out.append(("TSTR >= 0.90", f"{m('tstr_accuracy'):.3f}",
                m("tstr_accuracy") >= 0.90))
  ref = m("indep_real_test_accuracy")
  for key, name in (("cas_accuracy", "CAS"), ("indep_cas_accuracy",
                                               "independent CAS")):
    if ref is not None and m(key) is not None:
      out.append((f"{name} >= {ref - 0.02:.3f} (indep. real test - 0.02)",
                  f"{m(key):.3f}", m(key) >= ref - 0.02))
  if m("realfake_balanced_accuracy") is not None:
    out.append(("detector balanced accuracy <= 0.75",
                f"{m('realfake_balanced_accuracy'):.3f}"
                f" (competent in {m('detector_competent') or 0:.0%} of runs)",
                m("realfake_balanced_accuracy") <= 0.75))
  if m("recall") is not None:
    out.append(("recall >= 0.5", f"{m('recall'):.3f}", m("recall") >= 0.5))
  w1, floor, ink = (m("strokes_components_w1"),
                    m("strokes_components_w1_real_vs_real"),
                    m("strokes_ink_ratio"))
  if w1 is not None and floor is not None and ink is not None:
    # The grid's "continuous strokes", measured: as many ink components per
    # image as real signatures (the distance within 2x the real train-vs-
    # test one, as for FID) at the real ink level (not blots).
    out.append(("strokes: components W1 <= 2x floor, ink 0.8-1.25x real",
                f"W1 {w1:.2f} (floor {floor:.2f}), "
                f"{m('strokes_components'):.1f} components/image "
                f"(real {m('strokes_components_real'):.1f}), ink {ink:.2f}x",
                w1 <= 2 * floor and 0.8 <= ink <= 1.25))
  return out


def report_dir(workdir: str, index: int, run: str,
               step: "int | None" = None) -> str:
  """Where run number ``index``'s report goes: OUT/<i>_<name>[_step<N>]."""
  name = f"{index}_{run_name(run)}"
  return os.path.join(workdir, name if step is None else f"{name}_step{step}")


def main(argv):
  from configs import evaluate as eval_config  # pylint: disable=g-import-not-at-top
  from sigjax import evaluate  # pylint: disable=g-import-not-at-top
  runs = argv[1:]
  if not FLAGS.workdir or not runs:
    raise app.UsageError("give --workdir=OUT and at least one RUN")
  for run in runs:
    if not os.path.isdir(os.path.join(run, "checkpoints")):
      raise app.UsageError(f"{run}: not a training workdir (no checkpoints/)")
  reports = []
  for i, run in enumerate(runs):
    out = report_dir(FLAGS.workdir, i, run, FLAGS.checkpoint_step)
    path = os.path.join(out, "report.json")
    if os.path.isfile(path):  # resumable: finished reports are kept
      with open(path) as f:
        reports.append(json.load(f))
      continue
    config = eval_config.get_config(FLAGS.preset)
    config.gan_workdir = run
    config.eval.experiments = FLAGS.experiments
    config.eval.generator = FLAGS.generator
    config.eval.checkpoint_step = FLAGS.checkpoint_step
    reports.append(evaluate.run(config, out))
  summary = {k: _stats([r.get(k) for r in reports]) for k in KEYS}
  summary = {k: v for k, v in summary.items() if v is not None}
  checks = targets(summary)
  at = ("" if FLAGS.checkpoint_step is None
        else f", checkpoint step {FLAGS.checkpoint_step}")
  lines = [f"# {len(runs)} runs, evaluation preset `{FLAGS.preset}`, "
           f"generator `{FLAGS.generator}`{at}", "",
           "Runs: " + ", ".join(f"`{run_name(r)}`" for r in runs), "",
           "| metric | mean | std | per run |", "|---|---|---|---|"]
  for k, v in summary.items():
    std = "—" if v["std"] is None else f"{v['std']:.3f}"
    lines.append(f"| {k} | {v['mean']:.3f} | {std} | "
                 + ", ".join(f"{x:.3f}" for x in v["values"]) + " |")
  lines += ["", "| target (issue 11) | measured (mean) | met |",
            "|---|---|---|"]
  lines += [f"| {t} | {v} | {'yes' if ok else 'no'} |" for t, v, ok in checks]
  os.makedirs(FLAGS.workdir, exist_ok=True)
  with open(os.path.join(FLAGS.workdir, "summary.json"), "w") as f:
    json.dump({"runs": runs, "checkpoint_step": FLAGS.checkpoint_step,
               "summary": summary,
               "targets": [list(c) for c in checks]}, f, indent=2)
  with open(os.path.join(FLAGS.workdir, "summary.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
  print("\n".join(lines))


if __name__ == "__main__":
  flags.mark_flag_as_required("workdir")
  app.run(main)
