"""oneDNN convolutions inside jitted JAX code on CPU (XLA FFI custom calls).

XLA:CPU runs the CGAN's convolutions on Eigen (or YNNPACK) at 100-170
GFLOP/s on the AVX-512 CPU measured here; oneDNN, which Keras/TF and PyTorch
call, runs the same shapes at ~200-230 in every pass (BUILD_NOTES.md,
Performance). This module compiles ``onednn_conv.cc`` once (g++, jaxlib's
FFI headers, the ``onednn-cpu-gomp`` wheel's library and the
``onednn-devel-cpu-gomp`` headers), registers its three handlers with XLA,
and exposes

  conv(x, w, strides, padding)            NHWC x HWIO -> NHWC, any stride,
                                          explicit (lo, hi) padding
  conv_transpose(x, w, strides)           'SAME', transpose_kernel=False,
                                          exactly lax.conv_transpose's

in float32, or in bfloat16 when both operands are bf16 and oneDNN's ISA
here has bf16 instructions (``bf16_available()``; AVX512-BF16 or AMX: the
bf16 primitives accumulate in float32, the kernel gradient comes back as
float32 and is rounded once to the kernel's dtype at the VJP boundary);
differentiable to any order: the three passes (forward, backward-data,
backward-weights) are ``jax.custom_vjp`` functions whose VJPs are the other
two passes. ``available()`` says whether the library could be built and
loaded here (and why not: ``why()``), ``bf16_available()`` whether its bf16
handlers can run (``bf16_why()``); callers fall back to XLA's convolutions
when they cannot. Other operand dtypes are computed in float32.

The shared library is cached in ``$SIGJAX_OPS_CACHE`` or
``~/.cache/sigjax/ops``, keyed by the source, jaxlib and oneDNN versions.
"""

import ctypes
import hashlib
import os
import subprocess
import sys
import sysconfig
import tempfile
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sigjax.ops import geometry

_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onednn_conv.cc")
_TARGETS = {"sigjax_onednn_conv_fwd": "SigjaxOnednnConvFwd",
            "sigjax_onednn_conv_bwd_data": "SigjaxOnednnConvBwdData",
            "sigjax_onednn_conv_bwd_wts": "SigjaxOnednnConvBwdWts",
            "sigjax_onednn_conv_fwd_bf16": "SigjaxOnednnConvFwdBf16",
            "sigjax_onednn_conv_bwd_data_bf16": "SigjaxOnednnConvBwdDataBf16",
            "sigjax_onednn_conv_bwd_wts_bf16": "SigjaxOnednnConvBwdWtsBf16"}
_state = {"ok": None, "why": "", "isa": None, "bf16": None, "bf16_why": ""}
# dnnl_cpu_isa_t (oneDNN's dnnl_types.h) is a bit mask; every ISA with bf16
# instructions (avx512_core_bf16 0xe7, avx512_core_fp16 0x1ef,
# avx512_core_amx 0xfef, avx512_core_amx_fp16 0x1fef) holds these bits.
_ISA_AVX512_CORE_BF16 = 0xE7


def _prefixes():
  seen = []
  for p in (sys.prefix, sys.base_prefix, sysconfig.get_config_var("prefix")):
    if p and p not in seen:
      seen.append(p)
  return seen


def _find_onednn():
  """(include_dir, lib_dir) of the onednn wheels, or raises RuntimeError."""
  for p in _prefixes():
    inc, lib = os.path.join(p, "include"), os.path.join(p, "lib")
    if (os.path.exists(os.path.join(inc, "dnnl.hpp"))
        and os.path.exists(os.path.join(lib, "libdnnl.so"))):
      return inc, lib
  raise RuntimeError(
      "oneDNN not found: pip install onednn-cpu-gomp==2023.2.0 "
      "onednn-devel-cpu-gomp==2023.2.0 (looked in "
      + ", ".join(os.path.join(p, "{include,lib}") for p in _prefixes()) + ")")


def _cache_dir():
  return os.environ.get("SIGJAX_OPS_CACHE") or os.path.join(
      os.path.expanduser("~"), ".cache", "sigjax", "ops")


