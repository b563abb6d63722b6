"""CGAN training: the train state, the pure step function and the loop.

``train_step(state, images, labels) -> (state, metrics)`` is one jit-compiled
update of D then G with the original project's semantics:

* D: binary cross-entropy on the real batch (target 1) and on a fake batch
  generated for the same labels (target 0), averaged; one Adam update.
* G: fresh noise and fresh uniformly random labels through the *updated* D,
  non-saturating BCE (target 1); one Adam update.
* z ~ U(-1, 1); Adam(lr, b1=0.5). BatchNorm in G runs in training mode
  (batch statistics) for both passes, and the G pass updates the moving
  statistics, as Keras does in ``train_on_batch``; the stats of the D pass's
  forward are discarded (Keras generated D's fakes with ``predict``, which
  does not update them either).

All randomness comes from ``fold_in(state.rng, state.step)``, so a step's
noise depends only on (config.seed, step): resuming from a checkpoint at step
k replays exactly what an uninterrupted run would have done.

The step is written for the global batch. Under ``jax.jit`` with the batch
sharded over the mesh's ``data`` axis and the state replicated, XLA inserts
the cross-device reductions (gradients *and* BatchNorm batch statistics), so
the result does not depend on the number of devices.
"""

from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from sigjax import parallel
from sigjax.models import cgan


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params_g: Any
  batch_stats_g: Any
  params_d: Any
  opt_state_g: Any
  opt_state_d: Any
  rng: jax.Array  # base key of the step noise (raw uint32 key data)


class NonFiniteLossError(FloatingPointError):
  pass


def make_optimizers(config):
  t = config.train
  opt_g = optax.adam(t.lr_g, b1=t.b1_g, b2=t.b2_g, eps=1e-7)
  opt_d = optax.adam(t.lr_d, b1=t.b1_d, b2=t.b2_d, eps=1e-7)
  return opt_g, opt_d


def root_keys(seed: int):
  """Named keys derived from ``config.seed`` (init, step noise, samples)."""
  root = jax.random.PRNGKey(seed)
  return {"init": jax.random.fold_in(root, 0),
          "step": jax.random.fold_in(root, 1),
          "samples": jax.random.fold_in(root, 2)}


def create_state(config, num_classes: int) -> TrainState:
  """A fresh train state, deterministic in ``config.seed``."""
  gen, disc = cgan.build_models(config, num_classes)
  keys = root_keys(config.seed)
  kg, kd = jax.random.split(keys["init"])
  size = config.data.image_size
  z = jnp.zeros((1, config.model.latent_dim), jnp.float32)
  y = jnp.zeros((1,), jnp.int32)
  vg = gen.init(kg, z, y, train=False)
  vd = disc.init(kd, jnp.zeros((1, size, size, 1), jnp.float32), y)
  opt_g, opt_d = make_optimizers(config)
  return TrainState(
      step=jnp.zeros((), jnp.int32), params_g=vg["params"],
      batch_stats_g=vg["batch_stats"], params_d=vd["params"],
      opt_state_g=opt_g.init(vg["params"]), opt_state_d=opt_d.init(vd["params"]),
      rng=keys["step"])


def bce_logits(logits, target: float):
  return jnp.mean(optax.sigmoid_binary_cross_entropy(
      logits, jnp.full_like(logits, target)))


