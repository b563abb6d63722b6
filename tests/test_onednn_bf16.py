"""oneDNN's bf16 convolutions (sigjax.ops.onednn's *_bf16 handlers): equal
float32 XLA on the same bf16 values within bf16 rounding, in value, both
gradients and a gradient of a gradient; used only where oneDNN's ISA has
bf16 instructions, with XLA and a one-line reason elsewhere.

Tests marked ``needs_bf16`` skip (saying why) on CPUs without AVX512-BF16
or AMX; the detection and fallback tests run everywhere."""

import logging
import os
import re
import subprocess
import sys

import flax.linen as nn
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
BF16 = jnp.bfloat16
needs_bf16 = pytest.mark.skipif(
    not onednn.bf16_available(),
    reason=f"oneDNN bf16 convolutions unavailable here: {onednn.bf16_why()}")
# bf16 keeps 8 significant bits: one rounding of a result is <= 2**-9
# relative. Errors are measured against the largest reference value; the
# passes round their output (and the cotangent) once or twice.
TOL = 1e-2


def _rounded(*arrays):
  """The arrays rounded to bf16 and back: the float32 reference then sees
  exactly the values the bf16 path computes with."""
  return [a.astype(BF16).astype(jnp.float32) for a in arrays]


def _max_rel(a, b):
  return max(float(jnp.max(jnp.abs(x.astype(jnp.float32) - y)) /
                   jnp.maximum(1e-6, jnp.max(jnp.abs(y))))
             for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def _passes(f, x, w, c):
  """f(x, w) and its gradients at cotangent c: the three oneDNN passes."""
  y, vjp = jax.vjp(f, x, w)
  return (y,) + vjp(c.astype(y.dtype))


def _targets(hlo):
  """The oneDNN FFI targets a lowered program calls."""
  return set(re.findall(r"sigjax_onednn_conv_\w+", hlo))


def _data(xs, ws, cs, seed=0):
  k = jax.random.split(jax.random.PRNGKey(seed), 3)
  return _rounded(jax.random.normal(k[0], xs), jax.random.normal(k[1], ws),
                  jax.random.normal(k[2], cs))


# ---------------------------------------------------------------------------
# Detection and fallback: everywhere.

def test_isa_mask():
  """Every oneDNN ISA with bf16 instructions holds avx512_core_bf16's bits
  (dnnl_cpu_isa_t values from oneDNN's dnnl_types.h)."""
  for isa in (0xE7, 0x1EF, 0xFEF, 0x1FEF):  # bf16, fp16, amx, amx_fp16
    assert onednn._isa_has_bf16(isa)
  for isa in (-1, 0x0, 0x1, 0x7, 0xF, 0x1F, 0x27, 0x67):  # ... avx512_vnni
    assert not onednn._isa_has_bf16(isa)


@pytest.fixture
def no_bf16_isa(monkeypatch):
  """oneDNN reporting avx512_core (0x27: AVX-512 without bf16)."""
  if onednn.available():
    monkeypatch.setitem(onednn._state, "isa", 0x27)
  monkeypatch.setitem(onednn._state, "bf16", None)
  monkeypatch.setitem(onednn._state, "bf16_why", "")


def test_without_bf16_isa_bf16_convs_use_xla_with_a_reason(no_bf16_isa,
                                                           caplog):
  assert not onednn.bf16_available()
  reason = onednn.bf16_why()
  assert reason and "\n" not in reason
  if onednn.available():
    assert "0x27" in reason and "avx512_core_bf16" in reason
  x = jnp.ones((2, 6, 6, 3), BF16)
  w = jnp.ones((3, 3, 3, 4), BF16)
  dn = lax.conv_dimension_numbers(x.shape, w.shape, DN)
  hook = jax.jit(jax.grad(lambda x, w: jnp.sum(
      layers.onednn_conv_general_dilated(x, w, (1, 1), "SAME",
                                         dimension_numbers=dn)
  ).astype(jnp.float32), (0, 1)))
  assert not _targets(hook.lower(x, w).as_text())
  ct = layers.ConvTranspose(4, (5, 5), (2, 2), impl="onednn", dtype=BF16,
                            promote_dtype=layers.promote_for(BF16))
  v = ct.init(jax.random.PRNGKey(0), x)
  assert not _targets(jax.jit(ct.apply).lower(v, x).as_text())
  config = cgan_config.get_config("test")
  config.model.dtype = "bfloat16"
  with caplog.at_level(logging.WARNING):
    assert cgan.resolve_conv_impls(config) == ("phase", "xla")
  assert reason in caplog.text
  if onednn.available():
    # float32 is unaffected; a direct bf16 call computes in float32.
    config.model.dtype = "float32"
    assert cgan.resolve_conv_impls(config) == ("onednn", "onednn")
    hlo = jax.jit(lambda x, w: onednn.conv(x, w, (1, 1), "SAME")).lower(
        x, w).as_text()
    assert _targets(hlo) == {"sigjax_onednn_conv_fwd"}


def test_max_cpu_isa_below_bf16_is_detected():
  """oneDNN's own ISA cap (ONEDNN_MAX_CPU_ISA) below bf16: a real
  process reports bf16 unavailable, with the ISA in the reason."""
  if not onednn.available():
    pytest.skip(f"oneDNN unavailable: {onednn.why()}")
  env = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX512_CORE",
             JAX_PLATFORMS="cpu")
  code = ("from sigjax.ops import onednn; "
          "print(onednn.available(), onednn.bf16_available(), "
          "hex(onednn.cpu_isa()), onednn.bf16_why(), sep='|')")
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  r = subprocess.run([sys.executable, "-c", code], cwd=root, env=env,
                     capture_output=True, text=True, check=True, timeout=120)
  ok, bf16, isa, reason = r.stdout.strip().splitlines()[-1].split("|")
  assert (ok, bf16) == ("True", "False")
  assert int(isa, 16) & 0xE7 != 0xE7 and isa in reason


