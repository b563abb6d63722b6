"""Sampling from a trained generator in a fresh process (a Colab cell).

    from sigjax.inference import load_generator
    g = load_generator("runs/cgan_cpu")          # newest readable checkpoint
    images = g.sample(labels=[0, 0, 3], seed=1)  # (3, 64, 64, 1) float32, ink=1

Only the run directory is needed: the architecture comes from the config
saved in the checkpoint, the class names from its metadata. When the run
kept an EMA generator (``train.ema_decay`` > 0) that is the one sampled
(``GeneratorHandle.ema`` says so), so ``generate`` and ``evaluate`` use it.
"""

import os
from typing import Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from configs import common
from sigjax import checkpoint as ckpt
from sigjax import parallel
from sigjax import preprocess
from sigjax import train as train_lib


OUTPUTS = ("raw", "binary")


def binarize(images: np.ndarray, ink: str = "binary") -> np.ndarray:
  """The binary form (ink 1.0, paper 0.0) of generated images.

  ``ink`` is the form of the data the generator learnt (config.data.ink):
  'binary' data: ink where a pixel is >= 0.5 (sigmoid output 0.5 = logit 0);
  'coverage' data: each image Otsu-thresholded as the real area-averaged
  images are (``sigjax.preprocess.otsu_ink``).
  """
  if ink == "coverage":
    return preprocess.otsu_ink(images)
  return (np.asarray(images) >= 0.5).astype(np.float32)


class GeneratorHandle:
  """A restored generator: ``sample(labels, seed)`` -> numpy images."""

  def __init__(self, config, variables, class_names, step, batch_size=256,
               condition_media=None, condition_names=None, medium=None,
               gan=None):
    self.config = config
    if gan is None:
      gan = train_lib.resolve(config, len(class_names))
    self.ema = bool(gan.options.ema_decay)
    # The media the generator trained on (cross-media data), and with
    # model.medium_conditioning the one it draws (``medium``): labels are
    # then name labels, turned into the model's medium * names + name.
    self.media = (common.media_list(config.data)
                  if config.data.source == "cross_media" else [])
    self.condition_media = list(condition_media or [])
    if self.condition_media:
      self.class_names = list(condition_names)
      medium = medium or ("paper" if "paper" in self.condition_media
                          else self.condition_media[0])
      if medium not in self.condition_media:
        raise ValueError(
            f"medium={medium!r}: this generator draws "
            f"{', '.join(self.condition_media)} (model.medium_conditioning)")
      self.medium = medium
      self._offset = self.condition_media.index(medium) * len(
          self.class_names)
    else:
      if medium and medium not in (self.media or [medium]):
        raise ValueError(f"medium={medium!r}: this generator was trained on "
                         f"{', '.join(self.media)} without the medium as a "
                         "condition, so it draws them pooled")
      self.class_names = list(class_names)
      self.medium = None
      self._offset = 0
    self.num_classes = len(self.class_names)
    self.step = int(step)
    self.image_size = int(config.data.image_size)
    self.ink = config.data.ink
    self.latent_dim = int(config.model.latent_dim)
    self.variables = variables
    self.batch_size = batch_size
    gen = gan.gen
    self._apply = jax.jit(
        lambda v, z, y: gen.apply(v, z, y, train=False),
        compiler_options=parallel.compiler_options(config))

  def noise(self, n: int, seed: int) -> np.ndarray:
    """The z ~ U(-1, 1) that ``sample(..., seed)`` uses, for interpolation."""
    return np.asarray(jax.random.uniform(
        jax.random.PRNGKey(seed), (n, self.latent_dim), minval=-1.0,
        maxval=1.0))

  def sample(self, labels: Sequence[int], seed: int = 0,
             z: Optional[np.ndarray] = None,
             output: str = "raw") -> np.ndarray:
    """Images (N, S, S, 1) float32 in [0, 1] for integer ``labels``.

    Deterministic in ``seed`` (or give ``z`` explicitly, shape (N, latent)).
    ``output='raw'``: G's sigmoid output (grey levels); ``'binary'``: the
    binary form of the training data (``binarize``: >= 0.5, or per-image Otsu
    for a generator trained on ink coverage, config.data.ink='coverage').
    """
    if output not in OUTPUTS:
      raise ValueError(f"output={output!r}: use 'raw' or 'binary'")
    images = self._sample(labels, seed, z)
    return binarize(images, self.ink) if output == "binary" else images

  def _sample(self, labels, seed, z):
    labels = np.asarray(labels, np.int32).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
      raise ValueError(f"labels must be in [0, {self.num_classes}); got "
                       f"{labels.min()}..{labels.max()}")
    labels = labels + self._offset  # the medium drawn (medium conditioning)
    if z is None:
      z = self.noise(len(labels), seed)
    z = np.asarray(z, np.float32)
    out = []
    for i in range(0, len(labels), self.batch_size):
      zb, yb = z[i:i + self.batch_size], labels[i:i + self.batch_size]
      pad = self.batch_size - len(yb)  # one compiled shape for every call
      zb = np.pad(zb, ((0, pad), (0, 0)))
      yb = np.pad(yb, (0, pad))
      out.append(np.asarray(self._apply(self.variables, zb, yb))[:len(labels[i:i + self.batch_size])])
    if not out:
      return np.zeros((0, self.image_size, self.image_size, 1), np.float32)
    return np.concatenate(out).astype(np.float32)


