"""The one definition of every config field (defaults = the 2019 paper).

Job configs (cgan.py, evaluate.py, generate.py, data_preview.py) start from
``base_config()`` and change what their preset needs, so a field means the
same thing in every job and CLI overrides (``--config.train.steps=200``) work
everywhere.

Each field is declared once: its default in ``base_config()``, the values a
field of a few choices takes in ``CHOICES``, a numeric field's range in
``RULES`` (``check_gan_options`` applies both). A config saved by a run
(``config.json`` in its workdir, ``config`` in its checkpoints' metadata) is
read back with ``upgrade`` where it is loaded: laid over ``base_config()``,
with the fields an older version did not write filled as that run behaved
(``ABSENT_MEANS``), retired fields dropped (``RETIRED``) and renamed ones
mapped (``RENAMED``), so every later reader takes ``config.train.x`` as it
is (docs/architecture.md, "Saved configs").
"""

import ml_collections


class ConfigError(ValueError):
  """A config, or a saved config.json, that cannot be used; the message
  names the file (for a saved one) and the field. ``launch.py`` reports it
  in one line."""


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
  # Why: the factor that mattered most for stroke quality (docs/recipes.md,
  # "Ink coverage").
  d.ink = "binary"
  # cross_media source
  d.label = "name"  # 'name' (10 classes) or 'writer' (93)
  # 'all' or a comma-separated subset of paper,ipad,phone_in_hand,
  # phone_on_table; splits are by writer, the same for every choice.
  # Why 'paper': more media stop D memorising but did not beat paper-only
  # (docs/experiments/2026-12-03_media_data.md).
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
  # host (values: train_loop._ON_DEVICE). Why: the loop no longer waits
  # for the host between steps (docs/performance_loop.md).
  d.on_device = "auto"
  # Order of the training batches: 'permutation' (a jax.random permutation
  # per epoch, seeded by config.seed, the same on the host and the device
  # path) or 'index_shuffle' (tf.data's, the only order before 2026-12-03;
  # host path only). A resumed workdir keeps the order its config.json
  # names; a config.json without this field resumes with 'index_shuffle'
  # (ABSENT_MEANS). Why: the device path needs an order JAX can draw
  # (docs/performance_loop.md).
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
  # device in float32, else the XLA forms (values: CHOICES). Why: oneDNN is
  # 1.3-1.9x faster than XLA:CPU in every pass (docs/performance.md, "0c").
  m.conv_transpose = "auto"
  m.conv_impl = "auto"
  m.dtype = "float32"  # compute dtype; params and optimizer state stay float32
  # Data-efficient options (sigjax/models/cgan.py); defaults = the original.
  # 'concat': label map as D's 2nd channel, one-hot concatenated to G's z.
  # 'projection': projection discriminator (Miyato & Koyama 2018) and
  # class-conditional BatchNorm in G (per-class gamma/beta; z only, no one-hot).
  # Why not the default: best class fidelity but more ink pieces
  # (docs/experiments/2026-12-01_stroke_cond.md).
  m.conditioning = "concat"
  # Spectral normalisation of every D kernel; with projection and hinge:
  # names lost or collapse (docs/experiments/2026-11-28_stroke_quality.md).
  m.spectral_norm = False
  # Stroke-quality options (sigjax/models/cgan.py); defaults = the original.
  # 'dcgan' (the original G/D) or 'resnet' (SNGAN/BigGAN-style residual
  # blocks; G's width unit is gen_channels[0] / 8, D's is disc_channels[0]).
  # Why not 'resnet': it collapsed
  # (docs/experiments/2026-11-29_stroke_augment.md).
  m.arch = "dcgan"
  # G's upsampling: 'transpose' (5x5 stride-2 transposed convolutions, the
  # original) or 'resize_conv' (resize_method upsampling, then a stride-1
  # convolution: no checkerboard by construction; docs/recipes.md,
  # "Resize-convolutions and an EMA generator").
  m.upsample = "transpose"
  # 'nearest' or 'bilinear' (level with nearest:
  # docs/experiments/2026-11-29_stroke_smooth.md).
  m.resize_method = "nearest"
  # How a nearest resize-conv is computed: 'direct' (upsample, then the
  # kernel over the s-times larger image) or 'phase' (the same function as
  # s*s smaller convolutions of the low-resolution input, one per output
  # phase, each with the kernel's taps summed where they read the same
  # input pixel: 2.25x fewer FLOPs for 3x3 at s=2; the same parameters, other
  # rounding; docs/performance_loop.md, "Per layer and pass"). Nearest only.
  m.resize_conv_form = "direct"
  m.gen_kernel_size = 0  # DCGAN G's kernel size; 0 = kernel_size (D's too)
  # Minibatch-stddev channel in D (Karras et al. 2018); 1 point lower on CAS
  # (docs/experiments/2026-11-29_stroke_smooth.md).
  m.mbstd = False
  # Cross-media data: the medium (paper, ipad, ...) as a condition of G and
  # D beside the name (a one-hot of each with 'concat', a sum of a name and
  # a medium embedding with 'projection'), so a GAN trained on several media
  # draws the one asked for (generate/evaluate: paper by default). Off: the
  # media are pooled under their names. No effect on data of one medium
  # (synthetic, folder, cross_media with one medium in data.media).
  # Evidence: docs/experiments/2026-12-03_media_data.md.
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
  # defaults are the original's training. Their switches and first runs:
  # docs/experiments/2026-11-28_options.md.
  t.loss = "bce"  # 'bce' (non-saturating), 'hinge' or 'wgan_gp'
  t.gp_weight = 10.0  # wgan_gp: weight of the gradient penalty
  # R1 penalty gamma/2 * E||grad_x D(x)||^2 on reals; 0 = off. Why: it beat
  # instance noise in :quality (docs/recipes.md, "R1").
  t.r1_gamma = 0.0
  # 'none', 'diffaugment' or 'ada'; names lost or collapse here
  # (docs/experiments/2026-11-29_stroke_augment.md).
  t.augment = "none"
  # ops of diffaugment and ada: translation, cutout, brightness, contrast
  t.diffaugment_policy = "translation,cutout,brightness,contrast"
  t.ada_target = 0.6  # ada: target of r_t = E[sign(D(real))]
  t.ada_interval = 4  # ada: steps between adjustments of p
  t.ada_speed = 5e-4  # ada: change of p per step (p moves by 1 in 2000 steps)
  t.ema_decay = 0.0  # EMA of G's weights for samples/inference; 0 = off
  # Steps during which the EMA copies G (0 = average from step 0). Why: an
  # EMA from the initial weights still holds a fifth of them at step 1500
  # (docs/recipes.md, "Resize-convolutions and an EMA generator").
  t.ema_start = 0
  # True: the decay ramps up as min(ema_decay, (1 + n) / (10 + n)), n = steps
  # averaged so far (TF's ExponentialMovingAverage num_updates), so a short
  # run's EMA is not dominated by the weights it started from; no gain
  # beyond the seed spread (docs/experiments/2026-11-29_stroke_budget.md).
  t.ema_warmup = False
  t.d_steps = 1  # D updates per G update, each on its own real batch
  # Std of Gaussian noise added to every image D sees (real and fake); 0 = off.
  # R1 replaced it in :quality (docs/recipes.md, "R1").
  t.instance_noise = 0.0
  # k > 0: the std decays linearly to 0 at step k; blotchier grids
  # (docs/experiments/2026-11-29_stroke_budget.md).
  t.instance_noise_steps = 0
  # LeCam regularisation of D (Tseng et al. 2021, for limited data): weight
  # of E[relu(D(x) - a_fake)^2] + E[relu(a_real - D(G(z)))^2], a_* the EMAs
  # (decay lecam_decay) of D's mean logits on real and fake; 0 = off.
  # 0.01 failed on ink pieces (docs/experiments/2026-11-30_stroke_overfit.md).
  t.lecam_weight = 0.0
  t.lecam_decay = 0.99
  # Linear decay of both learning rates to 0 over lr_decay_steps steps from
  # step lr_decay_start (pix2pix/CycleGAN); 0 steps = off. Level with
  # :quality (docs/experiments/2026-12-01_stroke_lr_decay.md).
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
  # (jax 0.10's default); sigjax.parallel.compiler_options (values: the keys
  # of its XLA_CPU_CONV). CPU only. Evidence: docs/performance.md, "3.".
  config.xla_cpu_conv = "eigen"
  return config


