r"""Ink form x recipe, two seeds: what makes the strokes continuous?
(2026-11-29)

    python -m ablations.run --sweep=ablations/stroke_quality/stroke_ink.py \
        --workdir=OUT

A 2 x 2 factorial on the cross-media paper data (650 training images of 65
writers, 10 names; writer-disjoint test split), sized for a 2-core CPU:
batch 32, 1500 steps, seeds 0 and 1, ``cpu`` widths.

* ink form (``config.data.ink``): ``binary`` (the original: Otsu threshold at
  64 px, strokes 1-2 px wide with hard aliased edges) vs ``coverage`` (the
  area-averaged ink coverage before the threshold; the generator's output is
  Otsu-thresholded the same way before it is scored);
* recipe: the original DCGAN (``cpu`` preset) vs the ``quality`` recipe's
  generator and training (nearest resize + 3x3 conv upsampling, instance
  noise 0.1 on D's inputs, EMA of G from step 1000), i.e. ``:quality``.

Three corners of the square, two seeds each (what this CPU could run in a
few hours): ``dcgan`` -> ``dcgan_coverage`` is the ink form with the original
model, ``dcgan_coverage`` -> ``recipe_coverage`` the recipe with coverage
ink. The fourth corner (recipe on binary ink) is ``stroke_quality.py``'s
``dcgan_resize_noise_ema`` (one seed, EMA from step 0).

``stroke_quality.py`` (one factor at a time, one seed) came first; this sweep
tests the factor its grids pointed to. Results and grids:
docs/experiments/2026-11-29_stroke_ink.md.
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# the cpu preset on the cross-media paper data, 1500 steps. Resolved, it is
# stroke_ink.base.json beside this file.
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

_COVERAGE = {"data.ink": "coverage"}
# stroke_quality.py's resize-conv and instance noise, EMA from step 1000.
_RECIPE = {"model.upsample": "resize_conv", "model.gen_kernel_size": 3,
           "train.instance_noise": 0.1, "train.ema_decay": 0.999,
           "train.ema_start": 1000}

VARIANTS = [
    ("dcgan", {}),
    ("dcgan_coverage", _COVERAGE),
    ("recipe_coverage", {**_RECIPE, **_COVERAGE}),
    # Added after the first grids: recipe_coverage's strokes carry a fine
    # speckle that constant instance noise (std 0.1) hides from D; here the
    # noise decays linearly to 0 over the run.
    ("recipe_coverage_anneal", {**_RECIPE, **_COVERAGE,
                                "train.instance_noise_steps": 1500}),
]


def get_sweep():
  return {
      "description": "Ink form (binary vs coverage) x recipe (original DCGAN "
                     "vs resize-conv + instance noise + EMA): cross-media "
                     "paper data, batch 32, 1500 steps, seeds 0 and 1.",
      "base": bases.on_paper(BASE),
      "variants": VARIANTS,
      "seeds": [0, 1],
      "eval": {"preset": "cpu",
               "overrides": {"eval.experiments": "cas,fid,prd"}},
  }
