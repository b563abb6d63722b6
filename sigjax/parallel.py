"""Devices, meshes and shardings: the one place sigjax touches them.

Training code is written for a *global* batch. A 1-D mesh over every device
of every process carries the batch dimension (axis ``data``); parameters and
optimizer state are replicated. XLA inserts the gradient all-reduce, so the
same step runs on 1 CPU, 8 GPUs or a multi-host TPU slice.
"""

import os

from absl import logging
import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from configs import common

DATA_AXIS = "data"


def maybe_initialize_distributed() -> None:
  """Joins a multi-process run when the environment describes one.

  ``jax.distributed.initialize()`` auto-detects TPU pods, SLURM and Open MPI.
  For a hand-launched run (e.g. two processes on one machine) set
  ``SIGJAX_COORDINATOR=host:port``, ``SIGJAX_NUM_PROCESSES`` and
  ``SIGJAX_PROCESS_ID``. Safe to call more than once.
  """
  if jax.distributed.is_initialized():
    return
  coordinator = os.environ.get("SIGJAX_COORDINATOR")
  if coordinator:
    num = int(os.environ["SIGJAX_NUM_PROCESSES"])
    pid = int(os.environ["SIGJAX_PROCESS_ID"])
    logging.info("jax.distributed.initialize(%s, %d, %d)", coordinator, num, pid)
    jax.distributed.initialize(coordinator_address=coordinator,
                               num_processes=num, process_id=pid)
  elif any(k in os.environ for k in ("SLURM_JOB_ID", "OMPI_COMM_WORLD_SIZE",
                                     "TPU_WORKER_HOSTNAMES")):
    jax.distributed.initialize()


def setup_compilation_cache(cache_dir: str) -> None:
  """Turns on JAX's persistent compilation cache in ``cache_dir``.

  A second run of the same preset then loads its executables instead of
  compiling them. Every executable is cached (no minimum compile time), so
  short CPU compiles are cached too.
  """
  if not cache_dir:
    return
  os.makedirs(cache_dir, exist_ok=True)
  jax.config.update("jax_compilation_cache_dir", cache_dir)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


# XLA:CPU convolution lowering (``config.xla_cpu_conv``). jax 0.10's XLA:CPU
# hands convolutions, dots and reductions to YNNPACK by default (its debug
# option ``xla_cpu_experimental_ynn_fusion_type``); on the AVX-512 CPU
# measured here XLA's own (Eigen) convolutions run the CGAN's convolutions
# 1.4-2.3x faster in every pass (BUILD_NOTES.md, Performance), while
# YNNPACK's reductions are ~10x faster than XLA's (BatchNorm statistics).
# 'eigen' keeps YNNPACK for dots and reductions, not for convolutions.
XLA_CPU_CONV = {
    "eigen": {"xla_cpu_experimental_ynn_fusion_type":
              "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE"},
    "ynnpack": {},  # XLA's default
}


def compiler_options(config=None, backend=None):
  """XLA compiler options for sigjax's jitted functions, or None.

  Only on the CPU backend (the options name XLA:CPU passes):
  ``config.xla_cpu_conv`` ('eigen', the default, or 'ynnpack') chooses the
  convolution library. Passed as ``jax.jit(..., compiler_options=...)``, so
  it applies to sigjax's executables alone, also inside a notebook whose JAX
  backend is already running; the persistent cache keys on it.
  """
  choice = (config["xla_cpu_conv"] if config is not None
            else common.base_config().xla_cpu_conv)
  if choice not in XLA_CPU_CONV:
    raise ValueError(f"xla_cpu_conv={choice!r}: use "
                     + " or ".join(repr(c) for c in XLA_CPU_CONV))
  if (backend or jax.default_backend()) != "cpu":
    return None
  return dict(XLA_CPU_CONV[choice]) or None


def default_cache_dir(workdir: str) -> str:
  """JAX's own ``JAX_COMPILATION_CACHE_DIR`` when it is set (one cache for
  every run, e.g. on a Colab Drive; the test suite shares one this way),
  else ``<workdir>/../.jax_cache``: shared by the runs beside this one."""
  if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    return os.environ["JAX_COMPILATION_CACHE_DIR"]
  parent = os.path.dirname(os.path.abspath(workdir.rstrip("/"))) or "."
  return os.path.join(parent, ".jax_cache")


def make_mesh(devices=None) -> Mesh:
  """A 1-D mesh over all devices (of all processes), axis ``data``."""
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh, leading: int = 0) -> NamedSharding:
  """Split over ``data`` on axis ``leading`` (1 for a seed group's (S,
  batch, ...) arrays: every device holds its rows of every seed)."""
  return NamedSharding(mesh, P(*([None] * leading), DATA_AXIS))


def replicate(tree, mesh: Mesh):
  """Places every leaf of ``tree`` on all devices of ``mesh``."""
  sharding = replicated(mesh)
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x))
      if jax.process_count() > 1 else jax.device_put(x, sharding), tree)


def check_batch_size(global_batch: int, mesh: Mesh, setting: str) -> None:
  """Raises a clear error when the batch cannot be split over the mesh."""
  n = mesh.devices.size
  if global_batch % n or global_batch % jax.process_count():
    raise ValueError(
        f"{setting}={global_batch} must be divisible by the number of devices "
        f"({n}) and processes ({jax.process_count()}).")


def shard_batch(batch, mesh: Mesh, leading: int = 0):
  """Host-local numpy arrays -> global jax.Arrays sharded on axis
  ``leading`` (0; 1 for a seed group's (S, batch, ...) batches).

  Each process passes its own slice of the global batch (its rows, in process
  order), as ``sigjax.data.train_dataset`` produces them.
  """
  sharding = batch_sharding(mesh, leading)
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)),
      batch)


def to_host(tree):
  """Fetches (possibly sharded, replicated) arrays to host numpy."""
  def fetch(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      if x.sharding.is_fully_replicated:
        return np.asarray(x.addressable_data(0))
      x = multihost_utils.process_allgather(x, tiled=True)
    return np.asarray(x)
  return jax.tree.map(fetch, tree)
