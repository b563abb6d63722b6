r"""Ablation runner: train + evaluate every (variant, seed) of a sweep, then
tabulate mean ± std over seeds.

    python -m ablations.run --sweep=ablations/smoke/smoke.py --workdir=OUT \
        [--only=variant[,variant]] [--shard=i/n] [--dry_run] [--collect_only]
        [--seeds_in_program=S]

A sweep file defines ``get_sweep()`` returning a dict:

* ``description``: one paragraph, copied into results.md;
* ``base``: a training ConfigDict: ``configs/cgan.py`` ``get_config('paper')``
  with the sweep's base overrides (``ablations.bases.on_paper``), so that a
  sweep means the same thing after a preset changes; the committed sweeps
  keep a snapshot of it beside them (``<sweep>.base.json``);
* ``variants``: a list of ``(name, {dotted.field: value})`` (or a dict with
  the same items, in order); an empty dict is the base itself;
* ``seeds``: the ``config.seed`` values each variant is trained with;
* ``eval``: ``{'preset': 'cpu', 'overrides': {dotted.field: value}}`` for
  ``configs/evaluate.py`` (optional; default the ``cpu`` preset).

Layout of OUT: ``<variant>/seed_<s>/train`` (the training workdir, resumed from
its Orbax checkpoints), ``<variant>/seed_<s>/eval`` (report.json/report.md),
``<variant>/seed_<s>/run.json`` (what the run is: overrides + seed),
``<variant>/seed_<s>/DONE`` (written after report.json exists: a re-run skips
the run), ``results.csv`` and ``results.md`` (one row per variant) and
``results_runs.csv`` (one row per finished run).

Every override (and the evaluation overrides) is applied to the config it
names before anything trains; an unknown field or a value of the wrong type
stops the sweep with a ``SweepError`` naming the field and the sweep file, and
each variant's train step is traced once (shapes only) so a bad switch value
is caught then too. The evaluation always uses the full real data
(``data.fraction = 1.0``) so that runs trained on a fraction are scored
against the same classifier and FID reference as the others. ``--shard=i/n``
takes every n-th job starting at i, so n processes (or hosts) can share one
OUT; each writes the tables from whatever has finished, and ``--collect_only``
rewrites them at the end. ``--seeds_in_program=S`` (0: all) trains a
variant's seeds S at a time as one program (``train.num_seeds``: jax.vmap
over the seeds; each run keeps its own ``train`` folder) before evaluating
them one by one; a run that stands at another checkpoint step than its
siblings trains alone.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import importlib.util
import json
import math
import os
import re
import signal
import sys
import time
from typing import Any, Optional, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import logging  # pylint: disable=g-import-not-at-top
import ml_collections
import numpy as np

# The per-variant table: report.json key -> column (sigjax.evaluate's keys;
# an experiment left out of eval.experiments leaves its columns blank).
METRICS = ("cas_accuracy", "indep_cas_accuracy", "tstr_accuracy", "fid",
           "fid_half", "fid_real_vs_real", "kid", "precision", "recall",
           "realfake_accuracy", "realfake_balanced_accuracy",
           "detector_competent", "strokes_components", "strokes_speckle",
           "copies_share")
# Column -> (results.md heading, digits).
_HEADS = {"cas_accuracy": ("CAS ↑", 3),
          "indep_cas_accuracy": ("indep. CAS ↑", 3),
          "tstr_accuracy": ("TSTR ↑", 3), "fid": ("FID ↓", 2),
          "fid_half": ("FID half ↓", 2),
          "fid_real_vs_real": ("FID floor", 2), "kid": ("KID ↓", 4),
          "precision": ("precision ↑", 3), "recall": ("recall ↑", 3),
          "realfake_accuracy": ("real/fake acc ↓", 3),
          "realfake_balanced_accuracy": ("real/fake bal. acc ↓", 3),
          "detector_competent": ("detector competent", 2),
          "strokes_components": ("ink components/image", 2),
          "strokes_speckle": ("ink in specks", 3),
          "copies_share": ("near-copies of train ↓", 3),
          "d_memorises_from": ("D memorises from step", 0),
          "train_time_s": ("train time (s)", 0), "steps": ("steps", 0)}
# d_memorises_from: sigjax.train_loop.overfit_onset of the run's metrics
# (blank: D never scored its training reals 0.10 above held-out ones).
COLUMNS = METRICS + ("d_memorises_from", "train_time_s", "steps")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=-]*$")


class SweepError(ValueError):
  """The sweep file or a command-line setting is unusable (named)."""


@dataclasses.dataclass
class Sweep:
  base: ml_collections.ConfigDict
  variants: list  # [(name, {dotted: value})]
  seeds: list
  eval_preset: str = "cpu"
  eval_overrides: dict = dataclasses.field(default_factory=dict)
  description: str = ""
  path: str = "<sweep>"


@dataclasses.dataclass
class Job:
  variant: str
  seed: int
  overrides: dict
  train_config: ml_collections.ConfigDict
  eval_config: ml_collections.ConfigDict
  dir: str

  @property
  def train_dir(self):
    return os.path.join(self.dir, "train")

  @property
  def eval_dir(self):
    return os.path.join(self.dir, "eval")

  @property
  def done_path(self):
    return os.path.join(self.dir, "DONE")


# ------------------------------------------------------------ the sweep --


def load_sweep(path: str) -> Sweep:
  """Imports ``path`` and checks what its ``get_sweep()`` returns."""
  if not os.path.isfile(path):
    raise SweepError(f"--sweep={path}: no such file")
  spec = importlib.util.spec_from_file_location(
      "sigjax_sweep_" + re.sub(r"\W", "_", os.path.basename(path)), path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, "get_sweep"):
    raise SweepError(f"{path}: defines no get_sweep()")
  return as_sweep(module.get_sweep(), path)


def as_sweep(spec, path: str = "<sweep>") -> Sweep:
  """A ``Sweep`` from the dict a sweep file returns (or a ``Sweep``)."""
  if isinstance(spec, Sweep):
    spec.path = spec.path if spec.path != "<sweep>" else path
    return spec
  if not isinstance(spec, dict):
    raise SweepError(f"{path}: get_sweep() must return a dict, got "
                     f"{type(spec).__name__}")
  unknown = set(spec) - {"base", "variants", "seeds", "eval", "description"}
  if unknown:
    raise SweepError(f"{path}: get_sweep() returned unknown keys "
                     f"{sorted(unknown)}; use base, variants, seeds, eval, "
                     "description")
  for key in ("base", "variants", "seeds"):
    if key not in spec:
      raise SweepError(f"{path}: get_sweep() has no {key!r}")
  if not isinstance(spec["base"], ml_collections.ConfigDict):
    raise SweepError(f"{path}: 'base' must be a ConfigDict (e.g. "
                     "configs/cgan.py get_config('cpu'))")
  variants = spec["variants"]
  variants = list(variants.items()) if isinstance(variants, dict) else list(
      variants)
  if not variants:
    raise SweepError(f"{path}: 'variants' is empty")
  names = []
  for item in variants:
    if (not isinstance(item, (tuple, list)) or len(item) != 2 or
        not isinstance(item[1], dict)):
      raise SweepError(f"{path}: each variant must be (name, {{field: value}}),"
                       f" got {item!r}")
    name = item[0]
    if not isinstance(name, str) or not _NAME_RE.match(name):
      raise SweepError(f"{path}: variant name {name!r} must be letters, digits "
                       "and _.+=- (it names a folder)")
    if name in names:
      raise SweepError(f"{path}: variant {name!r} is defined twice")
    names.append(name)
  seeds = list(spec["seeds"])
  if not seeds or any(not isinstance(s, int) or isinstance(s, bool)
                      for s in seeds) or len(set(seeds)) != len(seeds):
    raise SweepError(f"{path}: 'seeds' must be distinct ints, got {seeds!r}")
  ev = dict(spec.get("eval") or {})
  bad = set(ev) - {"preset", "overrides"}
  if bad:
    raise SweepError(f"{path}: 'eval' has unknown keys {sorted(bad)}; use "
                     "preset, overrides")
  return Sweep(base=spec["base"], variants=[(n, dict(o)) for n, o in variants],
               seeds=seeds, eval_preset=ev.get("preset", "cpu"),
               eval_overrides=dict(ev.get("overrides") or {}),
               description=str(spec.get("description", "")), path=path)


def apply_overrides(config, overrides: dict, where: str):
  """A copy of ``config`` with dotted ``overrides`` set; each field must exist
  and take the value's type. ``where`` names the sweep file and variant."""
  config = ml_collections.ConfigDict(config.to_dict())  # deep, unlocked copy
  for dotted, value in overrides.items():
    parts = str(dotted).split(".")
    node = config
    for i, part in enumerate(parts):
      if not isinstance(node, ml_collections.ConfigDict) or part not in node:
        prefix = ".".join(parts[:i]) or "the config"
        known = (sorted(node.keys()) if isinstance(
            node, ml_collections.ConfigDict) else [])
        raise SweepError(
            f"{where}: unknown config field {dotted!r} ({prefix} has no "
            f"{part!r}; it has {', '.join(known)})")
      if i < len(parts) - 1:
        node = node[part]
    if isinstance(node[parts[-1]], ml_collections.ConfigDict):
      raise SweepError(f"{where}: {dotted!r} is a group of fields; set its "
                       "members (e.g. " f"{dotted}.<field>)")
    try:
      setattr(node, parts[-1], value)
    except (TypeError, ValueError) as e:
      raise SweepError(f"{where}: cannot set {dotted}={value!r}: {e}") from e
  return config


