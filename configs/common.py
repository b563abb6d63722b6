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
  # 'binary' (the original: Otsu threshold, ink 1 / paper 0) or 'coverage'
  # (each pixel's ink coverage in [0, 1] after the area-averaging resize, no
  # threshold: thin strokes keep sub-pixel width and position). A generator
  # trained on 'coverage' is binarised by the same Otsu step when it is
  # evaluated and by configs/generate.py (sigjax.preprocess.otsu_ink).
  d.ink = "binary"
  # cross_media source
  d.label = "name"  # 'name' (10 classes) or 'writer' (93)
  # 'all' or a comma-separated subset of paper,ipad,phone_in_hand,
  # phone_on_table; splits are by writer, the same for every choice.
  d.media = "paper"
  d.variant = "bin"  # 'bin' (authors' binarized) or 'raw' (writers 1-10 only)
  d.tfds_data_dir = ""  # where TFDS writes the prepared dataset ('' = user cache)
  # synthetic source
  d.num_classes = 10
  d.synthetic_per_class = 100
  d.prefetch = 2
  # Where the training set lives while training (sigjax/train_loop.py):
  # 'auto' keeps it resident on the device when it fits (a quarter of the
  # device's memory; on CPU at most 4 GiB) and draws each batch there,
  # inside the jitted step; 'true' insists, 'false' feeds batches from the
  # host.
  d.on_device = "auto"
  # Order of the training batches: 'permutation' (a jax.random permutation
  # per epoch, seeded by config.seed, the same on the host and the device
  # path) or 'index_shuffle' (tf.data's, the only order before 2026-12-03;
  # host path only). A resumed workdir keeps the order its config.json
  # names; a config.json without this field resumes with 'index_shuffle'.
  d.batch_order = "permutation"
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
  # Lowering of G's transposed convs and D's convs (same function, different
  # speed; sigjax.models.cgan.resolve_conv_impls). 'auto': oneDNN on one CPU
  # device in float32, else the XLA forms. conv_transpose: 'auto', 'onednn',
  # 'phase', 'subpixel', 'subpixel_xla', 'flax' (reference); conv_impl:
  # 'auto', 'onednn', 'xla'.
  m.conv_transpose = "auto"
  m.conv_impl = "auto"
  m.dtype = "float32"  # compute dtype; params and optimizer state stay float32
  # Data-efficient options (sigjax/models/cgan.py); defaults = the original.
  # 'concat': label map as D's 2nd channel, one-hot concatenated to G's z.
  # 'projection': projection discriminator (Miyato & Koyama 2018) and
  # class-conditional BatchNorm in G (per-class gamma/beta; z only, no one-hot).
  m.conditioning = "concat"
  m.spectral_norm = False  # spectral normalisation of every D kernel
  # Stroke-quality options (sigjax/models/cgan.py); defaults = the original.
  # 'dcgan' (the original G/D) or 'resnet' (SNGAN/BigGAN-style residual
  # blocks; G's width unit is gen_channels[0] / 8, D's is disc_channels[0]).
  m.arch = "dcgan"
  # G's upsampling: 'transpose' (5x5 stride-2 transposed convolutions, the
  # original) or 'resize_conv' (resize_method upsampling, then a stride-1
  # convolution: no checkerboard by construction).
  m.upsample = "transpose"
  m.resize_method = "nearest"  # 'nearest' or 'bilinear'
  m.gen_kernel_size = 0  # DCGAN G's kernel size; 0 = kernel_size (D's too)
  m.mbstd = False  # minibatch-stddev channel in D (Karras et al. 2018)
  # Cross-media data: the medium (paper, ipad, ...) as a condition of G and
  # D beside the name (a one-hot of each with 'concat', a sum of a name and
  # a medium embedding with 'projection'), so a GAN trained on several media
  # draws the one asked for (generate/evaluate: paper by default). Off: the
  # media are pooled under their names. No effect on data of one medium
  # (synthetic, folder, cross_media with one medium in data.media).
  m.medium_conditioning = False

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
  # Data-efficient options (sigjax/train.py, losses.py, augment.py); the
  # defaults are the original's training.
  t.loss = "bce"  # 'bce' (non-saturating), 'hinge' or 'wgan_gp'
  t.gp_weight = 10.0  # wgan_gp: weight of the gradient penalty
  t.r1_gamma = 0.0  # R1 penalty gamma/2 * E||grad_x D(x)||^2 on reals; 0 = off
  t.augment = "none"  # 'none', 'diffaugment' or 'ada'
  # ops of diffaugment and ada: translation, cutout, brightness, contrast
  t.diffaugment_policy = "translation,cutout,brightness,contrast"
  t.ada_target = 0.6  # ada: target of r_t = E[sign(D(real))]
  t.ada_interval = 4  # ada: steps between adjustments of p
  t.ada_speed = 5e-4  # ada: change of p per step (p moves by 1 in 2000 steps)
  t.ema_decay = 0.0  # EMA of G's weights for samples/inference; 0 = off
  t.ema_start = 0  # steps during which the EMA copies G (0 = average from step 0)
  # True: the decay ramps up as min(ema_decay, (1 + n) / (10 + n)), n = steps
  # averaged so far (TF's ExponentialMovingAverage num_updates), so a short
  # run's EMA is not dominated by the weights it started from.
  t.ema_warmup = False
  t.d_steps = 1  # D updates per G update, each on its own real batch
  # Std of Gaussian noise added to every image D sees (real and fake); 0 = off.
  t.instance_noise = 0.0
  t.instance_noise_steps = 0  # k > 0: the std decays linearly to 0 at step k
  # LeCam regularisation of D (Tseng et al. 2021, for limited data): weight
  # of E[relu(D(x) - a_fake)^2] + E[relu(a_real - D(G(z)))^2], a_* the EMAs
  # (decay lecam_decay) of D's mean logits on real and fake; 0 = off.
  t.lecam_weight = 0.0
  t.lecam_decay = 0.99
  # Linear decay of both learning rates to 0 over lr_decay_steps steps from
  # step lr_decay_start (pix2pix/CycleGAN); 0 steps = off.
  t.lr_decay_start = 0
  t.lr_decay_steps = 0
  # Train steps per compiled call on the device-resident path (a loop over
  # the step inside one executable); a call never crosses a log, sample,
  # checkpoint or stop boundary. 1 = one call per step (k > 1 is bitwise
  # the same run; not measured faster on CPU, docs/performance_loop.md).
  t.steps_per_dispatch = 1
  # Seeds trained as one program (jax.vmap over S independent GANs): seeds
  # config.seed ... config.seed + S - 1, each an ordinary run directory
  # WORKDIR/seed_<s> (sigjax/train_loop.py: seed_runs). 1 = one run in
  # WORKDIR itself.
  t.num_seeds = 1

  config.compilation_cache_dir = ""  # '' = <workdir>/../.jax_cache
  # XLA:CPU convolutions: 'eigen' (XLA's own, measured fastest) or 'ynnpack'
  # (jax 0.10's default); sigjax.parallel.compiler_options. CPU only.
  config.xla_cpu_conv = "eigen"
  return config