# ----------------------------------------------------------- validation --

# The values of every field that takes one of a few names (the default is
# base_config()'s). The modules that act on them take their lists from here.
CHOICES = {
    "data.ink": ("binary", "coverage"),
    "data.batch_order": ("permutation", "index_shuffle"),
    "model.conv_transpose": ("auto", "onednn", "phase", "subpixel",
                             "subpixel_xla", "flax"),
    "model.conv_impl": ("auto", "onednn", "xla"),
    "model.dtype": ("float32", "bfloat16"),
    "model.conditioning": ("concat", "projection"),
    "model.arch": ("dcgan", "resnet"),
    "model.upsample": ("transpose", "resize_conv"),
    "model.resize_method": ("nearest", "bilinear"),
    "model.resize_conv_form": ("direct", "phase"),
    "train.loss": ("bce", "hinge", "wgan_gp"),
    "train.augment": ("none", "diffaugment", "ada"),
}
AUGMENT_OPS = ("translation", "cutout", "brightness", "contrast")


def _is_int(v) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool)


def _at_least(low):
  return lambda v: _is_number(v) and v >= low


def _int_at_least(low):
  return lambda v: _is_int(v) and v >= low


# Numeric and boolean options: field -> (test, what a value must be).
RULES = {
    "train.gp_weight": (_at_least(0), "must be >= 0"),
    "train.r1_gamma": (_at_least(0), "must be >= 0"),
    "train.ada_speed": (_at_least(0), "must be >= 0"),
    "train.instance_noise": (_at_least(0), "must be >= 0"),
    "train.lecam_weight": (_at_least(0), "must be >= 0"),
    "train.ema_decay": (lambda v: _is_number(v) and 0.0 <= v < 1.0,
                        "use 0 (off) or a value in (0, 1), e.g. 0.999"),
    "train.d_steps": (_int_at_least(1), "must be an integer >= 1"),
    "train.ada_interval": (_int_at_least(1), "must be an integer >= 1"),
    "train.steps_per_dispatch": (_int_at_least(1), "must be an integer >= 1"),
    "train.num_seeds": (_int_at_least(1), "must be an integer >= 1 (the "
                        "seeds config.seed ... config.seed + num_seeds - 1)"),
    "train.instance_noise_steps": (
        _int_at_least(0), "must be an integer >= 0 (0: constant noise)"),
    "train.ema_start": (_int_at_least(0), "must be an integer >= 0"),
    "train.lr_decay_start": (_int_at_least(0), "must be an integer >= 0"),
    "train.lr_decay_steps": (_int_at_least(0),
                             "must be an integer >= 0 (0: no decay)"),
    "train.lecam_decay": (lambda v: _is_number(v) and 0.0 <= v < 1.0,
                          "must be in [0, 1), e.g. 0.99"),
    "train.ada_target": (lambda v: _is_number(v) and 0.0 <= v <= 1.0,
                         "must be in [0, 1]"),
    "train.ema_warmup": (lambda v: isinstance(v, bool), "use True or False"),
    "model.spectral_norm": (lambda v: isinstance(v, bool),
                            "use True or False"),
    "model.mbstd": (lambda v: isinstance(v, bool), "use True or False"),
    "model.medium_conditioning": (lambda v: isinstance(v, bool),
                                  "use True or False"),
}


