// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/gemv.hpp: gemv_int8<Isa>, the int8-activation GEMV entry point, and the kernel
// family selection behind it.
//
// Selection is by overload on the ISA tag (the most derived family that exists wins) and on the
// weight type; anything without a specialized family runs the reference (ref::gemv_int8), which
// every family must reproduce bit for bit. Families so far:
//   Plain 4-bit, PerGroup<32·j>, any affine scheme   AVX2 (vpmaddubsw), also for avx512bw
// TODO(#3): interleaved layouts, 2/3/8-bit families, AVX-512 VNNI, GEMM micro-kernels, threads.
#pragma once

#include "lowbit/config.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/kernels/reference/gemv_int8.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/quant/activation.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/simd/isa.hpp"

#define LOWBIT_KERNELS_SELECT_INCLUDED 1
#if LOWBIT_HAS_AVX2
#include "lowbit/kernels/x86/gemv_plain4_avx2.hpp"
#endif

namespace lowbit {

namespace detail {

template <class Isa, class W>
struct GemvFamily {
  static void run(const W& w, const Int8Activations& x, VectorView<float> y) {
    ref::gemv_int8(w, x, y);
  }
};

#if LOWBIT_HAS_AVX2
template <class Isa, AffineEncodeScheme S, int G>
requires(std::is_base_of_v<isa::avx2, Isa>&& S::kCodeBits == 4 &&
         G % 32 == 0) struct GemvFamily<Isa, PackedMatrix<S, PerGroup<G>, Plain>>
    : kernels::GemvPlain4Avx2<Isa, S, G> {
};
#endif

}  // namespace detail

/// y (m) = Ŵ · x̂ for one row of int8 activations, on the best kernel family for Isa.
/// Bit-identical to ref::gemv_int8. Throws Error on shapes.
template <class Isa = isa::best, class W>
void gemv_int8(const W& w, const Int8Activations& x, VectorView<float> y) {
  if (x.rows() != 1) detail::fail("gemv_int8: expects one activation row, got ", x.rows());
  if (x.cols() != w.cols())
    detail::fail("gemv_int8: activations have ", x.cols(), " columns, W has ", w.cols());
  if (y.size() != w.rows())
    detail::fail("gemv_int8: y has ", y.size(), " elements, W has ", w.rows(), " rows");
  detail::GemvFamily<Isa, W>::run(w, x, y);
}

}  // namespace lowbit
