"""Helpers of the training-loop tests (tests/test_train_loop_device.py,
tests/test_seeds.py): a tiny config, a run's restored state, its metrics
rows, and bitwise equality of two states."""

import json
import os

import jax
import numpy as np

from configs import cgan as cgan_config
from sigjax import checkpoint as ckpt
from sigjax import train as train_lib


def tiny(**fields):
  """configs/cgan.py:test; fields as section__name=value (section 'root':
  a top-level field, e.g. root__seed=3)."""
  config = cgan_config.get_config("test")
  for key, value in fields.items():
    section, name = key.split("__")
    target = config if section == "root" else config[section]
    setattr(target, name, value)
  return config


def read_state(workdir, config):
  """The newest checkpoint's train state in ``workdir``."""
  manager = ckpt.make_manager(workdir, read_only=True)
  abstract = jax.eval_shape(lambda: train_lib.create_state(
      config, config.data.num_classes))
  try:
    return ckpt.restore_latest(manager, abstract)[0]
  finally:
    manager.close()


def assert_same(a, b):
  """Two pytrees of the same structure, equal bit for bit."""
  la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for x, y in zip(la, lb):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def rows(workdir):
  """The rows of ``workdir/metrics.jsonl``."""
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(l) for l in f if l.strip()]
