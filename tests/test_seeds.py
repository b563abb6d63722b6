"""Several seeds in one program (``train.num_seeds``): each seed an ordinary
run directory equal to the single run of that seed, resumable as a group,
readable by everything that reads a run."""

import json
import os
import shutil

import jax
import numpy as np
import pytest

from sigjax import checkpoint as ckpt
from sigjax import inference
from sigjax import train_loop
from train_helpers import assert_same, read_state, rows, tiny


def max_difference(a, b) -> float:
  """The largest absolute difference between two states' leaves (their
  structures must match)."""
  assert jax.tree.structure(a) == jax.tree.structure(b)
  return max(float(np.max(np.abs(np.asarray(x, np.float64)
                                 - np.asarray(y, np.float64))))
             if np.size(x) else 0.0
             for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


# The tolerance of "seed s of a group = the single run of seed s". The
# group's step is jax.vmap of the single step. Its forward passes are
# bitwise the single run's (the convolutions are the same oneDNN calls, one
# per seed), but XLA:CPU reduces a vmapped (S, batch, H, W, C) array (the
# bias gradients, BatchNorm's statistics) in another loop order than the
# (batch, H, W, C) one, so those float32 sums differ in their last bits
# (1e-11 to 1e-8 after one step) and Adam carries the bits on: after 4 tiny
# steps the states agree to 1.5e-6 and 2.7e-6 (measured 2026-12-03, AMD EPYC
# Zen 4). 1e-4 leaves room for other instruction sets and stays far below
# what another seed gives (checked below).
TOLERANCE = 1e-4


def test_each_seed_of_a_group_is_the_single_run_of_that_seed(tmp_path):
  group = tiny(root__seed=3, train__num_seeds=2)
  states = train_loop.run(group, str(tmp_path / "group"))
  assert [int(s.step) for s in states] == [4, 4]
  assert sorted(os.listdir(tmp_path / "group")) == ["seed_3", "seed_4"]
  for s in (3, 4):
    run_dir = str(tmp_path / "group" / f"seed_{s}")
    with open(os.path.join(run_dir, "config.json")) as f:
      saved = json.load(f)
    assert saved["seed"] == s and saved["train"]["num_seeds"] == 1
    assert [r["step"] for r in rows(run_dir)] == [1, 2, 3, 4]
    assert sorted(os.listdir(os.path.join(run_dir, "samples"))) == [
        "step_2.png", "step_4.png"]
    single = tiny(root__seed=s)
    train_loop.run(single, str(tmp_path / f"single_{s}"))
    want = read_state(str(tmp_path / f"single_{s}"), single)
    got = read_state(run_dir, single)
    assert int(got.step) == 4
    assert max_difference(want, got) < TOLERANCE
    # The seeds are different runs: far apart compared with the tolerance.
  a = read_state(str(tmp_path / "group" / "seed_3"), tiny(root__seed=3))
  b = read_state(str(tmp_path / "group" / "seed_4"), tiny(root__seed=4))
  assert max_difference(a, b) > 100 * TOLERANCE
  # An ordinary run: load_generator reads it, a single-seed launch resumes
  # it (to more steps) as its own run.
  handle = inference.load_generator(str(tmp_path / "group" / "seed_4"))
  images = np.asarray(handle.sample([0, 1, 2], seed=0))
  assert images.shape == (3, 16, 16, 1)
  state = train_loop.run(tiny(root__seed=4, train__steps=6),
                         str(tmp_path / "group" / "seed_4"))
  assert int(state.step) == 6


def test_group_resumes_exactly_and_after_an_uneven_crash(tmp_path):
  """2 steps + resume to 4 = 4 straight (bitwise: the same program); when
  one run's newest checkpoint is missing (a crash between two runs'
  saves), the group resumes every run from the newest step all hold and
  moves the newer checkpoint aside."""
  straight = str(tmp_path / "straight")
  train_loop.run(tiny(train__num_seeds=2), straight)
  split = str(tmp_path / "split")
  train_loop.run(tiny(train__num_seeds=2, train__steps=2), split)
  train_loop.run(tiny(train__num_seeds=2), split)
  for s in (0, 1):
    c = tiny(root__seed=s)
    assert_same(read_state(os.path.join(straight, f"seed_{s}"), c),
                read_state(os.path.join(split, f"seed_{s}"), c))
    assert [r["step"] for r in rows(os.path.join(split, f"seed_{s}"))] == [
        1, 2, 3, 4]

  uneven = str(tmp_path / "uneven")
  shutil.copytree(split, uneven)
  # seed_1 lost its step-4 checkpoint: the group goes back to step 2.
  shutil.rmtree(os.path.join(ckpt.checkpoint_dir(
      os.path.join(uneven, "seed_1")), "4"))
  states = train_loop.run(tiny(train__num_seeds=2), uneven)
  assert [int(x.step) for x in states] == [4, 4]
  for s in (0, 1):
    c = tiny(root__seed=s)
    assert_same(read_state(os.path.join(straight, f"seed_{s}"), c),
                read_state(os.path.join(uneven, f"seed_{s}"), c))
    assert [r["step"] for r in rows(os.path.join(uneven, f"seed_{s}"))] == [
        1, 2, 3, 4]
  kept = os.listdir(ckpt.checkpoint_dir(os.path.join(uneven, "seed_0")))
  assert any(n.startswith("4.ahead-of-group-") for n in kept), kept


def test_group_paths_agree(tmp_path):
  """The group on the host-fed path and with 3 steps per call is the
  resident one-step-per-call group, bitwise."""
  ref = str(tmp_path / "ref")
  train_loop.run(tiny(train__num_seeds=2), ref)
  host = str(tmp_path / "host")
  train_loop.run(tiny(train__num_seeds=2, data__on_device="false"), host)
  k3 = str(tmp_path / "k3")
  train_loop.run(tiny(train__num_seeds=2, train__steps_per_dispatch=3,
                      train__log_every=2), k3)
  for s in (0, 1):
    c = tiny(root__seed=s)
    want = read_state(os.path.join(ref, f"seed_{s}"), c)
    assert_same(want, read_state(os.path.join(host, f"seed_{s}"), c))
    assert_same(want, read_state(os.path.join(k3, f"seed_{s}"), c))
  assert "group_images_per_sec" in rows(os.path.join(ref, "seed_0"))[0]


@pytest.mark.parametrize("bad", [0, -2])
def test_bad_num_seeds_is_named(tmp_path, bad):
  config = tiny(train__num_seeds=bad)
  with pytest.raises(ValueError, match="train.num_seeds"):
    train_loop.run(config, str(tmp_path))
  assert not os.listdir(tmp_path)


def test_group_needs_the_permutation_order(tmp_path):
  with pytest.raises(ValueError, match="batch_order='permutation'"):
    train_loop.run(tiny(train__num_seeds=2,
                        data__batch_order="index_shuffle"), str(tmp_path))


def test_launch_group_on_two_devices_stops_on_sigterm_and_resumes(tmp_path):
  """``launch.py --config.train.num_seeds=2`` on 2 simulated CPU devices (the
  batch sharded over them inside each seed): SIGTERM saves every seed at
  the same step; the same command then resumes the group and finishes."""
  import signal  # pylint: disable=import-outside-toplevel
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  import time  # pylint: disable=import-outside-toplevel
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  workdir = str(tmp_path / "group")
  env = dict(os.environ,
             XLA_FLAGS="--xla_force_host_platform_device_count=2")

  def launch(*flags):
    return subprocess.Popen(
        [sys.executable, os.path.join(repo, "launch.py"),
         f"--config={os.path.join(repo, 'configs', 'cgan.py')}:test",
         f"--workdir={workdir}", "--config.train.num_seeds=2", *flags],
        cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)

  proc = launch("--config.train.steps=100000",
                "--config.train.checkpoint_every=100000",
                "--config.train.sample_every=100000")
  metrics = os.path.join(workdir, "seed_1", "metrics.jsonl")
  deadline = time.time() + 240
  while time.time() < deadline and proc.poll() is None:
    if os.path.exists(metrics) and os.path.getsize(metrics) > 0:
      break
    time.sleep(0.2)
  assert proc.poll() is None, proc.stdout.read()
  proc.send_signal(signal.SIGTERM)
  out, _ = proc.communicate(timeout=120)
  assert proc.returncode == 0, out
  assert "Mesh: 2 devices" in out and "train 2 seeds" in out
  steps = []
  for s in (0, 1):
    m = ckpt.make_manager(os.path.join(workdir, f"seed_{s}"), read_only=True)
    steps.append(m.latest_step())
    m.close()
  assert steps[0] == steps[1] and 0 < steps[0] < 100000
  proc = launch(f"--config.train.steps={steps[0] + 2}",
                "--config.train.checkpoint_every=100000",
                "--config.train.sample_every=100000")
  out, _ = proc.communicate(timeout=300)
  assert proc.returncode == 0, out
  assert f"Resumed from step {steps[0]}" in out
  for s in (0, 1):
    state = read_state(os.path.join(workdir, f"seed_{s}"),
                       tiny(root__seed=s))
    assert int(state.step) == steps[0] + 2
