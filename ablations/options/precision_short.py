r"""bf16 compute against fp32: what it does to sample quality (2026-11-28).

    python -m ablations.run --sweep=ablations/options/precision_short.py \
        --workdir=runs/abl_precision_short

Cross-media paper data (the whole training split), ``cpu`` preset widths and
batch, 800 steps (a third of the preset's schedule), one seed, CAS and
FID/KID of the ``cpu`` evaluation. ``model.dtype=bfloat16`` computes G and D
in bf16 while parameters and Adam state stay fp32. On CPU the fp32 variant
runs its convolutions on oneDNN and the bf16 one on XLA (oneDNN's bf16
kernels are not wired), so the train times differ by more than precision.
A single-seed indication of about half an hour, not a result
(docs/performance.md, "bf16 quality").
"""

from ablations import bases

# The base, as overrides on configs/cgan.py:paper (2019, unchanging):
# the cpu preset on the cross-media paper data, 800 steps. Resolved, it is
# precision_short.base.json beside this file.
BASE = {
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
      "description": "fp32 vs bf16 compute, cross-media paper data, 800 "
                     "steps, 1 seed.",
      "base": bases.on_paper(BASE),
      "variants": [("fp32", {"model.dtype": "float32"}),
                   ("bf16", {"model.dtype": "bfloat16"})],
      "seeds": [0],
      "eval": {"preset": "cpu", "overrides": {"eval.experiments": "cas,fid"}},
  }
