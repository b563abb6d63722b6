"""The console (issue 13): one progress display per job, library logs in the
job's log file, ``-v`` to see them, user errors as one line with exit 2."""

import io
import json
import logging as pylogging
import os
import subprocess
import sys

import flax.linen as nn
import numpy as np
import pytest

from sigjax import console

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A file that is not sigjax's: what Orbax/TensorFlow records look like.
LIBRARY_FILE = os.path.join(os.path.dirname(pylogging.__file__),
                            "orbax_like.py")


class Clock:
  def __init__(self):
    self.t = 1000.0

  def __call__(self):
    return self.t


@pytest.fixture
def clock(monkeypatch):
  c = Clock()
  monkeypatch.setattr(console, "_clock", c)
  return c


class TTY(io.StringIO):
  def isatty(self):
    return True


def test_plain_lines_when_not_a_terminal(clock):
  out = io.StringIO()
  p = console.Progress(10, title="train", items_per_unit=8, stream=out)
  assert not p.live
  for step in range(1, 11):
    clock.t += 0.5 if step > 1 else 7.0  # the first step compiles
    p.update(step, {"d_loss": 0.5, "g_loss": 1.25}, log=step % 5 == 0)
  p.close()
  lines = out.getvalue().splitlines()
  assert len(lines) == 2, lines
  assert lines[0].startswith("train: step 5/10 (50%)")
  # 4 steps in 2 s after the first: 2 steps/s = 16 img/s; 5 left = 2.5 s.
  assert "d_loss 0.5  g_loss 1.25  16.0 img/s  2s left" in lines[0], lines[0]
  assert lines[1].startswith("train: step 10/10 (100%)")
  assert "took 12s" in lines[1], lines[1]


def test_resumed_run_counts_from_its_start(clock):
  out = io.StringIO()
  p = console.Progress(100, title="train", start=90, stream=out)
  clock.t += 5.0
  p.update(91, log=True)
  assert "step 91/100 (91%)" in out.getvalue()
  assert "time left: measuring" in out.getvalue()
  clock.t += 1.0
  p.update(93, log=True)
  assert out.getvalue().splitlines()[-1].endswith("2.00 steps/s  4s left")


def test_bar_redrawn_in_place_on_a_terminal(clock):
  tty = TTY()
  p = console.Progress(4, title="train", items_per_unit=2, stream=tty)
  assert p.live
  clock.t += 1.0
  p.update(1)
  clock.t += 1.0
  p.update(2, {"g_loss": 0.7}, log=True)
  text = tty.getvalue()
  assert "\r\x1b[K" in text and "\n" not in text  # one line, redrawn
  assert "[" in text and "#" in text and "step 2/4" in text
  assert "g_loss 0.7" in text and "2.0 img/s" in text and "2s left" in text
  # A message in between is written above the bar, which comes back.
  console._write_above_bar("warning: something", tty)
  after = tty.getvalue()[len(text):]
  assert after.startswith("\r\x1b[Kwarning: something\n\r\x1b[K")
  assert after.rstrip("\n").endswith(p.bar_line())
  p.update(4)
  p.close()
  assert tty.getvalue().endswith("\n")
  assert "step 4/4 100%" in tty.getvalue().splitlines()[-1]


def test_epochs_and_units(clock):
  out = io.StringIO()
  p = console.Progress(12, title="CAS", group=(4, "epoch"), stream=out)
  clock.t += 1
  p.update(1)
  clock.t += 1
  p.update(8, {"loss": 0.25}, log=True)
  assert out.getvalue().startswith("CAS: epoch 2/3 (67%)  loss 0.25")
  runs = console.Progress(3, title="sweep", unit="run", warmup=False,
                          stream=out)
  clock.t += 120
  runs.update(1, {"run": "base/seed_0"}, log=True)
  assert out.getvalue().splitlines()[-1] == (
      "sweep: run 1/3 (33%)  run base/seed_0  2m00s/run  4m00s left")


def test_format_duration():
  assert console.format_duration(42.4) == "42s"
  assert console.format_duration(252) == "4m12s"
  assert console.format_duration(3900) == "1h05m"
  assert console.format_duration(float("nan")) == "?"


def _record(level, msg, pathname, **extra):
  r = pylogging.LogRecord("absl", level, pathname, 1, msg, (), None)
  r.__dict__.update(extra)
  return r


def test_library_logs_go_to_the_file_and_v_brings_them_back(tmp_path,
                                                             capsys):
  own = os.path.join(REPO, "sigjax", "train_loop.py")
  try:
    path = console.setup(str(tmp_path), "job", level=0)
    assert path == str(tmp_path / "job.log")
    root = pylogging.getLogger()
    root.handle(_record(pylogging.INFO, "Resumed from step 3.", own))
    root.handle(_record(pylogging.WARNING, "moved aside", own))
    root.handle(_record(pylogging.INFO, "per-step line", own,
                        **console.FILE_ONLY))
    root.handle(_record(pylogging.INFO, "Saving checkpoint", LIBRARY_FILE))
    root.handle(_record(pylogging.ERROR, "Failed to read", LIBRARY_FILE))
    shown = capsys.readouterr().err.splitlines()
    assert shown == ["Resumed from step 3.", "warning: moved aside"]
    console.setup(str(tmp_path), "job", level=1)
    root.handle(_record(pylogging.INFO, "Saving checkpoint again",
                        LIBRARY_FILE))
    shown = capsys.readouterr().err
    assert "Saving checkpoint again" in shown and "orbax_like.py" in shown
  finally:
    console.teardown()
  with open(tmp_path / "job.log") as f:
    log = f.read()
  for msg in ("Resumed from step 3.", "moved aside", "per-step line",
              "Saving checkpoint", "Failed to read", "Saving checkpoint again"):
    assert msg in log
  assert "orbax_like.py:1]" in log  # absl's prefix: file and line


