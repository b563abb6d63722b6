"""Winograd F(m x m, r x r) stride-1 convolution, written for XLA:CPU.

A stride-1 r x r convolution of many channels is computed on tiles: every
(m + r - 1)^2 input tile d is transformed (V = B^T d B, per channel), every
kernel slice g (U = G g G^T, per channel pair), and the (m + r - 1)^2
transformed positions become independent matrix products over channels,
M[p] = V[p] @ U[p] ((tiles, in) x (in, out)); the output tile is A^T M A.
That replaces r^2 * m^2 multiplies per output tile by (m + r - 1)^2, e.g.
2.25x fewer for F(2x2, 3x3), 2.8x for F(2x2, 5x5), and the products are the
large matmuls XLA:CPU runs near its peak, where its own convolutions of
these shapes run at a third to a half of it.

Everything is written with jnp ops, so autodiff gives the backward passes in
the Winograd domain too: the input gradient is V's adjoint of
dM @ U^T and the kernel gradient G^T (V^T @ dM) G, again batched matmuls.
The transforms are sums of strided slices with constant coefficients (no
small matmuls), which XLA fuses into elementwise loops.

The transform matrices are built by Cook-Toom interpolation at the given
points (plus the point at infinity); B^T is solved from the defining
identity so that any point set works. fp32 error grows with m + r (the
matrices' entries grow); the forms used here are checked against
``lax.conv_general_dilated`` in tests/test_layers.py.
"""

from functools import lru_cache
from typing import Optional, Sequence

import jax.numpy as jnp
from jax import lax
import numpy as np

DEFAULT_POINTS = {
    # n = m + r - 1 interpolation points, the last one is infinity.
    2: (0.0, 1.0, -1.0),                               # m + r - 1 = 4
    3: (0.0, 1.0, -1.0, 0.5),                          # 5
    4: (0.0, 1.0, -1.0, 2.0, -2.0),                    # 6
    5: (0.0, 1.0, -1.0, 2.0, -2.0, 0.5),               # 7
    6: (0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5),         # 8
}


@lru_cache(maxsize=None)
def matrices(m: int, r: int, points: Optional[Sequence[float]] = None):
  """(A^T (m, n), G (n, r), B^T (n, n)) of Winograd F(m, r), float64.

  1-D correlation y[i] = sum_k d[i + k] g[k], i < m, equals
  A^T [(G g) * (B^T d)].
  """
  n = m + r - 1
  pts = tuple(points) if points is not None else DEFAULT_POINTS[n - 2]
  if len(pts) != n - 1:
    raise ValueError(f"F({m},{r}) needs {n - 1} finite points, got {pts}")
  p = np.asarray(pts, np.float64)
  at = np.zeros((m, n))
  at[:, :n - 1] = p[None, :] ** np.arange(m)[:, None]
  at[m - 1, n - 1] = 1.0
  f = np.array([np.prod([p[j] - p[l] for l in range(n - 1) if l != j])
                for j in range(n - 1)])
  g = np.zeros((n, r))
  g[:n - 1] = p[:, None] ** np.arange(r)[None, :] / f[:, None]
  g[n - 1, r - 1] = 1.0
  # Solve B^T from sum_t AT[i,t] G[t,k] BT[t,j] = [j == i + k].
  c = np.einsum("it,tk->ikt", at, g).reshape(m * r, n)
  rhs = np.zeros((m * r, n))
  for i in range(m):
    for k in range(r):
      rhs[i * r + k, i + k] = 1.0
  bt, *_ = np.linalg.lstsq(c, rhs, rcond=None)
  if not np.allclose(c @ bt, rhs, atol=1e-9):
    raise ValueError(f"points {pts} give no Winograd F({m},{r})")
  bt[np.abs(bt) < 1e-12] = 0.0
  return at, g, bt


def _combine(mat, parts):
  """[sum_j mat[i, j] * parts[j] for i]: constant weights, zeros skipped."""
  out = []
  for row in mat:
    acc = None
    for coef, part in zip(row, parts):
      if coef == 0.0:
        continue
      term = part if coef == 1.0 else (-part if coef == -1.0
                                       else part * float(coef))
      acc = term if acc is None else acc + term
    out.append(acc if acc is not None else jnp.zeros_like(parts[0]))
  return out


def conv2d(x, w, padding, m: int = 2, precision=None):
  """Stride-1 cross-correlation, NHWC x HWIO -> NHWC, explicit padding.

  Equals ``lax.conv_general_dilated(x, w, (1, 1), padding, ("NHWC", "HWIO",
  "NHWC"))`` up to float rounding; ``m`` is the output tile size per axis.
  """
  kh, kw, cin, cout = w.shape
  if kh != kw:
    raise ValueError(f"winograd.conv2d: square kernels only, got {w.shape}")
  r = kh
  at, gm, bt = matrices(m, r)
  n = m + r - 1
  (ph0, ph1), (pw0, pw1) = padding
  b, h, wd, _ = x.shape
  oh, ow = h + ph0 + ph1 - r + 1, wd + pw0 + pw1 - r + 1
  th, tw = -(-oh // m), -(-ow // m)
  # Pad so that th*m + r - 1 rows / tw*m + r - 1 columns exist.
  xp = jnp.pad(x, ((0, 0), (ph0, th * m + r - 1 - h - ph0),
                   (pw0, tw * m + r - 1 - wd - pw0), (0, 0)))
  # Input transform, rows then columns: strided slices combined by B^T.
  rows = [lax.slice_in_dim(xp, a, a + (th - 1) * m + 1, m, axis=1)
          for a in range(n)]                             # n x (B, th, Wp, C)
  rows = _combine(bt, rows)
  v = []
  for part in rows:
    cols = [lax.slice_in_dim(part, a, a + (tw - 1) * m + 1, m, axis=2)
            for a in range(n)]                           # n x (B, th, tw, C)
    v.extend(_combine(bt, cols))
  v = jnp.stack(v).reshape(n * n, b * th * tw, cin)       # (P, T, C)
  # Kernel transform U = G g G^T, (n, n, in, out).
  u = jnp.einsum("ak,klio,bl->abio", jnp.asarray(gm, w.dtype), w,
                 jnp.asarray(gm, w.dtype), precision=lax.Precision.HIGHEST)
  u = u.reshape(n * n, cin, cout)
  mm = lax.dot_general(v, u, (((2,), (1,)), ((0,), (0,))),
                       precision=precision)              # (P, T, out)
  mm = mm.reshape(n, n, b, th, tw, cout)
  # Output transform A^T M A, rows then columns.
  ys = _combine(at, [mm[i] for i in range(n)])           # m x (n, B, th, tw, O)
  ys = [_combine(at, [y[j] for j in range(n)]) for y in ys]  # m x m x (B,th,tw,O)
  y = jnp.stack([jnp.stack(row, axis=3) for row in ys], axis=2)
  # y: (B, th, m(rows), tw, m(cols), O)
  y = y.reshape(b, th * m, tw * m, cout)
  return y[:, :oh, :ow]
