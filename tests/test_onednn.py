"""oneDNN convolutions (sigjax.ops.onednn) equal XLA's, in value and
gradient, and the models pick them ('auto') only where they apply."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from configs import cgan as cgan_config
from sigjax import train as train_lib
from sigjax.models import cgan
from sigjax.models import layers
from sigjax.ops import onednn

jax.config.update("jax_default_matmul_precision", "highest")
DN = ("NHWC", "HWIO", "NHWC")


def test_library_builds_and_loads():
  # requirements.txt installs oneDNN and CI has g++: it must be available.
  assert onednn.available(), onednn.why()


def _max_rel(a, b):
  return max(float(jnp.max(jnp.abs(x - y)) / jnp.maximum(1.0, jnp.max(
      jnp.abs(y)))) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def _loss(f):
  return lambda x, w: jnp.sum(jnp.sin(f(x, w)))


@pytest.mark.parametrize("kernel,stride,size,padding", [
    (5, 2, 8, "SAME"), (5, 2, 7, "SAME"), (5, 1, 7, "SAME"), (4, 2, 6, "SAME"),
    (3, 1, 5, "VALID"), (3, 2, 9, ((2, 0), (1, 1)))])
def test_conv_equals_lax(kernel, stride, size, padding):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, size, size + 1, 3))
  w = jax.random.normal(jax.random.PRNGKey(1), (kernel, kernel, 3, 4))
  ref = lambda x, w: lax.conv_general_dilated(
      x, w, (stride, stride), padding, dimension_numbers=DN)
  fast = lambda x, w: onednn.conv(x, w, (stride, stride), padding)
  assert _max_rel(jax.jit(fast)(x, w), ref(x, w)) < 1e-5
  assert _max_rel(jax.jit(jax.grad(_loss(fast), (0, 1)))(x, w),
                  jax.grad(_loss(ref), (0, 1))(x, w)) < 1e-5


@pytest.mark.parametrize("kernel,stride,size,out", [
    (5, 2, 8, 4), (5, 2, 7, 4), (5, 1, 7, 4), (4, 2, 5, 4), (5, 3, 6, 4),
    (3, 1, 4, 4), (5, 1, 6, 1), (4, 1, 5, 1)])  # out=1, s=1: XLA forward
def test_conv_transpose_equals_lax(kernel, stride, size, out):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, size, size + 1, 3))
  w = jax.random.normal(jax.random.PRNGKey(1), (kernel, kernel, 3, out))
  ref = lambda x, w: lax.conv_transpose(x, w, (stride, stride), "SAME",
                                        dimension_numbers=DN)
  fast = lambda x, w: onednn.conv_transpose(x, w, (stride, stride))
  y = jax.jit(fast)(x, w)
  assert y.shape == (2, size * stride, (size + 1) * stride, out)
  assert _max_rel(y, ref(x, w)) < 1e-5
  assert _max_rel(jax.jit(jax.grad(_loss(fast), (0, 1)))(x, w),
                  jax.grad(_loss(ref), (0, 1))(x, w)) < 1e-5


def test_nn_conv_drop_in_falls_back_outside_its_case():
  """The nn.Conv hook takes oneDNN for float32 NHWC (bf16: only with bf16
  instructions, tests/test_onednn_bf16.py) and lax otherwise."""
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 6, 6, 3))
  w = jax.random.normal(jax.random.PRNGKey(1), (3, 3, 3, 4))
  dn = lax.conv_dimension_numbers(x.shape, w.shape, DN)
  for kw in [dict(), dict(rhs_dilation=(2, 2))]:
    got = layers.onednn_conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=dn, **kw)
    want = lax.conv_general_dilated(x, w, (1, 1), "SAME",
                                    dimension_numbers=dn, **kw)
    assert _max_rel(got, want) < 1e-5
  hlo = jax.jit(lambda x, w: layers.onednn_conv_general_dilated(
      x, w, (1, 1), "SAME", dimension_numbers=dn)).lower(x, w).as_text()
  assert "sigjax_onednn_conv_fwd" in hlo
  hlo = jax.jit(lambda x, w: layers.onednn_conv_general_dilated(
      x.astype(jnp.bfloat16), w.astype(jnp.bfloat16), (1, 1), "SAME",
      dimension_numbers=dn)).lower(x, w).as_text()
  assert ("sigjax_onednn" in hlo) == onednn.bf16_available()
  for dtype, out in [(jnp.bfloat16, jnp.float32), (jnp.float16, None)]:
    hlo = jax.jit(lambda x, w: layers.onednn_conv_general_dilated(
        x.astype(dtype), w.astype(dtype), (1, 1), "SAME",
        dimension_numbers=dn, preferred_element_type=out)).lower(
            x, w).as_text()
    assert "sigjax_onednn" not in hlo


def test_auto_resolution(monkeypatch):
  config = cgan_config.get_config("test")
  assert (config.model.conv_transpose, config.model.conv_impl) == ("auto",
                                                                    "auto")
  assert cgan.resolve_conv_impls(config) == ("onednn", "onednn")
  config.model.dtype = "bfloat16"
  assert cgan.resolve_conv_impls(config) == (
      ("onednn", "onednn") if onednn.bf16_available() else ("phase", "xla"))
  monkeypatch.setattr(onednn, "bf16_available", lambda: False)
  assert cgan.resolve_conv_impls(config) == ("phase", "xla")
  config.model.dtype = "float32"
  assert cgan.resolve_conv_impls(config) == ("onednn", "onednn")
  monkeypatch.setattr(onednn, "available", lambda: False)
  assert cgan.resolve_conv_impls(config) == ("phase", "xla")
  config.model.conv_impl = "mkl"
  with pytest.raises(ValueError, match="conv_impl='mkl'"):
    cgan.resolve_conv_impls(config)


def test_train_step_onednn_matches_xla_lowering():
  """Three steps of the test preset: oneDNN and XLA lowerings give the same
  losses and (to Adam's rounding bound) the same parameters."""
  base = cgan_config.get_config("test")
  size, n = base.data.image_size, base.train.batch_size
  rng = np.random.default_rng(0)
  images = (rng.random((n, size, size, 1)) < 0.1).astype(np.float32)
  labels = rng.integers(0, 10, (n,)).astype(np.int32)
  results = {}
  for name, ct, ci in [("onednn", "onednn", "onednn"), ("xla", "phase", "xla")]:
    config = cgan_config.get_config("test")
    config.model.conv_transpose, config.model.conv_impl = ct, ci
    step = jax.jit(train_lib.make_train_step(config, 10))
    hlo = step.lower(train_lib.create_state(config, 10), images,
                     labels).as_text()
    assert ("sigjax_onednn" in hlo) == (name == "onednn")
    state = train_lib.create_state(config, 10)
    losses = []
    for _ in range(3):
      state, metrics = step(state, images, labels)
      losses.append([float(metrics["d_loss"]), float(metrics["g_loss"])])
    results[name] = (np.array(losses), state.params_g)
  np.testing.assert_allclose(results["onednn"][0], results["xla"][0],
                             atol=1e-4)
  diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(
      jax.tree.leaves(results["onednn"][1]), jax.tree.leaves(results["xla"][1])))
  assert diff < 2 * 2e-4 * 3  # |Adam update| <= lr per step


