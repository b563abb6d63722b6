"""Saved configs of earlier versions (configs.common.upgrade): read once
where they are loaded, laid over base_config(), fields they lack filled as
those runs behaved; old workdirs resume and load in load_generator.

The fixtures in tests/data/old_configs/ are the config.json that each
version's ``configs/cgan.py`` wrote (``get_config(preset)
.to_json_best_effort(indent=2)`` run at that commit):

* ``2026-11-24_test.json`` (c1f135e): the first fields, with the retired
  ``data.shuffle_buffer``, ``model.conv_transpose='subpixel'``, no options,
  no ``model.conv_impl`` or ``xla_cpu_conv``;
* ``2026-11-28_test.json`` (e3a5593): the first data-efficient options,
  before the stroke-quality ones, ``data.ink``, EMA start/warm-up, LeCam;
* ``2026-12-01_test.json`` (b6d2796): every option up to the learning-rate
  decay, before ``model.medium_conditioning``, ``data.batch_order``,
  ``data.on_device`` and ``train.steps_per_dispatch``;
* ``2026-12-01_cpu.json`` (b6d2796): the former default preset ``cpu``,
  now ``dcgan_small``.
"""

import json
import os
import shutil

import numpy as np
import pytest

from configs import cgan as cgan_config
from configs import common
from sigjax import checkpoint as ckpt
from sigjax import inference
from sigjax import train_loop
import train_helpers
from train_helpers import assert_same, read_state

OLD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                   "old_configs")
TEST_FIXTURES = ("2026-11-24_test", "2026-11-28_test", "2026-12-01_test")


def old(name: str) -> dict:
  with open(os.path.join(OLD, name + ".json")) as f:
    return json.load(f)


def tiny(steps=4, **fields):
  """configs/cgan.py:test with ``steps``; fields as section__name=value."""
  return train_helpers.tiny(train__steps=steps, **fields)


def make_old(workdir, saved: dict):
  """Gives ``workdir`` (a run of today's code) the saved config of an
  earlier version: its config.json and every checkpoint's meta['config']."""
  with open(os.path.join(workdir, "config.json"), "w") as f:
    json.dump(saved, f, indent=2)
  n = 0
  for root, _, files in os.walk(os.path.join(workdir, "checkpoints")):
    if os.path.basename(root) != "meta":
      continue
    for name in files:
      path = os.path.join(root, name)
      try:
        with open(path) as f:
          meta = json.load(f)
      except ValueError:  # not the JSON metadata
        continue
      if isinstance(meta, dict) and "config" in meta:
        meta["config"] = saved
        with open(path, "w") as f:
          json.dump(meta, f)
        n += 1
  assert n, f"no checkpoint metadata under {workdir}"


# -------------------------------------------------------------- upgrade --


def test_todays_configs_are_read_back_as_they_are():
  for preset in ("quality", "quality_gpu", "paper", "dcgan_small", "test"):
    config = cgan_config.get_config(preset)
    saved = json.loads(config.to_json_best_effort())  # tuples become lists
    assert common.upgrade(saved).to_dict() == config.to_dict(), preset


@pytest.mark.parametrize("name", TEST_FIXTURES)
def test_old_config_is_todays_test_preset_with_the_old_behaviour(name):
  """Every field there; those the file lacks as the old run behaved: its
  batch order the tf.data one, every later option off."""
  saved = old(name)
  assert "batch_order" not in saved["data"]
  config = common.upgrade(saved, name)
  base = common.base_config()
  assert sorted(config.to_dict()) == sorted(base.to_dict())
  for section in ("data", "model", "train"):
    assert sorted(config[section]) == sorted(base[section]), section
  assert config.data.batch_order == "index_shuffle"  # ABSENT_MEANS
  assert config.model.medium_conditioning is False
  assert config.train.steps_per_dispatch == 1
  assert config.data.on_device == "auto"
  assert config.train.ema_warmup is False and config.train.lecam_weight == 0
  assert isinstance(config.model.gen_channels, tuple)
  assert isinstance(config.train.lr_g, float)
  # The run a workdir of it holds is today's test preset's.
  assert ckpt.config_differences(config, tiny()) == []
  assert ckpt.config_differences(saved, tiny()) == []


def test_retired_field_is_dropped_and_lowering_takes_todays_default():
  saved = old("2026-11-24_test")
  assert saved["data"]["shuffle_buffer"] == 0
  assert saved["model"]["conv_transpose"] == "subpixel"
  assert "conv_impl" not in saved["model"] and "xla_cpu_conv" not in saved
  config = common.upgrade(saved)
  assert "shuffle_buffer" not in config.data
  assert config.model.conv_transpose == "subpixel"  # as saved
  assert (config.model.conv_impl, config.xla_cpu_conv) == ("auto", "eigen")