def test_float32_path_keeps_its_handlers():
  """float32 operands run the three float32 handlers, on float32 buffers,
  exactly as before the bf16 handlers existed (the float32 numbers are
  pinned bitwise by tests/test_eval_reference.py)."""
  if not onednn.available():
    pytest.skip(f"oneDNN unavailable: {onednn.why()}")
  x, w, c = _data((2, 8, 9, 3), (5, 5, 3, 4), (2, 4, 5, 4))
  f = lambda x, w: onednn.conv(x, w, (2, 2), "SAME")
  prog = jax.jit(lambda x, w, c: _passes(f, x, w, c))
  assert _targets(prog.lower(x, w, c).as_text()) == {
      "sigjax_onednn_conv_fwd", "sigjax_onednn_conv_bwd_data",
      "sigjax_onednn_conv_bwd_wts"}
  got = prog(x, w, c)
  assert all(a.dtype == jnp.float32 for a in got)
  pads = lax.padtype_to_pads((8, 9), (5, 5), (2, 2), "SAME")
  _, geom = onednn._geometry((8, 9), (5, 5), (2, 2), pads)
  raw = lambda t, shape, a, b: jax.jit(lambda a, b: jax.ffi.ffi_call(
      t, jax.ShapeDtypeStruct(shape, jnp.float32))(
          a, b, **onednn._attrs(*geom)))(a, b)
  want = (raw("sigjax_onednn_conv_fwd", (2, 4, 5, 4), x, w),
          raw("sigjax_onednn_conv_bwd_data", x.shape, c, w),
          raw("sigjax_onednn_conv_bwd_wts", w.shape, x, c))
  for a, b in zip(got, want):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ---------------------------------------------------------------------------
# The bf16 handlers: where oneDNN has bf16 instructions.

def _assert_bf16_passes(fast, ref, x, w, c):
  """``fast``'s three passes on bf16 operands call only the bf16 handlers,
  return cotangents as their primals (bf16) and match ``ref`` in float32
  on the same rounded values within TOL."""
  prog = jax.jit(lambda x, w, c: _passes(fast, x, w, c))
  xb, wb = x.astype(BF16), w.astype(BF16)
  assert _targets(prog.lower(xb, wb, c).as_text()) == {
      "sigjax_onednn_conv_fwd_bf16", "sigjax_onednn_conv_bwd_data_bf16",
      "sigjax_onednn_conv_bwd_wts_bf16"}
  got = prog(xb, wb, c)
  assert [a.dtype for a in got] == [BF16] * 3  # cotangents as their primals
  want = _passes(ref, x, w, c)
  for name, a, b in zip(("forward", "input grad", "kernel grad"), got, want):
    assert _max_rel(a, b) < TOL, name


@needs_bf16
@pytest.mark.parametrize("kernel,stride,size,cin,cout,padding", [
    (5, 2, 8, 3, 16, "SAME"), (3, 1, 7, 16, 8, "SAME"),
    (3, 1, 8, 1, 8, "SAME"),  # D's first layer: one input channel
    (3, 2, 9, 8, 4, ((2, 0), (1, 1)))])
def test_bf16_conv_passes_equal_float32(kernel, stride, size, cin, cout,
                                        padding):
  s = (stride, stride)
  ref = lambda x, w: lax.conv_general_dilated(x, w, s, padding,
                                              dimension_numbers=DN)
  fast = lambda x, w: onednn.conv(x, w, s, padding)
  oh, ow = jax.eval_shape(ref, jnp.zeros((2, size, size + 1, cin)),
                          jnp.zeros((kernel, kernel, cin, cout))).shape[1:3]
  x, w, c = _data((2, size, size + 1, cin), (kernel, kernel, cin, cout),
                  (2, oh, ow, cout))
  _assert_bf16_passes(fast, ref, x, w, c)


@needs_bf16
@pytest.mark.parametrize("kernel,stride,size,out", [
    (5, 2, 8, 16), (4, 2, 5, 8),
    (5, 1, 6, 1)])  # G's last layer (float32 runs its forward on XLA)
