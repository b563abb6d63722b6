"""The 'permutation' batch order of the training set (``data.batch_order``).

JAX only (no TensorFlow), so the jitted train step can draw its batches on
the device (``sigjax.train.make_loop_step``) and ``sigjax.data`` can draw
the same ones on the host (``permutation_batches``).
"""

import jax
import jax.numpy as jnp

from configs import common

# Batch orders (``config.data.batch_order``). Both make batch k a function of
# (seed, k) only, every epoch a permutation of the training set and batches
# straddling epochs; they are different streams.
BATCH_ORDERS = common.CHOICES["data.batch_order"]
# config.json files written before ``data.batch_order`` existed trained with
# this one (``train_dataset``), and resume with it (``common.upgrade``).
LEGACY_BATCH_ORDER = common.ABSENT_MEANS["data.batch_order"]


def order_key(seed: int):
  """The base key of the 'permutation' batch order (``config.seed``).

  ``fold_in(PRNGKey(seed), 3)``: ``sigjax.train.root_keys`` uses 0-2 for
  initialisation, step noise and the sample grids, so the data order is
  independent of all three.
  """
  return jax.random.fold_in(jax.random.PRNGKey(int(seed)), 3)


def permutation_batch_indices(key, step, n: int, batch_size: int):
  """Dataset indices of global batch ``step`` in the 'permutation' order
  (jnp; traceable, so it runs inside the jitted train step on the device).

  Epoch e is ``jax.random.permutation(fold_in(key, e), n)``; the stream is
  epoch after epoch, and batch k is stream positions [k*B, (k+1)*B), which
  may straddle epochs (shuffle + repeat + batch). Batch k depends only on
  (key, k), so resuming at step k replays the uninterrupted run's batches.
  Costs ceil(B/n)+1 permutations of n per call (sorts of n keys: about a
  millisecond for a few thousand images on CPU). Positions are int32:
  exact while step * B < 2**31.
  """
  pos = (jnp.asarray(step, jnp.int32) * batch_size
         + jnp.arange(batch_size, dtype=jnp.int32))
  first = pos[0] // n
  spanned = (batch_size - 1) // n + 2  # epochs one batch can touch, at most
  epochs = first + jnp.arange(spanned, dtype=jnp.int32)
  perms = jax.vmap(lambda e: jax.random.permutation(
      jax.random.fold_in(key, e), n))(epochs)
  return perms[pos // n - first, pos % n].astype(jnp.int32)