def test_former_default_preset_is_named_by_its_new_name():
  """A workdir of the old default `cpu` is `dcgan_small` today: the same
  run, and a refusal names the preset that resumes it."""
  saved = old("2026-12-01_cpu")
  assert saved["preset"] == "cpu"
  config = common.upgrade(saved)
  assert config.preset == "dcgan_small"
  assert ckpt.config_differences(config, cgan_config.get_config("cpu")) == []
  assert ckpt.config_differences(
      config, cgan_config.get_config("dcgan_small")) == []
  diffs = ckpt.config_differences(config, cgan_config.get_config("quality"))
  assert "model.disc_channels" in [d.split(":")[0] for d in diffs]
  # Only training configs name cgan.py presets.
  other = dict(saved, job="preview")
  assert common.upgrade(other).preset == "cpu"


def test_bare_command_refuses_a_workdir_of_the_former_default_quality(
    tmp_path):
  """A workdir trained with the bare `configs/cgan.py` before 2026-12-04
  is a `:quality` run: the bare command (now `:legible`) refuses it,
  naming the preset, and `:quality` resumes it (CHANGELOG.md)."""
  saved = cgan_config.get_config("quality")
  with open(tmp_path / "config.json", "w") as f:
    f.write(saved.to_json_best_effort(indent=2))
  bare = cgan_config.get_config()
  with pytest.raises(ckpt.WorkdirMismatchError) as e:
    ckpt.check_same_run(str(tmp_path), bare)
  message = str(e.value)
  assert "model.conditioning: saved 'concat', now 'projection'" in message
  assert "configs/cgan.py:quality resumes it" in message
  assert "nothing was moved" in message
  assert ckpt.check_same_run(str(tmp_path),
                             cgan_config.get_config("quality")) is not None


def test_renamed_field_is_read_under_its_new_name(monkeypatch):
  monkeypatch.setitem(common.RENAMED, "train.total_steps", "train.steps")
  config = common.upgrade({"train": {"total_steps": 7}})
  assert config.train.steps == 7 and "total_steps" not in config.train


def test_absent_fields_take_their_default_unless_listed():
  config = common.upgrade({})
  for path in ("data.ink", "model.arch", "train.ema_decay", "data.on_device"):
    section, name = path.split(".")
    assert config[section][name] == common.base_config()[section][name]
  assert config.data.batch_order == common.ABSENT_MEANS["data.batch_order"]
  # A config that names the order keeps it.
  assert common.upgrade({"data": {"batch_order": "permutation"}}
                        ).data.batch_order == "permutation"


@pytest.mark.parametrize("saved, message", [
    ({"model": {"retired_option": 3}},
     r"run/config\.json: model\.retired_option is not a field"),
    ({"eval": {"detector": "cnn"}}, r"run/config\.json: eval\.detector is not"),
    ({"train": {"steps": "many"}},
     r"run/config\.json: train\.steps='many': expected an integer"),
    ({"train": {"steps": 2.5}}, r"train\.steps=2\.5: expected an integer"),
    ({"model": {"spectral_norm": 1}},
     r"model\.spectral_norm=1: expected True or False"),
    ({"train": {"lr_g": True}}, r"train\.lr_g=True: expected a number"),
    ({"model": {"gen_channels": 8}}, r"model\.gen_channels=8: expected a list"),
    ({"data": "synthetic"}, r"run/config\.json: data='synthetic': expected a "
                            "section"),
    ({"model": {"arch": "vit"}},
     r"run/config\.json: model\.arch='vit': use dcgan or resnet"),
    ({"train": {"ema_decay": 1.5}}, r"run/config\.json: train\.ema_decay=1\.5"),
    ({"data": {"batch_order": "sorted"}},
     r"data\.batch_order='sorted': use permutation or index_shuffle"),
])
def test_what_cannot_be_read_is_named_with_file_and_field(saved, message):
  with pytest.raises(common.ConfigError, match=message):
    common.upgrade(saved, "run/config.json")


def test_what_is_not_a_config_is_named():
  with pytest.raises(common.ConfigError, match="JSON object"):
    common.upgrade([1, 2], "run/config.json")


def test_each_choice_is_declared_once():
  """The modules that act on an option take its values from CHOICES."""
  from sigjax import augment, batch_order, losses, preprocess  # pylint: disable=import-outside-toplevel,g-multiple-import
  from sigjax.models import cgan  # pylint: disable=import-outside-toplevel
  assert batch_order.BATCH_ORDERS is common.CHOICES["data.batch_order"]
  assert batch_order.LEGACY_BATCH_ORDER == common.ABSENT_MEANS[
      "data.batch_order"]
  assert preprocess.INKS is common.CHOICES["data.ink"]
  assert losses.LOSSES is common.CHOICES["train.loss"]
  assert cgan.CONV_IMPLS is common.CHOICES["model.conv_impl"]
  assert cgan.ARCHS is common.CHOICES["model.arch"]
  assert augment.OPS is common.AUGMENT_OPS
  assert cgan_config.ALIASES is common.PRESET_ALIASES
  base = common.base_config()
  for path, choices in common.CHOICES.items():
    section, name = path.split(".")
    assert base[section][name] in choices, path
  for path, (ok, _) in common.RULES.items():
    section, name = path.split(".")
    assert ok(base[section][name]), path


