"""The 2019 CGAN train step in Keras 3 on TensorFlow, written for the benchmark.

Same layers, widths, batch, losses and optimizer as ``sigjax.train``: one D
update on the real batch and a fake batch for the same labels, then one G
update through the updated D with fresh noise and labels; Adam(2e-4, b1=0.5,
eps=1e-7), BCE on logits, Keras BatchNormalization defaults. The step is ONE
``tf.function`` (as a Keras user writes a custom GAN step), optionally with
``jit_compile=True`` (XLA) instead of TF's graph executor (oneDNN kernels).
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # pylint: disable=g-import-not-at-top
from keras import layers as kl
import tensorflow as tf


def build(m, num_classes, image_size):
  """(generator, discriminator) Keras models for config.model ``m``."""
  scale = 1
  for s in m.gen_strides:
    scale *= s
  base = image_size // scale
  z = keras.Input((m.latent_dim,))
  y = keras.Input((), dtype="int32")
  x = kl.Concatenate()([z, keras.ops.one_hot(y, num_classes)])
  x = kl.Dense(base * base * m.gen_channels[0])(x)
  x = kl.Reshape((base, base, m.gen_channels[0]))(x)
  for c, s in zip(m.gen_channels, m.gen_strides):
    x = kl.BatchNormalization(momentum=m.bn_momentum, epsilon=m.bn_epsilon)(x)
    x = kl.ReLU()(x)
    x = kl.Conv2DTranspose(c, m.kernel_size, s, padding="same")(x)
  gen = keras.Model([z, y], kl.Activation("sigmoid")(x))

  img = keras.Input((image_size, image_size, 1))
  yd = keras.Input((), dtype="int32")
  lm = kl.Dense(image_size * image_size)(keras.ops.one_hot(yd, num_classes))
  lm = kl.Reshape((image_size, image_size, 1))(lm)
  x = kl.Concatenate()([img, lm])
  for c, s in zip(m.disc_channels, m.disc_strides):
    x = kl.Conv2D(c, m.kernel_size, s, padding="same")(x)
    x = kl.LeakyReLU(negative_slope=m.leaky_slope)(x)
  x = kl.Dense(1)(kl.Flatten()(x))
  disc = keras.Model([img, yd], x)
  return gen, disc


def make_step(config, num_classes, batch, jit_compile=False):
  """Returns step(images, labels) -> (d_loss, g_loss) as numpy-able tensors."""
  m, t = config.model, config.train
  image_size = config.data.image_size
  gen, disc = build(m, num_classes, image_size)
  opt_g = keras.optimizers.Adam(t.lr_g, beta_1=t.b1_g, beta_2=t.b2_g,
                                epsilon=1e-7)
  opt_d = keras.optimizers.Adam(t.lr_d, beta_1=t.b1_d, beta_2=t.b2_d,
                                epsilon=1e-7)
  opt_g.build(gen.trainable_variables)
  opt_d.build(disc.trainable_variables)
  bce = keras.losses.BinaryCrossentropy(from_logits=True)
  counter = tf.Variable(0, dtype=tf.int32)
  latent = m.latent_dim

  @tf.function(jit_compile=jit_compile)
  def step(images, labels):
    seed = tf.stack([counter, 0])
    z = tf.random.stateless_uniform((batch, latent), seed, -1.0, 1.0)
    z_g = tf.random.stateless_uniform((batch, latent), seed + [0, 1], -1.0, 1.0)
    y_g = tf.random.stateless_uniform((batch,), seed + [0, 2], 0, num_classes,
                                      dtype=tf.int32)
    fake = gen([z, labels], training=True)
    with tf.GradientTape() as tape:
      lr_ = disc([images, labels], training=True)
      lf_ = disc([fake, labels], training=True)
      d_loss = 0.5 * (bce(tf.ones_like(lr_), lr_) + bce(tf.zeros_like(lf_), lf_))
    grads = tape.gradient(d_loss, disc.trainable_variables)
    opt_d.apply_gradients(zip(grads, disc.trainable_variables))
    with tf.GradientTape() as tape:
      logits = disc([gen([z_g, y_g], training=True), y_g], training=True)
      g_loss = bce(tf.ones_like(logits), logits)
    grads = tape.gradient(g_loss, gen.trainable_variables)
    opt_g.apply_gradients(zip(grads, gen.trainable_variables))
    counter.assign_add(1)
    return d_loss, g_loss

  def run(images, labels):
    d, g = step(tf.convert_to_tensor(images), tf.convert_to_tensor(labels))
    return float(d), float(g)
  return run
