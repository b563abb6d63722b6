"""The training loop around ``sigjax.train.train_step``.

Owns everything with side effects: data iteration, device placement,
metrics (``metrics.jsonl``, TensorBoard, the ``sigjax.console`` progress
display), fixed-noise sample grids, Orbax checkpoints, SIGINT/SIGTERM handling
and resumption. The step function itself stays pure.

``run(config, workdir)`` is the "train" job (``launch.py``). Resuming a
workdir first reads its ``config.json`` (``configs.common.upgrade``: a file
of any earlier version, with the fields it lacks as that run had them) and
compares it with ``config`` (``sigjax.checkpoint.check_same_run``: another
run's workdir stops with ``WorkdirMismatchError``, nothing touched), keeps
the run's batch order, then restores the newest readable
checkpoint, moving unreadable checkpoints and unfinished saves aside
(``sigjax.checkpoint.restore_latest``).

The loop never waits for the device between boundaries. When the training
set fits on the device (``resolve_data_path``; ``config.data.on_device``)
it is placed there once, replicated, and every step draws its global batch
inside the jitted step from (config.seed, step) (``data.batch_order``
'permutation', ``sigjax.batch_order``; each device gathers its own rows);
otherwise batches come from the host (the same order, or tf.data's
'index_shuffle' for runs whose config.json predates ``batch_order``). The
step adds its metrics to float32 sums on the device
(``sigjax.train.make_loop_step``); they are read once per log interval, and
at checkpoint, sample and stop boundaries, where a non-finite metric stops
the run (naming the first bad step) before anything is saved.
``train.steps_per_dispatch`` = k runs k steps per compiled call on the
device path, the last call before a boundary shortened so that none
crosses it. ``log_interval`` is the one place a log row is written.
"""

import collections
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
from sigjax import batch_order
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
_LATEST = train_lib.LATEST_METRICS
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
               limit: int = 512, gan=None):
    n = min(len(train_data), len(val_data), limit)
    rng = np.random.default_rng([int(config.seed), 0x0DD])
    self.size = n
    self.sets = {}
    for name, d in (("val", val_data), ("train", train_data)):
      pick = np.sort(rng.choice(len(d), n, replace=False))
      self.sets[name] = parallel.replicate(
          (np.asarray(d.images[pick], np.float32),
           np.asarray(d.labels[pick], np.int32)), mesh)
    self._stats = train_lib.make_d_probe(config, num_classes, gan=gan)

  def __call__(self, state) -> dict:
    """Device scalars (no host synchronisation)."""
    return self.measure(state.params_d, state.spectral_d)

  def measure(self, params_d, spectral_d) -> dict:
    """``__call__`` on D's parameters (and spectral-norm state) alone."""
    out = {}
    for name, (images, labels) in self.sets.items():
      acc, logit = self._stats(params_d, spectral_d, images, labels)
      out[f"d_{name}_acc"], out[f"d_{name}_logit"] = acc, logit
    return out


def parameter_overview(state) -> str:
  """'G 1.23M (fc 0.41M, deconv0 0.41M, ...); D ...': the parameter count of
  each network and of its top-level layers, largest first."""
  def count(tree):
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))

  def fmt(n):
    if n < 1000:
      return str(n)
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k"

  parts = []
  for name, params in (("G", state.params_g), ("D", state.params_d)):
    layers = sorted(((count(v), k) for k, v in params.items()), reverse=True)
    parts.append(f"{name} {fmt(count(params))} ("
                 + ", ".join(f"{k} {fmt(n)}" for n, k in layers) + ")")
  return "; ".join(parts)


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


def make_probe(config, num_classes, train_data, mesh, gan=None):
  """The ``OverfitProbe`` of a run, or None (with the reason logged) when
  its data has no held-out images."""
  return make_probes([config], num_classes, train_data, mesh, gan)[0]


