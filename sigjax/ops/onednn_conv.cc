// oneDNN 2-D convolutions as XLA:CPU FFI custom calls (NHWC/HWIO).
//
// Three handlers, each one oneDNN primitive, cached per shape:
//   sigjax_onednn_conv_fwd      (src, weights)        -> dst
//   sigjax_onednn_conv_bwd_data (diff_dst, weights)   -> diff_src
//   sigjax_onednn_conv_bwd_wts  (src, diff_dst)       -> diff_weights
// in float32, and the same three in bfloat16 (suffix _bf16: bf16 operands,
// bf16 dst / diff_src, float32 diff_weights; oneDNN accumulates in f32).
// The bf16 primitives need a CPU with bf16 instructions (AVX512-BF16 or
// AMX): SigjaxOnednnCpuIsa() returns oneDNN's effective ISA
// (dnnl_cpu_isa_t) so the caller can check before using them.
// Attributes: stride_h, stride_w, pad_t, pad_l, pad_b, pad_r (int64).
// Activations stay NHWC (oneDNN's 'nhwc' tag, no reorder); weights are given
// as HWIO and reordered to the layout the primitive prefers (they are small).
// Built by sigjax/ops/onednn.py against jaxlib's FFI headers and the
// onednn-cpu-gomp wheel.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnnl.hpp"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

dnnl::engine& Engine() {
  static dnnl::engine* e = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *e;
}

struct Geometry {
  memory::dims src, wts, dst, strides, pad_l, pad_r;
  std::string Key(const char* op) const {
    std::string k(op);
    for (const auto* v : {&src, &wts, &dst, &strides, &pad_l, &pad_r}) {
      k += "|";
      for (auto d : *v) k += std::to_string(d) + ",";
    }
    return k;
  }
};

// NHWC buffer dims (n, h, w, c) -> oneDNN dims (n, c, h, w); HWIO -> OIHW.
memory::dims Nchw(ffi::Span<const int64_t> d) {
  return {d[0], d[3], d[1], d[2]};
}
memory::dims Oihw(ffi::Span<const int64_t> d) {
  return {d[3], d[2], d[0], d[1]};
}

Geometry MakeGeometry(ffi::Span<const int64_t> src, ffi::Span<const int64_t> wts,
                      ffi::Span<const int64_t> dst, int64_t sh, int64_t sw,
                      int64_t pt, int64_t pl, int64_t pb, int64_t pr) {
  return Geometry{Nchw(src), Oihw(wts), Nchw(dst), {sh, sw}, {pt, pl},
                  {pb, pr}};
}

// Every primitive gets its scratchpad from us (scratchpad_mode::user), not
// from oneDNN's library-managed one: with the library-managed scratchpad the
// gemm-based backward-weights convolution that oneDNN 3.2 picks on CPUs
// without AVX-512 (seen on an AVX2 AMD EPYC) segfaulted in im2col as soon as
// a train step held several such primitives (each alone ran; the cause inside
// oneDNN was not pinned down). With a caller-owned scratchpad it runs.
dnnl::primitive_attr Attr() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

// ``a``: the data type of every operand (f32, or bf16 for the bf16
// handlers; their primitives accumulate in f32).
dnnl::convolution_forward::primitive_desc FwdPd(const Geometry& g, dt a) {
  return dnnl::convolution_forward::primitive_desc(
      Engine(), dnnl::prop_kind::forward_training,
      dnnl::algorithm::convolution_direct, memory::desc(g.src, a, tag::nhwc),
      memory::desc(g.wts, a, tag::any), memory::desc(g.dst, a, tag::nhwc),
      g.strides, g.pad_l, g.pad_r, Attr());
}

struct Cached {
  dnnl::primitive prim;
  memory::desc wts_md;  // the layout the primitive wants its weights in
  memory::desc scratch_md;  // its scratchpad (user-managed, see Attr())
};

std::mutex& Mu() {
  static std::mutex* m = new std::mutex;
  return *m;
}
std::map<std::string, Cached>& Cache() {
  static auto* c = new std::map<std::string, Cached>;
  return *c;
}

template <typename Make>
Cached Get(const std::string& key, Make make) {
  std::lock_guard<std::mutex> lock(Mu());
  auto it = Cache().find(key);
  if (it != Cache().end()) return it->second;
  Cached c = make();
  Cache().emplace(key, c);
  return c;
}

// One scratchpad buffer for all primitives, grown to the largest request:
// executions are serialised (ExecMu, below), so only one uses it at a time.
void* Scratch(size_t bytes) {
  static void* buf = nullptr;
  static size_t cap = 0;
  if (buf == nullptr || bytes > cap) {
    std::free(buf);
    cap = std::max<size_t>(4096, (bytes + 4095) / 4096 * 4096);
    buf = std::aligned_alloc(4096, cap);
    if (buf == nullptr) throw std::bad_alloc();
  }
  return buf;
}

