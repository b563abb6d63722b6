r"""The real training loop's rate against the step's (issue 27, item 1).

    .venv/bin/python -m benchmarks.train_loop --trees=before=OLD_TREE,after=. \
        --preset=quality --steps=300 --rounds=3 --out=benchmarks/results/X.jsonl

Each round runs, one after another (interleaved, so background load hits
all alike): a whole ``launch.py`` training run of ``--preset`` on the
cross-media data from every tree in ``--trees`` (name=path: a checkout of
sigjax, e.g. main's before a change and this one after), then
``benchmarks/train_step.py`` (this tree's) for the same preset with one
batch already on the device. A loop's rate is its images per second from
``metrics.jsonl`` over every log interval but the first (which holds the
compile): (last step - first row's step) * batch / the intervals' summed
wall time. One JSON line per measurement, then one summary line per tree
(medians over rounds, ratio to the step's median), each with the host's
CPU model and flags (lscpu) and the 1-minute load average before and after.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def cpu_info() -> dict:
  """CPU model and flags as lscpu gives them (empty off Linux)."""
  try:
    out = subprocess.run(["lscpu"], capture_output=True, text=True,
                         check=False).stdout
  except OSError:
    return {}
  info = {}
  for line in out.splitlines():
    key, _, value = line.partition(":")
    if key.strip() in ("Model name", "Flags", "CPU(s)"):
      info[key.strip()] = value.strip()
  return {"cpu_model": info.get("Model name", ""),
          "cpu_count": info.get("CPU(s)", ""),
          "cpu_flags": info.get("Flags", "")}


class Recorder:
  """``recorder(rec)`` prints ``rec`` as one JSON line, with the host's
  ``host`` fields and the date added, appends it to ``path`` (when given)
  and keeps it in ``records``."""

  def __init__(self, path: str, host: dict):
    self.host, self.records = host, []
    self.out = open(path, "a") if path else None

  def __call__(self, rec: dict) -> None:
    rec.update(self.host, date=time.strftime("%Y-%m-%d"))
    line = json.dumps(rec)
    print(line, flush=True)
    if self.out:
      self.out.write(line + "\n")
      self.out.flush()
    self.records.append(rec)

  def close(self) -> None:
    if self.out:
      self.out.close()


def loop_rate(metrics_path: str, batch: int) -> dict:
  """Images per second over every log interval but the first."""
  rows = [json.loads(l) for l in open(metrics_path) if l.strip()]
  prev, steps, seconds = rows[0]["step"], 0, 0.0
  for r in rows[1:]:
    n = r["step"] - prev
    steps, seconds = steps + n, seconds + n / r["steps_per_sec"]
    prev = r["step"]
  return {"images_per_s": steps * batch / seconds, "steps_measured": steps,
          "interval_images_per_s": [round(r["images_per_sec"], 2)
                                    for r in rows[1:]]}


def run_loop(tree, preset, steps, workdir, cache, extra):
  cmd = [sys.executable, os.path.join(tree, "launch.py"),
         f"--config={os.path.join(tree, 'configs', 'cgan.py')}:{preset}",
         f"--workdir={workdir}", "--config.data.source=cross_media",
         f"--config.train.steps={steps}",
         f"--config.compilation_cache_dir={cache}", *extra]
  t = time.time()
  r = subprocess.run(cmd, cwd=tree, capture_output=True, text=True,
                     check=False)
  if r.returncode:
    raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
  return time.time() - t


def run_step(preset, steps):
  cmd = [sys.executable, "-m", "benchmarks.train_step",
         f"--preset={preset}", "--impls=sigjax", f"--steps={steps}",
         "--rounds=1", "--probe=0"]
  r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                     check=False)
  if r.returncode:
    raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
  rec = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
  return next(x for x in rec if x["impl"] == "sigjax")


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--trees", default=f"after={REPO}",
                 help="name=path[,name=path...] of sigjax checkouts")
  p.add_argument("--preset", default="quality")
  p.add_argument("--steps", type=int, default=300)
  p.add_argument("--bench_steps", type=int, default=10)
  p.add_argument("--rounds", type=int, default=3)
  p.add_argument("--extra", default="",
                 help="';'-separated extra launch.py flags for every tree")
  p.add_argument("--out", default="")
  a = p.parse_args(argv)
  trees = dict(kv.split("=", 1) for kv in a.trees.split(","))
  extra = [x for x in a.extra.split(";") if x]
  from configs import cgan as cgan_config  # pylint: disable=g-import-not-at-top
  batch = cgan_config.get_config(a.preset).train.batch_size
  host = cpu_info()
  tmp = tempfile.mkdtemp(prefix="sigjax_loop_bench_")
  cache = os.path.join(tmp, "cache")
  emit = Recorder(a.out, host)
  records = emit.records

  try:
    for r in range(a.rounds):
      for name, tree in trees.items():
        workdir = os.path.join(tmp, f"{name}_{r}")
        load0 = os.getloadavg()[0]
        wall = run_loop(os.path.abspath(tree), a.preset, a.steps, workdir,
                        cache, extra)
        rate = loop_rate(os.path.join(workdir, "metrics.jsonl"), batch)
        emit({"kind": "loop", "tree": name, "round": r, "preset": a.preset,
              "data": "cross_media", "steps": a.steps, "batch": batch,
              "extra": extra, "wall_s": round(wall, 1),
              **{k: (round(v, 2) if isinstance(v, float) else v)
                 for k, v in rate.items()},
              "loadavg_1min_before": round(load0, 2),
              "loadavg_1min_after": round(os.getloadavg()[0], 2)})
        shutil.rmtree(workdir, ignore_errors=True)
      load0 = os.getloadavg()[0]
      rec = run_step(a.preset, a.bench_steps)
      emit({"kind": "step", "tree": "benchmarks/train_step.py", "round": r,
            "preset": a.preset, "data": "in_memory", "batch": batch,
            "step_ms": rec["step_ms"], "images_per_s": rec["images_per_s"],
            "loadavg_1min_before": round(load0, 2),
            "loadavg_1min_after": round(os.getloadavg()[0], 2)})
    step = statistics.median(x["images_per_s"] for x in records
                             if x["kind"] == "step")
    for name in trees:
      rates = [x["images_per_s"] for x in records
               if x["kind"] == "loop" and x["tree"] == name]
      emit({"kind": "summary", "tree": name, "preset": a.preset,
            "rounds": a.rounds, "loop_images_per_s_median":
            round(statistics.median(rates), 2),
            "step_images_per_s_median": round(step, 2),
            "loop_over_step": round(statistics.median(rates) / step, 3),
            "loadavg_1min": round(os.getloadavg()[0], 2)})
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
    emit.close()


if __name__ == "__main__":
  main()
