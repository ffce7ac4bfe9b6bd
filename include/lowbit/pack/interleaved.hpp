// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/interleaved.hpp: Interleaved<NR, KB>, the kernel layout: NR-row tiles, KB-deep
// blocks, codes split into bit planes and interleaved so one vector load feeds a dot-4 step.
//
// # Why this layout
// The int8 kernels multiply 4 consecutive codes of one weight row by 4 activations in one 32-bit
// lane (vpmaddubsw + vpmaddwd, or vpdpbusd). A vector of NR such lanes serves NR output rows at
// once, so the per-group float work (scale, zero point, accumulation) is also done NR rows per
// instruction. Interleaved stores codes exactly in that lane order, and packs B-bit codes as bit
// planes of widths 8, 4, 2 and 1 (the set bits of B: 3 = 2+1, 5 = 4+1, 6 = 4+2, 7 = 4+2+1), so
// every plane is unpacked with one 16-bit shift and one mask per step and no cross-lane
// shuffles. It is never persisted (io/ writes Plain); `repack` builds it in memory.
//
// # Geometry (all units are codes unless stated)
// - Rows are cut into tiles of NR rows (the last tile is padded with zero rows), columns into
//   blocks of KB (the last block is padded with zero codes; activations are zero there too).
// - A (tile, block) holds KB/4 steps. Step j of a block covers columns 4j .. 4j+3 of it; its
//   "lane vector" is NR·4 bytes: byte 4r + i = code (row r, column 4j + i).
// - A plane of width w holds the w-bit slice of every code that starts at bit b & (w-1) (the
//   sum of the narrower planes' widths). It stores 8/w steps per chunk of NR·4 bytes: step
//   j = s·(8/w) + t of chunk s sits at bits [t·w, t·w + w) of every byte.
// - Block bytes: planes in decreasing width, NR·KB·w/8 bytes each; NR·KB·B/8 in total.
//   Blocks follow each other in k order inside a tile; tiles follow each other.
//
// # Example: NR = 2, KB = 32 (the smallest legal KB), B = 3 (a 2-bit plane, then a 1-bit one)
// Code (r, k) = 3 bits c2 c1 c0; the 2-bit plane stores c2c1 (shift 1), the 1-bit plane c0.
//
//     plane w=2 (16 bytes = 2 chunks of 8):       plane w=1 (8 bytes = 1 chunk):
//       chunk 0 byte 4r+i:  bits 1-0 = step 0       chunk 0 byte 4r+i: bit t = step t (t 0..7)
//                           bits 3-2 = step 1
//                           bits 5-4 = step 2     (1) byte 4r+i of a chunk always belongs to
//                           bits 7-6 = step 3         row r, column 4·step + i of the block;
//       chunk 1: steps 4..7 the same way          (2) step 5 of row 1, column 22 (i = 2):
//                                                     2-bit slice: chunk 1, byte 6, bits 3-2;
//                                                     1-bit slice: chunk 0, byte 6, bit 5.
// Parameters of a PackedMatrix with this layout are stored per tile as well: for PerGroup<G>
// the NR parameter sets of (tile, group) are adjacent (slot (tile·groups + g)·NR + r mod NR),
// so a kernel loads a tile's scales with one vector load; PerChannel pads to whole tiles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "lowbit/config.hpp"
#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/static_for.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/pack/step_codec.hpp"

namespace lowbit {

namespace detail {

/// NR-row tiles (the last padded) and their parameter placement: for PerGroup<G> the NR
/// parameter sets of (tile, group) are adjacent (slot (tile·groups + g)·NR + r mod NR), so a
/// kernel loads a tile's scales with one vector load; PerChannel pads to whole tiles. Shared by
/// the lane-tiled layouts below and the sequence tiles (pack/seq_tiles.hpp).
template <int NR>
struct RowTileParams {
  static constexpr Index kTileRows = NR;
  static constexpr Index tiles(Index rows) noexcept { return ceil_div<Index>(rows, NR); }

  // PackedMatrix asks the layout for the placement when it can.
  template <Granularity G>
  static constexpr Index param_count(Index rows, Index cols) noexcept {
    if constexpr (G::kKind == GranularityKind::kPerTensor) {
      return rows > 0 && cols > 0 ? 1 : 0;
    } else if constexpr (G::kKind == GranularityKind::kPerChannel) {
      return cols > 0 ? tiles(rows) * NR : 0;
    } else {
      return tiles(rows) * G::param_count(1, cols) * NR;
    }
  }
  template <Granularity G>
  static constexpr Index param_index(Index r, Index k, Index cols) noexcept {
    if constexpr (G::kKind == GranularityKind::kPerTensor) {
      return 0;
    } else if constexpr (G::kKind == GranularityKind::kPerChannel) {
      return r;
    } else {
      return ((r / NR) * G::param_count(1, cols) + k / G::kGroupSize) * NR + r % NR;
    }
  }
};

/// The geometry every lane-tiled kernel layout shares (Interleaved, Trit5Tiles, Sparse34Tiles):
/// row tiles as RowTileParams, KB-deep blocks (the last padded), KB/4 dot-4 steps per block and
/// a step's lane vector of NR·4 bytes (byte 4r + i = code (r, 4·step + i)). The layouts differ
/// only in how a block stores its steps' lane vectors.
template <int NR, int KB>
struct LaneTileGeometry : RowTileParams<NR> {
  using RowTileParams<NR>::tiles;
  static constexpr Index kTileDepth = KB;
  static constexpr Index kSteps = KB / 4;      // dot-4 steps per block
  static constexpr Index kLaneBytes = NR * 4;  // bytes of one step's lane vector

