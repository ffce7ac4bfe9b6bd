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
//
// # Trit5Tiles<NR, KB> (the kernel layout of the same 1.6-bit code; never persisted)
// The lane-tiled geometry of Interleaved (pack/interleaved.hpp: NR-row tiles, KB-deep blocks,
// step j's lane vector byte 4r + i = code (r, 4j + i)), with five steps per chunk of NR·4 bytes:
// byte b of chunk s holds the codes of byte b of steps 5s .. 5s + 4 as the digits d0 .. d4 (step
// 5s + t = digit t, most significant first) of one Base3x5 fixed-point byte. A kernel loads one
// chunk and gets five steps' lane vectors with byte arithmetic: x_t = q·3^t mod 256 (x_{t+1} =
// 3·x_t, two byte adds) and d_t = (3·x_t) >> 8 = [x_t >= 86] + [x_t >= 171]. KB must be a
// multiple of 20 (whole chunks); block bytes NR·KB/5, exactly 1.6 bits per code.
// Example: NR = 4, KB = 20: one chunk of 16 bytes; byte 4·2 + 3 = 11 holds the codes of row 2,
// columns 3, 7, 11, 15, 19 as (c3·81 + c7·27 + c11·9 + c15·3 + c19) in fixed point.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/pack/interleaved.hpp"
#include "lowbit/pack/step_codec.hpp"

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
  /// Fixed-point byte q with digit n replaced by code (0..2; larger codes are stored as 2).
  static constexpr std::uint32_t with_digit(std::uint32_t q, int n, std::uint32_t code) noexcept {
    const std::uint32_t v = value_of(q), p = kPow3[4 - n];
    return byte_of(v - ((v / p) % 3u) * p + (code > 2u ? 2u : code) * p);
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
    b = std::byte(
        static_cast<std::uint8_t>(with_digit(std::to_integer<std::uint32_t>(b), digit, code)));
  }
};

template <int NR, int KB>
struct Trit5Tiles : detail::LaneTileGeometry<NR, KB> {
  static_assert(NR >= 1 && NR <= 64, "Trit5Tiles<NR, KB>: NR must be in 1..64 (kernels: 4, 8, 16)");
  static_assert(KB >= 20 && KB <= 1280 && KB % 20 == 0,
                "Trit5Tiles<NR, KB>: KB must be a multiple of 20 (whole chunks of 5 steps)");
  using Geometry = detail::LaneTileGeometry<NR, KB>;
  using Geometry::blocks;
  using Geometry::kLaneBytes;
  using Geometry::kSteps;
  using Geometry::tiles;
  static constexpr int kStepsPerChunk = 5;
  static constexpr double kCodeBitsPerWeight = 1.6;
  static constexpr std::string_view name() { return "trit5_tiles"; }  // never persisted
  static std::string type_name() {
    return "trit5_tiles_" + std::to_string(NR) + "x" + std::to_string(KB);
  }
  static constexpr Index block_bytes(int /*bits*/) noexcept { return NR * KB / 5; }

  template <QuantScheme S>
  requires(S::kMinCode == 0 && S::kMaxCode == 2) static Index packed_bytes(Index rows, Index cols) {
    const Index per_tile =
        detail::checked_mul(blocks(cols), block_bytes(2), "Trit5Tiles::packed_bytes");
    return detail::checked_mul(tiles(rows), per_tile, "Trit5Tiles::packed_bytes");
  }
  /// Byte holding (r, k) and its digit (0 = most significant).
  static constexpr void locate(Index cols, Index r, Index k, Index& byte, int& digit) noexcept {
    const Index kk = k % KB, step = kk / 4;
    byte = Geometry::block_of(cols, r, k) * block_bytes(2) + (step / 5) * kLaneBytes +
           (r % NR) * 4 + kk % 4;
    digit = static_cast<int>(step % 5);
  }
  template <QuantScheme S>
  requires(S::kMinCode == 0 && S::kMaxCode == 2) static std::uint32_t
      load_code(std::span<const std::byte> in, Index /*rows*/, Index cols, Index r,
                Index k) noexcept {
    Index byte = 0;
    int digit = 0;
    locate(cols, r, k, byte, digit);
    return Base3x5::digit_of(std::to_integer<std::uint32_t>(in[static_cast<std::size_t>(byte)]),
                             digit);
  }
  template <QuantScheme S>
  requires(S::kMinCode == 0 &&
           S::kMaxCode == 2) static void store_code(std::span<std::byte> out, Index /*rows*/,
                                                    Index cols, Index r, Index k,
                                                    std::uint32_t code) noexcept {
    Index byte = 0;
    int digit = 0;
    locate(cols, r, k, byte, digit);
    std::byte& b = out[static_cast<std::size_t>(byte)];
    b = std::byte(static_cast<std::uint8_t>(
        Base3x5::with_digit(std::to_integer<std::uint32_t>(b), digit, code)));
  }

  /// Writes one (tile, block) from codes in lane order (lanes[j·NR·4 + 4r + i] = code (r, 4j+i),
  /// each 0..2; larger ones are stored as 2, which no 3-level scheme produces).
  static void pack_block(int /*bits*/, const std::uint8_t* lanes, std::byte* out) noexcept {
    for (Index s = 0; s < kSteps / 5; ++s)
      for (Index b = 0; b < kLaneBytes; ++b) {
        std::uint32_t v = 0;
        for (int t = 0; t < 5; ++t) {
          const std::uint32_t c = lanes[(s * 5 + t) * kLaneBytes + b];
          v = v * 3u + (c > 2u ? 2u : c);
        }
        out[s * kLaneBytes + b] = std::byte(static_cast<std::uint8_t>(Base3x5::byte_of(v)));
      }
  }
  /// The inverse of pack_block: the scalar unpack every SIMD decoder must match.
  static void unpack_block(int /*bits*/, const std::byte* in, std::uint8_t* lanes) noexcept {
    for (Index s = 0; s < kSteps / 5; ++s)
      for (Index b = 0; b < kLaneBytes; ++b) {
        const std::uint32_t q = std::to_integer<std::uint32_t>(in[s * kLaneBytes + b]);
        for (int t = 0; t < 5; ++t)
          lanes[(s * 5 + t) * kLaneBytes + b] = static_cast<std::uint8_t>(Base3x5::digit_of(q, t));
      }
  }
};

/// Trit5Tiles's step codec (pack/step_codec.hpp): x_t = q·3^t mod 256 by byte adds, digit = [x >=
/// 86] + [x >= 171]
/// (= (3·x) >> 8, Base3x5::digit_of) by saturating subtracts and minimums.
template <int NR, int KB>
struct StepCodec<Trit5Tiles<NR, KB>> {
  static constexpr int kUnit = 5;
  template <class V>
  struct State {
    typename V::I x;
  };
  template <class V, int Bits, int U>
  static LOWBIT_INLINE State<V> begin(const std::byte* block, int v) {
    return {V::load(block + U * Trit5Tiles<NR, KB>::kLaneBytes + v * V::kLanes * 4)};
  }
  template <class V, int Bits, int U, int T>
  static LOWBIT_INLINE typename V::I step(State<V>& st) {
    const typename V::I one = V::set1_8(1);
    const typename V::I d = V::add8(V::min_u8(V::subs_u8(st.x, V::set1_8(85)), one),
                                    V::min_u8(V::subs_u8(st.x, V::set1_8(170)), one));
    if constexpr (T < 4) st.x = V::add8(st.x, V::add8(st.x, st.x));
    return d;
  }
};

}  // namespace lowbit
