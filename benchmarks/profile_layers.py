"""Per-layer timing of the CGAN's convolutions: forward, grad-input, grad-kernel.

    .venv/bin/python -m benchmarks.profile_layers [--batch=64] [--reps=5]
        [--layers=d,g] [--impls=...] [--xla_cpu_conv=eigen|ynnpack]
        [--dtype=float32|bfloat16]

For every discriminator conv and generator deconv of the paper preset, times
(median of --reps, after warm-up) the jitted forward, the gradient w.r.t. the
input alone and w.r.t. the kernel alone, for each implementation, and prints
one JSON line per (layer, impl, pass) with ms and GFLOP/s (analytic count:
2 * MACs of the forward, the same for each backward pass). --dtype=bfloat16
runs every layer on bf16 operands (oneDNN's bf16 handlers where
``onednn.bf16_available()``; ``benchmarks/bf16_onednn.py`` compares dtypes
in one run).
"""

import argparse
from functools import partial
import json
import os
import statistics
import time


import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp
from jax import lax

from sigjax import parallel
from sigjax.ops import onednn
from sigjax.models import layers


def _time(fn, *args, reps):
  jax.block_until_ready(fn(*args))
  ts = []
  for _ in range(reps):
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    ts.append(time.perf_counter() - t)
  return statistics.median(ts)


def conv_fns(impl, stride):
  def f(x, w):
    if impl == "onednn":
      return onednn.conv(x, w, (stride, stride), "SAME")
    return layers.conv2d(x, w, (stride, stride), impl=impl)
  return f


def deconv_fns(impl, stride):
  def f(x, w):
    if impl == "phase":
      return layers.conv_transpose_phase(x, w, (stride, stride))
    if impl == "onednn":
      return onednn.conv_transpose(x, w, (stride, stride))
    if impl == "flax":
      return lax.conv_transpose(x, w, (stride, stride), "SAME",
                                dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return layers.conv_transpose_subpixel(
        x, w, (stride, stride), s1={"subpixel": "auto", "subpixel_xla": "xla",
                                    "subpixel_rows": "rows"}[impl])
  return f


# (name, input size, in channels, out channels, stride) of the paper
# preset's convolutions (5x5 kernels).
D_LAYERS = [("d.conv0", 64, 2, 32, 2), ("d.conv1", 32, 32, 64, 2),
            ("d.conv2", 16, 64, 128, 2), ("d.conv3", 8, 128, 256, 1)]
G_LAYERS = [("g.deconv0", 16, 128, 128, 2), ("g.deconv1", 32, 128, 64, 2),
            ("g.deconv2", 64, 64, 32, 1), ("g.deconv3", 64, 32, 1, 1)]


def layer_passes(layer, impl, transposed, batch, dtype, jit, key):
  """[(pass, jitted fn, args)] of one layer: forward, input and kernel
  gradient, on ``dtype`` operands; and the analytic FLOP count."""
  name, size, cin, cout, s = layer
  x = jax.random.normal(key, (batch, size, size, cin)).astype(dtype)
  w = (jax.random.normal(key, (5, 5, cin, cout)) * 0.05).astype(dtype)
  in_pos = size * size if transposed else (size // s) ** 2
  flop = 2 * batch * in_pos * 25 * cin * cout
  f = (deconv_fns if transposed else conv_fns)(impl, s)
  fwd = jit(f)
  dy = jnp.ones_like(fwd(x, w))
  gx = jit(lambda x, w, dy, f=f: jax.vjp(lambda x: f(x, w), x)[1](dy)[0])
  gw = jit(lambda x, w, dy, f=f: jax.vjp(lambda w: f(x, w), w)[1](dy)[0])
  return [("fwd", fwd, (x, w)), ("grad_input", gx, (x, w, dy)),
          ("grad_kernel", gw, (x, w, dy))], flop


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--batch", type=int, default=64)
  p.add_argument("--reps", type=int, default=5)
  p.add_argument("--layers", default="d,g")
  p.add_argument("--impls", default="")
  p.add_argument("--only", default="", help="comma list of layer names")
  p.add_argument("--xla_cpu_conv", default="eigen",
                 help="config.xla_cpu_conv: eigen or ynnpack")
  p.add_argument("--dtype", default="float32", choices=["float32",
                                                        "bfloat16"])
  a = p.parse_args()
  jit = partial(jax.jit, compiler_options=parallel.compiler_options(
      {"xla_cpu_conv": a.xla_cpu_conv}))
  todo = []
  kinds = a.layers.split(",")
  if "d" in kinds:
    impls = a.impls.split(",") if a.impls else list(layers.CONV_IMPLS)
    todo += [(l, impls, False) for l in D_LAYERS
             if not a.only or l[0] in a.only.split(",")]
  if "g" in kinds:
    impls = (a.impls.split(",") if a.impls
             else ["phase", "flax", "subpixel", "subpixel_xla",
                   "subpixel_rows"])
    todo += [(l, impls, True) for l in G_LAYERS
             if not a.only or l[0] in a.only.split(",")]
  key = jax.random.PRNGKey(0)
  for layer, impls, transposed in todo:
    for impl in impls:
      passes, flop = layer_passes(layer, impl, transposed, a.batch,
                                  jnp.dtype(a.dtype), jit, key)
      for pass_, fn, args in passes:
        t = _time(fn, *args, reps=a.reps)
        print(json.dumps({"layer": layer[0], "impl": impl, "pass": pass_,
                          "dtype": a.dtype, "ms": round(t * 1e3, 2),
                          "gflops": round(flop / t / 1e9, 1)}), flush=True)

if __name__ == "__main__":
  main()