def test_bf16_conv_transpose_passes_equal_float32(kernel, stride, size, out):
  s = (stride, stride)
  ref = lambda x, w: lax.conv_transpose(x, w, s, "SAME", dimension_numbers=DN)
  fast = lambda x, w: onednn.conv_transpose(x, w, s)
  x, w, c = _data((2, size, size + 1, 8), (kernel, kernel, 8, out),
                  (2, size * stride, (size + 1) * stride, out))
  _assert_bf16_passes(fast, ref, x, w, c)


@needs_bf16
@pytest.mark.parametrize("transpose", [False, True])
def test_bf16_second_order_gradients(transpose):
  """R1's shape: d/dw and d/dx of ||d/dx f(x, w)||^2, all on oneDNN bf16."""
  x, w, _ = _data((2, 7, 8, 8), (5, 5, 8, 16), (1,))
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
      gx = jax.grad(lambda x: jnp.sum(f(x, w).astype(jnp.float32) ** 2 / 2)
                    )(x)
      return jnp.sum(gx.astype(jnp.float32) ** 2)
    return p
  prog = jax.jit(jax.grad(penalty(fast), (0, 1)))
  xb, wb = x.astype(BF16), w.astype(BF16)
  targets = _targets(prog.lower(xb, wb).as_text())
  assert targets and all(t.endswith("_bf16") for t in targets)
  got = prog(xb, wb)
  want = jax.grad(penalty(ref), (0, 1))(x, w)
  assert _max_rel(got, want) < 3 * TOL  # a few more roundings in a row


@needs_bf16
def test_bf16_under_vmap_equals_one_call_per_element():
  """Several seeds in one program (jax.vmap): each element is the call a
  single run makes, bitwise."""
  x, w, c = _data((3, 2, 8, 8, 4), (3, 3, 3, 4, 8), (3, 2, 8, 8, 8))
  x, w, c = (a.astype(BF16) for a in (x, w, c))
  f = lambda x, w, c: _passes(lambda x, w: onednn.conv(x, w, (1, 1), "SAME"),
                              x, w, c)
  prog = jax.jit(jax.vmap(f))
  assert "sigjax_onednn_conv_fwd_bf16" in prog.lower(x, w, c).as_text()
  got = prog(x, w, c)
  one = jax.jit(f)
  for i in range(3):
    for a, b in zip(got, one(x[i], w[i], c[i])):
      np.testing.assert_array_equal(np.asarray(a[i]), np.asarray(b))


@needs_bf16
def test_bf16_layers_route_to_onednn():
  """nn.Conv's hook and ConvTranspose(impl='onednn') in bf16 (bias kept in
  float32 by layers.promote_for) run oneDNN's bf16 handlers, close to
  float32."""
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 4))
  mods = {
      "conv": lambda dt, impl: nn.Conv(
          8, (3, 3), (2, 2), padding="SAME", dtype=dt,
          promote_dtype=layers.promote_for(dt),
          conv_general_dilated=(layers.onednn_conv_general_dilated
                                if impl == "onednn" else None)),
      "conv_transpose": lambda dt, impl: layers.ConvTranspose(
          8, (5, 5), (2, 2), impl=impl, dtype=dt,
          promote_dtype=layers.promote_for(dt))}
  for name, make in mods.items():
    v = make(jnp.float32, "phase").init(jax.random.PRNGKey(1), x)
    loss = lambda m: jax.jit(jax.value_and_grad(
        lambda v, x: jnp.sum(jnp.sin(m.apply(v, x).astype(jnp.float32))),
        (0, 1)))
    prog = loss(make(BF16, "onednn"))
    targets = _targets(prog.lower(v, x).as_text())
    assert len(targets) == 3 and all(t.endswith("_bf16") for t in targets), (
        name, targets)
    (l16, g16), (l32, g32) = prog(v, x), loss(make(jnp.float32, "phase"))(v, x)
    assert abs(float(l16) - float(l32)) < 0.05 * (1 + abs(float(l32))), name
    assert _max_rel(g16, g32) < 0.05, name


@needs_bf16
def test_bf16_train_step_uses_bf16_handlers_only():
  """The test preset in bf16 with 'auto' lowerings: every oneDNN call of
  the train step (D with R1, G) is a bf16 handler."""
  config = cgan_config.get_config("test")
  config.model.dtype = "bfloat16"
  assert cgan.resolve_conv_impls(config) == ("onednn", "onednn")
  n, size = config.train.batch_size, config.data.image_size
  images = jnp.zeros((n, size, size, 1), jnp.float32)
  labels = jnp.zeros((n,), jnp.int32)
  step = jax.jit(train_lib.make_train_step(config, 10))
  targets = _targets(step.lower(train_lib.create_state(config, 10), images,
                                labels).as_text())
  assert targets == {"sigjax_onednn_conv_fwd_bf16",
                     "sigjax_onednn_conv_bwd_data_bf16",
                     "sigjax_onednn_conv_bwd_wts_bf16"}
