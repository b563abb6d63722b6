r"""Where a whole train step's time goes, per layer and per pass.

    .venv/bin/python -m benchmarks.profile_step --preset=quality --steps=5 \
        [--set=model.dtype=bfloat16 ...] [--out=benchmarks/results/X.jsonl]

Compiles the preset's jitted train step, runs it once, then traces
``--steps`` steps with ``jax.profiler`` and reads the trace back: XLA:CPU
records one event per executed HLO instruction of the step (a fusion, a
oneDNN custom call, a convolution, a loop), named as in the compiled
module. Each instruction's ``op_name`` metadata says which flax module it
came from and through how many ``transpose`` (reverse-mode) passes:

* ``net``: Generator, Discriminator or ``-`` (losses, Adam, RNG);
* ``layer``: the module under it (``deconv2``, ``bn1``, ``conv0``, ...);
* ``pass``: 0 forward, 1 backward, 2 the backward of a backward (R1's
  penalty differentiates D's input gradient);
* ``kind``: ``conv:onednn`` (the oneDNN FFI calls), ``conv:xla``,
  ``reduce`` (fusions with a reduction: BatchNorm statistics, bias
  gradients, losses), ``elementwise`` (other fusions and ops), ``loop``
  (``while``: the RNG), ``copy`` (copies, transposes, bitcasts).

Only the entry computation's instructions are counted (a loop's body runs
inside its ``while`` event). XLA:CPU may run independent instructions on
two threads at once, so the sum of the events can exceed the wall time; the
line ``kind=total`` gives both. Output: JSON lines (the host's CPU model,
flags and load average, the date) grouped by (net, layer, pass, kind) with
ms per step and the fraction of the events' total, then one line per kind,
per pass and per net.
"""

import argparse
import collections
import glob
import gzip
import json
import os
import re
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import jax  # pylint: disable=g-import-not-at-top
import numpy as np

from benchmarks import train_loop as loop_bench
from benchmarks.train_step import _cast
from configs import cgan as cgan_config
from sigjax import parallel
from sigjax import train as train_lib

_INSTR = re.compile(r"^\s*(?:ROOT )?%?([\w.\-]+) = (.*)$")
_OP_NAME = re.compile(r'op_name="([^"]*)"')
_TARGET = re.compile(r'custom_call_target="([^"]*)"')
_OPCODE = re.compile(r"\}?\s*([a-z][\w\-]*)\(")


def entry_instructions(hlo_text: str) -> dict:
  """{instruction name: (opcode, op_name, custom-call target, fused
  computation name)} for the entry computation of a compiled module."""
  out, in_entry = {}, False
  for line in hlo_text.splitlines():
    if line.startswith("ENTRY "):
      in_entry = True
      continue
    if in_entry and line.startswith("}"):
      break
    if not in_entry:
      continue
    m = _INSTR.match(line)
    if not m:
      continue
    name, rest = m.groups()
    # "<shape> opcode(operands), attrs": the shape may be a tuple.
    body = rest.split(" metadata=")[0]
    op = _OPCODE.search(body.split("), ")[0] if "(" in body else body)
    opcode = op.group(1) if op else "?"
    meta = _OP_NAME.search(rest)
    target = _TARGET.search(rest)
    calls = re.search(r"calls=%?([\w.\-]+)", rest)
    out[name] = (opcode, meta.group(1) if meta else "",
                 target.group(1) if target else "",
                 calls.group(1) if calls else "")
  return out


def reducing_computations(hlo_text: str) -> set:
  """Names of the (fused) computations that contain a reduce."""
  out, current = set(), None
  for line in hlo_text.splitlines():
    head = re.match(r"^%?([\w.\-]+) .*\{$", line)
    if head and not line.startswith(" "):
      current = head.group(1)
    elif current and re.search(r"\breduce(-window)?\(", line):
      out.add(current)
  return out


def classify(opcode: str, op_name: str, target: str, reduces: bool) -> dict:
  """(net, layer, pass, kind) of one HLO instruction."""
  path = op_name.split("/")
  net, layer = "-", "-"
  for i, part in enumerate(path):
    core = re.sub(r"^(?:\w+\()+|\)+$", "", part)
    if core in ("Generator", "Discriminator"):
      net = core
      layer = path[i + 1] if i + 1 < len(path) else "-"
      layer = re.sub(r"^jit\((.*)\)$", r"\1", layer)  # jit(relu) -> relu
      break
  n_pass = op_name.count("transpose(")
  if opcode == "custom-call" and target.startswith("sigjax_onednn"):
    kind = "conv:onednn"
  elif opcode == "convolution":
    kind = "conv:xla"
  elif opcode == "while":
    kind = "loop"
  elif opcode in ("copy", "transpose", "bitcast", "copy-start", "copy-done"):
    kind = "copy"
  elif reduces or opcode in ("reduce", "reduce-window"):
    kind = "reduce"
  else:
    kind = "elementwise"
  if net == "-" and kind in ("elementwise", "reduce"):
    # Outside the networks: Adam's update (optax), the losses, R1's norm.
    low = op_name.lower()
    if "adam" in low or "optax" in low or "scale_by" in low:
      layer = "adam"
  return {"net": net, "layer": layer, "pass": min(n_pass, 2), "kind": kind}


