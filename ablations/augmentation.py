r"""Augmentation vs amount of data: none / DiffAugment / ADA at 100%, 50% and
25% of the real training split.

    python ablations/run.py --sweep=ablations/augmentation.py --workdir=runs/abl_augment

Cross-media paper data (650 training images at 100%; ``data.fraction`` keeps
the first round(f * n) of each class, so the subsets are nested), ``cpu``
training preset (2500 steps, batch 32), ``cpu`` evaluation preset. Every run is
evaluated against the full real data (the runner sets the evaluation's
``data.fraction`` to 1.0), so the columns compare like with like. 9 variants x
2 seeds = 18 runs; estimated (not yet measured end to end) 25-35 min a run
on a 2-core CPU, so 8-10 hours sequentially; use ``--shard=i/n``, or ``--only=none_25,diffaugment_25,ada_25``
for the most telling slice first.
"""

from configs import cgan

FRACTIONS = ((1.0, "100"), (0.5, "50"), (0.25, "25"))
AUGMENTS = ("none", "diffaugment", "ada")


def get_sweep():
  base = cgan.get_config("cpu")
  base.data.source = "cross_media"
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
      "base": base,
      "variants": variants,
      "seeds": [0, 1],
      "eval": {"preset": "cpu", "overrides": {}},
  }