def make_probes(configs, num_classes, train_data, mesh, gan=None) -> list:
  """``make_probe`` for each run of a group (the validation split is read
  once; each run's training sample follows its own seed)."""
  config = configs[0]
  try:
    val = data_lib.load(config.data, "validation")
  except data_lib.DataError as e:
    logging.info("No D overfitting probe (%s).", e)
    return [None] * len(configs)
  if cgan.num_media(config) > 1:
    val = data_lib.medium_conditioned(val, common.media_list(config.data))
  probes = [OverfitProbe(c, num_classes, train_data, val, mesh, gan=gan)
            for c in configs]
  logging.info("D overfitting probe: %d held-out (validation) and %d "
               "training real images, every %d steps.", probes[0].size,
               probes[0].size, config.train.log_every)
  return probes


# The training set stays on the device when it takes at most this share of
# the device's memory (GPU/TPU: ``memory_stats()['bytes_limit']``) ...
RESIDENT_SHARE = 0.25
# ... or, on CPU (the "device" is host memory, which XLA does not report),
# at most this many bytes.
RESIDENT_CPU_BYTES = 4 << 30
_ON_DEVICE = {"auto": "auto", "true": True, "yes": True, "1": True,
              "false": False, "no": False, "0": False}


def _resident_budget(device) -> tuple:
  """(bytes the resident training set may take on ``device``, where the
  figure comes from)."""
  if device.platform == "cpu":
    return RESIDENT_CPU_BYTES, "the CPU limit"
  try:
    limit = (device.memory_stats() or {}).get("bytes_limit")
  except Exception:  # pylint: disable=broad-except
    limit = None
  if not limit:
    return RESIDENT_CPU_BYTES, "no memory figure from the device"
  return int(limit * RESIDENT_SHARE), (
      f"{RESIDENT_SHARE:.0%} of {limit / 2**30:.1f} GiB")


def resolve_data_path(config, data, mesh) -> tuple:
  """(resident, reason): whether the training set lives on the device
  (replicated on every device of ``mesh``; each step gathers its batch
  there, ``sigjax.train.make_loop_step``) or batches come from the host,
  with a one-line reason for the log.

  ``config.data.on_device``: 'true' or 'false' (or the bools) decide;
  'auto' (the default)
  keeps it resident when it *fits*: images and labels together take at most
  ``RESIDENT_SHARE`` (a quarter) of one device's memory as the device
  reports it, or on CPU, whose device memory is the host's RAM,
  ``RESIDENT_CPU_BYTES`` (4 GiB). The cross-media paper split is 10.6 MB.
  The 'index_shuffle' batch order (runs started before 2026-12-03) has no
  device form: those runs always take the host path.
  """
  order = config.data.batch_order
  if order not in batch_order.BATCH_ORDERS:
    raise data_lib.DataError(
        f"config.data.batch_order={order!r}: use one of "
        f"{', '.join(batch_order.BATCH_ORDERS)}")
  given = config.data.on_device
  choice = _ON_DEVICE.get(str(given).lower())
  if choice is None:
    raise data_lib.DataError(f"config.data.on_device={given!r}: use 'auto', "
                             "'true' or 'false'")
  if order == batch_order.LEGACY_BATCH_ORDER:
    return False, ("batch order 'index_shuffle' (the run's config.json "
                   "predates data.batch_order) is drawn by tf.data")
  size = data.images.nbytes + data.labels.nbytes
  if choice == "auto":
    budget, source = _resident_budget(mesh.devices.flat[0])
    if size <= budget:
      return True, (f"{size / 2**20:.1f} MiB fits in {budget / 2**20:.0f} "
                    f"MiB ({source}; data.on_device='auto')")
    return False, (f"{size / 2**20:.1f} MiB exceeds {budget / 2**20:.0f} "
                   f"MiB ({source}; data.on_device='auto')")
  return choice, f"data.on_device={given!r} ({size / 2**20:.1f} MiB)"


