r"""Decaying both learning rates to 0 (2026-12-01)

    python -m ablations.run \
        --sweep=ablations/stroke_quality/stroke_lr_decay.py \
        --workdir=OUT

The trained (non-EMA) G of ``stroke_width.py``'s ``long`` run gets noisier
with the steps (14.6-18.0 ink pieces per image at step 5000 against the
EMA's 12.2; real 6.55), and ADA, which held D back, did not remove the
stray specks. pix2pix and CycleGAN end training with both learning rates
decaying linearly to 0; ``train.lr_decay_start`` / ``lr_decay_steps`` (new)
do that here. Each row is ``long``'s recipe (``:quality`` as of 2026-11-30,
every checkpoint kept) with a decay over its last steps:

* ``decay2500``: 2500 steps (``:quality``'s budget), constant to step 1500,
  then linearly to 0 at step 2500;
* ``decay5000``: 5000 steps, constant to step 2500, then to 0 at 5000.

Until the decay starts a row makes ``long``'s updates (scale 1; equal to
the bit in the tests' small model), so the recorded runs were
resumed from ``long``'s step-1500 and step-2500 checkpoints of each seed
(the state has no new part) rather than retrained. The rule for what the
preset takes is in docs/experiments/2026-12-01_stroke_lr_decay.md, written
before any number.
Evaluation: the ``cpu`` preset with every experiment but the multi-label one.
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# :quality as of 2026-11-30 20:43 (G 64-32-16-1) at 5000 steps, every
# checkpoint kept. Resolved, it is stroke_lr_decay.base.json beside this file.
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
    ("decay2500", {"train.steps": 2500, "train.lr_decay_start": 1500,
                   "train.lr_decay_steps": 1000}),
    ("decay5000", {"train.lr_decay_start": 2500,
                   "train.lr_decay_steps": 2500}),
]


def get_sweep():
  return {
      "description": "Both learning rates decayed linearly to 0 over the "
                     "last steps of :quality (2500 steps) and of its "
                     "5000-step setting (cross-media paper data).",
      "base": bases.on_paper(BASE),
      "variants": VARIANTS,
      "seeds": [0, 1, 2],
      "eval": EVAL,
  }
