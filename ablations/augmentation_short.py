r"""The short real sweep run for BUILD_NOTES.md: does DiffAugment help when
only a quarter of the real training split is left?

    python ablations/run.py --sweep=ablations/augmentation_short.py --workdir=runs/abl_aug_short

Cross-media paper data at ``data.fraction=0.25`` (163 training images, ~16 per
name), ``cpu`` preset widths and batch but 800 steps (a third of the preset's
schedule), one seed, and only the cheap experiments of the ``cpu`` evaluation
(CAS and FID/KID; the classifier is trained on the full real training split).
Measured: about 30 minutes on the 2-core CPU while other jobs ran. It is a
slice of ``augmentation.py``, sized to what one session allows; read its
numbers as a single-seed indication, not a result.
"""

from configs import cgan


def get_sweep():
  base = cgan.get_config("cpu")
  base.data.source = "cross_media"
  base.data.fraction = 0.25
  base.train.steps = 800
  base.train.sample_every = 400
  base.train.checkpoint_every = 400
  return {
      "description": "none vs DiffAugment at 25% of the cross-media paper "
                     "training split, 800 steps, 1 seed.",
      "base": base,
      "variants": [("none_25", {"train.augment": "none"}),
                   ("diffaugment_25", {"train.augment": "diffaugment"})],
      "seeds": [0],
      "eval": {"preset": "cpu", "overrides": {"eval.experiments": "cas,fid"}},
  }
