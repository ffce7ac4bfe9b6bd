// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/repack.hpp: repack<To>(w), the only conversion between layouts.
//
// The codes and parameters are copied unchanged; only their placement differs, so for every
// (r, k) `repack<To>(w).code(r, k) == w.code(r, k)` and `params_at` agree (tests check both).
// Plain → Interleaved (load time, the common case) and back run block by block; any other pair
// goes through the scalar accessors. Padding rows/columns of the target are zero codes and
// value-initialised parameters (scale 0).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "lowbit/core/parallel.hpp"
#include "lowbit/pack/interleaved.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/plain.hpp"

namespace lowbit {

namespace detail {
template <class L>
struct IsInterleaved : std::false_type {};
template <int NR, int KB>
struct IsInterleaved<Interleaved<NR, KB>> : std::true_type {};
}  // namespace detail

/// A copy of w in layout To. `threads` splits the work over tiles (the result never depends on it).
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

  constexpr int kBits = S::kCodeBits;
  if constexpr (std::is_same_v<From, Plain> && detail::IsInterleaved<To>::value) {
    constexpr Index NR = To::kTileRows, KB = To::kTileDepth;
    const Index row_bytes = Plain::row_bytes<S>(cols);
    const Index nblocks = To::blocks(cols);
    std::byte* dst = out.codes().data();
    detail::parallel_for(To::tiles(rows), threads, [&](Index t0, Index t1) {
      std::vector<std::uint8_t> rowc(static_cast<std::size_t>(NR * nblocks * KB));
      std::vector<std::uint8_t> lanes(static_cast<std::size_t>(NR * KB));
      for (Index t = t0; t < t1; ++t) {
        std::fill(rowc.begin(), rowc.end(), std::uint8_t{0});
        for (Index i = 0; i < NR && t * NR + i < rows; ++i)
          Plain::unpack_row<kBits>(w.codes().data() + (t * NR + i) * row_bytes, cols,
                                   rowc.data() + i * nblocks * KB);
        for (Index b = 0; b < nblocks; ++b) {
          for (Index j = 0; j < KB / 4; ++j)
            for (Index i = 0; i < NR; ++i)
              for (Index q = 0; q < 4; ++q)
                lanes[static_cast<std::size_t>(j * NR * 4 + i * 4 + q)] =
                    rowc[static_cast<std::size_t>(i * nblocks * KB + b * KB + j * 4 + q)];
          To::pack_block(kBits, lanes.data(), dst + (t * nblocks + b) * To::block_bytes(kBits));
        }
      }
    });
  } else if constexpr (detail::IsInterleaved<From>::value && std::is_same_v<To, Plain>) {
    constexpr Index NR = From::kTileRows, KB = From::kTileDepth;
    const Index row_bytes = Plain::row_bytes<S>(cols);
    const Index nblocks = From::blocks(cols);
    detail::parallel_for(From::tiles(rows), threads, [&](Index t0, Index t1) {
      std::vector<std::uint8_t> rowc(static_cast<std::size_t>(NR * nblocks * KB));
      std::vector<std::uint8_t> lanes(static_cast<std::size_t>(NR * KB));
      for (Index t = t0; t < t1; ++t) {
        for (Index b = 0; b < nblocks; ++b) {
          From::unpack_block(kBits, w.codes().data() + (t * nblocks + b) * From::block_bytes(kBits),
                             lanes.data());
          for (Index j = 0; j < KB / 4; ++j)
            for (Index i = 0; i < NR; ++i)
              for (Index q = 0; q < 4; ++q)
                rowc[static_cast<std::size_t>(i * nblocks * KB + b * KB + j * 4 + q)] =
                    lanes[static_cast<std::size_t>(j * NR * 4 + i * 4 + q)];
        }
        for (Index i = 0; i < NR && t * NR + i < rows; ++i)
          Plain::pack_row<kBits>(rowc.data() + i * nblocks * KB, cols,
                                 out.codes().data() + (t * NR + i) * row_bytes);
      }
    });
  } else {
    for (Index r = 0; r < rows; ++r)
      for (Index k = 0; k < cols; ++k) out.set_code(r, k, w.code(r, k));
  }
  return out;
}

}  // namespace lowbit
