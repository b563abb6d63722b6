"""``run_suite``: the configured experiments on one generator, one report."""

from __future__ import annotations

import json
import time
from typing import Optional

from absl import logging
import jax
import numpy as np

from sigjax.evaluation import base
from sigjax.evaluation import cache as cache_lib
from sigjax.evaluation import context
from sigjax.evaluation import registry
from sigjax.evaluation import report as report_lib
from sigjax.evaluation.base import EvaluationError


def grid_images(pool, sampler, c, k, seed):
  """(C, k, ...) real images per class (NaN tiles for short classes) and as
  many generated, for the report's opening figure."""
  rng = np.random.default_rng(seed + base.SEEDS["grid"])
  reals = []
  for cls in range(c):
    idx = np.flatnonzero(pool.labels == cls)
    pick = rng.choice(idx, min(k, len(idx)), replace=False)
    imgs = pool.images[pick]
    if len(imgs) < k:  # short classes: empty (NaN) tiles
      imgs = np.concatenate([imgs, np.full((k - len(imgs),) + imgs.shape[1:],
                                           np.nan, np.float32)])
    reals.append(imgs)
  gen = sampler.labelled(np.repeat(np.arange(c), k), "grid")
  return np.stack(reals), gen.reshape((c, k) + gen.shape[1:])


def _check_classes(generator, names) -> None:
  g_classes = getattr(generator, "num_classes", len(names))
  if g_classes != len(names):
    raise EvaluationError(
        f"the generator has {g_classes} classes but the real data has "
        f"{len(names)} ({', '.join(names)}); evaluate it on the data it was "
        "trained on")


def _context(config, generator, real: dict, cache) -> context.Context:
  """The run's shared inputs."""
  names = list(real["all"].class_names)
  seed = int(config.seed)
  mode = context.resolve_postprocess(config.eval.postprocess,
                                     real["all"].images,
                                     getattr(generator, "ink", "binary"))
  real_size = int(real["all"].images.shape[1])
  factor = context.judge_factor(
      getattr(generator, "image_size", real_size),
      config.eval.image_size or real_size)
  return context.Context(
      config=config, real=real, names=names, seed=seed,
      sampler=context.Sampler(generator, len(names), seed, mode, factor),
      cache=cache if cache is not None else cache_lib.default_cache())


def run_suite(config, generator, real: dict, workdir: str,
              info: Optional[dict] = None,
              cache: Optional[cache_lib.Cache] = None) -> dict:
  """Runs the configured experiments and writes the report into ``workdir``.

  ``generator.sample(labels, seed)`` -> (N, S, S, 1) images in [0, 1];
  ``real``: {'train', 'test', 'all'[, 'validation', 'indep_train']}
  ``SignatureData``; ``cache``: where real-data fits are kept (default: the
  process's). Returns the report dict (also written to
  ``workdir/report.json``).
  """
  t_start = time.time()
  e = config.eval
  names = list(real["all"].class_names)
  _check_classes(generator, names)
  wanted = registry.parse(e.experiments)
  ctx = _context(config, generator, real, cache)
  results, times = {}, {}
  for x in registry.selected(wanted):
    t0 = time.time()
    logging.info("Experiment %s ...", x.name)
    results[x.name] = x.run(ctx)
    times[x.name] = time.time() - t0
    logging.info("Experiment %s done in %.1f s.", x.name, times[x.name])

  report = report_lib.summarize(results)
  report.update(
      experiments=results, wall_time_s=times,
      total_wall_time_s=time.time() - t_start, seed=ctx.seed,
      class_names=names, preset=config.get("preset", ""),
      postprocess=ctx.sampler.mode, postprocess_setting=e.postprocess,
      real_data_binary=context.is_binary(real["all"].images),
      real_sizes={s: int(len(d.labels)) for s, d in real.items()},
      info=dict(info or {}), config=json.loads(config.to_json_best_effort()))
  if jax.process_index() == 0:
    grid_real, grid_gen = grid_images(real["all"], ctx.sampler, len(names),
                                      e.grid_per_class, seed=ctx.seed)
    report_lib.write(report, workdir, grid_real, grid_gen, ctx.artifacts)
  return report