def build() -> str:
  """Compiles the FFI library (once; cached) and returns its path."""
  inc, lib = _find_onednn()
  with open(_SRC, "rb") as f:
    src = f.read()
  import jaxlib  # pylint: disable=g-import-not-at-top
  cxx = os.environ.get("CXX", "g++")
  flags = [cxx, "-O3", "-std=c++17", "-shared", "-fPIC",
           "-I", jax.ffi.include_dir(), "-I", inc]
  key = hashlib.sha256(src + jaxlib.__version__.encode() + " ".join(
      flags + [os.path.realpath(os.path.join(lib, "libdnnl.so"))]).encode()
                       ).hexdigest()[:16]
  out_dir = _cache_dir()
  out = os.path.join(out_dir, f"sigjax_onednn_conv_{key}.so")
  if os.path.exists(out):
    return out
  os.makedirs(out_dir, exist_ok=True)
  fd, tmp = tempfile.mkstemp(suffix=".so", dir=out_dir)
  os.close(fd)
  cmd = flags + [_SRC, "-o", tmp, "-L", lib, "-ldnnl", f"-Wl,-rpath,{lib}"]
  r = subprocess.run(cmd, capture_output=True, text=True, check=False)
  if r.returncode != 0:
    os.unlink(tmp)
    raise RuntimeError(f"building {_SRC} failed ({' '.join(cmd)}):\n"
                       + r.stderr[-3000:])
  os.replace(tmp, out)  # atomic: concurrent builders agree
  return out


def load_library():
  """The built library, loaded (a damaged cached build is rebuilt once)."""
  path = build()
  try:
    return ctypes.cdll.LoadLibrary(path)
  except OSError:
    os.unlink(path)
    return ctypes.cdll.LoadLibrary(build())


def available() -> bool:
  """Builds, loads and registers the handlers once; False (see ``why()``)
  when that is impossible here (no compiler, no oneDNN, not a CPU)."""
  if _state["ok"] is None:
    try:
      lib = load_library()
      for name, sym in _TARGETS.items():
        jax.ffi.register_ffi_target(
            name, jax.ffi.pycapsule(getattr(lib, sym)), platform="cpu")
      lib.SigjaxOnednnCpuIsa.restype = ctypes.c_int
      _state["isa"] = int(lib.SigjaxOnednnCpuIsa())
      _state["ok"] = True
    except (RuntimeError, OSError, AttributeError) as e:
      _state["ok"], _state["why"] = False, str(e)
  return _state["ok"]


def why() -> str:
  return _state["why"]


def cpu_isa() -> int:
  """oneDNN's effective CPU ISA here (a ``dnnl_cpu_isa_t`` value, e.g.
  0xe7 avx512_core_bf16; capped by ``$ONEDNN_MAX_CPU_ISA``), or -1 when the
  library is unavailable."""
  return _state["isa"] if available() else -1


def _isa_has_bf16(isa: int) -> bool:
  return isa >= 0 and isa & _ISA_AVX512_CORE_BF16 == _ISA_AVX512_CORE_BF16


def bf16_available() -> bool:
  """Whether the bf16 handlers can run here: the library is available and
  oneDNN's effective ISA has bf16 instructions (AVX512-BF16 or AMX);
  False (see ``bf16_why()``) otherwise. Without them oneDNN would emulate
  bf16 or refuse it, so bf16 convolutions use XLA's instead."""
  if _state["bf16"] is None:
    if not available():
      ok, reason = False, f"oneDNN unavailable: {why()}"
    else:
      isa = cpu_isa()
      ok = _isa_has_bf16(isa)
      reason = "" if ok else (
          f"oneDNN's effective CPU ISA here (dnnl_cpu_isa_t {isa:#x}) has no "
          "bf16 instructions (needs avx512_core_bf16 0xe7 or "
          "avx512_core_amx 0xfef)")
    _state["bf16"], _state["bf16_why"] = ok, reason
  return _state["bf16"]


def bf16_why() -> str:
  """One line: why ``bf16_available()`` is False here ('' when True)."""
  bf16_available()
  return _state["bf16_why"]


def _is_bf16(a, b) -> bool:
  """Whether a pass on operands a, b runs the bf16 handlers."""
  return (a.dtype == b.dtype == jnp.bfloat16) and bf16_available()


