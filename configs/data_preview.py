r"""Data preview: ``preview.png`` (what the model sees) and ``stats.json``.

Presets after a colon pick the source (any field can still be overridden):

* ``synthetic`` (default): the embedded procedural signatures;
* ``cross_media``: the real cross-media signatures (paper, 10 names);
* ``folder``: ROOT/<person>/<images>; give ``--config.data.dir=ROOT``.

The preview covers ``config.data.split`` ('all' here: the whole dataset);
``config.train.samples_per_class`` sets the columns.
"""

import ml_collections

from configs import common


def get_config(preset: str = "synthetic") -> ml_collections.ConfigDict:
  preset = preset or "synthetic"
  config = common.base_config()
  config.job = "preview"
  config.preset = preset
  config.data.split = "all"
  if preset in ("synthetic", "cross_media", "folder"):
    config.data.source = preset
  else:
    raise ValueError(f"configs/data_preview.py: unknown preset {preset!r}; "
                     "use synthetic, cross_media or folder")
  return config
