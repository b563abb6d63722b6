r"""All media with the medium a condition, on ``:quality``'s own recipe.

    python -m ablations.run --sweep=ablations/media_data/media_data_concat.py \
        --workdir=OUT

media_data.py ran every medium of the training writers on the projection
recipe; issue 26 asks for the same rows on ``:quality``'s recipe (the
one-hot label joined to z in G and a learnt label map as D's second
channel, "concat"), the recipe whose strokes are the most continuous
measured (9.4 ink pieces per signature against projection's 17 at 2500
steps) and whose class fidelity is the gap (the independent CAS 0.79).
This is the row that could become ``:quality`` within its 2500-step
budget: ``all_media_cond`` (``data.media=all`` with
``model.medium_conditioning``: the medium is one more one-hot in G's input
and D's label map), drawn and scored as paper. The pooled row is not run:
on the projection recipe it was worse on almost everything (G drew a
mixture of paper and screen strokes that no paper reference resembles),
and concat conditions G no more on the medium than projection does.

The paper-only reference is ``:quality`` itself, seeds 0-2 at step 2500
(ablations/results/quality_2500_seeds_2026-11-30.csv). The rule is in
docs/experiments/2026-12-03_media_data.md ("On :quality's recipe"),
written before any run.

The base is ``:quality`` as of 2026-12-03 on the cross-media data, stated
as overrides on ``:paper``; resolved, it is media_data_concat.base.json
beside this file.
"""

from ablations import bases
from ablations.media_data import media_data

BASE_OVERRIDES = dict(media_data.BASE_OVERRIDES, **{
    "preset": "media_data_concat",
    "model.conditioning": "concat",
})

VARIANTS = [media_data.ALL_MEDIA_COND]


def get_sweep():
  return {
      "description": "Every medium of the training writers with the medium "
                     "as a condition (drawn and scored as paper), on "
                     ":quality's concat recipe at 2500 steps (cross-media "
                     "data).",
      "base": bases.on_paper(BASE_OVERRIDES),
      "variants": VARIANTS,
      "seeds": [0, 1, 2],
      "eval": media_data.EVAL,
  }