_CHOICES = {
    ("data", "ink"): ("binary", "coverage"),
    ("model", "conditioning"): ("concat", "projection"),
    ("model", "arch"): ("dcgan", "resnet"),
    ("model", "upsample"): ("transpose", "resize_conv"),
    ("model", "resize_method"): ("nearest", "bilinear"),
    ("train", "loss"): ("bce", "hinge", "wgan_gp"),
    ("train", "augment"): ("none", "diffaugment", "ada"),
}
AUGMENT_OPS = ("translation", "cutout", "brightness", "contrast")


MEDIA = ("paper", "ipad", "phone_in_hand", "phone_on_table")


def media_list(data_cfg) -> list:
  """``data.media`` as a list in canonical order ('all' = every medium);
  raises ValueError naming the setting for an unknown or empty one."""
  text = str(data_cfg.get("media", "paper") or "")
  want = [m.strip() for m in text.split(",") if m.strip()]
  if want == ["all"]:
    return list(MEDIA)
  bad = [m for m in want if m not in MEDIA]
  if bad or not want:
    raise ValueError(f"config.data.media={text!r}: use 'all' or a "
                     f"comma-separated subset of {','.join(MEDIA)}")
  return [m for m in MEDIA if m in want]


def _or(choices) -> str:
  return ", ".join(choices[:-1]) + " or " + choices[-1]


