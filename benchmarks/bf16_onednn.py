r"""bf16 on oneDNN against fp32 on oneDNN and bf16 on XLA (issue 27 item 4).

    taskset -c 0 .venv/bin/python -m benchmarks.bf16_onednn --preset=paper \
        --batch=64 --steps=2 --rounds=5 --reps=5 \
        --out=benchmarks/results/bf16_onednn_cpu_2026-12-03.jsonl

Part 1 (``kind: step``): the preset's train step in three lowerings, each
compiled and warmed up first, then timed in interleaved rounds (round r runs
--steps steps of each in turn, so outside load hits all alike):

  fp32_onednn   model.dtype=float32,  oneDNN float32 convolutions ('auto')
  bf16_onednn   model.dtype=bfloat16, oneDNN bf16 convolutions ('auto' where
                ``onednn.bf16_available()``)
  bf16_xla      model.dtype=bfloat16, XLA's convolutions ('phase', 'xla')

then one ``kind: step_summary`` line per lowering with the median over
rounds and its speed-up over fp32_onednn.

Part 2 (``kind: pass``, skipped with --reps=0): every convolution of the
paper preset (benchmarks/profile_layers.py's tables), forward, input
gradient and kernel gradient, median of --reps, in the same three
lowerings, interleaved per layer.

Every line carries the host (CPU model, count and flags, lscpu), oneDNN's
effective ISA, the 1-minute load average and the date (``Recorder``).
"""

import argparse
from functools import partial
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp
import numpy as np

from benchmarks import profile_layers
from benchmarks.train_loop import Recorder
from benchmarks.train_loop import cpu_info
from benchmarks.train_step import SigjaxImpl
from configs import cgan as cgan_config
from sigjax import parallel
from sigjax.models import cgan
from sigjax.ops import onednn

# name -> (model.dtype, conv_transpose, conv_impl)
LOWERINGS = {"fp32_onednn": ("float32", "auto", "auto"),
             "bf16_onednn": ("bfloat16", "auto", "auto"),
             "bf16_xla": ("bfloat16", "phase", "xla")}
# name -> (operand dtype, conv impl, transposed-conv impl) for part 2.
PASS_IMPLS = {"fp32_onednn": (jnp.float32, "onednn", "onednn"),
              "bf16_onednn": (jnp.bfloat16, "onednn", "onednn"),
              "bf16_xla": (jnp.bfloat16, "xla", "phase")}


def _log(msg):
  print(msg, file=sys.stderr, flush=True)


def _load():
  return round(os.getloadavg()[0], 2)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--preset", default="paper")
  p.add_argument("--batch", type=int, default=64, help="0 = the preset's")
  p.add_argument("--steps", type=int, default=2, help="steps per round")
  p.add_argument("--rounds", type=int, default=5)
  p.add_argument("--reps", type=int, default=5,
                 help="timed calls per pass in part 2 (0: skip part 2)")
  p.add_argument("--lowerings", default=",".join(LOWERINGS))
  p.add_argument("--out", default="")
  a = p.parse_args(argv)
  names = a.lowerings.split(",")
  host = dict(cpu_info(), onednn_isa=hex(onednn.cpu_isa()),
              onednn_bf16=onednn.bf16_available(),
              onednn_bf16_why=onednn.bf16_why())
  emit = Recorder(a.out, host)

  try:
    impls = {}
    for name in names:
      dtype, ct, ci = LOWERINGS[name]
      config = cgan_config.get_config(a.preset)
      if a.batch:
        config.train.batch_size = a.batch
      config.model.dtype = dtype
      config.model.conv_transpose, config.model.conv_impl = ct, ci
      resolved = cgan.resolve_conv_impls(config)
      b, size = config.train.batch_size, config.data.image_size
      classes = config.data.num_classes
      rng = np.random.default_rng(0)
      images = (rng.random((b, size, size, 1)) < 0.1).astype(np.float32)
      labels = rng.integers(0, classes, (b,)).astype(np.int32)
      _log(f"compiling {name} ({dtype}, {resolved})")
      impls[name] = (SigjaxImpl(config, classes, images, labels, name=name),
                     resolved, dtype, b)

    times = {n: [] for n in impls}
    for r in range(a.rounds):
      for name, (impl, resolved, dtype, b) in impls.items():
        load0 = _load()
        t = time.perf_counter()
        n = impl.run(a.steps)
        step_s = (time.perf_counter() - t) / n
        times[name].append(step_s)
        emit({"kind": "step", "lowering": name, "round": r,
              "preset": a.preset, "batch": b, "dtype": dtype,
              "conv_transpose": resolved[0], "conv_impl": resolved[1],
              "steps": n, "step_ms": round(step_s * 1e3, 1),
              "loadavg_1min_before": load0, "loadavg_1min_after": _load()})
    base = (statistics.median(times["fp32_onednn"])
            if "fp32_onednn" in times else None)
    for name, (impl, resolved, dtype, b) in impls.items():
      med = statistics.median(times[name])
      emit({"kind": "step_summary", "lowering": name, "preset": a.preset,
            "batch": b, "dtype": dtype, "conv_transpose": resolved[0],
            "conv_impl": resolved[1], "rounds": a.rounds, "steps": a.steps,
            "step_ms_median": round(med * 1e3, 1),
            "step_ms_rounds": [round(t * 1e3, 1) for t in times[name]],
            "images_per_s": round(b / med, 2),
            "compile_s": round(impl.compile_s, 1),
            "speedup_vs_fp32_onednn": (round(base / med, 3) if base
                                       else None),
            "loadavg_1min": _load()})
    del impls

    if a.reps:
      jit = partial(jax.jit, compiler_options=parallel.compiler_options(
          {"xla_cpu_conv": "eigen"}))
      key = jax.random.PRNGKey(0)
      layers = ([(l, False) for l in profile_layers.D_LAYERS]
                + [(l, True) for l in profile_layers.G_LAYERS])
      for layer, transposed in layers:
        for name in names:
          dtype, conv, deconv = PASS_IMPLS[name]
          passes, flop = profile_layers.layer_passes(
              layer, deconv if transposed else conv, transposed, a.batch or 64,
              dtype, jit, key)
          for pass_, fn, args in passes:
            load0 = _load()
            t = profile_layers._time(fn, *args, reps=a.reps)  # pylint: disable=protected-access
            emit({"kind": "pass", "layer": layer[0], "lowering": name,
                  "pass": pass_, "dtype": jnp.dtype(dtype).name,
                  "batch": a.batch or 64, "ms": round(t * 1e3, 2),
                  "gflops": round(flop / t / 1e9, 1), "reps": a.reps,
                  "loadavg_1min_before": load0,
                  "loadavg_1min_after": _load()})
  finally:
    emit.close()


if __name__ == "__main__":
  main()
