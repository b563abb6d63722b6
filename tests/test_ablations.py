"""The ablation runner on a tiny sweep (test presets, 2 variants x 2 seeds,
4 steps): tables, skipping finished runs, resuming a half-trained one, and
bad sweeps failing before anything trains."""

import csv
import json
import math
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from ablations import run as runner
from configs import cgan
from sigjax import checkpoint as ckpt
from sigjax import evaluate
from sigjax import train_loop

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = (0, 1)
# The VGG19 detector and the multi-label net take most of a test-sized
# evaluation; the runner's handling of them is the same as of CAS/TSTR/FID.
EXPERIMENTS = "cas,tstr,fid"


def tiny_sweep(extra_variant=None):
  base = cgan.get_config("test")
  # data.fraction changes the data, not the compiled step: one compilation.
  variants = [("base", {}), ("half_data", {"data.fraction": 0.5})]
  if extra_variant:
    variants.append(extra_variant)
  return {"description": "tiny test sweep", "base": base,
          "variants": variants, "seeds": list(SEEDS),
          "eval": {"preset": "test",
                   "overrides": {"eval.experiments": EXPERIMENTS}}}


class Calls:
  """Wraps train_loop.run / evaluate.run to record what the runner does."""

  def __init__(self, monkeypatch, root):
    self.root, self.train, self.eval = str(root), [], []
    real_train, real_eval = train_loop.run, evaluate.run

    def train(config, workdir):
      start = None
      if os.path.isdir(ckpt.checkpoint_dir(workdir)):
        m = ckpt.make_manager(workdir, read_only=True)
        start = m.latest_step()
        m.close()
      self.train.append((os.path.relpath(workdir, self.root), start))
      return real_train(config, workdir)

    def ev(config, workdir):
      self.eval.append(os.path.relpath(workdir, self.root))
      return real_eval(config, workdir)

    monkeypatch.setattr(train_loop, "run", train)
    monkeypatch.setattr(evaluate, "run", ev)


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
  """Phase 1: only 'base' runs. Then 'half_data' seed 0 is trained to step 2
  by hand (a half-finished run). Phase 2: the whole sweep. Phase 3: again."""
  out = tmp_path_factory.mktemp("sweep")
  mp = pytest.MonkeyPatch()
  phases = []
  try:
    calls = Calls(mp, out)
    runner.run_sweep(tiny_sweep(), str(out), only=["base"])
    phases.append((list(calls.train), list(calls.eval)))
    half = [j for j in runner.plan(runner.as_sweep(tiny_sweep()), str(out))
            if (j.variant, j.seed) == ("half_data", 0)][0]
    cfg = half.train_config.copy_and_resolve_references()
    cfg.train.steps = 2
    train_loop.run(cfg, half.train_dir)
    for _ in range(2):
      calls.train.clear()
      calls.eval.clear()
      rows = runner.run_sweep(tiny_sweep(), str(out))
      phases.append((list(calls.train), list(calls.eval)))
  finally:
    mp.undo()
  return out, phases, rows


def read_csv(path):
  with open(path) as f:
    return list(csv.DictReader(f))


def test_tables_have_one_row_per_variant_with_finite_numbers(sweep_dir):
  out, _, rows = sweep_dir
  table = read_csv(out / "results.csv")
  assert [r["variant"] for r in table] == ["base", "half_data"]
  assert [r["variant"] for r in rows] == ["base", "half_data"]
  for r in table:
    assert int(r["n_seeds"]) == len(SEEDS)
    for col in ("cas_accuracy", "tstr_accuracy", "fid", "kid",
                "train_time_s", "steps"):
      for stat in ("mean", "std"):
        assert math.isfinite(float(r[f"{col}_{stat}"])), (col, stat, r)
    assert 0.0 <= float(r["cas_accuracy_mean"]) <= 1.0
    assert float(r["steps_mean"]) == 4 and float(r["steps_std"]) == 0
    assert float(r["train_time_s_mean"]) > 0
    assert r["realfake_accuracy_mean"] == ""  # not run: blank, not 0
  runs = read_csv(out / "results_runs.csv")
  assert sorted((r["variant"], int(r["seed"])) for r in runs) == [
      ("base", 0), ("base", 1), ("half_data", 0), ("half_data", 1)]
  md = (out / "results.md").read_text()
  assert "| base |" in md and "| half_data |" in md and " ± " in md
  assert "tiny test sweep" in md
  for v in ("base", "half_data"):
    for s in SEEDS:
      run = out / v / f"seed_{s}"
      assert (run / "eval" / "report.json").is_file()
      assert (run / "DONE").is_file()
      assert (run / "train" / "checkpoints").is_dir()


