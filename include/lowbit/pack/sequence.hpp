// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/sequence.hpp: decoding the groups of a sequence-coded PackedMatrix (SequenceScheme:
// the trellis, CCQ), with or without the scheme's per-row parameters; the one place that knows
// both call forms, used by dequantize and the reference GEMMs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/core/concepts.hpp"
#include "lowbit/pack/packed_matrix.hpp"

namespace lowbit {

/// A sequence scheme with an integer path: ŵ = scale·v with integer v, one float scale per
/// S::kIntSubgroup weights of a group (0: per group).
template <class S>
concept IntSequenceScheme = SequenceScheme<S> && requires {
  S::kIntSubgroup;
  S::kIntegerPath;
} && S::kIntegerPath;

namespace detail {

/// The codes of row r of w, one byte each.
template <class S, class G, class L>
void sequence_row_codes(const PackedMatrix<S, G, L>& w, Index r, std::vector<std::uint8_t>& out) {
  out.resize(static_cast<std::size_t>(w.cols()));
  for (Index k = 0; k < w.cols(); ++k)
    out[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(w.code(r, k));
}

/// ŵ of the group of row r starting at k0 (codes: that group's codes).
template <class S, class G, class L>
void sequence_decode(const PackedMatrix<S, G, L>& w, Index r, Index k0,
                     std::span<const std::uint8_t> codes, std::span<float> out) {
  if constexpr (PackedMatrix<S, G, L>::kHasRowParams) {
    S::decode_group(codes, w.row_params()[static_cast<std::size_t>(r)], w.params_at(r, k0), out);
  } else {
    S::decode_group(codes, w.params_at(r, k0), out);
  }
}

/// The integer path of the same group: values and the scale of every subgroup.
template <class S, class G, class L>
void sequence_decode_int(const PackedMatrix<S, G, L>& w, Index r, Index k0,
                         std::span<const std::uint8_t> codes, std::span<std::int32_t> vals,
                         std::span<float> scales) {
  if constexpr (PackedMatrix<S, G, L>::kHasRowParams) {
    S::decode_group_int(codes, w.row_params()[static_cast<std::size_t>(r)], w.params_at(r, k0),
                        vals, scales);
  } else {
    S::decode_group_int(codes, w.params_at(r, k0), vals, scales);
  }
}

/// Weights per float scale of a group of n weights on the integer path.
template <class S>
constexpr Index int_subgroup(Index n) noexcept {
  return S::kIntSubgroup > 0 ? std::min<Index>(S::kIntSubgroup, n) : n;
}

}  // namespace detail
}  // namespace lowbit
