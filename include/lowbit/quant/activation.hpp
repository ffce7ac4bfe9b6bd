// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/activation.hpp: dynamic per-row (per-token) symmetric int8 activations.
//
// Each activation row x (one token) gets its own fp32 scale s = amax(x)/127 and codes
// q = round_half_even(clamp(x/s, -127, 127)), so x ≈ s·q. -128 is never produced: the integer
// kernels may negate codes or use them as the signed operand of u8×s8 products without
// overflow. A row of zeros has s = 0 and q = 0. NaN/Inf activations throw Error naming the
// position. Rows are stored padded to a multiple of kActivationPad with zero codes, so vector
// kernels may read whole blocks past k without changing any sum.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

#include "lowbit/core/buffer.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/quant/common.hpp"
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
inline void quantize_activation_rows(MatrixView<const float> x, Int8Activations& out, Index r0,
                                     Index r1) {
  for (Index r = r0; r < r1; ++r) {
    detail::check_row_finite(x, r, "activation");  // names the column of a NaN/Inf
    const std::span<const float> row(x.row_ptr(r), static_cast<std::size_t>(x.cols()));
    const RangeStats st = detail::range_stats(row);
    const float amax = -st.min > st.max ? -st.min : st.max;
    const float s = amax / 127.0f;
    out.scale(r) = s;
    const EncodeAffine e{0.0f, s, -127.0f, 127.0f, 0, 0};
    detail::encode_n(e, row.data(), row.size(), out.row(r));
  }
}

/// Quantizes every row of x (n × k) into `out` (resized when its shape differs). Throws Error on
/// NaN/Inf. The definition of the int8 activation codes used by every integer kernel.
inline void quantize_activations(MatrixView<const float> x, Int8Activations& out) {
  if (out.rows() != x.rows() || out.cols() != x.cols()) out = Int8Activations(x.rows(), x.cols());
  quantize_activation_rows(x, out, 0, x.rows());
}

}  // namespace lowbit