def steps_per_dispatch(config, resident: bool) -> int:
  """``config.train.steps_per_dispatch`` (validated); 1 on the host path,
  where every step needs its batch from the host."""
  k = config.train.steps_per_dispatch
  ok, must = common.RULES["train.steps_per_dispatch"]
  if not ok(k):
    raise common.ConfigError(f"train.steps_per_dispatch={k!r}: {must}")
  if k > 1 and not resident:
    logging.info("train.steps_per_dispatch=%d needs the training set on the "
                 "device; taking one step per call.", k)
    return 1
  return k


# Fields a resumed run keeps from the run it continues, whatever today's
# preset or command line gives: they change its numbers, not the model, so
# a run begun with one resumes exactly (a preset that changes them, as
# :quality's resize_conv_form did on 2026-12-03, leaves old runs as they
# began).
KEPT_ON_RESUME = ("data.batch_order", "model.resize_conv_form")


def kept_of_run(config, saved):
  """``config`` with the ``KEPT_ON_RESUME`` fields of the run it resumes.

  ``saved`` is the run's config.json as ``common.upgrade`` reads it
  (``check_same_run``), which gives one written before a field existed the
  value that reproduces it (data.batch_order: 'index_shuffle', the only
  order there was). Without a config.json it is the config the newest
  checkpoint carries; None (neither) counts as a run older than every
  field, read the same way.
  """
  if saved is None:
    saved = common.upgrade({}, "a run with no saved config")
  changes = []
  for path in KEPT_ON_RESUME:
    section, name = path.split(".")
    if saved[section][name] != config[section][name]:
      changes.append((section, name, saved[section][name]))
  if not changes:
    return config
  config = config.copy_and_resolve_references()
  with config.unlocked():
    for section, name, then in changes:
      logging.info("Resuming with %s.%s=%r, as this run began (the config "
                   "gives %r).", section, name, then, config[section][name])
      config[section][name] = then
  return config


def num_seeds(config) -> int:
  """``config.train.num_seeds`` (validated): how many seeds one program
  trains."""
  n = config.train.num_seeds
  ok, must = common.RULES["train.num_seeds"]
  if not ok(n):
    raise common.ConfigError(f"train.num_seeds={n!r}: {must}")
  return n


def seed_runs(config, workdir: str) -> list:
  """[(config, workdir)] of the runs ``config`` trains in ``workdir``.

  One run, ``workdir`` itself, when ``train.num_seeds`` is 1; otherwise the
  seeds ``seed, seed + 1, ..., seed + S - 1``, each an ordinary run in
  ``workdir/seed_<s>`` whose config is ``config`` with its own ``seed`` and
  ``train.num_seeds = 1`` (so evaluate, generate, ``load_generator`` and a
  later single-seed ``launch.py`` read or resume it as any other run).
  """
  n = num_seeds(config)
  if n == 1:
    return [(config, workdir)]
  runs = []
  for s in range(int(config.seed), int(config.seed) + n):
    c = config.copy_and_resolve_references()
    with c.unlocked():
      c.seed = s
      c.train.num_seeds = 1
    runs.append((c, os.path.join(workdir, f"seed_{s}")))
  return runs


def run(config, workdir: str):
  """Trains (or resumes) ``config`` in ``workdir``; returns the final state,
  or with ``train.num_seeds`` = S > 1 the list of the S seeds' final states
  (``seed_runs``: one program, one run directory per seed)."""
  runs = seed_runs(config, workdir)
  states = run_group([c for c, _ in runs], [w for _, w in runs],
                     cache_dir=(config.compilation_cache_dir
                                or parallel.default_cache_dir(workdir)))
  return states[0] if len(runs) == 1 else states


def _take(tree, i: int, many: bool):
  """Seed ``i``'s part of a group's pytree (leading axis S), or ``tree``."""
  return jax.tree.map(lambda x: x[i], tree) if many else tree


def _stack(trees: list):
  """Host numpy pytrees of the same structure, stacked on a new axis 0."""
  return jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]),
                      *trees)


