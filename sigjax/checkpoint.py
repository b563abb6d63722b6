"""Orbax checkpoints of a training run: save, keep the last K, restore.

A checkpoint holds two items: ``state`` (the whole train state: parameters,
optimizer state, BatchNorm statistics, step and PRNG key) and ``meta`` (JSON:
class names, image size, step), so that ``sigjax.inference`` can rebuild a
generator from the directory alone. Orbax writes each step to a temporary
directory (``<step>.orbax-checkpoint-tmp``) and renames it when complete, so
a run killed mid-save leaves the previous checkpoints intact.

When training resumes (``restore_latest(..., move_aside=True)``):

* an unfinished save (a temporary directory left by a killed process) and a
  checkpoint that is there but unreadable (truncated or overwritten files)
  are moved aside, never deleted: renamed ``<step>.unfinished-<time>`` /
  ``<step>.unreadable-<time>`` in the same folder, names Orbax does not read
  as steps, with the reason in the log. The newest readable checkpoint is
  used and the run saves that step number again later without conflict.
* a checkpoint whose state has other shapes or fields than the config's (a
  workdir holding a run of another config) is not unreadable: it raises
  ``WorkdirMismatchError`` naming the difference and moves nothing.
  ``config_differences`` compares the saved ``config.json`` beforehand.

The state is stored as a dict of its fields without the empty ones (the
``{}`` of training options that are off, see ``sigjax.train.TrainState``), so
checkpoints of the original configuration keep one layout whichever options
exist, and runs saved before an option was added still restore.
"""

import dataclasses
import json
import os
import time
from typing import Any, Callable, Optional

from absl import logging
from etils import epath
import jax
import ml_collections
import orbax.checkpoint as ocp

from configs import common

# Orbax's temporary directories: <step>.orbax-checkpoint-tmp[-<timestamp>].
_TMP_MARK = ".orbax-checkpoint-tmp"


class CheckpointError(RuntimeError):
  """No usable checkpoint where one was required."""


class WorkdirMismatchError(CheckpointError):
  """The workdir holds a run of a different config: its checkpoints cannot
  continue this one (nothing is moved or changed)."""


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), "checkpoints")


def make_manager(workdir: str, max_to_keep: int = 3,
                 async_save: bool = True,
                 read_only: bool = False) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(
      max_to_keep=max_to_keep, create=not read_only, read_only=read_only,
      enable_async_checkpointing=async_save and not read_only)
  return ocp.CheckpointManager(checkpoint_dir(workdir), options=options,
                               item_names=("state", "meta"))


def _empty(value) -> bool:
  return isinstance(value, dict) and not jax.tree.leaves(value)


def _pack(state):
  """A dataclass state as {field: value} without empty-dict fields."""
  if not dataclasses.is_dataclass(state):
    return state
  return {f.name: getattr(state, f.name) for f in dataclasses.fields(state)
          if not _empty(getattr(state, f.name))}


def _unpack(template, tree):
  """The inverse of ``_pack``: ``template``'s type, its empty fields kept."""
  if not dataclasses.is_dataclass(template):
    return tree
  return template.replace(**tree)


def save(manager: ocp.CheckpointManager, step: int, state: Any,
         meta: dict) -> None:
  manager.save(step, args=ocp.args.Composite(
      state=ocp.args.StandardSave(_pack(state)),
      meta=ocp.args.JsonSave(dict(meta, step=int(step)))), force=True)


def _is_primary() -> bool:
  return jax.process_index() == 0


def _sync(name: str) -> None:
  """All processes wait here (a no-op with one process)."""
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    multihost_utils.sync_global_devices(name)


def set_aside(directory, name: str, kind: str, reason: str) -> str:
  """Renames ``directory/name`` to ``directory/<name>.<kind>-<UTC time>``
  (Orbax reads neither as a step nor as a temporary save), logs why and
  returns the new path. Only the first process renames."""
  src = os.path.join(str(directory), name)
  stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
  step = name.split(".", 1)[0]
  dst = os.path.join(str(directory), f"{step}.{kind}-{stamp}")
  k = 1
  while os.path.exists(dst):
    k += 1
    dst = os.path.join(str(directory), f"{step}.{kind}-{stamp}-{k}")
  if _is_primary():
    os.rename(src, dst)
  logging.warning("Moved checkpoint %s aside to %s (kept, not deleted; remove "
                  "it when you no longer need it): %s.", src, dst, reason)
  return dst


