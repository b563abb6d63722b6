r"""Where should `:quality`'s 30 minutes go: steps, D's width or noise?
(2026-11-29)

    python -m ablations.run --sweep=ablations/stroke_quality/stroke_budget.py \
        --workdir=OUT

Every row is the ``:quality`` recipe of 2026-11-29 04:16 (coverage ink, nearest
resize + 3x3 convolutions in G, instance noise 0.1, EMA of G from step 1000;
cross-media paper data, batch 32, ``cpu`` widths), changed in one place. It
took ~17 min for 1500 steps on the 2-core CPU; item 4 allows 30, so the
question is what the other ~12 minutes buy:

* ``quality``: the preset as it was until 2026-11-29 12:21, D at the
  ``cpu`` widths (1500 steps; the same runs as ``stroke_ink.py``'s
  ``recipe_coverage``, copied into OUT so the runner finds them finished);
* ``quality_long``: 2400 steps (~27 min) at the same widths;
* ``quality_wide_d``: D at (32, 64, 128, 128) instead of (16, 32, 64, 64),
  1500 steps. D is the cheap network here (~14 M multiply-adds per image
  against G's ~134 M at ``cpu`` widths), and the evaluation's detector tells
  every generated image from real: a D that weak may not see the speckle
  and the broken strokes at all. Analytic cost ~1.4x per step (~22 min
  measured). ``:quality`` since 2026-11-29 12:21, after a third seed
  (trained with ``launch.py``, the same config);
* ``quality_anneal``: the instance noise decays linearly to 0 over the run
  (``stroke_ink.py``'s ``recipe_coverage_anneal``), so that D sees the fine
  speckle at the end;
* ``quality_ema_warmup``: ``train.ema_warmup``: the EMA's decay ramps up from
  ``ema_start`` (TF's num_updates rule). ``:quality``'s EMA (0.999 from step
  1000 of 1500) is 61% step 1000's weights at the end; with the warm-up it
  averages over roughly the last 50 steps. Free in time.
* ``quality_wide_d_ema500`` (2026-11-29): ``:quality`` with the wide
  D with the EMA from step 500 instead of 1000, the longer window the
  raw-vs-EMA comparison pointed to: at step 1500 the
  average holds 37% of step 500's weights instead of 61% of step 1000's,
  the rest spread over 1000 steps instead of 500. Free in time.

Two seeds per row (three for ``quality``, ``quality_wide_d``). Results,
grids and a reading: docs/experiments/2026-11-29_stroke_budget.md.
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# the cpu preset on the cross-media paper data, 1500 steps. Resolved, it is
# stroke_budget.base.json beside this file.
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

# :quality as of 2026-11-29 04:16 (stroke_ink.py's recipe_coverage).
_QUALITY = {"data.ink": "coverage", "model.upsample": "resize_conv",
            "model.gen_kernel_size": 3, "train.instance_noise": 0.1,
            "train.ema_decay": 0.999, "train.ema_start": 1000}
_WIDE_D = {**_QUALITY, "model.disc_channels": (32, 64, 128, 128)}

VARIANTS = [
    ("quality", _QUALITY),
    ("quality_long", {**_QUALITY, "train.steps": 2400}),
    ("quality_wide_d", _WIDE_D),
    ("quality_anneal", {**_QUALITY, "train.instance_noise_steps": 1500}),
    ("quality_ema_warmup", {**_QUALITY, "train.ema_warmup": True}),
    ("quality_wide_d_ema500", {**_WIDE_D, "train.ema_start": 500}),
]


def get_sweep():
  return {
      "description": "Spending :quality's 30-minute budget: more steps, a "
                     "wider D, or annealed instance noise (cross-media paper "
                     "data, batch 32, 1500 steps unless stated, seeds 0 "
                     "and 1).",
      "base": bases.on_paper(BASE),
      "variants": VARIANTS,
      "seeds": [0, 1],
      "eval": {"preset": "cpu",
               "overrides": {"eval.experiments": "cas,fid,prd"}},
  }