def plan(sweep: Sweep, workdir: str,
         only: Optional[Sequence[str]] = None) -> list:
  """Every (variant, seed) job with its resolved train and eval configs.

  Raises ``SweepError`` (naming the field and sweep file) before anything
  trains when an override does not fit the config.
  """
  from configs import common  # pylint: disable=g-import-not-at-top
  from configs import evaluate as eval_configs  # pylint: disable=g-import-not-at-top
  names = [n for n, _ in sweep.variants]
  if only:
    missing = [o for o in only if o not in names]
    if missing:
      raise SweepError(f"--only: {missing} not in {sweep.path} (variants: "
                       f"{', '.join(names)})")
  try:
    eval_base = eval_configs.get_config(sweep.eval_preset)
  except ValueError as e:
    raise SweepError(f"{sweep.path}: eval preset: {e}") from e
  eval_base.data.fraction = 1.0  # score every run against the full real data
  eval_base = apply_overrides(eval_base, sweep.eval_overrides,
                              f"{sweep.path} (eval overrides)")
  cache = sweep.base.get("compilation_cache_dir", "") or os.path.join(
      os.path.abspath(workdir), ".jax_cache")
  jobs = []
  for name, overrides in sweep.variants:
    if only and name not in only:
      continue
    if "seed" in overrides:
      raise SweepError(f"{sweep.path} (variant {name}): 'seed' is set by "
                       "the sweep's seeds, not by a variant")
    cfg = apply_overrides(sweep.base, overrides,
                          f"{sweep.path} (variant {name})")
    check = getattr(common, "check_gan_options", None)
    if check is not None:
      try:
        check(cfg)
      except ValueError as e:
        raise SweepError(f"{sweep.path} (variant {name}): {e}") from e
    for seed in sweep.seeds:
      tc = ml_collections.ConfigDict(cfg.to_dict())
      tc.seed = int(seed)
      tc.compilation_cache_dir = cache
      run_dir = os.path.join(workdir, name, f"seed_{seed}")
      ec = ml_collections.ConfigDict(eval_base.to_dict())
      ec.gan_workdir = os.path.join(run_dir, "train")
      jobs.append(Job(name, int(seed), dict(overrides), tc, ec, run_dir))
  return jobs