def _require():
  if not available():
    raise RuntimeError(f"oneDNN convolutions are unavailable: {why()}")


def _attrs(strides, pad_lo, pad_hi):
  return dict(stride_h=np.int64(strides[0]), stride_w=np.int64(strides[1]),
              pad_t=np.int64(pad_lo[0]), pad_l=np.int64(pad_lo[1]),
              pad_b=np.int64(pad_hi[0]), pad_r=np.int64(pad_hi[1]))


def _call(target, out_shape, a, b, geom):
  # Under jax.vmap (several seeds in one program, sigjax.train_loop) each
  # batch element is its own oneDNN call, the same call a single run makes:
  # the convolutions keep their fast path and each seed its numbers.
  if _is_bf16(a, b):
    # bf16 operands, bf16 result; the kernel gradient comes back float32.
    out = jnp.float32 if target.endswith("bwd_wts") else jnp.bfloat16
    return jax.ffi.ffi_call(
        target + "_bf16", jax.ShapeDtypeStruct(out_shape, out),
        vmap_method="sequential_unrolled")(a, b, **_attrs(*geom))
  return jax.ffi.ffi_call(
      target, jax.ShapeDtypeStruct(out_shape, jnp.float32),
      vmap_method="sequential_unrolled")(
          a.astype(jnp.float32), b.astype(jnp.float32), **_attrs(*geom))


def _out_hw(in_hw, k_hw, geom):
  """Output size of a conv with geometry (strides, pad_lo, pad_hi)."""
  strides, lo, hi = geom
  return tuple((n + a + b - k) // s + 1 for n, k, s, a, b in
               zip(in_hw, k_hw, strides, lo, hi))


def _geometry(in_hw, k_hw, strides, padding):
  """(out_hw, (strides, pad_lo, pad_hi)) with pad_hi fitted exactly."""
  lo = [pl for pl, _ in padding]
  out = _out_hw(in_hw, k_hw, (strides, lo, [ph for _, ph in padding]))
  hi = [(o - 1) * s + k - n - pl
        for o, s, k, n, pl in zip(out, strides, k_hw, in_hw, lo)]
  if min(lo + hi) < 0:
    raise ValueError(f"onednn.conv: negative padding {padding} unsupported")
  return out, (tuple(strides), tuple(lo), tuple(hi))


# The three oneDNN passes as differentiable functions of their two operands.
# Each is linear in either operand, and the VJP of each is the other two, so
# gradients of any order (R1, WGAN-GP: a gradient of a gradient) stay on
# oneDNN. ``geom`` = (strides, pad_lo, pad_hi), pad_hi fitted exactly.

@partial(jax.custom_vjp, nondiff_argnums=(2,))
def _fwd(x, w, geom):
  """y = conv(x, w) (NHWC, HWIO)."""
  oh, ow = _out_hw(x.shape[1:3], w.shape[:2], geom)
  return _call("sigjax_onednn_conv_fwd", (x.shape[0], oh, ow, w.shape[3]),
               x, w, geom).astype(x.dtype)


def _fwd_fwd(x, w, geom):
  return _fwd(x, w, geom), (x, w)


def _fwd_bwd(geom, res, dy):
  x, w = res
  # Cotangents in their primals' dtypes (a no-op unless x and w differ).
  return (_bwd_data(dy, w, x.shape[1:3], geom).astype(x.dtype),
          _bwd_wts(x, dy, w.shape[:2], geom).astype(w.dtype))


_fwd.defvjp(_fwd_fwd, _fwd_bwd)


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _bwd_data(dy, w, in_hw, geom):
  """dx = the input gradient of conv(., w) at dy (x's spatial size in_hw)."""
  return _call("sigjax_onednn_conv_bwd_data",
               (dy.shape[0],) + tuple(in_hw) + (w.shape[2],), dy, w,
               geom).astype(dy.dtype)


def _bwd_data_fwd(dy, w, in_hw, geom):
  return _bwd_data(dy, w, in_hw, geom), (dy, w)


def _bwd_data_bwd(in_hw, geom, res, c):
  dy, w = res
  return (_fwd(c, w, geom).astype(dy.dtype),
          _bwd_wts(c, dy, w.shape[:2], geom).astype(w.dtype))


