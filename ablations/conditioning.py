r"""Conditioning: concat (the original) vs projection discriminator with
class-conditional BatchNorm in G, each with and without spectral norm on D.

    python ablations/run.py --sweep=ablations/conditioning.py --workdir=runs/abl_conditioning

Cross-media paper data (930 images, 10 names, writer-disjoint splits), the
``cpu`` training preset (2500 steps, batch 32) and the ``cpu`` evaluation
preset (10-15 min a run on a 2-core CPU, measured for configs/evaluate.py);
4 variants x 3 seeds = 12 runs. Estimated, not yet measured end to end:
25-35 min a run on a 2-core CPU (training 2500 steps + evaluation), so 5-7
hours sequentially; the runner's results.csv records the real train times.
Split it over processes or hosts with ``--shard=i/n`` (same --workdir), then
``--collect_only``.
"""

from configs import cgan


def get_sweep():
  base = cgan.get_config("cpu")
  base.data.source = "cross_media"
  return {
      "description": (
          "How the label enters the networks. concat: one-hot concatenated to "
          "z in G and a label map as D's second channel (the 2019 model); "
          "projection: Miyato & Koyama (2018) projection discriminator with "
          "class-conditional BatchNorm in G. Each with and without spectral "
          "normalisation of D's kernels; loss stays the original BCE."),
      "base": base,
      "variants": [
          ("concat", {"model.conditioning": "concat"}),
          ("concat_sn", {"model.conditioning": "concat",
                         "model.spectral_norm": True}),
          ("projection", {"model.conditioning": "projection"}),
          ("projection_sn", {"model.conditioning": "projection",
                             "model.spectral_norm": True}),
      ],
      "seeds": [0, 1, 2],
      "eval": {"preset": "cpu", "overrides": {}},
  }
