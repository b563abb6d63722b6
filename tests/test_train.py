"""CGAN training end to end on the tiny preset (seconds per run)."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from configs import cgan as cgan_config
from sigjax import checkpoint as ckpt
from sigjax import train as train_lib
from sigjax import train_loop

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_config(**train):
  config = cgan_config.get_config("test")
  for k, v in train.items():
    setattr(config.train, k, v)
  return config


def read_state(workdir, config, step=None):
  manager = ckpt.make_manager(workdir, read_only=True)
  abstract = jax.eval_shape(lambda: train_lib.create_state(
      config, config.data.num_classes))
  state, meta = ckpt.restore_latest(manager, abstract, step=step)
  manager.close()
  return state, meta


def launch(workdir, *overrides, env=None, wait=True, preset="test"):
  cmd = [sys.executable, os.path.join(REPO, "launch.py"),
         f"--config={os.path.join(REPO, 'configs', 'cgan.py')}:{preset}",
         f"--workdir={workdir}", *overrides]
  full_env = dict(os.environ, **(env or {}))
  if wait:
    return subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True,
                          text=True, timeout=300)
  return subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def assert_trees_close(a, b, atol):
  la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(la) == len(lb)
  for x, y in zip(la, lb):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol,
                               rtol=0)


def test_train_writes_everything(tmp_path):
  config = tiny_config()
  state = train_loop.run(config, str(tmp_path))
  assert int(state.step) == config.train.steps
  rows = [json.loads(l) for l in open(tmp_path / "metrics.jsonl")]
  assert [r["step"] for r in rows] == list(range(1, config.train.steps + 1))
  for r in rows:
    for key in ("d_loss", "g_loss", "d_real_acc", "d_fake_acc",
                "steps_per_sec"):
      assert np.isfinite(r[key]), (key, r)
    assert 0.0 <= r["d_real_acc"] <= 1.0
  saved = json.load(open(tmp_path / "config.json"))
  assert saved["train"]["steps"] == config.train.steps
  assert (tmp_path / "samples" / "step_2.png").exists()
  assert (tmp_path / "samples" / "step_4.png").exists()
  assert any(f.startswith("events.out.tfevents") for f in os.listdir(tmp_path))
  restored, meta = read_state(str(tmp_path), config)
  assert int(restored.step) == config.train.steps
  assert meta["num_classes"] == config.data.num_classes
  assert_trees_close(restored.params_g, state.params_g, 0)


def test_params_change_and_losses_move(tmp_path):
  config = tiny_config(steps=2, checkpoint_every=100)
  state0 = train_lib.create_state(config, config.data.num_classes)
  state = train_loop.run(config, str(tmp_path))
  moved = [not np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(
      jax.tree.leaves(state0.params_g), jax.tree.leaves(state.params_g))]
  assert all(moved)
  assert not np.array_equal(
      np.asarray(jax.tree.leaves(state0.batch_stats_g)[0]),
      np.asarray(jax.tree.leaves(state.batch_stats_g)[0]))


def test_resume_equals_uninterrupted(tmp_path):
  full = tiny_config()
  train_loop.run(full, str(tmp_path / "full"))
  train_loop.run(tiny_config(steps=2), str(tmp_path / "split"))
  train_loop.run(full, str(tmp_path / "split"))  # resumes at 2
  a, _ = read_state(str(tmp_path / "full"), full)
  b, _ = read_state(str(tmp_path / "split"), full)
  assert int(b.step) == full.train.steps
  assert_trees_close(a, b, 0)  # bitwise on CPU
  steps = [json.loads(l)["step"] for l in open(tmp_path / "split" / "metrics.jsonl")]
  assert steps == [1, 2, 3, 4]


def test_corrupt_latest_checkpoint_falls_back(tmp_path, caplog):
  config = tiny_config()
  train_loop.run(config, str(tmp_path))
  latest = tmp_path / "checkpoints" / "4" / "state"
  for root, _, files in os.walk(latest):
    for f in files:
      with open(os.path.join(root, f), "wb") as fh:
        fh.write(b"garbage")
  state, meta = read_state(str(tmp_path), config)
  assert int(state.step) == 2 and meta["step"] == 2
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["2", "4"]  # kept


def test_non_finite_loss_stops_and_keeps_good_checkpoint(tmp_path, monkeypatch):
  config = tiny_config(steps=6, checkpoint_every=2)
  real = train_lib.make_train_step

  def poisoned(cfg, n, **kw):
    step_fn = real(cfg, n, **kw)

    def wrapped(state, images, labels):
      new, metrics = step_fn(state, images, labels)
      bad = jax.numpy.where(state.step >= 2, jax.numpy.nan, 0.0)
      return new, dict(metrics, g_loss=metrics["g_loss"] + bad)
    return wrapped

  monkeypatch.setattr(train_lib, "make_train_step", poisoned)
  with pytest.raises(train_lib.NonFiniteLossError, match="step 3"):
    train_loop.run(config, str(tmp_path))
  manager = ckpt.make_manager(str(tmp_path), read_only=True)
  assert manager.all_steps() == [2]


def test_device_count_does_not_change_result(tmp_path):
  """8 simulated CPU devices vs 1: same parameters up to float tolerance."""
  runs = {}
  for n in (1, 8):
    workdir = str(tmp_path / f"d{n}")
    env = {"XLA_FLAGS": f"--xla_force_host_platform_device_count={n}"}
    r = launch(workdir, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Mesh: {n} devices" in r.stderr
    runs[n], _ = read_state(workdir, tiny_config())
  assert_trees_close(runs[1].params_g, runs[8].params_g, 1e-5)
  assert_trees_close(runs[1].params_d, runs[8].params_d, 1e-5)
  assert_trees_close(runs[1].batch_stats_g, runs[8].batch_stats_g, 1e-5)


def test_sigterm_saves_restorable_checkpoint(tmp_path):
  workdir = str(tmp_path / "run")
  proc = launch(workdir, "--config.train.steps=100000",
                "--config.train.checkpoint_every=100000",
                "--config.train.sample_every=100000",
                "--config.train.log_every=1", wait=False)
  metrics = os.path.join(workdir, "metrics.jsonl")
  deadline = time.time() + 240
  while time.time() < deadline and proc.poll() is None:
    if os.path.exists(metrics) and os.path.getsize(metrics) > 0:
      break
    time.sleep(0.2)
  assert proc.poll() is None, proc.stdout.read()
  proc.send_signal(signal.SIGTERM)
  out, _ = proc.communicate(timeout=120)
  assert proc.returncode == 0, out
  state, meta = read_state(workdir, tiny_config())
  assert 0 < int(state.step) < 100000
  assert meta["step"] == int(state.step)


def test_load_generator_in_fresh_process(tmp_path):
  config = tiny_config()
  train_loop.run(config, str(tmp_path))
  code = (
      "import numpy as np\n"
      "from sigjax.inference import load_generator\n"
      f"g = load_generator({str(tmp_path)!r})\n"
      "x = g.sample([0, 1, 2, 2, 1], seed=3)\n"
      "y = g.sample([0, 1, 2, 2, 1], seed=3)\n"
      "assert x.shape == (5, g.image_size, g.image_size, 1), x.shape\n"
      "assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1\n"
      "assert np.array_equal(x, y)\n"
      "assert not np.array_equal(x, g.sample([0, 1, 2, 2, 1], seed=4))\n"
      "print('OK', g.step, g.num_classes, len(g.class_names))\n")
  r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                     text=True, timeout=300)
  assert r.returncode == 0, r.stdout + r.stderr
  assert f"OK {config.train.steps} {config.data.num_classes} " \
         f"{config.data.num_classes}" in r.stdout


def test_generate_job_writes_images_and_labels(tmp_path):
  from configs import generate as gen_config
  from sigjax import generate
  run_dir = str(tmp_path / "run")
  train_loop.run(tiny_config(), run_dir)
  config = gen_config.get_config("test")
  config.gan_workdir = run_dir
  out = tmp_path / "out"
  generate.run(config, str(out))
  lines = open(out / "labels.csv").read().strip().splitlines()
  n = tiny_config().data.num_classes * config.per_class
  assert lines[0] == "path,label,class_name" and len(lines) == n + 1
  first = lines[1].split(",")[0]
  assert (out / first).exists()
  # configs/generate.py without a preset composes with a cgan.py:test run
  # (16x16, 3 classes): only gan_workdir is set.
  config = gen_config.get_config()
  config.gan_workdir = run_dir
  generate.run(config, str(tmp_path / "out_default"))
  lines = open(tmp_path / "out_default" / "labels.csv").read().splitlines()
  assert len(lines) == 1 + tiny_config().data.num_classes * config.per_class


def test_load_generator_errors_name_the_directory(tmp_path):
  from sigjax import inference
  with pytest.raises(ckpt.CheckpointError, match=str(tmp_path)):
    inference.load_generator(str(tmp_path))


def test_two_processes_match_one(tmp_path):
  """A real multi-host run: 2 processes (loopback coordinator, CPU gloo
  collectives), same global batch -> same losses and parameters as 1."""
  import socket
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  procs = [launch(str(tmp_path / "multi"), wait=False, env={
      "SIGJAX_COORDINATOR": f"127.0.0.1:{port}", "SIGJAX_NUM_PROCESSES": "2",
      "SIGJAX_PROCESS_ID": str(i)}) for i in range(2)]
  single = launch(str(tmp_path / "single"))
  outs = [p.communicate(timeout=300)[0] for p in procs]
  assert all(p.returncode == 0 for p in procs), outs
  assert "Mesh: 2 devices over 2 processes" in outs[0]
  assert single.returncode == 0, single.stderr

  def losses(run):
    rows = [json.loads(l) for l in open(tmp_path / run / "metrics.jsonl")]
    return np.array([[r["d_loss"], r["g_loss"]] for r in rows])
  np.testing.assert_allclose(losses("multi"), losses("single"), atol=1e-5)
  a, _ = read_state(str(tmp_path / "multi"), tiny_config())
  b, _ = read_state(str(tmp_path / "single"), tiny_config())
  assert_trees_close(a.params_g, b.params_g, 1e-5)
