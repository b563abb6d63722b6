r"""The real training loop on an accelerator: k steps per call, S seeds, dtypes.

    python -m benchmarks.accelerator_loop --out=OUT/loop.jsonl \
        [--presets=paper,quality_gpu] [--ks=1,10,100] [--seeds=1,4,8] \
        [--dtypes=float32,bfloat16] [--steps=0] [--budget_s=540] \
        [--peak_tflops=float32:67,bfloat16:989] [--data=synthetic]

Issue 27 item 5's prepared script for a lent GPU (one H200: its peaks,
dense, are the defaults: 67 TFLOP/s fp32 without tensor cores, 989 bf16
with them). For every (preset, dtype, k, S) it runs the whole
``launch.py`` loop, as a user runs it, with
``--config.train.steps_per_dispatch=k --config.train.num_seeds=S
--config.model.dtype=DTYPE`` into a fresh workdir, and records one JSON
line: the wall time of the whole command (compilation included), images
per second over the run (steps x batch x S / wall) and in steady state
(``metrics.jsonl``'s intervals but the first, as benchmarks/train_loop.py
reads them, times S), the useful TFLOP/s (``train_step.analytic_gflop``
per image) and its fraction of the dtype's peak, with the host's CPU
model, the devices, the date and the load average.

Runs are ordered cheapest first within each preset (k = 1, S = 1 first),
each under ``--run_timeout_s``; a run is not started when less than
``--budget_s`` minus the time spent is left for it (estimated from the
previous run of the preset), so the script ends within its budget and
says what it skipped. ``--steps=0`` runs each preset's own schedule (the
paper's 20000 steps: issue 27's target is at most 60 s on one H200,
compilation included; three seeds of ``:quality_gpu`` in at most 3
minutes). The workdirs go to a temporary folder, removed at the end.
On CPU the same script runs (tests/test_benchmark.py runs it on the
``test`` preset).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks import train_loop as loop_bench
from benchmarks.train_step import _sig
from benchmarks.train_step import analytic_gflop

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _ints(text):
  return [int(x) for x in text.split(",") if x.strip()]


def _peaks(text):
  out = {}
  for kv in text.split(","):
    if kv.strip():
      k, v = kv.split(":")
      out[k.strip()] = float(v)
  return out


def devices() -> str:
  """The JAX devices of a fresh process (this one does not import jax)."""
  r = subprocess.run([sys.executable, "-c",
                      "import jax; print(jax.devices())"],
                     capture_output=True, text=True, check=False, cwd=REPO)
  return (r.stdout or r.stderr).strip().splitlines()[-1] if (
      r.stdout or r.stderr) else ""


def steady_rate(metrics_path: str, batch: int):
  """Images per second of one seed over every log interval but the first
  (None when the run logged fewer than two intervals)."""
  rows = [json.loads(l) for l in open(metrics_path) if l.strip()]
  if len(rows) < 2:
    return None
  return loop_bench.loop_rate(metrics_path, batch)["images_per_s"]


def run_one(preset, dtype, k, s, steps, workdir, cache, data, timeout_s):
  cmd = [sys.executable, os.path.join(REPO, "launch.py"),
         f"--config={os.path.join(REPO, 'configs', 'cgan.py')}:{preset}",
         f"--workdir={workdir}", f"--config.data.source={data}",
         f"--config.train.steps_per_dispatch={k}",
         f"--config.train.num_seeds={s}", f"--config.model.dtype={dtype}",
         f"--config.compilation_cache_dir={cache}"]
  if steps:
    cmd.append(f"--config.train.steps={steps}")
  t = time.time()
  try:
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                       check=False, timeout=timeout_s)
    error = "" if r.returncode == 0 else r.stderr[-2000:]
  except subprocess.TimeoutExpired:
    error = f"timed out after {timeout_s} s"
  return time.time() - t, error, cmd


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--presets", default="paper,quality_gpu")
  p.add_argument("--ks", default="1,10,100")
  p.add_argument("--seeds", default="1,4,8")
  p.add_argument("--dtypes", default="float32,bfloat16")
  p.add_argument("--steps", type=int, default=0,
                 help="0 = each preset's own schedule")
  p.add_argument("--data", default="synthetic",
                 choices=["synthetic", "cross_media"])
  p.add_argument("--budget_s", type=float, default=540.0)
  p.add_argument("--run_timeout_s", type=float, default=300.0)
  p.add_argument("--peak_tflops", default="float32:67,bfloat16:989")
  p.add_argument("--out", default="")
  a = p.parse_args(argv)
  from configs import cgan as cgan_config  # pylint: disable=g-import-not-at-top
  peaks = _peaks(a.peak_tflops)
  host = loop_bench.cpu_info()
  emit = loop_bench.Recorder(a.out, host)
  tmp = tempfile.mkdtemp(prefix="sigjax_accel_loop_")
  cache = os.path.join(tmp, "cache")
  t_start = time.time()
  try:
    for preset in [x for x in a.presets.split(",") if x]:
      config = cgan_config.get_config(preset)
      batch = config.train.batch_size
      steps = a.steps or config.train.steps
      per_image = analytic_gflop(config, config.data.num_classes, 1)
      last_wall = 0.0
      plan = [(dtype, k, s) for dtype in a.dtypes.split(",") if dtype
              for s in _ints(a.seeds) for k in _ints(a.ks)]
      for i, (dtype, k, s) in enumerate(plan):
        left = a.budget_s - (time.time() - t_start)
        need = last_wall * max(1.0, s / 2)  # more seeds: more time
        if left <= need or left <= 0:
          emit({"kind": "skipped", "preset": preset, "dtype": dtype, "k": k,
                "num_seeds": s, "reason": f"{left:.0f} s of the budget "
                f"left, ~{need:.0f} s needed"})
          continue
        if "devices" not in host:  # only when a run starts (a subprocess)
          host["devices"] = devices()
        workdir = os.path.join(tmp, f"{preset}_{dtype}_k{k}_s{s}")
        load0 = os.getloadavg()[0]
        wall, error, cmd = run_one(preset, dtype, k, s, steps, workdir,
                                   cache, a.data,
                                   min(a.run_timeout_s, left))
        last_wall = wall
        rec = {"kind": "loop", "preset": preset, "dtype": dtype, "k": k,
               "num_seeds": s, "steps": steps, "batch": batch,
               "wall_s": round(wall, 2),
               "command": " ".join(cmd[1:]).replace(REPO + os.sep, ""),
               "loadavg_1min_before": round(load0, 2),
               "loadavg_1min_after": round(os.getloadavg()[0], 2)}
        if error:
          rec["error"] = error
        else:
          images = steps * batch * s
          rec["images_per_s_wall"] = round(images / wall, 1)
          first = (os.path.join(workdir, "seed_0") if s > 1 else workdir)
          seed_rate = steady_rate(os.path.join(first, "metrics.jsonl"),
                                  batch)
          if seed_rate is not None:
            rate = seed_rate * s  # every seed advances in the same program
            rec["images_per_s_steady"] = round(rate, 1)
            tflops = rate * per_image / 1e3
            rec["useful_tflops_steady"] = _sig(tflops)
            if dtype in peaks:
              rec["peak_tflops"] = peaks[dtype]
              rec["fraction_of_peak"] = _sig(tflops / peaks[dtype])
        emit(rec)
        shutil.rmtree(workdir, ignore_errors=True)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
    emit.close()


if __name__ == "__main__":
  main()