def read_trace(log_dir: str) -> list:
  files = sorted(glob.glob(os.path.join(log_dir, "**", "*.trace.json.gz"),
                           recursive=True))
  if not files:
    raise RuntimeError(f"no trace written under {log_dir}")
  with gzip.open(files[-1]) as f:
    t = json.load(f)
  return t["traceEvents"] if isinstance(t, dict) else t


def profile(config, steps: int) -> tuple:
  """(per-group ms per step, wall ms per step, events' total ms per step)."""
  num_classes = config.data.num_classes
  mesh = parallel.make_mesh()
  state = parallel.replicate(train_lib.create_state(config, num_classes),
                             mesh)
  b, size = config.train.batch_size, config.data.image_size
  rng = np.random.default_rng(0)
  x = (rng.random((b, size, size, 1)) < 0.1).astype(np.float32)
  y = rng.integers(0, num_classes, (b,)).astype(np.int32)
  x, y = parallel.shard_batch((x, y), mesh)
  step = train_lib.jit_train_step(config, num_classes, mesh)
  compiled = step.lower(state, x, y).compile()
  hlo = compiled.as_text()
  instr = entry_instructions(hlo)
  reducing = reducing_computations(hlo)
  for _ in range(2):  # warm up: oneDNN primitives are built on first use
    state, metrics = compiled(state, x, y)
  jax.block_until_ready((state, metrics))
  log_dir = tempfile.mkdtemp(prefix="sigjax_profile_")
  t = time.perf_counter()
  with jax.profiler.trace(log_dir, create_perfetto_trace=True):
    for _ in range(steps):
      state, metrics = compiled(state, x, y)
    jax.block_until_ready((state, metrics))
  wall_ms = (time.perf_counter() - t) * 1e3 / steps
  groups = collections.Counter()
  total = 0.0
  for e in read_trace(log_dir):
    if e.get("ph") != "X" or e.get("name") not in instr:
      continue
    opcode, op_name, target, calls = instr[e["name"]]
    key = tuple(classify(opcode, op_name, target, calls in reducing).values())
    ms = e.get("dur", 0.0) / 1e3 / steps
    groups[key] += ms
    total += ms
  return groups, wall_ms, total


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--preset", default="quality")
  p.add_argument("--steps", type=int, default=5)
  p.add_argument("--set", action="append", default=[],
                 help="section.field=value, e.g. model.dtype=bfloat16")
  p.add_argument("--top", type=int, default=40,
                 help="(net, layer, pass, kind) lines to print")
  p.add_argument("--out", default="", help="also append the lines here")
  a = p.parse_args(argv)
  config = cgan_config.get_config(a.preset)
  for kv in a.set:
    key, value = kv.split("=", 1)
    section, field = key.split(".", 1)
    config[section][field] = _cast(config[section][field], value)
  host = loop_bench.cpu_info()
  host["load_avg_before"] = os.getloadavg()[0]
  groups, wall_ms, total = profile(config, a.steps)
  host["load_avg_after"] = os.getloadavg()[0]
  rec = loop_bench.Recorder(a.out, host)
  common = {"preset": a.preset, "overrides": a.set, "steps": a.steps,
            "batch": config.train.batch_size,
            "image_size": config.data.image_size}
  rec(dict(common, kind="total", wall_ms_per_step=round(wall_ms, 2),
           events_ms_per_step=round(total, 2)))
  for (net, layer, n_pass, kind), ms in groups.most_common(a.top):
    rec(dict(common, net=net, layer=layer, **{"pass": n_pass}, kind=kind,
             ms=round(ms, 3), fraction=round(ms / total, 4)))
  for field, index in (("by_kind", 3), ("by_pass", 2), ("by_net", 0)):
    agg = collections.Counter()
    for key, ms in groups.items():
      agg[key[index]] += ms
    rec(dict(common, kind=field, **{str(k): round(v / total, 4)
                                    for k, v in agg.most_common()}))
  rec.close()


if __name__ == "__main__":
  main()