def gan_option(config, section: str, name: str, default):
  """``config.<section>.<name>``, or ``default`` for configs saved before the
  field existed (checkpoints of older runs)."""
  return config[section].get(name, default)


def check_gan_options(config) -> None:
  """Raises ValueError naming the setting when a GAN option is invalid."""
  for (section, name), choices in _CHOICES.items():
    value = gan_option(config, section, name, choices[0])
    if value not in choices:
      raise ValueError(f"{section}.{name}={value!r}: use {_or(choices)}")
  t = config.train
  for name in ("gp_weight", "r1_gamma", "ada_speed", "instance_noise",
               "lecam_weight"):
    value = gan_option(config, "train", name, 0.0)
    if not value >= 0:
      raise ValueError(f"train.{name}={value!r}: must be >= 0")
  decay = gan_option(config, "train", "ema_decay", 0.0)
  if not 0.0 <= decay < 1.0:
    raise ValueError(f"train.ema_decay={decay!r}: use 0 (off) or a value in "
                     "(0, 1), e.g. 0.999")
  for name in ("d_steps", "ada_interval"):
    value = gan_option(config, "train", name, 1)
    if not isinstance(value, int) or value < 1:
      raise ValueError(f"train.{name}={value!r}: must be an integer >= 1")
  steps = gan_option(config, "train", "instance_noise_steps", 0)
  if not isinstance(steps, int) or steps < 0:
    raise ValueError(f"train.instance_noise_steps={steps!r}: must be an "
                     "integer >= 0 (0: constant noise)")
  for section, name in (("train", "ema_warmup"),
                        ("model", "medium_conditioning")):
    value = gan_option(config, section, name, False)
    if not isinstance(value, bool):
      raise ValueError(f"{section}.{name}={value!r}: use True or False")
  if (gan_option(config, "model", "medium_conditioning", False)
      and config.data.get("source") == "cross_media"):
    media_list(config.data)
  for name, what in (("ema_start", ""), ("lr_decay_start", ""),
                     ("lr_decay_steps", " (0: no decay)")):
    value = gan_option(config, "train", name, 0)
    if not isinstance(value, int) or value < 0:
      raise ValueError(f"train.{name}={value!r}: must be an integer >= 0"
                       f"{what}")
  decay = gan_option(config, "train", "lecam_decay", 0.99)
  if not 0.0 <= decay < 1.0:
    raise ValueError(f"train.lecam_decay={decay!r}: must be in [0, 1), "
                     "e.g. 0.99")
  target = gan_option(config, "train", "ada_target", 0.6)
  if not 0.0 <= target <= 1.0:
    raise ValueError(f"train.ada_target={target!r}: must be in [0, 1]")
  if gan_option(config, "train", "augment", "none") != "none":
    policy = t.get("diffaugment_policy", "")
    ops = [op.strip() for op in policy.split(",") if op.strip()]
    bad = [op for op in ops if op not in AUGMENT_OPS]
    if bad or not ops:
      raise ValueError(
          f"train.diffaugment_policy={policy!r}: give a comma-separated "
          f"subset of {', '.join(AUGMENT_OPS)}"
          + (f" (unknown: {', '.join(bad)})" if bad else ""))
