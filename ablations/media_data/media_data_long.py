r"""All media with the medium a condition, trained twice as long.

    python -m ablations.run --sweep=ablations/media_data/media_data_long.py \
        --workdir=OUT

media_data.py ran at 2500 steps: with all four media D did not start to
memorise within them (paper only: from step 1350), so the larger data set
may keep improving where paper-only training stalls. This row is
media_data.py's ``all_media_cond`` at 5000 steps, the step count at which
paper-only projection training (``proj`` of
ablations/stroke_quality/stroke_cond.py, seeds 0-2) reached the best class
fidelity measured so far. The record and its rule are in
docs/experiments/2026-12-03_media_data.md.

The base is media_data.py's overrides on ``:paper`` with 5000 steps;
resolved, it is media_data_long.base.json beside this file.
"""

from ablations import bases
from ablations.media_data import media_data

BASE_OVERRIDES = dict(media_data.BASE_OVERRIDES, **{
    "preset": "media_data_long",
    "train.steps": 5000,
})

VARIANTS = [media_data.ALL_MEDIA_COND]


def get_sweep():
  return {
      "description": "Every medium of the training writers with the medium "
                     "as a condition (drawn and scored as paper), on the "
                     "projection recipe at 5000 steps (cross-media data).",
      "base": bases.on_paper(BASE_OVERRIDES),
      "variants": VARIANTS,
      "seeds": [0],
      "eval": media_data.EVAL,
  }
