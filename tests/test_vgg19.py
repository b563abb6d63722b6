"""VGG19 port: block-by-block parity with Keras, weight files, preprocessing."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py
import jax
import numpy as np
import pytest

from sigjax.models import vgg19

POOLS = [f"block{b}_pool" for b in range(1, 6)]


@pytest.fixture(scope="module")
def keras_vgg():
  keras = pytest.importorskip("keras")
  keras.utils.set_random_seed(0)
  model = keras.applications.VGG19(weights=None, include_top=False,
                                   input_shape=(32, 32, 3))
  # Keras' random init gives zero biases; make them non-zero so a swapped
  # kernel/bias or a missing bias shows up in the comparison.
  rng = np.random.default_rng(0)
  for layer in model.layers:
    if layer.weights:
      k, b = layer.get_weights()
      layer.set_weights([k, rng.normal(0, 0.1, b.shape).astype(np.float32)])
  return keras, model


def write_legacy_h5(path, model, extra_layers=None):
  """The layout of vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5."""
  with h5py.File(path, "w") as f:
    names = [layer.name for layer in model.layers] + list(extra_layers or {})
    f.attrs["layer_names"] = [n.encode() for n in names]
    for layer in model.layers:
      g = f.create_group(layer.name)
      weights = layer.get_weights()
      wnames = ([f"{layer.name}/kernel:0", f"{layer.name}/bias:0"]
                if weights else [])
      g.attrs["weight_names"] = [n.encode() for n in wnames]
      for n, w in zip(wnames, weights):
        g.create_dataset(n, data=w)
    for name, arrays in (extra_layers or {}).items():
      g = f.create_group(name)
      wnames = [f"{name}/kernel:0", f"{name}/bias:0"]
      g.attrs["weight_names"] = [n.encode() for n in wnames]
      for n, w in zip(wnames, arrays):
        g.create_dataset(n, data=w)


def keras_blocks(keras, model, x):
  probe = keras.Model(model.inputs,
                      [model.get_layer(n).output for n in POOLS])
  return [np.asarray(o) for o in probe([x], training=False)]


def flax_blocks(params, x):
  out, state = vgg19.VGG19(include_top=False).apply(
      {"params": params}, x, mutable=["intermediates"])
  inter = state["intermediates"]
  return out, [np.asarray(inter[n][0]) for n in POOLS]


def test_parity_with_keras_every_block(keras_vgg, tmp_path):
  keras, model = keras_vgg
  path = tmp_path / "vgg19_notop.h5"
  write_legacy_h5(path, model)
  params = vgg19.load_weights(path)
  assert set(params) == set(vgg19.CONV_LAYERS)
  sig = (np.random.default_rng(1).random((2, 32, 32, 1)) > 0.8).astype(
      np.float32)
  x = np.asarray(vgg19.prepare_signatures(sig))
  want = keras_blocks(keras, model, x)
  out, got = flax_blocks(params, x)
  for name, w, g in zip(POOLS, want, got):
    assert g.shape == w.shape, name
    scale = np.abs(w).max() + 1e-6
    np.testing.assert_allclose(g / scale, w / scale, atol=1e-4, err_msg=name)
  np.testing.assert_array_equal(np.asarray(out), got[-1])
  assert np.abs(want[-1]).max() > 0  # the comparison is not of zeros


def test_keras3_legacy_writer_layout_loads(keras_vgg, tmp_path):
  """Keras' own legacy writer names weights 'layer/kernel' (no ':0')."""
  keras, model = keras_vgg
  from keras.src.legacy.saving import legacy_h5_format
  path = tmp_path / "k3.h5"
  with h5py.File(path, "w") as f:
    legacy_h5_format.save_weights_to_hdf5_group(f, model)
  params = vgg19.load_weights(path)
  k, b = model.get_layer("block3_conv2").get_weights()
  np.testing.assert_array_equal(params["block3_conv2"]["kernel"], k)
  np.testing.assert_array_equal(params["block3_conv2"]["bias"], b)


def _fake_params(include_top=False, num_classes=3):
  rng = np.random.default_rng(0)
  return {layer: {k: rng.normal(0, 0.01, s).astype(np.float32)
                  for k, s in arrays.items()}
          for layer, arrays in vgg19.expected_shapes(include_top,
                                                     num_classes).items()}


class _Layer:

  def __init__(self, name, weights):
    self.name, self._w = name, weights

  def get_weights(self):
    return self._w


class _Model:

  def __init__(self, params, drop=None, reshape=None):
    self.layers = [_Layer("input_layer", [])]
    for name, p in params.items():
      if name == drop:
        continue
      k = p["kernel"]
      if name == reshape:
        k = k[..., :-1]
      self.layers.append(_Layer(name, [k, p["bias"]]))


def test_missing_layer_is_named(tmp_path):
  path = tmp_path / "w.h5"
  write_legacy_h5(path, _Model(_fake_params(), drop="block4_conv3"))
  with pytest.raises(vgg19.WeightsError, match="block4_conv3.*missing"):
    vgg19.load_weights(path)


