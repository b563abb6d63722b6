r"""Smoke sweep: the whole ablation machinery in a few minutes on a CPU.

    python -m ablations.run --sweep=ablations/smoke/smoke.py \
        --workdir=/tmp/abl_smoke

Tiny widths on 32x32 synthetic signatures (4 classes x 40), 200 steps, two
variants (generator width) x two seeds, the ``test`` evaluation preset with
every experiment (CAS, TSTR, VGG19 real/fake, multi-label, FID/KID; fewer
generated images for the real/fake test). Measured: 959 s on the shared
2-core CPU at load average ~8 (the first run, 8 min, is mostly compilation;
later runs ~2.5 min each); 3 min 50 s on the idle machine, with the same
numbers to the printed digits. The
numbers check the plumbing, not a research question (CAS is at chance after
200 steps).
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# tiny widths on 32x32 synthetic signatures, 200 steps. Resolved, it is
# smoke.base.json beside this file.
BASE = {
    "data.image_size": 32,
    "data.num_classes": 4,
    "data.synthetic_per_class": 40,
    "model.disc_channels": (8, 16, 32, 32),
    "model.gen_channels": (16, 8, 4, 1),
    "model.latent_dim": 16,
    "preset": "test",
    "train.batch_size": 32,
    "train.checkpoint_every": 100,
    "train.log_every": 50,
    "train.sample_every": 100,
    "train.samples_per_class": 4,
    "train.steps": 200,
}


def get_sweep():
  return {
      "description": (
          "Smoke test of the runner: a narrow vs a 2x wider generator on tiny "
          "synthetic data, 200 steps, test-sized evaluation."),
      "base": bases.on_paper(BASE),
      "variants": [
          ("narrow_g", {}),
          ("wide_g", {"model.gen_channels": (32, 16, 8, 1)}),
      ],
      "seeds": [0, 1],
      # 500 -> scaled to 80 generated test images for the 160 real ones.
      "eval": {"preset": "test",
               "overrides": {"eval.realfake_test_fake": 500}},
  }
