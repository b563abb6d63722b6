r"""``:quality`` with its resize convolutions in the phase form.

    python -m ablations.run --sweep=ablations/perf/resize_conv_form.py \
        --workdir=OUT

``model.resize_conv_form='phase'`` computes G's nearest resize +
convolution as s*s convolutions of the low-resolution input (the same
parameters and function, summed in another order): :quality's step 1.24x
faster on one Zen 4 core (docs/performance_loop.md, "Per layer and
pass"). An equivalent code path is still another draw (two equivalent
lowerings of one seed gave FIDs 8x apart,
docs/experiments/2026-11-29_spread.md), so before ``:quality`` takes it
the rule in docs/performance_loop.md asks for three seeds within the
spread of ``:quality``'s own (ablations/results/quality_2500_seeds_2026-11-30.csv).
``phase_bf16`` is the same run with bf16 convolutions (issue 27 item 4),
compared with ``phase``'s three fp32 seeds.

The base is ``:quality`` as of 2026-12-03 on the cross-media paper data,
stated as overrides on ``:paper``; resolved, it is
resize_conv_form.base.json beside this file.
"""

from ablations import bases
from ablations.media_data import media_data

BASE_OVERRIDES = dict(media_data.BASE_OVERRIDES, **{
    "preset": "resize_conv_form",
    "model.conditioning": "concat",
})

VARIANTS = [
    ("phase", {"model.resize_conv_form": "phase"}),
    # bf16 convolutions (oneDNN's where the CPU has AVX512-BF16 or AMX),
    # judged against the phase form's own three fp32 seeds: the same
    # lowering of G's resize convolutions and the same batch order, so
    # the dtype is the one difference (rule: docs/performance_loop.md,
    # "bf16 against fp32 on :quality").
    ("phase_bf16", {"model.resize_conv_form": "phase",
                    "model.dtype": "bfloat16"}),
]


def get_sweep():
  return {
      "description": ":quality with its nearest resize convolutions in the "
                     "phase form (cross-media paper data, 2500 steps).",
      "base": bases.on_paper(BASE_OVERRIDES),
      "variants": VARIANTS,
      "seeds": [0, 1, 2],
      "eval": media_data.EVAL,
  }