def move_aside_unfinished(manager: ocp.CheckpointManager) -> list:
  """Moves aside Orbax's temporary directories (saves that never finished:
  the process was killed mid-save); returns their new paths."""
  directory = str(manager.directory)
  if not os.path.isdir(directory):
    return []
  names = sorted(n for n in os.listdir(directory) if _TMP_MARK in n
                 and os.path.isdir(os.path.join(directory, n)))
  moved = [set_aside(directory, n, "unfinished",
                      "an unfinished save (the process stopped before Orbax "
                      "completed it)") for n in names]
  _sync("sigjax_move_aside_unfinished")
  return moved


def holds_checkpoints(manager: ocp.CheckpointManager) -> bool:
  """Whether the checkpoint folder holds a checkpoint or an unfinished save
  (what a resumed run would use or move aside)."""
  directory = str(manager.directory)
  return bool(manager.all_steps()) or (os.path.isdir(directory) and any(
      _TMP_MARK in n for n in os.listdir(directory)))


def _key_name(k) -> str:
  for attr in ("key", "name", "idx"):
    if hasattr(k, attr):
      return str(getattr(k, attr))
  return str(k)


def _shapes(tree) -> dict:
  """{'a/b/c': shape} of the array leaves of ``tree``."""
  leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
  return {"/".join(_key_name(k) for k in path): tuple(getattr(leaf, "shape", ()))
          for path, leaf in leaves}


def state_differences(saved_tree, target_tree, limit: int = 4) -> list:
  """How the arrays of a saved state differ from the target's (names and
  shapes); [] when they match."""
  saved, target = _shapes(saved_tree), _shapes(target_tree)
  out = []
  # Parameters first (optimizer moments repeat their shapes).
  order = lambda k: (not k.startswith("params"), k.startswith("opt_state"), k)
  for k in sorted(set(saved) | set(target), key=order):
    if k not in target:
      out.append(f"{k} {saved[k]} is in the checkpoint only")
    elif k not in saved:
      out.append(f"{k} {target[k]} is in this config's state only")
    elif saved[k] != target[k]:
      out.append(f"{k}: saved {saved[k]}, now {target[k]}")
  if len(out) > limit:
    out = out[:limit] + [f"and {len(out) - limit} more"]
  return out


def _saved_state_metadata(manager, step: int):
  """The array metadata (names, shapes) of step's ``state``, or None when it
  cannot be read (then the checkpoint is damaged, not different)."""
  path = epath.Path(manager.directory) / str(step) / "state"
  try:
    return ocp.StandardCheckpointHandler().metadata(path)
  except Exception:  # pylint: disable=broad-except
    return None


def _read_step_meta(manager, step: int) -> Optional[dict]:
  try:
    return manager.restore(step, args=ocp.args.Composite(
        meta=ocp.args.JsonRestore()))["meta"]
  except Exception:  # pylint: disable=broad-except
    return None


