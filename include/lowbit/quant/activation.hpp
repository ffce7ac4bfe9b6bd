// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/activation.hpp: quantized activations, the integer kernels' inputs.
//
// # Int8Activations: dynamic symmetric int8, one scale per row or per block of a row
// Each activation row x (one token), or each block of `block` columns of it, gets its own fp32
// scale s = amax/127 and codes q = round_half_even(clamp(x/s, -127, 127)), so x ≈ s·q. Per row
// is the cheapest; per block (32 or 256 columns, the weight group) is as fine as ggml's q8_0 and
// q8_K activations, and keeps one outlier channel from flattening a whole token: with
// x = (100, 1, 1, …) one scale for the row makes every 1 a code 1 (error up to 0.5·100/127 each),
// a scale per 32 columns keeps the other blocks' 1s at code 127. -128 is never produced: the
// integer kernels may negate codes or use them as the signed operand of u8×s8 products without
// overflow. A row of zeros has s = 0 and q = 0. NaN/Inf activations throw Error naming the
// position. Rows are stored padded to a multiple of kActivationPad with zero codes, so vector
// kernels may read whole blocks past k without changing any sum.
//
// # ZeroPointActivations: unsigned b-bit codes with a zero point (b = 2..8)
// Row t holds codes a in 0 .. 2^b - 1, a step Δ_t and an integer zero point z_t, x̂ = Δ_t·(a - z_t),
// made by the dual-bound encode (quant/dual_bound.hpp) of a range [l_t, u_t]
// with l_t <= 0 <= u_t, so z_t lies in 0 .. 2^b - 1. Three ways to choose the ranges:
//   quantize_activations_static   one range for every row: static per-tensor bounds (a
//                                 calibrated dual bound, or calibration min/max)
//   quantize_activations_minmax   per row [min(min x, 0), max(max x, 0)]: dynamic per-token
//                                 asymmetric min/max (zero always representable)
//   quantize_activations_ranges   a given range per row: dynamic dual bounds (a gate's g_l·l,
//                                 g_u·u per sample, calib/dual_bound.hpp)
// One code per byte, rows padded with code 0 to kActivationPad: a padded code times any weight
// code is 0, so vector kernels may read past k; the zero-point correction uses the sums over the
// real columns only. The integer GEMM on these (gemm_zp, gemm/gemm.hpp) needs weight codes below
// 128 and folds z_t in through precomputed weight group sums.
//
// The encoders run on eight-float lanes (simd/f32x8.hpp). Each function takes the lanes'
// architecture as a defaulted template parameter (`A`, never spelled by callers): the GEMM entry
// points of runtime-dispatch TUs built for different ISAs then call different symbols.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/quant/activation_buffers.hpp"
#include "lowbit/quant/common.hpp"
#include "lowbit/quant/dual_bound.hpp"
#include "lowbit/quant/options.hpp"

namespace lowbit {

/// Quantizes rows [r0, r1) of x into `out`, which must already have x's shape (and the block
/// size wanted: one scale per row, or per out.block() columns). Throws Error on NaN/Inf. Rows are
/// independent, so callers may split them across threads.
template <class A = simd::Arch8>
inline void quantize_activation_rows(MatrixView<const float> x, Int8Activations& out, Index r0,
                                     Index r1) {
  const Index cols = x.cols();
  const Index block = out.block() > 0 ? out.block() : (cols > 0 ? cols : 1);
  for (Index r = r0; r < r1; ++r) {
    detail::check_row_finite(x, r, "activation");  // names the column of a NaN/Inf
    for (Index b = 0; b < out.scales_per_row(); ++b) {
      const Index k0 = b * block, n = cols - k0 < block ? cols - k0 : block;
      const std::span<const float> part(x.row_ptr(r) + k0, static_cast<std::size_t>(n));
      const RangeStats st = detail::range_stats<std::dynamic_extent, A>(part);
      const float amax = -st.min > st.max ? -st.min : st.max;
      const float s = amax / 127.0f;
      out.scale(r, b) = s;
      const EncodeAffine e{0.0f, s, -127.0f, 127.0f, 0, 0};
      detail::encode_n<std::int8_t, A>(e, part.data(), part.size(), out.row(r) + k0);
    }
  }
}

/// Quantizes every row of x (n × k) into `out` with one scale per row (resized when its shape
/// or block differs). Throws Error on NaN/Inf. The definition of the int8 activation codes used
/// by every integer kernel.
template <class A = simd::Arch8>
inline void quantize_activations(MatrixView<const float> x, Int8Activations& out) {
  if (out.rows() != x.rows() || out.cols() != x.cols() || out.block() != 0)
    out.reshape(x.rows(), x.cols(), 0);
  quantize_activation_rows<A>(x, out, 0, x.rows());
}

/// The same with one scale per `block` columns of each row (block 0: per row): each block's
/// codes are those of a row holding that block alone.
template <class A = simd::Arch8>
inline void quantize_activations(MatrixView<const float> x, Index block, Int8Activations& out) {
  if (out.rows() != x.rows() || out.cols() != x.cols() || out.block() != block)
    out.reshape(x.rows(), x.cols(), block);
  quantize_activation_rows<A>(x, out, 0, x.rows());
}

namespace detail {

/// Encodes n values with dual_bound_encode (bit-identical), on eight-float lanes like encode_n.
template <class Code, class A = simd::Arch8>
inline void dual_bound_encode_n(const DualBoundAffine& a, const float* x, std::size_t n,
                                Code* out) noexcept {
  if (a.inv_step == 0.0f) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<Code>(a.zero);
    return;
  }
  std::size_t n_main = 0;
#if LOWBIT_HAS_F32X8
  if constexpr (simd::kHasLanes<A>) {
    using F = simd::F32x8<A>;
    n_main = n - n % F::kLanes;
    const F l = F::splat(a.lower), u = F::splat(a.upper), s = F::splat(a.inv_step);
    const F zsh = F::splat(static_cast<float>(a.half - a.zero));
    const F lo = F::splat(static_cast<float>(-a.half)),
            hi = F::splat(static_cast<float>(a.half - 1));
    const auto half = simd::I32x8<A>::splat(a.half);
    for (std::size_t i = 0; i < n_main; i += F::kLanes) {
      F t = F::load(x + i);
      t = max_keep(t, l);  // NaN lands on l
      t = min_keep(t, u);
      t = ((s * t).rounded() - zsh).round_even();  // |s·t - zsh| <= 2^b + 1: exact rounding
      t = max_keep(t, lo);
      t = min_keep(t, hi);
      (t.to_int32() + half).store_as(out + i);
    }
  }
#endif
  for (std::size_t i = n_main; i < n; ++i) out[i] = static_cast<Code>(dual_bound_encode(a, x[i]));
}

inline void prepare_zero_point(MatrixView<const float> x, int bits, ZeroPointActivations& out) {
  if (out.rows() != x.rows() || out.cols() != x.cols() || out.bits() != bits)
    out = ZeroPointActivations(x.rows(), x.cols(), bits);
}

/// Encodes row r of x with range `range` into out (checks the row, then the range).
template <class A = simd::Arch8>
inline void encode_zero_point_row(MatrixView<const float> x, Index r, const DualBoundRange& range,
                                  ZeroPointActivations& out) {
  if (const char* why = DualBound<8>::check_range(range))
    fail("activation row ", r, ": range [", range.lower, ", ", range.upper, "]: ", why);
  const DualBoundAffine a = dual_bound_affine(range, out.bits());
  out.step(r) = a.step;
  out.zero(r) = a.zero;
  dual_bound_encode_n<std::uint8_t, A>(a, x.row_ptr(r), static_cast<std::size_t>(x.cols()),
                                       out.row(r));
}

}  // namespace detail