def make_train_step(config, num_classes: int):
  """The pure (un-jitted) D+G update for ``config``."""
  gen, disc = cgan.build_models(config, num_classes)
  opt_g, opt_d = make_optimizers(config)
  latent = config.model.latent_dim

  def generate(params_g, batch_stats_g, z, labels):
    return gen.apply({"params": params_g, "batch_stats": batch_stats_g}, z,
                     labels, train=True, mutable=["batch_stats"])

  def train_step(state: TrainState, images, labels):
    batch = images.shape[0]
    key = jax.random.fold_in(state.rng, state.step)
    k_zd, k_zg, k_yg = jax.random.split(key, 3)

    # Discriminator update.
    z = jax.random.uniform(k_zd, (batch, latent), minval=-1.0, maxval=1.0)
    fake, _ = generate(state.params_g, state.batch_stats_g, z, labels)
    fake = jax.lax.stop_gradient(fake)

    def d_loss_fn(params_d):
      logits_real = disc.apply({"params": params_d}, images, labels)
      logits_fake = disc.apply({"params": params_d}, fake, labels)
      loss = 0.5 * (bce_logits(logits_real, 1.0) + bce_logits(logits_fake, 0.0))
      return loss, (logits_real, logits_fake)

    (d_loss, (lr_, lf_)), d_grads = jax.value_and_grad(
        d_loss_fn, has_aux=True)(state.params_d)
    d_updates, opt_state_d = opt_d.update(d_grads, state.opt_state_d,
                                          state.params_d)
    params_d = optax.apply_updates(state.params_d, d_updates)

    # Generator update through the updated discriminator.
    z_g = jax.random.uniform(k_zg, (batch, latent), minval=-1.0, maxval=1.0)
    y_g = jax.random.randint(k_yg, (batch,), 0, num_classes)

    def g_loss_fn(params_g):
      fake_g, new_vars = generate(params_g, state.batch_stats_g, z_g, y_g)
      logits = disc.apply({"params": params_d}, fake_g, y_g)
      return bce_logits(logits, 1.0), new_vars["batch_stats"]

    (g_loss, batch_stats_g), g_grads = jax.value_and_grad(
        g_loss_fn, has_aux=True)(state.params_g)
    g_updates, opt_state_g = opt_g.update(g_grads, state.opt_state_g,
                                          state.params_g)
    params_g = optax.apply_updates(state.params_g, g_updates)

    metrics = {
        "d_loss": d_loss, "g_loss": g_loss,
        "d_real_acc": jnp.mean((lr_ > 0).astype(jnp.float32)),
        "d_fake_acc": jnp.mean((lf_ < 0).astype(jnp.float32)),
    }
    new_state = state.replace(
        step=state.step + 1, params_g=params_g, batch_stats_g=batch_stats_g,
        params_d=params_d, opt_state_g=opt_state_g, opt_state_d=opt_state_d)
    return new_state, metrics

  return train_step


def jit_train_step(config, num_classes: int, mesh):
  """``make_train_step`` compiled for ``mesh``: state replicated, batch sharded.

  The input state is donated: its buffers are reused for the new state.
  """
  rep = parallel.replicated(mesh)
  data = parallel.batch_sharding(mesh)
  return jax.jit(make_train_step(config, num_classes),
                 in_shardings=(rep, data, data), out_shardings=(rep, rep),
                 donate_argnums=(0,))


def make_sampler(config, num_classes: int):
  """jit(params_g, batch_stats_g, z, labels) -> images, inference-mode BN."""
  gen, _ = cgan.build_models(config, num_classes)

  @jax.jit
  def sample(params_g, batch_stats_g, z, labels):
    return gen.apply({"params": params_g, "batch_stats": batch_stats_g}, z,
                     labels, train=False)
  return sample


def fixed_noise(config, num_classes: int):
  """The noise/labels of the sample grids: identical at every step."""
  k = config.train.samples_per_class
  key = root_keys(config.seed)["samples"]
  z = jax.random.uniform(key, (num_classes * k, config.model.latent_dim),
                         minval=-1.0, maxval=1.0)
  labels = jnp.repeat(jnp.arange(num_classes, dtype=jnp.int32), k)
  return z, labels


def run(config, workdir: str):
  """Trains ``config`` in ``workdir`` (resuming it); see ``sigjax.train_loop``."""
  from sigjax import train_loop  # pylint: disable=g-import-not-at-top
  return train_loop.run(config, workdir)