def run_name(run: str) -> str:
  """A readable name for a training workdir: its folder name, or for the
  ablation runner's ``VARIANT/seed_S/train`` layout ``VARIANT_seed_S``."""
  parts = [p for p in os.path.normpath(run).split(os.sep) if p]
  if len(parts) > 1 and parts[-1] == "train":
    parts = parts[:-1]
  if len(parts) > 1 and re.fullmatch(r"seed_\d+", parts[-1]):
    return f"{parts[-2]}_{parts[-1]}"
  return parts[-1] if parts else run


def check_traces(sweep: Sweep, jobs: list) -> None:
  """Traces each variant's train step once (shapes only, no compile), so a
  bad switch value fails here rather than after other variants trained."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from sigjax import train as train_lib  # pylint: disable=g-import-not-at-top
  from sigjax.models import cgan  # pylint: disable=g-import-not-at-top
  seen = set()
  for job in jobs:
    if job.variant in seen:
      continue
    seen.add(job.variant)
    c = job.train_config
    # Only shapes matter here (names x media with the medium a condition).
    n = int(c.data.num_classes) * cgan.num_media(c)
    s, b = int(c.data.image_size), int(c.train.batch_size)
    try:
      state = jax.eval_shape(lambda c=c: train_lib.create_state(c, n))
      jax.eval_shape(train_lib.make_train_step(c, n), state,
                     jax.ShapeDtypeStruct((b, s, s, 1), jnp.float32),
                     jax.ShapeDtypeStruct((b,), jnp.int32))
    except Exception as e:  # pylint: disable=broad-except
      raise SweepError(f"{sweep.path} (variant {job.variant}): the config "
                       f"does not build a train step: {type(e).__name__}: "
                       f"{e}") from e


# ------------------------------------------------------------ running --


def _read_json(path, default=None):
  if not os.path.isfile(path):
    return default
  with open(path) as f:
    return json.load(f)


def _write_json(path, obj):
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w") as f:
    json.dump(obj, f, indent=2, sort_keys=True, default=str)
  os.replace(tmp, path)


def status(job: Job) -> str:
  if os.path.isfile(job.done_path):
    return "done"
  if os.path.isdir(job.train_dir) or os.path.isdir(job.eval_dir):
    return "partial"
  return "new"


def _check_identity(job: Job, sweep: Sweep):
  """run.json records what a run is; refuses to resume a different one."""
  path = os.path.join(job.dir, "run.json")
  ident = {"variant": job.variant, "seed": job.seed,
           "overrides": json.loads(json.dumps(job.overrides, default=str))}
  old = _read_json(path)
  if old is not None and old != ident:
    raise SweepError(
        f"{job.dir} holds a run with {old}, but {sweep.path} now asks for "
        f"{ident}; use a new --workdir or delete that folder")
  if old is None:
    os.makedirs(job.dir, exist_ok=True)
    _write_json(path, ident)


class Interrupted(RuntimeError):
  """Training stopped on a signal before its last step."""


@contextlib.contextmanager
def stop_on_sigterm():
  """SIGTERM outside training (an evaluation, the tables) raises
  ``Interrupted`` with what to do, instead of killing the runner without a
  word. Training installs its own handler (checkpoint, then stop) and puts
  this one back when it returns."""

  def handle(signum, frame):
    del frame
    raise Interrupted(
        f"stopped by {signal.Signals(signum).name}; finished runs are kept; "
        "run the same command to resume (an unfinished evaluation starts "
        "again)")

  old = signal.signal(signal.SIGTERM, handle)
  try:
    yield
  finally:
    signal.signal(signal.SIGTERM, old)


def run_job(job: Job, sweep: Sweep) -> dict:
  """Trains (resuming) and evaluates one run; returns its DONE record."""
  from sigjax import evaluate  # pylint: disable=g-import-not-at-top
  from sigjax import train_loop  # pylint: disable=g-import-not-at-top
  _check_identity(job, sweep)
  timing_path = os.path.join(job.dir, "train_time.json")
  timing = _read_json(timing_path, {"train_time_s": 0.0, "attempts": 0})
  logging.info("=== %s seed %d: training in %s", job.variant, job.seed,
               job.train_dir)
  t0 = time.time()
  state = train_loop.run(job.train_config, job.train_dir)
  steps = int(np.asarray(state.step))
  if steps > int(timing.get("steps", 0)):  # this call trained something
    timing["train_time_s"] += time.time() - t0
    timing["attempts"] += 1
    timing["steps"] = steps
    _write_json(timing_path, timing)
  if steps < job.train_config.train.steps:
    raise Interrupted(f"{job.variant} seed {job.seed} stopped at step "
                      f"{steps}; run the same command to resume")
  report_path = os.path.join(job.eval_dir, "report.json")
  report = _read_json(report_path)
  if report is None:
    logging.info("=== %s seed %d: evaluating into %s", job.variant, job.seed,
                 job.eval_dir)
    report = evaluate.run(job.eval_config, job.eval_dir)
  record = {k: report.get(k) for k in METRICS}
  record.update(variant=job.variant, seed=job.seed, steps=steps,
                train_time_s=timing["train_time_s"],
                eval_time_s=report.get("total_wall_time_s"))
  _write_json(job.done_path, record)
  return record


def _latest_step(train_dir: str) -> int:
  """The newest checkpoint step in a run's training workdir (0: none)."""
  from sigjax import checkpoint as ckpt  # pylint: disable=g-import-not-at-top
  if not os.path.isdir(ckpt.checkpoint_dir(train_dir)):
    return 0
  manager = ckpt.make_manager(train_dir, read_only=True)
  try:
    return max(manager.all_steps(), default=0)
  finally:
    manager.close()


