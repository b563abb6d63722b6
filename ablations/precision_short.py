r"""bf16 compute against fp32: what it does to sample quality (issue 5).

    python ablations/run.py --sweep=ablations/precision_short.py --workdir=runs/abl_precision_short

Cross-media paper data (the whole training split), ``cpu`` preset widths and
batch, 800 steps (a third of the preset's schedule), one seed, CAS and
FID/KID of the ``cpu`` evaluation. ``model.dtype=bfloat16`` computes G and D
in bf16 while parameters and Adam state stay fp32. On CPU the fp32 variant
runs its convolutions on oneDNN and the bf16 one on XLA (oneDNN's bf16
kernels are not wired), so the train times differ by more than precision.
A single-seed indication sized to one session, not a result.
"""

from configs import cgan


def get_sweep():
  base = cgan.get_config("cpu")
  base.data.source = "cross_media"
  base.train.steps = 800
  base.train.sample_every = 400
  base.train.checkpoint_every = 400
  return {
      "description": "fp32 vs bf16 compute, cross-media paper data, 800 "
                     "steps, 1 seed.",
      "base": base,
      "variants": [("fp32", {"model.dtype": "float32"}),
                   ("bf16", {"model.dtype": "bfloat16"})],
      "seeds": [0],
      "eval": {"preset": "cpu", "overrides": {"eval.experiments": "cas,fid"}},
  }
