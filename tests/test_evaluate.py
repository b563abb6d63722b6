"""The evaluation suite end to end on tiny synthetic data, its sanity checks
(a generator that returns real images vs one that returns noise), the
detector's competence (a clearly bad generator is detected; a detector that
cannot learn is flagged), a cgan.py:test run evaluated with the test preset
as it is, and its errors."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from configs import cgan as cgan_configs
from configs import evaluate as eval_configs
from sigjax import data as data_lib
from sigjax import evaluate
from sigjax.evaluation import base
from sigjax.evaluation import cache as cache_lib
from sigjax.evaluation import common
from sigjax.evaluation import realfake
from sigjax.evaluation import registry

NUM_CLASSES = 3


def tiny_config(
    experiments="cas,tstr,realfake,multilabel,fid,prd,indep,strokes,copies"):
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


class Blurry(RealImages):
  """A clearly bad generator: blurred, noisy copies of real images (after
  binarization: eroded strokes in salt-and-pepper noise)."""

  def sample(self, labels, seed):
    x = evaluate.degrade(super().sample(labels, seed), "blur", seed)
    rng = np.random.default_rng(seed + 1)
    return np.clip(x + rng.normal(0.0, 0.3, x.shape), 0, 1).astype(np.float32)


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
  for key in ("precision", "recall", "precision_real_vs_real",
              "recall_real_vs_real", "indep_cas_accuracy",
              "indep_real_test_accuracy", "indep_precision", "indep_recall",
              "detector_check_balanced_accuracy"):
    assert 0.0 <= rep[key] <= 1.0, key
  for key in ("indep_fid", "indep_fid_half", "indep_fid_real_vs_real",
              "kid_half", "indep_kid", "indep_kid_half"):
    assert np.isfinite(rep[key]), key
  # Generated images that are real images have the real stroke structure.
  assert rep["strokes_components_real"] >= 1
  # (24 generated vs 9 real test images here: within one component.)
  assert abs(rep["strokes_components"] - rep["strokes_components_real"]) < 1
  assert 0.7 < rep["strokes_ink_ratio"] < 1.3
  assert 0.0 <= rep["strokes_speckle"] <= 1.0
  assert rep["strokes_components_w1"] >= 0.0
  md = open(os.path.join(out, "report.md")).read()
  assert "## Stroke structure (no learned network)" in md
  assert "`strokes_components`" in md
  # Generated images that are real images: those drawn from the train split
  # are exact copies, far more than real signatures' own near pairs.
  cp = rep["experiments"]["copies"]
  assert rep["copies_share"] > 0.3, rep["copies_share"]
  assert rep["copies_share"] > 3 * rep["copies_share_real_train"]
  assert cp["generated"]["min"] == 0.0 and cp["same_class"] > 0.9
  assert 0.0 <= rep["copies_nearest"] <= rep["copies_nearest_real_train"]
  assert "## Copies of training signatures" in md and "`copies_share`" in md
  assert rep["prd_k"] == 3 and isinstance(rep["disagreements"], list)
  assert rep["detector"] == "cnn" and not rep["detector_resized"]
  assert isinstance(rep["detector_competent"], bool)
  # Synthetic data is binary, so 'auto' scores binarized images.
  assert (rep["postprocess"], rep["postprocess_setting"]) == ("binarize",
                                                              "auto")
  # Real images vs real images: nothing to detect, so the balanced accuracy
  # (unlike the raw one, on a 5:1 test set) sits near chance, and a detector
  # that answers one class is flagged in report.md.
  assert abs(rep["realfake_balanced_accuracy"] - 0.5) < 0.2
  one_class = rep["experiments"]["realfake"]["one_class"]
  md = open(os.path.join(out, "report.md")).read()
  assert ("predicts one class for every test image" in md) == one_class
  assert ("failed its own competence check" in md) == (
      not rep["detector_competent"])
  assert "balanced accuracy" in md and "scored as `binarize`" in md
  assert "## The independent network" in md and "recall" in md
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
              "multilabel_genuine_confusion", "detector_check_examples",
              "indep_confusion_generated", "copies_nearest"):
    assert (out / "figures" / f"{fig}.png").stat().st_size > 1000, fig
    assert f"figures/{fig}.png" in md
  assert "scaled by 0.090" in md


def test_real_image_generator_matches_real_floor(real_run):
  """Generated == real: CAS ~ real-test accuracy, FID ~ the real floor."""
  _, rep = real_run
  assert rep["real_test_accuracy"] > 0.8
  assert abs(rep["cas_accuracy"] - rep["real_test_accuracy"]) <= 0.15
  assert rep["fid_half"] < 2.0 * rep["fid_real_vs_real"] + 1e-3
  # Generated images are real images: on the real manifold.
  assert rep["precision"] >= 0.8 * rep["precision_real_vs_real"]
  assert rep["indep_precision"] >= 0.8 * rep["indep_precision_real_vs_real"]


def test_noise_generator_is_chance_and_far(real, real_run, tmp_path):
  _, rep_real = real_run
  rep = evaluate.run_suite(tiny_config("cas,fid,prd,strokes,copies"), Noise(),
                           real, str(tmp_path))
  assert rep["cas_accuracy"] <= 1 / NUM_CLASSES + 0.2
  assert rep["fid_half"] > 10 * max(rep["fid_real_vs_real"], 1e-3)
  assert rep["fid"] > 10 * rep_real["fid"]
  assert rep["kid"] > 10 * rep["kid_stderr"]
  # Off the real manifold: few of the real images lie in the generated
  # manifold, and fewer generated images in the real one than real ones.
  # (In this tiny classifier's feature space the real k-NN radii are wide:
  # noise's precision is 0.40-0.47 of real's on a Zen 3 host, 0.67 on a
  # Zen 4 one; recall 0.09 of real's.)
  assert rep["recall"] < 0.3 * rep["recall_real_vs_real"]
  assert rep["precision"] < 0.8 * rep["precision_real_vs_real"]
  # Noise is blots, not strokes: the measure with no network says so too.
  assert rep["strokes_components"] > 3 * rep["strokes_components_real"]
  assert rep["strokes_ink_ratio"] > 2
  assert rep["strokes_components_w1"] > 5 * (
      rep["strokes_components_w1_real_vs_real"] + 0.1)
  # Noise copies nothing: no generated image near a training signature.
  assert rep["copies_share"] == 0.0
  assert rep["copies_nearest"] > rep["copies_nearest_real_train"]
  assert "tstr_accuracy" not in rep and "indep_cas_accuracy" not in rep
  assert rep["disagreements"] == []


def test_strokes_setting_is_checked(real, tmp_path):
  config = tiny_config("strokes")
  config.eval.strokes_speckle_px = 0
  with pytest.raises(evaluate.EvaluationError,
                     match="config.eval.strokes_speckle_px=0"):
    evaluate.run_suite(config, RealImages(real["all"]), real, str(tmp_path))


def test_deterministic_rerun(real, real_run, tmp_path):
  _, rep_real = real_run
  rep = evaluate.run_suite(tiny_config("cas,fid"), RealImages(real["all"]),
                           real, str(tmp_path))
  assert rep["cas_accuracy"] == rep_real["cas_accuracy"]
  assert rep["fid"] == rep_real["fid"]


def test_a_new_experiment_is_one_module_and_its_registration(
    real, tmp_path, monkeypatch):
  """The registry's contract: an experiment declares what it needs, reads
  what those left in the shared context, and reports its own keys, summary
  rows and section; registering it is the only other change."""

  def run(ctx):
    feats = ctx.artifact("cas", "gen_feats")  # left by cas, which it needs
    return {"mean_norm": float(np.linalg.norm(feats, axis=1).mean()),
            "images": len(feats)}
  toy = base.Experiment(
      name="featnorm", run=run, needs=("cas",),
      needs_why="it reads the CAS classifier's features",
      summarize=lambda r: {"featnorm": r["mean_norm"]},
      summary_rows=lambda rep: [f"| `featnorm` | {rep['featnorm']:.3f} | "
                                "- | mean feature norm |"],
      section=lambda rep, figdir, art: [
          "## Feature norms", "",
          f"{rep['experiments']['featnorm']['images']} generated images.",
          ""])
  registered = registry.EXPERIMENTS
  monkeypatch.setattr(registry, "EXPERIMENTS", registered + (toy,))
  rep = evaluate.run_suite(tiny_config("cas,featnorm"),
                           RealImages(real["all"]), real, str(tmp_path))
  assert rep["featnorm"] > 0 and rep["experiments"]["featnorm"]["images"] == 24
  assert list(rep["wall_time_s"]) == ["cas", "featnorm"]
  md = (tmp_path / "report.md").read_text()
  assert "| `featnorm` |" in md and "24 generated images." in md
  assert md.index("## CAS") < md.index("## Feature norms") < md.index(
      "## Wall time")
  on_disk = json.loads((tmp_path / "report.json").read_text())
  assert on_disk["featnorm"] == rep["featnorm"]
  with pytest.raises(evaluate.EvaluationError,
                     match=r"featnorm needs cas \(it reads"):
    evaluate.run_suite(tiny_config("featnorm"), RealImages(real["all"]), real,
                       str(tmp_path))
  with pytest.raises(ValueError, match="needs cas, which is not registered "
                                       "before it"):
    registry.check((toy,) + registered)
  with pytest.raises(ValueError, match="repeat"):
    registry.check(registered + registered[:1])


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
  config.eval.experiments = "prd"
  with pytest.raises(evaluate.EvaluationError, match="prd needs cas"):
    evaluate.run_suite(config, Noise(), real, str(tmp_path))
  with pytest.raises(evaluate.EvaluationError, match="detector_check"):
    evaluate.degrade(np.zeros((1, 8, 8, 1)), "smudge", 0)
  config.eval.detector = "resnet"
  with pytest.raises(evaluate.EvaluationError, match="detector='resnet'"):
    evaluate.detector_input(config.eval, 32)


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
  binary = np.array([0.0, 1.0]).reshape(1, 2, 1, 1)
  assert evaluate.resolve_postprocess("auto", binary) == "binarize"
  assert evaluate.resolve_postprocess("auto", binary * 0.7) == "uint8"
  assert evaluate.resolve_postprocess("none", binary) == "none"
  # A generator trained on ink coverage is thresholded as the real images
  # are: Otsu per image (a faint image still gets its strokes).
  assert evaluate.resolve_postprocess("auto", binary, "coverage") == "otsu"
  faint = np.zeros((2, 8, 8, 1), np.float32)
  faint[:, 2:6, 3] = 0.3
  faint[1, 2:6, 4] = 0.1
  o = evaluate.postprocess(faint, "otsu")
  assert o[0, 2:6, 3].all() and o.sum() == 8 and not o[1, :, 4].any()
  assert not evaluate.postprocess(faint, "binarize").any()
  with pytest.raises(evaluate.EvaluationError, match="postprocess"):
    evaluate.resolve_postprocess("png", binary)
  assert eval_configs.get_config("cpu").eval.postprocess == "auto"
  assert eval_configs.get_config("paper").eval.postprocess == "uint8"
  x = np.array([0.1, 0.5004, 0.9]).reshape(1, 3, 1, 1)
  np.testing.assert_array_equal(evaluate.postprocess(x, "binarize").ravel(),
                                [0, 1, 1])
  u = evaluate.postprocess(x, "uint8").ravel()
  np.testing.assert_allclose(u * 255, np.round(u * 255))
  assert data_lib.DataError  # the data errors stay the data module's


def test_degradations_damage_the_image():
  rng = np.random.default_rng(0)
  x = (rng.random((4, 64, 64, 1)) < 0.2).astype(np.float32)
  broken = evaluate.degrade(x, "break", 1)
  assert set(np.unique(broken)) <= {0.0, 1.0}  # stays binary
  erased = np.mean(broken[x == 1] == 0)
  assert 0.2 < erased < 0.4  # ~30% of the ink erased
  assert 0.002 < np.mean(broken[x == 0]) < 0.01  # ~0.5% speckle
  blurred = evaluate.degrade(x, "blur", 1)
  assert blurred.shape == x.shape and 0 <= blurred.min() <= blurred.max() <= 1
  np.testing.assert_array_equal(evaluate.degrade(x, "break", 1), broken)


@pytest.fixture(scope="module")
def real60():
  """60 synthetic images per class (the detector's train split: 90 + 90)."""
  config = tiny_config()
  config.data.synthetic_per_class = 60
  return evaluate.load_real(evaluate.resolve_data_config(config, None))


def detector_config(**eval_overrides):
  """The cpu preset's CNN detector settings, 20 epochs at batch 16."""
  config = tiny_config("realfake")
  config.data.synthetic_per_class = 60
  cpu, e = eval_configs.get_config("cpu").eval, config.eval
  e.cnn_detector_lr, e.cnn_detector_dropout = cpu.cnn_detector_lr, 0.0
  e.cnn_detector_epochs = cpu.cnn_detector_epochs
  assert e.detector == cpu.detector == "cnn"
  assert cpu.cnn_detector_dropout == 0.0
  for k, v in eval_overrides.items():
    setattr(e, k, v)
  return config


def test_detector_is_competent_against_a_clearly_bad_generator(real60,
                                                                tmp_path):
  """Real images vs blurred, noisy copies of real images: the cpu preset's
  CNN detector, trained on 90 + 90 images, separates them (balanced
  accuracy >= 0.95) and passes its own competence check."""
  real = real60
  rep = evaluate.run_suite(detector_config(), Blurry(real["all"]), real,
                           str(tmp_path))
  assert rep["realfake_balanced_accuracy"] >= 0.95
  assert rep["detector_competent"] is True
  assert rep["detector_check_balanced_accuracy"] >= 0.95
  md = (tmp_path / "report.md").read_text()
  assert "failed its own competence check" not in md
  assert "Competence check:" in md and ": passed." in md


def test_a_detector_that_cannot_learn_fails_its_check(real60, tmp_path):
  real = real60
  rep = evaluate.run_suite(detector_config(cnn_detector_epochs=0),
                           Blurry(real["all"]), real, str(tmp_path))
  assert rep["detector_competent"] is False
  assert rep["detector_check_balanced_accuracy"] < 0.95
  md = (tmp_path / "report.md").read_text()
  assert "failed its own competence check" in md
  assert "not evidence" in md


def test_small_images_are_resized_up_for_vgg19():
  e = eval_configs.get_config("paper").eval
  assert e.detector == "vgg19"
  geo = evaluate.detector_input(e, 16)
  assert geo["input_size"] == 32 and geo["resized"]
  assert "vgg19 needs >= 32" in geo["resize_note"]
  e.detector_input_size = 48
  assert evaluate.detector_input(e, 16)["input_size"] == 48
  e.detector_input_size = 24  # below the minimum: raised, and said so
  geo = evaluate.detector_input(e, 64)
  assert geo["input_size"] == 32 and "raised" in geo["resize_note"]
  e.detector = "cnn"  # the CNN takes the data's size
  assert not evaluate.detector_input(e, 16)["resized"]


def test_vgg19_detector_gets_16px_images_resized(tmp_path, monkeypatch):
  """The original's detector on a cgan.py:test-sized dataset (16x16): the
  suite asks for a 32x32 detector and the report says why. (Training is
  stubbed out here; tests/test_classifier.py runs the resizing model.)"""
  config = tiny_config("realfake")
  d, e = config.data, config.eval
  d.image_size, d.synthetic_per_class = 16, 16
  e.detector, e.detector_check = "vgg19", "none"
  real16 = evaluate.load_real(evaluate.resolve_data_config(config, None))
  sizes = []

  def fake_fit(ctx, x_tr, y_tr, x_te, y_te, prefix, size):
    sizes.append((x_tr.shape[1], size))
    pred = np.ones_like(y_te)
    out = common.report_block(y_te, pred, ["generated", "real"])
    out.update(balanced_accuracy=0.5, one_class=True, history={},
               train_steps=0, epochs=0)
    return out
  monkeypatch.setattr(realfake, "fit_detector", fake_fit)
  rep = evaluate.run_suite(config, RealImages(real16["all"]), real16,
                           str(tmp_path))
  assert sizes == [(16, 32)]
  assert rep["detector_input_size"] == 32 and rep["detector_resized"]
  assert rep["detector_competent"] is None
  md = (tmp_path / "report.md").read_text()
  assert "resized from 16x16 to 32x32 (vgg19 needs >= 32 px)" in md
  assert "Competence check: off" in md


def test_indep_trains_on_other_media_only_for_writer_disjoint_splits():
  d = eval_configs.get_config("cpu").data
  run_cfg = {"data": {"source": "cross_media", "media": "paper",
                      "label": "name", "image_size": 64}}
  d = evaluate.resolve_data_config(eval_configs.get_config("cpu"), run_cfg)
  other, why = evaluate.indep_data_config(d, "all")
  assert other.media == evaluate.ALL_MEDIA and "training writers" in why
  assert (other.label, other.image_size, other.seed) == ("name", 64, d.seed)
  assert evaluate.indep_data_config(d, "")[0] is None
  d.label = "writer"
  assert "could hold test images" in evaluate.indep_data_config(d, "all")[1]
  d.source = "synthetic"
  assert evaluate.indep_data_config(d, "all")[0] is None


def test_indep_on_cross_media_uses_training_writers_of_every_medium(
    cross_media_tfds_dir):
  config = eval_configs.get_config("cpu")
  config.data.tfds_data_dir = str(cross_media_tfds_dir)
  d = evaluate.resolve_data_config(config, {"data": {
      "source": "cross_media", "image_size": 16}})
  real = evaluate.load_real(d, "all")
  tr = real["indep_train"]
  assert set(tr.meta["medium"]) == set(evaluate.ALL_MEDIA.split(","))
  assert set(tr.meta["writer"]) == set(real["train"].meta["writer"])
  assert not set(tr.meta["writer"]) & set(real["test"].meta["writer"])
  assert len(tr) == 4 * len(real["train"])


def test_test_presets_compose(tmp_path):
  """evaluate.py:test on a cgan.py:test run (16x16 images, 3 classes), with
  no overrides: every experiment runs."""
  from sigjax import train_loop  # pylint: disable=g-import-not-at-top
  run_dir = tmp_path / "run"
  train_loop.run(cgan_configs.get_config("test"), str(run_dir))
  config = eval_configs.get_config("test")
  config.gan_workdir = str(run_dir)
  rep = evaluate.run(config, str(tmp_path / "eval"))
  assert set(rep["wall_time_s"]) == set(evaluate.EXPERIMENTS)
  assert rep["info"]["data"]["image_size"] == 16
  assert rep["detector"] == "cnn" and rep["detector_input_size"] == 16
  assert 0.0 <= rep["realfake_balanced_accuracy"] <= 1.0
  assert (tmp_path / "eval" / "report.md").is_file()


def test_real_data_fits_are_reused_within_a_process(real, tmp_path):
  """A sweep evaluates many runs on the same real images: the CAS classifier
  is fitted once per process, and reusing it changes no number."""
  fits = evaluate.Cache()
  config = tiny_config("cas")
  reps = [evaluate.run_suite(config, RealImages(real["all"]), real,
                             str(tmp_path / str(i)), cache=fits)
          for i in range(2)]
  first, second = (r["experiments"]["cas"] for r in reps)
  assert (first["fit_reused"], second["fit_reused"]) == (False, True)
  assert reps[0]["cas_accuracy"] == reps[1]["cas_accuracy"]
  assert first["history"] == second["history"]
  # A run handed its own cache fits again; by default a process shares one.
  other = evaluate.run_suite(config, RealImages(real["all"]), real,
                             str(tmp_path / "other"), cache=evaluate.Cache())
  assert not other["experiments"]["cas"]["fit_reused"]
  assert other["cas_accuracy"] == reps[0]["cas_accuracy"]
  assert evaluate.default_cache() is evaluate.default_cache()
  # Other images (or labels) are another fit.
  x, y = real["train"].images, real["train"].labels
  assert cache_lib.digest(x, y) == cache_lib.digest(x.copy(), y.copy())
  assert cache_lib.digest(x, y) != cache_lib.digest(x, np.roll(y, 1))


def test_eval_generator_chooses_ema_or_raw_weights(tmp_path):
  """eval.generator: 'auto' scores the EMA generator of a run that has one,
  'raw' its trained weights (the report says which); 'ema' on a run without
  one and an unknown value are errors naming the setting."""
  from sigjax import train_loop  # pylint: disable=g-import-not-at-top
  cfg = cgan_configs.get_config("test")
  cfg.train.ema_decay = 0.5
  run_dir = tmp_path / "run"
  train_loop.run(cfg, str(run_dir))
  fids = {}
  for which in ("auto", "raw"):
    config = eval_configs.get_config("test")
    config.gan_workdir = str(run_dir)
    config.eval.experiments = "cas,fid"
    config.eval.generator = which
    rep = evaluate.run(config, str(tmp_path / which))
    fids[which] = rep["fid"]
    assert rep["info"]["generator"] == ("ema" if which == "auto" else "raw")
    md = (tmp_path / which / "report.md").read_text()
    assert f"({rep['info']['generator']} generator)" in md
  assert fids["auto"] != fids["raw"]  # different weights, different images
  config.eval.generator = "best"
  with pytest.raises(evaluate.EvaluationError, match="eval.generator"):
    evaluate.run(config, str(tmp_path / "bad"))
  plain = tmp_path / "plain"
  train_loop.run(cgan_configs.get_config("test"), str(plain))
  config.gan_workdir = str(plain)
  config.eval.generator = "ema"
  with pytest.raises(ValueError, match="no EMA generator"):
    evaluate.run(config, str(tmp_path / "noema"))


def test_downscale_is_the_block_mean_and_sizes_are_checked():
  from sigjax.evaluation import context  # pylint: disable=g-import-not-at-top
  x = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4, 1)
  y = context.downscale(x, 2)
  assert y.shape == (2, 2, 2, 1)
  assert y[0, 0, 0, 0] == np.mean([0, 1, 4, 5])
  assert y[1, 1, 1, 0] == np.mean([26, 27, 30, 31])
  assert context.downscale(x, 1) is x
  assert context.judge_factor(128, 64) == 2
  assert context.judge_factor(64, 0) == context.judge_factor(64, 64) == 1
  for bad in (48, 256):
    with pytest.raises(base.EvaluationError,
                       match=f"config.eval.image_size={bad}"):
      context.judge_factor(128, bad)


