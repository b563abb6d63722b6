"""VGG19 (Simonyan & Zisserman 2014) in Flax linen, layer for layer Keras'.

``VGG19(include_top=False).apply({'params': params}, x)`` takes 3-channel
images already preprocessed the way ``keras.applications.vgg19`` expects
("caffe" mode: BGR, 0..255, ImageNet channel means subtracted) and returns the
``block5_pool`` features. Parameter names are Keras' layer names
(``block1_conv1`` ... ``block5_conv4``, ``fc1``, ``fc2``, ``predictions``) and
kernels are stored in Keras' (kh, kw, in, out) layout, so a Keras weight file
maps onto the tree one to one.

``load_weights(path)`` reads such a file (the legacy
``vgg19_weights_tf_dim_ordering_tf_kernels[_notop].h5`` layout) or a
torchvision ``vgg19`` state dict; nothing is ever downloaded.
``prepare_signatures(x)`` turns 1-channel ink=1 signatures into the network's
input. Every block's pooled output is sown into the ``intermediates``
collection (``block1_pool`` ... ``block5_pool``), which is how the parity test
compares the port with Keras block by block.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Optional

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

# Filters of the conv layers of each block (Keras' VGG19).
BLOCKS = ((64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512),
          (512, 512, 512, 512))
CONV_LAYERS = tuple(f"block{b + 1}_conv{i + 1}"
                    for b, widths in enumerate(BLOCKS)
                    for i in range(len(widths)))
TOP_LAYERS = ("fc1", "fc2", "predictions")
# keras.applications.imagenet_utils 'caffe' mode, BGR order.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
# torchvision's ImageNet normalisation, RGB order, on 0..1 inputs.
TORCH_MEAN_RGB = (0.485, 0.456, 0.406)
TORCH_STD_RGB = (0.229, 0.224, 0.225)
MIN_SIZE = 32  # five 2x2 poolings need at least 32 pixels.
_GLOROT = nn.initializers.glorot_uniform()  # Keras' default kernel init


class VGG19(nn.Module):
  """Keras ``applications.VGG19`` as a linen module.

  Attributes:
    include_top: add ``fc1``/``fc2`` (4096, ReLU) and ``predictions``. The
      Keras top expects 224x224 inputs (flattened 7x7x512 features).
    num_classes: width of ``predictions``.
    classifier_activation: 'softmax' (Keras' default) or None for logits.
    pooling: None (the block5_pool map), 'avg' or 'max' (global pooling), as
      Keras' ``pooling`` argument when ``include_top=False``.
    dtype: compute dtype; parameters stay float32.
  """
  include_top: bool = False
  num_classes: int = 1000
  classifier_activation: Optional[str] = "softmax"
  pooling: Optional[str] = None
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    if x.ndim != 4 or x.shape[-1] != 3:
      raise ValueError(
          f"VGG19 expects (B, H, W, 3) preprocessed images, got {x.shape}; "
          "use prepare_signatures() for 1-channel signatures")
    if min(x.shape[1:3]) < MIN_SIZE:
      raise ValueError(
          f"VGG19 needs images of at least {MIN_SIZE}x{MIN_SIZE}, got "
          f"{x.shape[1]}x{x.shape[2]}")
    x = x.astype(self.dtype)
    for b, widths in enumerate(BLOCKS):
      for i, width in enumerate(widths):
        x = nn.Conv(width, (3, 3), padding="SAME", dtype=self.dtype,
                    kernel_init=_GLOROT, name=f"block{b + 1}_conv{i + 1}")(x)
        x = nn.relu(x)
      x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="VALID")
      self.sow("intermediates", f"block{b + 1}_pool", x)
    if self.include_top:
      x = x.reshape((x.shape[0], -1))  # HWC order, as Keras' Flatten.
      x = nn.relu(nn.Dense(4096, dtype=self.dtype, kernel_init=_GLOROT,
                             name="fc1")(x))
      x = nn.relu(nn.Dense(4096, dtype=self.dtype, kernel_init=_GLOROT,
                             name="fc2")(x))
      x = nn.Dense(self.num_classes, dtype=self.dtype, kernel_init=_GLOROT,
                   name="predictions")(x)
      if self.classifier_activation == "softmax":
        x = nn.softmax(x)
      elif self.classifier_activation is not None:
        raise ValueError(f"VGG19: unknown classifier_activation "
                         f"{self.classifier_activation!r}")
    elif self.pooling == "avg":
      x = x.mean(axis=(1, 2))
    elif self.pooling == "max":
      x = x.max(axis=(1, 2))
    elif self.pooling is not None:
      raise ValueError(f"VGG19: unknown pooling {self.pooling!r}")
    return x


def prepare_signatures(x, mode: str = "caffe", xp=jnp):
  """Maps ink=1 signatures (B, H, W, 1) in [0, 1] to VGG19's input.

  The signature is drawn as dark ink on white paper on 0..255 (what an
  ImageNet network saw during training), replicated to 3 channels, then
  normalised as the weights expect: 'caffe' (Keras' VGG19: BGR, ImageNet
  channel means subtracted, no scaling) or 'torch' (torchvision: RGB, /255,
  mean/std). ``xp`` is ``jnp`` (inside jit) or ``np``.
  """
  if x.ndim != 4 or x.shape[-1] != 1:
    raise ValueError(f"prepare_signatures expects (B, H, W, 1), got {x.shape}")
  gray = (1.0 - x.astype(xp.float32)) * 255.0
  rgb = xp.concatenate([gray, gray, gray], axis=-1)
  if mode == "caffe":
    # Gray replicated: BGR and RGB are the same image; the means are BGR.
    return rgb - xp.asarray(CAFFE_MEAN_BGR, xp.float32)
  if mode == "torch":
    return (rgb / 255.0 - xp.asarray(TORCH_MEAN_RGB, xp.float32)) / xp.asarray(
        TORCH_STD_RGB, xp.float32)
  raise ValueError(f"prepare_signatures: unknown mode {mode!r} (caffe|torch)")


class WeightsError(ValueError):
  """A VGG19 weight file lacks an array or has one of the wrong shape."""


def expected_shapes(include_top: bool = False,
                    num_classes: int = 1000) -> dict[str, dict[str, tuple]]:
  """{layer: {'kernel': shape, 'bias': shape}} of the Keras/Flax layout."""
  shapes = {}
  cin = 3
  for b, widths in enumerate(BLOCKS):
    for i, width in enumerate(widths):
      shapes[f"block{b + 1}_conv{i + 1}"] = {"kernel": (3, 3, cin, width),
                                             "bias": (width,)}
      cin = width
  if include_top:
    shapes["fc1"] = {"kernel": (7 * 7 * 512, 4096), "bias": (4096,)}
    shapes["fc2"] = {"kernel": (4096, 4096), "bias": (4096,)}
    shapes["predictions"] = {"kernel": (4096, num_classes),
                             "bias": (num_classes,)}
  return shapes


def _check(params, source: str, include_top: bool) -> dict:
  """Checks every expected array is present with its shape, naming the layer."""
  num_classes = 1000
  if include_top and "predictions" in params:
    num_classes = np.shape(params["predictions"].get("bias", np.zeros(1000)))[0]
  for layer, arrays in expected_shapes(include_top, num_classes).items():
    if layer not in params:
      raise WeightsError(f"{source}: VGG19 layer {layer!r} is missing")
    for name, shape in arrays.items():
      if name not in params[layer]:
        raise WeightsError(f"{source}: VGG19 layer {layer!r} has no {name}")
      got = tuple(np.shape(params[layer][name]))
      if got != shape:
        raise WeightsError(f"{source}: VGG19 layer {layer!r} {name} has shape "
                           f"{got}, expected {shape}")
  return params


def _decode(v) -> str:
  return v.decode("utf8") if isinstance(v, bytes) else str(v)


def params_from_keras_h5(path: str, include_top: Optional[bool] = None) -> dict:
  """Reads the legacy Keras weight layout (what keras.applications ships).

  The file (or its ``model_weights`` group, for whole-model files) has one
  group per layer whose ``weight_names`` attribute lists that layer's
  datasets in order: kernel, then bias. ``include_top`` None keeps the top
  when the file has it, False drops it, True requires it.
  """
  import h5py  # pylint: disable=g-import-not-at-top
  params = {}
  with h5py.File(path, "r") as f:
    root = f["model_weights"] if "model_weights" in f else f
    layer_names = [_decode(n) for n in root.attrs.get("layer_names", [])]
    if not layer_names:
      layer_names = list(root.keys())
    has_top = all(n in layer_names for n in TOP_LAYERS)
    keep_top = has_top if include_top is None else include_top
    wanted = CONV_LAYERS + (TOP_LAYERS if keep_top else ())
    for layer in wanted:
      if layer not in root:
        raise WeightsError(f"{path}: VGG19 layer {layer!r} is missing")
      group = root[layer]
      names = [_decode(n) for n in group.attrs.get("weight_names", [])]
      if len(names) != 2:
        raise WeightsError(
            f"{path}: VGG19 layer {layer!r} lists {len(names)} weights "
            f"({names}), expected kernel and bias")
      arrays = []
      for name in names:
        if name not in group:
          raise WeightsError(f"{path}: VGG19 layer {layer!r} lists weight "
                             f"{name!r} but the file has no such array")
        arrays.append(np.asarray(group[name], np.float32))
      params[layer] = {"kernel": arrays[0], "bias": arrays[1]}
  return _check(params, path, keep_top)


# Index of each conv layer in torchvision's ``vgg19().features``.
_TORCH_CONV_INDEX = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
_TORCH_TOP_INDEX = {"fc1": 0, "fc2": 3, "predictions": 6}


def torch_flatten_to_keras(w: np.ndarray, c: int, h: int, w_: int):
  """Re-orders the inputs of a Linear after a CHW flatten to HWC order."""
  return w.reshape(w.shape[0], c, h, w_).transpose(0, 2, 3, 1).reshape(
      w.shape[0], -1)


def params_from_torch_state_dict(state: Mapping[str, Any],
                                 include_top: Optional[bool] = None,
                                 source: str = "state dict") -> dict:
  """Converts a torchvision ``vgg19`` state dict (arrays or tensors).

  Conv weights (out, in, kh, kw) become (kh, kw, in, out); ``classifier.0``
  is re-ordered from torch's CHW flattening to Keras' HWC. The weights
  expect ``prepare_signatures(x, mode='torch')``.
  """
  def get(key):
    if key not in state:
      raise WeightsError(f"{source}: VGG19 array {key!r} is missing")
    v = state[key]
    if hasattr(v, "detach"):  # torch.Tensor
      v = v.detach().cpu().numpy()
    return np.asarray(v, np.float32)

  params = {}
  for layer, idx in zip(CONV_LAYERS, _TORCH_CONV_INDEX):
    w = get(f"features.{idx}.weight")
    if w.ndim != 4:
      raise WeightsError(f"{source}: VGG19 layer {layer!r} "
                         f"(features.{idx}.weight) has shape {w.shape}")
    params[layer] = {"kernel": np.transpose(w, (2, 3, 1, 0)),
                     "bias": get(f"features.{idx}.bias")}
  has_top = "classifier.0.weight" in state
  keep_top = has_top if include_top is None else include_top
  if keep_top:
    for layer, idx in _TORCH_TOP_INDEX.items():
      w = get(f"classifier.{idx}.weight")
      if w.ndim != 2:
        raise WeightsError(f"{source}: VGG19 layer {layer!r} "
                           f"(classifier.{idx}.weight) has shape {w.shape}")
      if layer == "fc1":
        if w.shape[1] != 512 * 7 * 7:
          raise WeightsError(f"{source}: VGG19 layer 'fc1' (classifier.0."
                             f"weight) has shape {w.shape}, expected "
                             f"(4096, 25088)")
        w = torch_flatten_to_keras(w, 512, 7, 7)
      params[layer] = {"kernel": w.T, "bias": get(f"classifier.{idx}.bias")}
  return _check(params, source, keep_top)


def load_weights(path: str, include_top: Optional[bool] = None) -> dict:
  """Returns the VGG19 ``params`` tree stored in ``path``.

  ``path`` is a Keras HDF5 weight file (legacy layer-group layout, with or
  without the top) or a torchvision ``vgg19`` state dict saved with
  ``torch.save`` (needs torch, imported only then). Missing or mis-shaped
  arrays raise ``WeightsError`` naming the file and the layer.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"VGG19 weight file not found: {path}")
  import h5py  # pylint: disable=g-import-not-at-top
  if h5py.is_hdf5(path):
    return params_from_keras_h5(path, include_top)
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise WeightsError(
        f"{path}: not an HDF5 file; reading it as a torchvision state dict "
        "needs torch, which is not installed") from e
  state = torch.load(path, map_location="cpu", weights_only=True)
  if isinstance(state, dict) and "state_dict" in state:
    state = state["state_dict"]
  return params_from_torch_state_dict(state, include_top, source=path)


def feature_fn(params, pooling: str = "avg", mode: str = "caffe") -> Callable:
  """x (B,H,W,1) signatures -> pooled block5 features, for metrics."""
  model = VGG19(include_top=False, pooling=pooling)

  def f(x):
    return model.apply({"params": params}, prepare_signatures(x, mode))
  return f
