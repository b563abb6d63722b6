r"""Smoke sweep: the whole ablation machinery in a few minutes on a CPU.

    python ablations/run.py --sweep=ablations/smoke.py --workdir=/tmp/abl_smoke

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

from configs import cgan


def get_sweep():
  base = cgan.get_config("test")
  d, m, t = base.data, base.model, base.train
  d.source = "synthetic"
  d.image_size, d.num_classes, d.synthetic_per_class = 32, 4, 40
  m.latent_dim = 16
  m.gen_channels = (16, 8, 4, 1)
  m.disc_channels = (8, 16, 32, 32)
  t.batch_size, t.steps = 32, 200
  t.log_every, t.sample_every, t.checkpoint_every = 50, 100, 100
  t.samples_per_class = 4
  return {
      "description": (
          "Smoke test of the runner: a narrow vs a 2x wider generator on tiny "
          "synthetic data, 200 steps, test-sized evaluation."),
      "base": base,
      "variants": [
          ("narrow_g", {}),
          ("wide_g", {"model.gen_channels": (32, 16, 8, 1)}),
      ],
      "seeds": [0, 1],
      # 500 -> scaled to 80 generated test images for the 160 real ones.
      "eval": {"preset": "test",
               "overrides": {"eval.realfake_test_fake": 500}},
  }
