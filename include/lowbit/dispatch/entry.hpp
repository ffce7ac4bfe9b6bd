// SPDX-License-Identifier: Apache-2.0
// lowbit/dispatch/entry.hpp: opt-in runtime dispatch: entry points compiled once per ISA in
// separate translation units, chosen at run time by what the CPU has.
//
// # The recipe
// A header-only library cannot compile itself several times, so the user's build does:
//   1. one source file per weight type list that includes dispatch/instantiate.hpp and says
//      LOWBIT_INSTANTIATE_GEMM(LOWBIT_DISPATCH_ISA, W) for every weight type W it dispatches;
//   2. CMake: lowbit_add_dispatch_library(name ISAS scalar sse4_2 avx2 avx512bw SOURCES that.cpp)
//      compiles that file once per ISA with the ISA's flags and -DLOWBIT_DISPATCH_ISA=lowbit::
//      isa::<tag>, and tells its users which ISAs exist (LOWBIT_DISPATCH_WITH_<ISA>=1);
//   3. baseline code (no -m flags: lowbit_target_isa(app baseline)) includes this header and
//      calls lowbit::dispatch::gemm(...) or dispatch::gemv(...), which walk the compiled ISAs
//      from the most to the least capable and run the first one whose instructions the CPU has
//      (Isa::available()).
// This header is also the narrow include: with lowbit/weights.hpp (which it includes) it names
// every weight type and entry point and includes no kernel, xsimd or intrinsic header, so the
// files that call the kernels parse types and declarations only and instantiate no kernel
// (bench/RESULTS.md, "Compile time per translation unit"); the kernels are compiled once, in
// the per-ISA files. Context is only declared here: the file that constructs one includes
// gemm/context.hpp.
// Entry points are declared here and defined only in the per-ISA TUs (never inline here), so a
// baseline TU can never inline AVX-512 code (the warning in xsimd's sum.hpp).
// One caveat of every multi-ISA build of header-only code: non-template inline helpers and
// templates that are not ISA-tagged (activation quantization, f16 conversion) are emitted by
// every TU with that TU's flags, and the linker keeps one copy. lowbit_add_dispatch_library lists
// the ISA objects from the least capable up (scalar first), and GNU ld/lld keep the first copy,
// so the shared helpers are always the baseline build.
#pragma once

#include <string_view>

#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/quant/activation_buffers.hpp"
#include "lowbit/simd/isa.hpp"
#include "lowbit/weights.hpp"

namespace lowbit {
class Context;  // gemm/context.hpp: only the TU that constructs one needs its definition
}  // namespace lowbit

namespace lowbit::dispatch {

/// Y = X·Ŵᵀ with X quantized to int8 per row (as lowbit::gemm<Isa>), compiled for Isa.
template <class Isa, class W>
void gemm_entry(const W& w, MatrixView<const float> x, MatrixView<float> y, Context& ctx);
/// Y = X̂·Ŵᵀ for int8 activations (as lowbit::gemm_int8<Isa>), compiled for Isa.
template <class Isa, class W>
void gemm_int8_entry(const W& w, const Int8Activations& x, MatrixView<float> y, Context& ctx);

namespace detail {
template <class Fn>
std::string_view pick(Fn&& fn) {
#if defined(LOWBIT_DISPATCH_WITH_AVX512BW)
  // lowbit_add_dispatch_library builds avx512bw with VNNI (lowbit_target_isa avx512), which this
  // baseline TU's tag does not know: check it here.
  if (isa::avx512bw::available() && __builtin_cpu_supports("avx512vnni")) {
    return fn(isa::avx512bw{});
  }
#endif
#if defined(LOWBIT_DISPATCH_WITH_AVX2)
  if (isa::avx2::available()) return fn(isa::avx2{});
#endif
#if defined(LOWBIT_DISPATCH_WITH_SSE4_2)
  if (isa::sse4_2::available()) return fn(isa::sse4_2{});
#endif
#if defined(LOWBIT_DISPATCH_WITH_NEON64)
  if (isa::neon64::available()) return fn(isa::neon64{});
#endif
#if defined(LOWBIT_DISPATCH_WITH_SCALAR)
  return fn(isa::scalar{});
#else
  (void)fn;
  lowbit::detail::fail("dispatch: no compiled ISA is available on this CPU (build the scalar one)");
#endif
}
}  // namespace detail

/// The ISA dispatch would run on this CPU.
inline std::string_view selected_isa() {
  return detail::pick([](auto tag) { return decltype(tag)::name(); });
}

/// Runs gemm_entry on the best compiled ISA this CPU has; returns that ISA's name.
template <PackedWeights W>
std::string_view gemm(const W& w, MatrixView<const float> x, MatrixView<float> y, Context& ctx) {
  return detail::pick([&](auto tag) {
    gemm_entry<decltype(tag)>(w, x, y, ctx);
    return decltype(tag)::name();
  });
}
/// y = Ŵ·x for one activation vector (gemm with one row); returns the ISA's name.
template <PackedWeights W>
std::string_view gemv(const W& w, VectorView<const float> x, VectorView<float> y, Context& ctx) {
  return dispatch::gemm(w, lowbit::detail::vector_as_row(x, "dispatch::gemv", "x"),
                        lowbit::detail::vector_as_row(y, "dispatch::gemv", "y"), ctx);
}
/// Runs gemm_int8_entry on the best compiled ISA this CPU has; returns that ISA's name.
template <PackedWeights W>
std::string_view gemm_int8(const W& w, const Int8Activations& x, MatrixView<float> y,
                           Context& ctx) {
  return detail::pick([&](auto tag) {
    gemm_int8_entry<decltype(tag)>(w, x, y, ctx);
    return decltype(tag)::name();
  });
}

}  // namespace lowbit::dispatch
