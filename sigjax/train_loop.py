"""The training loop around ``sigjax.train.train_step``.

Owns everything with side effects: data iteration, device placement,
metrics (``metrics.jsonl``, TensorBoard, the ``sigjax.console`` progress
display), fixed-noise sample grids, Orbax checkpoints, SIGINT/SIGTERM handling
and resumption. The step function itself stays pure.

``run(config, workdir)`` is the "train" job (``launch.py``). Resuming a
workdir first compares its ``config.json`` with ``config``
(``sigjax.checkpoint.check_same_run``: another run's workdir stops with
``WorkdirMismatchError``, nothing touched), then restores the newest readable
checkpoint, moving unreadable checkpoints and unfinished saves aside
(``sigjax.checkpoint.restore_latest``).
"""

import json
import math
import os
import signal
import time

from absl import logging
from clu import metric_writers
import jax
import numpy as np

from configs import common
from sigjax import checkpoint as ckpt
from sigjax import console
from sigjax import data as data_lib
from sigjax import parallel
from sigjax import train as train_lib
from sigjax import viz
from sigjax.models import cgan


class _StopFlag:
  """Turns SIGINT/SIGTERM into a request to checkpoint and exit cleanly."""

  def __init__(self):
    self.signum = None
    self._old = {}

  def __enter__(self):
    for sig in (signal.SIGINT, signal.SIGTERM):
      try:
        self._old[sig] = signal.signal(sig, self._handle)
      except ValueError:  # not the main thread: leave the handlers alone
        pass
    return self

  def _handle(self, signum, frame):
    del frame
    if self.signum is not None and signum == signal.SIGINT:
      raise KeyboardInterrupt  # a second Ctrl-C: stop right now
    self.signum = signum
    logging.warning("Received %s: saving a checkpoint, then exiting.",
                    signal.Signals(signum).name)

  def __exit__(self, *exc):
    for sig, handler in self._old.items():
      signal.signal(sig, handler)
    return False


# Metrics logged at their latest value, not averaged over the log window.
_LATEST = ("ada_p",)
# The overfitting probe's metrics (OverfitProbe): measured at log steps only.
_PROBED = ("d_val_acc", "d_train_acc", "d_val_logit", "d_train_logit")


def _config_dict(config) -> dict:
  return json.loads(config.to_json_best_effort())


def _trim_metrics(path: str, last_step: int) -> None:
  """Drops lines logged after ``last_step`` (work lost since the checkpoint)."""
  if not os.path.exists(path):
    return
  with open(path) as f:
    lines = [l for l in f if l.strip()]
  kept = [l for l in lines if json.loads(l).get("step", 0) <= last_step]
  if len(kept) != len(lines):
    with open(path, "w") as f:
      f.writelines(kept)


def write_samples(sampler, variables, z, labels, class_names, per_class,
                  path, title):
  """The fixed-noise grid of ``variables`` = (params_g, batch_stats_g)."""
  images = parallel.to_host(sampler(*variables, z, labels))
  if jax.process_index() != 0:
    return
  c = len(class_names)
  grid = images.reshape(c, per_class, *images.shape[1:])
  viz.class_grid(grid, class_names, path, title=title)


class OverfitProbe:
  """D's accuracy and mean logit on held-out real images beside the same on
  a fixed sample of its training images, as D sees them in the step (no
  augmentation, no noise).

  The held-out images are the validation split (for cross-media data the
  validation writers' images, on the training media), at most ``limit`` of
  them, and the training sample has as many. A D that memorises its
  training set scores its training images higher than unseen real ones
  (ADA's overfitting heuristic compares the two), so the gap
  ``d_train_acc - d_val_acc`` opening is the sign, seen while it happens.
  Metrics (every log interval): ``d_val_acc``, ``d_train_acc``,
  ``d_val_logit``, ``d_train_logit``.
  """

  def __init__(self, config, num_classes, train_data, val_data, mesh,
               limit: int = 512):
    n = min(len(train_data), len(val_data), limit)
    rng = np.random.default_rng([int(config.seed), 0x0DD])
    self.size = n
    self.sets = {}
    for name, d in (("val", val_data), ("train", train_data)):
      pick = np.sort(rng.choice(len(d), n, replace=False))
      self.sets[name] = parallel.replicate(
          (np.asarray(d.images[pick], np.float32),
           np.asarray(d.labels[pick], np.int32)), mesh)
    self._stats = train_lib.make_d_probe(config, num_classes)

  def __call__(self, state) -> dict:
    """Device scalars (no host synchronisation)."""
    out = {}
    for name, (images, labels) in self.sets.items():
      acc, logit = self._stats(state.params_d, state.spectral_d, images,
                               labels)
      out[f"d_{name}_acc"], out[f"d_{name}_logit"] = acc, logit
    return out


