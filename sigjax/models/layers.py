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

from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax
import numpy as np


def _same_pad_before(k: int, s: int) -> int:
  """Left padding ``lax.conv_transpose`` uses for 'SAME' (its own rule)."""
  pad_len = k + s - 2
  return k - 1 if s > k - 1 else int(np.ceil(pad_len / 2))


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


def conv_transpose_subpixel(x, kernel, strides, precision=None):
  """Exact 'SAME' ``lax.conv_transpose`` (transpose_kernel=False), fast."""
  kh, kw, _, cout = kernel.shape
  sh, sw = strides
  oh, _ = phase_taps(kh, sh)
  ow, _ = phase_taps(kw, sw)
  w = subpixel_kernel(kernel, strides)
  y = lax.conv_general_dilated(
      x, w, (1, 1), [(-int(oh[0]), int(oh[-1])), (-int(ow[0]), int(ow[-1]))],
      dimension_numbers=("NHWC", "HWIO", "NHWC"), precision=precision)
  b, h, wd, _ = y.shape
  if sh == sw == 1:
    return y
  y = y.reshape(b, h, wd, sh, sw, cout).transpose(0, 1, 3, 2, 4, 5)
  return y.reshape(b, h * sh, wd * sw, cout)


class ConvTranspose(nn.Module):
  """``flax.linen.ConvTranspose`` ('SAME', 2-D) with a choice of lowering.

  impl='flax': ``lax.conv_transpose`` exactly as flax calls it (reference);
  impl='subpixel': the phase-decomposed form above. Same params, same output.
  """
  features: int
  kernel_size: Sequence[int]
  strides: Sequence[int] = (1, 1)
  padding: str = "SAME"
  impl: str = "subpixel"
  use_bias: bool = True
  kernel_init: Callable[..., Any] = nn.initializers.lecun_normal()
  bias_init: Callable[..., Any] = nn.initializers.zeros_init()
  dtype: Any = None
  param_dtype: Any = jnp.float32
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
    x, kernel, bias = nn.dtypes.promote_dtype(x, kernel, bias,
                                              dtype=self.dtype)
    strides = tuple(self.strides)
    if self.impl == "flax":
      y = lax.conv_transpose(x, kernel, strides, "SAME",
                             dimension_numbers=("NHWC", "HWIO", "NHWC"),
                             transpose_kernel=False, precision=self.precision)
    elif self.impl == "subpixel":
      y = conv_transpose_subpixel(x, kernel, strides, self.precision)
    else:
      raise ValueError(f"model.conv_transpose must be 'flax' or 'subpixel', "
                       f"got {self.impl!r}")
    if bias is not None:
      y = y + bias
    return y