def check_group(configs) -> None:
  """Raises ValueError unless ``configs`` differ in ``seed`` only (and
  those seeds are distinct): a group is one program."""
  def strip(c):
    d = _config_dict(c)
    d.pop("seed", None)
    return d
  first = strip(configs[0])
  for c in configs[1:]:
    if strip(c) != first:
      raise ValueError("runs trained as one program must differ in seed "
                       "only")
  seeds = [int(c.seed) for c in configs]
  if len(set(seeds)) != len(seeds):
    raise ValueError(f"repeated seeds in one program: {seeds}")
  if len(configs) > 1 and configs[0].data.batch_order != "permutation":
    raise ValueError(
        "train.num_seeds > 1 needs data.batch_order='permutation' (the "
        "order every seed can draw inside one program); got "
        f"{configs[0].data.batch_order!r}")


def _restore_group(managers, states, metas_check, workdirs):
  """Each run's newest readable checkpoint (or its fresh state), brought to
  one step: a group steps together, so when a crash left the runs at
  different steps (one save finished, another not), every run goes back to
  the newest step all of them hold (step 0: the fresh state) and the newer
  checkpoints are moved aside, not deleted."""
  out = []
  for i, (m, s) in enumerate(zip(managers, states)):
    restored, _ = ckpt.restore_latest(m, ckpt.abstract(s), move_aside=True,
                                      check_meta=metas_check(i))
    out.append(restored if restored is not None else s)
  steps = [int(parallel.to_host(s.step)) for s in out]
  if len(set(steps)) == 1:
    return out, steps[0]
  common = max(set.intersection(*[
      {x for x in m.all_steps() if x <= min(steps)} | {0}
      for m in managers]))
  logging.warning("The runs of this group stopped at different steps (%s); "
                  "resuming all of them from step %d, the newest they all "
                  "hold (newer checkpoints are moved aside).",
                  ", ".join(f"{os.path.basename(w)} {s}"
                            for w, s in zip(workdirs, steps)), common)
  for i, m in enumerate(managers):
    if steps[i] == common:
      continue
    for later in sorted(x for x in m.all_steps() if x > common):
      ckpt.set_aside(m.directory, str(later), "ahead-of-group",
                     f"the group resumes from step {common}, the newest "
                     "step every run of it holds")
    m.reload()
    if common:
      out[i], _ = ckpt.restore_latest(m, ckpt.abstract(states[i]),
                                      step=common)
    else:
      out[i] = states[i]
  return out, common


def _open_runs(configs, workdirs):
  """(configs, managers): each run's checkpoint manager, after checking
  that a workdir holding checkpoints holds this run (another run's stops
  with ``WorkdirMismatchError`` before anything is written) and taking the
  batch order and resize-conv form the run began with (``kept_of_run``)."""
  configs = list(configs)
  t = configs[0].train
  managers = []
  try:
    for i, (c, w) in enumerate(zip(configs, workdirs)):
      managers.append(ckpt.make_manager(w, t.keep_checkpoints,
                                        t.async_checkpoint))
      if ckpt.holds_checkpoints(managers[-1]):
        saved = ckpt.check_same_run(w, c)
        if saved is None:  # no config.json: the checkpoints' own config
          saved = ckpt.checkpoint_config(managers[-1])
        configs[i] = kept_of_run(c, saved)
    check_group(configs)
  except Exception:
    for m in managers:
      m.close()
    raise
  for w in workdirs:
    os.makedirs(os.path.join(w, "samples"), exist_ok=True)
  return configs, managers


def _training_data(config):
  """The training split, with combined (medium, name) labels when the
  medium is a condition; logged."""
  data = data_lib.load(config.data, config.data.split)
  if cgan.num_media(config) > 1:  # labels: medium * names + name
    data = data_lib.medium_conditioned(data, common.media_list(config.data))
  n = data.num_classes
  shown = data.class_names if n <= 12 else (
      data.class_names[:3] + ["..."] + data.class_names[-2:])
  logging.info("Data: %d images, %d classes (%s) from %s.", len(data.labels),
               n, ", ".join(shown), data.source)
  return data


