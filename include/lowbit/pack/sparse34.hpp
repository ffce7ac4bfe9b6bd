// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/sparse34.hpp: 3:4 sparse ternary codes, four weights in five bits (1.25 bpw).
//
// # The 3:4 pattern (Sherry)
// Every aligned group of 4 ternary codes (0 = −1, 1 = 0, 2 = +1; Ternary's codes) holds exactly
// one zero (code 1) and three non-zeros, so a group is one of 4·2³ = 32 patterns: a 5-bit index
//     idx = p | s << 2,  p = the position of the zero (0..3),
//                        s = the signs of the three non-zeros in increasing position order
//                            (bit j = 1: the j-th non-zero is +1, code 2; 0: −1, code 0).
// Example: codes (1, 0, 2, 2) → p = 0, signs (−, +, +) → s = 0b110 → idx = 24;
//          codes (0, 1, 0, 2) → p = 1, signs (−, −, +) → s = 0b100 → idx = 17.
// A group that is not a 3:4 pattern cannot be stored: writers (pack_row, pack_block, store_code)
// throw Error naming the row and group. Columns must be a multiple of 4 (packed_bytes throws).
//
// # Sparse34 (a row layout)
// Each row is a little-endian bitstream of 5-bit indices, group g at stream bits [5g, 5g + 5)
// (stream bit j = bit j mod 8 of byte j/8), rows start on byte boundaries, unused high bits zero:
// row_bytes = ceil(5·cols/32). The two example groups above as one row: 24 + 17·32 = 568 →
// bytes 0x38 0x02.
//
// # Sparse34Tiles<NR, KB> (the kernel layout; never persisted)
// The lane-tiled geometry of Interleaved (pack/interleaved.hpp): step j of a block is the 32-bit
// lane vector whose lane r holds the group (r, 4j .. 4j + 3). Its 5-bit index is split into a
// low nibble and a high bit. Steps come in units of 32 (KB must be a multiple of 128): a unit is
// five chunks of NR·4 bytes; chunk q < 4 holds, in the little-endian 32-bit lane r, the low
// nibbles of steps 8q .. 8q + 7 of row r (step 8q + t at bits 4t .. 4t + 3); chunk 4 holds the
// high bits of all 32 steps (step t at bit t). A kernel turns a lane's index into its four codes
// with one 32-entry table lookup (vpermi2d on AVX-512). Block bytes NR·KB·5/32: 1.25 bits per code.
// Padding columns and rows hold the pattern (1, 0, 0, 0) (index 0); activations are zero there.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/pack/interleaved.hpp"
#include "lowbit/pack/step_codec.hpp"

namespace lowbit {

namespace detail {

/// The index of a group of 4 codes, or -1 when it is not a 3:4 pattern.
constexpr int sparse34_index(const std::uint8_t* c) noexcept {
  int p = -1, s = 0, j = 0;
  for (int i = 0; i < 4; ++i) {
    if (c[i] == 1) {
      if (p >= 0) return -1;
      p = i;
    } else if (c[i] == 0 || c[i] == 2) {
      if (j == 3) return -1;
      s |= (c[i] == 2 ? 1 : 0) << j++;
    } else {
      return -1;
    }
  }
  return p < 0 ? -1 : p | s << 2;
}

/// The four codes of index idx (0..31) as one little-endian 32-bit lane (code i in byte i).
constexpr std::uint32_t sparse34_lane(int idx) noexcept {
  const int p = idx & 3, s = idx >> 2;
  std::uint32_t lane = 0;
  for (int i = 0, j = 0; i < 4; ++i) {
    const std::uint32_t c = i == p ? 1u : (((s >> j++) & 1) != 0 ? 2u : 0u);
    lane |= c << (8 * i);
  }
  return lane;
}

inline constexpr std::array<std::uint32_t, 32> kSparse34Lanes = [] {
  std::array<std::uint32_t, 32> t{};
  for (int i = 0; i < 32; ++i) t[static_cast<std::size_t>(i)] = sparse34_lane(i);
  return t;
}();

inline int sparse34_checked_index(const std::uint8_t* c, const char* who, Index r, Index group) {
  const int idx = sparse34_index(c);
  if (idx < 0)
    fail(who, ": row ", r, ", group ", group, " holds codes (", int{c[0]}, ", ", int{c[1]}, ", ",
         int{c[2]}, ", ", int{c[3]},
         "), not a 3:4 pattern (exactly one zero, code 1, and three "
         "codes 0 or 2)");
  return idx;
}

/// The index of group idx with code i replaced by `code`; throws Error if that is not 3:4.
inline int sparse34_replace(int idx, Index i, std::uint32_t code, const char* who, Index r,
                            Index group) {
  const std::uint32_t lane = kSparse34Lanes[static_cast<std::size_t>(idx)];
  std::uint8_t c[4];
  std::memcpy(c, &lane, 4);
  c[i] = static_cast<std::uint8_t>(code > 255u ? 255u : code);
  return sparse34_checked_index(c, who, r, group);
}

inline void sparse34_check_cols(Index cols, const char* who) {
  if (cols % 4 != 0)
    fail(who, ": ", cols, " columns is not a multiple of 4 (3:4 groups of four weights)");
}

}  // namespace detail

struct Sparse34 {
  static constexpr Index kTileRows = 1;
  static constexpr Index kTileDepth = 1;
  static constexpr double kCodeBitsPerWeight = 1.25;
  static constexpr std::string_view name() { return "sparse34"; }

