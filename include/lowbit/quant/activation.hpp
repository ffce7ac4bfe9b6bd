// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/activation.hpp: quantized activations, the integer kernels' inputs.
//
// # Int8Activations: dynamic per-row (per-token) symmetric int8
// Each activation row x (one token) gets its own fp32 scale s = amax(x)/127 and codes
// q = round_half_even(clamp(x/s, -127, 127)), so x ≈ s·q. -128 is never produced: the integer
// kernels may negate codes or use them as the signed operand of u8×s8 products without
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

#include "lowbit/core/buffer.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/quant/common.hpp"
#include "lowbit/quant/dual_bound.hpp"
#include "lowbit/quant/options.hpp"

namespace lowbit {

/// Row padding of quantized activations, in codes (one AVX-512 register of int8).
inline constexpr Index kActivationPad = 64;

/// n rows of k int8 codes (row stride round_up(k, kActivationPad), zero padded) + a scale each.
class Int8Activations {
 public:
  Int8Activations() = default;
  Int8Activations(Index rows, Index cols)
      : rows_(rows),
        cols_(cols),
        stride_(round_up<Index>(cols, kActivationPad)),
        codes_(detail::checked_mul(rows, round_up<Index>(cols, kActivationPad), "Int8Activations")),
        scales_(rows) {}

  Index rows() const noexcept { return rows_; }
  Index cols() const noexcept { return cols_; }
  Index stride() const noexcept { return stride_; }
  const std::int8_t* row(Index r) const noexcept { return codes_.data() + r * stride_; }
  std::int8_t* row(Index r) noexcept { return codes_.data() + r * stride_; }
  float scale(Index r) const noexcept { return scales_[r]; }
  float& scale(Index r) noexcept { return scales_[r]; }

 private:
  Index rows_ = 0;
  Index cols_ = 0;
  Index stride_ = 0;
  AlignedBuffer<std::int8_t> codes_;
  AlignedBuffer<float> scales_;
};

/// Quantizes rows [r0, r1) of x into `out`, which must already have x's shape. Throws Error on
/// NaN/Inf. Rows are independent, so callers may split them across threads.
template <class A = simd::Arch8>
inline void quantize_activation_rows(MatrixView<const float> x, Int8Activations& out, Index r0,
                                     Index r1) {
  for (Index r = r0; r < r1; ++r) {
    detail::check_row_finite(x, r, "activation");  // names the column of a NaN/Inf
    const std::span<const float> row(x.row_ptr(r), static_cast<std::size_t>(x.cols()));
    const RangeStats st = detail::range_stats<std::dynamic_extent, A>(row);
    const float amax = -st.min > st.max ? -st.min : st.max;
    const float s = amax / 127.0f;
    out.scale(r) = s;
    const EncodeAffine e{0.0f, s, -127.0f, 127.0f, 0, 0};
    detail::encode_n<std::int8_t, A>(e, row.data(), row.size(), out.row(r));
  }
}

/// Quantizes every row of x (n × k) into `out` (resized when its shape differs). Throws Error on
/// NaN/Inf. The definition of the int8 activation codes used by every integer kernel.
template <class A = simd::Arch8>
inline void quantize_activations(MatrixView<const float> x, Int8Activations& out) {
  if (out.rows() != x.rows() || out.cols() != x.cols()) out = Int8Activations(x.rows(), x.cols());
  quantize_activation_rows<A>(x, out, 0, x.rows());
}

/// n rows of k unsigned codes of `bits` bits (row stride round_up(k, kActivationPad), padded
/// with code 0), a step and a zero point per row: x̂ = step(t)·(a - zero(t)).
class ZeroPointActivations {
 public:
  ZeroPointActivations() = default;
  ZeroPointActivations(Index rows, Index cols, int bits)
      : rows_(rows),
        cols_(cols),
        stride_(round_up<Index>(cols, kActivationPad)),
        bits_(bits),
        codes_(detail::checked_mul(rows, round_up<Index>(cols, kActivationPad),
                                   "ZeroPointActivations")),
        steps_(rows),
        zeros_(rows) {
    if (bits < 2 || bits > 8) detail::fail("ZeroPointActivations: ", bits, " bits, expected 2..8");
  }

  Index rows() const noexcept { return rows_; }
  Index cols() const noexcept { return cols_; }
  Index stride() const noexcept { return stride_; }
  int bits() const noexcept { return bits_; }
  const std::uint8_t* row(Index r) const noexcept { return codes_.data() + r * stride_; }
  std::uint8_t* row(Index r) noexcept { return codes_.data() + r * stride_; }
  float step(Index r) const noexcept { return steps_[r]; }
  float& step(Index r) noexcept { return steps_[r]; }
  std::int32_t zero(Index r) const noexcept { return zeros_[r]; }
  std::int32_t& zero(Index r) noexcept { return zeros_[r]; }
  /// x̂(r, k), the dequantized value.
  float value(Index r, Index k) const noexcept {
    return steps_[r] * static_cast<float>(static_cast<std::int32_t>(row(r)[k]) - zeros_[r]);
  }

 private:
  Index rows_ = 0;
  Index cols_ = 0;
  Index stride_ = 0;
  int bits_ = 8;
  AlignedBuffer<std::uint8_t> codes_;
  AlignedBuffer<float> steps_;
  AlignedBuffer<std::int32_t> zeros_;
};

namespace detail {

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