def _run_meta(config, data) -> dict:
  """What every checkpoint of a run carries besides its state."""
  meta = {"class_names": list(data.class_names),
          "num_classes": data.num_classes,
          "image_size": config.data.image_size,
          "config": _config_dict(config)}
  if "condition_media" in data.meta:  # labels = medium * names + name
    meta.update(condition_names=data.meta["condition_names"],
                condition_media=data.meta["condition_media"])
  return meta


def _same_classes(meta, workdir):
  """``restore_latest``'s ``check_meta``: a checkpoint of other classes
  belongs to another run."""
  def check(old_meta):
    if list(old_meta.get("class_names", meta["class_names"])) != \
        meta["class_names"]:
      return (f"{ckpt.checkpoint_dir(workdir)} was trained on classes "
              f"{old_meta['class_names']} but config.data now gives "
              f"{meta['class_names']}; use a new --workdir (nothing was "
              "moved or changed).")
    return None
  return check


def _make_dispatch(configs, data, mesh, gan, start, state, many):
  """(dispatch(state, acc, count) -> (state, acc, step marker), steps per
  call, the metric sums' zero pytree on the host): the compiled loop step
  over the device-resident data or fed from the host."""
  config = configs[0]
  resident, reason = resolve_data_path(config, data, mesh)
  order = config.data.batch_order
  per_call = steps_per_dispatch(config, resident)
  logging.info("Training data: %s (%s); batch order %r%s.",
               "resident on the device" if resident else "fed from the host",
               reason, order,
               f"; {per_call} steps per call" if per_call > 1 else "")
  n = data.num_classes
  # With train.d_steps = k a step consumes k real batches (one per D update).
  real_batch = train_lib.real_batch_size(config, gan)
  seeds = [int(c.seed) for c in configs] if many else None
  # Host copies: each log interval starts from fresh device buffers (the
  # step donates the sums it is given).
  acc0 = jax.tree.map(np.asarray, train_lib.init_metric_sums(
      train_lib.metric_names(config, n, _take(state, 0, many), gan=gan)))
  if many:
    acc0 = _stack([acc0] * len(configs))
  if resident:
    step_fn = train_lib.jit_loop_step(config, n, mesh, len(data),
                                      multi=per_call > 1, seeds=seeds,
                                      gan=gan)
    all_data = parallel.replicate(
        (np.asarray(data.images, np.float32),
         np.asarray(data.labels, np.int32)), mesh)

    def dispatch(state, acc, count):
      if per_call > 1:
        return step_fn(state, acc, *all_data,
                       parallel.replicate(np.int32(count), mesh))
      return step_fn(state, acc, *all_data)
    return dispatch, per_call, acc0

  step_fn = train_lib.jit_loop_step(config, n, mesh, seeds=seeds, gan=gan)
  if order == batch_order.LEGACY_BATCH_ORDER:
    streams = [data_lib.train_dataset(
        data, real_batch, seed=config.seed,
        start_step=start).as_numpy_iterator()]
  else:
    streams = [data_lib.permutation_batches(data, real_batch, c.seed,
                                            start_step=start)
               for c in configs]

  def dispatch(state, acc, count):
    del count  # always 1 here
    if not many:
      return step_fn(state, acc,
                     *parallel.shard_batch(next(streams[0]), mesh))
    batches = [next(it) for it in streams]
    stacked = (np.stack([b[0] for b in batches]),
               np.stack([b[1] for b in batches]))
    return step_fn(state, acc, *parallel.shard_batch(stacked, mesh,
                                                     leading=1))
  return dispatch, per_call, acc0


