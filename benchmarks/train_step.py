r"""Benchmark of the CGAN training step: sigjax vs Keras 3/TF and PyTorch.

    .venv/bin/python -m benchmarks.train_step --preset=paper --batch=64 \
        --steps=5 --rounds=5 --dtype=float32 --impls=sigjax,keras,torch \
        [--data=synthetic|cross_media] [--scan=4] [--conv_impl=xla]

Every implementation is built and warmed up first (its compile time is
recorded), then measured in interleaved rounds (round r runs --steps steps of
each implementation in turn, then a fp32 matmul probe), so that load from
other processes hits all of them alike; medians over rounds are reported.
One JSON line per implementation:

  impl, preset, batch, dtype, data, step_ms (median over rounds),
  step_ms_rounds, images_per_s, compile_s, gflop_per_step, flop_source,
  achieved_gflops, ceiling_gflops, fraction_of_ceiling, vs_sigjax
  (this impl's step time / sigjax's: > 1 means sigjax is faster),
  device, loadavg_1min, cpu_model, cpu_count, cpu_flags, date.

gflop_per_step is an analytic count of the useful FLOPs (``analytic_gflop``:
every conv, transposed conv and dense layer at its useful taps, 4 G + 8 D
forward-equivalents per step; 354.2 GFLOP for the paper preset at batch 64).
``xla_gflop`` is XLA's cost analysis of the lowered step for comparison: it
counts the sub-pixel zero taps, and nothing for custom calls (the oneDNN
convolutions) or, on GPU after compilation, cuDNN. The references compute
the same architecture, so the same count is used for them
(flop_source says so). The ``matmul`` line is the probe: a
``--probe`` x ``--probe`` fp32 ``jnp.dot``, the machine's fp32 ceiling.

--data=cross_media adds the impl ``sigjax_tfdata``: the same step fed by the
real tf.data pipeline (``sigjax.data.train_dataset`` over the cross-media
``name_paper_bin`` train split, host -> device each step), measured in the
same rounds as ``sigjax`` with in-memory device batches.
--variants='k=v;...' adds sigjax with config.model.k=v (e.g. dtype=bfloat16,
conv_transpose=subpixel_xla), a top-level field (xla_cpu_conv=ynnpack) or
section.field=v, in the same rounds, for A/B comparisons; 'k=v,k2=v2' sets
several fields in one variant.
--scan=K adds ``sigjax_scanK``: K steps inside one jit (``lax.scan``) to
measure per-step dispatch overhead. A reference whose framework is not
installed is skipped with a message on stderr.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp
import numpy as np

from benchmarks import train_loop
from configs import cgan as cgan_config
from sigjax import parallel
from sigjax import train as train_lib


def _sig(x, digits=4):
  """x rounded to ``digits`` significant digits (tiny presets stay > 0)."""
  return float(f"{x:.{digits}g}") if x else None


def _log(msg):
  print(msg, file=sys.stderr, flush=True)


def analytic_gflop(config, num_classes, batch):
  """Useful GFLOP of one CGAN train step (2 FLOPs per multiply-add).

  Every conv / transposed conv / dense layer of G and D counted at its
  useful taps (a transposed conv: every input pixel times k*k*in*out);
  the input-gradient and weight-gradient passes each cost one forward. A
  step runs G forward twice (D step, G step) and backward once (2 passes),
  D forward 3 times (real, fake; G step), its input gradient 3 times and its
  weight gradient twice: 4 G + 8 D forward-equivalents.
  """
  m = config.model
  k2 = m.kernel_size ** 2
  size = config.data.image_size
  scale = int(np.prod(m.gen_strides))
  n, cin = size // scale, m.gen_channels[0]
  g = (m.latent_dim + num_classes) * n * n * cin
  for c, s in zip(m.gen_channels, m.gen_strides):
    g += n * n * k2 * cin * c
    n, cin = n * s, c
  d = num_classes * size * size
  n, cin = size, 2
  for c, s in zip(m.disc_channels, m.disc_strides):
    n = -(-n // s)
    d += n * n * k2 * cin * c
    cin = c
  d += n * n * cin
  return 2 * batch * (4 * g + 8 * d) / 1e9


def _flops(lowered):
  cost = lowered.cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else None
  return float((cost or {}).get("flops", 0.0))  # None: backend gives none


class Impl:
  """name, run(n) -> runs n steps and waits; compile_s; gflop (or None)."""
  gflop = None
  flop_source = "same_as_sigjax"


class SigjaxImpl(Impl):

  def __init__(self, config, num_classes, images, labels, scan=0,
               batches=None, name="sigjax"):
    self.name = name
    self.dtype = config.model.dtype
    mesh = parallel.make_mesh()
    self.mesh = mesh
    self.state = parallel.replicate(
        train_lib.create_state(config, num_classes), mesh)
    self.batches = batches
    x, y = parallel.shard_batch((images, labels), mesh)
    self.scan = scan
    if scan:
      step = train_lib.make_train_step(config, num_classes)

      def multi(state, x, y):
        def body(s, _):
          s, m = step(s, x, y)
          return s, m
        return jax.lax.scan(body, state, None, length=scan)
      rep = parallel.replicated(mesh)
      data = parallel.batch_sharding(mesh)
      # The same compiler options as the single step (before 2026-12-03
      # the scan was compiled without them: YNNPACK convolutions).
      jitted = jax.jit(multi, in_shardings=(rep, data, data),
                       out_shardings=(rep, rep), donate_argnums=(0,),
                       compiler_options=parallel.compiler_options(config))
    else:
      jitted = train_lib.jit_train_step(config, num_classes, mesh)
    t = time.perf_counter()
    lowered = jitted.lower(self.state, x, y)
    self.compiled = lowered.compile()
    self.compile_s = time.perf_counter() - t
    # XLA's count of this lowering (custom calls such as the oneDNN
    # convolutions count 0, sub-pixel zero taps count in full): reported
    # beside the analytic count, which is what GFLOP/s are computed from.
    self.xla_gflop = _flops(lowered) / 1e9 / max(scan, 1)
    self.gflop = analytic_gflop(config, num_classes,
                                config.train.batch_size)
    self.flop_source = "analytic"
    self.x, self.y = x, y
    self.run(1)

  def run(self, n):
    if self.scan:
      n = max(1, round(n / self.scan))
    for _ in range(n):
      x, y = self.x, self.y
      if self.batches is not None:
        x, y = parallel.shard_batch(next(self.batches), self.mesh)
      self.state, metrics = self.compiled(self.state, x, y)
    jax.block_until_ready((self.state, metrics))
    return n * max(self.scan, 1)


class CallableImpl(Impl):

  def __init__(self, name, make, images, labels):
    self.name = name
    t = time.perf_counter()
    self.fn = make()
    self.images, self.labels = images, labels
    self.fn(images, labels)  # trace / compile / first run
    self.compile_s = time.perf_counter() - t

  def run(self, n):
    for _ in range(n):
      self.fn(self.images, self.labels)
    return n


def matmul_probe(n, reps=3):
  a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n)), jnp.float32)
  f = jax.jit(jnp.dot)
  f(a, a).block_until_ready()
  ts = []
  for _ in range(reps):
    t = time.perf_counter()
    f(a, a).block_until_ready()
    ts.append(time.perf_counter() - t)
  return 2 * n ** 3 / statistics.median(ts) / 1e9


def _cast(old, value: str):
  """A --variants value as the type of the field it replaces (bool, int,
  float; a string or None field takes it as it is)."""
  if isinstance(old, bool):
    return value.lower() in ("1", "true", "yes")
  if old is None or isinstance(old, str):
    return value
  return type(old)(value)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--preset", default="paper",
                 choices=["paper", "cpu", "dcgan_small", "quality", "quality_gpu",
                          "legible", "test"])
  p.add_argument("--batch", type=int, default=0, help="0 = the preset's")
  p.add_argument("--steps", type=int, default=3, help="steps per round")
  p.add_argument("--rounds", type=int, default=3)
  p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
  p.add_argument("--impls", default="sigjax,keras,torch",
                 help="comma list of sigjax, keras, keras_xla, torch")
  p.add_argument("--data", default="synthetic",
                 choices=["synthetic", "cross_media"])
  p.add_argument("--conv_impl", default="", help="override model.conv_impl")
  p.add_argument("--conv_transpose", default="",
                 help="override model.conv_transpose")
  p.add_argument("--scan", type=int, default=0)
  p.add_argument("--variants", default="",
                 help="extra sigjax variants measured in the same rounds, "
                 "';'-separated model overrides, e.g. "
                 "'conv_transpose=subpixel_xla;dtype=bfloat16'")
  p.add_argument("--probe", type=int, default=2048,
                 help="matmul probe size (0 = no probe)")
  p.add_argument("--tfds_data_dir", default=os.path.join(
      tempfile.gettempdir(), "sigjax_bench_tfds"))
  a = p.parse_args(argv)

  config = cgan_config.get_config(a.preset)
  if a.batch:
    config.train.batch_size = a.batch
  config.model.dtype = a.dtype
  if a.conv_impl:
    config.model.conv_impl = a.conv_impl
  if a.conv_transpose:
    config.model.conv_transpose = a.conv_transpose
  b = config.train.batch_size
  size = config.data.image_size
  num_classes = config.data.num_classes
  batches = None
  if a.data == "cross_media":
    from sigjax import data as data_lib  # pylint: disable=g-import-not-at-top
    config.data.source = "cross_media"
    config.data.tfds_data_dir = a.tfds_data_dir
    real = data_lib.load(config.data, "train")
    num_classes = real.num_classes
    batches = data_lib.train_dataset(real, b, config.seed, process_index=0,
                                     process_count=1).as_numpy_iterator()
  rng = np.random.default_rng(0)
  images = (rng.random((b, size, size, 1)) < 0.1).astype(np.float32)
  labels = rng.integers(0, num_classes, (b,)).astype(np.int32)

  impls = []
  for name in [n for n in a.impls.split(",") if n]:
    if name == "sigjax":
      impls.append(SigjaxImpl(config, num_classes, images, labels))
      if batches is not None:
        impls.append(SigjaxImpl(config, num_classes, images, labels,
                                batches=batches, name="sigjax_tfdata"))
      for v in [v for v in a.variants.split(";") if v]:
        vc = config.copy_and_resolve_references()
        for kv in v.split(","):  # k=v[,k=v...]: one variant, several fields
          key, value = kv.split("=", 1)
          if "." in key:  # section.field, e.g. train.d_steps=2
            section, field = key.split(".", 1)
            vc[section][field] = _cast(vc[section][field], value)
          elif key in vc and not isinstance(vc[key], type(vc.model)):
            vc[key] = value  # top-level, e.g. xla_cpu_conv=ynnpack
          else:  # model field
            vc.model[key] = _cast(vc.model[key], value)
        impls.append(SigjaxImpl(vc, num_classes, images, labels,
                                name=f"sigjax[{v}]"))
      if a.scan:
        impls.append(SigjaxImpl(config, num_classes, images, labels,
                                scan=a.scan, name=f"sigjax_scan{a.scan}"))
    elif name in ("keras", "keras_xla"):
      if a.dtype != "float32":
        _log(f"skipping {name}: the reference is float32 only")
        continue
      try:
        from benchmarks import ref_keras  # pylint: disable=g-import-not-at-top
      except ImportError as e:
        _log(f"skipping {name}: Keras/TensorFlow not installed ({e})")
        continue
      jit = name == "keras_xla"
      impls.append(CallableImpl(name, lambda jit=jit: ref_keras.make_step(
          config, num_classes, b, jit_compile=jit), images, labels))
    elif name == "torch":
      if a.dtype != "float32":
        _log("skipping torch: the reference is float32 only")
        continue
      try:
        from benchmarks import ref_torch  # pylint: disable=g-import-not-at-top
      except ImportError as e:
        _log(f"skipping torch: PyTorch not installed ({e})")
        continue
      impls.append(CallableImpl("torch", lambda: ref_torch.make_step(
          config, num_classes, b), images, labels))
    else:
      p.error(f"unknown impl {name!r}")
  gflop = next((i.gflop for i in impls if i.gflop), None)

  times = {i.name: [] for i in impls}
  probes = []
  for r in range(a.rounds):
    for impl in impls:
      t = time.perf_counter()
      n = impl.run(a.steps)
      times[impl.name].append((time.perf_counter() - t) / n)
    if a.probe:
      probes.append(matmul_probe(a.probe))
    _log(f"round {r + 1}/{a.rounds}: " + ", ".join(
        f"{k} {v[-1] * 1e3:.1f} ms" for k, v in times.items()))

  ceiling = statistics.median(probes) if probes else None
  load = os.getloadavg()[0]
  host = dict(train_loop.cpu_info(), date=time.strftime("%Y-%m-%d"))
  dev = jax.devices()[0]
  device = f"{dev.platform}:{dev.device_kind} x{jax.device_count()}"
  if ceiling:
    print(json.dumps({"impl": "matmul", "n": a.probe, "dtype": "float32",
                      "gflops": round(ceiling, 1),
                      "gflops_rounds": [round(g, 1) for g in probes],
                      "device": device, "loadavg_1min": load, **host}),
          flush=True)
  base = statistics.median(times["sigjax"]) if "sigjax" in times else None
  for impl in impls:
    step_s = statistics.median(times[impl.name])
    g = impl.gflop or gflop
    rec = {"impl": impl.name, "preset": a.preset, "batch": b,
           "dtype": getattr(impl, "dtype", a.dtype),
           "data": "cross_media_tfdata" if impl.name == "sigjax_tfdata"
           else "in_memory",
           "step_ms": round(step_s * 1e3, 2),
           "step_ms_rounds": [round(t * 1e3, 2) for t in times[impl.name]],
           "images_per_s": round(b / step_s, 1),
           "compile_s": round(impl.compile_s, 3),
           "gflop_per_step": _sig(g),
           "flop_source": impl.flop_source,
           "xla_gflop": _sig(getattr(impl, "xla_gflop", 0.0)),
           "achieved_gflops": _sig(g / step_s) if g else None,
           "ceiling_gflops": round(ceiling, 1) if ceiling else None,
           "fraction_of_ceiling": (_sig(g / step_s / ceiling, 3)
                                   if g and ceiling else None),
           "vs_sigjax": round(step_s / base, 3) if base else None,
           "device": device, "loadavg_1min": load, **host}
    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
  main()