  static constexpr Index row_bytes(Index cols) noexcept { return ceil_div<Index>(cols / 4 * 5, 8); }
  template <QuantScheme S>
  requires(S::kMinCode == 0 && S::kMaxCode == 2) static Index packed_bytes(Index rows, Index cols) {
    detail::sparse34_check_cols(cols, "Sparse34");
    return detail::checked_mul(rows, row_bytes(cols), "Sparse34::packed_bytes");
  }

  /// The 5-bit index of group g of a row.
  static int field(const std::byte* row, Index g) noexcept {
    const Index bit = g * 5;
    std::uint32_t v = std::to_integer<std::uint32_t>(row[bit / 8]);
    if (bit % 8 > 3) v |= std::to_integer<std::uint32_t>(row[bit / 8 + 1]) << 8;
    return static_cast<int>((v >> (bit % 8)) & 31u);
  }
  static void set_field(std::byte* row, Index g, int idx) noexcept {
    const Index bit = g * 5;
    const int sh = static_cast<int>(bit % 8);
    const std::uint32_t mask = 31u << sh, v = static_cast<std::uint32_t>(idx) << sh;
    row[bit / 8] = std::byte(static_cast<std::uint8_t>(
        (std::to_integer<std::uint32_t>(row[bit / 8]) & ~mask) | (v & 0xffu)));
    if (sh > 3)
      row[bit / 8 + 1] = std::byte(static_cast<std::uint8_t>(
          (std::to_integer<std::uint32_t>(row[bit / 8 + 1]) & ~(mask >> 8)) | (v >> 8)));
  }

  /// The code of weight (r, k): the scalar accessor that defines this layout.
  template <QuantScheme S>
  requires(S::kMinCode == 0 && S::kMaxCode == 2) static std::uint32_t
      load_code(std::span<const std::byte> in, Index /*rows*/, Index cols, Index r,
                Index k) noexcept {
    const int idx = field(in.data() + r * row_bytes(cols), k / 4);
    return (detail::kSparse34Lanes[static_cast<std::size_t>(idx)] >> (8 * (k % 4))) & 0xffu;
  }
  /// Sets code k of row r; throws Error when the group would stop being a 3:4 pattern (write
  /// whole rows with pack_row, or build through repack, to change a group's zero position).
  template <QuantScheme S>
  requires(S::kMinCode == 0 && S::kMaxCode == 2) static void store_code(std::span<std::byte> out,
                                                                        Index /*rows*/, Index cols,
                                                                        Index r, Index k,
                                                                        std::uint32_t code) {
    std::byte* row = out.data() + r * row_bytes(cols);
    set_field(row, k / 4,
              detail::sparse34_replace(field(row, k / 4), k % 4, code, "Sparse34", r, k / 4));
  }

