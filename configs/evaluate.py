r"""Evaluation-suite configs (``sigjax.evaluate``).

    python launch.py --config=configs/evaluate.py:cpu \
        --config.gan_workdir=RUN --workdir=OUT

* ``paper``: the original project's protocols and classifier schedules
  (best classifier: Adam(1.1e-4), batch 100, 100 epochs; multi-label:
  Adam(2e-4), batch 100, 200 epochs; 300 generated images per class).
* ``cpu`` (default): the same protocols with shorter schedules and the VGG19
  detector at 32x32, so the whole suite runs in about 10-15 minutes on a
  2-core CPU for the cross-media paper data (930 real images, 64x64).
* ``test``: a few epochs and images, for the test suite.

Dataset settings: every ``config.data`` field is a placeholder (None) here
and is taken from RUN/config.json (the data the GAN was trained on); set one
on the command line (``--config.data.media=ipad``) to override it.
"""

import ml_collections
from ml_collections.config_dict import placeholder

from configs import common


def eval_config() -> ml_collections.ConfigDict:
  e = ml_collections.ConfigDict()
  e.checkpoint_step = placeholder(int)  # None = the newest readable one
  e.postprocess = "uint8"  # generated images: 'none', 'uint8' (PNG round
  # trip, what the original classified) or 'binarize' (threshold 0.5)
  # CAS: classifier trained on the real train split; tested on generated
  # images (original: 3000 = 300 per class) and on the real test split.
  e.images_per_class = 300
  # TSTR: trained on this many generated images per class, tested on real.
  e.tstr_images_per_class = 300
  e.classifier_epochs = 100
  e.classifier_batch_size = 100
  e.classifier_lr = 1.1e-4
  e.tstr_epochs = 100
  # Real/fake detector on VGG19: 500 real + 500 generated to train, the
  # remaining real + 2500 generated to test, for 1000 real images; scaled by
  # (real images / realfake_reference_real) when there are fewer.
  e.realfake_train_real = 500
  e.realfake_train_fake = 500
  e.realfake_test_fake = 2500
  e.realfake_reference_real = 1000
  e.detector_mode = "scratch"  # 'frozen', 'finetune' (block5 + head), 'scratch'
  e.vgg19_weights = ""  # Keras notop .h5 or torchvision state dict ('' = none)
  e.detector_input_size = 0  # 0 = the data's image size; else resize (>= 32)
  e.detector_epochs = 10
  e.detector_batch_size = 32
  e.detector_lr = 1e-4
  # Multi-label (identities + genuine): per class 40% / 10% / 50% of the
  # real images for train / validation / test, each with as many generated.
  e.multilabel_fractions = (0.4, 0.1, 0.5)
  e.multilabel_epochs = 200
  e.multilabel_batch_size = 100
  e.multilabel_lr = 2e-4
  # FID / KID in the feature space of the real-data (CAS) classifier.
  e.kid_subsets = 100
  e.kid_subset_size = 1000
  e.grid_per_class = 6  # real | generated columns of the opening grid
  e.experiments = "cas,tstr,realfake,multilabel,fid"
  return e


def get_config(preset: str = "cpu") -> ml_collections.ConfigDict:
  preset = preset or "cpu"
  config = common.base_config()
  config.job = "evaluate"
  config.preset = preset
  config.gan_workdir = ""  # RUN: the training workdir with checkpoints/
  for k, v in list(config.data.items()):
    config.data[k] = placeholder(type(v))  # None: take RUN's value
  config.eval = eval_config()
  e = config.eval

  if preset == "paper":
    pass
  elif preset == "cpu":
    # Measured on the cross-media paper data (930 real, 64x64) on a shared
    # 2-core CPU: CAS ~2 s/epoch, TSTR ~10 s/epoch (3000 images), multi-label
    # ~3 s/epoch, VGG19 at 32x32 ~100 s/epoch + ~2 min to test 2790 images.
    e.classifier_epochs = 40
    e.tstr_epochs = 10
    e.multilabel_epochs = 40
    e.detector_input_size = 32
    e.detector_epochs = 2
    e.kid_subsets = 50
  elif preset == "test":
    e.images_per_class = 8
    e.tstr_images_per_class = 8
    e.classifier_epochs = 2
    e.classifier_batch_size = 16
    e.tstr_epochs = 2
    e.detector_epochs = 1
    e.detector_batch_size = 16
    e.multilabel_epochs = 2
    e.multilabel_batch_size = 16
    e.kid_subsets = 5
    e.kid_subset_size = 50
    e.grid_per_class = 3
  else:
    raise ValueError(
        f"configs/evaluate.py: unknown preset {preset!r}; use paper, cpu or "
        "test")
  return config
