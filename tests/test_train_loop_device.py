"""The device-resident training loop (issue 27, items 1 and 2): batches drawn
on the device from (seed, step), metric sums read at log boundaries only, k
steps per call, and old workdirs on the host path with their old order."""

import json
import os

import jax
import numpy as np
import pytest

from sigjax import batch_order
from sigjax import checkpoint as ckpt
from sigjax import data as data_lib
from sigjax import parallel
from sigjax import train as train_lib
from sigjax import train_loop
from train_helpers import assert_same, read_state, rows, tiny


# ------------------------------------------------------------ batch order --


@pytest.mark.parametrize("n,batch", [(10, 4), (5, 12), (7, 7)])
def test_permutation_order_covers_every_epoch_and_straddles(n, batch):
  key = batch_order.order_key(3)
  steps = 6
  stream = np.concatenate([np.asarray(batch_order.permutation_batch_indices(
      key, k, n, batch)) for k in range(steps)])
  for e in range(len(stream) // n):  # every whole epoch is a permutation
    assert sorted(stream[e * n:(e + 1) * n]) == list(range(n))
  # Epochs differ and another seed gives another stream.
  assert not np.array_equal(stream[:n], stream[n:2 * n])
  other = np.asarray(batch_order.permutation_batch_indices(
      batch_order.order_key(4), 0, n, batch))
  assert not np.array_equal(other, stream[:batch])


def test_host_permutation_batches_are_the_device_batches():
  config = tiny()
  data = data_lib.load(config.data, "train")
  n, b = len(data), 8
  it = data_lib.permutation_batches(data, b, seed=5, start_step=3,
                                    process_index=0, process_count=1)
  key = batch_order.order_key(5)
  for k in (3, 4, 5):
    images, labels = next(it)
    idx = np.asarray(batch_order.permutation_batch_indices(key, k, n, b))
    np.testing.assert_array_equal(images, data.images[idx])
    np.testing.assert_array_equal(labels, data.labels[idx])
  halves = [next(data_lib.permutation_batches(
      data, b, seed=5, start_step=3, process_index=p, process_count=2))[1]
            for p in (0, 1)]
  idx = np.asarray(batch_order.permutation_batch_indices(key, 3, n, b))
  np.testing.assert_array_equal(np.concatenate(halves), data.labels[idx])


def test_data_path_resolution(monkeypatch):
  config = tiny()
  data = data_lib.load(config.data, "train")
  mesh = parallel.make_mesh()
  resident, reason = train_loop.resolve_data_path(config, data, mesh)
  assert resident and "fits" in reason
  monkeypatch.setattr(train_loop, "RESIDENT_CPU_BYTES", 1000)
  resident, reason = train_loop.resolve_data_path(config, data, mesh)
  assert not resident and "exceeds" in reason
  assert train_loop.resolve_data_path(tiny(data__on_device="true"), data,
                                      mesh)[0]
  assert not train_loop.resolve_data_path(tiny(data__on_device="false"),
                                          data, mesh)[0]
  legacy = tiny(data__batch_order="index_shuffle", data__on_device="true")
  resident, reason = train_loop.resolve_data_path(legacy, data, mesh)
  assert not resident and "index_shuffle" in reason
  with pytest.raises(data_lib.DataError, match="data.batch_order"):
    train_loop.resolve_data_path(tiny(data__batch_order="x"), data, mesh)
  with pytest.raises(data_lib.DataError, match="data.on_device"):
    train_loop.resolve_data_path(tiny(data__on_device="maybe"), data, mesh)
  with pytest.raises(ValueError, match="steps_per_dispatch"):
    train_loop.steps_per_dispatch(tiny(train__steps_per_dispatch=0), True)
  assert train_loop.steps_per_dispatch(
      tiny(train__steps_per_dispatch=4), False) == 1


# -------------------------------------------------- k steps in one call --


def test_k_steps_in_one_call_equal_k_single_steps():
  """Params, optimizer state and metric sums after one call of 3 steps are
  bitwise those of 3 calls of one step (same device-drawn batches)."""
  config = tiny(train__ema_decay=0.9, train__augment="ada",
                train__ada_interval=1)
  num_classes = config.data.num_classes
  data = data_lib.load(config.data, "train")
  mesh = parallel.make_mesh()
  all_data = parallel.replicate((data.images, data.labels), mesh)
  fresh = lambda: parallel.replicate(
      train_lib.create_state(config, num_classes), mesh)
  acc0 = lambda: parallel.replicate(jax.tree.map(
      np.asarray, train_lib.init_metric_sums(train_lib.metric_names(
          config, num_classes, train_lib.create_state(config,
                                                      num_classes)))), mesh)
  single = train_lib.jit_loop_step(config, num_classes, mesh, len(data))
  multi = train_lib.jit_loop_step(config, num_classes, mesh, len(data),
                                  multi=True)
  s1, a1 = fresh(), acc0()
  for _ in range(3):
    s1, a1, _ = single(s1, a1, *all_data)
  s3, a3, step = multi(fresh(), acc0(), *all_data, np.int32(3))
  assert int(step) == 3 == int(s1.step)
  assert_same(s1, s3)
  assert_same(a1, a3)
  assert set(a1["sums"]) >= {"d_loss", "g_loss"} and "ada_p" in a1["latest"]
  assert int(a1["bad_step"]) == train_lib.NO_BAD_STEP
  # A call of 2 then 1 (the loop's shortened last chunk) lands there too.
  s21, a21, _ = multi(fresh(), acc0(), *all_data, np.int32(2))
  s21, a21, _ = multi(s21, a21, *all_data, np.int32(1))
  assert_same(s1, s21)
  assert_same(a1, a21)


# ------------------------------------------------------------- end to end --


def test_device_path_resumes_exactly_and_dispatch_keeps_boundaries(tmp_path):
  """4 steps straight = 2 + resume 2 (bitwise), on the device path; with 3
  steps per call (chunks cut at the log/checkpoint boundaries) the run is
  the same run: same state, same metrics rows."""
  full = tiny()
  train_loop.run(full, str(tmp_path / "full"))
  train_loop.run(tiny(train__steps=2), str(tmp_path / "split"))
  train_loop.run(full, str(tmp_path / "split"))
  a = read_state(str(tmp_path / "full"), full)
  b = read_state(str(tmp_path / "split"), full)
  assert int(b.step) == 4
  assert_same(a, b)
  assert [r["step"] for r in rows(tmp_path / "split")] == [1, 2, 3, 4]
  with open(tmp_path / "full" / "config.json") as f:
    saved = json.load(f)["data"]
  assert saved["batch_order"] == "permutation"
  assert saved["on_device"] == "auto"

  k3 = tiny(train__steps_per_dispatch=3, train__log_every=2)
  train_loop.run(k3, str(tmp_path / "k3"))
  assert_same(a, read_state(str(tmp_path / "k3"), k3))
  k3_rows = rows(tmp_path / "k3")
  assert [r["step"] for r in k3_rows] == [2, 4]
  # The same keys as the one-step-per-call rows; means over the interval.
  one = rows(tmp_path / "full")
  assert [set(r) for r in k3_rows] == [set(one[0])] * 2
  assert k3_rows[1]["d_loss"] == pytest.approx(
      (one[2]["d_loss"] + one[3]["d_loss"]) / 2, rel=1e-6)
  assert set(one[0]) == {"step", "d_loss", "g_loss", "d_real_acc",
                         "d_fake_acc", "steps_per_sec", "images_per_sec",
                         *train_loop._PROBED}  # pylint: disable=protected-access


def test_old_config_json_resumes_on_the_host_with_its_order(tmp_path):
  """A workdir whose config.json predates data.batch_order/on_device takes
  the host (tf.data) path with its index stream: 2 steps of it, resumed by
  today's default config, equal 4 straight steps of that order, bitwise."""
  legacy = dict(data__batch_order="index_shuffle")
  ref = tiny(**legacy)
  train_loop.run(ref, str(tmp_path / "ref"))
  old = str(tmp_path / "old")
  train_loop.run(tiny(train__steps=2, **legacy), old)
  path = os.path.join(old, "config.json")
  with open(path) as f:
    saved = json.load(f)
  del saved["data"]["batch_order"], saved["data"]["on_device"]
  del saved["train"]["steps_per_dispatch"]
  with open(path, "w") as f:
    json.dump(saved, f)
  train_loop.run(tiny(), old)  # today's defaults: permutation, 'auto'
  assert_same(read_state(str(tmp_path / "ref"), ref), read_state(old, ref))
  with open(path) as f:
    assert json.load(f)["data"]["batch_order"] == "index_shuffle"
  log_rows = rows(old)
  assert [r["step"] for r in log_rows] == [1, 2, 3, 4]
  assert set(log_rows[0]) == set(rows(tmp_path / "ref")[0])
  # And the device path's order is another stream: another state.
  dev = tiny()
  train_loop.run(dev, str(tmp_path / "dev"))
  dev_state = read_state(str(tmp_path / "dev"), dev)
  assert not np.array_equal(np.asarray(jax.tree.leaves(dev_state.params_d)[0]),
                            np.asarray(jax.tree.leaves(
                                read_state(old, ref).params_d)[0]))


def test_non_finite_metric_is_named_with_its_step_and_interval(tmp_path,
                                                               monkeypatch):
  config = tiny(train__steps=6, train__log_every=3, train__checkpoint_every=6,
                train__sample_every=6)
  real = train_lib.make_train_step

  def poisoned(cfg, n, **kw):
    step_fn = real(cfg, n, **kw)

    def wrapped(state, images, labels):
      new, metrics = step_fn(state, images, labels)
      bad = jax.numpy.where(state.step == 4, jax.numpy.inf, 0.0)
      return new, dict(metrics, d_loss=metrics["d_loss"] + bad)
    return wrapped

  monkeypatch.setattr(train_lib, "make_train_step", poisoned)
  with pytest.raises(train_lib.NonFiniteLossError,
                     match=r"d_loss at step 5 .*steps 4-6"):
    train_loop.run(config, str(tmp_path))
  assert [r["step"] for r in rows(tmp_path)] == [3]
  manager = ckpt.make_manager(str(tmp_path), read_only=True)
  assert manager.all_steps() == []
