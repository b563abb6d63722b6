"""The data-efficient CGAN options: each trains, and each does what it claims.

Everything runs on the tiny ``configs/cgan.py:test`` preset (16x16, 3 classes)
with in-memory batches, except the end-to-end test at the bottom, which runs
the loop (checkpoints, metrics.jsonl, resume, load_generator) with several
options on at once.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import cgan as cgan_config
from sigjax import augment as aug_lib
from sigjax import checkpoint as ckpt
from sigjax import inference
from sigjax import losses
from sigjax import train as train_lib
from sigjax import train_loop
from sigjax.models import cgan

NUM_CLASSES = 3


def make_config(**overrides):
  """The test preset with ``section__field=value`` overrides."""
  config = cgan_config.get_config("test")
  for key, value in overrides.items():
    section, field = key.split("__")
    setattr(config[section], field, value)
  return config


def fake_batch(config, seed=0):
  n = train_lib.real_batch_size(config)
  s = config.data.image_size
  rng = np.random.RandomState(seed)
  images = (rng.rand(n, s, s, 1) > 0.7).astype(np.float32)
  labels = (np.arange(n) % NUM_CLASSES).astype(np.int32)
  return images, labels


def leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


VARIANTS = {
    "none": {},
    "projection": dict(model__conditioning="projection"),
    "spectral_norm": dict(model__spectral_norm=True),
    "hinge": dict(train__loss="hinge"),
    "wgan_gp": dict(train__loss="wgan_gp"),
    "r1": dict(train__r1_gamma=1.0),
    "diffaugment": dict(train__augment="diffaugment"),
    "ada": dict(train__augment="ada", train__ada_interval=2,
                train__ada_speed=0.05, train__ada_target=0.6),
    "ema": dict(train__ema_decay=0.75),
    "lecam": dict(train__lecam_weight=0.5, train__lecam_decay=0.9),
    "d_steps": dict(train__d_steps=2),
    "lr_decay": dict(train__lr_decay_start=0, train__lr_decay_steps=2),
    "per_network_adam": dict(train__lr_g=1e-3, train__lr_d=5e-5,
                             train__b1_d=0.0, train__b2_d=0.9),
}
_TRAINED = {}


def trained(name, steps=2):
  """(config, jitted step, states [s0..s2], metrics per step) of a variant,
  computed once per session (compiling a step is most of a test's time)."""
  if name not in _TRAINED:
    config = make_config(**VARIANTS[name])
    step = jax.jit(train_lib.make_train_step(config, NUM_CLASSES))
    states = [train_lib.create_state(config, NUM_CLASSES)]
    images, labels = fake_batch(config)
    metrics = []
    for _ in range(steps):
      state, m = step(states[-1], images, labels)
      states.append(state)
      metrics.append({k: float(v) for k, v in m.items()})
    _TRAINED[name] = (config, step, states, metrics)
  return _TRAINED[name]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_switch_trains(name):
  config, _, (state0, _, state), metrics = trained(name)
  assert int(state.step) == 2
  for m in metrics:
    assert m.keys() >= {"d_loss", "g_loss", "d_real_acc", "d_fake_acc"}
    for k, v in m.items():
      assert np.isfinite(v), (name, k, v)
  assert jax.tree.map(np.shape, state.params_g) == jax.tree.map(
      np.shape, state0.params_g)
  assert jax.tree.structure(state) == jax.tree.structure(state0)
  for before, after in ((state0.params_d, state.params_d),
                        (state0.params_g, state.params_g)):
    assert any(not np.array_equal(a, b) for a, b in zip(
        leaves(before), leaves(after)))
  if name in ("projection", "ema"):  # sampling differs: check the grid too
    z, y = train_lib.fixed_noise(config, NUM_CLASSES)
    images = train_lib.make_sampler(config, NUM_CLASSES)(
        *train_lib.sampling_variables(config, state), z, y)
    s = config.data.image_size
    assert images.shape == (len(y), s, s, 1)
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0


def test_per_network_adam_settings_are_used():
  _, _, (s0, s1, _), _ = trained("per_network_adam")
  _, _, (b0, b1, _), _ = trained("none")  # lr 2e-4, b1 0.5 for both
  # Adam's first update moves every weight by about lr (sign of the gradient).
  step = lambda a, b: np.max(np.abs(leaves(b)[0] - leaves(a)[0]))
  assert step(s0.params_g, s1.params_g) == pytest.approx(1e-3, rel=0.05)
  assert step(s0.params_d, s1.params_d) == pytest.approx(5e-5, rel=0.05)
  assert step(b0.params_d, b1.params_d) == pytest.approx(2e-4, rel=0.05)
  # Same first D gradient; the first moment is (1 - b1_d) * gradient.
  np.testing.assert_allclose(
      np.asarray(s1.opt_state_d[0].mu["conv0"]["kernel"]) * 0.5,
      np.asarray(b1.opt_state_d[0].mu["conv0"]["kernel"]), rtol=1e-5,
      atol=1e-9)


def test_validation_names_the_setting():
  cases = [
      (dict(train__loss="foo"), "train.loss='foo': use bce, hinge or wgan_gp"),
      (dict(model__conditioning="film"), "model.conditioning='film'"),
      (dict(train__augment="rand"), "train.augment='rand'"),
      (dict(train__d_steps=0), "train.d_steps=0"),
      (dict(train__ema_decay=1.0), "train.ema_decay=1.0"),
      (dict(train__r1_gamma=-1.0), "train.r1_gamma=-1.0"),
      (dict(train__lecam_weight=-0.1), "train.lecam_weight=-0.1"),
      (dict(train__lecam_decay=1.0), "train.lecam_decay=1.0"),
      (dict(train__lr_decay_steps=-1), "train.lr_decay_steps=-1"),
      (dict(train__lr_decay_start=-2), "train.lr_decay_start=-2"),
      (dict(train__augment="diffaugment",
            train__diffaugment_policy="translation,saturation"),
       "train.diffaugment_policy='translation,saturation'"),
  ]
  for overrides, message in cases:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")
                       .replace("(", r"\(")):
      train_lib.create_state(make_config(**overrides), NUM_CLASSES)


