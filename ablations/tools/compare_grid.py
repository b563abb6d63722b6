r"""One picture of several training runs side by side, on the same noise.

    python -m ablations.tools.compare_grid --out=grid.png [--classes=0,1,2] \
        [--per_class=4] [--seed=0] [--output=binary] LABEL=RUN[@STEP] ...

One row per run (``LABEL=RUN``: a row label and a training workdir, e.g.
``onednn_s0=OUT/onednn/seed_0/train``; a bare ``RUN`` is labelled as
``evaluate_runs.py`` names it: ``VARIANT_seed_S`` for a sweep run, else its
folder's name; ``RUN@STEP`` draws from that run's checkpoint of step
STEP instead of its newest, so one run's earlier and later checkpoints can
share a picture, and the label then ends in ``@STEP``); for every class in
``--classes``, ``--per_class`` columns drawn from the same z in every row
(``GeneratorHandle.noise(per_class, seed)``, repeated for each class), so
two rows differ only by their generators. ``--output=binary`` (default)
shows what ``configs/generate.py`` writes and the evaluation scores;
``raw`` shows G's sigmoid output. Every run must name the same classes in
the same order (an error names the run that does not).

Seeds of one recipe (or two code paths) are compared this way in
BUILD_NOTES.md; a single run's grid beside real images is the evaluation
report's ``figures/real_vs_generated.png``.
"""

import os
import re

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import numpy as np

from ablations.run import run_name  # pylint: disable=g-import-not-at-top

FLAGS = flags.FLAGS


def parse_runs(args):
  """['LABEL=RUN[@STEP]' or 'RUN[@STEP]', ...] -> [(label, run, step), ...];
  step is None (the newest checkpoint) unless the run ends in ``@STEP``
  (an existing folder whose name ends so is taken as it is)."""
  runs = []
  for arg in args:
    label, sep, run = arg.partition("=")
    if not sep:
      label, run = None, arg
    step = None
    at = re.fullmatch(r"(.+)@(\d+)", run)
    if at and not os.path.isdir(run):
      run, step = at.group(1), int(at.group(2))
    if label is None and run:
      label = run_name(run) + (f"@{step}" if step is not None else "")
    if not label or not run:
      raise ValueError(f"{arg!r}: give LABEL=RUN[@STEP] or RUN[@STEP]")
    runs.append((label, run, step))
  if not runs:
    raise ValueError("give at least one training workdir (LABEL=RUN)")
  return runs


def parse_classes(text: str, num_classes: int, names):
  """'0,2' or '' (the first min(3, num_classes)) -> [int, ...], checked."""
  if not text.strip():
    return list(range(min(3, num_classes)))
  try:
    classes = [int(c) for c in text.split(",") if c.strip()]
  except ValueError:
    raise ValueError(f"--classes={text!r}: give comma-separated class "
                     f"indices (0..{num_classes - 1})") from None
  bad = [c for c in classes if not 0 <= c < num_classes]
  if bad or not classes:
    raise ValueError(f"--classes={text!r}: indices must be in "
                     f"0..{num_classes - 1} ({', '.join(names)})")
  return classes


def sample_rows(runs, classes: str = "", per_class: int = 4, seed: int = 0,
                output: str = "binary"):
  """(images (runs, classes * per_class, H, W), row labels, column labels)."""
  from sigjax import inference  # pylint: disable=import-outside-toplevel
  if per_class < 1:
    raise ValueError(f"--per_class={per_class}: must be >= 1")
  gens = [(label, run, inference.load_generator(run, step=step))
          for label, run, step in runs]
  names = list(gens[0][2].class_names)
  for _, run, gen in gens[1:]:
    if list(gen.class_names) != names:
      raise ValueError(
          f"{run}: its classes ({', '.join(gen.class_names[:5])}, ...) are "
          f"not those of {runs[0][1]} ({', '.join(names[:5])}, ...); compare "
          "runs trained on the same data")
  picked = parse_classes(classes, len(names), names)
  ys = np.repeat(np.array(picked, np.int32), per_class)
  z = np.tile(gens[0][2].noise(per_class, seed), (len(picked), 1))
  rows = [gen.sample(ys, z=z, output=output)[..., 0] for _, _, gen in gens]
  labels = [f"{label} (step {gen.step})" for label, _, gen in gens]
  col_labels = [names[c] if i == 0 else "" for c in picked
                for i in range(per_class)]
  return np.stack(rows), labels, col_labels


def compare_grid(runs, out: str, classes: str = "", per_class: int = 4,
                 seed: int = 0, output: str = "binary") -> str:
  """Writes the comparison grid to ``out`` and returns the path."""
  from sigjax import viz  # pylint: disable=import-outside-toplevel
  images, labels, col_labels = sample_rows(runs, classes, per_class, seed,
                                           output)
  return viz.class_grid(images, labels, out, col_labels=col_labels,
                        title=f"same z (seed {seed}) in every row; "
                              f"{output} output")


def main(argv):
  runs = parse_runs(argv[1:])
  path = compare_grid(runs, FLAGS.out, FLAGS.classes, FLAGS.per_class,
                      FLAGS.seed, FLAGS.output)
  print(path)


if __name__ == "__main__":
  flags.DEFINE_string("out", None, "PNG to write.")
  flags.DEFINE_string("classes", "", "Comma-separated class indices "
                      "(default: the first three).")
  flags.DEFINE_integer("per_class", 4, "Samples per class and run.")
  flags.DEFINE_integer("seed", 0, "Noise seed (the same z in every row).")
  flags.DEFINE_enum("output", "binary", ["binary", "raw"],
                    "What is drawn: the binary form or G's sigmoid output.")
  flags.mark_flag_as_required("out")
  app.run(main)
