// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/base3.hpp: Base3x5, five ternary codes per byte (1.6 bits per weight).
//
// # Base3x5 (a kernel layout for 3-level schemes: Ternary, codes 0..2)
// Each row is cut into chunks of 160 codes (32 bytes) plus a last, shorter chunk of
// rem = cols mod 160 codes in B = ceil(rem/5) bytes (B = 32 for a full chunk). Byte m of a chunk
// of B bytes holds the five codes m, m + B, m + 2B, m + 3B, m + 4B of the chunk (those that
// exist; missing ones count as 0) as the base-3 number v = d0·81 + d1·27 + d2·9 + d3·3 + d4
// (d_n = the code m + n·B) stored in fixed point, q = ceil(v·256/243) (llama.cpp's TQ1_0
// encoding). Digit n then decodes as ((q·3^n mod 256)·3) >> 8 with byte arithmetic only: a SIMD
// kernel multiplies 32 bytes by 3^n (mod 256) and takes the high part of ×3 to get 32
// consecutive codes; and v = (q·243) >> 8 recovers the number exactly (every v in 0..242).
// Row bytes: 32·floor(cols/160) + ceil((cols mod 160)/5) = ceil(cols/5) bytes when cols mod 160
// is a multiple of 5, never more than one byte above it. Rows start on byte boundaries.
//
// Example: one row of 7 codes c0..c6: one chunk, B = 2; byte 0 holds (c0, c2, c4, c6, 0) and
// byte 1 holds (c1, c3, c5, 0, 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/types.hpp"

namespace lowbit {

struct Base3x5 {
  static constexpr Index kTileRows = 1;
  static constexpr Index kTileDepth = 1;
  static constexpr Index kChunk = 160;  // codes per full chunk (32 bytes)
  static constexpr double kCodeBitsPerWeight = 1.6;
  static constexpr std::string_view name() { return "base3x5"; }

  static constexpr Index row_bytes(Index cols) noexcept {
    return (cols / kChunk) * 32 + ceil_div<Index>(cols % kChunk, 5);
  }
  template <QuantScheme S>
  requires(S::kMinCode == 0 && S::kMaxCode == 2) static Index packed_bytes(Index rows, Index cols) {
    return detail::checked_mul(rows, row_bytes(cols), "Base3x5::packed_bytes");
  }

  /// Byte offset within the row and digit n (0 = most significant) of code k of a row.
  static constexpr void locate(Index cols, Index k, Index& byte, int& digit) noexcept {
    const Index chunk = k / kChunk, j = k % kChunk;
    const Index b = chunk < cols / kChunk ? 32 : ceil_div<Index>(cols % kChunk, 5);
    byte = chunk * 32 + j % b;
    digit = static_cast<int>(j / b);
  }
  static constexpr std::uint32_t kPow3[5] = {1, 3, 9, 27, 81};
  /// Digit n (0..4, most significant first) of a fixed-point byte q.
  static constexpr std::uint32_t digit_of(std::uint32_t q, int n) noexcept {
    return (((q * kPow3[n]) & 255u) * 3u) >> 8;
  }
  static constexpr std::uint32_t value_of(std::uint32_t q) noexcept { return (q * 243u) >> 8; }
  static constexpr std::uint32_t byte_of(std::uint32_t v) noexcept {
    return (v * 256u + 242u) / 243u;
  }

  /// The code of weight (r, k): the scalar accessor that defines this layout.
  template <QuantScheme S>
  requires(S::kMinCode == 0 && S::kMaxCode == 2) static std::uint32_t
      load_code(std::span<const std::byte> in, Index /*rows*/, Index cols, Index r,
                Index k) noexcept {
    Index byte = 0;
    int digit = 0;
    locate(cols, k, byte, digit);
    return digit_of(
        std::to_integer<std::uint32_t>(in[static_cast<std::size_t>(r * row_bytes(cols) + byte)]),
        digit);
  }
  /// Overwrites code k of row r (code must be 0..2; the byte's other digits are kept).
  template <QuantScheme S>
  requires(S::kMinCode == 0 &&
           S::kMaxCode == 2) static void store_code(std::span<std::byte> out, Index /*rows*/,
                                                    Index cols, Index r, Index k,
                                                    std::uint32_t code) noexcept {
    Index byte = 0;
    int digit = 0;
    locate(cols, k, byte, digit);
    std::byte& b = out[static_cast<std::size_t>(r * row_bytes(cols) + byte)];
    const std::uint32_t v = value_of(std::to_integer<std::uint32_t>(b));
    const std::uint32_t p = kPow3[4 - digit];
    const std::uint32_t old = (v / p) % 3u;
    const std::uint32_t nv = v - old * p + (code > 2u ? 2u : code) * p;
    b = std::byte(static_cast<std::uint8_t>(byte_of(nv)));
  }
};

}  // namespace lowbit