def test_misshaped_array_is_named(tmp_path):
  path = tmp_path / "w.h5"
  write_legacy_h5(path, _Model(_fake_params(), reshape="block2_conv1"))
  with pytest.raises(vgg19.WeightsError, match="block2_conv1.*shape"):
    vgg19.load_weights(path)


def test_missing_file_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match="nothere.h5"):
    vgg19.load_weights(tmp_path / "nothere.h5")


def test_file_with_top_is_read_and_can_drop_it(tmp_path):
  """A with-top file: top layers are checked (a bad fc1 is named) or dropped."""
  path = tmp_path / "w_top.h5"
  bad_top = {"fc1": [np.zeros((8, 4), np.float32), np.zeros(4, np.float32)],
             "fc2": [np.zeros((4, 4), np.float32), np.zeros(4, np.float32)],
             "predictions": [np.zeros((4, 3), np.float32),
                             np.zeros(3, np.float32)]}
  write_legacy_h5(path, _Model(_fake_params()), extra_layers=bad_top)
  with pytest.raises(vgg19.WeightsError, match="'fc1'.*shape"):
    vgg19.load_weights(path)
  params = vgg19.load_weights(path, include_top=False)
  assert set(params) == set(vgg19.CONV_LAYERS)


def test_torch_state_dict_conversion_matches():
  params = _fake_params()
  state = {}
  for layer, idx in zip(vgg19.CONV_LAYERS, vgg19._TORCH_CONV_INDEX):
    state[f"features.{idx}.weight"] = params[layer]["kernel"].transpose(
        3, 2, 0, 1)
    state[f"features.{idx}.bias"] = params[layer]["bias"]
  got = vgg19.params_from_torch_state_dict(state)
  for layer in vgg19.CONV_LAYERS:
    np.testing.assert_array_equal(got[layer]["kernel"], params[layer]["kernel"])
  del state["features.21.weight"]  # block4_conv2
  with pytest.raises(vgg19.WeightsError, match="features.21.weight"):
    vgg19.params_from_torch_state_dict(state)


def test_torch_flatten_reorder():
  """A Linear after torch's CHW flatten == the re-ordered one after HWC."""
  rng = np.random.default_rng(0)
  c, h, w = 5, 3, 2
  feat = rng.normal(size=(h, w, c)).astype(np.float32)
  w_torch = rng.normal(size=(4, c * h * w)).astype(np.float32)
  torch_out = w_torch @ feat.transpose(2, 0, 1).reshape(-1)
  keras_out = feat.reshape(-1) @ vgg19.torch_flatten_to_keras(w_torch, c, h,
                                                             w).T
  np.testing.assert_allclose(keras_out, torch_out, rtol=1e-5)


def test_torch_file_roundtrip_if_torch_installed(tmp_path):
  torch = pytest.importorskip("torch")
  params = _fake_params()
  state = {}
  for layer, idx in zip(vgg19.CONV_LAYERS, vgg19._TORCH_CONV_INDEX):
    state[f"features.{idx}.weight"] = torch.from_numpy(
        params[layer]["kernel"].transpose(3, 2, 0, 1).copy())
    state[f"features.{idx}.bias"] = torch.from_numpy(params[layer]["bias"])
  torch.save(state, tmp_path / "vgg19.pth")
  got = vgg19.load_weights(tmp_path / "vgg19.pth")
  np.testing.assert_array_equal(got["block5_conv4"]["kernel"],
                                params["block5_conv4"]["kernel"])


def test_prepare_signatures_caffe():
  x = np.zeros((1, 32, 32, 1), np.float32)
  x[0, 0, 0, 0] = 1.0  # one ink pixel
  y = np.asarray(vgg19.prepare_signatures(x))
  assert y.shape == (1, 32, 32, 3)
  # Paper (ink 0) is white, 255 - BGR mean; ink is black, 0 - mean.
  np.testing.assert_allclose(y[0, 1, 1], 255.0 - np.array(vgg19.CAFFE_MEAN_BGR),
                             rtol=1e-6)
  np.testing.assert_allclose(y[0, 0, 0], -np.array(vgg19.CAFFE_MEAN_BGR),
                             rtol=1e-6)
  with pytest.raises(ValueError, match="mode"):
    vgg19.prepare_signatures(x, mode="tf")


def test_any_size_at_least_32_and_pooling():
  model = vgg19.VGG19(include_top=False, pooling="avg")
  x = np.zeros((1, 48, 40, 3), np.float32)
  params = jax.jit(model.init)(jax.random.PRNGKey(0), x)["params"]
  assert model.apply({"params": params}, x).shape == (1, 512)
  with pytest.raises(ValueError, match="at least 32"):
    model.apply({"params": params}, np.zeros((1, 16, 16, 3), np.float32))
