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
  # 'binary': binary ink like the training data (>= 0.5; Otsu per image for a
  # GAN trained on config.data.ink='coverage'); 'raw': G's sigmoid output.
  config.output = "binary"
  # With model.medium_conditioning: the medium drawn ('' = paper).
  config.medium = ""
  if preset == "test":
    config.per_class = 4
  return config
