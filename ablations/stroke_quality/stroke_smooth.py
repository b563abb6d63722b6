r"""Where does the speckle inside `:quality`'s strokes come from? (2026-11-29)

    python -m ablations.run --sweep=ablations/stroke_quality/stroke_smooth.py \
        --workdir=OUT

``configs/cgan.py:quality`` as of 2026-11-29 17:14 (coverage ink, nearest
resize + 3x3 convolutions in G, R1 0.0256 on real images, EMA from step 1000, D
at 32-64-128-128, batch 32, 1500 steps) draws each name's layout, but its raw
sigmoid output (before the Otsu threshold that makes the scored images) is
already speckled: dark dots on grey inside every stroke, where the real
coverage images have smooth grey stroke edges. The threshold turns those dots
into broken strokes and 2x the real number of ink pieces per image (the
``strokes`` experiment). Pixel-level speckle is a high-frequency artefact: G's
last two layers work at 64x64 on a nearest-neighbour upsampled 32x32 map, so
each 2x2 block starts as one value, and D's first layer is a stride-2
convolution that can alias such textures. Each row is ``:quality`` changed in
one place:

* ``bilinear``: ``model.resize_method='bilinear'``: G upsamples by bilinear
  interpolation (a low-pass filter) instead of repeating pixels, the
  choice of Odena et al. (2016) beside nearest;
* ``mbstd``: ``model.mbstd=True``: a minibatch standard-deviation channel
  before D's last layer (Karras et al. 2018), so that D sees how alike a
  batch's samples are.

``:quality``'s own rows are not retrained: its three seeds are
``stroke_augment.py``'s ``r1_no_noise`` runs (seeds 0, 1) and the preset's
seed 2, scored with the same experiments. Evaluation: the ``cpu`` preset
with every experiment but the multi-label one. ~23 min of training and ~10
min of evaluation per run on a 2-vCPU Zen 3 EPYC. Results:
docs/experiments/2026-11-29_stroke_smooth.md.
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# :quality as of 2026-11-29 17:14 (R1, no instance noise; G 64-32-16-1, 1500
# steps). Resolved, it is stroke_smooth.base.json beside this file.
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
    "train.log_every": 50,
    "train.r1_gamma": 0.0256,
    "train.sample_every": 500,
    "train.steps": 1500,
}

# The evaluation of the rows since stroke_smooth.py.
EVAL = {"preset": "cpu",
        "overrides": {"eval.experiments":
                      "cas,tstr,realfake,fid,prd,indep,strokes"}}

VARIANTS = [
    ("bilinear", {"model.resize_method": "bilinear"}),
    ("mbstd", {"model.mbstd": True}),
]


def get_sweep():
  return {
      "description": "One change to :quality (cross-media paper data, 650 "
                     "training images, batch 32, 1500 steps): bilinear "
                     "upsampling in G, or a minibatch-stddev channel in D.",
      "base": bases.on_paper(BASE),
      "variants": VARIANTS,
      "seeds": [0, 1, 2],
      "eval": EVAL,
  }
