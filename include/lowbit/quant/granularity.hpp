// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/granularity.hpp: PerTensor, PerChannel and PerGroup<G>.
//
// A weight matrix has `rows` outputs and `cols` inputs (k). Parameter sets are numbered
//   PerTensor:   one set for the whole matrix                       index 0
//   PerChannel:  one set per output row                             index r
//   PerGroup<G>: one set per G consecutive k within one row         index r * ceil(cols/G) + k/G
// When cols is not a multiple of G the last group of each row is shorter (cols mod G weights)
// and is fitted on its own weights only: it is its own group, never padded with zeros.
// An empty matrix (rows or cols 0) has no parameter sets.
#pragma once

#include <string>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/types.hpp"

namespace lowbit {

struct PerTensor {
  static constexpr GranularityKind kKind = GranularityKind::kPerTensor;
  static constexpr Index kGroupSize = 0;
  static std::string name() { return "per_tensor"; }
  static constexpr Index param_count(Index rows, Index cols) noexcept {
    return rows > 0 && cols > 0 ? 1 : 0;
  }
  static constexpr Index param_index(Index, Index, Index) noexcept { return 0; }
  static constexpr Index group_cols(Index cols) noexcept { return cols; }
};

struct PerChannel {
  static constexpr GranularityKind kKind = GranularityKind::kPerChannel;
  static constexpr Index kGroupSize = 0;
  static std::string name() { return "per_channel"; }
  static constexpr Index param_count(Index rows, Index cols) noexcept {
    return cols > 0 ? rows : 0;
  }
  static constexpr Index param_index(Index r, Index, Index) noexcept { return r; }
  static constexpr Index group_cols(Index cols) noexcept { return cols; }
};

template <int G>
struct PerGroup {
  static_assert(G >= 1 && G <= (1 << 20), "PerGroup<G>: G must be in 1 .. 2^20");
  static constexpr GranularityKind kKind = GranularityKind::kPerGroup;
  static constexpr Index kGroupSize = G;
  static std::string name() { return "per_group_" + std::to_string(G); }
  static constexpr Index groups_per_row(Index cols) noexcept { return ceil_div<Index>(cols, G); }
  static constexpr Index param_count(Index rows, Index cols) noexcept {
    return rows * groups_per_row(cols);
  }
  static constexpr Index param_index(Index r, Index k, Index cols) noexcept {
    return r * groups_per_row(cols) + k / G;
  }
  static constexpr Index group_cols(Index) noexcept { return G; }
};

}  // namespace lowbit
