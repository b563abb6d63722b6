"""Checkpoints that go wrong (issue 13): unreadable and unfinished ones are
moved aside and training continues past them; a workdir of another config
stops with one clear error and is left untouched."""

import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time

import jax
import numpy as np
import pytest

from configs import cgan as cgan_config
from configs import common
from sigjax import checkpoint as ckpt
from sigjax import train as train_lib
from sigjax import train_loop

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny(steps=4, **fields):
  """configs/cgan.py:test with ``steps``; fields as section__name=value."""
  config = cgan_config.get_config("test")
  config.train.steps = steps
  for key, value in fields.items():
    section, name = key.split("__")
    setattr(config[section], name, value)
  return config


def read_state(workdir, config, step=None):
  manager = ckpt.make_manager(workdir, read_only=True)
  abstract = jax.eval_shape(lambda: train_lib.create_state(
      config, config.data.num_classes))
  try:
    return ckpt.restore_latest(manager, abstract, step=step)
  finally:
    manager.close()


def assert_same_state(a, b):
  la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(la) == len(lb)
  for x, y in zip(la, lb):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def listing(workdir):
  """{relative path: sha256} of every file under workdir/checkpoints."""
  root = os.path.join(workdir, "checkpoints")
  out = {}
  for d, _, files in os.walk(root):
    for f in files:
      p = os.path.join(d, f)
      with open(p, "rb") as fh:
        out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
  return out


def entries(workdir):
  return sorted(os.listdir(os.path.join(workdir, "checkpoints")))


def corrupt(step_dir):
  """Overwrites every file of a checkpoint with a few random bytes (the
  issue's reproduction: a bad disk)."""
  rng = np.random.default_rng(0)
  for d, _, files in os.walk(step_dir):
    for f in files:
      with open(os.path.join(d, f), "wb") as fh:
        fh.write(rng.bytes(16))


def metric_steps(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(l)["step"] for l in f if l.strip()]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
  """A finished 4-step run (checkpoints 2 and 4), copied by each test."""
  workdir = str(tmp_path_factory.mktemp("base") / "run")
  train_loop.run(tiny(4), workdir)
  return workdir


@pytest.fixture(scope="module")
def reference_8(tmp_path_factory):
  """The state of an uninterrupted 8-step run."""
  workdir = str(tmp_path_factory.mktemp("ref") / "run")
  train_loop.run(tiny(8), workdir)
  state, _ = read_state(workdir, tiny(8))
  return state


@pytest.fixture
def run_copy(base_run, tmp_path):
  workdir = str(tmp_path / "run")
  shutil.copytree(base_run, workdir)
  return workdir


# ------------------------------------------------------ item 1: damage --


def test_unreadable_checkpoint_is_moved_aside_and_training_continues(
    run_copy, reference_8):
  """The issue's reproduction: checkpoint 4's files overwritten; training to
  6 used to stop with Orbax's StepAlreadyExistsError when it saved 4 again."""
  before = set(listing(run_copy))
  corrupt(os.path.join(run_copy, "checkpoints", "4"))
  state = train_loop.run(tiny(6), run_copy)  # resumes from 2, saves 4 again
  assert int(state.step) == 6
  aside = [e for e in entries(run_copy) if e.startswith("4.unreadable-")]
  assert len(aside) == 1, entries(run_copy)
  kept = {p.split(os.sep, 1)[1] for p in listing(run_copy)
          if p.startswith(aside[0] + os.sep)}
  assert kept == {p.split(os.sep, 1)[1] for p in before
                  if p.startswith("4" + os.sep)}  # moved whole, not deleted
  manager = ckpt.make_manager(run_copy, read_only=True)
  assert manager.all_steps() == [2, 4, 6]
  manager.close()
  # A second restart after that, to the end: the same state as a run that
  # never lost a checkpoint (steps 3-4 replayed exactly), one metrics row
  # per step.
  state = train_loop.run(tiny(8), run_copy)
  assert int(state.step) == 8
  restored, meta = read_state(run_copy, tiny(8))
  assert meta["step"] == 8
  assert_same_state(restored, reference_8)
  assert metric_steps(run_copy) == list(range(1, 9))
  assert len([e for e in entries(run_copy) if ".unreadable-" in e]) == 1


