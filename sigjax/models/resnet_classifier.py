"""The evaluation suite's second, independent classifier (``SmallResNet``).

CAS and FID/KID measured through one network can be fooled by that
network's blind spots, so the suite measures them again through a network
that shares neither architecture nor training data with ``SignatureCNN``:

* architecture: a pre-activation residual network (He et al. 2016) with
  3x3 convolutions, GroupNorm instead of BatchNorm, ReLU instead of LeakyReLU,
  global average pooling instead of a flattening Dense layer (so its
  features are translation-tolerant channel statistics, not a spatial map),
  and its own random translations of the input while training;
* width: a 5x5 stride-2 stem (``widths[0]`` channels), then one residual
  block per further entry of ``widths``, each halving the resolution (a 1x1
  strided projection on the shortcut); features = the pooled last stage
  (``widths[-1]``-d).

At 64x64 with the default widths (32, 64, 128, 256) it costs about 45M
multiply-adds per image (the CNN: ~25M); see BUILD_NOTES for its training
time. ``__call__(x, train, return_features)`` matches ``SignatureCNN`` so
``sigjax.classify.Classifier`` trains and applies it unchanged; the
translation draws its randomness from the ``dropout`` stream that
``Classifier`` already provides.
"""

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

he = nn.initializers.he_normal()


def random_translate(x, rng, max_shift: int):
  """Shifts each image of (B, H, W, C) by its own integer offset in
  [-max_shift, max_shift]^2, filling with background (0 = paper)."""
  if max_shift <= 0:
    return x
  b, h, w, c = x.shape
  padded = jnp.pad(x, ((0, 0), (max_shift, max_shift),
                       (max_shift, max_shift), (0, 0)))
  offsets = jax.random.randint(rng, (b, 2), 0, 2 * max_shift + 1)

  def crop(img, off):
    return jax.lax.dynamic_slice(img, (off[0], off[1], 0), (h, w, c))
  return jax.vmap(crop)(padded, offsets)


def _groups(width: int, groups: int) -> int:
  g = min(groups, width)
  while width % g:
    g -= 1
  return g


class PreActBlock(nn.Module):
  """GroupNorm-ReLU-conv3x3(stride)-GroupNorm-ReLU-conv3x3 + shortcut."""
  width: int
  stride: int = 2
  groups: int = 8
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    h = nn.relu(nn.GroupNorm(_groups(x.shape[-1], self.groups),
                             dtype=self.dtype, name="gn1")(x))
    shortcut = x
    if self.stride != 1 or x.shape[-1] != self.width:
      shortcut = nn.Conv(self.width, (1, 1), strides=self.stride,
                         use_bias=False, kernel_init=he, dtype=self.dtype,
                         name="proj")(h)
    h = nn.Conv(self.width, (3, 3), strides=self.stride, padding="SAME",
                use_bias=False, kernel_init=he, dtype=self.dtype,
                name="conv1")(h)
    h = nn.relu(nn.GroupNorm(_groups(self.width, self.groups),
                             dtype=self.dtype, name="gn2")(h))
    h = nn.Conv(self.width, (3, 3), padding="SAME", kernel_init=he,
                dtype=self.dtype, name="conv2")(h)
    return shortcut + h


class SmallResNet(nn.Module):
  """Stem + pre-activation residual stages + global average pooling.

  ``__call__(x, train, return_features)`` -> logits (B, num_outputs)
  [, pooled features (B, widths[-1])].
  """
  num_outputs: int = 10
  widths: Sequence[int] = (32, 64, 128, 256)
  groups: int = 8
  dropout: float = 0.2
  max_shift: int = 4  # training-time random translation, in pixels
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False, return_features: bool = False):
    x = x.astype(self.dtype)
    if train and self.max_shift > 0:
      x = random_translate(x, self.make_rng("dropout"), int(self.max_shift))
    x = nn.Conv(self.widths[0], (5, 5), strides=2, padding="SAME",
                kernel_init=he, dtype=self.dtype, name="stem")(x)
    for i, w in enumerate(self.widths[1:]):
      x = PreActBlock(w, stride=2, groups=self.groups, dtype=self.dtype,
                      name=f"block{i + 1}")(x)
    x = nn.relu(nn.GroupNorm(_groups(x.shape[-1], self.groups),
                             dtype=self.dtype, name="gn_out")(x))
    features = x.mean(axis=(1, 2))
    h = nn.Dropout(self.dropout, deterministic=not train)(features)
    logits = nn.Dense(self.num_outputs, dtype=self.dtype, name="out")(h)
    logits = logits.astype(jnp.float32)
    if return_features:
      return logits, features.astype(jnp.float32)
    return logits