class _RunLogs:
  """Every run's log outputs (metrics.jsonl, TensorBoard, log lines) and
  the group's one progress display; ``rows`` turns a log interval's
  metric sums into each run's row, ``write`` writes them: the one place
  per log boundary."""

  def __init__(self, configs, workdirs, probes, start):
    self.configs, self.workdirs, self.probes = configs, workdirs, probes
    self.many = len(configs) > 1
    self.t = configs[0].train
    is_main = jax.process_index() == 0
    self.writers = [metric_writers.create_default_writer(
        w, just_logging=not is_main, asynchronous=True) for w in workdirs]
    self.jsonls = ([open(os.path.join(w, "metrics.jsonl"), "a")
                    for w in workdirs] if is_main
                   else [None] * len(workdirs))
    self.progress = console.Progress(
        self.t.steps,
        title=f"train {len(configs)} seeds" if self.many else "train",
        unit="step", start=start,
        items_per_unit=self.t.batch_size * len(configs), enabled=is_main)
    self.window = {"t0": time.time(), "start": start}

  def restart_clock(self, step):
    """The rate counts from here (after the first call's compile)."""
    self.window.update(t0=time.time(), start=step)

  def rows(self, step, hosts, n_steps, state):
    """Each run's host metrics row of the interval that ends at ``step``:
    means over its ``n_steps`` steps, the latest values of ``_LATEST``, the
    D overfitting probe's ``_PROBED`` (measured now, on the state at
    ``step``) and the rate (from the interval's wall time)."""
    now = time.time()
    rate = (step - self.window["start"]) / max(now - self.window["t0"], 1e-9)
    self.window.update(t0=now, start=step)
    batch, out = self.t.batch_size, []
    for i, host in enumerate(hosts):
      row = {k: float(v) / n_steps for k, v in host["sums"].items()}
      row.update({k: float(v) for k, v in host["latest"].items()})
      if self.probes[i] is not None:
        probed = self.probes[i].measure(_take(state.params_d, i, self.many),
                                        _take(state.spectral_d, i, self.many))
        row.update({k: float(v) for k, v in parallel.to_host(probed).items()})
      row.update(steps_per_sec=rate, images_per_sec=rate * batch)
      if self.many:  # the program's throughput: every seed's images
        row["group_images_per_sec"] = rate * batch * len(hosts)
      out.append(row)
    return out

  def write(self, step, rows):
    for i, row in enumerate(rows):
      self.writers[i].write_scalars(step, row)
      if self.jsonls[i]:
        self.jsonls[i].write(json.dumps({"step": step, **row}) + "\n")
        self.jsonls[i].flush()
      # The console shows the progress display instead of this line.
      logging.info("%sstep %d/%d  d_loss %.4f  g_loss %.4f  D(real) acc "
                   "%.2f  D(fake) acc %.2f  %.2f steps/s%s",
                   f"seed {self.configs[i].seed}: " if self.many else "",
                   step, self.t.steps, row["d_loss"], row["g_loss"],
                   row["d_real_acc"], row["d_fake_acc"], row["steps_per_sec"],
                   (f"  ada_p {row['ada_p']:.3f}" if "ada_p" in row else "")
                   + (f"  D acc train/val reals {row['d_train_acc']:.2f}/"
                      f"{row['d_val_acc']:.2f}" if "d_val_acc" in row
                      else ""),
                   extra=console.FILE_ONLY)
    self.progress.update(step, shown_metrics(rows), log=True)

  def close(self):
    self.progress.close()
    for writer in self.writers:
      writer.close()
    for jsonl in self.jsonls:
      if jsonl:
        jsonl.close()


def _read_sums(acc, configs, workdirs, managers, first, step) -> list:
  """A log interval's metric sums on the host (the one read of device
  values between log boundaries), one dict per run; raises
  NonFiniteLossError when a step of steps ``first``..``step`` had a
  non-finite metric."""
  many = len(configs) > 1
  host = parallel.to_host(acc)
  hosts = [_take(host, i, many) for i in range(len(configs))]
  for i, h in enumerate(hosts):
    bad_step = int(h["bad_step"])
    if bad_step == train_lib.NO_BAD_STEP:
      continue
    values = {**h["sums"], **h["latest"]}
    bad = sorted(k for k, v in values.items() if not math.isfinite(v))
    which = f"seed {configs[i].seed} ({workdirs[i]}): " if many else ""
    raise train_lib.NonFiniteLossError(
        f"{which}Non-finite {', '.join(bad) or 'metrics'} at step "
        f"{bad_step} (the first in the log interval of steps {first}-{step}"
        f"); stopping. The last good checkpoint is step "
        f"{managers[i].latest_step()} in {ckpt.checkpoint_dir(workdirs[i])}.")
  return hosts