# ------------------------------------------------------------- conditioning


def test_projection_discriminator_and_conditional_batchnorm():
  config = make_config(model__conditioning="projection")
  state = train_lib.create_state(config, NUM_CLASSES)
  pd, pg = state.params_d, state.params_g
  assert "label_fc" not in pd
  assert pd["conv0"]["kernel"].shape[2] == 1  # the image alone
  feat = pd["out"]["kernel"].shape[0]
  assert pd["embed"]["embedding"].shape == (NUM_CLASSES, feat)
  gc = tuple(config.model.gen_channels)
  for i, c in enumerate((gc[0],) + gc[:-1]):  # BN i feeds deconv i
    assert pg[f"bn{i}_gamma"]["embedding"].shape == (NUM_CLASSES, c)
    assert pg[f"bn{i}_beta"]["embedding"].shape == (NUM_CLASSES, c)
    assert "bn%d" % i not in pg  # BN itself has no affine parameters
  # G takes z alone: its first layer sees latent_dim inputs, not + classes.
  assert pg["fc"]["kernel"].shape[0] == config.model.latent_dim
  assert "bn0" in state.batch_stats_g

  gen, disc = cgan.build_models(config, NUM_CLASSES)
  # The class reaches D only through <embed(y), phi(x)>: zeroing the
  # embedding makes D's output label-independent, and the difference
  # between two labels is exactly the projection term.
  x = jnp.asarray(fake_batch(config)[0][:4])
  y0, y1 = jnp.zeros(4, jnp.int32), jnp.ones(4, jnp.int32)
  d = lambda p, y: disc.apply({"params": p}, x, y)
  assert not np.allclose(d(pd, y0), d(pd, y1))
  flat = dict(pd, embed={"embedding": jnp.zeros_like(pd["embed"]["embedding"])})
  np.testing.assert_allclose(d(flat, y0), d(flat, y1))
  # Per-class gamma/beta change G's output for the same z once they differ.
  z = jnp.ones((4, config.model.latent_dim)) * 0.3
  variables = {"params": dict(pg, bn1_beta={"embedding": jnp.arange(
      NUM_CLASSES * 8, dtype=jnp.float32).reshape(NUM_CLASSES, 8) / 10}),
               "batch_stats": state.batch_stats_g}
  g = lambda y: gen.apply(variables, z, y, train=False)
  assert not np.allclose(g(y0), g(y1))


