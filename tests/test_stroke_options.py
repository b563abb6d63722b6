"""Stroke-quality options (issue 11, item 2): each builds, trains, and
changes what it claims to; the defaults stay the original.

Tiny configs (``configs/cgan.py:test`` widths, 16-32 px) so the file runs in
well under a minute.
"""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import cgan as cgan_config
from configs import generate as generate_config
from sigjax import generate as generate_lib
from sigjax import inference
from sigjax import preprocess
from sigjax import train as train_lib
from sigjax.models import cgan
from sigjax.models import layers

NUM_CLASSES = 3


def make_config(**overrides):
  config = cgan_config.get_config("test")
  for key, value in overrides.items():
    section, field = key.split("__")
    setattr(config[section], field, value)
  return config


def init(config, batch=4):
  gen, disc = cgan.build_models(config, NUM_CLASSES)
  s = config.data.image_size
  z = jax.random.uniform(jax.random.PRNGKey(0), (batch, config.model.latent_dim),
                         minval=-1, maxval=1)
  y = jnp.arange(batch) % NUM_CLASSES
  vg = gen.init(jax.random.PRNGKey(1), z, y)
  vd = disc.init(jax.random.PRNGKey(2), jnp.zeros((batch, s, s, 1)), y)
  return gen, disc, vg, vd, z, y


def test_upsample_nearest_and_bilinear():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 7, 3))
  near = cgan.upsample(x, 2, "nearest")
  assert near.shape == (2, 10, 14, 3)
  np.testing.assert_array_equal(near[:, ::2, ::2], x)
  np.testing.assert_array_equal(near[:, 1::2, 1::2], x)
  bil = cgan.upsample(x, 2, "bilinear")
  ref = jax.image.resize(x, (2, 10, 14, 3), "bilinear")
  np.testing.assert_allclose(bil, ref, atol=1e-5)
  bil3 = cgan.upsample(x, 3, "bilinear")
  assert bil3.shape == (2, 15, 21, 3)
  with pytest.raises(ValueError, match="resize_method"):
    cgan.upsample(x, 2, "cubic")


def _interior_spread(y):
  """Max - min over the interior of a map whose input was constant."""
  inner = np.asarray(y)[:, 4:-4, 4:-4, :]
  return float(inner.max() - inner.min())


def test_resize_conv_has_no_checkerboard_transpose_has():
  """A constant feature map through an all-ones 5x5 kernel: the stride-2
  transposed convolution gives a periodic (checkerboard) output, because
  output pixels of different phases see 2 or 3 taps per axis; resize then
  conv gives a constant one (every pixel sees 5x5 taps)."""
  x = jnp.ones((1, 8, 8, 2))
  k = jnp.ones((5, 5, 2, 1))
  t = layers.conv_transpose_phase(x, k, (2, 2))
  assert _interior_spread(t) > 1.0  # 9, 6 or 4 taps per phase
  r = jax.lax.conv_general_dilated(
      cgan.upsample(x, 2, "nearest"), k, (1, 1), "SAME",
      dimension_numbers=("NHWC", "HWIO", "NHWC"))
  assert _interior_spread(r) == 0.0
  # The generator built with resize_conv has conv<i> layers, no deconv<i>.
  _, _, vg, _, _, _ = init(make_config(model__upsample="resize_conv"))
  names = set(vg["params"])
  assert {"conv0", "conv3"} <= names and not any("deconv" in n for n in names)


def test_default_parameter_trees_are_the_originals():
  _, _, vg, vd, _, _ = init(make_config())
  assert sorted(vg["params"]) == ["bn0", "bn1", "bn2", "bn3", "deconv0",
                                  "deconv1", "deconv2", "deconv3", "fc"]
  assert sorted(vd["params"]) == ["conv0", "conv1", "conv2", "conv3",
                                  "label_fc", "out"]


def test_scaled_strides_add_one_stage_per_doubling():
  assert cgan.scaled_strides((2, 2, 1, 1), 64, 16) == (2, 2, 1, 1)
  assert cgan.scaled_strides((2, 2, 1, 1), 128, 16) == (2, 2, 2, 1)
  assert cgan.scaled_strides((2, 2, 2, 1), 128, 8, keep_last=False) == (
      2, 2, 2, 2)
  assert cgan.scaled_strides((2, 2, 2, 1), 64, 8, keep_last=False) == (
      2, 2, 2, 1)
  assert cgan.scaled_strides((2, 2, 1, 1), 16, 16) == (2, 2, 1, 1)
  # Explicit strides that already reach the paper's sizes are kept.
  assert cgan.scaled_strides((2, 2, 2, 1), 128, 16) == (2, 2, 2, 1)