  /// Packs one row of cols codes (a multiple of 4); throws Error on a group that is not 3:4.
  static void pack_row(const std::uint8_t* codes, Index cols, std::byte* out, Index r = 0) {
    detail::sparse34_check_cols(cols, "Sparse34");
    const Index bytes = row_bytes(cols);
    for (Index b = 0; b < bytes; ++b) out[b] = std::byte{0};
    for (Index g = 0; g < cols / 4; ++g)
      set_field(out, g, detail::sparse34_checked_index(codes + 4 * g, "Sparse34", r, g));
  }
  static void unpack_row(const std::byte* in, Index cols, std::uint8_t* codes) noexcept {
    for (Index g = 0; g < cols / 4; ++g) {
      const std::uint32_t lane = detail::kSparse34Lanes[static_cast<std::size_t>(field(in, g))];
      std::memcpy(codes + 4 * g, &lane, 4);
    }
  }
};

template <int NR, int KB>
struct Sparse34Tiles : detail::LaneTileGeometry<NR, KB> {
  static_assert(NR >= 1 && NR <= 64,
                "Sparse34Tiles<NR, KB>: NR must be in 1..64 (kernels: 4, 8, 16)");
  static_assert(KB >= 128 && KB <= 1024 && KB % 128 == 0,
                "Sparse34Tiles<NR, KB>: KB must be a multiple of 128 (units of 32 steps)");
  using Geometry = detail::LaneTileGeometry<NR, KB>;
  using Geometry::blocks;
  using Geometry::kLaneBytes;
  using Geometry::kSteps;
  using Geometry::tiles;
  static constexpr double kCodeBitsPerWeight = 1.25;
  static constexpr Index kUnitBytes = 5 * kLaneBytes;                    // 32 steps
  static constexpr std::string_view name() { return "sparse34_tiles"; }  // never persisted
  static std::string type_name() {
    return "sparse34_tiles_" + std::to_string(NR) + "x" + std::to_string(KB);
  }
  static constexpr Index block_bytes(int /*bits*/) noexcept { return NR * KB * 5 / 32; }
  /// The code that padding columns (and every column of padding rows) hold: pattern (1, 0, 0, 0).
  static constexpr std::uint8_t pad_code(Index k) noexcept { return k % 4 == 0 ? 1 : 0; }

  template <QuantScheme S>
  requires(S::kMinCode == 0 && S::kMaxCode == 2) static Index packed_bytes(Index rows, Index cols) {
    detail::sparse34_check_cols(cols, "Sparse34Tiles");
    const Index per_tile =
        detail::checked_mul(blocks(cols), block_bytes(2), "Sparse34Tiles::packed_bytes");
    return detail::checked_mul(tiles(rows), per_tile, "Sparse34Tiles::packed_bytes");
  }

  /// Index of step `step` of lane `lane` in a block.
  static int index_at(const std::byte* block, Index step, Index lane) noexcept {
    const Index unit = step / 32, st = step % 32;
    const std::byte* u = block + unit * kUnitBytes + lane * 4;
    std::uint32_t nib = 0, hi = 0;
    std::memcpy(&nib, u + (st / 8) * kLaneBytes, 4);  // little-endian host (config.hpp)
    std::memcpy(&hi, u + 4 * kLaneBytes, 4);
    return static_cast<int>(((nib >> (4 * (st % 8))) & 15u) | (((hi >> st) & 1u) << 4));
  }
  static void set_index(std::byte* block, Index step, Index lane, int idx) noexcept {
    const Index unit = step / 32, st = step % 32;
    std::byte* u = block + unit * kUnitBytes + lane * 4;
    std::uint32_t nib = 0, hi = 0;
    std::memcpy(&nib, u + (st / 8) * kLaneBytes, 4);
    std::memcpy(&hi, u + 4 * kLaneBytes, 4);
    const int sh = static_cast<int>(4 * (st % 8));
    nib = (nib & ~(15u << sh)) | ((static_cast<std::uint32_t>(idx) & 15u) << sh);
    hi = (hi & ~(1u << st)) | ((static_cast<std::uint32_t>(idx) >> 4 & 1u) << st);
    std::memcpy(u + (st / 8) * kLaneBytes, &nib, 4);
    std::memcpy(u + 4 * kLaneBytes, &hi, 4);
  }