def program_groups(jobs: list, seeds_in_program: int) -> list:
  """The jobs to train together: a variant's unfinished runs that stand at
  the same checkpoint step, ``seeds_in_program`` at a time (0: all of
  them), in plan order. Groups of one are left to ``run_job``."""
  if seeds_in_program == 1:
    return []
  chunks = {}
  for job in jobs:
    if status(job) == "done":
      continue
    key = (job.variant, _latest_step(job.train_dir))
    if key[1] >= job.train_config.train.steps:
      continue  # trained; only its evaluation is left
    chunks.setdefault(key, []).append(job)
  groups = []
  for members in chunks.values():
    size = seeds_in_program or len(members)
    groups += [members[i:i + size] for i in range(0, len(members), size)]
  return [g for g in groups if len(g) > 1]


def train_group(group: list, sweep: Sweep) -> None:
  """Trains a variant's runs as one program (``sigjax.train_loop.run_group``,
  ``train.num_seeds``' machinery); each run keeps its own training workdir,
  so ``run_job`` then finds it trained and only evaluates it. Each run's
  train_time.json gets the group's wall time divided by its size."""
  from sigjax import train_loop  # pylint: disable=g-import-not-at-top
  for job in group:
    _check_identity(job, sweep)
  seeds = ", ".join(str(job.seed) for job in group)
  logging.info("=== %s seeds %s: training as one program", group[0].variant,
               seeds)
  t0 = time.time()
  states = train_loop.run_group([job.train_config for job in group],
                                [job.train_dir for job in group],
                                cache_dir=group[0].train_config
                                .compilation_cache_dir)
  share = (time.time() - t0) / len(group)
  for job, state in zip(group, states):
    steps = int(np.asarray(state.step))
    path = os.path.join(job.dir, "train_time.json")
    timing = _read_json(path, {"train_time_s": 0.0, "attempts": 0})
    if steps > int(timing.get("steps", 0)):
      timing["train_time_s"] += share
      timing["attempts"] += 1
      timing["steps"] = steps
      timing["seeds_in_program"] = len(group)
      _write_json(path, timing)
    if steps < job.train_config.train.steps:
      raise Interrupted(f"{job.variant} seeds {seeds} stopped at step "
                        f"{steps}; run the same command to resume")


