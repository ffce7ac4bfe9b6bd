// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/repack.hpp: repack<To>(w), the only conversion between layouts.
//
// The codes and parameters are copied unchanged; only their placement differs, so for every
// (r, k) `repack<To>(w).code(r, k) == w.code(r, k)` and `params_at` agree (tests check both).
// Row layouts (Plain, Sparse34) → lane-tiled kernel layouts (Interleaved, Trit5Tiles,
// Sparse34Tiles; load time, the common case) and back run block by block, row layouts between
// themselves and into SeqTiles row by row; any other pair goes through the scalar accessors.
// Padding rows/columns of the target hold the layout's pad code (0; Sparse34Tiles: the pattern 1,
// 0, 0, 0) and value-initialised parameters (scale 0).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "lowbit/core/parallel.hpp"
#include "lowbit/pack/interleaved.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/plain.hpp"
#include "lowbit/pack/seq_tiles.hpp"
#include "lowbit/pack/sparse34.hpp"

namespace lowbit {

namespace detail {
/// Lane-tiled kernel layouts (Interleaved, Trit5Tiles, Sparse34Tiles): blocks of lane vectors.
template <class L>
concept LaneTiled = requires(const std::uint8_t* lanes, std::byte* out, const std::byte* in,
                             std::uint8_t* lanes_out) {
  L::kLaneBytes;
  L::pack_block(1, lanes, out);
  L::unpack_block(1, in, lanes_out);
  { L::block_bytes(1) } -> std::convertible_to<Index>;
};
template <class L>
constexpr std::uint8_t pad_code(Index k) noexcept {
  if constexpr (requires { L::pad_code(k); }) {
    return L::pad_code(k);
  } else {
    return 0;
  }
}
/// Row layouts with bulk row packing (Plain, Sparse34).
template <class L>
inline constexpr bool kRowPacked = std::is_same_v<L, Plain> || std::is_same_v<L, Sparse34>;

/// The codes of row r of w into out[0 .. cols).
template <class S, class G, class L>
void row_codes(const PackedMatrix<S, G, L>& w, Index r, std::uint8_t* out) {
  const Index cols = w.cols();
  if constexpr (std::is_same_v<L, Plain>) {
    Plain::unpack_row<S::kCodeBits>(w.codes().data() + r * Plain::row_bytes<S>(cols), cols, out);
  } else if constexpr (std::is_same_v<L, Sparse34>) {
    Sparse34::unpack_row(w.codes().data() + r * Sparse34::row_bytes(cols), cols, out);
  } else {
    for (Index k = 0; k < cols; ++k) out[k] = static_cast<std::uint8_t>(w.code(r, k));
  }
}
/// Packs row r of out (a row-packed layout) from codes[0 .. cols).
template <class S, class G, class L>
void pack_row_codes(PackedMatrix<S, G, L>& out, Index r, const std::uint8_t* codes) {
  const Index cols = out.cols();
  if constexpr (std::is_same_v<L, Plain>) {
    Plain::pack_row<S::kCodeBits>(codes, cols, out.codes().data() + r * Plain::row_bytes<S>(cols));
  } else {
    Sparse34::pack_row(codes, cols, out.codes().data() + r * Sparse34::row_bytes(cols), r);
  }
}
}  // namespace detail

/// A copy of w in layout To. `threads` splits the work over tiles (the result never depends on it).
/// Throws Error where To cannot hold a code pattern (Sparse34 layouts: groups not 3:4).
template <class To, QuantScheme S, Granularity G, class From>
requires PackLayoutFor<To, S> PackedMatrix<S, G, To> repack(const PackedMatrix<S, G, From>& w,
                                                            int threads = 1) {
  PackedMatrix<S, G, To> out(w.rows(), w.cols());
  const Index rows = w.rows(), cols = w.cols();
  if (out.empty()) return out;
  // Parameters: walk every group start of every row (cheap: one per group).
  const Index gc = G::group_cols(cols);
  auto params = out.params();
  for (Index r = 0; r < rows; ++r)
    for (Index k0 = 0; k0 < cols; k0 += gc)
      params[static_cast<std::size_t>(out.param_slot(r, k0))] = w.params_at(r, k0);
  std::copy(w.row_params().begin(), w.row_params().end(), out.row_params().begin());

  constexpr int kBits = S::kCodeBits;
  if constexpr (detail::LaneTiled<To>) {
    constexpr Index NR = To::kTileRows, KB = To::kTileDepth;
    const Index nblocks = To::blocks(cols);
    const Index width = nblocks * KB;
    std::byte* dst = out.codes().data();
    detail::parallel_for(To::tiles(rows), threads, [&](Index t0, Index t1) {
      std::vector<std::uint8_t> rowc(static_cast<std::size_t>(NR * width));
      std::vector<std::uint8_t> lanes(static_cast<std::size_t>(NR * KB));
      for (Index t = t0; t < t1; ++t) {
        for (Index i = 0; i < NR; ++i) {
          std::uint8_t* rc = rowc.data() + i * width;
          const bool real = t * NR + i < rows;
          if (real) detail::row_codes(w, t * NR + i, rc);
          for (Index k = real ? cols : 0; k < width; ++k) rc[k] = detail::pad_code<To>(k);
        }
        for (Index b = 0; b < nblocks; ++b) {
          for (Index j = 0; j < KB / 4; ++j)
            for (Index i = 0; i < NR; ++i)
              for (Index q = 0; q < 4; ++q)
                lanes[static_cast<std::size_t>(j * NR * 4 + i * 4 + q)] =
                    rowc[static_cast<std::size_t>(i * width + b * KB + j * 4 + q)];
          To::pack_block(kBits, lanes.data(), dst + (t * nblocks + b) * To::block_bytes(kBits));
        }
      }
    });
  } else if constexpr (detail::LaneTiled<From> && detail::kRowPacked<To>) {
    constexpr Index NR = From::kTileRows, KB = From::kTileDepth;
    const Index nblocks = From::blocks(cols);
    const Index width = nblocks * KB;
    detail::parallel_for(From::tiles(rows), threads, [&](Index t0, Index t1) {
      std::vector<std::uint8_t> rowc(static_cast<std::size_t>(NR * width));
      std::vector<std::uint8_t> lanes(static_cast<std::size_t>(NR * KB));
      for (Index t = t0; t < t1; ++t) {
        for (Index b = 0; b < nblocks; ++b) {
          From::unpack_block(kBits, w.codes().data() + (t * nblocks + b) * From::block_bytes(kBits),
                             lanes.data());
          for (Index j = 0; j < KB / 4; ++j)
            for (Index i = 0; i < NR; ++i)
              for (Index q = 0; q < 4; ++q)
                rowc[static_cast<std::size_t>(i * width + b * KB + j * 4 + q)] =
                    lanes[static_cast<std::size_t>(j * NR * 4 + i * 4 + q)];
        }
        for (Index i = 0; i < NR && t * NR + i < rows; ++i)
          detail::pack_row_codes(out, t * NR + i, rowc.data() + i * width);
      }
    });
  } else if constexpr (detail::kRowPacked<To>) {
    detail::parallel_for(rows, threads, [&](Index r0, Index r1) {
      std::vector<std::uint8_t> rowc(static_cast<std::size_t>(cols));
      for (Index r = r0; r < r1; ++r) {
        detail::row_codes(w, r, rowc.data());
        detail::pack_row_codes(out, r, rowc.data());
      }
    });
  } else if constexpr (detail::kSeqTiled<To>) {
    const Index nw = To::row_words(kBits, cols);
    std::byte* dst = out.codes().data();
    detail::parallel_for(rows, threads, [&](Index r0, Index r1) {
      std::vector<std::uint8_t> rowc(static_cast<std::size_t>(cols));
      std::vector<std::uint16_t> words(static_cast<std::size_t>(nw));
      for (Index r = r0; r < r1; ++r) {
        detail::row_codes(w, r, rowc.data());
        To::template pack_stream<S>(rowc.data(), cols, words.data());
        for (Index u = 0; u < nw; ++u)
          detail::store_le(dst + To::word_offset(kBits, cols, r, u),
                           words[static_cast<std::size_t>(u)]);
      }
    });
  } else {
    for (Index r = 0; r < rows; ++r)
      for (Index k = 0; k < cols; ++k) out.set_code(r, k, w.code(r, k));
  }
  return out;
}

}  // namespace lowbit