def test_unfinished_save_is_moved_aside(run_copy):
  """The newest checkpoint directory is an unfinished temporary one."""
  ckdir = os.path.join(run_copy, "checkpoints")
  tmp = os.path.join(ckdir, "4.orbax-checkpoint-tmp")
  os.rename(os.path.join(ckdir, "4"), tmp)
  for d, _, files in os.walk(tmp):  # never committed
    for f in files:
      if f == "commit_success.txt":
        os.remove(os.path.join(d, f))
  files_before = sorted(os.path.relpath(os.path.join(d, f), tmp)
                        for d, _, fs in os.walk(tmp) for f in fs)
  state = train_loop.run(tiny(6), run_copy)
  assert int(state.step) == 6
  names = entries(run_copy)
  assert not [n for n in names if "orbax-checkpoint-tmp" in n], names
  aside = [n for n in names if n.startswith("4.unfinished-")]
  assert len(aside) == 1, names
  moved = os.path.join(ckdir, aside[0])
  assert sorted(os.path.relpath(os.path.join(d, f), moved)
                for d, _, fs in os.walk(moved) for f in fs) == files_before
  assert metric_steps(run_copy) == list(range(1, 7))
  assert int(train_loop.run(tiny(8), run_copy).step) == 8  # and again


_KILLED_CHILD = r"""
import asyncio, os, sys
sys.path.insert(0, {repo!r})
from orbax.checkpoint._src.path import atomicity
real = atomicity.AtomicRenameTemporaryPath.finalize

async def finalize(self):
  # Step 4's asynchronous save has written its files but not yet renamed
  # its temporary directory: say so and wait to be killed.
  if self.get_final().name == "4":
    print("SAVE_IN_FLIGHT", flush=True)
    await asyncio.sleep(3600)
  return await real(self)

atomicity.AtomicRenameTemporaryPath.finalize = finalize
from configs import cgan
from sigjax import train_loop
config = cgan.get_config("test")
config.train.steps = 8
train_loop.run(config, sys.argv[1])
"""


def test_sigkill_during_async_save_restarts_from_previous(tmp_path,
                                                         reference_8):
  workdir = str(tmp_path / "run")
  proc = subprocess.Popen(
      [sys.executable, "-c", _KILLED_CHILD.format(repo=REPO), workdir],
      cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  lines = queue.Queue()
  threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout],
                   daemon=True).start()
  seen = []
  try:
    deadline = time.time() + 540  # a loaded 2-core machine is slow
    while time.time() < deadline and proc.poll() is None:
      try:
        seen.append(lines.get(timeout=1))
      except queue.Empty:
        continue
      if "SAVE_IN_FLIGHT" in seen[-1]:
        break
    assert seen and "SAVE_IN_FLIGHT" in seen[-1], "".join(seen)
    time.sleep(0.5)  # training goes on meanwhile (the save is asynchronous)
  finally:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
  assert proc.returncode == -signal.SIGKILL
  names = entries(workdir)
  assert "4.orbax-checkpoint-tmp" in names and "4" not in names, names
  state = train_loop.run(tiny(8), workdir)  # restarts from 2, to the end
  assert int(state.step) == 8
  names = entries(workdir)
  assert [n for n in names if n.startswith("4.unfinished-")], names
  restored, _ = read_state(workdir, tiny(8))
  assert_same_state(restored, reference_8)
  assert metric_steps(workdir) == list(range(1, 9))


def test_nothing_readable_stops_and_moves_nothing(run_copy):
  corrupt(os.path.join(run_copy, "checkpoints", "2"))
  corrupt(os.path.join(run_copy, "checkpoints", "4"))
  before = listing(run_copy)
  with pytest.raises(ckpt.CheckpointError, match="No readable checkpoint.*"
                     "Nothing was moved"):
    train_loop.run(tiny(6), run_copy)
  assert listing(run_copy) == before


