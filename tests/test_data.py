"""Tests of sigjax.data (all sources), the TFDS builder and the preview job."""

from __future__ import annotations

import csv
import json
import logging

import numpy as np
import pytest
from PIL import Image

from configs import common
from configs import data_preview
from sigjax import data as D
from sigjax import preprocess
from sigjax import preview
from sigjax import synthetic
from sigjax.datasets import cross_media as cm


def _cfg(**kw):
  c = common.base_config().data
  c.update(kw)
  return c


def _check_contract(d: D.SignatureData, size: int, classes: int):
  assert d.images.dtype == np.float32 and d.labels.dtype == np.int32
  assert d.images.shape == (len(d.labels), size, size, 1)
  assert set(np.unique(d.images)) <= {0.0, 1.0}
  assert d.num_classes == classes == len(d.class_names)
  assert set(np.unique(d.labels)) == set(range(classes))


def _split_union(load):
  parts = {s: load(s) for s in ("train", "validation", "test")}
  return parts, load("all")


# ----------------------------------------------------------------- synthetic


def test_synthetic_contract_splits_and_determinism():
  cfg = _cfg(num_classes=4, synthetic_per_class=12, image_size=32)
  parts, whole = _split_union(lambda s: D.load(cfg, s))
  _check_contract(whole, 32, 4)
  assert whole.counts() == {n: 12 for n in whole.class_names}
  idx = [set(parts[s].meta["index"]) for s in parts]
  assert sum(map(len, idx)) == 48 and set().union(*idx) == set(range(48))
  for p in parts.values():
    _check_contract(p, 32, 4)
  again = D.load(cfg, "all")
  np.testing.assert_array_equal(again.images, whole.images)
  other = D.load(_cfg(num_classes=4, synthetic_per_class=12, image_size=32,
                      seed=1), "all")
  assert not np.array_equal(other.images, whole.images)


def test_ink_coverage_source_and_setting():
  """config.data.ink='coverage' gives gray stroke edges whose Otsu form is
  the binary data; an unknown value names the setting."""
  cfg = common.data_config()
  cfg.synthetic_per_class = 4
  binary = D.load(cfg, "train")
  cfg.ink = "coverage"
  cov = D.load(cfg, "train")
  assert cov.images.shape == binary.images.shape
  assert ((cov.images > 0.05) & (cov.images < 0.95)).mean() > 0.01
  assert (preprocess.otsu_ink(cov.images) != binary.images).mean() < 0.002
  cfg.ink = "gray"
  with pytest.raises(D.DataError, match="config.data.ink"):
    D.load(cfg, "train")


def test_synthetic_classes_distinct_and_samples_varied():
  images, labels, names = synthetic.generate(5, 10, 32, seed=0)
  assert len(set(names)) == 5
  x = images.reshape(len(images), -1)
  ink = x.mean(1)
  assert (ink > 0.03).all() and (ink < 0.4).all()  # strokes, not blobs
  # Samples of a class all differ from each other.
  for c in range(5):
    xc = x[labels == c]
    assert len({r.tobytes() for r in xc}) == len(xc)
  # Nearest-class-mean classification (on blurred images) is near perfect:
  # the templates are distinct; and within-class spread is well above zero.
  from scipy import ndimage  # pylint: disable=g-import-not-at-top
  blur = ndimage.gaussian_filter(images[..., 0], (0, 1.5, 1.5)).reshape(
      len(images), -1)
  means = np.stack([blur[labels == c].mean(0) for c in range(5)])
  pred = np.argmin(((blur[:, None] - means[None]) ** 2).sum(-1), 1)
  assert (pred == labels).mean() >= 0.9
  within = np.mean([np.abs(blur[labels == c] - means[c]).mean()
                    for c in range(5)])
  assert within > 0.02


# -------------------------------------------------------------------- folder