# ------------------------------------------------------------ spectral norm


def _effective_kernels(params, spectral):
  """{layer: W / sigma as the (-1, out) matrix SpectralNorm normalises}."""
  out = {}
  for sn_name, stats in spectral.items():
    layer = sn_name[len("sn_"):]
    (key,) = [k for k in stats if k.endswith("/sigma")]
    pname = key.split("/")[1]
    w = np.asarray(params[layer][pname])
    w = w.reshape(-1, w.shape[-1])
    out[layer] = w / float(stats[key])
  return out


def test_spectral_norm_normalises_kernels_and_state_updates():
  config = make_config(model__spectral_norm=True)
  state = train_lib.create_state(config, NUM_CLASSES)
  assert set(state.spectral_d) == {f"sn_conv{i}" for i in range(4)} | {
      "sn_label_fc", "sn_out"}
  _, disc = cgan.build_models(config, NUM_CLASSES)
  x, y = fake_batch(config)
  spectral = state.spectral_d
  apply = jax.jit(lambda s: disc.apply(
      {"params": state.params_d, cgan.SPECTRAL: s}, x, y, train=True,
      mutable=[cgan.SPECTRAL])[1][cgan.SPECTRAL])
  for _ in range(400):  # power iterations converge to the top singular value
    spectral = apply(spectral)
  for layer, w in _effective_kernels(state.params_d, spectral).items():
    top = np.linalg.svd(w, compute_uv=False)[0]
    assert top == pytest.approx(1.0, abs=5e-3), layer
  # Without the normalisation the raw kernels are far from norm 1.
  raw = np.linalg.svd(np.asarray(state.params_d["conv1"]["kernel"]).reshape(
      -1, 8), compute_uv=False)[0]
  assert abs(raw - 1.0) > 0.1
  # The train step advances the state (one iteration per D update) and the
  # D logits use W / sigma: scaling every kernel leaves them unchanged.
  _, _, (s0, s1, _), _ = trained("spectral_norm")
  assert any(not np.array_equal(a, b) for a, b in zip(
      leaves(s0.spectral_d), leaves(s1.spectral_d)))
  scaled = jax.tree_util.tree_map_with_path(
      lambda p, v: v * 3.0 if p[-1].key in ("kernel",) else v, s1.params_d)
  f = lambda p: disc.apply({"params": p, cgan.SPECTRAL: s1.spectral_d}, x, y)
  # Biases are not normalised, so compare a bias-free D.
  nob = jax.tree_util.tree_map_with_path(
      lambda p, v: jnp.zeros_like(v) if p[-1].key == "bias" else v,
      s1.params_d)
  nob_scaled = jax.tree_util.tree_map_with_path(
      lambda p, v: jnp.zeros_like(v) if p[-1].key == "bias" else v, scaled)
  np.testing.assert_allclose(f(nob), f(nob_scaled), rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------- losses


def test_losses_equal_their_formulas():
  real = jnp.array([2.0, 0.5, -1.0])
  fake = jnp.array([-2.0, 0.5, 1.0])
  assert float(losses.d_loss("hinge", real, fake)) == pytest.approx(
      np.mean([0, 0.5, 2.0]) + np.mean([0, 1.5, 2.0]))
  assert float(losses.g_loss("hinge", fake)) == pytest.approx(0.5 / 3)
  assert float(losses.d_loss("wgan_gp", real, fake)) == pytest.approx(
      (-0.5 / 3) - (1.5 / 3))
  assert float(losses.g_loss("wgan_gp", fake)) == pytest.approx(0.5 / 3)
  sp = lambda v: np.log1p(np.exp(v))  # -log sigmoid(-v)
  r, f = np.asarray(real), np.asarray(fake)
  assert float(losses.d_loss("bce", real, fake)) == pytest.approx(
      0.5 * (np.mean(sp(-r)) + np.mean(sp(f))), rel=1e-6)
  assert float(losses.g_loss("bce", fake)) == pytest.approx(
      np.mean(sp(-f)), rel=1e-6)
  with pytest.raises(ValueError, match="train.loss='x'"):
    losses.d_loss("x", real, fake)


def test_r1_and_gradient_penalty_match_hand_computation():
  x = jnp.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]]).reshape(3, 1, 2, 1)
  # D(x) = sum x^2: grad = 2x, ||grad||^2 = 4 ||x||^2.
  quad = lambda v: jnp.sum(v ** 2, axis=(1, 2, 3))
  r1 = float(losses.r1_penalty(quad, x))
  assert r1 > 0
  assert r1 == pytest.approx(np.mean(4 * np.array([5.0, 1.0, 9.25])))
  # D(x) = <w, x>: grad = w everywhere, so GP = (||w|| - 1)^2 whatever eps.
  w = jnp.array([3.0, 4.0]).reshape(1, 1, 2, 1)
  lin = lambda v: jnp.sum(v * w, axis=(1, 2, 3))
  gp = float(losses.gradient_penalty(lin, x, -x, jax.random.PRNGKey(0)))
  assert gp == pytest.approx((5.0 - 1.0) ** 2, rel=1e-5)
  # Quadratic D with real == fake: x_hat = x, GP = mean (2||x|| - 1)^2.
  gp = float(losses.gradient_penalty(quad, x, x, jax.random.PRNGKey(1)))
  norms = 2 * np.sqrt([5.0, 1.0, 9.25])
  assert gp > 0 and gp == pytest.approx(np.mean((norms - 1) ** 2), rel=1e-5)


