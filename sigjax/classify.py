"""Training and evaluation of the evaluation suite's classifiers.

The same machinery as the GAN (no second framework): a pure
``train_step(state, images, labels, rng) -> (state, metrics)`` compiled once
with ``jax.jit`` (state replicated, batch sharded over ``sigjax.parallel``'s
mesh), fed by ``sigjax.data.train_dataset`` (deterministic in (seed, step)).

Two tasks share one step:

* ``multiclass``: integer labels, softmax cross-entropy (the identity
  classifier, the real/fake detector with 2 classes).
* ``multilabel``: ``num_classes`` identity outputs + 1 "genuine" output, all
  sigmoid with binary cross-entropy, as the original. Labels travel through
  the pipeline as one integer, ``identity + num_classes * genuine`` (see
  ``encode_multilabel``), and are decoded to the 11-hot target in the step.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable, Optional

from absl import logging
import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from sigjax import console
from sigjax import data as data_lib
from sigjax import parallel

TASKS = ("multiclass", "multilabel")


@flax.struct.dataclass
class ClassifierState:
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any


def encode_multilabel(identity, genuine, num_classes: int) -> np.ndarray:
  """One int per image: identity + num_classes * genuine (genuine in {0,1})."""
  return (np.asarray(identity, np.int32) +
          num_classes * np.asarray(genuine, np.int32)).astype(np.int32)


def decode_multilabel(labels, num_classes: int):
  """int labels -> (identity, genuine) arrays."""
  return labels % num_classes, labels // num_classes


def multilabel_targets(labels, num_classes: int):
  """int labels -> (B, num_classes + 1) multi-hot targets."""
  identity, genuine = decode_multilabel(labels, num_classes)
  t = jax.nn.one_hot(identity, num_classes + 1)
  return t.at[:, num_classes].set(genuine.astype(t.dtype))


def loss_and_metrics(logits, labels, task: str, num_classes: int):
  """Mean loss and accuracies of one batch (what Keras' fit would print)."""
  if task == "multiclass":
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    acc = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
    return loss.mean(), {"loss": loss.mean(), "accuracy": acc.mean()}
  if task == "multilabel":
    target = multilabel_targets(labels, num_classes)
    loss = optax.sigmoid_binary_cross_entropy(logits, target).mean()
    identity, genuine = decode_multilabel(labels, num_classes)
    id_acc = (jnp.argmax(logits[:, :num_classes], -1) == identity).astype(
        jnp.float32).mean()
    gen_acc = ((logits[:, num_classes] > 0) == (genuine > 0)).astype(
        jnp.float32).mean()
    return loss, {"loss": loss, "accuracy": id_acc, "genuine_accuracy": gen_acc}
  raise ValueError(f"task {task!r}: use one of {TASKS}")


def make_optimizer(lr: float, trainable: Optional[Callable] = None):
  """Adam(lr) (Keras' defaults otherwise); parameters for which
  ``trainable(path)`` is False get no update (a frozen backbone)."""
  adam = optax.adam(lr, b1=0.9, b2=0.999, eps=1e-7)
  if trainable is None:
    return adam

  def labels(params):
    flat = flax.traverse_util.flatten_dict(params)
    return flax.traverse_util.unflatten_dict(
        {k: ("train" if trainable(k) else "freeze") for k in flat})
  return optax.multi_transform({"train": adam, "freeze": optax.set_to_zero()},
                               labels)


def create_state(model: nn.Module, tx, image_shape, seed: int,
                 params=None) -> ClassifierState:
  """Initial state; ``params`` (a partial tree, e.g. loaded VGG19 weights
  under 'backbone') replace the random init where given."""
  x = jnp.zeros((1,) + tuple(image_shape), jnp.float32)
  variables = jax.jit(lambda r: model.init(r, x, train=False))(
      jax.random.fold_in(jax.random.PRNGKey(seed), 0))
  p = variables["params"]
  if params:
    p = flax.core.unfreeze(p)
    for k, v in params.items():
      want = jax.tree.map(np.shape, p[k])
      got = jax.tree.map(np.shape, v)
      if want != got:
        raise ValueError(f"pretrained params for {k!r} do not match the model")
      p[k] = jax.tree.map(jnp.asarray, v)
  return ClassifierState(step=jnp.zeros((), jnp.int32), params=p,
                         batch_stats=variables.get("batch_stats", {}),
                         opt_state=tx.init(p))


def make_train_step(model: nn.Module, tx, task: str, num_classes: int):
  """Pure (state, images, labels, rng) -> (state, metrics)."""

  def train_step(state: ClassifierState, images, labels, rng):
    rng = jax.random.fold_in(rng, state.step)

    def loss_fn(params):
      logits, updates = model.apply(
          {"params": params, "batch_stats": state.batch_stats}, images,
          train=True, rngs={"dropout": rng}, mutable=["batch_stats"])
      loss, metrics = loss_and_metrics(logits, labels, task, num_classes)
      return loss, (metrics, updates.get("batch_stats", {}))

    grads, (metrics, batch_stats) = jax.grad(loss_fn, has_aux=True)(
        state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return ClassifierState(step=state.step + 1, params=params,
                           batch_stats=batch_stats, opt_state=opt_state), metrics

  return train_step


@dataclasses.dataclass
class FitResult:
  state: ClassifierState
  history: dict  # per epoch: loss, accuracy[, val_loss, val_accuracy, ...]
  steps: int
  seconds: float


def _as_data(images, labels, class_names) -> data_lib.SignatureData:
  return data_lib.SignatureData(
      images=np.asarray(images, np.float32), labels=np.asarray(labels, np.int32),
      class_names=list(class_names), skipped=[], source="evaluate", meta={})


class Classifier:
  """A model + task + optimizer, trained with ``fit`` and applied with
  ``predict``; one compiled train step and one compiled predict function."""

  def __init__(self, model: nn.Module, task: str, num_classes: int, lr: float,
               batch_size: int, trainable: Optional[Callable] = None,
               mesh=None):
    if task not in TASKS:
      raise ValueError(f"task {task!r}: use one of {TASKS}")
    self.model, self.task, self.num_classes = model, task, num_classes
    self.batch_size = int(batch_size)
    self.mesh = mesh if mesh is not None else parallel.make_mesh()
    parallel.check_batch_size(self.batch_size, self.mesh,
                              "classifier batch_size")
    self.tx = make_optimizer(lr, trainable)
    rep = parallel.replicated(self.mesh)
    dat = parallel.batch_sharding(self.mesh)
    self._train_step = jax.jit(
        make_train_step(model, self.tx, task, num_classes),
        in_shardings=(rep, dat, dat, rep), out_shardings=(rep, rep),
        donate_argnums=(0,), compiler_options=parallel.compiler_options())

    def apply(params, batch_stats, images):
      return model.apply({"params": params, "batch_stats": batch_stats},
                         images, train=False, return_features=True)
    self._apply = jax.jit(apply, in_shardings=(rep, rep, dat),
                          out_shardings=(dat, dat),
                          compiler_options=parallel.compiler_options())

  def init(self, image_shape, seed: int, params=None) -> ClassifierState:
    return parallel.replicate(
        create_state(self.model, self.tx, image_shape, seed, params),
        self.mesh)

  def fit(self, images, labels, *, epochs: int, seed: int,
          class_names=(), val=None, init_params=None,
          log_prefix: str = "") -> FitResult:
    """Trains ``epochs`` passes of ceil(N / batch) steps over (images, labels).

    Batches come from ``sigjax.data.train_dataset`` (seeded by ``seed``);
    ``val`` = (images, labels) is evaluated after every epoch (Keras'
    ``validation_data``). Returns the state and the per-epoch history.
    """
    n = len(labels)
    if n == 0:
      raise ValueError(f"{log_prefix or 'classifier'}: no training images")
    t0 = time.time()
    data = _as_data(images, labels, class_names or
                    [str(i) for i in range(self.num_classes)])
    state = self.init(data.images.shape[1:], seed, init_params)
    steps_per_epoch = max(1, math.ceil(n / self.batch_size))
    batches = data_lib.train_dataset(data, self.batch_size,
                                     seed=seed).as_numpy_iterator()
    rng = parallel.replicate(jax.random.fold_in(jax.random.PRNGKey(seed), 1),
                             self.mesh)
    history: dict[str, list] = {}
    # The console's progress display (sigjax.console): a bar on a terminal,
    # else a line per epoch; the epoch lines below go to the log file.
    progress = console.Progress(
        epochs * steps_per_epoch, title=log_prefix.strip() or "classifier",
        items_per_unit=self.batch_size, group=(steps_per_epoch, "epoch"),
        enabled=jax.process_index() == 0)
    for epoch in range(epochs):
      sums = None
      for i in range(steps_per_epoch):
        x, y = next(batches)
        x, y = parallel.shard_batch((x, y), self.mesh)
        state, m = self._train_step(state, x, y, rng)
        sums = m if sums is None else jax.tree.map(jnp.add, sums, m)
        progress.update(epoch * steps_per_epoch + i + 1)
      row = {k: float(v) / steps_per_epoch
             for k, v in parallel.to_host(sums).items()}
      if val is not None and len(val[1]):
        row.update({f"val_{k}": v for k, v in
                    self.evaluate(state, val[0], val[1]).items()})
      for k, v in row.items():
        history.setdefault(k, []).append(v)
      logging.info("%s epoch %d/%d %s", log_prefix, epoch + 1, epochs,
                   " ".join(f"{k} {v:.4f}" for k, v in row.items()),
                   extra=console.FILE_ONLY)
      progress.update((epoch + 1) * steps_per_epoch, row, log=True)
    progress.close()
    return FitResult(state=state, history=history,
                     steps=epochs * steps_per_epoch, seconds=time.time() - t0)

  def predict(self, state: ClassifierState, images):
    """(logits, features) as host numpy for every image, in order."""
    images = np.asarray(images, np.float32)
    b = self.batch_size
    pc, pi = jax.process_count(), jax.process_index()
    logits, feats = [], []
    for i in range(0, len(images), b):
      chunk = images[i:i + b]
      pad = b - len(chunk)  # one compiled shape
      full = np.pad(chunk, ((0, pad),) + ((0, 0),) * (chunk.ndim - 1))
      local = full[pi * b // pc:(pi + 1) * b // pc]
      lo, fe = self._apply(state.params, state.batch_stats,
                           parallel.shard_batch(local, self.mesh))
      lo, fe = parallel.to_host((lo, fe))
      logits.append(lo[:len(chunk)])
      feats.append(fe[:len(chunk)])
    if not logits:
      raise ValueError("predict: no images")
    return np.concatenate(logits), np.concatenate(feats)

  def evaluate(self, state: ClassifierState, images, labels) -> dict:
    """Mean loss and accuracies on (images, labels), inference mode."""
    logits, _ = self.predict(state, images)
    _, metrics = loss_and_metrics(jnp.asarray(logits), jnp.asarray(labels),
                                  self.task, self.num_classes)
    return {k: float(v) for k, v in metrics.items()}