class Upscaled(RealImages):
  """Real images at twice their size (each pixel a 2x2 block), as a
  generator of 2x the data's size would draw them."""

  image_size = 64

  def sample(self, labels, seed):
    return np.repeat(np.repeat(super().sample(labels, seed), 2, axis=1), 2,
                     axis=2)


def test_a_larger_generator_is_judged_at_the_data_size(real, tmp_path):
  """A 64 px generator drawing the 32 px real images blown up is judged at
  32 px (config.eval.image_size): averaged back down it is the real data."""
  config = tiny_config("strokes,copies")
  config.eval.image_size = 32
  rep = evaluate.run_suite(config, Upscaled(real["all"]), real,
                           str(tmp_path / "up"))
  same = evaluate.run_suite(tiny_config("strokes,copies"),
                            RealImages(real["all"]), real,
                            str(tmp_path / "same"))
  for key in ("strokes_components", "strokes_ink_ratio", "copies_share",
              "copies_nearest"):
    assert rep[key] == same[key], key


def test_a_run_is_judged_at_a_smaller_size(tmp_path):
  """evaluate.run with config.eval.image_size: the real data is read at
  that size, the report says both sizes, and a size that does not divide
  the generator's is refused naming the setting."""
  from sigjax import train_loop  # pylint: disable=g-import-not-at-top
  run_dir = tmp_path / "run"
  train_loop.run(cgan_configs.get_config("test"), str(run_dir))  # 16 px
  config = eval_configs.get_config("test")
  config.gan_workdir = str(run_dir)
  config.eval.experiments = "strokes"
  config.eval.image_size = 8
  rep = evaluate.run(config, str(tmp_path / "eval"))
  assert rep["info"]["data"]["image_size"] == 8
  assert (rep["info"]["generator_size"], rep["info"]["judged_size"]) == (16, 8)
  assert "Judged at 8x8" in (tmp_path / "eval" / "report.md").read_text()
  config.eval.image_size = 12
  with pytest.raises(evaluate.EvaluationError,
                     match="config.eval.image_size=12"):
    evaluate.run(config, str(tmp_path / "eval12"))
