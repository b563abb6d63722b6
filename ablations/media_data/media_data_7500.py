r"""`:legible`'s three seeds trained on to 7500 steps.

    cp -r SEEDS/all_media_cond/seed_<s>/train OUT/all_media_cond/seed_<s>/
    python -m ablations.run \
        --sweep=ablations/media_data/media_data_7500.py --workdir=OUT \
        [--shard=i/3]

media_data_long_seeds.py's row (all media, the medium a condition,
projection, phase form, bf16 convolutions; the recipe of
``configs/cgan.py:legible``) at 7500 steps instead of 5000. With four times
the data D starts to memorise its training images at about step 2850
(three seeds), later than on paper alone (1350), and 5000 steps beat 2500;
whether the recipe is still gaining at 5000 is the open question this
answers. Nothing in the recipe depends on ``train.steps`` (no learning-rate
decay; EMA from step 1000), so a seed resumed from media_data_long_seeds'
step-5000 checkpoint (copy its ``train`` folder into OUT first, as above)
is the same run as one trained to 7500 from the start, at a third of the
cost; without the copy each seed trains from step 0. The rule (rule 10)
is in docs/experiments/2026-12-03_media_data.md ("7500 steps"), written
before these runs.

Resolved base: media_data_7500.base.json beside this file.
"""

from ablations import bases
from ablations.media_data import media_data
from ablations.media_data import media_data_long_seeds

BASE_OVERRIDES = dict(media_data_long_seeds.BASE_OVERRIDES, **{
    "preset": "media_data_7500",
    "train.steps": 7500,
})

VARIANTS = [media_data.ALL_MEDIA_COND]


def get_sweep():
  return {
      "description": "configs/cgan.py:legible's recipe (all media, medium "
                     "condition, projection, phase form, bf16) at 7500 "
                     "steps, three seeds, resumed from their 5000-step "
                     "checkpoints (cross-media data).",
      "base": bases.on_paper(BASE_OVERRIDES),
      "variants": VARIANTS,
      "seeds": [0, 1, 2],
      "eval": media_data.EVAL,
  }