def test_penalties_enter_the_d_loss():
  # The first step of every variant sees the same D, reals and fakes.
  base = trained("none")[3][0]["d_loss"]
  r1 = trained("r1")[3][0]
  assert r1["d_r1"] > 0
  assert r1["d_loss"] == pytest.approx(base + 0.5 * 1.0 * r1["d_r1"], rel=1e-5)
  # At init |logits| < 1, so hinge = 2 - E[D(x)] + E[D(G(z))] = 2 + WGAN.
  hinge = trained("hinge")[3][0]["d_loss"]
  gp = trained("wgan_gp")[3][0]
  assert gp["d_gp"] > 0
  assert gp["d_loss"] == pytest.approx(hinge - 2.0 + 10.0 * gp["d_gp"],
                                       rel=1e-4, abs=1e-5)


# ------------------------------------------------------------- augmentation


@pytest.mark.parametrize("ops", [("translation",), ("cutout",),
                                 ("brightness",), ("contrast",),
                                 aug_lib.OPS])
def test_diffaugment_ops(ops):
  x = jnp.asarray(fake_batch(make_config(), seed=1)[0])
  key = jax.random.PRNGKey(3)
  y = aug_lib.augment(x, key, ops)
  assert y.shape == x.shape and y.dtype == x.dtype
  assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
  assert not np.array_equal(np.asarray(y), np.asarray(x))
  np.testing.assert_array_equal(y, aug_lib.augment(x, key, ops))
  assert not np.array_equal(y, aug_lib.augment(x, jax.random.PRNGKey(4), ops))
  # Differentiable: every op is affine in the image for a fixed key, so the
  # JVP is exactly f(x + t) - f(x), and gradients reach the input.
  f = lambda v: aug_lib.augment(v, key, ops)
  t = jnp.asarray(np.random.RandomState(0).randn(*x.shape), jnp.float32) * 0.1
  _, jvp = jax.jvp(f, (x,), (t,))
  np.testing.assert_allclose(jvp, f(x + t) - f(x), atol=1e-5)
  g = jax.grad(lambda v: jnp.sum(f(v) * t))(x)
  assert np.isfinite(np.asarray(g)).all() and float(jnp.abs(g).sum()) > 0


