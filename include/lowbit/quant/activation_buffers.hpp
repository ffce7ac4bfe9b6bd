// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/activation_buffers.hpp: Int8Activations and ZeroPointActivations, the quantized
// activations the integer kernels read: the containers only. quant/activation.hpp defines their
// codes and fills them; this header lets code that only holds or passes them (gemm/context.hpp,
// dispatch/entry.hpp) parse without the vector encoders.
#pragma once

#include <cstdint>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/buffer.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"

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
