r"""CGAN training configs.

Presets are chosen after a colon: ``--config=configs/cgan.py:paper``.

* ``paper``: the 2019 Keras project exactly (batch 64, 20000 steps, widths
  128-64-32-1 / 32-64-128-256, Adam(2e-4, b1=0.5)). It never changes; the
  sweeps in ``ablations/`` state their bases as overrides on it.
* ``dcgan_small`` (``cpu`` is its former name and still works): the 2019
  DCGAN at half G's widths, a quarter of D's and half the batch, 2500
  steps: class-conditional signatures on a 2-core CPU in ~15 minutes
  whose names a reader seldom makes out (docs/architecture.md,
  "Training"; docs/results.md).
* ``quality`` (the default until 2026-12-04): the stroke-quality recipe in
  a 30-minute budget: G learns ink coverage, nearest resize + 3x3
  convolutions (computed in the phase form) and an EMA in G, R1 on D's
  real images, G 64-32-16-1, D 32-64-128-128, batch 32, 2500 steps (~22
  min on a 2-vCPU Zen 4 EPYC, measured 2026-12-03; README); an independent
  network reads the name in 4 of 5 of its signatures. Each part and its
  evidence: docs/recipes.md; its changes and the flags that let older
  workdirs finish as they began: CHANGELOG.md.
* ``quality_gpu``: the same recipe at the paper's widths, batch and 20000
  steps, for one GPU (not measured on a GPU).
* ``legible`` (default): ``quality`` with projection conditioning, every
  medium of cross-media data with the medium a condition (drawn as paper;
  no effect on data of one medium) and 5000 steps: the best measured class
  fidelity (docs/experiments/2026-12-03_media_data.md, "Three seeds of
  the finalist"), at twice ``quality``'s training time (~45 min on a
  2-vCPU Zen 4 EPYC, 61 images/s, measured 2026-12-04;
  benchmarks/results/train_loop_legible_cpu_2026-12-04.jsonl).
* ``test``: tiny widths and a handful of steps, for the test suite.
"""

import ml_collections

from configs import common


# Former preset names -> today's (CHANGELOG.md; saved configs are mapped
# the same way, common.upgrade).
ALIASES = common.PRESET_ALIASES


def get_config(preset: str = "legible") -> ml_collections.ConfigDict:
  preset = ALIASES.get(preset, preset or "legible")
  config = common.base_config()
  config.job = "train"
  config.preset = preset

  if preset == "paper":
    pass  # common.base_config() is the paper setting.
  elif preset == "dcgan_small":
    # ~8x less work per step than `paper`: class-conditional signatures
    # in ~2500 steps (docs/architecture.md, "Training").
    config.model.gen_channels = (64, 32, 16, 1)
    config.model.disc_channels = (16, 32, 64, 64)
    config.train.batch_size = 32
    config.train.steps = 2500
    config.train.log_every = 50
    config.train.sample_every = 250
    config.train.checkpoint_every = 500
  elif preset in ("quality", "quality_gpu", "legible"):
    m, t = config.model, config.train
    config.data.ink = "coverage"
    m.upsample = "resize_conv"
    m.resize_method = "nearest"
    m.gen_kernel_size = 3
    # The same function computed on the low-resolution input: the CPU
    # step 1.28x faster, and three seeds within :quality's spread by the
    # rule written before them (docs/performance_loop.md, "Per layer and
    # pass"). Runs begun in the direct form keep it when resumed.
    m.resize_conv_form = "phase"
    t.ema_decay = 0.999
    t.ema_start = 5000 if preset == "quality_gpu" else 1000
    if preset in ("quality", "legible"):
      # 2500 steps of the cpu preset's G beat 1500 and match G at the
      # paper's widths at half the step time (docs/recipes.md, "Schedule
      # and G's width").
      m.gen_channels = (64, 32, 16, 1)
      # Twice the cpu preset's D: TSTR, detector and recall better over 3
      # seeds (docs/recipes.md, "D's width").
      m.disc_channels = (32, 64, 128, 128)
      t.batch_size = 32
      t.steps = 2500
      t.log_every = 50
      t.sample_every = 500
      t.checkpoint_every = 500
    if preset == "legible":
      # The projection discriminator and class-conditional BatchNorm in G:
      # the largest gain in class fidelity measured; every medium of the
      # training writers with the medium a condition: D memorises from
      # step 2800 instead of 1350, so 5000 steps keep improving
      # (docs/experiments/2026-12-03_media_data.md).
      m.conditioning = "projection"
      m.medium_conditioning = True
      config.data.media = "all"
      t.steps = 5000
    # R1 on real images in place of instance noise (docs/recipes.md, "R1");
    # gamma = 0.0002 * size^2 / batch (the StyleGAN2-ADA heuristic).
    t.instance_noise = 0.0
    t.r1_gamma = 0.0002 * config.data.image_size ** 2 / t.batch_size
  elif preset == "test":
    config.data.synthetic_per_class = 16
    config.data.num_classes = 3
    config.data.image_size = 16
    config.model.latent_dim = 8
    config.model.gen_channels = (8, 8, 4, 1)
    config.model.disc_channels = (4, 8, 8, 8)
    config.train.batch_size = 8
    config.train.steps = 4
    config.train.log_every = 1
    config.train.sample_every = 2
    config.train.checkpoint_every = 2
    config.train.samples_per_class = 2
  else:
    raise ValueError(
        f"configs/cgan.py: unknown preset {preset!r}; use legible "
        "(default), quality, quality_gpu, paper, dcgan_small (formerly cpu) or test")
  return config