def test_ada_probability_gates_the_ops():
  x = jnp.asarray(fake_batch(make_config(), seed=1)[0])
  key = jax.random.PRNGKey(5)
  np.testing.assert_array_equal(
      aug_lib.augment(x, key, aug_lib.OPS, p=jnp.float32(0.0)), x)
  np.testing.assert_array_equal(
      aug_lib.augment(x, key, aug_lib.OPS, p=jnp.float32(1.0)),
      aug_lib.augment(x, key, aug_lib.OPS))
  half = np.asarray(aug_lib.augment(x, key, ("cutout",), p=jnp.float32(0.5)))
  changed = [not np.array_equal(half[i], np.asarray(x[i]))
             for i in range(len(x))]
  assert 0 < sum(changed) < len(x)


def _force_d_sign(state, sign):
  """D outputs +-100 everywhere: out kernel 0, out bias +-100."""
  pd = dict(state.params_d)
  pd["out"] = {"kernel": jnp.zeros_like(pd["out"]["kernel"]),
               "bias": jnp.full_like(pd["out"]["bias"], 100.0 * sign)}
  return state.replace(params_d=pd)


def test_ada_p_follows_the_overfitting_heuristic():
  config, step, _, _ = trained("ada")  # interval 2, speed 0.05, target 0.6
  state = _force_d_sign(train_lib.create_state(config, NUM_CLASSES), +1)
  images, labels = fake_batch(config)
  ps = []
  for _ in range(4):  # r_t = 1 > 0.6: p rises by speed * interval = 0.1
    state, m = step(state, images, labels)
    ps.append(float(state.ada["p"]))
    assert float(m["ada_p"]) == ps[-1] and float(m["ada_rt"]) == 1.0
  assert ps == pytest.approx([0.0, 0.1, 0.1, 0.2])  # adjusted every 2 steps
  state = _force_d_sign(state, -1)
  for _ in range(2):  # r_t = -1 < 0.6: p falls
    state, m = step(state, images, labels)
  assert float(state.ada["p"]) == pytest.approx(0.1)
  for _ in range(6):  # and is clipped at 0
    state, m = step(state, images, labels)
  assert float(state.ada["p"]) == 0.0


# ---------------------------------------------------------- EMA and d_steps


def test_ema_follows_the_formula():
  config, _, (s0, s1, s2), _ = trained("ema")
  d = config.train.ema_decay
  for e0, p0 in zip(leaves(s0.params_g_ema), leaves(s0.params_g)):
    np.testing.assert_array_equal(e0, p0)
  for e1, p1, p0 in zip(leaves(s1.params_g_ema), leaves(s1.params_g),
                        leaves(s0.params_g)):
    np.testing.assert_allclose(e1, d * p0 + (1 - d) * p1, rtol=1e-6,
                               atol=1e-7)
  for e2, e1, p2 in zip(leaves(s2.params_g_ema), leaves(s1.params_g_ema),
                        leaves(s2.params_g)):
    np.testing.assert_allclose(e2, d * e1 + (1 - d) * p2, rtol=1e-6,
                               atol=1e-7)
  assert any(not np.array_equal(e, p) for e, p in zip(
      leaves(s2.params_g_ema), leaves(s2.params_g)))
  # The EMA generator keeps its own BatchNorm statistics.
  assert jax.tree.structure(s2.batch_stats_g_ema) == jax.tree.structure(
      s2.batch_stats_g)
  assert any(not np.array_equal(a, b) for a, b in zip(
      leaves(s2.batch_stats_g_ema), leaves(s2.batch_stats_g)))
  assert any(not np.array_equal(a, b) for a, b in zip(
      leaves(s2.batch_stats_g_ema), leaves(s0.batch_stats_g_ema)))
  params, stats = train_lib.sampling_variables(config, s2)
  assert params is s2.params_g_ema and stats is s2.batch_stats_g_ema


def test_off_options_leave_no_state():
  state = train_lib.create_state(make_config(), NUM_CLASSES)
  assert state.spectral_d == {} and state.params_g_ema == {}
  assert state.batch_stats_g_ema == {} and state.ada == {}


