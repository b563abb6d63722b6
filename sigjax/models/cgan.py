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
* ``upsample='resize_conv'``: each stride-s transposed convolution of G
  becomes an s-fold ``resize_method`` ('nearest' or 'bilinear') upsampling
  followed by a stride-1 convolution of the same kernel size (Odena et al.
  2016, "Deconvolution and checkerboard artifacts"): every output pixel sees
  the same number of taps, so the checkerboard of 5x5 stride-2 transposed
  convolutions cannot arise.
* ``arch='resnet'``: SNGAN/BigGAN-style pre-activation residual blocks
  (``ResNetGenerator`` / ``ResNetDiscriminator`` below): G from a 4x4 base
  through one up-block per doubling, D through down-blocks with average
  pooling to 4x4, ReLU, global sum pooling and Dense(1) (+ projection).
  Composes with every other option.
* ``mbstd=True``: a minibatch standard-deviation channel before D's last
  layers (Karras et al. 2018), so D can see a batch that lacks variety.
* ``image_size`` 128 (or any size a power of two times the paper's base):
  DCGAN G and D get one more stride-2 stage per doubling (``scaled_strides``),
  so G still starts from 16x16 and D ends at the same feature-map size; the
  residual architecture adds one block per doubling.
"""

import math
from typing import Sequence

from absl import logging
import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from configs import common
from sigjax.models import layers
from sigjax.ops import onednn

_KERNEL_INIT = nn.initializers.glorot_uniform()
SPECTRAL = "spectral"  # variable collection of the power-iteration state


def _dtype(name: str):
  return {"float32": jnp.float32, "bfloat16": jnp.bfloat16}[name]


UPSAMPLES = common.CHOICES["model.upsample"]
RESIZE_METHODS = common.CHOICES["model.resize_method"]
ARCHS = common.CHOICES["model.arch"]


def scaled_strides(strides: Sequence[int], image_size: int, max_final: int,
                   keep_last: bool = True):
  """``strides`` with stride-1 stages (not the last one when ``keep_last``,
  G's output layer) turned into stride 2, first to last, while
  ``image_size / prod(strides)`` exceeds ``max_final``.

  The paper's G starts from 16x16 (64 / (2*2)) and its D ends at 8x8
  (64 / (2*2*2)); at 128x128 this adds the one more stride-2 stage each needs
  to keep those sizes, and leaves 64x64 (and smaller) exactly as given.
  """
  strides = list(strides)
  for i in range(len(strides) - (1 if keep_last else 0)):
    if image_size // math.prod(strides) <= max_final:
      break
    if strides[i] == 1 and (image_size // math.prod(strides)) % 2 == 0:
      strides[i] = 2
  return tuple(strides)


def upsample(x, factor: int, method: str):
  """(B, H, W, C) -> (B, factor*H, factor*W, C), 'nearest' or 'bilinear'.

  'bilinear' is half-pixel bilinear interpolation with the edge replicated,
  the same function as ``jax.image.resize(..., 'bilinear')`` for upscaling;
  factor 2 is written as two shifted blends (0.75/0.25), which XLA fuses.
  """
  if factor == 1:
    return x
  b, h, w, c = x.shape
  if method == "nearest":
    x = jnp.broadcast_to(x[:, :, None, :, None, :],
                         (b, h, factor, w, factor, c))
    return x.reshape(b, h * factor, w * factor, c)
  if method != "bilinear":
    raise ValueError(f"model.resize_method={method!r}: use "
                     + " or ".join(RESIZE_METHODS))
  if factor != 2:
    return jax.image.resize(x, (b, h * factor, w * factor, c), "bilinear")

  def up_axis(x, axis):
    n = x.shape[axis]
    prev = jnp.concatenate([lax.slice_in_dim(x, 0, 1, axis=axis),
                            lax.slice_in_dim(x, 0, n - 1, axis=axis)], axis)
    nxt = jnp.concatenate([lax.slice_in_dim(x, 1, n, axis=axis),
                           lax.slice_in_dim(x, n - 1, n, axis=axis)], axis)
    even = 0.75 * x + 0.25 * prev
    odd = 0.75 * x + 0.25 * nxt
    out = jnp.stack([even, odd], axis=axis + 1)
    shape = list(x.shape)
    shape[axis] = 2 * n
    return out.reshape(shape)

  return up_axis(up_axis(x, 1), 2)


def minibatch_stddev(x, group_size: int = 4):
  """Appends the minibatch standard-deviation channel (Karras et al. 2018):
  the mean over features of the per-feature std within groups of
  ``group_size`` samples, broadcast over each sample's spatial positions."""
  b = x.shape[0]
  g = min(group_size, b)
  while b % g:
    g -= 1
  y = x.astype(jnp.float32).reshape(g, b // g, *x.shape[1:])
  std = jnp.sqrt(jnp.var(y, axis=0) + 1e-8)  # (b/g, H, W, C)
  s = jnp.mean(std, axis=tuple(range(1, std.ndim)))  # (b/g,)
  s = jnp.tile(s, g)  # sample i belongs to group i % (b/g)
  s = jnp.broadcast_to(s.reshape(b, *([1] * (x.ndim - 1))),
                       (*x.shape[:-1], 1)).astype(x.dtype)
  return jnp.concatenate([x, s], axis=-1)


def _phase_taps(k: int, s: int):
  """Per output phase r of an s-fold nearest upsampling followed by a
  'SAME' size-k convolution (one axis): (lowest input offset, for each
  tap a of the kernel the input offset it reads, floor((r + a - p) / s))."""
  p = (k - 1) // 2
  out = []
  for r in range(s):
    offs = [(r + a - p) // s for a in range(k)]
    out.append((min(offs), offs))
  return out


class PhaseResizeConv(nn.Module):
  """``_conv(features, k, 1)(upsample(x, s, 'nearest'))`` computed as s*s
  convolutions of ``x`` itself (``model.resize_conv_form='phase'``).

  Output pixel (s*i + r, s*j + t) of the direct form reads, through tap
  (a, b), upsampled pixel (s*i + r + a - p, ...) = input pixel
  (i + floor((r + a - p) / s), ...): the taps of phase (r, t) that read the
  same input pixel are summed into one, a kernel of at most
  (k - 1) // s + 2 taps per axis (2x2 for k=3, s=2) over the
  low-resolution input, with the zero padding the direct form's border
  implies. The same parameters as ``_conv`` (``kernel`` HWIO, ``bias``),
  initialised alike; the same function up to the order of the sums.
  """
  features: int
  kernel_size: int
  factor: int
  conv_impl: str = "xla"
  dtype: str = "float32"

  @nn.compact
  def __call__(self, x):
    k, s = self.kernel_size, self.factor
    cin = x.shape[-1]
    kernel = self.param("kernel", _KERNEL_INIT, (k, k, cin, self.features),
                        jnp.float32)
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,),
                      jnp.float32)
    x, kernel, bias = layers.promote_for(self.dtype)(x, kernel, bias,
                                                     dtype=self.dtype)
    conv = (layers.onednn_conv_general_dilated if self.conv_impl == "onednn"
            else lax.conv_general_dilated)
    taps = _phase_taps(k, s)
    rows = []
    for lo_r, offs_r in taps:
      n_r = max(offs_r) - lo_r + 1
      cols = []
      for lo_c, offs_c in taps:
        n_c = max(offs_c) - lo_c + 1
        # Sum the taps that read the same input pixel: (n_r, n_c, in, out).
        sel_r = jax.nn.one_hot(jnp.asarray(offs_r) - lo_r, n_r,
                               dtype=kernel.dtype)  # (k, n_r)
        sel_c = jax.nn.one_hot(jnp.asarray(offs_c) - lo_c, n_c,
                               dtype=kernel.dtype)
        w = jnp.einsum("abio,ar,bc->rcio", kernel, sel_r, sel_c)
        pad = ((-lo_r, lo_r + n_r - 1), (-lo_c, lo_c + n_c - 1))
        cols.append(conv(x, w, (1, 1), pad,
                         dimension_numbers=("NHWC", "HWIO", "NHWC")))
      rows.append(jnp.stack(cols, axis=3))  # (B, H, W, s_c, C)
    y = jnp.stack(rows, axis=2)  # (B, H, s_r, W, s_c, C)
    b, h, _, w_, _, c = y.shape
    y = y.reshape(b, h * s, w_ * s, c)
    return y + bias  # float32 bias: added in float32 (layers.promote_for)


def _conv(features, kernel, stride, conv_impl, dtype, name, kernel_init=None):
  """nn.Conv 'SAME' whose float32 CPU lowering is oneDNN when asked."""
  return nn.Conv(features, (kernel, kernel), (stride, stride), padding="SAME",
                 kernel_init=kernel_init or _KERNEL_INIT, dtype=dtype,
                 promote_dtype=layers.promote_for(dtype), name=name,
                 conv_general_dilated=(layers.onednn_conv_general_dilated
                                       if conv_impl == "onednn" else None))


def split_labels(labels, num_classes: int, num_media: int):
  """(name, medium) of combined labels ``medium * names + name``, names =
  num_classes / num_media (``model.medium_conditioning``)."""
  names = num_classes // num_media
  return labels % names, labels // names


def _onehot(labels, num_classes: int, num_media: int, dtype):
  """The one-hot condition: of the class, or with ``num_media`` > 1 the
  name's one-hot beside the medium's (the medium is a second condition)."""
  if num_media == 1:
    return jax.nn.one_hot(labels, num_classes, dtype=dtype)
  name, medium = split_labels(labels, num_classes, num_media)
  return jnp.concatenate(
      [jax.nn.one_hot(name, num_classes // num_media, dtype=dtype),
       jax.nn.one_hot(medium, num_media, dtype=dtype)], axis=-1)


def _embed(labels, num_classes: int, num_media: int, features: int, init,
           dtype, name: str, medium_init=None, wrap=lambda module: module):
  """A class embedding ``name`` of ``labels``; with ``num_media`` > 1 the
  sum of a name embedding (``name``) and a medium embedding
  (``<name>_medium``, initialised by ``medium_init``, default ``init``), so
  every medium's images teach the name's part. ``wrap`` wraps each module
  (spectral normalisation)."""
  if num_media == 1:
    return wrap(nn.Embed(num_classes, features, embedding_init=init,
                         dtype=dtype, name=name))(labels)
  names, medium = split_labels(labels, num_classes, num_media)
  e = wrap(nn.Embed(num_classes // num_media, features, embedding_init=init,
                    dtype=dtype, name=name))(names)
  m = wrap(nn.Embed(num_media, features,
                    embedding_init=medium_init or init, dtype=dtype,
                    name=f"{name}_medium"))(medium)
  return e + m


def _batch_norm(x, labels, name, *, train, projection, num_classes, momentum,
                epsilon, dtype, num_media=1):
  """BatchNorm named ``name`` in the calling module's scope; with
  ``projection``, class-conditional (shared statistics, per-class
  ``<name>_gamma`` / ``<name>_beta``, initialised to 1 / 0; with several
  media, per-name plus per-medium terms, the medium's initialised to 0)."""
  x = nn.BatchNorm(use_running_average=not train, momentum=momentum,
                   epsilon=epsilon, use_scale=not projection,
                   use_bias=not projection, dtype=dtype, name=name)(x)
  if projection:
    c = x.shape[-1]
    zeros = nn.initializers.zeros
    gamma = _embed(labels, num_classes, num_media, c, nn.initializers.ones,
                   dtype, f"{name}_gamma", medium_init=zeros)
    beta = _embed(labels, num_classes, num_media, c, zeros, dtype,
                  f"{name}_beta")
    x = x * gamma[:, None, None, :] + beta[:, None, None, :]
  return x


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
  upsample: str = "transpose"  # or 'resize_conv'
  resize_method: str = "nearest"
  resize_conv_form: str = "direct"  # or 'phase' (PhaseResizeConv)
  conv_impl: str = "xla"  # resize_conv's convolutions: 'xla' or 'onednn'
  # > 1: labels are medium * (num_classes / num_media) + name, and the medium
  # is a condition of its own (model.medium_conditioning).
  num_media: int = 1

  @nn.compact
  def __call__(self, z, labels, train: bool = False):
    dtype = _dtype(self.dtype)
    strides = scaled_strides(self.strides, self.image_size, 16)
    scale = math.prod(strides)
    if self.image_size % scale:
      raise ValueError(
          f"model: image_size={self.image_size} is not divisible by the product "
          f"of gen_strides={tuple(strides)}")
    base = self.image_size // scale
    projection = self.conditioning == "projection"
    if projection:
      x = z
    else:
      onehot = _onehot(labels, self.num_classes, self.num_media, z.dtype)
      x = jnp.concatenate([z, onehot], axis=-1)
    x = nn.Dense(base * base * self.channels[0], kernel_init=_KERNEL_INIT,
                 dtype=dtype, promote_dtype=layers.promote_for(dtype),
                 name="fc")(x)
    x = x.reshape(x.shape[0], base, base, self.channels[0])
    for i, (features, stride) in enumerate(zip(self.channels, strides)):
      x = _batch_norm(x, labels, f"bn{i}", train=train, projection=projection,
                      num_classes=self.num_classes, momentum=self.bn_momentum,
                      epsilon=self.bn_epsilon, dtype=dtype,
                      num_media=self.num_media)
      x = nn.relu(x)
      if self.upsample == "resize_conv" and self.resize_conv_form == "phase" \
          and stride > 1:
        if self.resize_method != "nearest":
          raise ValueError("model.resize_conv_form='phase' computes nearest "
                           "upsampling only; model.resize_method="
                           f"{self.resize_method!r}")
        x = PhaseResizeConv(features, self.kernel_size, stride,
                            self.conv_impl, dtype, name=f"conv{i}")(x)
      elif self.upsample == "resize_conv":
        x = upsample(x, stride, self.resize_method)
        x = _conv(features, self.kernel_size, 1, self.conv_impl, dtype,
                  f"conv{i}")(x)
      else:
        x = layers.ConvTranspose(
            features, (self.kernel_size, self.kernel_size), (stride, stride),
            padding="SAME", impl=self.conv_transpose,
            kernel_init=_KERNEL_INIT, dtype=dtype,
            promote_dtype=layers.promote_for(dtype), name=f"deconv{i}")(x)
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
  mbstd: bool = False  # minibatch-stddev channel before the final Dense
  num_media: int = 1  # as Generator.num_media

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
      onehot = _onehot(labels, self.num_classes, self.num_media,
                       jnp.float32)
      label_fc = nn.Dense(h * w, kernel_init=_KERNEL_INIT, dtype=dtype,
                          promote_dtype=layers.promote_for(dtype),
                          name="label_fc")
      label_map = self._layer(label_fc, train)(onehot).reshape(b, h, w, 1)
      x = jnp.concatenate([images.astype(dtype), label_map.astype(dtype)], -1)
    strides = scaled_strides(self.strides, self.image_size, 8,
                             keep_last=False)
    for i, (features, stride) in enumerate(zip(self.channels, strides)):
      conv = nn.Conv(features, (self.kernel_size, self.kernel_size),
                     (stride, stride), padding="SAME", kernel_init=_KERNEL_INIT,
                     dtype=dtype,
                     promote_dtype=layers.promote_for(dtype), name=f"conv{i}",
                     conv_general_dilated=(
                         layers.onednn_conv_general_dilated
                         if self.conv_impl == "onednn" else None))
      x = self._layer(conv, train)(x)
      x = nn.leaky_relu(x, self.leaky_slope)
    if self.mbstd:
      x = minibatch_stddev(x)
    x = x.reshape(b, -1)
    out = nn.Dense(1, kernel_init=_KERNEL_INIT, dtype=dtype,
                   promote_dtype=layers.promote_for(dtype), name="out")
    logits = self._layer(out, train)(x)[:, 0].astype(jnp.float32)
    if projection:
      e = _embed(labels, self.num_classes, self.num_media, x.shape[-1],
                 _KERNEL_INIT, dtype, "embed",
                 wrap=lambda module: self._layer(module, train))
      logits = logits + jnp.sum((e * x).astype(jnp.float32), axis=-1)
    return logits


def _levels(image_size: int, what: str) -> int:
  """Doublings from the residual nets' 4x4 base to ``image_size``."""
  n = int(round(math.log2(image_size / 4))) if image_size >= 8 else 0
  if n < 1 or 4 * 2 ** n != image_size:
    raise ValueError(f"model.arch='resnet': data.image_size={image_size} must "
                     f"be 4 times a power of two (8, 16, 32, 64, 128, ...) for "
                     f"the {what}")
  return n


class ResNetGenerator(nn.Module):
  """SNGAN/BigGAN-style generator: (z, labels) -> (B, S, S, 1) in (0, 1).

  concat(z, onehot) (or z alone with projection conditioning) -> Dense to
  4x4 x 8w -> one pre-activation up-block per doubling -> BN, ReLU, 3x3 conv
  to one channel -> sigmoid. Widths (in units of ``width``) are 8 at 4x4 and
  halve with each of the last three doublings (64x64: 8, 8, 4, 2, 1).
  Up-block: BN, ReLU, up, 3x3 conv, BN, ReLU, 3x3 conv, plus the shortcut
  1x1 conv of the upsampled input. 'up' is ``upsample`` ('resize_conv':
  ``resize_method`` upsampling then the conv; 'transpose': the first conv is
  a 4x4 stride-2 transposed convolution). BatchNorm is class-conditional with
  projection conditioning.
  """
  num_classes: int
  image_size: int = 64
  latent_dim: int = 100
  width: int = 16
  bn_momentum: float = 0.99
  bn_epsilon: float = 1e-3
  conv_transpose: str = "phase"
  conv_impl: str = "xla"
  dtype: str = "float32"
  conditioning: str = "concat"
  upsample: str = "resize_conv"
  resize_method: str = "nearest"
  num_media: int = 1  # as Generator.num_media

  @nn.compact
  def __call__(self, z, labels, train: bool = False):
    dtype = _dtype(self.dtype)
    n = _levels(self.image_size, "generator")
    widths = [self.width * min(8, 2 ** (n - i)) for i in range(n + 1)]
    projection = self.conditioning == "projection"
    bn = lambda x, name: _batch_norm(
        x, labels, name, train=train, projection=projection,
        num_classes=self.num_classes, momentum=self.bn_momentum,
        epsilon=self.bn_epsilon, dtype=dtype, num_media=self.num_media)
    conv = lambda f, k, name: _conv(f, k, 1, self.conv_impl, dtype, name)
    if projection:
      x = z
    else:
      x = jnp.concatenate(
          [z, _onehot(labels, self.num_classes, self.num_media, z.dtype)], -1)
    x = nn.Dense(16 * widths[0], kernel_init=_KERNEL_INIT, dtype=dtype,
                 promote_dtype=layers.promote_for(dtype),
                 name="fc")(x).reshape(x.shape[0], 4, 4, widths[0])
    for i in range(n):
      out = widths[i + 1]
      h = nn.relu(bn(x, f"block{i}_bn0"))
      if self.upsample == "transpose":
        h = layers.ConvTranspose(out, (4, 4), (2, 2), padding="SAME",
                                 impl=self.conv_transpose,
                                 kernel_init=_KERNEL_INIT, dtype=dtype,
                                 promote_dtype=layers.promote_for(dtype),
                                 name=f"block{i}_conv0")(h)
      else:
        h = conv(out, 3, f"block{i}_conv0")(
            upsample(h, 2, self.resize_method))
      h = conv(out, 3, f"block{i}_conv1")(nn.relu(bn(h, f"block{i}_bn1")))
      shortcut = conv(out, 1, f"block{i}_shortcut")(
          upsample(x, 2, "nearest" if self.upsample == "transpose"
                   else self.resize_method))
      x = h + shortcut
    x = nn.relu(bn(x, "bn_out"))
    x = conv(1, 3, "conv_out")(x)
    return nn.sigmoid(x.astype(jnp.float32))


def _avg_pool2(x):
  b, h, w, c = x.shape
  return x.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


class ResNetDiscriminator(Discriminator):
  """SNGAN-style discriminator: (images, labels) -> logits (B,).

  The image (and, with concat conditioning, the label map of the original D
  as a second channel) -> one down-block per halving to 4x4 (widths
  w, 2w, 4w, 8w, 8w, ...) -> [minibatch stddev + 3x3 conv] -> ReLU -> global
  sum pooling -> Dense(1) (+ the projection term). Down-block: (ReLU,) 3x3
  conv, ReLU, 3x3 conv, 2x2 average pooling, plus a 1x1-conv shortcut (the
  first block has no leading ReLU and pools its shortcut before the conv, as
  SNGAN's optimised block). ``channels[0]`` is the width w. Spectral norm
  applies to every kernel.
  """

  @nn.compact
  def __call__(self, images, labels, train: bool = False):
    dtype = _dtype(self.dtype)
    b, h, w, _ = images.shape
    n = _levels(h, "discriminator")
    width = self.channels[0]
    widths = [width * min(8, 2 ** i) for i in range(n)]
    projection = self.conditioning == "projection"
    conv = lambda f, k, name: self._layer(
        _conv(f, k, 1, self.conv_impl, dtype, name), train)
    x = images.astype(dtype)
    if not projection:
      onehot = _onehot(labels, self.num_classes, self.num_media,
                       jnp.float32)
      label_fc = nn.Dense(h * w, kernel_init=_KERNEL_INIT, dtype=dtype,
                          promote_dtype=layers.promote_for(dtype),
                          name="label_fc")
      label_map = self._layer(label_fc, train)(onehot).reshape(b, h, w, 1)
      x = jnp.concatenate([x, label_map.astype(dtype)], -1)
    for i, out in enumerate(widths):
      hh = x if i == 0 else nn.relu(x)
      hh = conv(out, 3, f"block{i}_conv0")(hh)
      hh = conv(out, 3, f"block{i}_conv1")(nn.relu(hh))
      hh = _avg_pool2(hh)
      if i == 0:
        shortcut = conv(out, 1, f"block{i}_shortcut")(_avg_pool2(x))
      else:
        shortcut = _avg_pool2(conv(out, 1, f"block{i}_shortcut")(x))
      x = hh + shortcut
    if self.mbstd:
      x = conv(widths[-1], 3, "mbstd_conv")(minibatch_stddev(nn.relu(x)))
    x = jnp.sum(nn.relu(x), axis=(1, 2))
    out = nn.Dense(1, kernel_init=_KERNEL_INIT, dtype=dtype,
                   promote_dtype=layers.promote_for(dtype), name="out")
    logits = self._layer(out, train)(x)[:, 0].astype(jnp.float32)
    if projection:
      e = _embed(labels, self.num_classes, self.num_media, x.shape[-1],
                 _KERNEL_INIT, dtype, "embed",
                 wrap=lambda module: self._layer(module, train))
      logits = logits + jnp.sum((e * x).astype(jnp.float32), axis=-1)
    return logits


def resolve_conv_impls(config):
  """(conv_transpose, conv_impl) that ``model.conv_transpose`` /
  ``model.conv_impl`` = 'auto' stand for here.

  'auto' is oneDNN (``sigjax.ops.onednn``: 1.3-1.9x faster than XLA:CPU's
  convolutions in every pass, BUILD_NOTES.md) on a single CPU device with
  float32 compute when the library builds, and with bfloat16 compute when
  oneDNN also has bf16 instructions here (AVX512-BF16 or AMX,
  ``onednn.bf16_available()``); otherwise the XLA lowerings ('phase'
  ConvTranspose, lax convolutions): on GPU/TPU, bf16 without those
  instructions, and on several devices (an FFI call is not partitioned by
  XLA's SPMD pass). Why oneDNN does not apply is logged (a warning).
  """
  m = config.model
  ct, ci = m.conv_transpose, m.conv_impl
  if ci not in CONV_IMPLS:
    raise ValueError(f"model.conv_impl={ci!r}: use "
                     + ", ".join(repr(c) for c in CONV_IMPLS))
  if "auto" in (ct, ci):
    applies = (jax.default_backend() == "cpu" and jax.device_count() == 1
               and m.dtype in ("float32", "bfloat16"))
    fast = applies and onednn.available()
    if applies and not fast:
      logging.warning("oneDNN convolutions unavailable, using XLA's "
                      "(~1.3x slower on CPU): %s", onednn.why())
    elif fast and m.dtype == "bfloat16" and not onednn.bf16_available():
      fast = False
      logging.warning("oneDNN bf16 convolutions unavailable, using XLA's "
                      "bf16 convolutions: %s", onednn.bf16_why())
    if ct == "auto":
      ct = "onednn" if fast else "phase"
    if ci == "auto":
      ci = "onednn" if fast else "xla"
  return ct, ci


CONV_IMPLS = common.CHOICES["model.conv_impl"]


def num_media(config) -> int:
  """Media the models take as a condition: the number of
  ``config.data.media`` with ``model.medium_conditioning`` on cross-media
  data, else 1 (other sources have one medium)."""
  if (not config.model.medium_conditioning
      or config.data.source != "cross_media"):
    return 1
  return len(common.media_list(config.data))


def build_models(config, num_classes: int):
  """The (Generator, Discriminator) pair a config describes.

  ``num_classes`` counts the labels the models take: with several media as
  a condition (``num_media``), names x media."""
  common.check_gan_options(config)
  media = num_media(config)
  if num_classes % media:
    raise ValueError(f"{num_classes} classes cannot be {media} media x names "
                     "(model.medium_conditioning)")
  conv_transpose, conv_impl = resolve_conv_impls(config)
  m = config.model
  size = config.data.image_size
  if m.gen_channels[-1] != 1:
    raise ValueError("model.gen_channels must end with 1 (a grayscale image); "
                     f"got {tuple(m.gen_channels)}")
  if m.arch == "resnet":
    gen = ResNetGenerator(
        num_classes=num_classes, image_size=size, latent_dim=m.latent_dim,
        width=int(m.gen_channels[0]) // 8 or 1, bn_momentum=m.bn_momentum,
        bn_epsilon=m.bn_epsilon, conv_transpose=conv_transpose,
        conv_impl=conv_impl, dtype=m.dtype, conditioning=m.conditioning,
        upsample=m.upsample, resize_method=m.resize_method)
    disc = ResNetDiscriminator(
        num_classes=num_classes, image_size=size,
        channels=tuple(m.disc_channels), dtype=m.dtype,
        conditioning=m.conditioning, conv_impl=conv_impl,
        spectral_norm=m.spectral_norm, mbstd=m.mbstd)
    return gen, disc
  gen = Generator(
      num_classes=num_classes, image_size=size, latent_dim=m.latent_dim,
      channels=tuple(m.gen_channels), strides=tuple(m.gen_strides),
      kernel_size=int(m.gen_kernel_size) or m.kernel_size,
      bn_momentum=m.bn_momentum,
      bn_epsilon=m.bn_epsilon, conv_transpose=conv_transpose, dtype=m.dtype,
      conditioning=m.conditioning, upsample=m.upsample,
      resize_method=m.resize_method, resize_conv_form=m.resize_conv_form,
      conv_impl=conv_impl, num_media=media)
  disc = Discriminator(
      num_classes=num_classes, image_size=size,
      channels=tuple(m.disc_channels), strides=tuple(m.disc_strides),
      kernel_size=m.kernel_size, leaky_slope=m.leaky_slope, dtype=m.dtype,
      conditioning=m.conditioning, conv_impl=conv_impl,
      spectral_norm=m.spectral_norm, mbstd=m.mbstd, num_media=media)
  return gen, disc