def test_folder_contract_extensions_and_splits(make_folder, tmp_path):
  root = make_folder({"carol": 10, "alice": 10, "bob": 10})
  # Other extensions and cases are read too; hidden files are ignored.
  Image.open(root / "bob" / "000.png").convert("RGB").save(root / "bob" / "x.JPG")
  Image.open(root / "bob" / "001.png").save(root / "bob" / "y.Bmp")
  Image.open(root / "bob" / "002.png").save(root / "bob" / "z.tiff")
  (root / "bob" / ".DS_Store").write_bytes(b"\0junk")
  cfg = _cfg(source="folder", dir=str(root), image_size=16)
  parts, whole = _split_union(lambda s: D.load(cfg, s))
  _check_contract(whole, 16, 3)
  assert whole.class_names == ["alice", "bob", "carol"]
  assert whole.counts() == {"alice": 10, "bob": 13, "carol": 10}
  assert whole.skipped == []
  paths = {s: set(p.meta["path"]) for s, p in parts.items()}
  assert not paths["train"] & paths["test"] and not paths["train"] & paths[
      "validation"] and not paths["validation"] & paths["test"]
  assert set().union(*paths.values()) == set(whole.meta["path"])
  assert parts["test"].counts()["alice"] == 2  # round(10 * 0.2)
  half = D.load(_cfg(source="folder", dir=str(root), image_size=16,
                     fraction=0.5), "train")
  assert set(half.meta["path"]) < paths["train"]
  assert half.counts()["alice"] == 4  # round(7 * 0.5)