def restore_latest(manager: ocp.CheckpointManager, abstract_state: Any,
                   step: Optional[int] = None, *, move_aside: bool = False,
                   check_meta: Optional[Callable[[dict], Optional[str]]] = None):
  """Restores the newest readable checkpoint (or exactly ``step``).

  Returns ``(state, meta)`` or ``(None, None)`` when the directory holds no
  checkpoint. Unreadable checkpoints are logged and skipped, newest first;
  with ``move_aside`` (training resumes) they and unfinished saves are moved
  aside (see the module docstring) once a readable one is found, so Orbax
  can save their steps again. If none can be read a ``CheckpointError`` names
  the directory and nothing is moved.

  A checkpoint whose state arrays differ from ``abstract_state``'s (names or
  shapes), or whose metadata ``check_meta(meta)`` objects to (it returns a
  message), raises ``WorkdirMismatchError``: that is another run's
  checkpoint, not a damaged one.
  """
  if move_aside:
    move_aside_unfinished(manager)
  steps = sorted(manager.all_steps(), reverse=True)
  if step is not None:
    if step not in steps:
      raise CheckpointError(
          f"{manager.directory}: no checkpoint for step {step}; "
          f"available: {sorted(steps)}")
    steps = [step]
  if not steps:
    return None, None
  abstract_state = _with_local_sharding(abstract_state)
  target = _pack(abstract_state)
  errors, unreadable = [], []
  for s in steps:
    meta = _read_step_meta(manager, s)
    if meta is not None and check_meta is not None:
      problem = check_meta(meta)
      if problem:
        raise WorkdirMismatchError(problem)
    try:
      restored = manager.restore(s, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(target),
          meta=ocp.args.JsonRestore()))
    except Exception as e:  # pylint: disable=broad-except
      saved = _saved_state_metadata(manager, s)
      diffs = state_differences(saved, target) if saved is not None else []
      if diffs:
        raise WorkdirMismatchError(
            f"{manager.directory} holds checkpoints of a different model: "
            f"step {s}'s state differs from this config's "
            f"({'; '.join(diffs)}). Use a new --workdir for this config "
            "(nothing was moved or changed).") from e
      why = f"{type(e).__name__}: {_first_line(e)}"
      msg = f"step {s} in {manager.directory} is unreadable ({why})"
      logging.warning("Checkpoint %s.", msg)
      errors.append(msg)
      unreadable.append((s, why))
      continue
    if unreadable:
      logging.warning("Using checkpoint step %d (newer ones are unreadable).",
                      s)
      if move_aside:
        for bad, why in unreadable:
          move_aside_step(manager, bad, f"it is unreadable ({why})")
        _sync("sigjax_move_aside_unreadable")
        manager.reload()
    return _unpack(abstract_state, restored["state"]), restored["meta"]
  raise CheckpointError(
      "No readable checkpoint: " + " | ".join(errors) + ". Nothing was moved; "
      "if these checkpoints are lost, move that checkpoints/ folder aside to "
      "start over, or use a new --workdir.")


def move_aside_step(manager: ocp.CheckpointManager, step: int,
                    reason: str) -> str:
  """Moves checkpoint ``step`` aside (``<step>.unreadable-<time>``)."""
  return set_aside(manager.directory, str(step), "unreadable", reason)


def _first_line(e: BaseException, limit: int = 300) -> str:
  text = str(e).strip().splitlines()
  text = text[0] if text else ""
  return text if len(text) <= limit else text[:limit] + "..."


# Config fields a resumed run may change although they sit in the sections
# compared below: how the same step is lowered and computed.
_MODEL_FREE = ("conv_transpose", "conv_impl", "dtype", "resize_conv_form")
# data fields that decide which images a run learns from, by data.source.
_DATA_FIELDS = {
    "*": ("source", "image_size", "split", "seed", "fraction", "ink"),
    "synthetic": ("num_classes", "synthetic_per_class"),
    "folder": ("val_fraction", "test_fraction"),
    "cross_media": ("label", "media", "variant"),
}
# train fields that add parts to the state: (field, what the state depends
# on, shown as).
_TRAIN_STATE = (
    ("ema_decay", lambda v: float(v) > 0, "on (> 0) or off (0)"),
    ("augment", lambda v: v == "ada", "'ada' (its p is in the state) or not"),
    ("lecam_weight", lambda v: float(v) > 0,
     "on (> 0: its logit EMAs are in the state) or off (0)"),
)


def _json(value):
  return json.loads(json.dumps(value, default=str))


def _same_media(value) -> tuple:
  try:
    return tuple(common.media_list({"media": value}))
  except ValueError:
    return (str(value),)


