"""Several media as training data and the medium as a condition
(``data.media``, ``model.medium_conditioning``) and D's overfitting probe."""

import json
import os

import jax
import ml_collections
import numpy as np
import pytest

from configs import cgan as cgan_config
from configs import common
from configs import evaluate as eval_config
from sigjax import data as D
from sigjax import evaluate
from sigjax import inference
from sigjax import parallel
from sigjax import train as train_lib
from sigjax import train_loop
from sigjax.datasets import cross_media as cm
from sigjax.models import cgan

from tests.test_data import _fake_manual_dir


def _data_cfg(tmp_path, manual, **kw):
  d = common.data_config()
  d.update(dict(dict(source="cross_media", dir=str(manual), image_size=16,
                     val_fraction=0.2, test_fraction=0.2,
                     tfds_data_dir=str(tmp_path / "tfds")), **kw))
  return d


def _train_config(tmp_path, manual, **model):
  config = cgan_config.get_config("test")
  config.data = _data_cfg(tmp_path, manual, media="all")
  config.model.update(**model)
  config.train.steps = 2
  return config


def test_all_media_splits_are_writer_disjoint(cross_media_dir, tmp_path):
  """On the real data: no validation or test writer's signature on any
  medium is in the training split, and the test writers are the paper
  split's."""
  cfg = _data_cfg(tmp_path, cross_media_dir, media="all", val_fraction=0.1)
  parts = {s: D.load(cfg, s) for s in ("train", "validation", "test")}
  writers = {s: set(p.meta["writer"]) for s, p in parts.items()}
  assert not writers["train"] & writers["validation"]
  assert not writers["train"] & writers["test"]
  assert not writers["validation"] & writers["test"]
  assert set(parts["train"].meta["medium"]) == set(cm.MEDIA)
  assert len(parts["train"]) == 4 * 10 * len(writers["train"])
  paper = D.load(_data_cfg(tmp_path, cross_media_dir, val_fraction=0.1),
                 "test")
  assert set(paper.meta["writer"]) == writers["test"]


def test_medium_labels_and_settings(tmp_path):
  manual = _fake_manual_dir(tmp_path / "manual")
  data = D.load(_data_cfg(tmp_path, manual, media="paper,ipad"), "train")
  cond = D.medium_conditioned(data, ["paper", "ipad"])
  assert cond.num_classes == 20
  assert cond.class_names[10] == "Wang Tao (ipad)"
  ipad = np.array(data.meta["medium"]) == "ipad"
  np.testing.assert_array_equal(cond.labels[ipad], data.labels[ipad] + 10)
  np.testing.assert_array_equal(cond.labels[~ipad], data.labels[~ipad])
  with pytest.raises(D.DataError, match="phone_in_hand"):
    D.medium_conditioned(D.load(_data_cfg(tmp_path, manual,
                                          media="paper,phone_in_hand"),
                                "train"), ["paper", "ipad"])
  synthetic = cgan_config.get_config("test")
  synthetic.model.medium_conditioning = True
  synthetic.data.media = "all"  # one medium: no effect on synthetic data
  assert cgan.num_media(synthetic) == 1
  bad = synthetic.to_dict()
  bad["model"]["medium_conditioning"] = "yes"  # as a hand-edited config.json
  with pytest.raises(ValueError, match="model.medium_conditioning='yes'"):
    common.check_gan_options(ml_collections.ConfigDict(bad))
  with pytest.raises(D.DataError, match="carries no medium"):
    D.medium_conditioned(D.load(synthetic.data, "train"), ["paper"])
  config = _train_config(tmp_path, manual, medium_conditioning=True)
  assert common.media_list(config.data) == list(cm.MEDIA)
  assert cgan.num_media(config) == 4
  config.data.media = "paper,fax"
  with pytest.raises(ValueError, match="config.data.media='paper,fax'"):
    common.check_gan_options(config)


def test_medium_condition_is_factored():
  """A name embedding and a medium embedding (not one per pair): every
  medium's images teach the name's part."""
  config = cgan_config.get_config("test")
  config.data.update(source="cross_media", media="all")
  config.model.update(medium_conditioning=True, conditioning="projection")
  state = train_lib.create_state(config, 40)
  assert state.params_g["bn0_gamma"]["embedding"].shape[0] == 10
  assert state.params_g["bn0_gamma_medium"]["embedding"].shape[0] == 4
  np.testing.assert_array_equal(state.params_g["bn0_gamma_medium"]
                                ["embedding"], 0.0)  # starts at the name's
  assert state.params_d["embed_medium"]["embedding"].shape[0] == 4
  config.model.conditioning = "concat"
  state = train_lib.create_state(config, 40)
  # z (8) + name one-hot (10) + medium one-hot (4)
  assert state.params_g["fc"]["kernel"].shape[0] == 8 + 10 + 4
  # Off: the original parameter tree.
  config.model.medium_conditioning = False
  state = train_lib.create_state(config, 10)
  assert state.params_g["fc"]["kernel"].shape[0] == 8 + 10