  static constexpr Index blocks(Index cols) noexcept { return ceil_div<Index>(cols, KB); }
  /// Index of the (tile, block) that holds (r, k).
  static constexpr Index block_of(Index cols, Index r, Index k) noexcept {
    return (r / NR) * blocks(cols) + k / KB;
  }
};

}  // namespace detail

template <int NR, int KB>
struct Interleaved : detail::LaneTileGeometry<NR, KB> {
  using Geometry = detail::LaneTileGeometry<NR, KB>;
  using Geometry::blocks;
  using Geometry::kLaneBytes;
  using Geometry::kSteps;
  using Geometry::tiles;
  static_assert(NR >= 1 && NR <= 64,
                "Interleaved<NR, KB>: NR must be in 1..64 (kernels: 4, 8, 16)");
  static_assert(KB >= 32 && KB <= 1024 && KB % 32 == 0,
                "Interleaved<NR, KB>: KB must be a multiple of 32 (one chunk of the 1-bit plane)");
  /// PerGroup<KB / 2> is allowed too: its kernels finish a group after half a block's steps.
  static constexpr bool kHalfBlockGroups = true;
  static constexpr std::string_view name() { return "interleaved"; }  // never persisted
  static std::string type_name() {
    return "interleaved_" + std::to_string(NR) + "x" + std::to_string(KB);
  }

  static constexpr Index block_bytes(int bits) noexcept { return NR * KB * bits / 8; }
  /// Byte offset of plane `w` inside a block of `bits`-bit codes (planes in decreasing width).
  static constexpr Index plane_offset(int bits, int w) noexcept {
    Index off = 0;
    for (int p = 8; p > w; p >>= 1)
      if (bits & p) off += NR * KB * p / 8;
    return off;
  }
  /// Bit position of plane `w`'s slice inside a code.
  static constexpr int plane_shift(int bits, int w) noexcept { return bits & (w - 1); }

  template <QuantScheme S>
  requires(S::kCodeBits >= 1 && S::kCodeBits <= 8) static Index
      packed_bytes(Index rows, Index cols) {
    const Index per_tile =
        detail::checked_mul(blocks(cols), block_bytes(S::kCodeBits), "Interleaved::packed_bytes");
    return detail::checked_mul(tiles(rows), per_tile, "Interleaved::packed_bytes");
  }

  /// Byte of block (tile, block) that holds plane w of (r mod NR, k mod KB), and the bit shift.
  static constexpr void locate(int bits, int w, Index cols, Index r, Index k, Index* byte,
                               int* shift) noexcept {
    const Index blk = (r / NR) * blocks(cols) + k / KB;
    const Index kk = k % KB;
    const Index step = kk / 4;
    const int per_chunk = 8 / w;
    *byte = blk * block_bytes(bits) + plane_offset(bits, w) + (step / per_chunk) * kLaneBytes +
            (r % NR) * 4 + kk % 4;
    *shift = static_cast<int>(step % per_chunk) * w;
  }

  /// The code of weight (r, k): the scalar accessor that defines this layout.
  template <QuantScheme S>
  requires(S::kCodeBits >= 1 && S::kCodeBits <= 8) static std::uint32_t
      load_code(std::span<const std::byte> in, Index /*rows*/, Index cols, Index r,
                Index k) noexcept {
    constexpr int kBits = S::kCodeBits;
    std::uint32_t c = 0;
    for (int w = 8; w >= 1; w >>= 1) {
      if (!(kBits & w)) continue;
      Index byte = 0;
      int shift = 0;
      locate(kBits, w, cols, r, k, &byte, &shift);
      const std::uint32_t slice =
          (std::to_integer<std::uint32_t>(in[byte]) >> shift) & ((1u << w) - 1u);
      c |= slice << plane_shift(kBits, w);
    }
    return c;
  }
  template <QuantScheme S>
  requires(S::kCodeBits >= 1 &&
           S::kCodeBits <= 8) static void store_code(std::span<std::byte> out, Index /*rows*/,
                                                     Index cols, Index r, Index k,
                                                     std::uint32_t code) noexcept {
    constexpr int kBits = S::kCodeBits;
    for (int w = 8; w >= 1; w >>= 1) {
      if (!(kBits & w)) continue;
      Index byte = 0;
      int shift = 0;
      locate(kBits, w, cols, r, k, &byte, &shift);
      const std::uint32_t mask = ((1u << w) - 1u) << shift;
      const std::uint32_t v = ((code >> plane_shift(kBits, w)) << shift) & mask;
      out[byte] = std::byte(
          static_cast<std::uint8_t>((std::to_integer<std::uint32_t>(out[byte]) & ~mask) | v));
    }
  }

