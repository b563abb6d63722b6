r"""Augmentation and architecture on top of `:quality` (2026-11-29): does D
overfit the 650 signatures, and does the residual recipe that collapsed on
binary ink train on coverage ink?

    python -m ablations.run --sweep=ablations/stroke_quality/stroke_augment.py \
        --workdir=OUT

The cross-media paper data gives the GAN 650 training images (10 names,
writer-disjoint split). `:quality` shows D each of them ~74 times in its 1500
steps of batch 32, and the evaluation's competent detector still tells 96% of
its samples from real ones: the setting where a discriminator memorises its
few real images and stops giving G useful gradients (Zhao et al. 2020,
Karras et al. 2020). Every row is ``configs/cgan.py:quality`` itself
(coverage ink, nearest resize + 3x3 convolutions in G, instance noise 0.1,
EMA from step 1000, D at 32-64-128-128, batch 32, 1500 steps), changed in
one place:

* ``diffaugment``: DiffAugment (Zhao et al. 2020) with translation (1/8 of
  the image) and cutout (a half-size square), applied to every image D sees,
  real and fake, in D's and G's losses. Brightness and contrast are left out:
  they change the ink level, which is what the Otsu threshold of the scored
  images depends on;
* ``resnet``: ``model.arch='resnet'``, SNGAN/BigGAN-style pre-activation
  residual G and D (G: 4x4 base, nearest-resize up-blocks, widths 64-64-32-
  16-8 from ``gen_channels[0] = 64``; D: average-pool down-blocks of width
  ``disc_channels[0] = 32``), everything else ``:quality``'s (concat
  conditioning, BCE, no spectral norm). The first sweep's ``modern`` row
  (residual G/D with projection, hinge and spectral norm, on binary ink)
  collapsed because G's sigmoid saturated on binary ink; coverage ink and
  instance noise remove that cause, so this row asks the architecture
  question again, one factor away from the preset;
* ``r1_no_noise``: R1 on real images (gamma 0.0256, the StyleGAN2-ADA
  heuristic 0.0002 * 64^2 / 32, as ``loss_and_regularisation.py``) in place
  of the instance noise. Added after reading ``:quality``'s own training
  logs: from step 750 on its D is right on only ~67% of the images it
  trains on (real and fake alike, both seeds), while the evaluation's
  detector, trained on the clean images, is right on 96%. D is not
  memorising its data; it is half-blind, because the noise (std 0.1) hides
  the fine speckle and the stroke breaks. R1 is the regulariser that
  noise approximates (Roth et al. 2017, Mescheder et al. 2018) without
  blurring what D sees.

ADA was not run: it lowers its augmentation probability while
r_t = E[sign D(real)] is under its target (0.6), and ``:quality``'s D has
r_t ~ 2 * 0.67 - 1 = 0.34, so ADA would stay at p ~ 0, i.e. ``:quality``.

The rows of the preset are not retrained: its three seeds are the
``quality_wide_d`` runs of ``stroke_budget.py`` (seeds 0, 1) and the preset's
seed 2, scored with the same experiments
(docs/experiments/2026-11-29_stroke_budget.md). Evaluation: the ``cpu`` preset
with every experiment but the multi-label one (CAS, TSTR, the competent
detector, FID/KID, precision and recall, the independent network, the stroke
structure), because the wide-D study found the suite's FID alone rewarding a
change that every harsher measure and the pictures rejected. ~22 min of
training and ~12 min of evaluation per run on a 2-vCPU Zen 3 EPYC. Seeds 0 and
1. Results: docs/experiments/2026-11-29_stroke_augment.md.
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# :quality as of 2026-11-29 12:21 (wide D, instance noise 0.1, no R1; G
# 64-32-16-1, 1500 steps). Resolved, it is stroke_augment.base.json beside this
# file.
BASE = {
    "data.ink": "coverage",
    "data.source": "cross_media",
    "model.disc_channels": (32, 64, 128, 128),
    "model.gen_channels": (64, 32, 16, 1),
    "model.gen_kernel_size": 3,
    "model.upsample": "resize_conv",
    "preset": "quality",
    "train.batch_size": 32,
    "train.checkpoint_every": 500,
    "train.ema_decay": 0.999,
    "train.ema_start": 1000,
    "train.instance_noise": 0.1,
    "train.log_every": 50,
    "train.sample_every": 500,
    "train.steps": 1500,
}

# The evaluation of the rows since stroke_smooth.py.
EVAL = {"preset": "cpu",
        "overrides": {"eval.experiments":
                      "cas,tstr,realfake,fid,prd,indep,strokes"}}

VARIANTS = [
    ("diffaugment", {"train.augment": "diffaugment",
                     "train.diffaugment_policy": "translation,cutout"}),
    ("resnet", {"model.arch": "resnet"}),
    # gamma = 0.0002 * 64^2 / 32, the StyleGAN2-ADA heuristic.
    ("r1_no_noise", {"train.instance_noise": 0.0, "train.r1_gamma": 0.0256}),
]


def get_sweep():
  return {
      "description": "One change to :quality (cross-media paper data, 650 "
                     "training images, batch 32, 1500 steps, seeds 0 and 1): "
                     "DiffAugment with translation and cutout, residual G "
                     "and D, or R1 in place of the instance noise.",
      "base": bases.on_paper(BASE),
      "variants": VARIANTS,
      "seeds": [0, 1],
      "eval": EVAL,
  }
