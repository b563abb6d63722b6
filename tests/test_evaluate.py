"""The evaluation suite end to end on tiny synthetic data, its sanity checks
(a generator that returns real images vs one that returns noise) and its
errors."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from configs import evaluate as eval_configs
from sigjax import data as data_lib
from sigjax import evaluate

NUM_CLASSES = 3


def tiny_config(experiments="cas,tstr,realfake,multilabel,fid"):
  config = eval_configs.get_config("test")
  d = config.data
  d.source, d.image_size, d.num_classes = "synthetic", 32, NUM_CLASSES
  d.synthetic_per_class, d.seed = 30, 0
  e = config.eval
  e.experiments = experiments
  e.classifier_epochs = e.tstr_epochs = 6  # 8 steps/epoch at batch 16
  e.classifier_lr = 1e-3
  return config


@pytest.fixture(scope="module")
def real():
  config = tiny_config()
  return evaluate.load_real(evaluate.resolve_data_config(config, None))


class RealImages:
  """A "generator" that returns real images of the asked class."""

  def __init__(self, pool):
    self.pool, self.num_classes = pool, pool.num_classes

  def sample(self, labels, seed):
    rng = np.random.default_rng(seed)
    return np.stack([self.pool.images[rng.choice(
        np.flatnonzero(self.pool.labels == k))] for k in labels])


class Noise:
  num_classes = NUM_CLASSES

  def sample(self, labels, seed):
    rng = np.random.default_rng(seed)
    return rng.random((len(labels), 32, 32, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def real_run(real, tmp_path_factory):
  out = tmp_path_factory.mktemp("eval_real")
  return out, evaluate.run_suite(tiny_config(), RealImages(real["all"]), real,
                                 str(out), info={"checkpoint_step": 7})


def test_every_experiment_reports_its_keys_in_range(real_run):
  out, rep = real_run
  for key in ("cas_accuracy", "real_test_accuracy", "tstr_accuracy",
              "realfake_accuracy", "multilabel_identity_accuracy",
              "multilabel_genuine_accuracy"):
    assert 0.0 <= rep[key] <= 1.0, key
  for key in ("fid", "fid_real_vs_real", "fid_half"):
    assert rep[key] >= 0.0, key
  assert rep["kid_stderr"] >= 0.0 and np.isfinite(rep["kid"])
  assert set(rep["realfake_per_class"]) == {"generated", "real"}
  # Real images vs real images: nothing to detect, so the balanced accuracy
  # (unlike the raw one, on a 5:1 test set) sits near chance, and a detector
  # that answers one class is flagged in report.md.
  assert abs(rep["realfake_balanced_accuracy"] - 0.5) < 0.2
  one_class = rep["experiments"]["realfake"]["one_class"]
  md = open(os.path.join(out, "report.md")).read()
  assert ("predicts one class for every test image" in md) == one_class
  assert set(rep["wall_time_s"]) == set(evaluate.EXPERIMENTS)
  assert rep["info"]["checkpoint_step"] == 7 and rep["seed"] == 0
  # The real/fake split is scaled: 90 real images instead of 1000.
  sizes = rep["experiments"]["realfake"]["sizes"]
  assert sizes["scaled"] and sizes["train_real"] == 45
  assert sizes["test_fake"] == round(2500 * 0.09)
  assert rep["experiments"]["cas"]["sizes"]["generated_test"] == 3 * 8

  on_disk = json.loads((out / "report.json").read_text())
  assert on_disk["cas_accuracy"] == rep["cas_accuracy"]
  md = (out / "report.md").read_text()
  assert md.index("real_vs_generated.png") < md.index("## Summary")
  for fig in ("real_vs_generated", "cas_confusion_generated", "tstr_history",
              "realfake_confusion", "multilabel_identity_confusion",
              "multilabel_genuine_confusion"):
    assert (out / "figures" / f"{fig}.png").stat().st_size > 1000, fig
    assert f"figures/{fig}.png" in md
  assert "scaled by 0.090" in md


def test_real_image_generator_matches_real_floor(real_run):
  """Generated == real: CAS ~ real-test accuracy, FID ~ the real floor."""
  _, rep = real_run
  assert rep["real_test_accuracy"] > 0.8
  assert abs(rep["cas_accuracy"] - rep["real_test_accuracy"]) <= 0.15
  assert rep["fid_half"] < 2.0 * rep["fid_real_vs_real"] + 1e-3


def test_noise_generator_is_chance_and_far(real, real_run, tmp_path):
  _, rep_real = real_run
  rep = evaluate.run_suite(tiny_config("cas,fid"), Noise(), real,
                           str(tmp_path))
  assert rep["cas_accuracy"] <= 1 / NUM_CLASSES + 0.2
  assert rep["fid_half"] > 10 * max(rep["fid_real_vs_real"], 1e-3)
  assert rep["fid"] > 10 * rep_real["fid"]
  assert rep["kid"] > 10 * rep["kid_stderr"]
  assert "tstr_accuracy" not in rep


def test_deterministic_rerun(real, real_run, tmp_path):
  _, rep_real = real_run
  rep = evaluate.run_suite(tiny_config("cas,fid"), RealImages(real["all"]),
                           real, str(tmp_path))
  assert rep["cas_accuracy"] == rep_real["cas_accuracy"]
  assert rep["fid"] == rep_real["fid"]


def test_errors_name_the_problem(real, tmp_path):
  config = tiny_config()

  class FourClasses(Noise):
    num_classes = 4
  with pytest.raises(evaluate.EvaluationError, match="4 classes.*3"):
    evaluate.run_suite(config, FourClasses(), real, str(tmp_path))
  with pytest.raises(evaluate.EvaluationError, match="class 1 has 2 real"):
    evaluate.multilabel_split(np.array([0] * 10 + [1] * 2), 2,
                              (0.4, 0.1, 0.5), 0)
  with pytest.raises(evaluate.EvaluationError, match="real/fake: 1 real images"):
    evaluate.realfake_sizes(1, config.eval)
  with pytest.raises(evaluate.EvaluationError, match="postprocess"):
    evaluate.postprocess(np.zeros((1, 4, 4, 1)), "jpeg")
  config.eval.experiments = "cas,bogus"
  with pytest.raises(evaluate.EvaluationError, match="bogus"):
    evaluate.run_suite(config, Noise(), real, str(tmp_path))


def test_run_needs_a_workdir_with_checkpoints(tmp_path):
  config = tiny_config()
  with pytest.raises(evaluate.EvaluationError, match="gan_workdir is empty"):
    evaluate.run(config, str(tmp_path / "out"))
  config.gan_workdir = str(tmp_path / "run")
  (tmp_path / "run").mkdir()
  with pytest.raises(Exception, match="checkpoints"):
    evaluate.run(config, str(tmp_path / "out"))


def test_data_settings_come_from_the_run_unless_overridden():
  config = eval_configs.get_config("cpu")
  run_cfg = {"data": {"source": "cross_media", "media": "paper",
                      "image_size": 64, "label": "name"}}
  d = evaluate.resolve_data_config(config, run_cfg)
  assert (d.source, d.media, d.image_size) == ("cross_media", "paper", 64)
  config.data.media = "ipad"
  assert evaluate.resolve_data_config(config, run_cfg).media == "ipad"
  assert evaluate.resolve_data_config(config, None).source == "synthetic"


def test_postprocess_modes():
  x = np.array([0.1, 0.5004, 0.9]).reshape(1, 3, 1, 1)
  np.testing.assert_array_equal(evaluate.postprocess(x, "binarize").ravel(),
                                [0, 1, 1])
  u = evaluate.postprocess(x, "uint8").ravel()
  np.testing.assert_allclose(u * 255, np.round(u * 255))
  assert data_lib.DataError  # the data errors stay the data module's