MEDIA = ("paper", "ipad", "phone_in_hand", "phone_on_table")


def media_list(data_cfg) -> list:
  """``data.media`` as a list in canonical order ('all' = every medium);
  raises ValueError naming the setting for an unknown or empty one."""
  text = str(data_cfg["media"] or "")
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


def _field(config, path: str):
  section, name = path.split(".")
  return config[section][name]


def check_gan_options(config) -> None:
  """Raises ConfigError (a ValueError) naming the setting when an option
  is not one of its ``CHOICES`` or breaks its ``RULES``."""
  for path, choices in CHOICES.items():
    value = _field(config, path)
    if value not in choices:
      raise ConfigError(f"{path}={value!r}: use {_or(choices)}")
  for path, (ok, must) in RULES.items():
    value = _field(config, path)
    if not ok(value):
      raise ConfigError(f"{path}={value!r}: {must}")
  if config.model.medium_conditioning and config.data.source == "cross_media":
    media_list(config.data)
  if config.train.augment != "none":
    policy = config.train.diffaugment_policy
    ops = [op.strip() for op in policy.split(",") if op.strip()]
    bad = [op for op in ops if op not in AUGMENT_OPS]
    if bad or not ops:
      raise ConfigError(
          f"train.diffaugment_policy={policy!r}: give a comma-separated "
          f"subset of {', '.join(AUGMENT_OPS)}"
          + (f" (unknown: {', '.join(bad)})" if bad else ""))


# ------------------------------------------------------- saved configs --

