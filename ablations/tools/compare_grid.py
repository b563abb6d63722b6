r"""One picture of several training runs side by side, on the same noise.

    python -m ablations.tools.compare_grid --out=grid.png [--classes=0,1,2] \
        [--per_class=4] [--seed=0] [--output=binary] [--real=test] \
        LABEL=RUN[@STEP] ...

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

``--real=SPLIT`` (``test``, ``validation`` or ``train``) puts a first row of
real signatures of each class at the same size, as the evaluation reads
them: the first run's data, binary ink for a generator trained on ink
coverage, and for cross-media data the medium its generator draws (paper unless it was asked for another), so the
generated rows are seen beside the real images they are scored against.

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


REAL_SPLITS = ("test", "validation", "train")


def real_row(generator, picked, per_class: int, split: str) -> np.ndarray:
  """(classes * per_class, H, W): the first ``per_class`` real images of
  each class in ``picked`` from ``split`` of the data ``generator`` was
  trained on, as the evaluation scores against them
  (``evaluate.scored_data_config``: binary ink for a coverage-trained G;
  cross-media data in the medium the generator draws, paper by default)."""
  import ml_collections  # pylint: disable=import-outside-toplevel
  from sigjax import data as data_lib  # pylint: disable=import-outside-toplevel
  from sigjax import evaluate  # pylint: disable=import-outside-toplevel
  if split not in REAL_SPLITS:
    raise ValueError(f"--real={split!r}: use one of {', '.join(REAL_SPLITS)}"
                     " (or leave it empty for no real row)")
  d = evaluate.scored_data_config(
      ml_collections.ConfigDict(generator.config.data.to_dict()),
      generator.medium)
  real = data_lib.load(d, split=split)
  rows = []
  for c in picked:
    idx = np.flatnonzero(real.labels == c)[:per_class]
    if len(idx) < per_class:
      raise ValueError(
          f"--real={split}: class {c} ({real.class_names[c]}) has "
          f"{len(idx)} real images in that split, fewer than "
          f"--per_class={per_class}")
    rows.append(real.images[idx, ..., 0])
  return np.concatenate(rows)


def sample_rows(runs, classes: str = "", per_class: int = 4, seed: int = 0,
                output: str = "binary", real: str = ""):
  """(images (runs [+ 1], classes * per_class, H, W), row labels, column
  labels); with ``real`` (a split name) the first row is real images."""
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
  if real:
    first = gens[0][2]
    medium = (f", {first.medium or 'paper'}"
              if first.config.data.source == "cross_media" else "")
    rows.insert(0, real_row(first, picked, per_class, real))
    labels.insert(0, f"real ({real}{medium})")
  col_labels = [names[c] if i == 0 else "" for c in picked
                for i in range(per_class)]
  return np.stack(rows), labels, col_labels


def compare_grid(runs, out: str, classes: str = "", per_class: int = 4,
                 seed: int = 0, output: str = "binary", real: str = "") -> str:
  """Writes the comparison grid to ``out`` and returns the path."""
  from sigjax import viz  # pylint: disable=import-outside-toplevel
  images, labels, col_labels = sample_rows(runs, classes, per_class, seed,
                                           output, real)
  first = "the first row real, then " if real else ""
  return viz.class_grid(images, labels, out, col_labels=col_labels,
                        title=f"{first}same z (seed {seed}) in every "
                              f"generated row; {output} output")


def main(argv):
  runs = parse_runs(argv[1:])
  path = compare_grid(runs, FLAGS.out, FLAGS.classes, FLAGS.per_class,
                      FLAGS.seed, FLAGS.output, FLAGS.real)
  print(path)


if __name__ == "__main__":
  flags.DEFINE_string("out", None, "PNG to write.")
  flags.DEFINE_string("classes", "", "Comma-separated class indices "
                      "(default: the first three).")
  flags.DEFINE_integer("per_class", 4, "Samples per class and run.")
  flags.DEFINE_integer("seed", 0, "Noise seed (the same z in every row).")
  flags.DEFINE_enum("output", "binary", ["binary", "raw"],
                    "What is drawn: the binary form or G's sigmoid output.")
  flags.DEFINE_string("real", "", "A split (test, validation, train) whose "
                      "real images of each class make a first row; empty: "
                      "no real row.")
  flags.mark_flag_as_required("out")
  app.run(main)