def overfit_onset(rows, gap: float = 0.10, patience: int = 3):
  """The first logged step from which D's accuracy on its training reals
  exceeds that on held-out reals by >= ``gap`` for ``patience`` logs in a
  row (``OverfitProbe``'s metrics in metrics.jsonl rows), or None when that
  never happens (or the run has no probe)."""
  rows = [r for r in rows if "d_val_acc" in r and "d_train_acc" in r]
  rows.sort(key=lambda r: r["step"])
  run = 0
  for i, r in enumerate(rows):
    run = run + 1 if r["d_train_acc"] - r["d_val_acc"] >= gap else 0
    if run == patience:
      return int(rows[i - patience + 1]["step"])
  return None


def read_metrics(workdir: str) -> list:
  """The rows of ``workdir/metrics.jsonl`` ([] when there is none)."""
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(l) for l in f if l.strip()]


def make_probe(config, num_classes, train_data, mesh):
  """The ``OverfitProbe`` of a run, or None (with the reason logged) when
  its data has no held-out images."""
  try:
    val = data_lib.load(config.data, "validation")
  except data_lib.DataError as e:
    logging.info("No D overfitting probe (%s).", e)
    return None
  if cgan.num_media(config) > 1:
    val = data_lib.medium_conditioned(val, common.media_list(config.data))
  probe = OverfitProbe(config, num_classes, train_data, val, mesh)
  logging.info("D overfitting probe: %d held-out (validation) and %d "
               "training real images, every %d steps.", probe.size,
               probe.size, config.train.log_every)
  return probe