def _onset(train_dir: str):
  from sigjax import train_loop  # pylint: disable=g-import-not-at-top
  return train_loop.overfit_onset(train_loop.read_metrics(train_dir))


def collect(sweep: Sweep, workdir: str) -> list:
  """Per-variant summaries from the DONE records; writes the tables."""
  rows, runs = [], []
  for name, overrides in sweep.variants:
    records = []
    for seed in sweep.seeds:
      rec = _read_json(os.path.join(workdir, name, f"seed_{seed}", "DONE"))
      if rec is not None:
        rec["d_memorises_from"] = _onset(
            os.path.join(workdir, name, f"seed_{seed}", "train"))
        records.append(rec)
        runs.append(rec)
    row = {"variant": name, "n_seeds": len(records),
           "seeds_planned": len(sweep.seeds),
           "overrides": json.dumps(overrides, sort_keys=True, default=str)}
    for col in COLUMNS:
      vals = np.array([float(r[col]) for r in records
                       if r.get(col) is not None], np.float64)
      row[f"{col}_mean"] = float(vals.mean()) if len(vals) else math.nan
      row[f"{col}_std"] = (float(vals.std(ddof=1)) if len(vals) > 1
                           else math.nan)
    rows.append(row)
  os.makedirs(workdir, exist_ok=True)
  fields = (["variant", "n_seeds", "seeds_planned"] +
            [f"{c}_{s}" for c in COLUMNS for s in ("mean", "std")] +
            ["overrides"])
  _write_csv(os.path.join(workdir, "results.csv"), fields, rows)
  _write_csv(os.path.join(workdir, "results_runs.csv"),
             ["variant", "seed"] + list(COLUMNS) + ["eval_time_s"], runs)
  _write_text(os.path.join(workdir, "results.md"), results_markdown(sweep,
                                                                    rows))
  return rows


def _fmt_cell(v):
  if isinstance(v, float):
    return "" if not math.isfinite(v) else f"{v:.6g}"
  return v