  /// Writes one (tile, block) from codes in lane order: lanes[j·NR·4 + 4r + i] = code (r, 4j+i).
  static void pack_block(int bits, const std::uint8_t* lanes, std::byte* out) noexcept {
    for (int w = 8; w >= 1; w >>= 1) {
      if (!(bits & w)) continue;
      const int per_chunk = 8 / w;
      const int sh = plane_shift(bits, w);
      const unsigned mask = (1u << w) - 1u;
      std::byte* plane = out + plane_offset(bits, w);
      for (Index s = 0; s < kSteps / per_chunk; ++s) {
        for (Index b = 0; b < kLaneBytes; ++b) {
          unsigned v = 0;
          for (int t = 0; t < per_chunk; ++t)
            v |= ((lanes[(s * per_chunk + t) * kLaneBytes + b] >> sh) & mask) << (t * w);
          plane[s * kLaneBytes + b] = std::byte(static_cast<std::uint8_t>(v));
        }
      }
    }
  }
  /// The inverse of pack_block: the scalar unpack that every SIMD unpacker must match.
  static void unpack_block(int bits, const std::byte* in, std::uint8_t* lanes) noexcept {
    for (Index i = 0; i < kSteps * kLaneBytes; ++i) lanes[i] = 0;
    for (int w = 8; w >= 1; w >>= 1) {
      if (!(bits & w)) continue;
      const int per_chunk = 8 / w;
      const int sh = plane_shift(bits, w);
      const unsigned mask = (1u << w) - 1u;
      const std::byte* plane = in + plane_offset(bits, w);
      for (Index s = 0; s < kSteps / per_chunk; ++s) {
        for (Index b = 0; b < kLaneBytes; ++b) {
          const unsigned v = std::to_integer<unsigned>(plane[s * kLaneBytes + b]);
          for (int t = 0; t < per_chunk; ++t)
            lanes[(s * per_chunk + t) * kLaneBytes + b] |=
                static_cast<std::uint8_t>(((v >> (t * w)) & mask) << sh);
        }
      }
    }
  }
};

/// Interleaved (this file): a step is one load per plane width present in Bits, then a shift and
/// a mask that bring its slice to the low bits of each byte.
template <int NR, int KB>
struct StepCodec<Interleaved<NR, KB>> {
  static constexpr int kUnit = 1;
  /// Unpacks step J (columns 4J .. 4J+3) of one block, vector v, to codes in the low bits of
  /// bytes (lane r = row r, 4 codes).
  template <class V, int Bits, int J>
  static LOWBIT_INLINE typename V::I decode(const std::byte* block, int v) {
    using L = Interleaved<NR, KB>;
    typename V::I c = V::zero();
    bool first = true;
    static_for<4>([&](auto wi) {
      constexpr int w = 8 >> wi.value;  // plane widths 8, 4, 2, 1
      if constexpr ((Bits & w) != 0) {
        constexpr int per_chunk = 8 / w;
        constexpr int t = J % per_chunk;
        constexpr int sh = L::plane_shift(Bits, w);
        constexpr int pos = t * w;  // where the slice sits in its byte
        constexpr unsigned mask = ((1u << w) - 1u) << sh;
        const std::byte* chunk =
            block + L::plane_offset(Bits, w) + (J / per_chunk) * L::kLaneBytes + v * V::kLanes * 4;
        const typename V::I raw = V::load(chunk);
        typename V::I s;
        if constexpr (w == 8) {
          s = raw;
        } else if constexpr (pos >= sh) {
          s = V::and_(V::template srli16<pos - sh>(raw), V::set1_8(static_cast<int>(mask)));
        } else {
          s = V::and_(V::template slli16<sh - pos>(raw), V::set1_8(static_cast<int>(mask)));
        }
        c = first ? s : V::or_(c, s);
        first = false;
      }
    });
    return c;
  }
  template <class V>
  struct State {
    const std::byte* block;
    int v;
  };
  template <class V, int Bits, int U>
  static LOWBIT_INLINE State<V> begin(const std::byte* block, int v) {
    return {block, v};
  }
  template <class V, int Bits, int U, int T>
  static LOWBIT_INLINE typename V::I step(State<V>& st) {
    return decode<V, Bits, U>(st.block, st.v);  // kUnit = 1: T = 0
  }
};

}  // namespace lowbit
