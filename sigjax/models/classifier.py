"""The classifiers the original project measured its generator with.

* ``SignatureCNN``: the original's "best classifier" (Keras Sequential in
  ``Best_Classifier_of_CGAN_Generated_Signatures.ipynb``): seven stride-2
  'same' convolutions 32-64-64-128-128-256-512 (kernels 5,5,5,3,3,3,3), each
  followed by BatchNorm(momentum 0.8; none after the first), LeakyReLU(0.2)
  and Dropout(0.3); then Dense(512), LeakyReLU(0.2), Dropout(0.2) and the
  output layer. It returns logits (softmax/sigmoid live in the losses).
* ``multilabel_cnn(num_classes)``: the same network with ``num_classes + 1``
  independent sigmoid outputs (the identities plus "genuine"), trained with
  binary cross-entropy, the original's multi-label protocol. (The original's
  multi-label notebook used a per-pixel Dense stack of 134M parameters; the
  convolutional network is used here instead, see BUILD_NOTES.md.)
* ``RealFakeDetector``: the ported VGG19 backbone (``sigjax.models.vgg19``)
  with a new head (Flatten, Dense 256 ReLU, Dropout 0.5, 2 logits) that tells
  real from generated signatures.

Kernels use Keras' default glorot-uniform init and zero biases, so training
from scratch starts where the Keras models did.
"""

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from sigjax.models import vgg19

glorot = nn.initializers.glorot_uniform()


class SignatureCNN(nn.Module):
  """The original's best classifier; ``__call__`` -> logits (B, outputs).

  With ``return_features=True`` it also returns the 512-d activations after
  the Dense(512) + LeakyReLU layer, the feature space FID/KID are computed in.
  """
  num_outputs: int = 10
  widths: Sequence[int] = (32, 64, 64, 128, 128, 256, 512)
  kernels: Sequence[int] = (5, 5, 5, 3, 3, 3, 3)
  dense: int = 512
  bn_momentum: float = 0.8
  bn_epsilon: float = 1e-3  # Keras' BatchNormalization default
  leaky_slope: float = 0.2
  conv_dropout: float = 0.3
  dense_dropout: float = 0.2
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False, return_features: bool = False):
    if len(self.widths) != len(self.kernels):
      raise ValueError("SignatureCNN: widths and kernels differ in length")
    x = x.astype(self.dtype)
    for i, (width, k) in enumerate(zip(self.widths, self.kernels)):
      x = nn.Conv(width, (k, k), strides=(2, 2), padding="SAME",
                  kernel_init=glorot, dtype=self.dtype, name=f"conv{i}")(x)
      if i > 0:
        x = nn.BatchNorm(use_running_average=not train,
                         momentum=self.bn_momentum, epsilon=self.bn_epsilon,
                         dtype=self.dtype, name=f"bn{i}")(x)
      x = nn.leaky_relu(x, self.leaky_slope)
      x = nn.Dropout(self.conv_dropout, deterministic=not train)(x)
    x = x.reshape((x.shape[0], -1))
    x = nn.Dense(self.dense, kernel_init=glorot, dtype=self.dtype,
                 name="dense")(x)
    features = nn.leaky_relu(x, self.leaky_slope)
    x = nn.Dropout(self.dense_dropout, deterministic=not train)(features)
    logits = nn.Dense(self.num_outputs, kernel_init=glorot, dtype=self.dtype,
                      name="out")(x)
    logits = logits.astype(jnp.float32)
    if return_features:
      return logits, features.astype(jnp.float32)
    return logits


def multilabel_cnn(num_classes: int, **kw) -> SignatureCNN:
  """``num_classes`` identity outputs + 1 "genuine" output (all sigmoid)."""
  return SignatureCNN(num_outputs=num_classes + 1, **kw)


class RealFakeDetector(nn.Module):
  """VGG19 backbone + a new real/fake head; input: ink=1 signatures.

  ``input_size`` > 0 resizes the (B, S, S, 1) input to that size first (at
  least 32; VGG19's compute grows with the square of it). The backbone's
  parameters live under ``backbone`` with Keras' layer names, so
  ``vgg19.load_weights`` output drops in as ``params['backbone']``.
  """
  head_units: int = 256
  head_dropout: float = 0.5
  input_size: int = 0
  preprocess: str = "caffe"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False, return_features: bool = False):
    if self.input_size and self.input_size != x.shape[1]:
      x = jax.image.resize(
          x, (x.shape[0], self.input_size, self.input_size, x.shape[-1]),
          method="linear")
    x = vgg19.prepare_signatures(x, self.preprocess)
    feats = vgg19.VGG19(include_top=False, dtype=self.dtype,
                        name="backbone")(x)
    pooled = feats.mean(axis=(1, 2))
    x = feats.reshape((feats.shape[0], -1))
    x = nn.relu(nn.Dense(self.head_units, kernel_init=glorot, dtype=self.dtype,
                         name="head_dense")(x))
    x = nn.Dropout(self.head_dropout, deterministic=not train)(x)
    logits = nn.Dense(2, kernel_init=glorot, dtype=self.dtype,
                      name="head_out")(x).astype(jnp.float32)
    if return_features:
      return logits, pooled.astype(jnp.float32)
    return logits


# Which top-level parameter groups each detector mode trains.
def detector_trainable(path: tuple, mode: str) -> bool:
  """True when the parameter at ``path`` is trained in detector ``mode``.

  'scratch' and 'finetune' with random init train everything / the last
  block; 'frozen' trains only the head. ``path`` is a tuple of dict keys.
  """
  if mode == "scratch":
    return True
  if path[0] != "backbone":
    return True
  if mode == "finetune":
    return path[1].startswith("block5_")
  if mode == "frozen":
    return False
  raise ValueError(f"detector mode {mode!r}: use frozen, finetune or scratch")
