r"""A short real sweep (2026-11-28): does DiffAugment help when
only a quarter of the real training split is left?

    python -m ablations.run --sweep=ablations/options/augmentation_short.py \
        --workdir=runs/abl_aug_short

Cross-media paper data at ``data.fraction=0.25`` (163 training images, ~16 per
name), ``cpu`` preset widths and batch but 800 steps (a third of the preset's
schedule), one seed, and only the cheap experiments of the ``cpu`` evaluation
(CAS and FID/KID; the classifier is trained on the full real training split).
Measured: about 30 minutes on the 2-core CPU while other jobs ran. It is a
slice of ``augmentation.py``, sized to about half an hour; read its
numbers as a single-seed indication, not a result. Results:
docs/experiments/2026-11-28_options.md.
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# the cpu preset on the cross-media paper data, a quarter of it, 800 steps.
# Resolved, it is augmentation_short.base.json beside this file.
BASE = {
    "data.fraction": 0.25,
    "data.source": "cross_media",
    "model.disc_channels": (16, 32, 64, 64),
    "model.gen_channels": (64, 32, 16, 1),
    "preset": "cpu",
    "train.batch_size": 32,
    "train.checkpoint_every": 400,
    "train.log_every": 50,
    "train.sample_every": 400,
    "train.steps": 800,
}


def get_sweep():
  return {
      "description": "none vs DiffAugment at 25% of the cross-media paper "
                     "training split, 800 steps, 1 seed.",
      "base": bases.on_paper(BASE),
      "variants": [("none_25", {"train.augment": "none"}),
                   ("diffaugment_25", {"train.augment": "diffaugment"})],
      "seeds": [0],
      "eval": {"preset": "cpu", "overrides": {"eval.experiments": "cas,fid"}},
  }
