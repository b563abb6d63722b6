"""The original conditional DCGAN (2019 Keras project), in Flax linen.

Generator: concat(z, onehot) -> Dense(b*b*C0) -> reshape -> 4 x [BatchNorm,
ReLU, ConvTranspose 5x5 'same'] (C0 s2, C1 s2, C2 s1, C3 s1) -> sigmoid, with
b = image_size / prod(strides) (16 for 64x64).
Discriminator: Dense(S*S)(onehot) reshaped to a second image channel beside
the image -> 4 x [Conv 5x5 'same', LeakyReLU(0.1)] (32 s2, 64 s2, 128 s2,
256 s1) -> flatten -> Dense(1). It returns logits; the sigmoid lives in the
loss (numerically stable BCE, same function as Keras' sigmoid + BCE).

Kernels use Glorot-uniform and BatchNorm uses momentum 0.99 / epsilon 1e-3,
the Keras defaults, so the paper preset starts where the original did.

Options beyond the original (``config.model``; the defaults build exactly the
modules above, same parameter tree):

* ``conditioning='projection'``: the discriminator sees only the image and
  adds a projection term, D(x, y) = psi(phi(x)) + <embed(y), phi(x)> with
  phi(x) the flattened last conv features and psi the final Dense(1)
  (Miyato & Koyama 2018); the generator uses class-conditional BatchNorm
  (shared batch statistics, per-class gamma/beta embeddings ``bn<i>_gamma`` /
  ``bn<i>_beta`` initialised to 1 / 0, as in SNGAN/BigGAN) and takes z alone:
  it no longer concatenates the one-hot, the class enters at every BN.
* ``spectral_norm=True``: every D kernel (convs, dense layers, the projection
  embedding) is divided by its top singular value, estimated by one power
  iteration per call (``nn.SpectralNorm``). The power-iteration vectors live
  in the ``spectral`` collection (``TrainState.spectral_d``); a call with
  ``train=True`` and ``mutable=['spectral']`` advances them. Parameter names
  are unchanged.
"""

import math
from typing import Sequence

from absl import logging
import flax.linen as nn
import jax
import jax.numpy as jnp

from configs import common
from sigjax.models import layers
from sigjax.ops import onednn

_KERNEL_INIT = nn.initializers.glorot_uniform()
SPECTRAL = "spectral"  # variable collection of the power-iteration state


def _dtype(name: str):
  return {"float32": jnp.float32, "bfloat16": jnp.bfloat16}[name]


class Generator(nn.Module):
  """(z, integer labels) -> images (B, S, S, 1) in (0, 1), ink = 1."""
  num_classes: int
  image_size: int = 64
  latent_dim: int = 100
  channels: Sequence[int] = (128, 64, 32, 1)
  strides: Sequence[int] = (2, 2, 1, 1)
  kernel_size: int = 5
  bn_momentum: float = 0.99
  bn_epsilon: float = 1e-3
  conv_transpose: str = "phase"
  dtype: str = "float32"
  conditioning: str = "concat"

  @nn.compact
  def __call__(self, z, labels, train: bool = False):
    dtype = _dtype(self.dtype)
    scale = math.prod(self.strides)
    if self.image_size % scale:
      raise ValueError(
          f"model: image_size={self.image_size} is not divisible by the product "
          f"of gen_strides={tuple(self.strides)}")
    base = self.image_size // scale
    projection = self.conditioning == "projection"
    if projection:
      x = z
    else:
      onehot = jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype)
      x = jnp.concatenate([z, onehot], axis=-1)
    x = nn.Dense(base * base * self.channels[0], kernel_init=_KERNEL_INIT,
                 dtype=dtype, name="fc")(x)
    x = x.reshape(x.shape[0], base, base, self.channels[0])
    for i, (features, stride) in enumerate(zip(self.channels, self.strides)):
      x = nn.BatchNorm(use_running_average=not train,
                       momentum=self.bn_momentum, epsilon=self.bn_epsilon,
                       use_scale=not projection, use_bias=not projection,
                       dtype=dtype, name=f"bn{i}")(x)
      if projection:  # class-conditional BatchNorm
        c = x.shape[-1]
        gamma = nn.Embed(self.num_classes, c, embedding_init=nn.initializers.ones,
                         dtype=dtype, name=f"bn{i}_gamma")(labels)
        beta = nn.Embed(self.num_classes, c, embedding_init=nn.initializers.zeros,
                        dtype=dtype, name=f"bn{i}_beta")(labels)
        x = x * gamma[:, None, None, :] + beta[:, None, None, :]
      x = nn.relu(x)
      x = layers.ConvTranspose(
          features, (self.kernel_size, self.kernel_size), (stride, stride),
          padding="SAME", impl=self.conv_transpose, kernel_init=_KERNEL_INIT,
          dtype=dtype, name=f"deconv{i}")(x)
    return nn.sigmoid(x.astype(jnp.float32))