# ------------------------------------------------- old workdirs, end to end


@pytest.fixture(scope="module")
def two_step_run(tmp_path_factory):
  """A 2-step run of the test preset (checkpoint at step 2) in the batch
  order of runs from before 2026-12-03, copied by each test."""
  workdir = str(tmp_path_factory.mktemp("old") / "run")
  train_loop.run(tiny(2, data__batch_order="index_shuffle"), workdir)
  return workdir


@pytest.mark.parametrize("name", TEST_FIXTURES)
def test_old_workdir_loads_in_load_generator(two_step_run, tmp_path, name):
  workdir = str(tmp_path / "run")
  shutil.copytree(two_step_run, workdir)
  make_old(workdir, old(name))
  g = inference.load_generator(workdir)
  assert g.step == 2 and g.num_classes == 3 and not g.ema
  assert g.config.data.batch_order == "index_shuffle"
  assert g.ink == "binary"
  images = g.sample([0, 1, 2], seed=0, output="binary")
  assert images.shape == (3, 16, 16, 1) and set(np.unique(images)) <= {0, 1}


def test_old_workdir_with_an_unknown_field_names_file_and_field(
    two_step_run, tmp_path):
  workdir = str(tmp_path / "run")
  shutil.copytree(two_step_run, workdir)
  saved = old("2026-12-01_test")
  saved["train"]["warp_speed"] = 9
  make_old(workdir, saved)
  with pytest.raises(common.ConfigError,
                     match=r"checkpoints.*train\.warp_speed is not a field"):
    inference.load_generator(workdir)
  with pytest.raises(common.ConfigError,
                     match=r"config\.json: train\.warp_speed is not a field"):
    train_loop.run(tiny(4), workdir)


def test_old_workdir_resumes_with_todays_command_as_it_began(two_step_run,
                                                              tmp_path):
  """The 2026-12-01 config.json (before data.batch_order): today's test
  preset resumes it on the host with tf.data's order, bitwise equal to 4
  straight steps in that order; the rewritten config.json names it."""
  ref = tiny(4, data__batch_order="index_shuffle")
  train_loop.run(ref, str(tmp_path / "ref"))
  workdir = str(tmp_path / "run")
  shutil.copytree(two_step_run, workdir)
  make_old(workdir, old("2026-12-01_test"))
  state = train_loop.run(tiny(4), workdir)  # today's defaults: permutation
  assert int(state.step) == 4
  assert_same(read_state(str(tmp_path / "ref"), ref), read_state(workdir, ref))
  with open(os.path.join(workdir, "config.json")) as f:
    assert json.load(f)["data"]["batch_order"] == "index_shuffle"


def test_oldest_workdir_resumes(two_step_run, tmp_path):
  """The first version's config.json (retired shuffle_buffer, 'subpixel'
  lowering, no options) resumes with today's test preset."""
  workdir = str(tmp_path / "run")
  shutil.copytree(two_step_run, workdir)
  make_old(workdir, old("2026-11-24_test"))
  state = train_loop.run(tiny(3), workdir)
  assert int(state.step) == 3
  with open(os.path.join(workdir, "config.json")) as f:
    saved = json.load(f)
  assert saved["data"]["batch_order"] == "index_shuffle"
  assert "shuffle_buffer" not in saved["data"]


def test_run_begun_in_the_direct_form_resumes_in_it(tmp_path):
  """:quality's resize convolutions became the phase form on 2026-12-03:
  a run begun in the direct form, resumed by a command that gives the
  phase form, keeps the direct form, bitwise equal to 4 straight direct
  steps, and its rewritten config.json still names it."""
  resize = dict(model__upsample="resize_conv", model__gen_kernel_size=3)
  ref = tiny(4, **resize)
  train_loop.run(ref, str(tmp_path / "ref"))
  workdir = str(tmp_path / "run")
  train_loop.run(tiny(2, **resize), workdir)
  state = train_loop.run(
      tiny(4, model__resize_conv_form="phase", **resize), workdir)
  assert int(state.step) == 4
  assert_same(read_state(str(tmp_path / "ref"), ref), read_state(workdir, ref))
  with open(os.path.join(workdir, "config.json")) as f:
    assert json.load(f)["model"]["resize_conv_form"] == "direct"


def test_kept_fields_of_a_run_without_any_saved_config():
  """No config.json and no checkpoint config: the run predates both kept
  fields and resumes in tf.data's order and the direct form."""
  config = train_loop.kept_of_run(
      tiny(4, model__resize_conv_form="phase"), None)
  assert config.data.batch_order == "index_shuffle"
  assert config.model.resize_conv_form == "direct"
  same = tiny(4, data__batch_order="index_shuffle")
  assert train_loop.kept_of_run(same, None) is same