def test_finished_runs_are_skipped_and_a_half_trained_run_resumes(sweep_dir):
  _, phases, _ = sweep_dir
  (train1, eval1), (train2, eval2), (train3, eval3) = phases
  assert sorted(train1) == [("base/seed_0/train", None),
                            ("base/seed_1/train", None)]
  assert len(eval1) == 2
  # Phase 2: 'base' untouched; half_data seed 0 resumed at step 2.
  assert sorted(train2) == [("half_data/seed_0/train", 2),
                            ("half_data/seed_1/train", None)]
  assert sorted(eval2) == ["half_data/seed_0/eval", "half_data/seed_1/eval"]
  # Phase 3: nothing left to do.
  assert train3 == [] and eval3 == []


def test_collect_only_and_shards(sweep_dir, tmp_path):
  out, _, _ = sweep_dir
  os.remove(out / "results.md")
  rows = runner.run_sweep(tiny_sweep(), str(out), collect_only=True)
  assert (out / "results.md").is_file() and len(rows) == 2
  sweep = runner.as_sweep(tiny_sweep())
  jobs = runner.plan(sweep, str(tmp_path))
  for j in jobs:  # trained on the variant's data, scored on all of it
    assert j.train_config.data.fraction == (0.5 if j.variant == "half_data"
                                            else 1.0)
    assert j.eval_config.data.fraction == 1.0
    assert j.train_config.seed == j.seed
  shards = [runner.plan(sweep, str(tmp_path))[i::3] for i in range(3)]
  keys = sorted((j.variant, j.seed) for s in shards for j in s)
  assert keys == sorted((j.variant, j.seed) for j in jobs)
  assert runner.parse_shard("2/3") == (2, 3)
  with pytest.raises(runner.SweepError, match="--shard=3/3"):
    runner.parse_shard("3/3")


def test_unknown_field_fails_before_training(tmp_path, monkeypatch):
  def no_training(*a, **k):
    raise AssertionError("trained despite a bad sweep")

  monkeypatch.setattr(train_loop, "run", no_training)
  sweep = tiny_sweep(("bad", {"train.no_such_knob": 1}))
  with pytest.raises(runner.SweepError,
                     match=r"<sweep> \(variant bad\).*train\.no_such_knob"):
    runner.run_sweep(sweep, str(tmp_path))
  bad_eval = tiny_sweep()
  bad_eval["eval"]["overrides"]["eval.nope"] = 1
  with pytest.raises(runner.SweepError, match=r"eval overrides.*eval\.nope"):
    runner.run_sweep(bad_eval, str(tmp_path))
  wrong_type = tiny_sweep(("bad", {"train.steps": "many"}))
  with pytest.raises(runner.SweepError, match="train.steps='many'"):
    runner.run_sweep(wrong_type, str(tmp_path))
  with pytest.raises(runner.SweepError, match="--only"):
    runner.run_sweep(tiny_sweep(), str(tmp_path), only=["nope"])
  assert not any(p.is_dir() for p in tmp_path.iterdir())