def test_folder_bad_files_are_skipped_and_reported(make_folder, caplog):
  root = make_folder({"alice": 4, "bob": 4})
  (root / "alice" / "empty.png").write_bytes(b"")
  good = (root / "alice" / "000.png").read_bytes()
  (root / "alice" / "cut.png").write_bytes(good[: len(good) // 3])
  (root / "bob" / "notes.txt").write_text("hello")
  (root / "bob" / "fake.jpg").write_text("not a jpeg")
  Image.new("L", (6, 6), 0).save(root / "bob" / "tiny.png")
  cfg = _cfg(source="folder", dir=str(root), image_size=16)
  with caplog.at_level(logging.WARNING):
    d = D.load(cfg, "all")
  assert d.counts() == {"alice": 4, "bob": 4}
  reasons = {s["path"]: s["reason"] for s in d.skipped}
  assert set(reasons) == {"alice/empty.png", "alice/cut.png", "bob/notes.txt",
                          "bob/fake.jpg", "bob/tiny.png"}
  assert "empty" in reasons["alice/empty.png"]
  assert "decode" in reasons["alice/cut.png"]
  assert "extension" in reasons["bob/notes.txt"]
  assert "not an image" in reasons["bob/fake.jpg"]
  assert "smaller than 8x8" in reasons["bob/tiny.png"]
  warnings = [r for r in caplog.records if "Skipped" in r.getMessage()]
  assert len(warnings) == 1
  msg = warnings[0].getMessage()
  assert "Skipped 5" in msg and all(p in msg for p in reasons)


def test_folder_unusable_data_raises(make_folder, tmp_path):
  def load(root, split="all"):
    return D.load(_cfg(source="folder", dir=str(root), image_size=16), split)

  with pytest.raises(D.DataError, match="does not exist"):
    load(tmp_path / "missing")
  with pytest.raises(D.DataError, match="config.data.dir is empty"):
    load("")
  (tmp_path / "flat").mkdir()
  with pytest.raises(D.DataError, match="no class subfolders"):
    load(tmp_path / "flat")
  root = make_folder({"alice": 3})
  (root / "empty_person").mkdir()
  with pytest.raises(D.DataError, match="empty_person"):
    load(root)
  root2 = make_folder({"alice": 3}, root=tmp_path / "r2")
  (root2 / "bob").mkdir()
  (root2 / "bob" / "a.png").write_bytes(b"")  # only unreadable files
  with pytest.raises(D.DataError, match=r"r2/bob"):
    load(root2)
  root3 = make_folder({"alice": 3, "bob": 1}, root=tmp_path / "r3")
  with pytest.raises(D.DataError, match="split 'test'.*bob"):
    load(root3, "test")  # bob's only image is in train
  with pytest.raises(D.DataError, match="val_fraction"):
    D.load(_cfg(val_fraction=0.6, test_fraction=0.5), "train")


# ------------------------------------------------------------------- tf.data


def _indexed(n, classes=3):
  """Data whose image i is filled with i, so batches reveal their indices."""
  images = np.arange(n, dtype=np.float32)[:, None, None, None] * np.ones(
      (1, 2, 2, 1), np.float32)
  return D.SignatureData(images=images, labels=np.arange(n, dtype=np.int32) %
                         classes, class_names=list("abc")[:classes])


def _take(ds, k):
  it = ds.as_numpy_iterator()
  return [next(it) for _ in range(k)]


def test_train_dataset_epochs_resume_and_seed():
  data, b = _indexed(10), 4
  batches = _take(D.train_dataset(data, b, seed=7, process_index=0,
                                  process_count=1), 10)
  for x, y in batches:
    assert x.shape == (4, 2, 2, 1) and x.dtype == np.float32
    assert y.dtype == np.int32
  stream = np.concatenate([x[:, 0, 0, 0] for x, _ in batches]).astype(int)
  for e in range(4):  # every epoch is a permutation of all images
    assert sorted(stream[10 * e:10 * (e + 1)]) == list(range(10))
  assert not np.array_equal(stream[:10], stream[10:20])  # reshuffled
  assert not np.array_equal(stream[:10], np.arange(10))
  for k in (1, 3, 7):  # resuming at step k == skipping k steps
    resumed = _take(D.train_dataset(data, b, seed=7, start_step=k,
                                    process_index=0, process_count=1), 2)
    for (x1, y1), (x2, y2) in zip(resumed, batches[k:k + 2]):
      np.testing.assert_array_equal(x1, x2)
      np.testing.assert_array_equal(y1, y2)
  other = _take(D.train_dataset(data, b, seed=8, process_index=0,
                                process_count=1), 3)
  assert not all(np.array_equal(a[0], o[0]) for a, o in zip(batches, other))


@pytest.mark.parametrize("count", [2, 4])
def test_train_dataset_process_shards_cover_global_batch(count):
  data, b = _indexed(13), 8
  glob = _take(D.train_dataset(data, b, seed=3, start_step=5, process_index=0,
                               process_count=1), 3)
  shards = [_take(D.train_dataset(data, b, seed=3, start_step=5,
                                  process_index=p, process_count=count), 3)
            for p in range(count)]
  for step in range(3):
    parts = [shards[p][step][0] for p in range(count)]
    assert all(len(p) == b // count for p in parts)
    np.testing.assert_array_equal(np.concatenate(parts), glob[step][0])
    np.testing.assert_array_equal(
        np.concatenate([shards[p][step][1] for p in range(count)]),
        glob[step][1])
  with pytest.raises(ValueError, match="multiple"):
    D.train_dataset(data, 6, seed=0, process_index=0, process_count=4)


def test_eval_dataset_keeps_remainder_in_order():
  data = _indexed(10)
  out = list(D.eval_dataset(data, 4).as_numpy_iterator())
  assert [len(y) for _, y in out] == [4, 4, 2]
  np.testing.assert_array_equal(
      np.concatenate([x[:, 0, 0, 0] for x, _ in out]), np.arange(10))


def test_get_dataset_synthetic_default():
  cfg = _cfg(num_classes=3, synthetic_per_class=10, image_size=16)
  ds, data = D.get_dataset(cfg, "train", batch_size=6, seed=0)
  x, y = next(ds.as_numpy_iterator())
  assert x.shape == (6, 16, 16, 1) and y.shape == (6,)
  assert data.num_classes == 3


# --------------------------------------------------------------- cross_media


def test_cross_media_paper_bin(cross_media_dir, cross_media_tfds_dir):
  def load(split):
    return D.load(_cfg(source="cross_media", tfds_data_dir=str(
        cross_media_tfds_dir)), split)

  parts, whole = _split_union(load)
  _check_contract(whole, 64, 10)
  assert whole.class_names[:2] == ["Wang Tao", "Zhang Lei"]
  assert whole.counts() == {n: 93 for n in cm.NAMES}
  assert set(whole.meta["medium"]) == {"paper"}
  assert whole.meta["name_hanzi"][whole.meta["name_id"].index(0)] == "王涛"
  assert [whole.meta["name_id"][i] for i in range(20)] == list(whole.labels[:20])
  writers = {s: set(p.meta["writer"]) for s, p in parts.items()}
  assert {s: len(w) for s, w in writers.items()} == {
      "train": 65, "validation": 9, "test": 19}
  assert not (writers["train"] & writers["test"] or
              writers["train"] & writers["validation"] or
              writers["validation"] & writers["test"])
  assert set().union(*writers.values()) == set(range(1, 94))
  for p in parts.values():  # every writer wrote all 10 names on paper
    assert p.counts() == {n: len(set(p.meta["writer"])) for n in cm.NAMES}


def _fake_manual_dir(root, writers=6):
  """A tiny dataset in the real layout (manifest.csv + bin/<w>/<n>.png)."""
  rows = []
  for w in range(1, writers + 1):
    (root / "bin" / str(w)).mkdir(parents=True)
    for n in range(1, 41):
      a = np.full((24, 24), 255, np.uint8)
      a[8:16, 2 + n % 10:12 + w] = 0
      Image.fromarray(a).save(root / "bin" / str(w) / f"{n}.png")
      rows.append([f"bin/{w}/{n}.png", "bin", w, (n - 1) % 10,
                   cm.NAMES[(n - 1) % 10], "x", cm.MEDIA[(n - 1) // 10]])
  with open(root / "manifest.csv", "w", newline="") as f:
    csv.writer(f).writerows([["path", "variant", "writer", "name_id", "name",
                              "name_hanzi", "medium"]] + rows)
  return root


def test_cross_media_writer_label_and_custom_config(tmp_path):
  manual = _fake_manual_dir(tmp_path / "manual")
  cfg = _cfg(source="cross_media", dir=str(manual), label="writer",
             media="paper,ipad", image_size=16, val_fraction=0.2,
             test_fraction=0.2, seed=3, tfds_data_dir=str(tmp_path / "tfds"))
  parts, whole = _split_union(lambda s: D.load(cfg, s))
  assert whole.num_classes == 93 and len(whole) == 6 * 20
  assert set(whole.meta["medium"]) == {"paper", "ipad"}
  for p in parts.values():  # every writer is in every split
    assert set(p.meta["writer"]) == set(range(1, 7))
  paths = {s: set(p.meta["path"]) for s, p in parts.items()}
  assert sum(map(len, paths.values())) == 120
  assert set().union(*paths.values()) == set(whole.meta["path"])
  assert len(paths["test"]) == 6 * 4  # round(20 * 0.2) per writer
  assert (tmp_path / "tfds" / "cross_media_signatures" /
          "writer_paper+ipad_bin_v0.2_t0.2_s3").is_dir()


def test_cross_media_missing_dir_and_bad_settings(tmp_path):
  cfg = _cfg(source="cross_media", dir=str(tmp_path / "nope"),
             tfds_data_dir=str(tmp_path / "tfds"))
  with pytest.raises(D.DataError, match="nope"):
    D.load(cfg, "train")
  with pytest.raises(D.DataError, match="config.data.media"):
    D.load(_cfg(source="cross_media", media="paper,fax",
                tfds_data_dir=str(tmp_path / "tfds")), "train")
  with pytest.raises(D.DataError, match="config.data.label"):
    D.load(_cfg(source="cross_media", label="age",
                tfds_data_dir=str(tmp_path / "tfds")), "train")


# ------------------------------------------------------------------- preview


def test_preview_writes_grid_and_card(make_folder, tmp_path):
  root = make_folder({"alice": 5, "bob": 3})
  (root / "bob" / "broken.png").write_bytes(b"")
  config = data_preview.get_config("folder")
  config.data.dir = str(root)
  config.data.image_size = 32
  out = tmp_path / "out"
  preview.run(config, str(out))
  card = json.loads((out / "stats.json").read_text())
  assert card["classes"] == ["alice", "bob"]
  assert card["images_per_class"] == {"alice": 5, "bob": 3}
  assert card["skipped"] == [{"path": "bob/broken.png",
                              "reason": "empty file (0 bytes)"}]
  assert card["image_size"] == 32
  assert 0.01 < card["ink_fraction"]["alice"] < 0.5
  img = Image.open(out / "preview.png")
  assert img.mode == "RGB" and img.width > 8 * 32 and img.height > 2 * 32
  a = np.asarray(img)
  assert (a == 0).any() and (a == 255).mean() > 0.5  # black ink on white

  (root / "carol").mkdir()  # an empty class makes the data unusable
  with pytest.raises(D.DataError, match="carol"):
    preview.run(config, str(tmp_path / "out2"))