def test_verbose_flag_forms():
  assert console.expand_verbose_flag(["x", "-v"]) == ["x", "--verbosity=1"]
  assert console.expand_verbose_flag(["x", "-v", "2"]) == ["x", "-v", "2"]
  assert console.expand_verbose_flag(["x", "-v", "--workdir=w"]) == [
      "x", "--verbosity=1", "--workdir=w"]
  assert console.argv_verbosity(["x"]) == 0
  assert console.argv_verbosity(["x", "-v"]) == 1
  assert console.argv_verbosity(["x", "--verbosity=2"]) == 2
  assert console.argv_verbosity(["x", "-v", "3"]) == 3


class _Tiny(nn.Module):
  @nn.compact
  def __call__(self, x, train=False, return_features=False):
    f = x.reshape((x.shape[0], -1))
    y = nn.Dense(2)(f)
    return (y, f) if return_features else y


def test_classifier_fit_shows_its_epochs(capsys):
  from sigjax import classify  # pylint: disable=import-outside-toplevel
  x = np.random.default_rng(0).uniform(size=(16, 4, 4, 1)).astype(np.float32)
  y = (np.arange(16) % 2).astype(np.int32)
  c = classify.Classifier(_Tiny(), "multiclass", 2, lr=1e-2, batch_size=8)
  c.fit(x, y, epochs=3, seed=0, log_prefix="CAS")
  err = capsys.readouterr().err.splitlines()
  lines = [l for l in err if l.startswith("CAS: epoch")]
  assert [l.split(" (")[0] for l in lines] == [
      "CAS: epoch 1/3", "CAS: epoch 2/3", "CAS: epoch 3/3"], err
  assert "loss" in lines[-1] and "accuracy" in lines[-1]


def test_sweep_prints_one_line_per_run(tmp_path, capsys, monkeypatch):
  from ablations import run as runner  # pylint: disable=import-outside-toplevel
  from configs import cgan  # pylint: disable=import-outside-toplevel

  def fake_job(job, sweep):
    del sweep
    record = {"variant": job.variant, "seed": job.seed, "cas_accuracy": 0.5,
              "fid": 12.0, "steps": 4, "train_time_s": 1.0}
    os.makedirs(job.dir, exist_ok=True)
    with open(job.done_path, "w") as f:
      json.dump(record, f)
    return record

  monkeypatch.setattr(runner, "run_job", fake_job)
  monkeypatch.setattr(runner, "check_traces", lambda *a: None)
  sweep = {"base": cgan.get_config("test"), "seeds": [0],
           "variants": [("a", {}), ("b", {"train.steps": 2})],
           "eval": {"preset": "test"}}
  runner.run_sweep(sweep, str(tmp_path))
  lines = [l for l in capsys.readouterr().err.splitlines()
           if l.startswith("sweep:")]
  assert [l.split(" (")[0] for l in lines] == ["sweep: run 1/2",
                                               "sweep: run 2/2"], lines
  assert "run a/seed_0" in lines[0] and "cas_accuracy 0.5" in lines[0]


def _launch(workdir, *flags):
  cmd = [sys.executable, os.path.join(REPO, "launch.py"),
         f"--config={os.path.join(REPO, 'configs', 'cgan.py')}:test",
         f"--workdir={workdir}", *flags]
  return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                        timeout=600)


def test_launch_console_log_file_verbosity_and_errors(tmp_path):
  workdir = str(tmp_path / "run")
  r = _launch(workdir)
  assert r.returncode == 0, r.stderr
  err = r.stderr
  # Progress lines (not a terminal here) and sigjax's messages...
  # (The speed appears once a rate has been measured; with a warm compile
  # cache these 4 tiny steps can all finish before that, so the last line's
  # total time is what every run shows.)
  last = [l for l in err.splitlines() if l.startswith("train: step 4/4")]
  assert last and "(100%)" in last[0] and " took " in last[0], err
  assert "Resumed" not in err and "Training finished at step 4" in err
  # ...and no library INFO lines: those are in the log file.
  for noise in ("checkpoint_manager", "orbax", "Creating tmp directory",
                "I1", "W1"):
    assert noise not in err, (noise, err)
  with open(os.path.join(workdir, "train.log")) as f:
    log = f.read()
  assert "checkpoint_manager.py" in log and "step 4/4  d_loss" in log
  # -v: the library lines are back on the console.
  r = _launch(workdir, "-v", "--config.train.steps=6")
  assert r.returncode == 0, r.stderr
  assert "checkpoint_manager.py" in r.stderr and "Resumed from step 4" in (
      r.stderr)
  # A user error (a workdir holding another config's run): one line, exit 2.
  r = _launch(workdir, "--config.model.latent_dim=16")
  assert r.returncode == 2, r.stderr
  # TensorFlow >= 2.20 writes its oneDNN notice (on AVX-512 hosts) from
  # C++ before absl's log is set up, past TF_CPP_MIN_LOG_LEVEL: not ours.
  lines = [l for l in r.stderr.splitlines() if l.strip() and not (
      l.startswith("WARNING: All log messages before absl::InitializeLog")
      or "oneDNN custom operations are on" in l)]
  assert lines[-1].startswith("error: "), lines
  assert "model.latent_dim" in lines[-1] and "new --workdir" in lines[-1]
  assert len(lines) == 2 and lines[0].startswith("train job (preset test)"), (
      lines)
