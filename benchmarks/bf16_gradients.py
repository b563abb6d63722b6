r"""How far bf16 compute moves one train step's gradients, per layer, against
how far an equivalent fp32 lowering moves them (issue 27, item 4).

    .venv/bin/python -m benchmarks.bf16_gradients --preset=dcgan_small \
        --out=benchmarks/results/X.jsonl

For one state and one real batch of the cross-media paper data (the same
noise), the D loss's gradient (with R1 when the preset has it) and the G
loss's gradient are computed five ways: fp32 on the oneDNN convolutions
(the reference), fp32 on XLA's convolutions (a numerically equivalent
lowering: the spread studies found that it changes a run as much as
another seed does), bf16 compute (``model.dtype=bfloat16``, fp32
parameters) with the 'auto' convolutions (``bf16``: oneDNN's bf16
convolutions where ``onednn.bf16_available()``, else XLA's; the line's
``lowering`` says which) and with XLA's (``bf16_xla``), and fp32 on the
reference path with the next batch (the size of an ordinary step-to-step
change). For each
parameter leaf: ||g - g_ref|| / ||g_ref||; one JSON line per (way,
network) with the median and the largest leaves, and the global relative
error. The state is the fresh one of seed 0, and (``--steps`` > 0) the
state after that many fp32 steps, since a trained D is where rounding
might matter most.
"""

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import train_loop as loop_bench


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--preset", default="dcgan_small")
  p.add_argument("--steps", type=int, default=200,
                 help="fp32 steps before the second measurement")
  p.add_argument("--out", default="")
  a = p.parse_args(argv)
  from configs import cgan as cgan_config  # pylint: disable=g-import-not-at-top
  from sigjax import data as data_lib  # pylint: disable=g-import-not-at-top
  from sigjax import losses  # pylint: disable=g-import-not-at-top
  from sigjax import train as train_lib  # pylint: disable=g-import-not-at-top
  from sigjax.models import cgan  # pylint: disable=g-import-not-at-top

  def config_for(**model):
    c = cgan_config.get_config(a.preset)
    c.data.source = "cross_media"
    for k, v in model.items():
      setattr(c.model, k, v)
    return c

  ways = {"fp32_onednn": config_for(),
          "fp32_xla": config_for(conv_impl="xla", conv_transpose="phase"),
          "bf16": config_for(dtype="bfloat16"),
          "bf16_xla": config_for(dtype="bfloat16", conv_impl="xla",
                                 conv_transpose="phase")}
  ref_cfg = ways["fp32_onednn"]
  data = data_lib.load(ref_cfg.data, "train")
  n = data.num_classes
  b = ref_cfg.train.batch_size
  rng = np.random.default_rng(0)
  batches = [rng.choice(len(data), b, replace=False) for _ in range(2)]
  host = loop_bench.cpu_info()
  out = open(a.out, "a") if a.out else None

  def grads(config, state, batch):
    gen, disc = cgan.build_models(config, n)
    o = train_lib.Options.from_config(config)
    x = jnp.asarray(data.images[batch], jnp.float32)
    y = jnp.asarray(data.labels[batch], jnp.int32)
    key = jax.random.PRNGKey(7)
    z = jax.random.uniform(key, (b, config.model.latent_dim), minval=-1.0,
                           maxval=1.0)
    variables = {"params": state.params_g,
                 "batch_stats": state.batch_stats_g}
    fake, _ = gen.apply(variables, z, y, train=True, mutable=["batch_stats"])

    def d_loss(params_d):
      d = lambda im: disc.apply({"params": params_d}, im, y)
      loss = losses.d_loss(o.loss, d(x), d(jax.lax.stop_gradient(fake)))
      if o.r1_gamma:
        loss = loss + 0.5 * o.r1_gamma * losses.r1_penalty(d, x)
      return loss

    def g_loss(params_g):
      f, _ = gen.apply({"params": params_g,
                        "batch_stats": state.batch_stats_g}, z, y,
                       train=True, mutable=["batch_stats"])
      return losses.g_loss(o.loss, disc.apply({"params": state.params_d},
                                              f, y))
    return {"D": jax.jit(jax.grad(d_loss))(state.params_d),
            "G": jax.jit(jax.grad(g_loss))(state.params_g)}

  def relative(g, ref):
    per = []
    num = den = 0.0
    for (path, r), x in zip(jax.tree_util.tree_leaves_with_path(ref),
                            jax.tree.leaves(g)):
      r64, x64 = np.asarray(r, np.float64), np.asarray(x, np.float64)
      d2, r2 = float(np.sum((x64 - r64) ** 2)), float(np.sum(r64 ** 2))
      num, den = num + d2, den + r2
      if r2 > 0:
        per.append((jax.tree_util.keystr(path), (d2 / r2) ** 0.5))
    per.sort(key=lambda t: -t[1])
    return {"global": round((num / den) ** 0.5, 6),
            "median_leaf": round(float(np.median([v for _, v in per])), 6),
            "largest_leaves": [(k, round(v, 6)) for k, v in per[:3]]}

  def measure(state, label):
    ref = grads(ref_cfg, state, batches[0])
    rows = {w: grads(c, state, batches[0]) for w, c in ways.items()
            if w != "fp32_onednn"}
    rows["fp32_next_batch"] = grads(ref_cfg, state, batches[1])
    for way, g in rows.items():
      for net in ("D", "G"):
        lowering = (cgan.resolve_conv_impls(ways[way]) if way in ways
                    else cgan.resolve_conv_impls(ref_cfg))
        rec = {"preset": a.preset, "state": label, "way": way,
               "lowering": list(lowering),
               "bias_add": "float32 (layers.bias_in_float32)",
               "network": net, **relative(g[net], ref[net]),
               "date": time.strftime("%Y-%m-%d"),
               "loadavg_1min": round(os.getloadavg()[0], 2), **host}
        line = json.dumps(rec)
        print(json.dumps({k: v for k, v in rec.items()
                          if k not in ("cpu_flags",)}), flush=True)
        if out:
          out.write(line + "\n")
          out.flush()

  state = train_lib.create_state(ref_cfg, n)
  measure(state, "init")
  if a.steps:
    step = train_lib.jit_train_step(
        ref_cfg, n, jax.sharding.Mesh(np.asarray(jax.devices()[:1]),
                                      ("data",)))
    it = data_lib.permutation_batches(data, b, seed=0)
    for _ in range(a.steps):
      images, labels = next(it)
      state, _ = step(state, images, labels)
    measure(state, f"after {a.steps} fp32 steps")
  if out:
    out.close()


if __name__ == "__main__":
  main()
