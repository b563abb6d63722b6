"""The one definition of every config field (defaults = the 2019 paper).

Job configs (cgan.py, evaluate.py, generate.py, data_preview.py) start from
``base_config()`` and change what their preset needs, so a field means the
same thing in every job and CLI overrides (``--config.train.steps=200``) work
everywhere.
"""

import ml_collections


def data_config() -> ml_collections.ConfigDict:
  d = ml_collections.ConfigDict()
  # 'synthetic' (embedded, default), 'folder' (ROOT/<class>/<images>) or
  # 'cross_media' (the TFDS builder over ../shared/data/cross_media_signatures).
  d.source = "synthetic"
  d.dir = ""  # folder: ROOT; cross_media: manual dir ('' = the shared copy).
  d.image_size = 64
  d.split = "train"  # the split the GAN trains on
  d.seed = 0  # split and synthetic-generation seed (independent of config.seed)
  # folder source: fraction of each class held out (by image) for validation/test.
  d.val_fraction = 0.1
  d.test_fraction = 0.2
  d.fraction = 1.0  # fraction of the training split kept (data-efficiency ablations)
  # cross_media source
  d.label = "name"  # 'name' (10 classes) or 'writer' (93)
  d.media = "paper"  # comma-separated subset of paper,ipad,phone_in_hand,phone_on_table
  d.variant = "bin"  # 'bin' (authors' binarized) or 'raw' (writers 1-10 only)
  d.tfds_data_dir = ""  # where TFDS writes the prepared dataset ('' = user cache)
  # synthetic source
  d.num_classes = 10
  d.synthetic_per_class = 100
  d.prefetch = 2
  return d


def base_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.job = "train"
  config.preset = "paper"
  config.seed = 0
  config.data = data_config()

  m = config.model = ml_collections.ConfigDict()
  m.latent_dim = 100
  m.gen_channels = (128, 64, 32, 1)
  m.gen_strides = (2, 2, 1, 1)
  m.disc_channels = (32, 64, 128, 256)
  m.disc_strides = (2, 2, 2, 1)
  m.kernel_size = 5
  m.leaky_slope = 0.1
  m.bn_momentum = 0.99  # Keras BatchNormalization defaults
  m.bn_epsilon = 1e-3
  m.conv_transpose = "subpixel"  # 'subpixel' (fast, exact) or 'flax' (reference)
  m.dtype = "float32"  # compute dtype; params and optimizer state stay float32

  t = config.train = ml_collections.ConfigDict()
  t.steps = 20000
  t.batch_size = 64  # global batch, split over all devices and processes
  t.lr_g = 2e-4
  t.lr_d = 2e-4
  t.b1_g = 0.5
  t.b1_d = 0.5
  t.b2_g = 0.999
  t.b2_d = 0.999
  t.log_every = 100
  t.sample_every = 1000
  t.checkpoint_every = 1000
  t.keep_checkpoints = 3
  t.samples_per_class = 8  # columns of the fixed-noise sample grid
  t.async_checkpoint = True

  config.compilation_cache_dir = ""  # '' = <workdir>/../.jax_cache
  return config
