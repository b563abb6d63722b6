r"""Projection conditioning on ``:quality`` (2026-12-01)

    python -m ablations.run --sweep=ablations/stroke_quality/stroke_cond.py \
        --workdir=OUT

Every ``:quality`` run until then conditioned as the 2019 original did: the
one-hot label joins z at G's input, and D sees it as a learnt 64x64 label
map, a second image channel. Class fidelity is where ``:quality`` is furthest
from the quality targets (CAS 0.928 and the independent network's 0.793 against
0.969), so the rows here change only the conditioning:

* ``proj``: ``model.conditioning=projection``: the projection
  discriminator (Miyato & Koyama 2018; the class enters D as an inner
  product of its features with a learnt class embedding, no label map) and
  class-conditional BatchNorm in G (per-class gamma/beta, no one-hot at
  the input), the SNGAN/BigGAN form. The first sweep's ``modern`` row had
  it together with residual nets, hinge loss and spectral norm, and
  collapsed; it was never tried alone.
* ``proj_ada``: ``proj`` with ADA (translation, brightness, contrast; no
  cutout, which can erase a whole character). The augmentations of
  2026-11-29 and 2026-11-30 cost the names, most likely because a shifted
  image no longer lines up with D's fixed label map; with projection
  there is no map to misalign, so ADA may hold D back past step 3000
  (where D overfits its 650 images) without that cost.

Both run 5000 steps with every checkpoint kept, so step 2500 is ``:quality``'s
schedule and step 5000 the ``long`` setting. The rule for what gets more seeds
and what the preset takes is in docs/experiments/2026-12-01_stroke_cond.md,
written before any number. Evaluation: the ``cpu`` preset with every experiment
but the multi-label one.
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# :quality as of 2026-11-30 20:43 (G 64-32-16-1) at 5000 steps, every
# checkpoint kept. Resolved, it is stroke_cond.base.json beside this file.
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
    ("proj", {"model.conditioning": "projection"}),
    ("proj_ada", {"model.conditioning": "projection",
                  "train.augment": "ada",
                  "train.diffaugment_policy": "translation,brightness,"
                                              "contrast"}),
]


def get_sweep():
  return {
      "description": "Projection D and conditional BatchNorm in place of "
                     "the original's label map and one-hot, on :quality "
                     "for 5000 steps (cross-media paper data), alone or "
                     "with ADA.",
      "base": bases.on_paper(BASE),
      "variants": VARIANTS,
      "seeds": [0, 1, 2],
      "eval": EVAL,
  }