def load_generator(workdir: str, step: Optional[int] = None,
                   batch_size: int = 256, ema: Optional[bool] = None,
                   medium: Optional[str] = None) -> GeneratorHandle:
  """The generator of the newest readable checkpoint in ``workdir``.

  ``ema``: None = the EMA generator when the run trained one, else the
  trained one; False = always the trained weights (a run's EMA is only a
  read-out, so both can be compared on one run); True = the EMA generator
  (an error when the run has none).

  ``medium``: for a generator trained with the medium as a condition
  (``model.medium_conditioning``), the medium it draws (None = paper, or
  the first it trained on without paper); ``sample``'s labels are then the
  name labels (``class_names``).

  Raises ``CheckpointError`` naming the directory when there is none.
  """
  cdir = ckpt.checkpoint_dir(workdir)
  if not os.path.isdir(cdir):
    raise ckpt.CheckpointError(
        f"{workdir}: no checkpoints/ directory; is this a training workdir?")
  manager = ckpt.make_manager(workdir, read_only=True)
  steps = manager.all_steps()
  if not steps:
    raise ckpt.CheckpointError(f"{cdir}: holds no checkpoint.")
  try:
    # The architecture comes from the metadata of the checkpoint (the
    # newest readable one); it is the same for every step of a run. Its
    # config, saved by whichever version trained the run, is upgraded here.
    meta = ckpt.read_meta(manager, [step] if step is not None else steps)
    if "config" not in meta:
      raise ckpt.CheckpointError(f"{cdir}: the checkpoint metadata holds "
                                 "no config to rebuild the generator from")
    config = common.upgrade(meta["config"],
                            f"{cdir} (checkpoint metadata 'config')")
    num_classes = int(meta["num_classes"])
    gan = train_lib.resolve(config, num_classes)
    abstract = jax.eval_shape(
        lambda: train_lib.create_state(config, num_classes, gan=gan))
    state, meta = ckpt.restore_latest(manager, abstract, step=step)
  finally:
    manager.close()
  # The EMA generator (weights and its own BatchNorm statistics) when the run
  # trained one (train.ema_decay > 0), else the trained generator.
  has_ema = bool(gan.options.ema_decay)
  if ema and not has_ema:
    raise ValueError(f"{workdir}: this run trained no EMA generator "
                     "(train.ema_decay = 0)")
  if ema is False and has_ema:
    params, batch_stats = state.params_g, state.batch_stats_g
  else:
    params, batch_stats = train_lib.sampling_variables(config, state, gan)
  variables = jax.tree.map(jnp.asarray,
                           {"params": params, "batch_stats": batch_stats})
  handle = GeneratorHandle(config, variables, meta["class_names"],
                           meta["step"], batch_size,
                           condition_media=meta.get("condition_media"),
                           condition_names=meta.get("condition_names"),
                           medium=medium, gan=gan)
  handle.ema = has_ema and ema is not False
  return handle
