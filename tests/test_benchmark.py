"""python -m benchmarks.train_step runs (test preset, one step) and reports
sane JSON."""

import json
import os
import subprocess
import sys

from conftest import REPO


def test_train_step_benchmark_reports_every_impl():
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  r = subprocess.run(
      [sys.executable, "-m", "benchmarks.train_step",
       "--preset=test", "--steps=1", "--rounds=1", "--probe=256",
       "--impls=sigjax,keras,torch",
       # model fields are cast to their type (an int here), train.* too
       "--variants=gen_kernel_size=3,upsample=resize_conv;"
       "train.ema_decay=0.5"],
      capture_output=True, text=True, cwd=REPO, env=env, timeout=600,
      check=False)
  assert r.returncode == 0, r.stderr[-3000:]
  recs = {}
  for line in r.stdout.splitlines():
    rec = json.loads(line)
    recs[rec["impl"]] = rec
  assert recs["matmul"]["gflops"] > 0
  assert "sigjax" in recs
  assert "sigjax[gen_kernel_size=3,upsample=resize_conv]" in recs, list(recs)
  assert "sigjax[train.ema_decay=0.5]" in recs, list(recs)
  # A reference is either measured or skipped with a message saying why.
  for ref in ("keras", "torch"):
    assert ref in recs or f"skipping {ref}" in r.stderr
  for name, rec in recs.items():
    if name == "matmul":
      continue
    assert rec["batch"] == 8 and rec["preset"] == "test"
    for key in ("step_ms", "images_per_s", "compile_s", "gflop_per_step",
                "achieved_gflops", "ceiling_gflops", "fraction_of_ceiling"):
      assert rec[key] > 0, (name, key, rec)
    assert abs(rec["images_per_s"] - 8 / rec["step_ms"] * 1e3) < (
        0.01 * rec["images_per_s"] + 0.1)
  assert recs["sigjax"]["flop_source"] == "analytic"
  assert recs["sigjax"]["vs_sigjax"] == 1.0


def test_analytic_flops_of_the_paper_step():
  """4 G + 8 D forward-equivalents; the paper preset at batch 64 is the
  ~350 GFLOP quoted for the original step."""
  from benchmarks import train_step  # pylint: disable=g-import-not-at-top
  from configs import cgan  # pylint: disable=g-import-not-at-top
  config = cgan.get_config("paper")
  g = train_step.analytic_gflop(config, 10, 64)
  assert abs(g - 354.2) < 0.1, g
  assert abs(train_step.analytic_gflop(config, 10, 128) - 2 * g) < 1e-6


def test_step_profile_names_layers_passes_and_kinds():
  """benchmarks/profile_step.py on the test preset: the trace's events are
  matched to the compiled step's instructions, both nets' convolutions are
  found in their forward and backward passes on oneDNN, and the groups'
  fractions add up to the whole."""
  from benchmarks import profile_step  # pylint: disable=g-import-not-at-top
  from configs import cgan  # pylint: disable=g-import-not-at-top
  from sigjax.ops import onednn  # pylint: disable=g-import-not-at-top
  groups, wall_ms, total = profile_step.profile(cgan.get_config("test"), 1)
  assert wall_ms > 0 and total > 0
  keys = set(groups)
  conv = "conv:onednn" if onednn.available() else "conv:xla"
  for net in ("Generator", "Discriminator"):
    for n_pass in (0, 1):
      assert any(k[0] == net and k[2] == n_pass and k[3] == conv
                 for k in keys), (net, n_pass, sorted(keys))
  assert any(k[1].startswith("bn") and k[3] == "reduce" for k in keys)
  assert abs(sum(groups.values()) - total) < 1e-6 * max(total, 1.0)
  assert profile_step.classify(
      "custom-call", "jit(train_step)/transpose(jvp(transpose(jvp("
      "Discriminator))))/conv1/ffi_call", "sigjax_onednn_conv_fwd", False) == {
          "net": "Discriminator", "layer": "conv1", "pass": 2,
          "kind": "conv:onednn"}


def test_accelerator_loop_script_runs_the_real_loop(tmp_path):
  """benchmarks/accelerator_loop.py (issue 27 item 5's GPU script) on CPU:
  the real launch.py loop with k steps per call and S seeds, one JSON line
  with the wall time, the steady rate of all seeds and its fraction of the
  given peak; a run that cannot fit the budget is skipped, not started."""
  from benchmarks import accelerator_loop  # pylint: disable=g-import-not-at-top
  out = tmp_path / "loop.jsonl"
  accelerator_loop.main(["--presets=test", "--ks=2", "--seeds=2",
                         "--dtypes=float32", "--steps=4", "--budget_s=1e9",
                         "--peak_tflops=float32:1", f"--out={out}"])
  recs = [json.loads(l) for l in out.read_text().splitlines()]
  assert [r["kind"] for r in recs] == ["loop"], recs
  r = recs[0]
  assert "error" not in r, r.get("error")
  assert (r["k"], r["num_seeds"], r["steps"]) == (2, 2, 4)
  assert "steps_per_dispatch=2" in r["command"]
  assert "num_seeds=2" in r["command"] and str(REPO) not in r["command"]
  assert r["images_per_s_steady"] > 0 and r["wall_s"] > 0
  assert 0 < r["fraction_of_peak"] < 1 and r["cpu_model"] is not None
  accelerator_loop.main(["--presets=test", "--ks=1", "--seeds=1",
                         "--dtypes=float32", "--steps=4", "--budget_s=0",
                         f"--out={out}"])
  last = json.loads(out.read_text().splitlines()[-1])
  assert last["kind"] == "skipped" and "budget" in last["reason"]
