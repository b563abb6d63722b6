r"""Which techniques make signature strokes convincing? (issue 11, item 3)

    python -m ablations.run --sweep=ablations/stroke_quality/stroke_quality.py \
        --workdir=OUT

One factor at a time on the cross-media paper data (650 training images of
65 writers, 10 names; writer-disjoint test split), sized for a 2-core CPU:
batch 32, 1500 steps (60% of the ``cpu`` preset's schedule), one seed per
variant. Variants change one thing against either the original DCGAN (the
``cpu`` preset) or the ``modern`` recipe (residual G/D, nearest resize-conv
upsampling, projection discriminator + class-conditional BatchNorm, hinge
loss, spectral norm), so each row answers one question:

* upsampling: ``dcgan`` vs ``dcgan_resize`` (5x5 transposed convs vs nearest
  resize + 3x3 conv), ``modern`` vs ``modern_transpose``;
* architecture: ``dcgan`` vs ``resnet`` (residual blocks, everything else the
  original's: concat conditioning, BCE, no SN);
* conditioning, loss and regularisation: ``resnet`` -> ``resnet_proj`` ->
  ``modern`` (+ hinge + SN);
* instance noise (binary ink, see ``train.instance_noise``): ``*_noise``;
* EMA, augmentation, minibatch stddev, resolution: ``modern_*``.

Variants are listed in the order they were run (most informative first).

The candidates were taken further over seeds by ``stroke_ink.py`` and the
sweeps after it. Wall times, results and their reading:
docs/experiments/2026-11-28_stroke_quality.md.
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# the cpu preset on the cross-media paper data, 1500 steps. Resolved, it is
# stroke_quality.base.json beside this file.
BASE = {
    "data.source": "cross_media",
    "model.disc_channels": (16, 32, 64, 64),
    "model.gen_channels": (64, 32, 16, 1),
    "preset": "cpu",
    "train.batch_size": 32,
    "train.checkpoint_every": 500,
    "train.log_every": 50,
    "train.sample_every": 500,
    "train.steps": 1500,
}

_RESNET = {"model.arch": "resnet", "model.upsample": "resize_conv",
           "model.disc_channels": (8, 16, 32, 64)}
_MODERN = {**_RESNET, "model.conditioning": "projection",
           "model.spectral_norm": True, "train.loss": "hinge"}

_NOISE = {"train.instance_noise": 0.1}
# Nearest resize + 3x3 conv (the usual resize-conv kernel; 5x5 at the
# upsampled resolution costs 2.3x the transposed conv's step).
_RESIZE = {"model.upsample": "resize_conv", "model.gen_kernel_size": 3}

VARIANTS = [
    ("modern", _MODERN),
    ("dcgan", {}),
    ("dcgan_resize_noise_ema", {**_RESIZE, **_NOISE,
                                "train.ema_decay": 0.999}),
    ("dcgan_noise", _NOISE),
    ("dcgan_resize", _RESIZE),
    ("modern_noise", {**_MODERN, **_NOISE}),
    ("resnet", _RESNET),
    ("modern_ema", {**_MODERN, "train.ema_decay": 0.999}),
    ("modern_transpose", {**_MODERN, "model.upsample": "transpose"}),
    ("resnet_proj", {**_RESNET, "model.conditioning": "projection"}),
    ("modern_mbstd", {**_MODERN, "model.mbstd": True}),
    ("modern_diffaug", {**_MODERN, "train.augment": "diffaugment",
                        "train.diffaugment_policy": "translation,cutout"}),
    ("modern_128", {**_MODERN, "data.image_size": 128}),
]


def get_sweep():
  return {
      "description": "Stroke quality, one factor at a time: cross-media paper "
                     "data, batch 32, 1500 steps, 1 seed per variant "
                     "(see the sweep file's docstring).",
      "base": bases.on_paper(BASE),
      "variants": VARIANTS,
      "seeds": [0],
      "eval": {"preset": "cpu",
               "overrides": {"eval.experiments": "cas,fid"}},
  }
