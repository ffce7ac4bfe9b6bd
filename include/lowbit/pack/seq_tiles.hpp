// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/seq_tiles.hpp: SeqTiles<NR>, the kernel layout of sequence-coded weights (the
// trellis, quant/conv_code.hpp; CCQ WINT2, quant/ccq.hpp): every row's codes as one bit stream
// cut into 16-bit words, the words of NR rows interleaved so that one vector load brings the
// same word of every row of a tile.
//
// # Why this layout
// A sequence code's weight depends on a window of the stream (the trellis: the last L bits;
// WINT2: the byte of 4 weights), so the fused kernels want each row's stream contiguous in a
// lane, and NR rows side by side so that one vector serves NR output rows (the lane-per-row
// scheme of the interleaved kernels, kernels/interleaved_tile.hpp). A 16-bit word per lane is
// what the trellis needs: its state is the 16-bit funnel shift of two neighbouring words
// (vpshrdw), and WINT2's two code bytes widen to one byte per 32-bit lane.
//
// # Geometry
// - Row r's codes (K = S::kCodeBits bits each, code k at stream bits [k·K, k·K + K)) form a stream
//   of W = ceil(cols·K / 16) words. Stream order within a word is the scheme's:
//     ConvCode (kStreamMsbFirst): MSB-first, stream bit b is bit 15 - b mod 16 of word b / 16, a
//       code's first bit its most significant one (the trellis windows read as numbers);
//     otherwise LSB-first, stream bit b is bit b mod 16 of word b / 16 (the Plain layout's
//       order: WINT2's words are its two code bytes, the first in the low byte).
// - Rows are cut into tiles of NR (the last padded with zero codes); word u of row r lives at
//   word index ((r / NR)·W + u)·NR + r mod NR, little-endian. The last word of a row is padded
//   with zero bits.
// - SeqTiles<NR, 64> interleaves lanes of four words (64 stream bits, LSB-first: the lane read
//   as a little-endian uint64 is the stream) instead of single words: lane j of row r at lane
//   index ((r / NR)·W/4 + j)·NR + r mod NR; rows are padded to whole lanes. One 512-bit load
//   brings 64 stream bits (32 weights at K = 2) of 8 rows, each in the 64-bit lane that
//   vpmultishiftqb picks windows from: the layout of the lookup code CodeTap7's kernels.
// - Parameters are placed per tile (RowTileParams, pack/interleaved.hpp): a tile's NR scales of
//   a group are adjacent.
// It is never persisted (io/ writes Plain); `repack` builds it in memory. CCQ WINT2.5's
// overlapping windows have their own word layout, Wint25Words<NR> (below), tiled the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/pack/interleaved.hpp"

namespace lowbit {

namespace detail {
/// Whether scheme S orders its stream MSB-first (see pack/seq_tiles.hpp).
template <class S>
constexpr bool stream_msb_first() noexcept {
  if constexpr (requires { S::kStreamMsbFirst; }) {
    return S::kStreamMsbFirst;
  } else {
    return false;
  }
}
}  // namespace detail

namespace detail {
/// Row tiles of 16-bit words (SeqTiles, Wint25Words): W = L::row_words(bits, cols) words a row,
/// in lanes of U = L::kLaneWords words (1 or 4), lane j of row r at lane index
/// ((r / NR)·W/U + j)·NR + r mod NR, word u at u mod U within lane u / U; parameters as
/// RowTileParams.
template <int NR, class L>
struct WordTiles : RowTileParams<NR> {
  static_assert(NR >= 1 && NR <= 64, "word tiles: NR must be in 1..64 (kernels: 16)");
  using RowTileParams<NR>::tiles;
  static constexpr Index kTileDepth = 1;  // tiles span whole rows