/// Rows [r0, r1) with one range for every row (static per-tensor bounds). Throws Error on NaN/Inf
/// activations (naming the position) and on a range that is not l <= 0 <= u, finite.
template <class A = simd::Arch8>
inline void quantize_activation_rows_static(MatrixView<const float> x, const DualBoundRange& range,
                                            ZeroPointActivations& out, Index r0, Index r1) {
  for (Index r = r0; r < r1; ++r) {
    detail::check_row_finite(x, r, "activation");
    detail::encode_zero_point_row<A>(x, r, range, out);
  }
}

/// Rows [r0, r1), each with its own [min(min x, 0), max(max x, 0)] (dynamic per-token min/max).
template <class A = simd::Arch8>
inline void quantize_activation_rows_minmax(MatrixView<const float> x, ZeroPointActivations& out,
                                            Index r0, Index r1) {
  for (Index r = r0; r < r1; ++r) {
    detail::check_row_finite(x, r, "activation");
    const RangeStats st = detail::range_stats<std::dynamic_extent, A>(
        std::span<const float>(x.row_ptr(r), static_cast<std::size_t>(x.cols())));
    detail::encode_zero_point_row<A>(x, r, DualBound<8>::fit_range(st, 1.0f), out);
  }
}

/// Rows [r0, r1), row r with ranges[r] (dynamic dual bounds).
template <class A = simd::Arch8>
inline void quantize_activation_rows_ranges(MatrixView<const float> x,
                                            std::span<const DualBoundRange> ranges,
                                            ZeroPointActivations& out, Index r0, Index r1) {
  for (Index r = r0; r < r1; ++r) {
    detail::check_row_finite(x, r, "activation");
    detail::encode_zero_point_row<A>(x, r, ranges[static_cast<std::size_t>(r)], out);
  }
}

/// Every row of x at `bits` bits with one static range (out resized when its shape differs).
template <class A = simd::Arch8>
inline void quantize_activations_static(MatrixView<const float> x, const DualBoundRange& range,
                                        int bits, ZeroPointActivations& out) {
  detail::prepare_zero_point(x, bits, out);
  quantize_activation_rows_static<A>(x, range, out, 0, x.rows());
}

/// Every row of x at `bits` bits, per-token min/max.
template <class A = simd::Arch8>
inline void quantize_activations_minmax(MatrixView<const float> x, int bits,
                                        ZeroPointActivations& out) {
  detail::prepare_zero_point(x, bits, out);
  quantize_activation_rows_minmax<A>(x, out, 0, x.rows());
}

/// Every row of x at `bits` bits, row r with ranges[r] (one range per row, else Error).
template <class A = simd::Arch8>
inline void quantize_activations_ranges(MatrixView<const float> x,
                                        std::span<const DualBoundRange> ranges, int bits,
                                        ZeroPointActivations& out) {
  if (static_cast<Index>(ranges.size()) != x.rows())
    detail::fail("quantize_activations_ranges: ", ranges.size(), " ranges for ", x.rows(), " rows");
  detail::prepare_zero_point(x, bits, out);
  quantize_activation_rows_ranges<A>(x, ranges, out, 0, x.rows());
}

}  // namespace lowbit
