"""Differentiable augmentations for the discriminator: DiffAugment and ADA.

``augment(images, key, ops, p=None)`` transforms a batch (B, H, W, 1) of ink
images (ink = 1, paper = 0) with the ops named in ``config.train.
diffaugment_policy``, in that order, with fresh random parameters per image:

* ``translation``: integer shift of up to 1/8 of the size on each axis (as
  DiffAugment), the uncovered border filled with paper (0).
* ``cutout``: a square of half the size, centred anywhere in the image
  (clipped at the borders), set to paper (as DiffAugment).
* ``brightness``: the ink-appropriate version of DiffAugment's additive
  brightness. b ~ U(-0.5, 0.5): b > 0 greys the paper (x -> b + (1 - b) x),
  b < 0 fades the ink (x -> (1 + b) x).
* ``contrast``: x -> m + c (x - m), m the image mean, c ~ U(0.5, 1) (a binary
  image is already at full contrast, so only reductions).

No saturation/hue (one grey channel). Every op maps [0, 1] into [0, 1], so
the range is kept, and every op is differentiable in the images (gathers,
masks, affine maps), so G's gradient flows through it. Output is a pure
function of (images, key, p).

``p=None`` is DiffAugment (every op on every image). A scalar ``p`` is ADA's
form: each op is applied to each image independently with probability p
(identity otherwise); p may be a traced value (it lives in the train state).
"""

from typing import Optional, Sequence

import jax
import jax.numpy as jnp

from configs import common

OPS = common.AUGMENT_OPS
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def parse_policy(policy: str) -> tuple:
  """'translation,cutout' -> ('translation', 'cutout'); errors name the setting."""
  ops = tuple(op.strip() for op in policy.split(",") if op.strip())
  bad = [op for op in ops if op not in OPS]
  if bad or not ops:
    raise ValueError(
        f"train.diffaugment_policy={policy!r}: give a comma-separated subset "
        f"of {', '.join(OPS)}")
  return ops


def _per_image(key, shape_b, minval, maxval):
  return jax.random.uniform(key, (shape_b,), minval=minval, maxval=maxval)


def _bcast(v, x):
  return v.reshape((-1,) + (1,) * (x.ndim - 1))


def brightness(x, key, apply):
  b = jnp.where(apply, _per_image(key, x.shape[0], -0.5, 0.5), 0.0)
  b = _bcast(b, x).astype(x.dtype)
  return jnp.where(b >= 0, b + (1.0 - b) * x, (1.0 + b) * x)


def contrast(x, key, apply):
  c = jnp.where(apply, _per_image(key, x.shape[0], 0.5, 1.0), 1.0)
  c = _bcast(c, x).astype(x.dtype)
  m = jnp.mean(x, axis=tuple(range(1, x.ndim)), keepdims=True)
  return m + c * (x - m)


def translation(x, key, apply):
  b, h, w = x.shape[:3]
  ky, kx = jax.random.split(key)
  sy, sx = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
  dy = jnp.where(apply, jax.random.randint(ky, (b,), -sy, sy + 1), 0)
  dx = jnp.where(apply, jax.random.randint(kx, (b,), -sx, sx + 1), 0)
  iy = jnp.arange(h)[None, :] - dy[:, None]  # out[i] = in[i - dy]
  ix = jnp.arange(w)[None, :] - dx[:, None]
  vy = (iy >= 0) & (iy < h)
  vx = (ix >= 0) & (ix < w)
  x = jnp.take_along_axis(x, jnp.clip(iy, 0, h - 1)[:, :, None, None], axis=1)
  x = jnp.take_along_axis(x, jnp.clip(ix, 0, w - 1)[:, None, :, None], axis=2)
  mask = (vy[:, :, None] & vx[:, None, :])[..., None]
  return x * mask.astype(x.dtype)


def cutout(x, key, apply):
  b, h, w = x.shape[:3]
  ky, kx = jax.random.split(key)
  ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
  y0 = jax.random.randint(ky, (b,), 0, h + (1 - ch % 2)) - ch // 2
  x0 = jax.random.randint(kx, (b,), 0, w + (1 - cw % 2)) - cw // 2
  iy = jnp.arange(h)[None, :]
  ix = jnp.arange(w)[None, :]
  in_y = (iy >= y0[:, None]) & (iy < y0[:, None] + ch)
  in_x = (ix >= x0[:, None]) & (ix < x0[:, None] + cw)
  cut = in_y[:, :, None] & in_x[:, None, :] & _bcast(apply, in_y[:, :, None])
  return x * (~cut)[..., None].astype(x.dtype)


_FNS = {"translation": translation, "cutout": cutout,
        "brightness": brightness, "contrast": contrast}


def augment(images, key, ops: Sequence[str], p: Optional[jax.Array] = None):
  """``images`` with ``ops`` applied (all, or each with probability ``p``)."""
  b = images.shape[0]
  for i, op in enumerate(ops):
    k = jax.random.fold_in(key, i)
    k_apply, k_op = jax.random.split(k)
    if p is None:
      apply = jnp.ones((b,), bool)
    else:
      apply = jax.random.uniform(k_apply, (b,)) < p
    images = _FNS[op](images, k_op, apply)
  return images