@pytest.mark.parametrize("transpose", [False, True])
def test_second_order_gradients_equal_lax(transpose):
  """R1 / WGAN-GP differentiate a gradient: d/dw ||d/dx f(x, w)||^2."""
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 7, 8, 3))
  w = jax.random.normal(jax.random.PRNGKey(1), (5, 5, 3, 4))
  if transpose:
    ref = lambda x, w: lax.conv_transpose(x, w, (2, 2), "SAME",
                                          dimension_numbers=DN)
    fast = lambda x, w: onednn.conv_transpose(x, w, (2, 2))
  else:
    ref = lambda x, w: lax.conv_general_dilated(x, w, (2, 2), "SAME",
                                                dimension_numbers=DN)
    fast = lambda x, w: onednn.conv(x, w, (2, 2), "SAME")

  def penalty(f):
    def p(x, w):
      gx = jax.grad(lambda x: jnp.sum(jnp.tanh(f(x, w))))(x)
      return jnp.sum(gx ** 2)
    return p
  got = jax.jit(jax.grad(penalty(fast), (0, 1)))(x, w)
  want = jax.grad(penalty(ref), (0, 1))(x, w)
  assert _max_rel(got, want) < 1e-5


def test_damaged_cached_library_is_rebuilt(tmp_path, monkeypatch):
  """A truncated .so in the cache is replaced, not a permanent failure."""
  monkeypatch.setenv("SIGJAX_OPS_CACHE", str(tmp_path))
  path = onednn.build()
  with open(path, "wb") as f:
    f.write(b"not a shared library")
  lib = onednn.load_library()
  assert hasattr(lib, "SigjaxOnednnConvFwd")
  with open(path, "rb") as f:
    assert f.read(4) == b"\x7fELF"


def test_missing_onednn_is_reported(monkeypatch):
  monkeypatch.setattr(onednn, "_prefixes", lambda: ["/nonexistent-prefix"])
  with pytest.raises(RuntimeError, match="pip install onednn-cpu-gomp"):
    onednn.build()
