r"""Data-parallel scaling of the CGAN train step on N simulated CPU devices.

    .venv/bin/python -m benchmarks.scaling [--preset=cpu] [--devices=1,2,4,8]
        [--steps=4] [--batch=0]

For each N, a fresh subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` builds the preset's
state, the mesh over its N devices and ``sigjax.train.jit_train_step``
(batch sharded over ``data``, state replicated), runs --steps steps on fixed
deterministic batches (same global batch for every N) and reports the median
step time, the losses of every step and the final parameters. The parent
prints one JSON line per N with the per-step time and the largest absolute
difference of the losses and of every parameter against N=1. ``match`` is
true when the losses agree within --atol (1e-4) and the parameters within
--param_atol (default 2 * lr * steps). The N-device step reduces gradients
and BatchNorm statistics in a different order, so results agree to float32
rounding, not bitwise; Adam divides by sqrt(v), so for a parameter whose
gradient is ~0 a rounding-level difference can flip the sign of its update,
which moves it by up to ~2*lr per step: that is the parameter bound.
Simulated devices share the same cores, so time per step measures the
partitioning overhead, not a speed-up.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def worker(a):
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np
  from configs import cgan as cgan_config
  from sigjax import parallel
  from sigjax import train as train_lib

  config = cgan_config.get_config(a.preset)
  if a.batch:
    config.train.batch_size = a.batch
  b, size = config.train.batch_size, config.data.image_size
  nc = config.data.num_classes
  mesh = parallel.make_mesh()
  parallel.check_batch_size(b, mesh, "batch")
  state = parallel.replicate(train_lib.create_state(config, nc), mesh)
  step = train_lib.jit_train_step(config, nc, mesh)
  rng = np.random.default_rng(0)
  batches = [parallel.shard_batch((
      (rng.random((b, size, size, 1)) < 0.1).astype(np.float32),
      rng.integers(0, nc, (b,)).astype(np.int32)), mesh)
             for _ in range(a.steps)]
  t = time.perf_counter()
  compiled = step.lower(state, *batches[0]).compile()
  compile_s = time.perf_counter() - t
  losses, times = [], []
  for x, y in batches:
    t = time.perf_counter()
    state, m = compiled(state, x, y)
    m = jax.device_get(m)
    times.append(time.perf_counter() - t)
    losses.append([float(m["d_loss"]), float(m["g_loss"])])
  leaves = jax.tree_util.tree_leaves_with_path(
      parallel.to_host((state.params_g, state.params_d, state.batch_stats_g)))
  np.savez(a.out, **{jax.tree_util.keystr(k): np.asarray(v) for k, v in leaves})
  print(json.dumps({"devices": len(jax.devices()), "compile_s": compile_s,
                    "step_ms": statistics.median(times[1:] or times) * 1e3,
                    "losses": losses}))


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--preset", default="cpu")
  p.add_argument("--devices", default="1,2,4,8")
  p.add_argument("--steps", type=int, default=4)
  p.add_argument("--batch", type=int, default=0)
  p.add_argument("--atol", type=float, default=1e-4)
  p.add_argument("--param_atol", type=float, default=0.0,
                 help="0 = 2 * max(lr_g, lr_d) * steps")
  p.add_argument("--worker", action="store_true")
  p.add_argument("--out", default="")
  a = p.parse_args()
  if a.worker:
    return worker(a)
  import numpy as np  # pylint: disable=g-import-not-at-top
  from configs import cgan as cgan_config  # pylint: disable=g-import-not-at-top
  t = cgan_config.get_config(a.preset).train
  param_atol = a.param_atol or 2 * max(t.lr_g, t.lr_d) * a.steps
  tmp = tempfile.mkdtemp(prefix="sigjax_scaling_")
  ref = None
  for n in [int(d) for d in a.devices.split(",")]:
    out = os.path.join(tmp, f"params_{n}.npz")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") +
                          f" --xla_force_host_platform_device_count={n}"))
    cmd = [sys.executable, "-m", "benchmarks.scaling", "--worker",
           f"--preset={a.preset}", f"--steps={a.steps}", f"--batch={a.batch}",
           f"--out={out}"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT,
                       check=False)
    if r.returncode:
      print(json.dumps({"devices": n, "error": r.stderr[-2000:]}), flush=True)
      continue
    rec = json.loads(r.stdout.strip().splitlines()[-1])
    params = dict(np.load(out))
    if ref is None:
      ref = (rec, params)
    loss_diff = float(np.max(np.abs(np.asarray(rec["losses"]) -
                                    np.asarray(ref[0]["losses"]))))
    param_diff = max(float(np.max(np.abs(params[k] - ref[1][k])))
                     for k in params)
    rec.update(preset=a.preset, max_loss_diff_vs_1=loss_diff,
               max_param_diff_vs_1=param_diff, loss_atol=a.atol,
               param_atol=param_atol,
               match=loss_diff <= a.atol and param_diff <= param_atol,
               step_ms=round(rec["step_ms"], 2),
               compile_s=round(rec["compile_s"], 2))
    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
  main()