def test_d_steps_updates_d_k_times_on_its_own_batches():
  config, step, (_, _, s2), _ = trained("d_steps")
  assert train_lib.real_batch_size(config) == 2 * config.train.batch_size
  assert int(s2.opt_state_d[0].count) == 4
  assert int(s2.opt_state_g[0].count) == 2
  assert int(s2.step) == 2
  # Each D update sees its own rows: the step depends on every real image.
  images, labels = fake_batch(config)
  s0 = train_lib.create_state(config, NUM_CLASSES)
  a, _ = step(s0, images, labels)
  for row in (0, 1):  # row 0 -> D update 0, row 1 -> D update 1
    other = images.copy()
    other[row] = 1.0 - other[row]
    b, _ = step(train_lib.create_state(config, NUM_CLASSES), other, labels)
    assert not np.array_equal(leaves(a.params_d)[0], leaves(b.params_d)[0])


# ------------------------------------------------------------- end to end


def read_state(workdir, config):
  manager = ckpt.make_manager(workdir, read_only=True)
  abstract = jax.eval_shape(lambda: train_lib.create_state(config,
                                                           NUM_CLASSES))
  state, _ = ckpt.restore_latest(manager, abstract)
  manager.close()
  return state


def test_options_checkpoint_resume_log_and_inference(tmp_path):
  """SN, projection, hinge, ADA, EMA and d_steps together: the new state is
  checkpointed and resumes bitwise, ada_p is logged, and load_generator
  samples the EMA generator."""
  opts = dict(model__conditioning="projection", model__spectral_norm=True,
              train__loss="hinge", train__augment="ada",
              train__ada_interval=1, train__ema_decay=0.5, train__d_steps=2,
              train__lecam_weight=0.1)
  full = make_config(**opts)
  train_loop.run(full, str(tmp_path / "full"))
  train_loop.run(make_config(**opts, train__steps=2), str(tmp_path / "split"))
  train_loop.run(full, str(tmp_path / "split"))
  a = read_state(str(tmp_path / "full"), full)
  b = read_state(str(tmp_path / "split"), full)
  assert int(b.step) == full.train.steps
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for x, y in zip(leaves(a), leaves(b)):
    np.testing.assert_array_equal(x, y)
  assert leaves(a.spectral_d) and leaves(a.ada) and leaves(a.params_g_ema)
  assert leaves(a.lecam) and float(a.lecam["real"]) != 0.0

  rows = [json.loads(l) for l in open(tmp_path / "split" / "metrics.jsonl")]
  assert [r["step"] for r in rows] == [1, 2, 3, 4]
  assert all(0.0 <= r["ada_p"] <= 1.0 for r in rows)
  assert rows[-1]["ada_p"] == pytest.approx(float(a.ada["p"]))

  g = inference.load_generator(str(tmp_path / "full"))
  assert g.ema
  for x, y in zip(leaves(g.variables["params"]), leaves(a.params_g_ema)):
    np.testing.assert_array_equal(x, y)
  for x, y in zip(leaves(g.variables["batch_stats"]),
                  leaves(a.batch_stats_g_ema)):
    np.testing.assert_array_equal(x, y)
  assert any(not np.array_equal(x, y) for x, y in zip(
      leaves(g.variables["params"]), leaves(a.params_g)))
  images = g.sample([0, 1, 2], seed=0)
  assert images.shape == (3, 16, 16, 1) and np.isfinite(images).all()


def test_checkpoint_from_before_the_options_restores(tmp_path):
  """A state saved as the 7-field TrainState of the original code (no option
  fields) restores into today's state with the options' fields empty."""
  import flax  # pylint: disable=import-outside-toplevel
  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
  from typing import Any  # pylint: disable=import-outside-toplevel

  @flax.struct.dataclass
  class OldState:
    step: Any
    params_g: Any
    batch_stats_g: Any
    params_d: Any
    opt_state_g: Any
    opt_state_d: Any
    rng: Any

  config = make_config()
  state = train_lib.create_state(config, NUM_CLASSES)
  old = OldState(**{f: getattr(state, f) for f in OldState.__dataclass_fields__})
  manager = ckpt.make_manager(str(tmp_path), async_save=False)
  manager.save(3, args=ocp.args.Composite(
      state=ocp.args.StandardSave(old),
      meta=ocp.args.JsonSave({"step": 3})))
  manager.wait_until_finished()
  manager.close()
  restored = read_state(str(tmp_path), config)
  assert isinstance(restored, train_lib.TrainState)
  assert restored.spectral_d == {} and restored.ada == {}
  assert restored.lecam == {}
  for x, y in zip(leaves(restored), leaves(state)):
    np.testing.assert_array_equal(x, y)


