r"""Texture of generators' raw output, before the threshold, against real
images of the same ink form: a check on the ``strokes`` experiment that
needs no threshold and no network (2026-11-29).

    python -m ablations.tools.raw_texture RUN [RUN ...] [--per_class=100] \
        [--seed=0] [--out=table.md]

For every RUN (a training workdir) the generator the evaluation scores (EMA
where the run has one) draws ``per_class`` raw images per class (G's sigmoid
output, no Otsu threshold), and ``sigjax.metrics.edge_per_ink`` gives each
image's total variation per unit of ink. Clean strokes of width w have
about 2 / w of edge per unit of ink; speckled or dotted strokes have more.
The reference is the real data the run trained on, in the same ink form
(``config.data.ink``; cross-media ``coverage`` for ``:quality``): its test
split, with the real train-vs-test 1-Wasserstein distance as the floor.
"""

import os

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
import ml_collections
import numpy as np

from ablations.run import run_name  # pylint: disable=g-import-not-at-top

FLAGS = flags.FLAGS
flags.DEFINE_integer("per_class", 100, "Generated images per class.")
flags.DEFINE_integer("seed", 0, "Seed of the generated images' z.")
flags.DEFINE_string("out", "", "Also write the table to this file.")


def _finite(values) -> np.ndarray:
  """The values of images that have ink (``edge_per_ink`` is NaN without)."""
  v = np.asarray(values, np.float64)
  return v[np.isfinite(v)]


def _stats(v) -> str:
  return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}"


def texture_rows(runs, per_class: int, seed: int) -> list:
  """One dict per run: run, edge per ink (generated, real), W1 and floor."""
  from sigjax import data as data_lib  # pylint: disable=g-import-not-at-top
  from sigjax import inference
  from sigjax import metrics
  rows, real_cache = [], {}
  for run in runs:
    g = inference.load_generator(run)
    d = ml_collections.ConfigDict(g.config.data.to_dict())
    d.fraction = 1.0
    key = d.to_json_best_effort(sort_keys=True)
    if key not in real_cache:
      train = data_lib.load(d, split="train")
      test = data_lib.load(d, split="test")
      real_cache[key] = (_finite(metrics.edge_per_ink(train.images)),
                         _finite(metrics.edge_per_ink(test.images)))
    real_train, real_test = real_cache[key]
    labels = np.repeat(np.arange(g.num_classes), per_class)
    edge = metrics.edge_per_ink(g.sample(labels, seed=seed, output="raw"))
    gen = _finite(edge)
    rows.append({
        "run": run_name(run), "ink": d.ink,
        "generated": _stats(gen), "real_test": _stats(real_test),
        "ratio": float(gen.mean() / real_test.mean()),
        "w1": metrics.wasserstein_1d(gen, real_test),
        "w1_floor": metrics.wasserstein_1d(real_train, real_test),
        "empty": len(edge) - len(gen),
    })
  return rows


def table(rows) -> str:
  lines = ["| run | ink | edge per ink, generated (raw) | real test | "
           "ratio | W1 | W1 real train vs test | images without ink |",
           "|---|---|---|---|---|---|---|---|"]
  for r in rows:
    lines.append(f"| {r['run']} | {r['ink']} | {r['generated']} | "
                 f"{r['real_test']} | {r['ratio']:.2f} | {r['w1']:.3f} | "
                 f"{r['w1_floor']:.3f} | {r['empty']} |")
  return "\n".join(lines) + "\n"


def main(argv):
  runs = argv[1:]
  if not runs:
    raise app.UsageError("give one or more training workdirs")
  for run in runs:
    if not os.path.isdir(run):
      raise app.UsageError(f"{run}: no such directory")
  text = table(texture_rows(runs, FLAGS.per_class, FLAGS.seed))
  print(text)
  if FLAGS.out:
    with open(FLAGS.out, "w") as f:
      f.write(text)


if __name__ == "__main__":
  app.run(main)