def _write_csv(path, fields, rows):
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
    w.writeheader()
    for r in rows:
      w.writerow({k: _fmt_cell(r.get(k)) for k in fields})
  os.replace(tmp, path)


def _write_text(path, text):
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w") as f:
    f.write(text)
  os.replace(tmp, path)


def _pm(mean, std, digits):
  if not math.isfinite(mean):
    return "—"
  s = f"{mean:.{digits}f}"
  return s + (f" ± {std:.{digits}f}" if math.isfinite(std) else "")


def results_markdown(sweep: Sweep, rows: list) -> str:
  # Metric columns that no run filled (experiments not run) are left out.
  cols = [c for c in COLUMNS if c not in METRICS or any(
      math.isfinite(r[f"{c}_mean"]) for r in rows)]
  heads = ["variant"] + [_HEADS[c][0] for c in cols] + ["seeds", "overrides"]
  lines = [f"# Ablation: {os.path.basename(sweep.path)}", ""]
  if sweep.description:
    lines += [sweep.description.strip(), ""]
  lines += [
      "Mean ± sample std over seeds (std blank with one seed). CAS: real-data "
      "classifier's accuracy on generated images; TSTR: classifier trained on "
      "generated, tested on real; indep. CAS: the independent network's; "
      "FID/KID in the CAS classifier's feature space, FID half: at the "
      "sizes of its real-vs-real floor; precision/recall: Kynkäänniemi et "
      "al. 2019 in the same space; real/fake: the detector's accuracy and "
      "balanced accuracy (0.5 = indistinguishable), detector competent: "
      "share of runs whose detector passed its competence check; D "
      "memorises from step: the first logged step from which D's accuracy "
      "on its training reals exceeds that on held-out (validation) reals "
      "by 0.10 for three logs in a row (blank: never, or no probe). "
      f"Evaluation preset: `{sweep.eval_preset}`"
      + (f", overrides `{json.dumps(sweep.eval_overrides, default=str)}`"
         if sweep.eval_overrides else "") + ".", "",
      "| " + " | ".join(heads) + " |",
      "|" + "---|" * len(heads)]
  for r in rows:
    cells = [r["variant"]]
    cells += [_pm(r[f"{c}_mean"], r[f"{c}_std"], _HEADS[c][1]) for c in cols]
    n = f"{r['n_seeds']}" + ("" if r["n_seeds"] == r["seeds_planned"]
                             else f" of {r['seeds_planned']}")
    cells += [n, f"`{r['overrides']}`" if r["overrides"] != "{}" else "base"]
    lines.append("| " + " | ".join(str(c) for c in cells) + " |")
  return "\n".join(lines) + "\n"


def parse_shard(text: str):
  m = re.fullmatch(r"(\d+)/(\d+)", text or "0/1")
  if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
    raise SweepError(f"--shard={text}: use i/n with 0 <= i < n (e.g. 0/4)")
  return int(m.group(1)), int(m.group(2))


def run_sweep(sweep, workdir: str, only: Optional[Sequence[str]] = None,
              shard=(0, 1), dry_run: bool = False,
              collect_only: bool = False, seeds_in_program: int = 1) -> list:
  """Runs (or resumes) the sweep's jobs of this shard, then writes the tables.

  ``seeds_in_program`` = S > 1 (0: all) trains a variant's seeds S at a time
  as one program (``program_groups``), then evaluates each as before.

  ``sweep``: a ``Sweep``, the dict a sweep file's ``get_sweep()`` returns, or
  the sweep file's path. Returns the per-variant rows of results.csv (for
  ``dry_run``, the planned jobs instead).
  """
  if isinstance(sweep, str):
    sweep = load_sweep(sweep)
  else:
    sweep = as_sweep(sweep)
  if collect_only:
    return collect(sweep, workdir)
  i, n = shard
  jobs = plan(sweep, workdir, only)[i::n]
  check_traces(sweep, jobs)
  for job in jobs:
    logging.info("%-24s seed %-4d %-8s %s", job.variant, job.seed,
                 status(job), job.overrides or "base")
  if dry_run:
    for job in jobs:
      print(f"{status(job):8s} {job.variant} seed={job.seed} -> {job.dir} "
            f"overrides={job.overrides}")
    return jobs
  os.makedirs(workdir, exist_ok=True)
  from sigjax import console  # pylint: disable=g-import-not-at-top
  done = [job for job in jobs if status(job) == "done"]
  done_ids = {id(job) for job in done}
  for job in done:
    logging.info("=== %s seed %d: done, skipped", job.variant, job.seed)
  # One line per finished run (each run's training shows its own progress):
  # runs done out of this shard's, the run's scores, the time left.
  progress = console.Progress(len(jobs), title="sweep", unit="run",
                              start=len(done), warmup=False, live=False)
  groups = {id(job): g for g in program_groups(jobs, seeds_in_program)
            for job in g}
  for job in jobs:
    if id(job) in done_ids:
      continue
    if id(job) in groups and groups[id(job)][0] is job:
      train_group(groups[id(job)], sweep)
    record = run_job(job, sweep)
    collect(sweep, workdir)  # tables stay current as runs finish
    shown = {"run": f"{job.variant}/seed_{job.seed}"}
    shown.update({k: record[k] for k in ("cas_accuracy", "fid")
                  if isinstance(record.get(k), (int, float))})
    progress.update(progress.done + 1, shown, log=True)
  progress.close()
  return collect(sweep, workdir)


