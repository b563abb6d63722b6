"""Layers reformulated to run fast on XLA:CPU, exactly equal to flax's.

``ConvTranspose(impl="subpixel")`` computes ``flax.linen.ConvTranspose``
('SAME' padding, ``transpose_kernel=False``, kernel (kh, kw, in, out)) as ONE
stride-1 convolution of the *undilated* input producing s*s*out channels,
followed by depth-to-space. Every output pixel of a stride-s transposed
convolution sees only the kernel taps whose position matches its phase
(y[s*m + r] = sum_d x[m + d] K[s*d - r + pad]), so each phase is a small
dense convolution; the s*s phase kernels are gathered from the one stored
kernel, which keeps the parameter layout (and checkpoints) of flax's layer.
XLA:CPU runs the dense stride-1 forward and backward passes far faster than
the lhs-dilated convolution ``lax.conv_transpose`` lowers to.
"""

from functools import partial
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax
import numpy as np

from sigjax.ops import onednn
# The transposed conv's geometry lives below both this module and the oneDNN
# ops; imported here under its old names.
from sigjax.ops.geometry import _same_pad_before
from sigjax.ops.geometry import adjoint_conv_pads
from sigjax.ops.geometry import flip_io


def phase_taps(k: int, s: int):
  """Per-axis tap table of the sub-pixel form.

  Returns (offsets, table): ``offsets`` are the input offsets d (a contiguous
  range) and ``table[r, j]`` is the kernel tap t used by output phase r at
  input offset offsets[j], or -1 where that phase uses no tap.
  """
  pad = _same_pad_before(k, s)
  pairs = [(r, (r + t - pad) // s, t) for r in range(s) for t in range(k)
           if (r + t - pad) % s == 0]
  dmin = min(d for _, d, _ in pairs)
  dmax = max(d for _, d, _ in pairs)
  offsets = np.arange(dmin, dmax + 1)
  table = -np.ones((s, len(offsets)), np.int32)
  for r, d, t in pairs:
    table[r, d - dmin] = t
  return offsets, table


def subpixel_kernel(kernel: jax.Array, strides: Sequence[int]) -> jax.Array:
  """(kh, kw, in, out) -> (dh, dw, in, sh*sw*out) stride-1 phase kernel."""
  kh, kw, cin, cout = kernel.shape
  sh, sw = strides
  _, th = phase_taps(kh, sh)
  _, tw = phase_taps(kw, sw)
  # Index the kernel with a zero row/column appended at index k for "no tap".
  padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
  ih = np.where(th < 0, kh, th)  # (sh, dh)
  iw = np.where(tw < 0, kw, tw)  # (sw, dw)
  # g[rh, dh, rw, dw, in, out]
  g = padded[ih[:, :, None, None], iw[None, None, :, :]]
  g = jnp.transpose(g, (1, 3, 4, 0, 2, 5))  # (dh, dw, in, rh, rw, out)
  return g.reshape(th.shape[1], tw.shape[1], cin, sh * sw * cout)


def conv_rows(x, w, padding, precision=None):
  """Stride-1 conv (NHWC x HWIO, explicit padding) as kh matmuls.

  For every kernel row i, the padded input's rows i..i+H-1 are unrolled along
  the width into (B*H*W, kw*in) patches and multiplied by w[i] (kw*in, out);
  the kh products are summed. Autodiff turns each product into two more
  matmuls (dy @ w[i]^T, then col2im by pad-and-add; patches^T @ dy for the
  kernel gradient), so all three passes run as large matrix products, which
  XLA:CPU executes several times faster than the kernel-gradient convolution
  of a wide (out >= 128) stride-1 conv.
  """
  kh, kw, cin, cout = w.shape
  (ph0, ph1), (pw0, pw1) = padding
  xp = jnp.pad(x, ((0, 0), (ph0, ph1), (pw0, pw1), (0, 0)))
  b = x.shape[0]
  oh, ow = xp.shape[1] - kh + 1, xp.shape[2] - kw + 1
  # (B, H+kh-1, OW, kw, in): the width-unrolled rows, shared by all kh taps.
  cols = jnp.stack([xp[:, :, j:j + ow, :] for j in range(kw)], axis=3)
  y = None
  for i in range(kh):
    p = cols[:, i:i + oh].reshape(b * oh * ow, kw * cin)
    t = jnp.dot(p, w[i].reshape(kw * cin, cout), precision=precision)
    y = t if y is None else y + t
  return y.reshape(b, oh, ow, cout)


ROWS_MIN_OUT = 128


def _conv_s1_xla(x, w, pads, precision):
  return lax.conv_general_dilated(
      x, w, (1, 1), pads, dimension_numbers=("NHWC", "HWIO", "NHWC"),
      precision=precision)


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_s1(x, w, pads, precision):
  return _conv_s1_xla(x, w, pads, precision)


def _conv_s1_fwd(x, w, pads, precision):
  return _conv_s1_xla(x, w, pads, precision), (x, w)


def _conv_s1_bwd(pads, precision, res, dy):
  x, w = res
  dx = jax.vjp(lambda x: _conv_s1_xla(x, w, pads, precision), x)[1](dy)[0]
  if w.shape[-1] >= ROWS_MIN_OUT:
    dw = jax.vjp(lambda w: conv_rows(x, w, pads, precision), w)[1](dy)[0]
  else:
    dw = jax.vjp(lambda w: _conv_s1_xla(x, w, pads, precision), w)[1](dy)[0]
  return dx, dw


_conv_s1.defvjp(_conv_s1_fwd, _conv_s1_bwd)


def conv_transpose_subpixel(x, kernel, strides, precision=None, s1="auto"):
  """Exact 'SAME' ``lax.conv_transpose`` (transpose_kernel=False), fast.

  ``s1`` lowers the inner stride-1 conv: 'xla' (``lax.conv_general_dilated``
  in every pass), 'rows' (``conv_rows``: matmuls in every pass) or 'auto'
  (XLA's forward and input gradient, ``conv_rows``' matmul kernel gradient
  when the conv has >= ``ROWS_MIN_OUT`` output channels: measured fastest).
  """
  kh, kw, _, cout = kernel.shape
  sh, sw = strides
  oh, _ = phase_taps(kh, sh)
  ow, _ = phase_taps(kw, sw)
  w = subpixel_kernel(kernel, strides)
  pads = [(-int(oh[0]), int(oh[-1])), (-int(ow[0]), int(ow[-1]))]
  if s1 == "rows":
    y = conv_rows(x, w, pads, precision)
  elif s1 == "auto":
    y = _conv_s1(x, w, tuple(pads), precision)
  else:
    y = lax.conv_general_dilated(
        x, w, (1, 1), pads,
        dimension_numbers=("NHWC", "HWIO", "NHWC"), precision=precision)
  b, h, wd, _ = y.shape
  if sh == sw == 1:
    return y
  y = y.reshape(b, h, wd, sh, sw, cout).transpose(0, 1, 3, 2, 4, 5)
  return y.reshape(b, h * sh, wd * sw, cout)


# ---------------------------------------------------------------------------
# The phase form: every pass with useful taps only.

_DN = ("NHWC", "HWIO", "NHWC")


def _conv_transpose_lax(x, kernel, strides, precision):
  return lax.conv_transpose(x, kernel, strides, "SAME", dimension_numbers=_DN,
                            transpose_kernel=False, precision=precision)


def _phase_forward(x, kernel, strides, precision):
  """The s*s output phases as separate stride-1 convs, interleaved.

  Phase (rh, rw) of the output uses only the taps whose position matches it
  (``phase_taps``), e.g. 3x3, 3x2, 2x3 and 2x2 taps for k=5, s=2: 25 taps in
  all, where the one wide sub-pixel conv computes 36 (its zero taps).
  """
  kh, kw, _, cout = kernel.shape
  sh, sw = strides
  b, h, w, _ = x.shape
  oh, th = phase_taps(kh, sh)
  ow, tw = phase_taps(kw, sw)
  rows = []
  for rh in range(sh):
    jh = np.nonzero(th[rh] >= 0)[0]
    cols = []
    for rw in range(sw):
      jw = np.nonzero(tw[rw] >= 0)[0]
      if not len(jh) or not len(jw):  # a phase no tap reaches (s > k)
        cols.append(jnp.zeros((b, h, w, cout), x.dtype))
        continue
      k = kernel[th[rh, jh][:, None], tw[rw, jw][None, :]]
      pads = [(-int(oh[jh[0]]), int(oh[jh[-1]])),
              (-int(ow[jw[0]]), int(ow[jw[-1]]))]
      cols.append(lax.conv_general_dilated(
          x, k, (1, 1), pads, dimension_numbers=_DN, precision=precision))
    rows.append(jnp.stack(cols, axis=3))  # (B, H, W, sw, C)
  y = jnp.stack(rows, axis=2)  # (B, H, sh, W, sw, C)
  return y.reshape(b, h * sh, w * sw, cout)


def _phase_kernel_grad(x, dy, kernel_shape, strides, precision):
  """d(loss)/d(kernel) of the 'SAME' transposed conv, as a strided conv's.

  With y = conv_transpose(x, K), dK[t] = sum_m x[m] dy[s*m - t + p]: the
  kernel gradient of the stride-s conv z = conv(dy, G) (``adjoint_conv_pads``,
  output the size of x) at cotangent x, with G = flip_io(K). XLA runs that
  (useful taps only) faster than the sub-pixel form's wide stride-1 kernel
  gradient.
  """
  kh, kw, cin, cout = kernel_shape
  pads = adjoint_conv_pads(x.shape[1:3], (kh, kw), strides)
  g0 = jnp.zeros((kh, kw, cout, cin), dy.dtype)
  dg = jax.vjp(lambda g: lax.conv_general_dilated(
      dy, g, strides, pads, dimension_numbers=_DN, precision=precision),
               g0)[1](x.astype(dy.dtype))[0]
  return flip_io(dg)


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _ct_phase(x, kernel, strides, precision):
  return _phase_forward(x, kernel, strides, precision)


def _ct_phase_fwd(x, kernel, strides, precision):
  return _phase_forward(x, kernel, strides, precision), (x, kernel)


def _ct_phase_bwd(strides, precision, res, dy):
  x, kernel = res
  # The input gradient of a transposed conv is a strided conv of dy: what
  # autodiff of lax.conv_transpose lowers to (useful taps only).
  dx = jax.vjp(lambda x: _conv_transpose_lax(x, kernel, strides, precision),
               x)[1](dy)[0]
  dk = _phase_kernel_grad(x, dy, kernel.shape, strides, precision)
  return dx.astype(x.dtype), dk.astype(kernel.dtype)


_ct_phase.defvjp(_ct_phase_fwd, _ct_phase_bwd)


def conv_transpose_phase(x, kernel, strides, precision=None):
  """Exact 'SAME' ``lax.conv_transpose`` (transpose_kernel=False), fastest.

  Stride 1: one XLA convolution (with the kernel as given). Stride > 1
  (``jax.custom_vjp``): forward = the s*s phase convs (``_phase_forward``),
  input gradient = the strided conv of dy, kernel gradient = a strided
  conv's kernel gradient (``_phase_kernel_grad``); every pass computes the
  useful taps only. Measured per pass in BUILD_NOTES.md (Performance).
  """
  strides = tuple(strides)
  if all(s == 1 for s in strides):
    return conv_transpose_subpixel(x, kernel, strides, precision, s1="xla")
  return _ct_phase(x, kernel, strides, precision)


class ConvTranspose(nn.Module):
  """``flax.linen.ConvTranspose`` ('SAME', 2-D) with a choice of lowering.

  impl='flax': ``lax.conv_transpose`` exactly as flax calls it (reference);
  impl='onednn': ``sigjax.ops.onednn.conv_transpose`` (oneDNN primitives
  in every pass; float32 on CPU, and bfloat16 where oneDNN has bf16
  instructions, ``onednn.bf16_available()``; otherwise 'phase');
  impl='phase': ``conv_transpose_phase``, useful taps only in every pass; impl='subpixel': the one-wide-conv sub-pixel form, with the
  matmul kernel gradient of ``conv_rows`` for wide convs (s1='auto');
  impl='subpixel_xla': the same with XLA's convolutions in every pass. Same
  params, same output.
  """
  features: int
  kernel_size: Sequence[int]
  strides: Sequence[int] = (1, 1)
  padding: str = "SAME"
  impl: str = "phase"
  use_bias: bool = True
  kernel_init: Callable[..., Any] = nn.initializers.lecun_normal()
  bias_init: Callable[..., Any] = nn.initializers.zeros_init()
  dtype: Any = None
  param_dtype: Any = jnp.float32
  promote_dtype: Callable[..., Any] = nn.dtypes.promote_dtype
  precision: Any = None

  @nn.compact
  def __call__(self, x):
    if self.padding != "SAME":
      raise ValueError(f"ConvTranspose: only padding='SAME' is supported, got "
                       f"{self.padding!r}")
    kernel = self.param("kernel", self.kernel_init,
                        tuple(self.kernel_size) + (x.shape[-1], self.features),
                        self.param_dtype)
    bias = (self.param("bias", self.bias_init, (self.features,),
                       self.param_dtype) if self.use_bias else None)
    x, kernel, bias = self.promote_dtype(x, kernel, bias, dtype=self.dtype)
    strides = tuple(self.strides)
    if self.impl == "flax":
      y = lax.conv_transpose(x, kernel, strides, "SAME",
                             dimension_numbers=("NHWC", "HWIO", "NHWC"),
                             transpose_kernel=False, precision=self.precision)
    elif self.impl == "phase":
      y = conv_transpose_phase(x, kernel, strides, self.precision)
    elif self.impl == "onednn":
      if onednn_supports(x, kernel):
        y = onednn.conv_transpose(x, kernel, strides)
      else:  # another dtype, or bf16 without bf16 instructions
        y = conv_transpose_phase(x, kernel, strides, self.precision)
    elif self.impl in ("subpixel", "subpixel_xla"):
      y = conv_transpose_subpixel(
          x, kernel, strides, self.precision,
          s1="auto" if self.impl == "subpixel" else "xla")
    else:
      raise ValueError(f"model.conv_transpose must be 'auto', 'onednn', "
                       f"'phase', 'flax', 'subpixel' or 'subpixel_xla', got "
                       f"{self.impl!r}")
    if bias is not None:
      y = y + bias
    return y


# ---------------------------------------------------------------------------
# Convolution ('SAME', 2-D, NHWC/HWIO) with a choice of lowering.

CONV_IMPLS = ("xla", "phase", "im2col")


def _same_pads(n: int, k: int, s: int):
  out = -(-n // s)
  total = max((out - 1) * s + k - n, 0)
  return out, (total // 2, total - total // 2)


def _shifted(x, kernel_shape, strides):
  """Yields ((th, tw), strided window of padded x) for every kernel tap."""
  kh, kw = kernel_shape
  sh, sw = strides
  _, h, w, _ = x.shape
  oh, ph = _same_pads(h, kh, sh)
  ow, pw = _same_pads(w, kw, sw)
  xp = jnp.pad(x, ((0, 0), ph, pw, (0, 0)))
  for th in range(kh):
    for tw in range(kw):
      yield (th, tw), lax.slice(
          xp, (0, th, tw, 0),
          (xp.shape[0], th + sh * (oh - 1) + 1, tw + sw * (ow - 1) + 1,
           xp.shape[3]), (1, sh, sw, 1))


def conv2d(x, kernel, strides=(1, 1), impl="xla", precision=None):
  """'SAME' 2-D convolution, NHWC x HWIO -> NHWC (what ``nn.Conv`` computes).

  impl='xla': ``lax.conv_general_dilated`` (flax's lowering, the reference);
  impl='phase': XLA's forward, with the backward passes of a strided conv
  rewritten as stride-1 convolutions (``jax.custom_vjp``): the input
  gradient is a transposed conv, computed like ``ConvTranspose`` above as one
  stride-1 conv of dy producing s*s*in channels + depth-to-space; the kernel
  gradient is XLA's. Stride 1 = 'xla'.
  impl='im2col': explicit patches (strided slices of the padded input) times
  the (kh*kw*in, out) kernel as ONE matmul; autodiff turns it into two more
  matmuls plus a pad-and-add of the patches (col2im), all of which XLA:CPU
  runs far faster than the backward convolutions of a strided conv;
  """
  strides = tuple(strides)
  kh, kw, cin, cout = kernel.shape
  if impl == "xla":
    return lax.conv_general_dilated(
        x, kernel, strides, "SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"), precision=precision)
  if impl == "phase":
    if strides == (1, 1):
      return conv2d(x, kernel, strides, "xla", precision)
    return _phase_conv(x, kernel, strides, precision)
  if impl == "im2col":
    cols = [win for _, win in _shifted(x, (kh, kw), strides)]
    b, oh, ow, _ = cols[0].shape
    patches = jnp.stack(cols, axis=3).reshape(b * oh * ow, kh * kw * cin)
    y = jnp.dot(patches, kernel.reshape(kh * kw * cin, cout),
                precision=precision)
    return y.reshape(b, oh, ow, cout)
  raise ValueError(f"model.conv_impl must be one of {CONV_IMPLS}, got {impl!r}")


def _phase_tables(k: int, s: int):
  """Tap table of a stride-s, size-k conv's input gradient (one axis).

  With D = (k-1)//s, phase r in [0, s) and kernel index j in [0, D]: tap
  t = r + s*(D-j), or the zero slot k when t >= k.
  """
  d = (k - 1) // s
  t = np.array([[r + s * (d - j) for j in range(d + 1)] for r in range(s)])
  return d, np.where(t < k, t, k)


def _conv_bwd_input(dy, kernel, strides, in_hw, precision):
  kh, kw, cin, cout = kernel.shape
  (sh, sw), (n_h, n_w) = strides, in_hw
  b, o_h, o_w, _ = dy.shape
  dh, th = _phase_tables(kh, sh)
  dw, tw = _phase_tables(kw, sw)
  _, (pb_h, pa_h) = _same_pads(n_h, kh, sh)
  _, (pb_w, pa_w) = _same_pads(n_w, kw, sw)
  m_h = -(-(n_h + pb_h + pa_h) // sh)
  m_w = -(-(n_w + pb_w + pa_w) // sw)
  padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
  g = padded[th[:, :, None, None], tw[None, None, :, :]]  # (rh, jh, rw, jw, ci, co)
  w = jnp.transpose(g, (1, 3, 5, 0, 2, 4)).reshape(
      dh + 1, dw + 1, cout, sh * sw * cin)
  y = lax.conv_general_dilated(
      dy, w, (1, 1), [(dh, m_h - o_h), (dw, m_w - o_w)],
      dimension_numbers=("NHWC", "HWIO", "NHWC"), precision=precision)
  y = y.reshape(b, m_h, m_w, sh, sw, cin).transpose(0, 1, 3, 2, 4, 5)
  y = y.reshape(b, m_h * sh, m_w * sw, cin)
  return y[:, pb_h:pb_h + n_h, pb_w:pb_w + n_w]


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _phase_conv(x, kernel, strides, precision):
  return conv2d(x, kernel, strides, "xla", precision)


def _phase_conv_fwd(x, kernel, strides, precision):
  return _phase_conv(x, kernel, strides, precision), (x, kernel)


def _phase_conv_bwd(strides, precision, res, dy):
  x, kernel = res
  dx = _conv_bwd_input(dy, kernel, strides, x.shape[1:3], precision)
  dk = jax.vjp(lambda k: conv2d(x, k, strides, "xla", precision),
               kernel)[1](dy)[0]
  return dx.astype(x.dtype), dk.astype(kernel.dtype)


_phase_conv.defvjp(_phase_conv_fwd, _phase_conv_bwd)


_NHWC_HWIO = lax.ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))


def onednn_supports(lhs, rhs, preferred_element_type=None) -> bool:
  """Whether oneDNN computes a conv of these operands in their dtype: both
  float32, or both bfloat16 on a CPU whose oneDNN ISA has bf16
  (``onednn.bf16_available()``; else XLA's bf16 convs, reason in
  ``onednn.bf16_why()``)."""
  if lhs.dtype != rhs.dtype or preferred_element_type not in (None,
                                                              lhs.dtype):
    return False
  if lhs.dtype == jnp.float32:
    return True
  return lhs.dtype == jnp.bfloat16 and onednn.bf16_available()


def onednn_conv_general_dilated(lhs, rhs, window_strides, padding,
                                lhs_dilation=None, rhs_dilation=None,
                                dimension_numbers=None, feature_group_count=1,
                                batch_group_count=1, precision=None,
                                preferred_element_type=None):
  """Drop-in ``lax.conv_general_dilated`` for ``nn.Conv``: oneDNN for the
  plain 2-D NHWC/HWIO case in float32 (or bfloat16, ``onednn_supports``),
  ``lax`` for everything else."""
  dn = dimension_numbers
  if dn is not None and not isinstance(dn, lax.ConvDimensionNumbers):
    dn = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dn)
  plain = (lhs.ndim == 4 and dn == _NHWC_HWIO
           and all(d == 1 for d in (lhs_dilation or (1, 1)))
           and all(d == 1 for d in (rhs_dilation or (1, 1)))
           and feature_group_count == 1 and batch_group_count == 1
           and onednn_supports(lhs, rhs, preferred_element_type))
  if plain:
    return onednn.conv(lhs, rhs, window_strides, padding)
  return lax.conv_general_dilated(
      lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
      rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
      feature_group_count=feature_group_count,
      batch_group_count=batch_group_count, precision=precision,
      preferred_element_type=preferred_element_type)


def bias_in_float32(inputs, kernel, bias, dtype=None, inexact=True):
  """A flax ``promote_dtype`` for low-precision compute (bf16): the inputs
  and the kernel in ``dtype``, the bias kept in float32, so the layer adds
  it in float32 (its output is float32; the next layer casts its input).

  Why: JAX differentiates a broadcasting add by summing the cotangent over
  the broadcast axes in the add's dtype, so a bias added in bf16 gets its
  gradient summed in bf16 over batch x height x width (32768 terms in D's
  first layer at batch 32): 25% relative error on random data, against
  0.04% for a float32 sum of the same bf16 values
  (docs/performance_loop.md, "bf16").
  """
  inputs, kernel = nn.dtypes.promote_dtype(inputs, kernel, dtype=dtype,
                                           inexact=inexact)
  return inputs, kernel, (None if bias is None
                          else jnp.asarray(bias, jnp.float32))


def promote_for(dtype):
  """The ``promote_dtype`` of a layer computing in ``dtype``: flax's own
  for float32 (the float32 program is unchanged), ``bias_in_float32``
  otherwise."""
  if dtype is None or jnp.dtype(dtype) == jnp.float32:
    return nn.dtypes.promote_dtype
  return bias_in_float32