def config_differences(saved, config) -> list:
  """What makes ``config`` another run than the ``saved`` one (the
  ``config.json`` of a workdir), as "field: saved X, now Y" lines.

  Compared: the model (all of it but how it is lowered: conv_transpose,
  conv_impl, dtype), the data fields that choose the training images (by
  source; not data.dir, which may move) and the train fields that add parts
  to the state (EMA weights, ADA's p). Everything else (train.steps, log,
  sample and checkpoint intervals, learning rates...) may change on resume.
  ``saved`` is read as ``common.upgrade`` reads it (a dict is upgraded
  here): a field it lacks (saved by older code, before the field existed)
  counts as what that run did, so older runs resume.
  """
  if not isinstance(saved, ml_collections.ConfigDict):
    saved = common.upgrade(saved)
  old = _json(saved.to_dict())
  new = _json(config.to_dict())
  out = []

  def compare(section, name, same=None, shown=None):
    was, now = old[section][name], new[section][name]
    equal = (same(was) == same(now)) if same else was == now
    if not equal:
      note = f" ({shown})" if shown else ""
      out.append(f"{section}.{name}: saved {was!r}, now {now!r}{note}")

  if old["job"] != new["job"]:
    out.append(f"job: saved {old['job']!r}, now {new['job']!r}")
  for name in sorted(new["model"]):
    if name not in _MODEL_FREE:
      compare("model", name)
  source = new["data"]["source"]
  for name in _DATA_FIELDS["*"] + _DATA_FIELDS.get(source, ()):
    if name in _DATA_FIELDS["*"] or old["data"]["source"] == source:
      # 'all' and the media written out are the same images.
      compare("data", name, _same_media if name == "media" else None)
  for name, same, shown in _TRAIN_STATE:
    compare("train", name, same, shown)
  return out


def check_same_run(workdir: str, config):
  """Raises ``WorkdirMismatchError`` when ``workdir/config.json`` holds a
  run that ``config`` cannot continue (see ``config_differences``);
  returns that config as ``common.upgrade`` reads it (None when the
  workdir has none, or it is not JSON). ``common.ConfigError`` names the
  file and the field it cannot interpret."""
  path = os.path.join(workdir, "config.json")
  if not os.path.isfile(path):
    return None
  try:
    with open(path) as f:
      raw = json.load(f)
  except (OSError, ValueError) as e:
    logging.warning("Could not read %s (%s); comparing the checkpoints' "
                    "shapes only.", path, e)
    return None
  saved = common.upgrade(raw, path)
  diffs = config_differences(saved, config)
  if diffs:
    hint = ""
    if saved.job == "train" and saved.preset != config.preset:
      # Presets change names and recipes (CHANGELOG.md); say which one the
      # workdir was trained with.
      hint = (f" It was trained with preset {saved.preset!r} "
              f"(--config=configs/cgan.py:{saved.preset} resumes it where "
              "that preset still exists; CHANGELOG.md lists renamed "
              "presets).")
    raise WorkdirMismatchError(
        f"{os.path.abspath(workdir)} holds a run of a different config: "
        + "; ".join(diffs) + "." + hint + " Use a new --workdir for this "
        "config (or the saved values to resume that run); nothing was moved "
        "or changed.")
  return saved


def checkpoint_config(manager: ocp.CheckpointManager):
  """The config saved in the newest readable checkpoint's metadata, as
  ``common.upgrade`` reads it; None when no checkpoint carries one (a
  workdir whose config.json is gone still resumes as it began)."""
  try:
    meta = read_meta(manager, manager.all_steps())
  except CheckpointError:
    return None
  if not isinstance(meta.get("config"), dict):
    return None
  return common.upgrade(meta["config"],
                        f"{manager.directory} (checkpoint metadata)")


def read_meta(manager: ocp.CheckpointManager, steps) -> dict:
  """The JSON metadata of the newest readable checkpoint among ``steps``."""
  errors = []
  for s in sorted(steps, reverse=True):
    try:
      return manager.restore(s, args=ocp.args.Composite(
          meta=ocp.args.JsonRestore()))["meta"]
    except Exception as e:  # pylint: disable=broad-except
      errors.append(f"step {s}: {type(e).__name__}: {e}")
  raise CheckpointError(f"{manager.directory}: no readable checkpoint "
                        f"metadata ({'; '.join(errors)})")


def _with_local_sharding(tree):
  """Gives shardless leaves a replicated sharding over this process's devices.

  A checkpoint written on 8 GPUs then restores on one CPU (Colab), because
  the target, not the saved topology, says where arrays go.
  """
  sharding = jax.sharding.NamedSharding(
      jax.sharding.Mesh(jax.local_devices(), ("d",)),
      jax.sharding.PartitionSpec())

  def fix(leaf):
    if isinstance(leaf, jax.ShapeDtypeStruct) and leaf.sharding is None:
      return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=sharding)
    return leaf
  return jax.tree.map(fix, tree)


def abstract(tree):
  """ShapeDtypeStructs (with shardings) of ``tree``, the restore target."""
  return jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)
