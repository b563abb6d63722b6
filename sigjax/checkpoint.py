"""Orbax checkpoints of a training run: save, keep the last K, restore.

A checkpoint holds two items: ``state`` (the whole train state: parameters,
optimizer state, BatchNorm statistics, step and PRNG key) and ``meta`` (JSON:
class names, image size, step), so that ``sigjax.inference`` can rebuild a
generator from the directory alone. Orbax writes each step to a temporary
directory and renames it when complete, so a run killed mid-save leaves the
previous checkpoints intact. A checkpoint that is there but unreadable
(truncated or deleted files) is reported and the one before it is used.

The state is stored as a dict of its fields without the empty ones (the
``{}`` of training options that are off, see ``sigjax.train.TrainState``), so
checkpoints of the original configuration keep one layout whichever options
exist, and runs saved before an option was added still restore.
"""

import dataclasses
import os
from typing import Any, Optional

from absl import logging
import jax
import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
  """No usable checkpoint where one was required."""


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


def restore_latest(manager: ocp.CheckpointManager, abstract_state: Any,
                   step: Optional[int] = None):
  """Restores the newest readable checkpoint (or exactly ``step``).

  Returns ``(state, meta)`` or ``(None, None)`` when the directory holds no
  checkpoint. Corrupt checkpoints are logged and skipped, newest first; if
  none can be read a ``CheckpointError`` names the directory.
  """
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
  errors = []
  for s in steps:
    try:
      restored = manager.restore(s, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(_pack(abstract_state)),
          meta=ocp.args.JsonRestore()))
      if errors:
        logging.warning("Using checkpoint step %d after skipping unreadable "
                        "newer ones: %s", s, "; ".join(errors))
      return _unpack(abstract_state, restored["state"]), restored["meta"]
    except Exception as e:  # pylint: disable=broad-except
      msg = f"step {s} in {manager.directory} is unreadable ({type(e).__name__}: {e})"
      logging.error("Checkpoint %s", msg)
      errors.append(msg)
  raise CheckpointError("No readable checkpoint: " + " | ".join(errors))


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
