"""Geometry of the 'SAME' transposed convolution, shared by the layers that
lower it (``sigjax.models.layers``) and the oneDNN ops (``sigjax.ops.onednn``).

It lives here, below both, so imports run one way (models -> ops); the names
stay importable from ``sigjax.models.layers``.
"""

import jax.numpy as jnp
import numpy as np


def _same_pad_before(k: int, s: int) -> int:
  """Left padding ``lax.conv_transpose`` uses for 'SAME' (its own rule)."""
  pad_len = k + s - 2
  return k - 1 if s > k - 1 else int(np.ceil(pad_len / 2))


def flip_io(kernel):
  """K (kh, kw, in, out) <-> G (kh, kw, out, in), taps reversed."""
  return jnp.flip(kernel, (0, 1)).transpose(0, 1, 3, 2)


def adjoint_conv_pads(x_hw, k_hw, strides):
  """Padding of the stride-s conv z = conv(y, flip_io(K)) whose adjoint is
  the 'SAME' transposed conv y = conv_transpose(x, K) (y is s times x's size;
  z has x's size): low k - 1 - p, high what makes z exactly x's size."""
  pads = []
  for n, k, s in zip(x_hw, k_hw, strides):
    q = k - 1 - _same_pad_before(k, s)
    pads.append((q, s * (n - 1) + k - n * s - q))
  return tuple(pads)
