r"""Conditioning: concat (the original) vs projection discriminator with
class-conditional BatchNorm in G, each with and without spectral norm on D.

    python -m ablations.run --sweep=ablations/options/conditioning.py \
        --workdir=runs/abl_conditioning

Cross-media paper data (930 images, 10 names, writer-disjoint splits), the
``cpu`` training preset (2500 steps, batch 32) and the ``cpu`` evaluation
preset (10-15 min a run on a 2-core CPU, measured for configs/evaluate.py);
4 variants x 3 seeds = 12 runs. Estimated, not yet measured end to end:
25-35 min a run on a 2-core CPU (training 2500 steps + evaluation), so 5-7
hours sequentially; the runner's results.csv records the real train times.
Split it over processes or hosts with ``--shard=i/n`` (same --workdir), then
``--collect_only``.
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# the cpu preset on the cross-media paper data. Resolved, it is
# conditioning.base.json beside this file.
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
      "description": (
          "How the label enters the networks. concat: one-hot concatenated to "
          "z in G and a label map as D's second channel (the 2019 model); "
          "projection: Miyato & Koyama (2018) projection discriminator with "
          "class-conditional BatchNorm in G. Each with and without spectral "
          "normalisation of D's kernels; loss stays the original BCE."),
      "base": bases.on_paper(BASE),
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