  template <QuantScheme S>
  requires(S::kCodeBits >= 1 && S::kCodeBits <= 8) static Index
      packed_bytes(Index rows, Index cols) {
    const Index per_tile =
        checked_mul(L::row_words(S::kCodeBits, cols), 2 * NR, "word tiles: packed_bytes");
    return checked_mul(tiles(rows), per_tile, "word tiles: packed_bytes");
  }
  /// Byte offset of word u of row r.
  static constexpr Index word_offset(int bits, Index cols, Index r, Index u) noexcept {
    constexpr Index U = L::kLaneWords;
    return ((((r / NR) * (L::row_words(bits, cols) / U) + u / U) * NR + r % NR) * U + u % U) * 2;
  }
  static std::uint32_t word(const std::byte* base, int bits, Index cols, Index r,
                            Index u) noexcept {
    return load_le<std::uint16_t>(base + word_offset(bits, cols, r, u));
  }
};
}  // namespace detail

template <int NR, int LaneBits = 16>
struct SeqTiles : detail::WordTiles<NR, SeqTiles<NR, LaneBits>> {
  static_assert(LaneBits == 16 || LaneBits == 64, "SeqTiles: lanes of 16 or 64 bits");
  using Base = detail::WordTiles<NR, SeqTiles<NR, LaneBits>>;
  using Base::word;
  using Base::word_offset;
  static constexpr Index kLaneWords = LaneBits / 16;
  static constexpr std::string_view name() { return "seq_tiles"; }  // never persisted
  static std::string type_name() {
    return "seq_tiles_" + std::to_string(NR) + (LaneBits == 16 ? "" : "x64");
  }

  /// 16-bit words of one row's stream (whole lanes).
  static constexpr Index row_words(int bits, Index cols) noexcept {
    return ceil_div<Index>(cols * bits, LaneBits) * kLaneWords;
  }

  template <QuantScheme S>
  requires(S::kCodeBits >= 1 && S::kCodeBits <= 8) static std::uint32_t
      load_code(std::span<const std::byte> in, Index /*rows*/, Index cols, Index r,
                Index k) noexcept {
    constexpr int K = S::kCodeBits;
    const Index b = k * K, u = b / 16, words = row_words(K, cols);
    const std::uint32_t w0 = word(in.data(), K, cols, r, u);
    const std::uint32_t w1 = u + 1 < words ? word(in.data(), K, cols, r, u + 1) : 0u;
    const int off = static_cast<int>(b % 16);
    if constexpr (detail::stream_msb_first<S>()) {
      return (((w0 << 16) | w1) >> (32 - K - off)) & ((1u << K) - 1u);
    } else {
      return ((w0 | (w1 << 16)) >> off) & ((1u << K) - 1u);
    }
  }
  template <QuantScheme S>
  requires(S::kCodeBits >= 1 &&
           S::kCodeBits <= 8) static void store_code(std::span<std::byte> out, Index /*rows*/,
                                                     Index cols, Index r, Index k,
                                                     std::uint32_t code) noexcept {
    constexpr int K = S::kCodeBits;
    const Index b0 = k * K;
    for (int i = 0; i < K; ++i) {  // bit by bit: a code may straddle two words
      const Index b = b0 + i;
      const int bit = detail::stream_msb_first<S>() ? (code >> (K - 1 - i)) & 1u : (code >> i) & 1u;
      const int pos =
          detail::stream_msb_first<S>() ? 15 - static_cast<int>(b % 16) : static_cast<int>(b % 16);
      std::byte* p = out.data() + word_offset(K, cols, r, b / 16);
      std::uint16_t w = detail::load_le<std::uint16_t>(p);
      w = static_cast<std::uint16_t>((w & ~(1u << pos)) | (static_cast<unsigned>(bit) << pos));
      detail::store_le(p, w);
    }
  }

