r"""Loss and discriminator regularisation: BCE (the original), hinge,
WGAN-GP, BCE + R1, hinge + spectral norm.

    python -m ablations.run \
        --sweep=ablations/options/loss_and_regularisation.py \
        --workdir=runs/abl_loss

Cross-media paper data, ``cpu`` training preset (2500 steps, batch 32),
``cpu`` evaluation preset (10-15 min a run on a 2-core CPU); 5 variants x 3
seeds = 15 runs. Estimated, not yet measured end to end: 25-35 min a run on a
2-core CPU (wgan_gp longer: 5 D updates per G update), so 8-10 hours
sequentially; use ``--shard=i/n`` to spread it, then ``--collect_only``.
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# the cpu preset on the cross-media paper data. Resolved, it is
# loss_and_regularisation.base.json beside this file.
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

# R1 weight from the StyleGAN2-ADA heuristic gamma = 0.0002 * res^2 / batch
# (64 px, batch 32 -> 0.0256).
R1_GAMMA = 0.0256


def get_sweep():
  return {
      "description": (
          "Which objective and D regulariser suit ~650 training signatures. "
          "bce: non-saturating BCE (the 2019 model); hinge; wgan_gp with the "
          "WGAN-GP paper's recipe (5 D updates per G update, Adam(1e-4, "
          "0, 0.9), gradient-penalty weight 10); bce_r1: BCE + R1 on reals "
          f"(gamma {R1_GAMMA}); hinge_sn: hinge + spectral norm on D (the "
          "SNGAN/BigGAN pairing). Same number of G updates in every variant."),
      "base": bases.on_paper(BASE),
      "variants": [
          ("bce", {"train.loss": "bce"}),
          ("hinge", {"train.loss": "hinge"}),
          ("wgan_gp", {"train.loss": "wgan_gp", "train.gp_weight": 10.0,
                       "train.d_steps": 5, "train.lr_g": 1e-4,
                       "train.lr_d": 1e-4, "train.b1_g": 0.0,
                       "train.b1_d": 0.0, "train.b2_g": 0.9,
                       "train.b2_d": 0.9}),
          ("bce_r1", {"train.loss": "bce", "train.r1_gamma": R1_GAMMA}),
          ("hinge_sn", {"train.loss": "hinge", "model.spectral_norm": True}),
      ],
      "seeds": [0, 1, 2],
      "eval": {"preset": "cpu", "overrides": {}},
  }