def run_group(configs, workdirs, cache_dir: str = ""):
  """Trains (or resumes) ``configs[i]`` in ``workdirs[i]``, configs that
  differ in seed only, as one program (one run: the ordinary loop); returns
  the final states.

  Several seeds: ``jax.vmap`` of the loop step over the stacked states
  (``sigjax.train.make_loop_step``'s ``seeds``); every run keeps its own
  checkpoints, config.json, metrics, TensorBoard events and sample grids,
  exactly as a single run writes them, and one progress display shows the
  group. Every boundary (log, sample, checkpoint, stop) is every run's.
  """
  check_group(list(configs))
  many = len(configs) > 1
  parallel.maybe_initialize_distributed()
  parallel.setup_compilation_cache(
      cache_dir or configs[0].compilation_cache_dir
      or parallel.default_cache_dir(workdirs[0]))
  configs, managers = _open_runs(configs, workdirs)
  config, t = configs[0], configs[0].train
  data = _training_data(config)
  mesh = parallel.make_mesh()
  parallel.check_batch_size(t.batch_size, mesh, "config.train.batch_size")
  logging.info("Mesh: %d devices over %d processes.", mesh.devices.size,
               jax.process_count())
  if many:
    logging.info("Seeds %s in one program, runs in %s.",
                 ", ".join(str(c.seed) for c in configs), ", ".join(workdirs))
  metas = [_run_meta(c, data) for c in configs]
  gan = train_lib.resolve(config, data.num_classes)  # options and models, once
  state, start = _start_group(configs, workdirs, managers, metas, mesh, gan)
  if start >= t.steps:
    return state
  dispatch, per_call, acc0 = _make_dispatch(configs, data, mesh, gan, start,
                                            state, many)
  probes = make_probes(configs, data.num_classes, data, mesh, gan=gan)
  sampler = train_lib.make_sampler(config, data.num_classes, gan=gan)
  noise = [train_lib.fixed_noise(c, data.num_classes) for c in configs]
  logs = _RunLogs(configs, workdirs, probes, start)

  def save_and_draw(step, save, draw):
    for i, (c, w) in enumerate(zip(configs, workdirs)):
      mine = _take(state, i, many)
      if save:
        ckpt.save(managers[i], step, mine, metas[i])
      if draw:  # the EMA generator when train.ema_decay > 0
        write_samples(sampler, train_lib.sampling_variables(c, mine, gan),
                      *noise[i], data.class_names, t.samples_per_class,
                      os.path.join(w, "samples", f"step_{step}.png"),
                      title=f"step {step}" + (f", seed {c.seed}" if many
                                              else ""))

  def next_boundary(step):
    return min(t.steps, *((step // every + 1) * every for every in (
        t.log_every, t.checkpoint_every, t.sample_every)))

  acc = parallel.replicate(acc0, mesh)
  acc_start = start  # the first step of the sums in ``acc`` is acc_start + 1
  inflight = collections.deque()  # (step, its not-yet-ready step output)
  step, t_first = start, time.time()
  try:
    with _StopFlag() as stop:
      while step < t.steps:
        count = min(per_call, next_boundary(step) - step)
        state, acc, marker = dispatch(state, acc, count)
        step += count
        if step == start + count:
          jax.block_until_ready(marker)
          logging.info("First call (compile + run) took %.1f s.",
                       time.time() - t_first)
          logs.restart_clock(step)
        # Progress without waiting: the steps the device has finished.
        inflight.append((step, marker))
        while inflight and inflight[0][1].is_ready():
          logs.progress.update(inflight.popleft()[0])
        done = step == t.steps or stop.signum is not None
        at_log = step % t.log_every == 0 or step == t.steps
        at_checkpoint = step % t.checkpoint_every == 0 or done
        at_sample = step % t.sample_every == 0 or step == t.steps
        if not (at_log or at_checkpoint or at_sample or done):
          continue
        # A boundary: read the sums (checks that every step was finite
        # before anything is saved).
        inflight.clear()
        hosts = _read_sums(acc, configs, workdirs, managers, acc_start + 1,
                           step)
        if at_log:
          logs.write(step, logs.rows(step, hosts, step - acc_start, state))
          acc, acc_start = parallel.replicate(acc0, mesh), step
        else:
          logs.progress.update(step)
        save_and_draw(step, at_checkpoint, at_sample)
        if done:
          break
  finally:
    logs.close()
    for m in managers:
      m.wait_until_finished()
      m.close()
  if step < t.steps:
    logging.warning("Stopped at step %d by signal; run the same command to "
                    "resume.", step)
  else:
    logging.info("Training finished at step %d; checkpoints in %s.", step,
                 ", ".join(ckpt.checkpoint_dir(w) for w in workdirs))
  return [_take(state, i, many) for i in range(len(configs))]


