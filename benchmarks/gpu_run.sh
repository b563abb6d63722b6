#!/usr/bin/env bash
# The GPU benchmark of issue 5 (item 6), as one script for a lent GPU machine.
#
#   bash benchmarks/gpu_run.sh OUTDIR
#
# The machine runs its own python3/jax/flax/optax/torch; ml_collections, if
# missing, is installed from wheels in .whl/ (pip download on a machine with
# a registry). Writes OUTDIR/env.txt and OUTDIR/gpu_bench.jsonl (one JSON line
# per implementation and run; see benchmarks/train_step.py) and a log.
set -uo pipefail
out=${1:?usage: gpu_run.sh OUTDIR}
mkdir -p "$out"
# JAX and PyTorch share the GPU in one process: no JAX preallocation.
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2 XLA_PYTHON_CLIENT_PREALLOCATE=false
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  python3 -c "import jax, jaxlib, flax, optax, torch; print('jax', jax.__version__, 'jaxlib', jaxlib.__version__, 'flax', flax.__version__, 'optax', optax.__version__, 'torch', torch.__version__, torch.version.cuda); print(jax.devices())"
  lscpu | grep -E 'Model name|^CPU\(s\)'
} > "$out/env.txt" 2>&1
cat "$out/env.txt"
bench() {
  echo "== $*"
  python3 -m benchmarks.train_step --preset=paper "$@" --probe=8192 \
    >> "$out/gpu_bench.jsonl" || echo "FAILED: $*"
}
# batch 64: sigjax (sub-pixel ConvTranspose, the default) vs plain flax
# ConvTranspose vs PyTorch; then bf16; then larger batches.
bench --batch=64 --steps=50 --rounds=5 --impls=sigjax,torch \
  --variants='conv_transpose=flax'
bench --batch=64 --steps=50 --rounds=5 --impls=sigjax --dtype=bfloat16
for bs in 512:10 4096:5 16384:3; do
  b=${bs%:*} n=${bs#*:}
  bench --batch=$b --steps=$n --rounds=3 --impls=sigjax,torch \
    --variants='conv_transpose=flax'
  bench --batch=$b --steps=$n --rounds=3 --impls=sigjax --dtype=bfloat16
done
nvidia-smi --query-gpu=name,memory.used,clocks.sm --format=csv
