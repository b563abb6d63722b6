"""Classifier models and the classify training loop."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from sigjax import classify
from sigjax.models import classifier as cm


def stripes(n_per, num_classes, size, seed):
  """Class k = a horizontal bar at a class-specific height, plus speckle."""
  rng = np.random.default_rng(seed)
  x, y = [], []
  for k in range(num_classes):
    for _ in range(n_per):
      img = (rng.random((size, size, 1)) > 0.95).astype(np.float32)
      r = 4 + k * (size - 8) // num_classes + rng.integers(0, 2)
      img[r:r + 3, 4:size - 4] = 1.0
      x.append(img)
      y.append(k)
  return np.stack(x), np.asarray(y, np.int32)


def test_cnn_layers_match_the_original_keras_model():
  """Same layers and weight shapes as the original's Keras Sequential."""
  keras = pytest.importorskip("keras")
  from keras import layers
  m = keras.Sequential([keras.Input((64, 64, 1))])
  for i, (w, k) in enumerate(zip((32, 64, 64, 128, 128, 256, 512),
                                 (5, 5, 5, 3, 3, 3, 3))):
    m.add(layers.Conv2D(w, k, strides=2, padding="same"))
    if i:
      m.add(layers.BatchNormalization(momentum=0.8))
    m.add(layers.LeakyReLU(0.2))
    m.add(layers.Dropout(0.3))
  m.add(layers.Flatten())
  m.add(layers.Dense(512))
  m.add(layers.LeakyReLU(0.2))
  m.add(layers.Dropout(0.2))
  m.add(layers.Dense(10, activation="softmax"))
  keras_shapes = sorted(tuple(w.shape) for w in m.weights)

  variables = cm.SignatureCNN(num_outputs=10).init(
      jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 1)))
  ours = sorted(tuple(np.shape(v)) for v in jax.tree.leaves(variables))
  assert ours == keras_shapes  # kernels, biases, BN scale/offset/mean/var
  bn = variables["batch_stats"]
  assert set(bn) == {f"bn{i}" for i in range(1, 7)}


def test_forward_shapes_and_features():
  x = jnp.zeros((3, 64, 64, 1))
  model = cm.SignatureCNN(num_outputs=10)
  v = model.init(jax.random.PRNGKey(0), x)
  logits, feats = model.apply(v, x, return_features=True)
  assert logits.shape == (3, 10) and feats.shape == (3, 512)
  ml = cm.multilabel_cnn(10)
  assert ml.apply(ml.init(jax.random.PRNGKey(0), x), x).shape == (3, 11)


def test_fit_learns_is_deterministic_and_predict_keeps_order():
  xtr, ytr = stripes(16, 4, 32, 0)
  xte, yte = stripes(6, 4, 32, 1)
  c = classify.Classifier(cm.SignatureCNN(num_outputs=4), "multiclass", 4,
                          lr=1e-3, batch_size=16)
  fit = c.fit(xtr, ytr, epochs=6, seed=0, val=(xte, yte))
  assert fit.steps == 6 * 4
  assert set(fit.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
  assert all(len(v) == 6 for v in fit.history.values())
  assert fit.history["val_accuracy"][-1] >= 0.9  # chance is 0.25
  again = c.fit(xtr, ytr, epochs=6, seed=0, val=(xte, yte))
  assert again.history == fit.history
  other = c.fit(xtr, ytr, epochs=6, seed=1, val=(xte, yte))
  assert other.history != fit.history
  # 23 images with batch 16: the padded last batch is cut, order is kept.
  logits, feats = c.predict(fit.state, xte[:23])
  assert logits.shape == (23, 4) and feats.shape == (23, 512)
  one, _ = c.predict(fit.state, xte[7:8])
  np.testing.assert_allclose(one[0], logits[7], rtol=1e-5, atol=1e-5)


def test_multilabel_encoding_and_targets():
  y = classify.encode_multilabel([0, 2, 1], [1, 0, 1], 3)
  np.testing.assert_array_equal(y, [3, 2, 4])
  ident, gen = classify.decode_multilabel(np.asarray(y), 3)
  np.testing.assert_array_equal(ident, [0, 2, 1])
  np.testing.assert_array_equal(gen, [1, 0, 1])
  t = np.asarray(classify.multilabel_targets(jnp.asarray(y), 3))
  np.testing.assert_array_equal(t, [[1, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 1]])


def test_multilabel_fit_reports_both_accuracies():
  x, ident = stripes(8, 3, 32, 2)
  genuine = (np.arange(len(ident)) % 2).astype(np.int32)
  y = classify.encode_multilabel(ident, genuine, 3)
  c = classify.Classifier(cm.multilabel_cnn(3), "multilabel", 3, lr=1e-3,
                          batch_size=8)
  fit = c.fit(x, y, epochs=1, seed=0, val=(x, y))
  assert {"accuracy", "genuine_accuracy", "val_genuine_accuracy"} <= set(
      fit.history)
  loss = fit.history["loss"][0]
  assert np.isfinite(loss) and 0 < loss < 5


def test_detector_modes_freeze_the_right_parameters():
  params = {"backbone": {"block1_conv1": {"kernel": jnp.ones(2)},
                         "block5_conv4": {"kernel": jnp.ones(2)}},
            "head_out": {"kernel": jnp.ones(2)}}
  grads = jax.tree.map(jnp.ones_like, params)
  changed = {}
  for mode in ("frozen", "finetune", "scratch"):
    tx = classify.make_optimizer(
        0.1, lambda p, mode=mode: cm.detector_trainable(p, mode))
    upd, _ = tx.update(grads, tx.init(params), params)
    new = optax.apply_updates(params, upd)
    changed[mode] = {
        "/".join(k): bool(np.any(np.asarray(a) != np.asarray(b)))
        for k, a, b in zip(
            [("b1",), ("b5",), ("head",)],
            [new["backbone"]["block1_conv1"]["kernel"],
             new["backbone"]["block5_conv4"]["kernel"], new["head_out"]["kernel"]],
            [params["backbone"]["block1_conv1"]["kernel"],
             params["backbone"]["block5_conv4"]["kernel"],
             params["head_out"]["kernel"]])}
  assert changed["frozen"] == {"b1": False, "b5": False, "head": True}
  assert changed["finetune"] == {"b1": False, "b5": True, "head": True}
  assert changed["scratch"] == {"b1": True, "b5": True, "head": True}
  with pytest.raises(ValueError, match="frozen, finetune or scratch"):
    cm.detector_trainable(("backbone", "block1_conv1"), "thaw")


def test_detector_forward_resizes_and_uses_vgg_names():
  det = cm.RealFakeDetector(input_size=32)
  x = jnp.zeros((2, 16, 16, 1))
  v = jax.eval_shape(lambda: det.init(jax.random.PRNGKey(0), x))
  assert set(v["params"]["backbone"]) == set(
      __import__("sigjax.models.vgg19", fromlist=["x"]).CONV_LAYERS)
  out = jax.eval_shape(lambda p: det.apply(p, x), v)
  assert out.shape == (2, 2)


def test_bad_task_and_batch():
  with pytest.raises(ValueError, match="task"):
    classify.Classifier(cm.SignatureCNN(), "regression", 10, 1e-3, 8)
  with pytest.raises(ValueError, match="no training images"):
    classify.Classifier(cm.SignatureCNN(num_outputs=2), "multiclass", 2, 1e-3,
                        8).fit(np.zeros((0, 32, 32, 1)), np.zeros(0),
                               epochs=1, seed=0)