def _start_group(configs, workdirs, managers, metas, mesh, gan):
  """(state, start): every run's fresh state restored from its newest
  checkpoint, the group brought to one step (``_restore_group``), each
  run's config.json written and its metrics trimmed to that step. When
  the runs are already trained, the managers are closed and ``state`` is
  the list of the runs' states; otherwise it is the group's state (stacked
  on a leading seed axis for several runs)."""
  n = metas[0]["num_classes"]
  states = [parallel.replicate(train_lib.create_state(c, n, gan=gan), mesh)
            for c in configs]
  logging.info("Parameters: %s", parameter_overview(states[0]))
  checks = [_same_classes(m, w) for m, w in zip(metas, workdirs)]
  try:
    states, start = _restore_group(managers, states, checks.__getitem__,
                                   workdirs)
  except Exception:
    for m in managers:
      m.close()
    raise
  if jax.process_index() == 0:
    for c, w in zip(configs, workdirs):
      with open(os.path.join(w, "config.json"), "w") as f:
        f.write(c.to_json_best_effort(indent=2))
      _trim_metrics(os.path.join(w, "metrics.jsonl"), start)
  if start:
    logging.info("Resumed from step %d.", start)
  t = configs[0].train
  if start >= t.steps:
    logging.info("Already trained to step %d (config.train.steps=%d).", start,
                 t.steps)
    for m in managers:
      m.close()
    return states, start
  if len(configs) > 1:
    return parallel.replicate(_stack(parallel.to_host(states)), mesh), start
  return states[0], start


def shown_metrics(rows) -> dict:
  """The progress display's metrics of one log interval: a run's, or for
  a group the mean over its runs (D's train/val accuracy as each run's)."""
  mean = lambda k: sum(r[k] for r in rows) / len(rows)
  shown = {"d_loss": mean("d_loss"), "g_loss": mean("g_loss"),
           # D's accuracy on each side, not its output: "D(fake)" read
           # as a probability made 0.98 look like a fooled D.
           "D acc real": mean("d_real_acc"),
           "D acc fake": mean("d_fake_acc")}
  if all("d_val_acc" in r for r in rows):  # held-out reals: memorising
    shown["D acc train/val"] = " ".join(      # shows as a gap
        f"{r['d_train_acc']:.2f}/{r['d_val_acc']:.2f}" for r in rows)
  if all("ada_p" in r for r in rows):
    shown["ada_p"] = (rows[0]["ada_p"] if len(rows) == 1 else
                      " ".join(f"{r['ada_p']:.3f}" for r in rows))
  return shown
