r"""The finalist recipe at 128 px (issue 26 item 3).

    python -m ablations.run --sweep=ablations/media_data/media_data_128.py \
        --workdir=OUT

All media with the medium a condition, projection conditioning, at
``data.image_size=128``: the DCGAN G and D get one more stride-2 stage (G
still starts at 16x16, D still ends at 8x8) and R1's gamma follows the
image area (0.0002 * 128**2 / batch, the rule ``:quality`` uses at 64).
A 128 px step costs about four 64 px steps, so the row runs at
media_data.py's 2500 steps, where its 64 px twin (``all_media_cond`` of
media_data.py, seed 0) is the reference at equal steps, in the phase form
with bf16 convolutions (shown equal to fp32 over three seeds,
docs/performance_loop.md). The runner scores it at 64 px (every generated
image area-averaged to 64, against the same 64 px real signatures as
every other row: ``eval.image_size=64``); the 128 px evaluation against
real signatures read at 128 is a second command, in
docs/experiments/2026-12-03_media_data.md ("128 px").

The base is media_data.py's with those fields, as overrides on
``:paper``; resolved, it is media_data_128.base.json beside this file.
"""

from ablations import bases
from ablations.media_data import media_data

BASE_OVERRIDES = dict(media_data.BASE_OVERRIDES, **{
    "preset": "media_data_128",
    "data.image_size": 128,
    "train.r1_gamma": 0.0002 * 128 ** 2 / 32,
    "model.resize_conv_form": "phase",
    "model.dtype": "bfloat16",
})

VARIANTS = [media_data.ALL_MEDIA_COND]

EVAL = {"preset": "cpu",
        "overrides": dict(media_data.EVAL["overrides"],
                          **{"eval.image_size": 64})}


def get_sweep():
  return {
      "description": "Every medium of the training writers with the medium "
                     "as a condition, projection recipe, 2500 steps, at "
                     "128 px, scored at 64 px after area-averaging "
                     "(phase form, bf16 convolutions; cross-media data).",
      "base": bases.on_paper(BASE_OVERRIDES),
      "variants": VARIANTS,
      "seeds": [0],
      "eval": EVAL,
  }
