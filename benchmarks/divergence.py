"""Do two equivalent lowerings diverge like a tiny perturbation does?

Three runs of the cpu preset on cross-media, seed 0, same batches:
  A: oneDNN convolutions; B: XLA lowerings; C: oneDNN with every initial
  parameter of G multiplied by (1 + 1e-7) (about one float32 ulp).
Prints the relative L2 distance of G's parameters A-B and A-C over steps.

    python -m benchmarks.divergence [STEPS]
"""
import json, sys, time, jax, jax.numpy as jnp, numpy as np
from configs import cgan as cc
from sigjax import data as D, train
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 300
def make(ct, ci):
  c = cc.get_config("cpu"); c.data.source = "cross_media"
  c.model.conv_transpose = ct; c.model.conv_impl = ci
  return c
data = D.load(make("auto", "auto").data, "train")
n = len(data.labels); B = 32
rng = np.random.RandomState(0)
order = np.concatenate([rng.permutation(n) for _ in range(STEPS * B // n + 2)])
runs = {"A_onednn": make("onednn", "onednn"), "B_xla": make("phase", "xla"),
        "C_onednn_ulp": make("onednn", "onednn")}
states, steps = {}, {}
for k, c in runs.items():
  s = train.create_state(c, 10)
  if k.startswith("C"):
    s = s.replace(params_g=jax.tree.map(lambda p: p * (1 + 1e-7), s.params_g))
  states[k] = s
  steps[k] = jax.jit(train.make_train_step(c, 10))
def flat(t): return np.concatenate([np.asarray(x).ravel() for x in jax.tree.leaves(t)])
def rel(a, b): return float(np.linalg.norm(a - b) / np.linalg.norm(a))
out = []
checkpoints = {1, 3, 10, 30, 100, 200, 300, 500, 800, 1000}
for t in range(1, STEPS + 1):
  idx = order[(t - 1) * B: t * B]
  x, y = data.images[idx], data.labels[idx]
  for k in runs:
    states[k], _ = steps[k](states[k], x, y)
  if t in checkpoints or t == STEPS:
    a = flat(states["A_onednn"].params_g)
    row = {"step": t, "G_rel_dist_onednn_vs_xla": rel(a, flat(states["B_xla"].params_g)),
           "G_rel_dist_onednn_vs_perturbed": rel(a, flat(states["C_onednn_ulp"].params_g)),
           "D_rel_dist_onednn_vs_xla": rel(flat(states["A_onednn"].params_d), flat(states["B_xla"].params_d)),
           "D_rel_dist_onednn_vs_perturbed": rel(flat(states["A_onednn"].params_d), flat(states["C_onednn_ulp"].params_d))}
    print(json.dumps(row), flush=True); out.append(row)