def test_cli_names_the_field_and_the_sweep_file(tmp_path):
  sweep = tmp_path / "bad_sweep.py"
  sweep.write_text(
      "from configs import cgan\n"
      "def get_sweep():\n"
      "  return {'base': cgan.get_config('test'), 'seeds': [0],\n"
      "          'variants': [('ok', {'data.fraction': 0.5}),\n"
      "                       ('typo', {'model.gen_chanels': (8, 8, 4, 1)})]}\n")
  proc = subprocess.run(
      [sys.executable, "-m", "ablations.run",
       f"--sweep={sweep}", f"--workdir={tmp_path / 'out'}"],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert "model.gen_chanels" in proc.stderr and "bad_sweep.py" in proc.stderr
  assert "gen_channels" in proc.stderr  # the fields it could have meant
  assert not (tmp_path / "out").exists()


def _committed_sweeps():
  """Every sweep file under ablations/<study>/, as a path from the repo."""
  found = []
  for study in sorted(os.listdir(os.path.join(REPO, "ablations"))):
    folder = os.path.join(REPO, "ablations", study)
    if not os.path.isdir(folder):
      continue
    for f in sorted(os.listdir(folder)):
      path = os.path.join(folder, f)
      if f.endswith(".py") and "def get_sweep(" in open(
          path, encoding="utf-8").read():
        found.append(os.path.relpath(path, REPO))
  return found


def test_every_committed_sweep_file_still_plans(tmp_path):
  # The sweep files are the commands the docs quote; a config field
  # renamed since would otherwise surface hours into a rerun.
  names = _committed_sweeps()
  assert os.path.join("ablations", "stroke_quality", "stroke_augment.py") in (
      names)
  assert os.path.join("ablations", "smoke", "smoke.py") in names
  assert not [f for f in os.listdir(os.path.join(REPO, "ablations"))
              if f.endswith(".py") and f not in (
                  "__init__.py", "run.py", "bases.py")], (
                      "sweep files live in ablations/<study>/")
  for name in names:
    sweep = runner.load_sweep(os.path.join(REPO, name))
    jobs = runner.plan(sweep, str(tmp_path / os.path.basename(name)))
    assert len(jobs) == len(sweep.variants) * len(sweep.seeds), name
    for job in jobs:
      for dotted, value in job.overrides.items():
        node = job.train_config
        for part in dotted.split("."):
          node = node[part]
        assert node == value, (name, job.variant, dotted)
  assert not any(tmp_path.iterdir())  # planning writes nothing


def test_every_committed_sweep_reproduces_its_base_snapshot(tmp_path):
  """A sweep's base is overrides on :paper; its resolved form at the time of
  its runs is committed beside it (<sweep>.base.json). Planning the sweep
  today must train exactly that base plus each variant's overrides, so a
  preset or default that changes later cannot change what an old sweep
  means. Fields added to the config after the snapshot (new options, whose
  defaults build the original) are the only ones allowed to be absent."""
  from ablations import bases  # pylint: disable=import-outside-toplevel
  for name in _committed_sweeps():
    snap_path = os.path.join(REPO, bases.snapshot_path(name))
    assert os.path.isfile(snap_path), f"{name}: no committed base snapshot"
    with open(snap_path, encoding="utf-8") as f:
      snapshot = bases.flatten(json.load(f))
    source = open(os.path.join(REPO, name), encoding="utf-8").read()
    assert "bases.on_paper(" in source and "get_config(" not in source, (
        f"{name}: the base must be overrides on :paper, not a live preset")
    sweep = runner.load_sweep(os.path.join(REPO, name))
    resolved = bases.flatten(bases.as_plain(sweep.base))
    missing = sorted(set(snapshot) - set(resolved))
    assert not missing, (name, "fields renamed or removed", missing)
    changed = {k: (snapshot[k], resolved[k]) for k in snapshot
               if snapshot[k] != resolved[k]}
    assert not changed, (name, "base differs from its snapshot", changed)
    for job in runner.plan(sweep, str(tmp_path / os.path.basename(name))):
      trained = bases.flatten(bases.as_plain(job.train_config))
      expect = dict(snapshot, seed=job.seed, **{
          k: json.loads(json.dumps(v)) for k, v in job.overrides.items()})
      diff = {k: (v, trained.get(k)) for k, v in expect.items()
              if trained.get(k) != v and k != "compilation_cache_dir"}
      assert not diff, (name, job.variant, diff)


def test_on_paper_refuses_an_unknown_field():
  from ablations import bases  # pylint: disable=import-outside-toplevel
  assert bases.on_paper({"train.steps": 7}).train.steps == 7
  with pytest.raises(KeyError, match="train.stepz"):
    bases.on_paper({"train.stepz": 7})


def test_evaluate_runs_checks_the_issue_targets_on_the_mean():
  from ablations.tools import evaluate_runs  # pylint: disable=import-outside-toplevel
  s = {k: evaluate_runs._stats(v) for k, v in {
      "fid_half": [5.0, 6.0], "fid_real_vs_real": [2.5, 2.5],
      "tstr_accuracy": [0.91, 0.93], "cas_accuracy": [0.95, 0.97],
      "indep_cas_accuracy": [0.80, 0.90], "indep_real_test_accuracy":
      [0.94, 0.94], "realfake_balanced_accuracy": [0.7, 0.9],
      "detector_competent": [1.0, 1.0], "recall": [0.6, None],
      "strokes_components_w1": [0.5, 0.6], "strokes_components": [7.0, 7.2],
      "strokes_components_real": [6.5, 6.5],
      "strokes_components_w1_real_vs_real": [0.3, 0.3],
      "strokes_ink_ratio": [1.1, 1.2]}.items()}
  assert s["fid_half"]["mean"] == 5.5 and s["recall"]["std"] is None
  assert abs(s["fid_half"]["std"] - 0.5 ** 0.5) < 1e-9
  met = {t.split(" ")[0] + t.split(" ")[1]: ok
         for t, _, ok in evaluate_runs.targets(s)}
  assert met == {"FID(equal": False, "TSTR>=": True, "CAS>=": True,
                 "independentCAS": False, "detectorbalanced": False,
                 "recall>=": True, "strokes:components": True}, met
  # Few components are blots, not strokes, when the ink is far above real.
  s["strokes_ink_ratio"] = evaluate_runs._stats([1.6, 1.6])
  assert not evaluate_runs.targets(s)[-1][2]
  s["strokes_ink_ratio"] = evaluate_runs._stats([1.0, 1.0])
  s["strokes_components_w1"] = evaluate_runs._stats([4.4, 9.6])
  assert not evaluate_runs.targets(s)[-1][2]


def test_evaluate_runs_names_sweep_runs_by_variant_and_seed():
  from ablations.tools import evaluate_runs  # pylint: disable=import-outside-toplevel
  name = evaluate_runs.run_name
  assert name(os.path.join("out", "quality_long", "seed_1", "train")) == (
      "quality_long_seed_1")
  assert name(os.path.join("out", "quality_long", "seed_1") + os.sep) == (
      "quality_long_seed_1")
  assert name(os.path.join("runs", "quality_s2")) == "quality_s2"
  assert name("train") == "train"
  run = os.path.join("out", "long", "seed_0", "train")
  assert evaluate_runs.report_dir("E", 2, run) == os.path.join(
      "E", "2_long_seed_0")
  # An earlier checkpoint's report never takes the newest one's place.
  assert evaluate_runs.report_dir("E", 2, run, 1500) == os.path.join(
      "E", "2_long_seed_0_step1500")


def test_compare_grid_draws_every_run_on_the_same_noise(sweep_dir, tmp_path,
                                                        monkeypatch):
  from ablations.tools import compare_grid  # pylint: disable=import-outside-toplevel
  from sigjax import inference  # pylint: disable=import-outside-toplevel
  out, _, _ = sweep_dir
  s0, s1 = (str(out / "base" / f"seed_{s}" / "train") for s in SEEDS)
  runs = compare_grid.parse_runs([f"a={s0}", s1, f"b={s0}"])
  assert [label for label, _, _ in runs] == ["a", "base_seed_1", "b"]
  assert {step for _, _, step in runs} == {None}
  images, labels, cols = compare_grid.sample_rows(runs, "0,2", per_class=3)
  assert images.shape[:2] == (3, 6)
  assert labels[0].startswith("a (step ")
  assert cols[0] and cols[3] and not any(cols[1:3])
  assert set(np.unique(images).tolist()) <= {0.0, 1.0}  # binary by default
  np.testing.assert_array_equal(images[0], images[2])  # same run, same z
  assert (images[0] != images[1]).any()  # another seed's generator
  assert (images[0, :3] != images[0, 3:]).any()  # another class
  png = compare_grid.compare_grid(runs[:2], str(tmp_path / "g.png"), "1",
                                  per_class=2)
  assert os.path.getsize(png) > 0
  with pytest.raises(ValueError, match="indices must be in 0.."):
    compare_grid.sample_rows(runs[:1], "99")
  with pytest.raises(ValueError, match="LABEL=RUN"):
    compare_grid.parse_runs(["a="])
  # RUN@STEP: an earlier checkpoint of the same run, on the same noise.
  earlier = compare_grid.parse_runs([f"{s0}@2", f"e={s0}@2"])
  assert earlier == [("base_seed_0@2", s0, 2), ("e", s0, 2)]
  images2, labels2, _ = compare_grid.sample_rows(earlier[:1] + runs[:1],
                                                 "0,2", per_class=3)
  assert labels2[0] == "base_seed_0@2 (step 2)", labels2
  assert labels2[1] == "a (step 4)", labels2
  assert (images2[0] != images2[1]).any()  # step 2's G is not step 4's
  np.testing.assert_array_equal(images2[1], images[0])
  # --real=test: a first row of the real test images of each class, at the
  # generated rows' size, in the form the evaluation scores them.
  from sigjax import data as data_lib  # pylint: disable=import-outside-toplevel
  with_real, labels3, _ = compare_grid.sample_rows(runs[:1], "0,2",
                                                   per_class=2, real="test")
  assert with_real.shape[:2] == (2, 4) and labels3[0] == "real (test)"
  np.testing.assert_array_equal(with_real[1], images[0][[0, 1, 3, 4]])
  gen = inference.load_generator(s0)
  test = data_lib.load(gen.config.data, split="test")
  expect = np.concatenate([test.images[test.labels == c][:2, ..., 0]
                           for c in (0, 2)])
  np.testing.assert_array_equal(with_real[0], expect)
  with pytest.raises(ValueError, match="fewer than --per_class=999"):
    compare_grid.sample_rows(runs[:1], "0", per_class=999, real="test")
  with pytest.raises(ValueError, match="--real='tset'"):
    compare_grid.sample_rows(runs[:1], "0", real="tset")
  real_load = inference.load_generator

  def renamed(workdir, **kw):
    gen = real_load(workdir, **kw)
    if workdir == s1:
      gen.class_names = gen.class_names[::-1]
    return gen

  monkeypatch.setattr(inference, "load_generator", renamed)
  with pytest.raises(ValueError, match="not those of"):
    compare_grid.sample_rows(runs[:2])


def test_raw_texture_scores_every_run_against_its_own_real_data(sweep_dir):
  from ablations.tools import raw_texture  # pylint: disable=import-outside-toplevel
  out, _, _ = sweep_dir
  runs = [str(out / "base" / f"seed_{s}" / "train") for s in SEEDS]
  rows = raw_texture.texture_rows(runs, per_class=3, seed=0)
  assert [r["run"] for r in rows] == [f"base_seed_{s}" for s in SEEDS]
  for r in rows:
    assert r["ink"] == "binary" and r["real_test"] == rows[0]["real_test"]
    assert np.isfinite(r["ratio"]) and r["w1"] >= 0 and r["w1_floor"] >= 0
  text = raw_texture.table(rows)
  assert text.count("\n") == 2 + len(rows) and "base_seed_0" in text


def test_seeds_in_program_trains_a_variants_seeds_together(tmp_path):
  """--seeds_in_program: a variant's runs that stand at the same step train
  as one program, each in its own train folder; a run at another step
  trains alone."""
  sweep = runner.as_sweep(tiny_sweep())
  jobs = runner.plan(sweep, str(tmp_path))
  ahead = [j for j in jobs if (j.variant, j.seed) == ("half_data", 1)][0]
  cfg = ahead.train_config.copy_and_resolve_references()
  cfg.train.steps = 2
  train_loop.run(cfg, ahead.train_dir)
  assert runner.program_groups(jobs, 1) == []
  groups = runner.program_groups(jobs, 0)
  assert [[(j.variant, j.seed) for j in g] for g in groups] == [
      [("base", 0), ("base", 1)]]
  runner.train_group(groups[0], sweep)
  for job in groups[0]:
    m = ckpt.make_manager(job.train_dir, read_only=True)
    assert m.latest_step() == 4
    m.close()
    with open(os.path.join(job.dir, "train_time.json")) as f:
      timing = json.load(f)
    assert timing["seeds_in_program"] == 2 and timing["steps"] == 4
    with open(os.path.join(job.train_dir, "config.json")) as f:
      assert json.load(f)["seed"] == job.seed
  # Trained: nothing left to group.
  assert runner.program_groups(jobs, 0) == []


def test_sigterm_outside_training_stops_the_runner_with_a_message():
  """SIGTERM during an evaluation raises Interrupted (main prints it and
  exits 2) instead of killing the runner silently; the handler before it
  is put back."""
  import signal  # pylint: disable=g-import-not-at-top
  before = signal.getsignal(signal.SIGTERM)
  with pytest.raises(runner.Interrupted, match="SIGTERM.*same command"):
    with runner.stop_on_sigterm():
      os.kill(os.getpid(), signal.SIGTERM)
      for _ in range(1000):  # the handler runs between bytecodes
        pass
  assert signal.getsignal(signal.SIGTERM) is before