class Discriminator(nn.Module):
  """(images, integer labels) -> real/fake logits (B,).

  ``train`` only matters with ``spectral_norm``: it advances the stored
  power-iteration state (apply with ``mutable=['spectral']``).
  """
  num_classes: int
  image_size: int = 64
  channels: Sequence[int] = (32, 64, 128, 256)
  strides: Sequence[int] = (2, 2, 2, 1)
  kernel_size: int = 5
  leaky_slope: float = 0.1
  dtype: str = "float32"
  conditioning: str = "concat"
  spectral_norm: bool = False
  conv_impl: str = "xla"  # 'xla' (lax) or 'onednn' (sigjax.ops.onednn)

  def _layer(self, module, train):
    """``module``, spectrally normalised when ``spectral_norm`` is set."""
    if not self.spectral_norm:
      return module
    sn = nn.SpectralNorm(module, collection_name=SPECTRAL,
                         name=f"sn_{module.name}")
    return lambda *args: sn(*args, update_stats=train)

  @nn.compact
  def __call__(self, images, labels, train: bool = False):
    dtype = _dtype(self.dtype)
    b, h, w, _ = images.shape
    projection = self.conditioning == "projection"
    if projection:
      x = images.astype(dtype)
    else:
      onehot = jax.nn.one_hot(labels, self.num_classes, dtype=jnp.float32)
      label_fc = nn.Dense(h * w, kernel_init=_KERNEL_INIT, dtype=dtype,
                          name="label_fc")
      label_map = self._layer(label_fc, train)(onehot).reshape(b, h, w, 1)
      x = jnp.concatenate([images.astype(dtype), label_map.astype(dtype)], -1)
    for i, (features, stride) in enumerate(zip(self.channels, self.strides)):
      conv = nn.Conv(features, (self.kernel_size, self.kernel_size),
                     (stride, stride), padding="SAME", kernel_init=_KERNEL_INIT,
                     dtype=dtype, name=f"conv{i}",
                     conv_general_dilated=(
                         layers.onednn_conv_general_dilated
                         if self.conv_impl == "onednn" else None))
      x = self._layer(conv, train)(x)
      x = nn.leaky_relu(x, self.leaky_slope)
    x = x.reshape(b, -1)
    out = nn.Dense(1, kernel_init=_KERNEL_INIT, dtype=dtype, name="out")
    logits = self._layer(out, train)(x)[:, 0].astype(jnp.float32)
    if projection:
      embed = nn.Embed(self.num_classes, x.shape[-1],
                       embedding_init=_KERNEL_INIT, dtype=dtype, name="embed")
      e = self._layer(embed, train)(labels)
      logits = logits + jnp.sum((e * x).astype(jnp.float32), axis=-1)
    return logits


def resolve_conv_impls(config):
  """(conv_transpose, conv_impl) that ``model.conv_transpose`` /
  ``model.conv_impl`` = 'auto' stand for here.

  'auto' is oneDNN (``sigjax.ops.onednn``: 1.3-1.9x faster than XLA:CPU's
  convolutions in every pass, BUILD_NOTES.md) on a single CPU device with
  float32 compute when the library builds; otherwise the XLA lowerings
  ('phase' ConvTranspose, lax convolutions): on GPU/TPU, with bf16, and on
  several devices (an FFI call is not partitioned by XLA's SPMD pass).
  """
  m = config.model
  ct = m.get("conv_transpose", "auto")
  ci = m.get("conv_impl", "auto")
  if ci not in CONV_IMPLS:
    raise ValueError(f"model.conv_impl={ci!r}: use "
                     + ", ".join(repr(c) for c in CONV_IMPLS))
  if "auto" in (ct, ci):
    applies = (jax.default_backend() == "cpu" and jax.device_count() == 1
               and m.dtype == "float32")
    fast = applies and onednn.available()
    if applies and not fast:
      logging.warning("oneDNN convolutions unavailable, using XLA's "
                      "(~1.3x slower on CPU): %s", onednn.why())
    if ct == "auto":
      ct = "onednn" if fast else "phase"
    if ci == "auto":
      ci = "onednn" if fast else "xla"
  return ct, ci


CONV_IMPLS = ("auto", "onednn", "xla")


def build_models(config, num_classes: int):
  """The (Generator, Discriminator) pair a config describes."""
  common.check_gan_options(config)
  conv_transpose, conv_impl = resolve_conv_impls(config)
  m = config.model
  size = config.data.image_size
  conditioning = common.gan_option(config, "model", "conditioning", "concat")
  gen = Generator(
      num_classes=num_classes, image_size=size, latent_dim=m.latent_dim,
      channels=tuple(m.gen_channels), strides=tuple(m.gen_strides),
      kernel_size=m.kernel_size, bn_momentum=m.bn_momentum,
      bn_epsilon=m.bn_epsilon, conv_transpose=conv_transpose, dtype=m.dtype,
      conditioning=conditioning)
  disc = Discriminator(
      num_classes=num_classes, image_size=size,
      channels=tuple(m.disc_channels), strides=tuple(m.disc_strides),
      kernel_size=m.kernel_size, leaky_slope=m.leaky_slope, dtype=m.dtype,
      conditioning=conditioning, conv_impl=conv_impl,
      spectral_norm=bool(common.gan_option(config, "model", "spectral_norm",
                                           False)))
  if m.gen_channels[-1] != 1:
    raise ValueError("model.gen_channels must end with 1 (a grayscale image); "
                     f"got {tuple(m.gen_channels)}")
  return gen, disc