def run(config, workdir: str):
  """Trains (or resumes) ``config`` in ``workdir``; returns the final state."""
  parallel.maybe_initialize_distributed()
  parallel.setup_compilation_cache(
      config.compilation_cache_dir or parallel.default_cache_dir(workdir))
  is_main = jax.process_index() == 0
  t = config.train
  # Before anything is written: a workdir holding another config's run stops
  # here, with its checkpoints and config.json untouched.
  manager = ckpt.make_manager(workdir, t.keep_checkpoints, t.async_checkpoint)
  if ckpt.holds_checkpoints(manager):
    try:
      ckpt.check_same_run(workdir, config)
    except ckpt.WorkdirMismatchError:
      manager.close()
      raise
  os.makedirs(os.path.join(workdir, "samples"), exist_ok=True)

  data = data_lib.load(config.data, config.data.split)
  if cgan.num_media(config) > 1:  # labels: medium * names + name
    data = data_lib.medium_conditioned(data, common.media_list(config.data))
  num_classes = data.num_classes
  shown = data.class_names if num_classes <= 12 else (
      data.class_names[:3] + ["..."] + data.class_names[-2:])
  logging.info("Data: %d images, %d classes (%s) from %s.", len(data.labels),
               num_classes, ", ".join(shown), data.source)

  mesh = parallel.make_mesh()
  parallel.check_batch_size(t.batch_size, mesh, "config.train.batch_size")
  logging.info("Mesh: %d devices over %d processes.", mesh.devices.size,
               jax.process_count())
  meta = {"class_names": list(data.class_names), "num_classes": num_classes,
          "image_size": config.data.image_size, "config": _config_dict(config)}
  if "condition_media" in data.meta:  # labels = medium * names + name
    meta.update(condition_names=data.meta["condition_names"],
                condition_media=data.meta["condition_media"])

  def check_meta(old_meta):
    if list(old_meta.get("class_names", meta["class_names"])) != \
        meta["class_names"]:
      return (f"{ckpt.checkpoint_dir(workdir)} was trained on classes "
              f"{old_meta['class_names']} but config.data now gives "
              f"{meta['class_names']}; use a new --workdir (nothing was "
              "moved or changed).")
    return None

  state = parallel.replicate(train_lib.create_state(config, num_classes), mesh)
  try:
    restored, _ = ckpt.restore_latest(manager, ckpt.abstract(state),
                                      move_aside=True, check_meta=check_meta)
  except Exception:
    manager.close()
    raise
  if is_main:
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json_best_effort(indent=2))
  if restored is not None:
    state = restored
    logging.info("Resumed from step %d.", int(state.step))
  start = int(parallel.to_host(state.step))
  metrics_path = os.path.join(workdir, "metrics.jsonl")
  if is_main:
    _trim_metrics(metrics_path, start)
  if start >= t.steps:
    logging.info("Already trained to step %d (config.train.steps=%d).", start,
                 t.steps)
    manager.close()
    return state

  step_fn = train_lib.jit_train_step(config, num_classes, mesh)
  probe = make_probe(config, num_classes, data, mesh)
  sampler = train_lib.make_sampler(config, num_classes)
  z_fixed, y_fixed = train_lib.fixed_noise(config, num_classes)
  # With train.d_steps = k a step consumes k real batches (one per D update).
  batches = data_lib.train_dataset(
      data, train_lib.real_batch_size(config), seed=config.seed,
      start_step=start).as_numpy_iterator()
  writer = metric_writers.create_default_writer(
      workdir, just_logging=not is_main, asynchronous=True)

  def save(step):
    ckpt.save(manager, step, state, meta)

  def grid(step):
    # Every process runs the sampler (a program over the global mesh); only
    # the first writes the PNG.
    # The EMA generator when train.ema_decay > 0.
    write_samples(sampler, train_lib.sampling_variables(config, state),
                  z_fixed, y_fixed, data.class_names,
                  t.samples_per_class,
                  os.path.join(workdir, "samples", f"step_{step}.png"),
                  title=f"step {step}")

  window = {"sums": {}, "n": 0, "t0": time.time(), "start": start}
  jsonl = open(metrics_path, "a") if is_main else None
  progress = console.Progress(t.steps, title="train", unit="step",
                              start=start, items_per_unit=t.batch_size,
                              enabled=is_main)

  def consume(step, metrics):
    """Checks one step's metrics and logs every ``log_every`` steps."""
    metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
    probed = {k: metrics.pop(k) for k in list(metrics) if k in _PROBED}
    bad = [k for k, v in metrics.items() if not math.isfinite(v)]
    if bad:
      raise train_lib.NonFiniteLossError(
          f"Non-finite {', '.join(bad)} at step {step} "
          f"({metrics}); stopping. The last good checkpoint is step "
          f"{manager.latest_step()} in {ckpt.checkpoint_dir(workdir)}.")
    for k, v in metrics.items():
      window["sums"][k] = window["sums"].get(k, 0.0) + v
    window["n"] += 1
    if step % t.log_every == 0 or step == t.steps:
      now = time.time()
      rate = (step - window["start"]) / max(now - window["t0"], 1e-9)
      row = {k: v / window["n"] for k, v in window["sums"].items()}
      row.update({k: metrics[k] for k in _LATEST if k in metrics})
      row.update(probed)
      row.update(steps_per_sec=rate, images_per_sec=rate * t.batch_size)
      writer.write_scalars(step, row)
      if jsonl:
        jsonl.write(json.dumps({"step": step, **row}) + "\n")
        jsonl.flush()
      # The console shows the progress display instead of this line.
      logging.info("step %d/%d  d_loss %.4f  g_loss %.4f  D(real) acc %.2f  "
                   "D(fake) acc %.2f  %.2f steps/s%s", step, t.steps,
                   row["d_loss"], row["g_loss"], row["d_real_acc"],
                   row["d_fake_acc"], rate,
                   (f"  ada_p {row['ada_p']:.3f}" if "ada_p" in row else "")
                   + (f"  D acc train/val reals {row['d_train_acc']:.2f}/"
                      f"{row['d_val_acc']:.2f}" if "d_val_acc" in row
                      else ""),
                   extra=console.FILE_ONLY)
      shown = {"d_loss": row["d_loss"], "g_loss": row["g_loss"],
               # D's accuracy on each side, not its output: "D(fake)" read
               # as a probability made 0.98 look like a fooled D.
               "D acc real": row["d_real_acc"],
               "D acc fake": row["d_fake_acc"]}
      if "d_val_acc" in row:  # held-out reals: memorising shows as a gap
        shown["D acc train/val"] = (f"{row['d_train_acc']:.2f}/"
                                    f"{row['d_val_acc']:.2f}")
      if "ada_p" in row:
        shown["ada_p"] = row["ada_p"]
      progress.update(step, shown, log=True)
      window.update(sums={}, n=0, t0=now, start=step)
    else:
      progress.update(step)

  pending = None
  step = start
  t_first = time.time()
  try:
    with _StopFlag() as stop:
      while step < t.steps:
        images, labels = next(batches)
        state, metrics = step_fn(state, *parallel.shard_batch(
            (images, labels), mesh))
        step += 1
        if probe is not None and (step % t.log_every == 0 or
                                  step == t.steps):
          metrics = {**metrics, **probe(state)}
        if step == start + 1:
          jax.block_until_ready(metrics)
          logging.info("First step (compile + run) took %.1f s.",
                       time.time() - t_first)
          window["t0"], window["start"] = time.time(), step
        if pending is not None:
          consume(*pending)  # the previous step, overlapped with this one
        pending = (step, metrics)
        done = step == t.steps or stop.signum is not None
        if step % t.checkpoint_every == 0 or done:
          consume(*pending)
          pending = None
          save(step)
        if step % t.sample_every == 0 or step == t.steps:
          grid(step)
        if done:
          break
      if pending is not None:
        consume(*pending)
  finally:
    progress.close()
    manager.wait_until_finished()
    manager.close()
    writer.close()
    if jsonl:
      jsonl.close()
  if step < t.steps:
    logging.warning("Stopped at step %d by signal; run the same command to "
                    "resume.", step)
  else:
    logging.info("Training finished at step %d; checkpoints in %s.", step,
                 ckpt.checkpoint_dir(workdir))
  return state