def test_reading_a_run_never_moves_checkpoints(run_copy):
  """Inference/evaluation (read-only) skip an unreadable checkpoint."""
  corrupt(os.path.join(run_copy, "checkpoints", "4"))
  before = listing(run_copy)
  state, meta = read_state(run_copy, tiny(4))
  assert int(state.step) == 2 and meta["step"] == 2
  assert listing(run_copy) == before


# --------------------------------------------- item 4: another config --


@pytest.mark.parametrize("fields,named", [
    ({"model__gen_channels": (16, 8, 4, 1)}, "model.gen_channels"),
    ({"data__image_size": 32}, "data.image_size"),
    ({"data__num_classes": 4}, "data.num_classes"),
    ({"train__ema_decay": 0.9}, "train.ema_decay"),
])
def test_workdir_of_another_config_stops_untouched(run_copy, fields, named):
  before = listing(run_copy)
  with open(os.path.join(run_copy, "config.json")) as f:
    config_json = f.read()
  with pytest.raises(ckpt.WorkdirMismatchError) as err:
    train_loop.run(tiny(6, **fields), run_copy)
  msg = str(err.value)
  assert named in msg and "new --workdir" in msg and "saved" in msg, msg
  assert listing(run_copy) == before
  with open(os.path.join(run_copy, "config.json")) as f:
    assert f.read() == config_json


def test_other_model_without_config_json_is_not_called_unreadable(run_copy):
  """No config.json to compare (deleted, or a field not compared): the
  checkpoint's own shapes show it is another model's; nothing is moved."""
  os.remove(os.path.join(run_copy, "config.json"))
  before = listing(run_copy)
  with pytest.raises(ckpt.WorkdirMismatchError,
                     match=r"different model.*params_g.*new --workdir"):
    train_loop.run(tiny(6, model__gen_channels=(16, 8, 4, 1)), run_copy)
  with pytest.raises(ckpt.WorkdirMismatchError,
                     match=r"trained on classes .* new --workdir"):
    train_loop.run(tiny(6, data__num_classes=4), run_copy)
  assert listing(run_copy) == before


def test_resume_with_new_run_settings_and_an_older_config_json(run_copy):
  """Steps, intervals, learning rate and lowering may change on resume; a
  config.json written before fields existed (here: stroke-quality, EMA, ADA
  and data-fraction fields removed) still resumes."""
  path = os.path.join(run_copy, "config.json")
  with open(path) as f:
    saved = json.load(f)
  for section, name in [("model", "arch"), ("model", "upsample"),
                        ("model", "resize_method"), ("model", "mbstd"),
                        ("train", "ema_decay"), ("train", "augment"),
                        ("data", "fraction")]:
    saved[section].pop(name, None)
  with open(path, "w") as f:
    json.dump(saved, f)
  config = tiny(6, train__log_every=3, train__checkpoint_every=3,
                train__sample_every=3, train__lr_g=1e-4,
                train__keep_checkpoints=5, model__conv_impl="xla")
  state = train_loop.run(config, run_copy)
  assert int(state.step) == 6
  with open(path) as f:
    assert json.load(f)["train"]["steps"] == 6  # the new config is saved