// Runs the primitive with ``args`` and its scratchpad; call under ExecMu.
void Execute(const Cached& c, dnnl::stream& s,
             std::unordered_map<int, memory> args) {
  args.emplace(DNNL_ARG_SCRATCHPAD,
               memory(c.scratch_md, Engine(), Scratch(c.scratch_md.get_size())));
  c.prim.execute(s, args);
  s.wait();
}

memory UserWts(const Geometry& g, dt d, void* data) {
  return memory(memory::desc(g.wts, d, tag::hwio), Engine(), data);
}

// The HWIO weights at ``data`` in the layout the primitive wants (a reorder
// into a scratch buffer when that layout differs).
memory PrimitiveWts(const Cached& c, const Geometry& g, dt d, void* data,
                    dnnl::stream& s) {
  memory user_w = UserWts(g, d, data);
  if (c.wts_md == user_w.get_desc()) return user_w;
  memory w(c.wts_md, Engine());
  dnnl::reorder(user_w, w).execute(s, user_w, w);
  return w;
}

// One convolution at a time: XLA's thunk executor may start independent
// custom calls concurrently, and oneDNN's OpenMP regions then share (and
// split) the cores, which is slower and makes the reduction order of the
// weight gradient depend on timing. Serialised, every call gets the whole
// thread team and results are bitwise reproducible.
std::mutex& ExecMu() {
  static std::mutex* m = new std::mutex;
  return *m;
}

ffi::Error Guard(const std::function<void()>& body) {
  std::lock_guard<std::mutex> lock(ExecMu());
  try {
    body();
  } catch (const dnnl::error& e) {
    return ffi::Error(ffi::ErrorCode::kInternal,
                      std::string("oneDNN convolution failed: ") + e.what());
  } catch (const std::exception& e) {
    return ffi::Error(ffi::ErrorCode::kInternal,
                      std::string("oneDNN convolution failed: ") + e.what());
  }
  return ffi::Error::Success();
}

// The FFI element type T as oneDNN's data type (F32 or BF16), and the
// primitive cache key's suffix (none for f32: the keys it always had).
template <ffi::DataType T>
constexpr dt Dt() {
  static_assert(T == ffi::F32 || T == ffi::BF16, "f32 or bf16 only");
  return T == ffi::F32 ? dt::f32 : dt::bf16;
}
template <ffi::DataType T>
std::string Op(const char* op) {
  return T == ffi::F32 ? std::string(op) : std::string(op) + "_bf16";
}

template <ffi::DataType T>
ffi::Error ConvFwd(ffi::Buffer<T> src, ffi::Buffer<T> wts,
                   ffi::ResultBuffer<T> dst, int64_t stride_h,
                   int64_t stride_w, int64_t pad_t, int64_t pad_l,
                   int64_t pad_b, int64_t pad_r) {
  constexpr dt a = Dt<T>();
  return Guard([&] {
    Geometry g = MakeGeometry(src.dimensions(), wts.dimensions(),
                              dst->dimensions(), stride_h, stride_w, pad_t,
                              pad_l, pad_b, pad_r);
    Cached c = Get(g.Key(Op<T>("fwd").c_str()), [&] {
      auto pd = FwdPd(g, a);
      return Cached{dnnl::convolution_forward(pd), pd.weights_desc(),
                    pd.scratchpad_desc()};
    });
    dnnl::stream s(Engine());
    memory w = PrimitiveWts(c, g, a, wts.untyped_data(), s);
    memory x(memory::desc(g.src, a, tag::nhwc), Engine(), src.untyped_data());
    memory y(memory::desc(g.dst, a, tag::nhwc), Engine(), dst->untyped_data());
    Execute(c, s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}});
  });
}

template <ffi::DataType T>
ffi::Error ConvBwdData(ffi::Buffer<T> diff_dst, ffi::Buffer<T> wts,
                       ffi::ResultBuffer<T> diff_src, int64_t stride_h,
                       int64_t stride_w, int64_t pad_t, int64_t pad_l,
                       int64_t pad_b, int64_t pad_r) {
  constexpr dt a = Dt<T>();
  return Guard([&] {
    Geometry g = MakeGeometry(diff_src->dimensions(), wts.dimensions(),
                              diff_dst.dimensions(), stride_h, stride_w, pad_t,
                              pad_l, pad_b, pad_r);
    Cached c = Get(g.Key(Op<T>("bwd_data").c_str()), [&] {
      auto hint = FwdPd(g, a);
      auto pd = dnnl::convolution_backward_data::primitive_desc(
          Engine(), dnnl::algorithm::convolution_direct,
          memory::desc(g.src, a, tag::nhwc),
          memory::desc(g.wts, a, tag::any),
          memory::desc(g.dst, a, tag::nhwc), g.strides, g.pad_l, g.pad_r,
          hint, Attr());
      return Cached{dnnl::convolution_backward_data(pd), pd.weights_desc(),
                    pd.scratchpad_desc()};
    });
    dnnl::stream s(Engine());
    memory w = PrimitiveWts(c, g, a, wts.untyped_data(), s);
    memory dy(memory::desc(g.dst, a, tag::nhwc), Engine(), diff_dst.untyped_data());
    memory dx(memory::desc(g.src, a, tag::nhwc), Engine(), diff_src->untyped_data());
    Execute(c, s, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, w},
                   {DNNL_ARG_DIFF_SRC, dx}});
  });
}