# A saved config without one of these fields was written before the field
# existed; the value is what that run did, where it is not today's default.
# (Every other field missing from a saved config takes its base_config()
# default: each option was added with a default that builds what the code
# did before it, CHANGELOG.md.)
ABSENT_MEANS = {
    # tf.data's index shuffle was the only batch order before 2026-12-03;
    # such a run resumes with it, exactly (docs/performance_loop.md).
    "data.batch_order": "index_shuffle",
}
# Fields earlier versions wrote that no longer exist: field -> why dropping
# it changes nothing.
RETIRED = {
    "data.shuffle_buffer": "unused since 2026-11-24: the shuffle is always "
                           "over the whole training set",
}
# Renamed fields, old name -> today's. None so far: every field keeps the
# name it was added with.
RENAMED = {}
# Former names of configs/cgan.py's presets -> today's (CHANGELOG.md); a
# saved training config names today's.
PRESET_ALIASES = {"cpu": "dcgan_small"}


def _kind(default) -> str:
  if isinstance(default, bool):
    return "True or False"
  if isinstance(default, int):
    return "an integer"
  if isinstance(default, float):
    return "a number"
  if isinstance(default, str):
    return "a string"
  return "a list" if isinstance(default, tuple) else type(default).__name__


def _saved_value(value, default, where: str):
  """``value`` as the type of ``default`` (JSON has lists for tuples and may
  have 2 for 2.0); ConfigError naming ``where`` when it is another kind."""
  if isinstance(default, bool):
    ok = isinstance(value, bool)
  elif isinstance(default, int):
    ok = _is_int(value)
  elif isinstance(default, float):
    ok = _is_number(value)
    value = float(value) if ok else value
  elif isinstance(default, str):
    ok = isinstance(value, str)
  else:  # a tuple (the only other kind of field)
    ok = isinstance(value, (list, tuple))
    value = tuple(value) if ok else value
  if not ok:
    raise ConfigError(f"{where}={value!r}: expected {_kind(default)} "
                      f"(the default is {default!r})")
  return value


def _flat(values: dict, prefix: str = ""):
  """(dotted path, value) of every leaf of a nested dict."""
  for key, value in values.items():
    path = f"{prefix}{key}"
    if isinstance(value, dict):
      yield from _flat(value, path + ".")
    else:
      yield path, value


def _parent(config, path: str):
  """(the ConfigDict holding ``path``, its last name), or None when
  ``config`` has no such field."""
  *sections, name = path.split(".")
  node = config
  for s in sections:
    if s not in node or not isinstance(node[s], ml_collections.ConfigDict):
      return None
    node = node[s]
  return (node, name) if name in node else None


def _retired(path: str) -> bool:
  return any(path == r or path.startswith(r + ".") for r in RETIRED)


def upgrade(saved, source: str = "the saved config"
            ) -> ml_collections.ConfigDict:
  """The config a run saved (its workdir's ``config.json`` or a checkpoint's
  ``meta['config']``; a dict or ConfigDict), written by any version of this
  code, as today's config: ``base_config()`` with the saved values laid
  over it. A field the saved config lacks takes the value that reproduces
  how that run behaved (``ABSENT_MEANS``, else its default); retired fields
  are dropped, renamed fields and presets mapped. Raises ConfigError naming
  ``source`` (the file) and the field for what it cannot interpret: a field
  this version does not know, a value of another kind, an option outside
  its ``CHOICES`` or ``RULES``.
  """
  if isinstance(saved, ml_collections.ConfigDict):
    saved = saved.to_dict()
  if not isinstance(saved, dict):
    raise ConfigError(f"{source}: expected a JSON object of config fields, "
                      f"got {type(saved).__name__}")
  config = base_config()
  present = set()
  for path, value in _flat(saved):
    path = RENAMED.get(path, path)
    if _retired(path):
      continue
    where = f"{source}: {path}"
    found = _parent(config, path)
    if found is None:
      raise ConfigError(
          f"{where} is not a field of this version's config "
          "(configs/common.py): written by a newer version, or edited by "
          "hand?")
    node, name = found
    if isinstance(node[name], ml_collections.ConfigDict):
      raise ConfigError(f"{where}={value!r}: expected a section of fields")
    node[name] = _saved_value(value, node[name], where)
    present.add(path)
  for path, value in ABSENT_MEANS.items():
    if path not in present:
      node, name = _parent(config, path)
      node[name] = value
  if config.job == "train":
    config.preset = PRESET_ALIASES.get(config.preset, config.preset)
  try:
    check_gan_options(config)
  except ValueError as e:
    raise ConfigError(f"{source}: {e}") from None
  return config