def main(argv):
  del argv
  if not FLAGS.sweep or not FLAGS.workdir:
    raise app.UsageError("--sweep and --workdir are required")
  from sigjax import console  # pylint: disable=g-import-not-at-top
  only = [s for s in (FLAGS.only or "").split(",") if s]
  try:
    t0 = time.time()
    sweep = load_sweep(FLAGS.sweep)
    shard = parse_shard(FLAGS.shard)
    if not FLAGS.collect_only:
      plan(sweep, FLAGS.workdir, only)  # a bad field stops before any write
    if not FLAGS.dry_run:  # a dry run writes nothing, not even a log
      log_path = console.setup(FLAGS.workdir, "sweep")
      logging.info("Sweep %s in %s; full log: %s", FLAGS.sweep,
                   os.path.abspath(FLAGS.workdir), log_path)
    if FLAGS.seeds_in_program < 0:
      raise SweepError(f"--seeds_in_program={FLAGS.seeds_in_program}: use "
                       "0 (all of a variant's seeds), 1 or more")
    with stop_on_sigterm():
      run_sweep(sweep, FLAGS.workdir, only=only, shard=shard,
                dry_run=FLAGS.dry_run, collect_only=FLAGS.collect_only,
                seeds_in_program=FLAGS.seeds_in_program)
    if not FLAGS.dry_run:
      print(open(os.path.join(FLAGS.workdir, "results.md")).read())
      print(f"sweep wall time {time.time() - t0:.1f} s")
  except (SweepError, Interrupted) as e:
    print(f"error: {e}", file=sys.stderr)
    if isinstance(e, Interrupted):
      # Stopped by a signal (mid-evaluation, TensorFlow's and XLA's native
      # threads may still be at work, and the interpreter's teardown then
      # crashed: a segmentation fault after the message, seen 2026-12-03):
      # every result is on disk, so flush and leave without the teardown.
      logging.flush()
      sys.stdout.flush()
      sys.stderr.flush()
      os._exit(2)  # pylint: disable=protected-access
    sys.exit(2)
  except Exception as e:  # pylint: disable=broad-except
    if any(c.__name__ in ("DataError", "CheckpointError", "ConfigError",
                          "EvaluationError", "NonFiniteLossError")
           for c in type(e).__mro__):  # WorkdirMismatchError: a CheckpointError
      print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
      sys.exit(2)
    raise


if __name__ == "__main__":
  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("sweep", None,
                      "Sweep file (ablations/<study>/<name>.py).")
  flags.DEFINE_string("workdir", None, "Where the sweep writes.")
  flags.DEFINE_string("only", "", "Comma-separated variant names to run.")
  flags.DEFINE_string("shard", "0/1", "i/n: run every n-th job from i.")
  flags.DEFINE_bool("dry_run", False, "Validate and print the plan only.")
  flags.DEFINE_bool("collect_only", False, "Only (re)write the tables.")
  flags.DEFINE_integer(
      "seeds_in_program", 1,
      "Train a variant's seeds this many at a time as one program "
      "(train.num_seeds; 0: all of them). 1: one run after another.")
  FLAGS = flags.FLAGS
  from sigjax import console  # pylint: disable=g-import-not-at-top
  app.run(main, argv=console.expand_verbose_flag(sys.argv))
