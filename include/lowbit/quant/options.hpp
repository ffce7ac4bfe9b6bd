// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/options.hpp: QuantizeOptions and the group walk shared by every quantizer.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/quant/range_fit.hpp"

namespace lowbit {

/// Options of quantize(): how groups are fitted, optional per-weight importance, threads.
struct QuantizeOptions {
  FitOptions fit{};
  /// Per-weight importance (rows × cols, finite, >= 0) weighting the fitting error; empty = all 1.
  /// A per-input-channel vector (imatrix) is a view with stride 0 (one row repeated).
  MatrixView<const float> importance{};
  /// Worker threads for lowbit::quantize (1 = the calling thread only). Results do not depend on
  /// it.
  int threads = 1;
  /// quantize_into also returns ‖x‖² and ‖x - x̂‖² (QuantizeError), summed while it codes (the
  /// RTN path measures in its encode pass: no dequantized copy of the matrix is made).
  bool measure_error = false;
};

namespace detail {

/// Throws Error if `row` (row r of a matrix, `cols` long) holds a NaN or ±Inf, naming its column
/// (`what`: "weight", ...).
inline void check_row_finite(const float* row, Index cols, Index r, const char* what = "weight") {
  const Index k = first_non_finite(row, cols);
  if (k < cols) fail("quantize: non-finite ", what, " ", row[k], " at row ", r, ", column ", k);
}
inline void check_row_finite(MatrixView<const float> x, Index r, const char* what = "weight") {
  check_row_finite(x.row_ptr(r), x.cols(), r, what);
}

/// Throws Error on bad options or a bad importance view (shape, NaN/Inf, negative values) for a
/// rows × cols matrix.
inline void check_quantize_options(Index rows, Index cols, const QuantizeOptions& opt) {
  opt.fit.validate();
  if (opt.threads < 1 || opt.threads > 1024)
    fail("QuantizeOptions: threads ", opt.threads, " must be in 1..1024");
  if (opt.importance.data() == nullptr) return;
  if (opt.importance.rows() != rows || opt.importance.cols() != cols) {
    fail("quantize: importance is ", opt.importance.rows(), " x ", opt.importance.cols(),
         " but the weights are ", rows, " x ", cols);
  }
  for (Index r = 0; r < rows; ++r) {
    const float* w = opt.importance.row_ptr(r);
    for (Index k = 0; k < cols; ++k) {
      if (!(w[k] >= 0.0f) || !std::isfinite(w[k])) {
        fail("quantize: importance ", w[k], " at row ", r, ", column ", k,
             " must be finite and >= 0");
      }
    }
  }
}

/// Throws Error on bad options or a bad importance view (shape, NaN/Inf, negative values), and,
/// when `check_weights`, on a NaN/Inf weight. lowbit::quantize checks weights row by row while
/// it quantizes (the row is then in cache for the quantization itself).
inline void check_quantize_input(MatrixView<const float> x, const QuantizeOptions& opt,
                                 bool check_weights = true) {
  check_quantize_options(x.rows(), x.cols(), opt);
  if (check_weights)
    for (Index r = 0; r < x.rows(); ++r) check_row_finite(x, r);
}

/// One parameter set's weights: rows [r0, r1) × columns [k0, k1).
struct GroupExtent {
  Index param = 0, r0 = 0, r1 = 0, k0 = 0, k1 = 0;
  Index size() const noexcept { return (r1 - r0) * (k1 - k0); }
};

/// Calls fn(GroupExtent) for every parameter set of granularity G, in parameter-index order.
template <Granularity G, class Fn>
void for_each_group(Index rows, Index cols, Fn&& fn) {
  if (rows == 0 || cols == 0) return;
  if constexpr (G::kKind == GranularityKind::kPerTensor) {
    fn(GroupExtent{0, 0, rows, 0, cols});
  } else {
    const Index gc = G::group_cols(cols);
    for (Index r = 0; r < rows; ++r) {
      for (Index k0 = 0; k0 < cols; k0 += gc) {
        const Index k1 = k0 + gc < cols ? k0 + gc : cols;
        fn(GroupExtent{G::param_index(r, k0, cols), r, r + 1, k0, k1});
      }
    }
  }
}

/// Copies a group of m (row-major) into out; returns a span over it. Contiguous single-row groups
/// are returned in place, without a copy.
inline std::span<const float> gather(MatrixView<const float> m, const GroupExtent& g,
                                     std::vector<float>& out) {
  if (m.data() == nullptr) return {};
  if (g.r1 - g.r0 == 1) return {m.row_ptr(g.r0) + g.k0, static_cast<std::size_t>(g.k1 - g.k0)};
  out.resize(static_cast<std::size_t>(g.size()));
  std::size_t i = 0;
  for (Index r = g.r0; r < g.r1; ++r) {
    for (Index k = g.k0; k < g.k1; ++k) out[i++] = m(r, k);
  }
  return {out.data(), out.size()};
}

}  // namespace detail
}  // namespace lowbit