def test_config_differences_rules():
  base = json.loads(tiny(4).to_json_best_effort())
  same = lambda **f: ckpt.config_differences(base, tiny(4, **f))
  # Changeable on resume.
  assert same() == []
  assert same(train__steps=100, train__log_every=7, train__lr_d=1e-3,
              train__loss="hinge", train__d_steps=2, train__ema_decay=0.0,
              model__conv_transpose="phase", model__conv_impl="xla",
              model__dtype="bfloat16", data__dir="moved/data",
              data__prefetch=4) == []
  # Not changeable: model shapes/meaning, the training images, state parts.
  diffs = same(model__latent_dim=16, data__synthetic_per_class=5,
               data__ink="coverage", train__augment="ada",
               train__lecam_weight=0.01)
  assert [d.split(":")[0] for d in diffs] == [
      "model.latent_dim", "data.ink", "data.synthetic_per_class",
      "train.augment", "train.lecam_weight"], diffs
  assert same(train__lecam_decay=0.9) == []  # a rate, not a state part
  # A learning-rate decay changes no state: switched on at resume.
  assert same(train__lr_decay_start=2, train__lr_decay_steps=2) == []
  assert "saved 8, now 16" in diffs[0]
  # A field missing from the saved config counts as its default.
  old = json.loads(json.dumps(base))
  del old["model"]["arch"]
  assert ckpt.config_differences(old, tiny(4)) == []
  diffs = ckpt.config_differences(old, tiny(4, model__arch="resnet"))
  assert diffs == ["model.arch: saved 'dcgan', now 'resnet'"], diffs
  # Fields of another source do not matter; the source does.
  folder = json.loads(json.dumps(base))
  folder["data"]["source"] = "folder"
  folder["data"]["num_classes"] = 10
  diffs = ckpt.config_differences(folder, tiny(4))
  assert [d.split(":")[0] for d in diffs] == ["data.source"], diffs
  # A retired field is dropped (configs.common.RETIRED); one this code never
  # had is named, not guessed at.
  gone = json.loads(json.dumps(base))
  gone["data"]["shuffle_buffer"] = 0
  assert ckpt.config_differences(gone, tiny(4)) == []
  gone["model"]["retired_option"] = 3
  with pytest.raises(common.ConfigError, match="model.retired_option"):
    ckpt.config_differences(gone, tiny(4))


def test_earlier_quality_workdir_is_named_and_resumes_with_its_width():
  """`:quality`'s D widened on 2026-11-29, its G on 2026-11-30 and back
  later that day (CHANGELOG.md): a workdir of an earlier preset is refused
  with the field named, and resumes when the saved width is passed back
  (the error's own advice)."""
  earlier = cgan_config.get_config("quality")
  earlier.model.disc_channels = (16, 32, 64, 64)
  saved = json.loads(earlier.to_json_best_effort())
  now = cgan_config.get_config("quality")
  diffs = ckpt.config_differences(saved, now)
  assert [d.split(":")[0] for d in diffs] == ["model.disc_channels"], diffs
  now.model.disc_channels = (16, 32, 64, 64)
  assert ckpt.config_differences(saved, now) == []
  # `:quality` of 2026-11-30 17:10 (G at 128-64-32-1) is named by G's width
  # alone and resumes with it.
  earlier = cgan_config.get_config("quality")
  earlier.model.gen_channels = (128, 64, 32, 1)
  saved = json.loads(earlier.to_json_best_effort())
  now = cgan_config.get_config("quality")
  assert tuple(now.model.gen_channels) == (64, 32, 16, 1)
  diffs = ckpt.config_differences(saved, now)
  assert [d.split(":")[0] for d in diffs] == ["model.gen_channels"], diffs
  assert ("(128, 64, 32, 1)" in diffs[0] or "[128, 64, 32, 1]" in diffs[0]), (
      diffs)
  now.model.gen_channels = (128, 64, 32, 1)
  assert ckpt.config_differences(saved, now) == []
  # `:quality` of 2026-11-29 (this G, 1500 steps) differs only in train.steps,
  # which training does not read: it resumes as it is and goes on to 2500.
  earlier = cgan_config.get_config("quality")
  earlier.train.steps = 1500
  saved = json.loads(earlier.to_json_best_effort())
  assert ckpt.config_differences(saved, cgan_config.get_config("quality")) == []


def test_without_config_json_the_checkpoints_config_keeps_the_batch_order(
    run_copy):
  """A workdir whose config.json is gone resumes with the batch order its
  checkpoints' saved config names (not the legacy order of runs that
  predate the field)."""
  os.remove(os.path.join(run_copy, "config.json"))
  config = tiny(6)
  assert config.data.batch_order == "permutation"
  configs, managers = train_loop._open_runs([config], [run_copy])  # pylint: disable=protected-access
  try:
    assert configs[0].data.batch_order == "permutation"
    saved = ckpt.checkpoint_config(managers[0])
    assert saved.data.batch_order == "permutation"
    assert saved.train.steps == config.train.steps - 2  # the run's own
  finally:
    for m in managers:
      m.close()
