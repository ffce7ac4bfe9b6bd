// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/activation_buffers.hpp: Int8Activations and ZeroPointActivations, the quantized
// activations the integer kernels read: the containers only. quant/activation.hpp defines their
// codes and fills them; this header lets code that only holds or passes them (gemm/context.hpp,
// dispatch/entry.hpp) parse without the vector encoders.
#pragma once

#include <cstdint>
#include <cstring>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/buffer.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"

namespace lowbit {

/// Row padding of quantized activations, in codes (one AVX-512 register of int8).
inline constexpr Index kActivationPad = 64;

/// n rows of k int8 codes (row stride round_up(k, kActivationPad), zero padded) and their
/// scales: one per row (block() == 0, per token), or one per block of block() columns of each
/// row (the last block of a row may be shorter), as ggml's q8_0 (32) and q8_K (256) blocks.
class Int8Activations {
 public:
  Int8Activations() = default;
  /// rows × cols codes with one scale per row (block = 0) or per `block` columns of each row.
  /// Throws Error for a negative block.
  Int8Activations(Index rows, Index cols, Index block = 0) { reshape(rows, cols, block); }

  /// Gives this object the shape of Int8Activations(rows, cols, block), keeping its buffers when
  /// they are large enough (a decode loop whose products alternate between widths and group
  /// sizes then allocates nothing): every row's padding is zeroed, its codes and scales are left
  /// for the quantizer to write. Throws Error for a negative block.
  void reshape(Index rows, Index cols, Index block) {
    if (block < 0) detail::fail("Int8Activations: block of ", block, " columns");
    const Index stride = round_up<Index>(cols, kActivationPad);
    const Index per_row = block > 0 && cols > 0 ? ceil_div<Index>(cols, block) : 1;
    const Index codes = detail::checked_mul(rows, stride, "Int8Activations");
    const Index scales = detail::checked_mul(rows, per_row, "Int8Activations scales");
    if (codes_.size() < codes) codes_ = AlignedBuffer<std::int8_t>(codes);
    if (scales_.size() < scales) scales_ = AlignedBuffer<float>(scales);
    rows_ = rows, cols_ = cols, stride_ = stride, block_ = block, per_row_ = per_row;
    if (stride > cols)  // (an empty buffer has no pointer to pass memset)
      for (Index r = 0; r < rows; ++r)
        std::memset(row(r) + cols, 0, static_cast<std::size_t>(stride - cols));
  }

  Index rows() const noexcept { return rows_; }
  Index cols() const noexcept { return cols_; }
  Index stride() const noexcept { return stride_; }
  /// Columns per scale; 0 = one scale per row.
  Index block() const noexcept { return block_; }
  /// Scales per row: 1 per row, or ceil(cols / block).
  Index scales_per_row() const noexcept { return per_row_; }
  const std::int8_t* row(Index r) const noexcept { return codes_.data() + r * stride_; }
  std::int8_t* row(Index r) noexcept { return codes_.data() + r * stride_; }
  /// The scale of row r (per-row activations; with blocks, the row's first block's).
  float scale(Index r) const noexcept { return scales_[r * per_row_]; }
  float& scale(Index r) noexcept { return scales_[r * per_row_]; }
  /// The scale of block b of row r.
  float scale(Index r, Index b) const noexcept { return scales_[r * per_row_ + b]; }
  float& scale(Index r, Index b) noexcept { return scales_[r * per_row_ + b]; }
  /// Row r's scales_per_row() scales.
  const float* scales(Index r) const noexcept { return scales_.data() + r * per_row_; }

 private:
  Index rows_ = 0;
  Index cols_ = 0;
  Index stride_ = 0;
  Index block_ = 0;
  Index per_row_ = 1;
  AlignedBuffer<std::int8_t> codes_;
  AlignedBuffer<float> scales_;
};

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

}  // namespace lowbit