def test_lecam_penalty_values():
  real = jnp.array([2.0, -1.0])
  fake = jnp.array([-3.0, 1.0])
  # relu(real - 0)^2 = [4, 0]; relu(0.5 - fake)^2 = [12.25, 0].
  assert float(losses.lecam_penalty(real, fake, 0.5, 0.0)) == pytest.approx(
      2.0 + 6.125)
  # Logits already on the far side of the other class's mean cost nothing.
  assert float(losses.lecam_penalty(real, fake, -5.0, 3.0)) == 0.0
  grad = jax.grad(lambda r: losses.lecam_penalty(r, fake, 0.5, 0.0))(real)
  np.testing.assert_allclose(np.asarray(grad), [2.0, 0.0])  # 2 * 2 / 2


def test_lecam_tracks_d_logits_and_pulls_them_together():
  """The EMAs start at 0 and take (1 - decay) of this update's mean logits
  (computed with the weights before the update); the penalty changes D's
  update, and with the option off the state holds no EMAs."""
  config, _, (state0, state1, _), metrics = trained("lecam")
  images, labels = fake_batch(config)
  _, disc = cgan.build_models(config, NUM_CLASSES)
  logits = disc.apply({"params": state0.params_d}, jnp.asarray(images),
                      jnp.asarray(labels))
  assert state0.lecam == {"real": 0.0, "fake": 0.0}
  assert float(state1.lecam["real"]) == pytest.approx(
      0.1 * float(jnp.mean(logits)), rel=1e-4, abs=1e-7)
  assert metrics[0]["lecam_real"] == pytest.approx(
      float(state1.lecam["real"]))
  assert metrics[0]["d_lecam"] > 0.0
  _, _, (_, base1, _), base_metrics = trained("none")
  # Same first D loss terms, so the first D update differs only by LeCam.
  assert any(not np.array_equal(a, b) for a, b in zip(
      leaves(state1.params_d), leaves(base1.params_d)))
  assert "d_lecam" not in base_metrics[0] and base1.lecam == {}


def test_lr_decay_scales_both_updates_and_not_adams_moments():
  """Decay from step 0 over 2 steps: scale 1 at step 0 (the same step as
  without it, to the bit), 0.5 at step 1: exactly half of D's undecayed
  update from the same state, with D's Adam moments the undecayed run's,
  and about half of G's (whose gradient sees that D); the state gains
  nothing."""
  _, _, (d0, d1, d2), metrics = trained("lr_decay")
  _, _, (b0, b1, b2), base_metrics = trained("none")
  assert [m["lr_scale"] for m in metrics] == [1.0, 0.5]
  assert "lr_scale" not in base_metrics[0]
  assert jax.tree.structure(d0) == jax.tree.structure(b0)
  for a, b in zip(leaves(d1), leaves(b1)):
    np.testing.assert_array_equal(a, b)
  # D's second update starts from the same state in both runs: exactly half.
  for a1, a2, c1, c2 in zip(leaves(d1.params_d), leaves(d2.params_d),
                            leaves(b1.params_d), leaves(b2.params_d)):
    # (differences of float32 weights: rounding ~1e-8)
    np.testing.assert_allclose(a2 - a1, 0.5 * (c2 - c1), rtol=1e-4,
                               atol=3e-8)
  for a, b in zip(leaves(d2.opt_state_d), leaves(b2.opt_state_d)):
    np.testing.assert_array_equal(a, b)
  # G's gradient sees the (differently) updated D; Adam's steps are about
  # lr each, so the largest move of a typical weight array halves (the
  # biases in front of BatchNorm, zero gradient but float noise, aside).
  move = lambda s1, s2: np.array([np.max(np.abs(a - b)) for a, b in zip(
      leaves(s1.params_g), leaves(s2.params_g))])
  assert np.median(move(d1, d2) / move(b1, b2)) == pytest.approx(0.5,
                                                                 abs=0.02)