  template <QuantScheme S>
  requires(S::kMinCode == 0 && S::kMaxCode == 2) static std::uint32_t
      load_code(std::span<const std::byte> in, Index /*rows*/, Index cols, Index r,
                Index k) noexcept {
    const std::byte* block = in.data() + Geometry::block_of(cols, r, k) * block_bytes(2);
    const int idx = index_at(block, (k % KB) / 4, r % NR);
    return (detail::kSparse34Lanes[static_cast<std::size_t>(idx)] >> (8 * (k % 4))) & 0xffu;
  }
  /// As Sparse34::store_code: throws Error when the group would stop being a 3:4 pattern.
  template <QuantScheme S>
  requires(S::kMinCode == 0 && S::kMaxCode == 2) static void store_code(std::span<std::byte> out,
                                                                        Index /*rows*/, Index cols,
                                                                        Index r, Index k,
                                                                        std::uint32_t code) {
    std::byte* block = out.data() + Geometry::block_of(cols, r, k) * block_bytes(2);
    const Index step = (k % KB) / 4;
    set_index(block, step, r % NR,
              detail::sparse34_replace(index_at(block, step, r % NR), k % 4, code, "Sparse34Tiles",
                                       r, k / 4));
  }

  /// Writes one (tile, block) from codes in lane order; throws Error on a non-3:4 group.
  static void pack_block(int /*bits*/, const std::uint8_t* lanes, std::byte* out) {
    for (Index i = 0; i < block_bytes(2); ++i) out[i] = std::byte{0};
    for (Index j = 0; j < kSteps; ++j)
      for (Index r = 0; r < NR; ++r)
        set_index(
            out, j, r,
            detail::sparse34_checked_index(lanes + j * kLaneBytes + 4 * r, "Sparse34Tiles", r, j));
  }
  /// The inverse of pack_block: the scalar unpack every SIMD decoder must match.
  static void unpack_block(int /*bits*/, const std::byte* in, std::uint8_t* lanes) noexcept {
    for (Index j = 0; j < kSteps; ++j)
      for (Index r = 0; r < NR; ++r) {
        const std::uint32_t lane =
            detail::kSparse34Lanes[static_cast<std::size_t>(index_at(in, j, r))];
        std::memcpy(lanes + j * kLaneBytes + 4 * r, &lane, 4);
      }
  }
};

/// Sparse34Tiles's step codec (pack/step_codec.hpp): unit U = nibble chunk U mod 4 of 32-step unit
/// U / 4; a step's 5-bit index (nibble | high bit << 4) selects its lane's four codes from a
/// 32-entry table.
template <int NR, int KB>
struct StepCodec<Sparse34Tiles<NR, KB>> {
  static constexpr int kUnit = 8;
  template <class V>
  struct State {
    typename V::I nib, hi;
  };
  template <class V, int Bits, int U>
  static LOWBIT_INLINE State<V> begin(const std::byte* block, int v) {
    using L = Sparse34Tiles<NR, KB>;
    const std::byte* unit = block + (U / 4) * L::kUnitBytes + v * V::kLanes * 4;
    return {V::load(unit + (U % 4) * L::kLaneBytes), V::load(unit + 4 * L::kLaneBytes)};
  }
  template <class V, int Bits, int U, int T>
  static LOWBIT_INLINE typename V::I step(State<V>& st) {
    constexpr int bit = (U % 4) * 8 + T;  // the step's high bit within the lane
    typename V::I h;
    if constexpr (bit >= 4) {
      h = V::template srli32<bit - 4>(st.hi);
    } else {
      h = V::template slli32<4 - bit>(st.hi);
    }
    // Bits 0-3 from the nibble, bit 4 from the high bit; lut32 ignores bits 5 and up.
    const typename V::I idx = V::bitselect(V::set1_32(15), V::template srli32<4 * T>(st.nib), h);
    return V::lut32(idx, detail::kSparse34Lanes.data());
  }
};

}  // namespace lowbit
