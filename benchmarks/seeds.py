r"""Several seeds in one program against the same seeds one after another
(issue 27, item 3).

    .venv/bin/python -m benchmarks.seeds --preset=quality --seeds=3 \
        --steps=150 --rounds=2 --out=benchmarks/results/X.jsonl

Each round runs, one after another (interleaved, so background load hits
both alike): ``launch.py`` with ``--config.train.num_seeds=S`` (one
program, S run directories), then S ordinary ``launch.py`` runs of the
seeds 0..S-1, on the cross-media data, all with one persistent compilation
cache (as a user's runs share theirs). Recorded per measurement: the wall
time of the whole command(s), startup and compilation included, and the
steady images per second of all seeds together (from ``metrics.jsonl``:
every log interval but the first, which holds the compile). One JSON line
per measurement and one summary line (medians over rounds, group over
sequential), each with the host's CPU model and flags (lscpu), the CPUs
this process may run on and the 1-minute load average before and after.
"""

import argparse
import os
import shutil
import statistics
import tempfile
import time

from benchmarks import train_loop as loop_bench

REPO = loop_bench.REPO


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--preset", default="quality")
  p.add_argument("--seeds", type=int, default=3)
  p.add_argument("--steps", type=int, default=150)
  p.add_argument("--rounds", type=int, default=2)
  p.add_argument("--extra", default="",
                 help="';'-separated extra launch.py flags for every run")
  p.add_argument("--out", default="")
  a = p.parse_args(argv)
  extra = [x for x in a.extra.split(";") if x]
  from configs import cgan as cgan_config  # pylint: disable=g-import-not-at-top
  batch = cgan_config.get_config(a.preset).train.batch_size
  host = loop_bench.cpu_info()
  host["cpus_allowed"] = sorted(os.sched_getaffinity(0))
  tmp = tempfile.mkdtemp(prefix="sigjax_seeds_bench_")
  cache = os.path.join(tmp, "cache")
  emit = loop_bench.Recorder(a.out, host)
  records = emit.records

  def rate(workdirs):
    """All seeds' images per second: the runs' steady rates added (one
    program: each run's rate is the program's)."""
    rates = [loop_bench.loop_rate(os.path.join(w, "metrics.jsonl"), batch)
             for w in workdirs]
    return rates

  try:
    for r in range(a.rounds):
      load0 = os.getloadavg()[0]
      group = os.path.join(tmp, f"group_{r}")
      wall = loop_bench.run_loop(
          REPO, a.preset, a.steps, group, cache,
          extra + [f"--config.train.num_seeds={a.seeds}"])
      runs = [os.path.join(group, f"seed_{s}") for s in range(a.seeds)]
      per_run = rate(runs)
      emit({"kind": "group", "round": r, "preset": a.preset,
            "seeds": a.seeds, "steps": a.steps, "batch": batch,
            "extra": extra, "wall_s": round(wall, 1),
            # One program: every run advanced at the program's rate.
            "images_per_s_all_seeds": round(
                a.seeds * statistics.median(x["images_per_s"]
                                            for x in per_run), 2),
            "loadavg_1min_before": round(load0, 2),
            "loadavg_1min_after": round(os.getloadavg()[0], 2)})
      shutil.rmtree(group, ignore_errors=True)
      load0 = os.getloadavg()[0]
      walls, rates = [], []
      for s in range(a.seeds):
        w = os.path.join(tmp, f"single_{r}_{s}")
        walls.append(loop_bench.run_loop(REPO, a.preset, a.steps, w, cache,
                                         extra + [f"--config.seed={s}"]))
        rates.append(rate([w])[0]["images_per_s"])
        shutil.rmtree(w, ignore_errors=True)
      # One after another: S * steps * batch images in the summed time.
      seconds = sum(a.steps * batch / x for x in rates)
      emit({"kind": "sequential", "round": r, "preset": a.preset,
            "seeds": a.seeds, "steps": a.steps, "batch": batch,
            "extra": extra, "wall_s": round(sum(walls), 1),
            "run_wall_s": [round(x, 1) for x in walls],
            "images_per_s_all_seeds": round(
                a.seeds * a.steps * batch / seconds, 2),
            "run_images_per_s": [round(x, 2) for x in rates],
            "loadavg_1min_before": round(load0, 2),
            "loadavg_1min_after": round(os.getloadavg()[0], 2)})
    med = lambda kind, key: statistics.median(
        x[key] for x in records if x["kind"] == kind)
    emit({"kind": "summary", "preset": a.preset, "seeds": a.seeds,
          "steps": a.steps, "rounds": a.rounds,
          "group_wall_s_median": med("group", "wall_s"),
          "sequential_wall_s_median": med("sequential", "wall_s"),
          "wall_speedup": round(med("sequential", "wall_s")
                                / med("group", "wall_s"), 3),
          "group_images_per_s_median": med("group",
                                           "images_per_s_all_seeds"),
          "sequential_images_per_s_median": med("sequential",
                                                "images_per_s_all_seeds"),
          "throughput_ratio": round(
              med("group", "images_per_s_all_seeds")
              / med("sequential", "images_per_s_all_seeds"), 3),
          "loadavg_1min": round(os.getloadavg()[0], 2)})
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
    emit.close()


if __name__ == "__main__":
  main()