def test_train_generate_and_evaluate_draw_paper(tmp_path):
  manual = _fake_manual_dir(tmp_path / "manual")
  config = _train_config(tmp_path, manual, medium_conditioning=True,
                         conditioning="projection")
  workdir = str(tmp_path / "run")
  train_loop.run(config, workdir)
  g = inference.load_generator(workdir)
  assert g.medium == "paper" and g.num_classes == 10
  assert g.class_names == list(cm.NAMES)
  assert g.media == list(cm.MEDIA)
  labels = np.arange(10)
  paper = g.sample(labels, seed=3)
  ipad = inference.load_generator(workdir, medium="ipad").sample(labels,
                                                                 seed=3)
  assert not np.array_equal(paper, ipad)
  # The model's label is medium * names + name.
  direct = np.asarray(g._apply(g.variables, g.noise(10, 3),
                               labels + 10))  # pylint: disable=protected-access
  np.testing.assert_allclose(ipad, direct, atol=1e-6)
  with pytest.raises(ValueError, match="fax"):
    inference.load_generator(workdir, medium="fax")

  ev = eval_config.get_config("test")
  ev.gan_workdir = workdir
  ev.eval.experiments = "strokes"
  report = evaluate.run(ev, str(tmp_path / "eval"))
  assert report["info"]["trained_media"] == ",".join(cm.MEDIA)
  assert report["info"]["medium"] == "paper"
  assert report["info"]["data"]["media"] == "paper"
  # References: the test writers' paper signatures (1 of 6 writers x 10).
  assert report["real_sizes"]["test"] == 10
  with open(tmp_path / "eval" / "report.md") as f:
    assert "Media that trained the generator" in f.read()


def test_pooled_media_are_scored_on_paper(tmp_path):
  manual = _fake_manual_dir(tmp_path / "manual")
  config = _train_config(tmp_path, manual)
  workdir = str(tmp_path / "run")
  train_loop.run(config, workdir)
  g = inference.load_generator(workdir)
  assert g.medium is None and g.num_classes == 10
  with pytest.raises(ValueError, match="pooled"):
    inference.load_generator(workdir, medium="fax")
  ev = eval_config.get_config("test")
  ev.gan_workdir = workdir
  ev.eval.experiments = "strokes"
  report = evaluate.run(ev, str(tmp_path / "eval"))
  assert report["info"]["data"]["media"] == "paper"
  assert not report["info"]["medium_conditioning"]
  assert report["real_sizes"]["all"] == 60  # 6 writers x 10 paper names


def test_overfit_probe_logged_and_exact(tmp_path):
  config = cgan_config.get_config("test")
  config.train.update(steps=4, log_every=2)
  state = train_loop.run(config, str(tmp_path))
  with open(tmp_path / "metrics.jsonl") as f:
    rows = [json.loads(l) for l in f]
  assert [r["step"] for r in rows] == [2, 4]
  for r in rows:
    for k in ("d_val_acc", "d_train_acc", "d_val_logit", "d_train_logit"):
      assert k in r and np.isfinite(r[k])
    assert 0.0 <= r["d_val_acc"] <= 1.0
  # The probe's numbers are D's on those images, without augmentation.
  train = D.load(config.data, "train")
  val = D.load(config.data, "validation")
  mesh = parallel.make_mesh()
  probe = train_loop.OverfitProbe(config, 3, train, val, mesh)
  out = jax.device_get(probe(state))
  _, disc = cgan.build_models(config, 3)
  x, y = probe.sets["val"]
  logits = np.asarray(disc.apply({"params": state.params_d}, x, y))
  assert out["d_val_acc"] == pytest.approx(np.mean(logits > 0), abs=1e-6)
  assert out["d_val_logit"] == pytest.approx(np.mean(logits), abs=1e-5)
  assert rows[-1]["d_val_acc"] == pytest.approx(out["d_val_acc"], abs=1e-6)


def test_overfit_onset_needs_a_lasting_gap():
  def rows(gaps):
    return [{"step": 50 * (i + 1), "d_train_acc": 0.9,
             "d_val_acc": 0.9 - g} for i, g in enumerate(gaps)]
  assert train_loop.overfit_onset(rows([0, 0.2, 0, 0.12, 0.15, 0.3])) == 200
  assert train_loop.overfit_onset(rows([0, 0.2, 0.2, 0, 0.2])) is None
  assert train_loop.overfit_onset([{"step": 50, "d_loss": 1.0}]) is None


def test_parameter_overview_counts_each_network():
  config = cgan_config.get_config("test")
  state = train_lib.create_state(config, 3)
  text = train_loop.parameter_overview(state)
  g = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(state.params_g))
  assert text.startswith(f"G {g / 1e3:.1f}k (") and "; D " in text
  assert "fc " in text and "conv0 " in text


def test_media_all_and_its_list_are_the_same_run():
  from sigjax import checkpoint as ckpt  # pylint: disable=import-outside-toplevel
  config = cgan_config.get_config("test")
  config.data.update(source="cross_media", media="all")
  saved = json.loads(config.to_json_best_effort())
  config.data.media = "phone_on_table,paper,ipad,phone_in_hand"
  assert ckpt.config_differences(saved, config) == []
  config.data.media = "paper,ipad"
  assert any("data.media" in d for d in ckpt.config_differences(saved,
                                                                config))
