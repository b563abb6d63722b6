r"""Where does the speckle inside `:quality`'s strokes come from? (issue 11,
seventh session)

    python ablations/run.py --sweep=ablations/stroke_smooth.py --workdir=OUT

Today's ``configs/cgan.py:quality`` (coverage ink, nearest resize + 3x3
convolutions in G, R1 0.0256 on real images, EMA from step 1000, D at
32-64-128-128, batch 32, 1500 steps) draws each name's layout, but its raw
sigmoid output (before the Otsu threshold that makes the scored images) is
already speckled: dark dots on grey inside every stroke, where the real
coverage images have smooth grey stroke edges. The threshold turns those
dots into broken strokes and 2x the real number of ink pieces per image
(the ``strokes`` experiment). Pixel-level speckle is a high-frequency
artefact: G's last two layers work at 64x64 on a nearest-neighbour upsampled
32x32 map, so each 2x2 block starts as one value, and D's first layer is a
stride-2 convolution that can alias such textures. Each row is ``:quality``
changed in one place:

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
min of evaluation per run on the 2-vCPU host of BUILD_NOTES.md.
"""

from configs import cgan

VARIANTS = [
    ("bilinear", {"model.resize_method": "bilinear"}),
    ("mbstd", {"model.mbstd": True}),
]


# The evaluation of this sweep, stroke_augment.py's and stroke_width.py's.
EVAL = {"preset": "cpu",
        "overrides": {"eval.experiments":
                      "cas,tstr,realfake,fid,prd,indep,strokes"}}


def base_config():
  """``:quality`` as it was when these rows ran (R1, no instance noise; G
  64-32-16-1, 1500 steps: the preset has run 2500 steps since, first with
  a wider G, then with this one, stroke_width.py) on the cross-media paper
  data; the base of stroke_augment.py (with its instance noise) and
  stroke_width.py too."""
  base = cgan.get_config("quality")
  base.model.gen_channels = (64, 32, 16, 1)
  base.train.steps = 1500
  base.data.source = "cross_media"
  return base


def get_sweep():
  return {
      "description": "One change to :quality (cross-media paper data, 650 "
                     "training images, batch 32, 1500 steps): bilinear "
                     "upsampling in G, or a minibatch-stddev channel in D.",
      "base": base_config(),
      "variants": VARIANTS,
      "seeds": [0, 1, 2],
      "eval": EVAL,
  }