@pytest.mark.parametrize("size", [64, 128])
def test_dcgan_at_128_gets_one_more_stage(size):
  config = make_config(data__image_size=size)
  gen, disc, vg, vd, z, y = init(config, batch=2)
  out = gen.apply(vg, z, y)
  assert out.shape == (2, size, size, 1)
  # G starts from 16x16 at 64 (the paper's) and at 128 (one more stride 2).
  assert vg["params"]["fc"]["kernel"].shape[-1] == 16 * 16 * 8
  # D's last feature map stays 8x8 (disc_strides 2,2,2,1 -> 2,2,2,2 at 128).
  assert vd["params"]["out"]["kernel"].shape[0] == 8 * 8 * 8
  assert disc.apply(vd, out, y[:2]).shape == (2,)


@pytest.mark.parametrize("options", [
    dict(),
    dict(model__upsample="transpose"),
    dict(model__conditioning="projection", model__spectral_norm=True,
         model__mbstd=True),
    dict(model__resize_method="bilinear", data__image_size=32),
])
def test_resnet_shapes_and_blocks(options):
  config = make_config(**{"model__arch": "resnet",
                          "model__upsample": "resize_conv", **options})
  gen, disc, vg, vd, z, y = init(config)
  s = config.data.image_size
  levels = int(np.log2(s // 4))
  out = gen.apply(vg, z, y)
  assert out.shape == (4, s, s, 1)
  assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1
  assert {f"block{i}_conv0" for i in range(levels)} <= set(vg["params"])
  assert f"block{levels}_conv0" not in vg["params"]
  kw = {"mutable": ["spectral"]} if config.model.spectral_norm else {}
  logits = disc.apply(vd, out, y, **kw)
  logits = logits[0] if kw else logits
  assert logits.shape == (4,) and np.all(np.isfinite(logits))
  d_blocks = {k for k in (vd["params"]) if k.startswith("block")
              or k.startswith("sn_block")}
  assert len({k.split("_conv")[0].split("_shortcut")[0] for k in d_blocks}) \
      == levels


def test_resnet_rejects_sizes_off_the_ladder():
  config = make_config(model__arch="resnet", data__image_size=24)
  with pytest.raises(ValueError, match="image_size=24"):
    init(config)


def test_mbstd_makes_d_see_batch_variety():
  config = make_config(model__mbstd=True)
  _, disc, _, vd, _, y = init(config)
  s = config.data.image_size
  rng = np.random.RandomState(0)
  first = rng.rand(1, s, s, 1).astype(np.float32)
  same = np.repeat(first, 4, axis=0)
  varied = np.concatenate([first, rng.rand(3, s, s, 1).astype(np.float32)])
  a = disc.apply(vd, same, y)[0]
  b = disc.apply(vd, varied, y)[0]
  assert abs(float(a - b)) > 1e-6  # sample 0's logit depends on the others
  config_off = make_config()
  _, disc_off, _, vd_off, _, _ = init(config_off)
  a = disc_off.apply(vd_off, same, y)[0]
  b = disc_off.apply(vd_off, varied, y)[0]
  assert float(a) == pytest.approx(float(b), abs=1e-6)
  # The extra channel: the std over each group, broadcast spatially.
  x = jnp.asarray(varied)
  out = cgan.minibatch_stddev(x, 4)
  assert out.shape == (4, s, s, 2)
  expect = np.mean(np.std(varied, axis=0))
  np.testing.assert_allclose(out[..., 1], expect, rtol=1e-4)


@pytest.mark.parametrize("options", [
    dict(model__upsample="resize_conv"),
    dict(model__arch="resnet", model__upsample="resize_conv",
         model__conditioning="projection", model__spectral_norm=True,
         train__loss="hinge", model__mbstd=True, train__ema_decay=0.9,
         train__augment="diffaugment", train__instance_noise=0.1),
])
def test_new_options_train(options):
  config = make_config(**options)
  state = train_lib.create_state(config, NUM_CLASSES)
  step = jax.jit(train_lib.make_train_step(config, NUM_CLASSES))
  rng = np.random.RandomState(0)
  n, s = config.train.batch_size, config.data.image_size
  images = (rng.rand(n, s, s, 1) > 0.7).astype(np.float32)
  labels = (np.arange(n) % NUM_CLASSES).astype(np.int32)
  before = jax.tree.map(np.asarray, state.params_g)
  for _ in range(3):
    state, metrics = step(state, images, labels)
  assert all(np.isfinite(float(v)) for v in metrics.values())
  changed = jax.tree.map(lambda a, b: not np.allclose(a, b), before,
                         jax.tree.map(np.asarray, state.params_g))
  assert all(jax.tree.leaves(changed))


def test_resize_conv_and_resnet_use_onednn_when_asked():
  from sigjax.ops import onednn  # pylint: disable=import-outside-toplevel
  if not onednn.available():
    pytest.skip(f"oneDNN library unavailable here: {onednn.why()}")
  for options in (dict(model__upsample="resize_conv"),
                  dict(model__arch="resnet", model__upsample="resize_conv")):
    config = make_config(model__conv_impl="onednn",
                         model__conv_transpose="onednn", **options)
    gen, _, vg, _, z, y = init(config)
    text = jax.jit(lambda v: gen.apply(v, z, y)).lower(vg).as_text()
    assert "custom_call" in text and "onednn" in text.lower()
    ref = make_config(model__conv_impl="xla", model__conv_transpose="phase",
                      **options)
    gen_ref, _, _, _, _, _ = init(ref)
    np.testing.assert_allclose(gen.apply(vg, z, y), gen_ref.apply(vg, z, y),
                               atol=1e-5)


def test_generate_writes_binary_ink_by_default(tmp_path):
  from sigjax import train_loop  # pylint: disable=import-outside-toplevel
  config = make_config()
  config.data.synthetic_per_class = 8
  run = str(tmp_path / "run")
  train_loop.run(config, run)
  for output, expect_binary in (("binary", True), ("raw", False)):
    gconfig = generate_config.get_config("test")
    gconfig.gan_workdir = run
    gconfig.output = output
    out = str(tmp_path / output)
    generate_lib.run(gconfig, out)
    pixels = np.concatenate([
        np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(
            os.path.join(out, "images", d, f)).convert("L")).ravel()
        for d in os.listdir(os.path.join(out, "images"))
        for f in os.listdir(os.path.join(out, "images", d))])
    values = set(np.unique(pixels).tolist())
    if expect_binary:
      assert values <= {0, 255}
    else:
      assert len(values) > 2
    assert f'"output": "{output}"' in open(
        os.path.join(out, "generate.json")).read()
  gen = inference.load_generator(run)
  assert not gen.ema
  with pytest.raises(ValueError, match="no EMA"):
    inference.load_generator(run, ema=True)
  raw = gen.sample([0, 1], seed=3)
  np.testing.assert_array_equal(gen.sample([0, 1], seed=3, output="binary"),
                                (raw >= 0.5).astype(np.float32))
  with pytest.raises(ValueError, match="output"):
    gen.sample([0], output="gray")
  # A generator of ink coverage (config.data.ink) is thresholded per image
  # with Otsu, as the real images are.
  gen.ink = "coverage"
  np.testing.assert_array_equal(gen.sample([0, 1], seed=3, output="binary"),
                                preprocess.otsu_ink(raw))


def test_instance_noise_reaches_d_and_is_validated():
  images = (np.random.RandomState(0).rand(8, 16, 16, 1) > 0.7).astype(
      np.float32)
  labels = (np.arange(8) % NUM_CLASSES).astype(np.int32)
  losses = {}
  for noise in (0.0, 0.5):
    config = make_config(train__instance_noise=noise)
    state = train_lib.create_state(config, NUM_CLASSES)
    _, metrics = jax.jit(train_lib.make_train_step(config, NUM_CLASSES))(
        state, images, labels)
    losses[noise] = float(metrics["d_loss"])
  assert np.isfinite(losses[0.5]) and losses[0.5] != losses[0.0]
  with pytest.raises(ValueError, match="instance_noise"):
    train_lib.Options.from_config(make_config(train__instance_noise=-1.0))
  with pytest.raises(ValueError, match="instance_noise_steps"):
    train_lib.Options.from_config(make_config(train__instance_noise_steps=-4))
  # Annealed: the full std at step 0 (the same step as constant noise), half
  # of it half-way, none from step k on.
  config = make_config(train__instance_noise=0.5,
                       train__instance_noise_steps=10)
  state = train_lib.create_state(config, NUM_CLASSES)
  step = jax.jit(train_lib.make_train_step(config, NUM_CLASSES))
  seen = {}
  for at in (0, 5, 10, 30):
    _, m = step(state.replace(step=jnp.asarray(at, state.step.dtype)),
                images, labels)
    seen[at] = (float(m["instance_noise"]), float(m["d_loss"]))
  assert [seen[a][0] for a in (0, 5, 10, 30)] == [0.5, 0.25, 0.0, 0.0]
  assert seen[0][1] == losses[0.5]


def test_ema_start_copies_then_averages():
  config = make_config(train__ema_decay=0.9, train__ema_start=2)
  state = train_lib.create_state(config, NUM_CLASSES)
  step = jax.jit(train_lib.make_train_step(config, NUM_CLASSES))
  images = (np.random.RandomState(0).rand(8, 16, 16, 1) > 0.7).astype(
      np.float32)
  labels = (np.arange(8) % NUM_CLASSES).astype(np.int32)
  for _ in range(2):
    state, _ = step(state, images, labels)
  for e, p in zip(jax.tree.leaves(state.params_g_ema),
                  jax.tree.leaves(state.params_g)):
    np.testing.assert_array_equal(e, p)  # steps 0, 1: copied
  prev = jax.tree.map(np.asarray, state.params_g)
  state, _ = step(state, images, labels)
  for e, a, b in zip(jax.tree.leaves(state.params_g_ema),
                     jax.tree.leaves(prev), jax.tree.leaves(state.params_g)):
    np.testing.assert_allclose(e, 0.9 * a + 0.1 * np.asarray(b), rtol=1e-5,
                               atol=1e-7)
  with pytest.raises(ValueError, match="ema_start"):
    train_lib.Options.from_config(make_config(train__ema_start=-1))


def test_ema_warmup_ramps_the_decay_up_from_ema_start():
  """train.ema_warmup: decay min(d, (1 + n) / (10 + n)) with n the steps
  since ema_start, so step n's EMA weights are (1+n)/(10+n) old + the rest
  new; copying before ema_start is unchanged."""
  config = make_config(train__ema_decay=0.999, train__ema_start=1,
                       train__ema_warmup=True)
  state = train_lib.create_state(config, NUM_CLASSES)
  step = jax.jit(train_lib.make_train_step(config, NUM_CLASSES))
  images = (np.random.RandomState(0).rand(8, 16, 16, 1) > 0.7).astype(
      np.float32)
  labels = (np.arange(8) % NUM_CLASSES).astype(np.int32)
  state, _ = step(state, images, labels)  # step 0 < ema_start: copied
  for e, p in zip(jax.tree.leaves(state.params_g_ema),
                  jax.tree.leaves(state.params_g)):
    np.testing.assert_array_equal(e, p)
  for n in (0, 1):  # steps 1, 2: n = 0, 1 averaging steps before this one
    prev = jax.tree.map(np.asarray, state.params_g_ema)
    state, _ = step(state, images, labels)
    d = (1.0 + n) / (10.0 + n)
    for e, a, b in zip(jax.tree.leaves(state.params_g_ema),
                       jax.tree.leaves(prev), jax.tree.leaves(state.params_g)):
      np.testing.assert_allclose(e, d * a + (1 - d) * np.asarray(b),
                                 rtol=1e-5, atol=1e-7)
  # Without the warm-up the same step would keep 0.999 of the old weights.
  assert d < 0.2


@pytest.mark.parametrize("preset", ["quality", "quality_gpu", "legible"])
def test_quality_presets_build_and_trace(preset):
  config = cgan_config.get_config(preset)
  assert config.model.upsample == "resize_conv"
  # The phase form since 2026-12-03 (docs/performance_loop.md).
  assert config.model.resize_conv_form == "phase"
  assert config.data.ink == "coverage"
  assert config.train.ema_decay > 0
  # R1 in place of instance noise (docs/recipes.md, "R1"), gamma by the
  # StyleGAN2-ADA heuristic for the batch.
  assert config.train.instance_noise == 0
  assert config.train.r1_gamma == pytest.approx(
      0.0002 * config.data.image_size ** 2 / config.train.batch_size)
  assert config.train.ema_start < config.train.steps
  if preset == "quality":
    # G at the `cpu` preset's widths for 2500 steps, the batch at its size,
    # D twice its width (docs/recipes.md).
    cpu = cgan_config.get_config("cpu")
    assert tuple(config.model.gen_channels) == tuple(
        cpu.model.gen_channels) == (64, 32, 16, 1)
    assert config.train.steps == 2500
    assert config.train.batch_size == cpu.train.batch_size
    assert tuple(config.model.disc_channels) == tuple(
        2 * c for c in cpu.model.disc_channels)
  state = jax.eval_shape(lambda: train_lib.create_state(config, 10))
  s, b = config.data.image_size, config.train.batch_size
  _, metrics = jax.eval_shape(
      train_lib.make_train_step(config, 10), state,
      jax.ShapeDtypeStruct((b, s, s, 1), jnp.float32),
      jax.ShapeDtypeStruct((b,), jnp.int32))
  assert {"d_loss", "g_loss"} <= set(metrics)


def test_legible_preset_is_the_recipe_its_evidence_trained():
  """`:legible` trains what its three seeds trained
  (ablations/media_data/media_data_long_seeds.py, its committed base
  snapshot plus the variant's overrides), but for the fields a user's run
  chooses: the data source, bf16 (a speed option shown equal to fp32) and
  how many checkpoints the sweep kept for scoring earlier steps."""
  from ablations import bases  # pylint: disable=g-import-not-at-top
  from ablations.media_data import media_data  # pylint: disable=g-import-not-at-top
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  with open(os.path.join(root, "ablations", "media_data",
                         "media_data_long_seeds.base.json"),
            encoding="utf-8") as f:
    evidence = bases.flatten(json.load(f))
  evidence.update(media_data.ALL_MEDIA_COND[1])
  preset = bases.flatten(bases.as_plain(cgan_config.get_config("legible")))
  differ = {k for k in evidence if preset.get(k) != evidence[k]}
  assert differ == {"preset", "data.source", "model.dtype",
                    "train.keep_checkpoints"}, differ
  # The README's bare first command trains it (rule 8 of the media study).
  assert cgan_config.get_config().preset == "legible"
  quality = cgan_config.get_config("quality")
  assert quality.model.conditioning == "concat"
  assert quality.data.media == "paper" and quality.train.steps == 2500


@pytest.mark.parametrize("k,s,impl", [(3, 2, "xla"), (5, 2, "xla"),
                                      (3, 3, "xla"), (3, 2, "onednn")])
def test_phase_resize_conv_is_the_direct_one(k, s, impl):
  """model.resize_conv_form='phase': the same parameters, initialised
  alike, and the same function and gradients as nearest upsampling then
  the convolution, up to the order of the sums."""
  from sigjax.ops import onednn  # pylint: disable=g-import-not-at-top
  if impl == "onednn" and not onednn.available():
    pytest.skip(f"oneDNN unavailable here: {onednn.why()}")
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 6, 6, 4))
  direct = cgan._conv(5, k, 1, impl, jnp.float32, "c")  # pylint: disable=protected-access
  phase = cgan.PhaseResizeConv(5, k, s, impl, jnp.float32)
  params = direct.init(jax.random.PRNGKey(1), cgan.upsample(x, s, "nearest"))
  same = phase.init(jax.random.PRNGKey(1), x)
  assert jax.tree.all(jax.tree.map(np.array_equal, params, same))
  params = jax.tree.map(  # a bias that is not zero
      lambda a: a + 0.1 * jax.random.normal(jax.random.PRNGKey(2), a.shape),
      params)

  def f_direct(p, x):
    return direct.apply(p, cgan.upsample(x, s, "nearest"))

  def f_phase(p, x):
    return phase.apply(p, x)

  for f in (f_direct, f_phase):
    assert f(params, x).shape == (3, 6 * s, 6 * s, 5)
  loss = lambda f: lambda p, x: jnp.sum(jnp.sin(f(p, x)))  # pylint: disable=unnecessary-lambda-assignment
  want = (f_direct(params, x),
          jax.grad(loss(f_direct), argnums=(0, 1))(params, x))
  got = (f_phase(params, x),
         jax.grad(loss(f_phase), argnums=(0, 1))(params, x))
  for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(got)):
    np.testing.assert_allclose(b, a, atol=1e-5 * float(jnp.max(jnp.abs(a))))


def test_phase_resize_conv_is_nearest_only():
  config = cgan_config.get_config("test")
  config.model.upsample, config.model.resize_method = "resize_conv", "bilinear"
  config.model.resize_conv_form = "phase"
  with pytest.raises(ValueError, match="resize_conv_form='phase'"):
    train_lib.create_state(config, config.data.num_classes)
