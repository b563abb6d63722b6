"""Fast layers equal the reference layers (outputs and gradients); bf16 path."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from sigjax.models import cgan
from sigjax.models import layers

jax.config.update("jax_default_matmul_precision", "highest")


def _max_diff(a, b):
  """Largest |a - b| over the leaves, relative to max(1, max |b|) per leaf
  (gradients of summed losses reach ~1e3, where float32 rounding is ~1e-4)."""
  return max(float(jnp.max(jnp.abs(x - y)) / jnp.maximum(1.0, jnp.max(
      jnp.abs(y)))) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


@pytest.mark.parametrize("impl,kernel,stride,size", [
    ("phase", 5, 2, 8), ("phase", 5, 2, 7), ("phase", 5, 1, 7),
    ("phase", 4, 2, 5), ("phase", 5, 3, 6), ("phase", 4, 3, 7),
    ("phase", 2, 3, 4),
    ("subpixel", 5, 1, 7), ("subpixel", 5, 2, 8), ("subpixel", 5, 2, 7),
    ("subpixel", 5, 3, 6), ("subpixel", 4, 2, 5), ("subpixel", 4, 1, 6),
    ("subpixel", 4, 3, 7), ("subpixel_xla", 5, 2, 7),
    ("subpixel_xla", 4, 3, 6)])
def test_conv_transpose_subpixel_equals_flax(impl, kernel, stride, size):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, size, size + 1, 3))
  ref = nn.ConvTranspose(4, (kernel, kernel), (stride, stride), padding="SAME")
  fast = layers.ConvTranspose(4, (kernel, kernel), (stride, stride),
                              impl=impl)
  params = ref.init(jax.random.PRNGKey(1), x)
  # Same parameter tree: checkpoints of either layer load into the other.
  assert (jax.tree.map(jnp.shape, fast.init(jax.random.PRNGKey(1), x))
          == jax.tree.map(jnp.shape, params))
  y_ref = jax.jit(ref.apply)(params, x)
  y_fast = jax.jit(fast.apply)(params, x)
  assert y_fast.shape == y_ref.shape == (2, size * stride,
                                         (size + 1) * stride, 4)
  assert _max_diff(y_fast, y_ref) < 1e-5

  def loss(module):
    return lambda p, x: jnp.sum(jnp.sin(module.apply(p, x)))
  g_ref = jax.jit(jax.grad(loss(ref), argnums=(0, 1)))(params, x)
  g_fast = jax.jit(jax.grad(loss(fast), argnums=(0, 1)))(params, x)
  assert _max_diff(g_fast, g_ref) < 1e-5


@pytest.mark.parametrize("s1", ["auto", "rows"])
@pytest.mark.parametrize("kernel,stride", [(5, 2), (5, 1), (4, 2)])
def test_subpixel_inner_conv_lowerings_agree(monkeypatch, s1, kernel, stride):
  """Every lowering of the inner stride-1 conv (incl. the matmul kernel
  gradient, forced on for these narrow convs) equals lax.conv_transpose."""
  monkeypatch.setattr(layers, "ROWS_MIN_OUT", 1)
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 6, 7, 3))
  w = jax.random.normal(jax.random.PRNGKey(1), (kernel, kernel, 3, 4))
  ref = lambda x, w: lax.conv_transpose(
      x, w, (stride, stride), "SAME",
      dimension_numbers=("NHWC", "HWIO", "NHWC"))
  fast = lambda x, w: layers.conv_transpose_subpixel(
      x, w, (stride, stride), s1=s1)
  assert _max_diff(jax.jit(fast)(x, w), ref(x, w)) < 1e-5
  loss = lambda f: lambda x, w: jnp.sum(jnp.sin(f(x, w)))
  g_ref = jax.grad(loss(ref), argnums=(0, 1))(x, w)
  g_fast = jax.jit(jax.grad(loss(fast), argnums=(0, 1)))(x, w)
  assert _max_diff(g_fast, g_ref) < 1e-5


def test_conv_transpose_rejects_bad_settings():
  x = jnp.ones((1, 4, 4, 2))
  with pytest.raises(ValueError, match="SAME"):
    layers.ConvTranspose(2, (3, 3), padding="VALID").init(
        jax.random.PRNGKey(0), x)
  with pytest.raises(ValueError, match="conv_transpose"):
    layers.ConvTranspose(2, (3, 3), impl="nope").init(jax.random.PRNGKey(0), x)


@pytest.mark.parametrize("impl,kernel,stride,size", [
    ("phase", 5, 2, 8), ("phase", 5, 2, 7), ("phase", 5, 1, 6),
    ("phase", 4, 2, 6), ("phase", 3, 3, 7), ("im2col", 5, 2, 7),
    ("im2col", 4, 1, 6)])
def test_conv2d_impls_equal_nn_conv(impl, kernel, stride, size):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, size, size + 1, 3))
  conv = nn.Conv(5, (kernel, kernel), (stride, stride), padding="SAME",
                 use_bias=False)
  w = conv.init(jax.random.PRNGKey(1), x)["params"]["kernel"]
  y_ref = conv.apply({"params": {"kernel": w}}, x)
  f = jax.jit(lambda x, w: layers.conv2d(x, w, (stride, stride), impl=impl))
  assert _max_diff(f(x, w), y_ref) < 1e-5

  def loss(fn):
    return lambda x, w: jnp.sum(jnp.sin(fn(x, w)))
  g_ref = jax.jit(jax.grad(loss(lambda x, w: conv.apply(
      {"params": {"kernel": w}}, x)), argnums=(0, 1)))(x, w)
  g_fast = jax.jit(jax.grad(loss(f), argnums=(0, 1)))(x, w)
  assert _max_diff(g_fast, g_ref) < 1e-5


def test_conv2d_rejects_unknown_impl():
  with pytest.raises(ValueError, match="conv_impl"):
    layers.conv2d(jnp.ones((1, 4, 4, 1)), jnp.ones((3, 3, 1, 1)), impl="nope")


def _small_models(dtype):
  kw = dict(num_classes=3, image_size=16)
  gen = cgan.Generator(latent_dim=8, channels=(16, 8, 8, 1), dtype=dtype, **kw)
  disc = cgan.Discriminator(channels=(8, 16, 16, 16), dtype=dtype, **kw)
  return gen, disc


def test_bf16_path_within_tolerance_of_fp32():
  """bf16 compute (params fp32) stays close to fp32: G images within 0.05
  (on (0, 1)), D logits within 5% of their spread, and the D gradient's
  direction within cosine 0.99."""
  key = jax.random.PRNGKey(0)
  z = jax.random.uniform(key, (16, 8), minval=-1, maxval=1)
  y = jnp.arange(16) % 3
  g32, d32 = _small_models("float32")
  g16, d16 = _small_models("bfloat16")
  vg = g32.init(key, z, y, train=True)
  # Jitted: un-jitted bf16 applies compile every primitive separately.
  gen_apply = lambda g: jax.jit(lambda v: g.apply(
      v, z, y, train=True, mutable=["batch_stats"])[0])
  img32, img16 = gen_apply(g32)(vg), gen_apply(g16)(vg)
  assert img16.dtype == jnp.float32
  assert float(jnp.max(jnp.abs(img16 - img32))) < 0.05
  vd = d32.init(key, img32, y)
  l32 = jax.jit(d32.apply)(vd, img32, y)
  l16 = jax.jit(d16.apply)(vd, img32, y)
  spread = float(jnp.max(l32) - jnp.min(l32)) + 1e-6
  assert float(jnp.max(jnp.abs(l16 - l32))) < 0.05 * spread
  grad = lambda d: jax.jit(jax.grad(
      lambda p: jnp.mean(d.apply(p, img32, y))))(vd)
  a = jnp.concatenate([g.ravel() for g in jax.tree.leaves(grad(d32))])
  b = jnp.concatenate([g.astype(jnp.float32).ravel()
                       for g in jax.tree.leaves(grad(d16))])
  assert float(a @ b / (jnp.linalg.norm(a) * jnp.linalg.norm(b))) > 0.99


def test_xla_cpu_conv_compiler_options():
  """config.xla_cpu_conv picks XLA:CPU's convolution library per jit: with
  'eigen' no convolution is handed to YNNPACK, and both agree numerically."""
  from sigjax import parallel  # pylint: disable=g-import-not-at-top
  assert jax.default_backend() == "cpu"
  eigen = parallel.compiler_options({"xla_cpu_conv": "eigen"})
  assert "CONVOLUTION" not in eigen["xla_cpu_experimental_ynn_fusion_type"]
  assert parallel.compiler_options({"xla_cpu_conv": "ynnpack"}) is None
  assert parallel.compiler_options({"xla_cpu_conv": "eigen"},
                                   backend="gpu") is None
  with pytest.raises(ValueError, match="xla_cpu_conv='mkl'"):
    parallel.compiler_options({"xla_cpu_conv": "mkl"})

  x = jax.random.normal(jax.random.PRNGKey(0), (2, 9, 9, 8))
  w = jax.random.normal(jax.random.PRNGKey(1), (5, 5, 8, 16))
  conv = lambda x, w: lax.conv_general_dilated(
      x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
  outs = {}
  for choice in ("eigen", "ynnpack"):
    f = jax.jit(conv, compiler_options=parallel.compiler_options(
        {"xla_cpu_conv": choice}))
    hlo = f.lower(x, w).compile().as_text()
    if choice == "eigen":
      # The convolution is XLA's own instruction, not inside a YNN fusion.
      assert "__ynn_fusion" not in hlo, hlo
      assert " convolution(" in hlo
    outs[choice] = f(x, w)
  assert _max_diff(outs["eigen"], outs["ynnpack"]) < 1e-5


def test_bf16_layers_sum_their_bias_gradient_in_float32():
  """A bias added in bf16 gets its gradient summed in bf16 over batch x
  height x width (tens of percent off); layers.promote_for adds it in
  float32, so the bf16 gradient of D's first conv bias is within 1% of
  the float32 one. float32 layers keep flax's own promotion."""
  assert layers.promote_for(jnp.float32) is nn.dtypes.promote_dtype
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.random((32, 32, 32, 1)) > 0.9, jnp.float32)
  cot = jnp.asarray(rng.normal(size=(32, 16, 16, 8)) * 1e-3 + 1e-4,
                    jnp.float32)

  def bias_grad(dtype, promote):
    conv = nn.Conv(8, (5, 5), (2, 2), padding="SAME", dtype=dtype,
                   promote_dtype=promote)
    params = conv.init(jax.random.PRNGKey(0), x)["params"]
    f = lambda p: jnp.sum(conv.apply({"params": p}, x).astype(jnp.float32)
                          * cot)
    return np.asarray(jax.grad(f)(params)["bias"], np.float64)

  ref = bias_grad(jnp.float32, nn.dtypes.promote_dtype)
  rel = lambda g: np.linalg.norm(g - ref) / np.linalg.norm(ref)
  assert rel(bias_grad(jnp.bfloat16, layers.promote_for(jnp.bfloat16))) < 0.01
  assert rel(bias_grad(jnp.bfloat16, nn.dtypes.promote_dtype)) > 0.05