// diff_weights is float32 for either T: bf16 src / diff_dst products summed
// in f32 and written as f32, not rounded to bf16 inside oneDNN.
template <ffi::DataType T>
ffi::Error ConvBwdWts(ffi::Buffer<T> src, ffi::Buffer<T> diff_dst,
                      ffi::ResultBuffer<ffi::F32> diff_wts, int64_t stride_h,
                      int64_t stride_w, int64_t pad_t, int64_t pad_l,
                      int64_t pad_b, int64_t pad_r) {
  constexpr dt a = Dt<T>();
  return Guard([&] {
    Geometry g = MakeGeometry(src.dimensions(), diff_wts->dimensions(),
                              diff_dst.dimensions(), stride_h, stride_w, pad_t,
                              pad_l, pad_b, pad_r);
    Cached c = Get(g.Key(Op<T>("bwd_wts").c_str()), [&] {
      auto hint = FwdPd(g, a);
      auto pd = dnnl::convolution_backward_weights::primitive_desc(
          Engine(), dnnl::algorithm::convolution_direct,
          memory::desc(g.src, a, tag::nhwc),
          memory::desc(g.wts, dt::f32, tag::any),
          memory::desc(g.dst, a, tag::nhwc), g.strides, g.pad_l, g.pad_r,
          hint, Attr());
      return Cached{dnnl::convolution_backward_weights(pd),
                    pd.diff_weights_desc(), pd.scratchpad_desc()};
    });
    dnnl::stream s(Engine());
    memory user_dw = UserWts(g, dt::f32, diff_wts->untyped_data());
    memory dw = user_dw;
    if (c.wts_md != user_dw.get_desc()) dw = memory(c.wts_md, Engine());
    memory x(memory::desc(g.src, a, tag::nhwc), Engine(), src.untyped_data());
    memory dy(memory::desc(g.dst, a, tag::nhwc), Engine(), diff_dst.untyped_data());
    Execute(c, s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy},
                   {DNNL_ARG_DIFF_WEIGHTS, dw}});
    if (dw != user_dw) dnnl::reorder(dw, user_dw).execute(s, dw, user_dw);
    s.wait();
  });
}

}  // namespace

// (two T buffers) -> one R buffer, with the six geometry attributes.
#define SIGJAX_CONV_BINDING(T, R)                              \
  ffi::Ffi::Bind()                                             \
      .Arg<ffi::Buffer<T>>()                                   \
      .Arg<ffi::Buffer<T>>()                                   \
      .Ret<ffi::Buffer<R>>()                                   \
      .Attr<int64_t>("stride_h").Attr<int64_t>("stride_w")     \
      .Attr<int64_t>("pad_t").Attr<int64_t>("pad_l")           \
      .Attr<int64_t>("pad_b").Attr<int64_t>("pad_r")

XLA_FFI_DEFINE_HANDLER_SYMBOL(SigjaxOnednnConvFwd, ConvFwd<ffi::F32>,
                              SIGJAX_CONV_BINDING(ffi::F32, ffi::F32));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SigjaxOnednnConvBwdData, ConvBwdData<ffi::F32>,
                              SIGJAX_CONV_BINDING(ffi::F32, ffi::F32));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SigjaxOnednnConvBwdWts, ConvBwdWts<ffi::F32>,
                              SIGJAX_CONV_BINDING(ffi::F32, ffi::F32));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SigjaxOnednnConvFwdBf16, ConvFwd<ffi::BF16>,
                              SIGJAX_CONV_BINDING(ffi::BF16, ffi::BF16));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SigjaxOnednnConvBwdDataBf16,
                              ConvBwdData<ffi::BF16>,
                              SIGJAX_CONV_BINDING(ffi::BF16, ffi::BF16));
XLA_FFI_DEFINE_HANDLER_SYMBOL(SigjaxOnednnConvBwdWtsBf16, ConvBwdWts<ffi::BF16>,
                              SIGJAX_CONV_BINDING(ffi::BF16, ffi::F32));

// oneDNN's effective CPU ISA (a dnnl_cpu_isa_t bit mask: it includes
// dnnl_cpu_isa_avx512_core_bf16's bits when the bf16 primitives can run).
extern "C" int SigjaxOnednnCpuIsa() {
  return static_cast<int>(dnnl::get_effective_cpu_isa());
}
