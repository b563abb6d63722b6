"""GAN losses and gradient penalties (``config.train.loss``, ``r1_gamma``).

All take discriminator logits (B,) and return scalars (means over the batch):

* ``bce``: the original's. D: 0.5 * (BCE(D(x), 1) + BCE(D(G(z)), 0)); G: the
  non-saturating BCE(D(G(z)), 1). Sigmoid inside the loss (stable).
* ``hinge`` (Lim & Ye 2017; SNGAN, BigGAN): D: E[relu(1 - D(x))] +
  E[relu(1 + D(G(z)))]; G: -E[D(G(z))].
* ``wgan_gp`` (Gulrajani et al. 2017): D: E[D(G(z))] - E[D(x)] plus
  ``gp_weight`` * E[(||grad D(x_hat)|| - 1)^2] on random interpolates x_hat
  (added by the train step); G: -E[D(G(z))].

``r1_penalty`` is E||grad_x D(x)||^2 on real images (Mescheder et al. 2018);
the step adds gamma/2 times it to D's loss. Per-sample gradients come from
the gradient of the summed logits, valid because the discriminator has no
cross-sample layers (no BatchNorm).

``lecam_penalty`` is LeCam's regulariser (Tseng et al. 2021): E[relu(D(x) -
a_fake)^2] + E[relu(a_real - D(G(z)))^2] with a_real, a_fake the running
means of D's logits (kept by the train step); the step adds
``train.lecam_weight`` times it to D's loss.
"""

import jax
import jax.numpy as jnp
import optax

from configs import common

LOSSES = common.CHOICES["train.loss"]


def bce_logits(logits, target: float):
  return jnp.mean(optax.sigmoid_binary_cross_entropy(
      logits, jnp.full_like(logits, target)))


def d_loss(kind: str, logits_real, logits_fake):
  """The discriminator's loss (without gradient penalties)."""
  if kind == "bce":
    return 0.5 * (bce_logits(logits_real, 1.0) + bce_logits(logits_fake, 0.0))
  if kind == "hinge":
    return (jnp.mean(jax.nn.relu(1.0 - logits_real))
            + jnp.mean(jax.nn.relu(1.0 + logits_fake)))
  if kind == "wgan_gp":
    return jnp.mean(logits_fake) - jnp.mean(logits_real)
  raise ValueError(f"train.loss={kind!r}: use {', '.join(LOSSES)}")


def g_loss(kind: str, logits_fake):
  """The generator's loss on the logits of its images."""
  if kind == "bce":
    return bce_logits(logits_fake, 1.0)
  if kind in ("hinge", "wgan_gp"):
    return -jnp.mean(logits_fake)
  raise ValueError(f"train.loss={kind!r}: use {', '.join(LOSSES)}")


def _per_sample_grad_sq(d_fn, images):
  grads = jax.grad(lambda x: jnp.sum(d_fn(x)))(images)
  return jnp.sum(jnp.square(grads.astype(jnp.float32)),
                 axis=tuple(range(1, grads.ndim)))


def r1_penalty(d_fn, real):
  """E ||grad_x D(x)||^2 over the real batch (multiply by gamma / 2)."""
  return jnp.mean(_per_sample_grad_sq(d_fn, real))


def gradient_penalty(d_fn, real, fake, key):
  """E (||grad D(x_hat)|| - 1)^2, x_hat = eps * real + (1 - eps) * fake."""
  eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1))
  x_hat = eps * real + (1.0 - eps) * fake
  norm = jnp.sqrt(_per_sample_grad_sq(d_fn, x_hat) + 1e-12)
  return jnp.mean(jnp.square(norm - 1.0))


def lecam_penalty(logits_real, logits_fake, ema_real, ema_fake):
  """E relu(D(x) - a_fake)^2 + E relu(a_real - D(G(z)))^2 (a_*: the logit
  EMAs, treated as constants)."""
  ema_real = jax.lax.stop_gradient(ema_real)
  ema_fake = jax.lax.stop_gradient(ema_fake)
  real = logits_real.astype(jnp.float32)
  fake = logits_fake.astype(jnp.float32)
  return (jnp.mean(jnp.square(jax.nn.relu(real - ema_fake)))
          + jnp.mean(jnp.square(jax.nn.relu(ema_real - fake))))