_bwd_data.defvjp(_bwd_data_fwd, _bwd_data_bwd)


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _bwd_wts(x, dy, k_hw, geom):
  """dw = the kernel gradient of conv(x, .) at dy (kernel size k_hw), in
  x's dtype: in bf16, oneDNN's float32 sum rounded once to bf16 here, the
  kernel's dtype (a cotangent's dtype must be its primal's; the cast back
  to the float32 parameter happens upstream)."""
  return _call("sigjax_onednn_conv_bwd_wts",
               tuple(k_hw) + (x.shape[3], dy.shape[3]), x, dy,
               geom).astype(x.dtype)


def _bwd_wts_fwd(x, dy, k_hw, geom):
  return _bwd_wts(x, dy, k_hw, geom), (x, dy)


def _bwd_wts_bwd(k_hw, geom, res, c):
  x, dy = res
  return (_bwd_data(dy, c, x.shape[1:3], geom).astype(x.dtype),
          _fwd(x, c, geom).astype(dy.dtype))


_bwd_wts.defvjp(_bwd_wts_fwd, _bwd_wts_bwd)


def conv(x, w, strides, padding):
  """``lax.conv_general_dilated(x, w, strides, padding, ('NHWC', 'HWIO',
  'NHWC'))`` on oneDNN, with oneDNN gradients. ``padding``: ((lo, hi),
  (lo, hi)) or 'SAME'/'VALID'."""
  _require()
  if isinstance(padding, str):
    padding = jax.lax.padtype_to_pads(x.shape[1:3], w.shape[:2], strides,
                                      padding)
  padding = tuple((int(a), int(b)) for a, b in padding)
  _, geom = _geometry(x.shape[1:3], w.shape[:2],
                      tuple(int(s) for s in strides), padding)
  return _fwd(x, w, geom)


def conv_transpose(x, kernel, strides):
  """'SAME' ``lax.conv_transpose(x, kernel, strides, transpose_kernel=False)``
  (NHWC, HWIO) on oneDNN: the backward-data pass of the strided conv it is
  the adjoint of; its gradients are that conv's forward and weight
  gradient."""
  _require()
  strides = tuple(int(s) for s in strides)
  y_hw = tuple(n * s for n, s in zip(x.shape[1:3], strides))
  pads = geometry.adjoint_conv_pads(x.shape[1:3], kernel.shape[:2], strides)
  g = geometry.flip_io(kernel)
  _, geom = _geometry(y_hw, g.shape[:2], strides, pads)
  if kernel.shape[3] == 1 and strides == (1, 1) and not _is_bf16(x, g):
    # (In bf16 oneDNN's kernel is the faster one here: 60 ms against XLA's
    # 142 ms for G's last layer at batch 64, docs/performance_loop.md.)
    return _bwd_data_xla_fwd(x, g, y_hw, geom)
  return _bwd_data(x, g, y_hw, geom)


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _bwd_data_xla_fwd(dy, w, in_hw, geom):
  """``_bwd_data`` for one output channel at stride 1 (G's last layer):
  oneDNN's float32 backward-data kernel runs that at 14 GFLOP/s, XLA's
  convolution about 1.4x faster; the gradients stay oneDNN's
  (``_bwd_data``'s VJP). float32 only (not used for bf16)."""
  del in_hw
  strides, lo, hi = geom
  kh, kw = w.shape[:2]
  # The input gradient of a stride-1 conv is a conv of dy with the kernel
  # flipped and in/out swapped, padded by k - 1 - pad on each side.
  pads = [(kh - 1 - lo[0], kh - 1 - hi[0]), (kw - 1 - lo[1], kw - 1 - hi[1])]
  return jax.lax.conv_general_dilated(
      dy, geometry.flip_io(w), strides, pads,
      dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _bwd_data_xla_fwd_fwd(dy, w, in_hw, geom):
  return _bwd_data_xla_fwd(dy, w, in_hw, geom), (dy, w)


_bwd_data_xla_fwd.defvjp(_bwd_data_xla_fwd_fwd, _bwd_data_bwd)
