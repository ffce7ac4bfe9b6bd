// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/reference/sequence.hpp: the reference GEMMs of sequence-coded weights (the
// trellis, quant/conv_code.hpp; CCQ, quant/ccq.hpp), the oracles of their fused kernels. Groups
// are decoded one at a time into a small buffer (never the whole matrix).
//
// Float path (ref::gemm): y[t, r] = Σ_k ŵ_rk·x_tk accumulated in double, rounded once.
// Integer path (ref::gemm_int8), for schemes with integer values (IntSequenceScheme: ŵ = scale·v):
// for each subgroup j of a row (S::kIntSubgroup weights, or the group), in order of k,
//   idot_j = Σ_{k∈j} v_k·q_k                  exact integer (int64 here)
//   acc    = fma(float(idot_j), scale_j, acc)  (fp32, one rounding, subgroups in order of k)
//   y[t, r] = acc · s_x
// (the fused kernels, kernels/seq_tile.hpp, perform the same float operations). Codes
// with float values (Code3Inst) have no integer path: there ref::gemm_int8 is the float path on
// the dequantized activations, y[t, r] = float(Σ_k ŵ_rk·q_k in double) · s_x.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/kernels/reference/gemv_int8.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/sequence.hpp"
#include "lowbit/quant/activation.hpp"

namespace lowbit::ref {

/// Y = X·Ŵᵀ (X: n × k, Y: n × m) for sequence-coded W. Throws Error on shapes.
template <SequenceScheme S, Granularity G, class L>
void gemm(const PackedMatrix<S, G, L>& w, MatrixView<const float> x, MatrixView<float> y) {
  if (x.cols() != w.cols())
    detail::fail("ref::gemm: X has ", x.cols(), " columns, W has ", w.cols());
  if (y.rows() != x.rows() || y.cols() != w.rows())
    detail::fail("ref::gemm: Y is ", y.rows(), " x ", y.cols(), ", expected ", x.rows(), " x ",
                 w.rows());
  const Index cols = w.cols(), gc = G::group_cols(cols);
  std::vector<std::uint8_t> codes;
  std::vector<float> wg(static_cast<std::size_t>(gc));
  std::vector<double> acc(static_cast<std::size_t>(x.rows()));
  for (Index r = 0; r < w.rows(); ++r) {
    detail::sequence_row_codes(w, r, codes);
    std::fill(acc.begin(), acc.end(), 0.0);
    for (Index k0 = 0; k0 < cols; k0 += gc) {
      const Index n = std::min(gc, cols - k0);
      S::check_group(n);
      detail::sequence_decode(
          w, r, k0, std::span<const std::uint8_t>(codes.data() + k0, static_cast<std::size_t>(n)),
          std::span<float>(wg.data(), static_cast<std::size_t>(n)));
      for (Index t = 0; t < x.rows(); ++t) {
        const float* xt = x.row_ptr(t) + k0;
        double a = 0.0;
        for (Index k = 0; k < n; ++k)
          a += static_cast<double>(wg[static_cast<std::size_t>(k)]) * xt[k];
        acc[static_cast<std::size_t>(t)] += a;
      }
    }
    for (Index t = 0; t < x.rows(); ++t)
      y(t, r) = static_cast<float>(acc[static_cast<std::size_t>(t)]);
  }
}

/// Y (n × m) = X̂·Ŵᵀ on the integer path (see the top of this file). Throws Error on shapes.
template <IntSequenceScheme S, Granularity G, class L>
void gemm_int8(const PackedMatrix<S, G, L>& w, const Int8Activations& x, MatrixView<float> y) {
  detail::check_int8_ref_shapes(w.rows(), w.cols(), x, y);
  detail::check_per_row_activations("ref::gemm_int8", x);
  const Index cols = w.cols(), gc = G::group_cols(cols);
  std::vector<std::uint8_t> codes;
  std::vector<std::int32_t> vals(static_cast<std::size_t>(cols));
  std::vector<float> scales(static_cast<std::size_t>(cols));  // one per subgroup, in order of k
  for (Index r = 0; r < w.rows(); ++r) {
    detail::sequence_row_codes(w, r, codes);
    Index nsub = 0;
    std::vector<Index> sub_begin;
    for (Index k0 = 0; k0 < cols; k0 += gc) {
      const Index n = std::min(gc, cols - k0);
      S::check_group(n);
      const Index sg = detail::int_subgroup<S>(n);
      detail::sequence_decode_int(
          w, r, k0, std::span<const std::uint8_t>(codes.data() + k0, static_cast<std::size_t>(n)),
          std::span<std::int32_t>(vals.data() + k0, static_cast<std::size_t>(n)),
          std::span<float>(scales.data() + nsub, static_cast<std::size_t>((n + sg - 1) / sg)));
      for (Index j = 0; j < n; j += sg) sub_begin.push_back(k0 + j);
      nsub += (n + sg - 1) / sg;
    }
    sub_begin.push_back(cols);
    for (Index t = 0; t < x.rows(); ++t) {
      const std::int8_t* q = x.row(t);
      float acc = 0.0f;
      for (Index j = 0; j < nsub; ++j) {
        std::int64_t idot = 0;
        for (Index k = sub_begin[static_cast<std::size_t>(j)];
             k < sub_begin[static_cast<std::size_t>(j + 1)]; ++k)
          idot += static_cast<std::int64_t>(vals[static_cast<std::size_t>(k)]) * q[k];
        acc = std::fma(static_cast<float>(idot), scales[static_cast<std::size_t>(j)], acc);
      }
      y(t, r) = acc * x.scale(t);
    }
  }
}

/// The int8 entry for sequence schemes without integer values (see the top of this file).
template <SequenceScheme S, Granularity G, class L>
requires(!IntSequenceScheme<S>) void gemm_int8(const PackedMatrix<S, G, L>& w,
                                               const Int8Activations& x, MatrixView<float> y) {
  detail::check_per_row_activations("ref::gemm_int8", x);
  std::vector<float> xf(static_cast<std::size_t>(x.rows() * x.cols()));
  for (Index t = 0; t < x.rows(); ++t)
    for (Index k = 0; k < x.cols(); ++k)
      xf[static_cast<std::size_t>(t * x.cols() + k)] = static_cast<float>(x.row(t)[k]);
  gemm(w, MatrixView<const float>(xf.data(), x.rows(), x.cols()), y);
  for (Index t = 0; t < x.rows(); ++t)
    for (Index r = 0; r < w.rows(); ++r) y(t, r) = y(t, r) * x.scale(t);
}

}  // namespace lowbit::ref
