r"""Run-to-run spread of the ``cpu`` preset on the cross-media paper data:
the oneDNN convolutions (default on one CPU device) against the XLA
lowerings, three seeds each (2026-11-29).

    python -m ablations.run --sweep=ablations/spread/spread.py \
        --workdir=OUT

Six full ``cpu`` runs (2500 steps each on an idle 2-core CPU: ~15 min apiece on
a Zen 4 EPYC, ~25 on a Zen 3) and the cheap evaluation (CAS, FID/KID,
precision/recall). The two lowerings compute the same function
(docs/experiments/2026-11-29_spread.md: they separate no faster than a one-ulp
perturbation of the initial weights), so the rows should agree within their
seeds' spread. Measured (three seeds per path, same record): they do on average
(no systematic path effect on FID, CAS or recall), but a run is a draw: the
seed moves FID by up to 2.4x on one path, and at one seed (seed 2) the two
paths ended 1.65x apart in FID. ``--only=onednn --shard=S/3`` runs seed S
alone."""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# the cpu preset on the cross-media paper data. Resolved, it is
# spread.base.json beside this file.
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


def get_sweep():
  return {
      "description": "cpu preset, cross-media paper data: oneDNN vs XLA "
                     "lowerings, 3 seeds each.",
      "base": bases.on_paper(BASE),
      "variants": [
          ("onednn", {"model.conv_transpose": "auto",
                      "model.conv_impl": "auto"}),
          ("xla", {"model.conv_transpose": "phase", "model.conv_impl": "xla"}),
      ],
      "seeds": [0, 1, 2],
      "eval": {"preset": "cpu",
               "overrides": {"eval.experiments": "cas,fid,prd"}},
  }
