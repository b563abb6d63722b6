r"""Four times the training data: every medium of the training writers.

    python -m ablations.run --sweep=ablations/media_data/media_data.py \
        --workdir=OUT

The GAN has trained on the 650 paper signatures of the 65 training writers;
the same writers wrote the same ten names on three more media (iPad, phone
in hand, phone on table), 1950 more real signatures. D separates the 650
paper images from about step 3000 (the overfitting the R1 x4, LeCam and ADA
rows did not stop), so more real images are the direct remedy. Rows, all
on the projection recipe (the best measured class fidelity) at
``:quality``'s 2500 steps (the budget of a 2-core host; 5000 steps did not
fit the one free core these rows had on 2026-12-03):

* ``all_media``: ``data.media=all``, the media pooled under their names;
* ``all_media_cond``: ``data.media=all`` with ``model.medium_conditioning``
  (a name embedding plus a medium embedding in D's projection and G's
  conditional BatchNorm), drawn and scored as paper.

The paper-only reference is ``proj`` of
ablations/stroke_quality/stroke_cond.py (same
recipe, seeds 0-2, results in ablations/results/stroke_cond_*). Splits are
by writer and the same for every choice of media, so no validation or test
writer's signature on any medium is trained on; the evaluation's real
references are the test writers' paper signatures. The decision rule is in
docs/experiments/2026-12-03_media_data.md, written before any run.

The base is stated in full as overrides on ``:paper`` (which never
changes), so this file means the same thing whatever the presets become;
resolved, it is media_data.base.json beside this file.
"""

from ablations import bases

EVAL = {"preset": "cpu",
        "overrides": {"eval.experiments":
                      "cas,tstr,realfake,fid,prd,indep,strokes,copies"}}

# :quality as of 2026-12-03, with projection conditioning,
# on the cross-media data, as overrides on :paper.
BASE_OVERRIDES = {
    "preset": "media_data",
    "data.source": "cross_media",
    "data.ink": "coverage",
    "model.upsample": "resize_conv",
    "model.resize_method": "nearest",
    "model.gen_kernel_size": 3,
    "model.gen_channels": (64, 32, 16, 1),
    "model.disc_channels": (32, 64, 128, 128),
    "model.conditioning": "projection",
    "train.ema_decay": 0.999,
    "train.ema_start": 1000,
    "train.batch_size": 32,
    "train.steps": 2500,
    "train.log_every": 50,
    "train.sample_every": 500,
    "train.checkpoint_every": 500,
    "train.keep_checkpoints": 20,
    "train.instance_noise": 0.0,
    "train.r1_gamma": 0.0002 * 64 ** 2 / 32,
}

# Every medium, the medium a condition (also the row of media_data_long.py
# and media_data_concat.py).
ALL_MEDIA_COND = ("all_media_cond", {"data.media": "all",
                                     "model.medium_conditioning": True})

VARIANTS = [
    ALL_MEDIA_COND,
    ("all_media", {"data.media": "all"}),
    # stroke_cond.py's ``proj`` again, now with the overfitting probe: the
    # paper-only onset of D's memorising (and a check that seed 0 repeats).
    ("paper", {}),
]


def get_sweep():
  return {
      "description": "Every medium of the training writers (2600 images "
                     "instead of 650 paper ones), pooled or with the "
                     "medium as a condition, on the projection recipe at "
                     "2500 steps (cross-media data, scored on paper).",
      "base": bases.on_paper(BASE_OVERRIDES),
      "variants": VARIANTS,
      "seeds": [0],
      "eval": EVAL,
  }
