r"""Augmentation vs amount of data: none / DiffAugment / ADA at 100%, 50% and
25% of the real training split.

    python -m ablations.run --sweep=ablations/options/augmentation.py \
        --workdir=runs/abl_augment

Cross-media paper data (650 training images at 100%; ``data.fraction`` keeps
the first round(f * n) of each class, so the subsets are nested), ``cpu``
training preset (2500 steps, batch 32), ``cpu`` evaluation preset. Every run is
evaluated against the full real data (the runner sets the evaluation's
``data.fraction`` to 1.0), so the columns compare like with like. 9 variants x
2 seeds = 18 runs; estimated (not yet measured end to end) 25-35 min a run on a
2-core CPU, so 8-10 hours sequentially; use ``--shard=i/n``, or
``--only=none_25,diffaugment_25,ada_25`` for the most telling slice first.
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# the cpu preset on the cross-media paper data. Resolved, it is
# augmentation.base.json beside this file.
BASE = {
    "data.source": "cross_media",
    "model.disc_channels": (16, 32, 64, 64),
    "model.gen_channels": (64, 32, 16, 1),
    "preset": "cpu",
    "train.batch_size": 32,
    "train.checkpoint_every": 500,
    "train.log_every": 50,
    "train.sample_every": 250,
    "train.steps": 2500,
}

FRACTIONS = ((1.0, "100"), (0.5, "50"), (0.25, "25"))
AUGMENTS = ("none", "diffaugment", "ada")


def get_sweep():
  variants = [(f"{aug}_{pct}", {"train.augment": aug, "data.fraction": f})
              for f, pct in FRACTIONS for aug in AUGMENTS]
  return {
      "description": (
          "Data-efficient augmentation as the real data shrinks. none: the "
          "2019 training; diffaugment: translation, cutout, brightness and "
          "contrast applied to real and fake images for both D and G "
          "(Zhao et al. 2020); ada: the same ops with a probability adapted "
          "from D's overfitting heuristic r_t = E[sign D(real)] (Karras et "
          "al. 2020). Names end with the percentage of the training split."),
      "base": bases.on_paper(BASE),
      "variants": variants,
      "seeds": [0, 1],
      "eval": {"preset": "cpu", "overrides": {}},
  }