  /// The words of one row's stream from its codes (codes[0 .. cols)) into words[0 .. row_words).
  template <QuantScheme S>
  static void pack_stream(const std::uint8_t* codes, Index cols, std::uint16_t* words) noexcept {
    constexpr int K = S::kCodeBits;
    const Index n = row_words(K, cols);
    for (Index u = 0; u < n; ++u) words[u] = 0;
    for (Index k = 0; k < cols; ++k) {
      const std::uint32_t c = codes[k] & ((1u << K) - 1u);
      const Index b = k * K;
      const int off = static_cast<int>(b % 16);
      std::uint32_t w0, w1;  // the code's bits placed in the 32-bit window of words u, u + 1
      if constexpr (detail::stream_msb_first<S>()) {
        const std::uint32_t v = c << (32 - K - off);
        w0 = v >> 16;
        w1 = v & 0xFFFFu;
      } else {
        const std::uint32_t v = c << off;
        w0 = v & 0xFFFFu;
        w1 = v >> 16;
      }
      words[b / 16] = static_cast<std::uint16_t>(words[b / 16] | w0);
      if (w1 != 0) words[b / 16 + 1] = static_cast<std::uint16_t>(words[b / 16 + 1] | w1);
    }
  }
};

/// CCQ WINT2.5's words (quant/ccq.hpp) as a kernel layout: per 64-input group of a row the ten
/// 16-bit words of FastDeploy's format (words 0..8: 7 windows at shifts 13, 11, 9, 6, 4, 2, 0;
/// word 9: weight 63's window at shift 13), except that word 9's low 13 bits are zero: the local
/// scale stays in the parameters. Rows are row_words = cols / 64 · 10 words, tiled as SeqTiles.
/// Windows overlap (a chain's weights share a bit), so only chain-consistent groups can be held:
/// pack_stream throws Error on others (repack refuses them); store_code writes a whole window.
template <int NR>
struct Wint25Words : detail::WordTiles<NR, Wint25Words<NR>> {
  using Base = detail::WordTiles<NR, Wint25Words<NR>>;
  using Base::word;
  using Base::word_offset;
  static constexpr Index kLaneWords = 1;
  static constexpr std::string_view name() { return "wint25_words"; }  // never persisted
  /// 9 full words and weight 63's 3 bits per 64 weights (with the 13-bit local scale: 2.5).
  static constexpr double kCodeBitsPerWeight = (9.0 * 16.0 + 3.0) / 64.0;
  static std::string type_name() { return "wint25_words_" + std::to_string(NR); }

  static constexpr Index row_words(int /*bits*/, Index cols) noexcept { return cols / 64 * 10; }
  /// The word and shift of weight k's window.
  static constexpr Index word_of(Index k) noexcept {
    return k % 64 == 63 ? k / 64 * 10 + 9 : k / 64 * 10 + k % 64 / 7;
  }
  static constexpr int shift_of(Index k) noexcept {
    constexpr int kShift[7] = {13, 11, 9, 6, 4, 2, 0};
    return k % 64 == 63 ? 13 : kShift[k % 64 % 7];
  }

  template <QuantScheme S>
  requires(S::kCodeBits == 3) static std::uint32_t
      load_code(std::span<const std::byte> in, Index /*rows*/, Index cols, Index r,
                Index k) noexcept {
    return (word(in.data(), 3, cols, r, word_of(k)) >> shift_of(k)) & 7u;
  }
  template <QuantScheme S>
  requires(S::kCodeBits == 3) static void store_code(std::span<std::byte> out, Index /*rows*/,
                                                     Index cols, Index r, Index k,
                                                     std::uint32_t code) noexcept {
    std::byte* p = out.data() + word_offset(3, cols, r, word_of(k));
    const unsigned sh = static_cast<unsigned>(shift_of(k));
    const auto w = static_cast<std::uint16_t>((detail::load_le<std::uint16_t>(p) & ~(7u << sh)) |
                                              ((code & 7u) << sh));
    detail::store_le(p, w);
  }
  /// The words of one row from its windows (codes[0 .. cols)); throws Error when cols is not a
  /// multiple of 64 or a group is not chain-consistent.
  template <QuantScheme S>
  static void pack_stream(const std::uint8_t* codes, Index cols, std::uint16_t* words) {
    if (cols % 64 != 0)
      detail::fail("Wint25Words: ", cols, " columns is not a multiple of 64 (WINT2.5 groups)");
    for (Index g = 0; g < cols / 64; ++g) {
      const std::uint8_t* c = codes + g * 64;
      for (int i = 1; i < 64; ++i)
        if (!(i == 63 || i % 7 == 0 || i % 7 == 3) && ((c[i] >> 2) & 1u) != (c[i - 1] & 1u))
          detail::fail("Wint25Words: group ", g, " is not a WINT2.5 stream (weights ", i - 1,
                       " and ", i, " disagree on their shared bit)");
      for (int u = 0; u < 10; ++u) words[g * 10 + u] = 0;
      for (Index k = 0; k < 64; ++k)
        words[word_of(g * 64 + k)] =
            static_cast<std::uint16_t>(words[word_of(g * 64 + k)] | ((c[k] & 7u) << shift_of(k)));
    }
  }
};

namespace detail {
template <class L>
inline constexpr bool kSeqTiled = false;
template <int NR, int LB>
inline constexpr bool kSeqTiled<SeqTiles<NR, LB>> = true;
template <int NR>
inline constexpr bool kSeqTiled<Wint25Words<NR>> = true;
}  // namespace detail

}  // namespace lowbit
