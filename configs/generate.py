"""Generate the original's evaluation set from a trained generator.

python launch.py --config=configs/generate.py --config.gan_workdir=RUN --workdir=OUT
"""

import ml_collections


def get_config(preset: str = "") -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.job = "generate"
  config.preset = preset or "default"
  config.gan_workdir = ""  # the training workdir to load
  config.step = -1  # checkpoint step; -1 = newest readable
  config.per_class = 300  # 10 classes x 300 = the original's 3000
  config.seed = 0
  # 'binary': ink thresholded at 0.5, like the (binarized) training data;
  # 'raw': G's sigmoid output as grey levels.
  config.output = "binary"
  if preset == "test":
    config.per_class = 4
  return config
