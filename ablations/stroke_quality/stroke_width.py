r"""G's width and the schedule, on a host where they fit (2026-11-30)

    python -m ablations.run --sweep=ablations/stroke_quality/stroke_width.py \
        --workdir=OUT

Every earlier stroke sweep ran on a 2-vCPU Zen 3 EPYC (AVX2), where
``configs/cgan.py:quality`` as of 2026-11-29 (coverage ink, nearest
resize + 3x3 convolutions in G, R1 0.0256 on real images, EMA from step
1000, G at 64-32-16-1, D at 32-64-128-128, batch 32, 1500 steps) takes 0.90
s a step and its 30-minute budget. On a 2-vCPU Zen 4 EPYC (AVX-512) the
same step takes 0.31 s, so the budget buys what docs/recipes.md ("Open
questions") named as the most likely place for the
remaining gap: G's width (the ``cpu`` widths give G 16-32 channels at 64x64
for strokes a pixel wide) and the schedule. Each row is ``:quality`` changed
in one place (batch, D, R1 and EMA as the preset):

* ``g128``: G at the paper's widths (128-64-32-1; 0.66 s a step here),
  2500 steps (~28 min here). Its step-1500 checkpoint is scored too
  (``python -m ablations.tools.evaluate_runs --checkpoint_step=1500``), to
  separate width from schedule;
* ``long``: ``:quality``'s G at 5000 steps (~26 min here). Its step-1500
  checkpoint is ``:quality`` itself (nothing in training depends on
  ``train.steps``), scored as the same-host baseline.

``train.keep_checkpoints`` is raised so that the step-1500 checkpoints survive.
On 2026-11-30 ``long`` ran (``--only=long``) with its step-2500 and step-3500
checkpoints scored too (``python -m ablations.tools.evaluate_runs
--checkpoint_step=N``): the narrow G at 2500 steps, and half-way to 5000; the
preset took the narrow G at 2500 steps from it
(docs/experiments/2026-11-30_stroke_width.md). Evaluation: the ``cpu`` preset
with every experiment but the multi-label one (~4 min a run on the Zen 4 host).
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# :quality as of 2026-11-29 17:14 (G 64-32-16-1, 1500 steps), every checkpoint
# kept. Resolved, it is stroke_width.base.json beside this file.
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
    "train.steps": 1500,
}

# The evaluation of the rows since stroke_smooth.py.
EVAL = {"preset": "cpu",
        "overrides": {"eval.experiments":
                      "cas,tstr,realfake,fid,prd,indep,strokes"}}

VARIANTS = [
    ("g128", {"model.gen_channels": (128, 64, 32, 1), "train.steps": 2500}),
    ("long", {"train.steps": 5000}),
]


def get_sweep():
  return {
      "description": "One change to :quality (cross-media paper data, 650 "
                     "training images, batch 32) on the faster host: G at "
                     "the paper's widths for 2500 steps, or :quality's G "
                     "for 5000 steps.",
      "base": bases.on_paper(BASE),
      "variants": VARIANTS,
      "seeds": [0, 1, 2],
      "eval": EVAL,
  }
