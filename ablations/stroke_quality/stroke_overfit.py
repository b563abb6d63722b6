r"""Stopping D from overfitting the 650 training images past step 3000
(2026-11-30)

    python -m ablations.run --sweep=ablations/stroke_quality/stroke_overfit.py \
        --workdir=OUT

``stroke_width.py``'s ``long`` row (``:quality`` as of 2026-11-30
at 5000 steps) made a detector near chance and legible names,
but D's accuracy on its training images climbed from ~0.83 at step 2500 to
0.99 by step 4000 and the ink pieces per image with it (12.2 against 9.4 at
step 2500; real 6.55). One seed of ADA held D at ~0.80 but cost the names
(CAS 0.85). Each row here is ``long`` changed in one place, by something
that does not alter the images D sees:

* ``r1x4``: R1 gamma 0.1024, four times the preset's (0.0256): a smoother
  D around the real images;
* ``lecam``: LeCam regularisation (``train.lecam_weight=0.01``, Tseng et
  al. 2021), which bounds the gap between D's logits on real and on fake
  images. The weight: with BCE, logits of +-a and weight w, the LeCam
  gradient (4 w a) meets BCE's (0.5 sigmoid(-a)) near a = 1.8 for w = 0.01,
  a D about 86% sure, the regime of the runs at step 2500; the authors'
  0.3 was for a hinge loss.

The rule for what gets three seeds and what the preset takes is in
docs/experiments/2026-11-30_stroke_overfit.md, written before any number.
Evaluation: the ``cpu`` preset with every experiment but the multi-label one.
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# :quality as of 2026-11-30 20:43 (G 64-32-16-1) at 5000 steps, every
# checkpoint kept. Resolved, it is stroke_overfit.base.json beside this file.
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
    "train.keep_checkpoints": 20,
    "train.log_every": 50,
    "train.r1_gamma": 0.0256,
    "train.sample_every": 500,
    "train.steps": 5000,
}

# The evaluation of the rows since stroke_smooth.py.
EVAL = {"preset": "cpu",
        "overrides": {"eval.experiments":
                      "cas,tstr,realfake,fid,prd,indep,strokes"}}

VARIANTS = [
    ("r1x4", {"train.r1_gamma": 0.1024}),
    ("lecam", {"train.lecam_weight": 0.01}),
]


def get_sweep():
  return {
      "description": "One change to :quality at 5000 steps (cross-media "
                     "paper data, 650 training images, batch 32) against "
                     "D's overfitting: R1 x4, or LeCam.",
      "base": bases.on_paper(BASE),
      "variants": VARIANTS,
      "seeds": [0, 1, 2],
      "eval": EVAL,
  }
