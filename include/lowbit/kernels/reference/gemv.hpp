// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/reference/gemv.hpp: scalar GEMV and GEMM on any PackedMatrix, fp32 activations.
//
// These are the oracles for the SIMD kernels: every weight is read through its layout's scalar
// accessor and decoded with Scheme::decode, and products are accumulated in double, so the
// result is the exactly rounded value of Ŵ·x up to one final rounding to float.
//
// Shapes: W is m × k (rows = outputs, cols = inputs).
//   gemv: y (m) = W · x (k).
//   gemm: Y (n × m) = X (n × k) · Wᵀ, i.e. each of the n activation rows (tokens) x_t gives the
//         output row y_t = W · x_t; X and Y are row-major views (llama.cpp's convention).
#pragma once

#include <vector>

#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/pack/packed_matrix.hpp"

namespace lowbit::ref {

/// y = W·x, decoding every weight through the layout's scalar accessor. Throws Error on shapes.
template <ElementwiseScheme S, Granularity G, class L>
void gemv(const PackedMatrix<S, G, L>& w, VectorView<const float> x, VectorView<float> y) {
  if (x.size() != w.cols())
    detail::fail("ref::gemv: x has ", x.size(), " elements, W has ", w.cols(), " columns");
  if (y.size() != w.rows())
    detail::fail("ref::gemv: y has ", y.size(), " elements, W has ", w.rows(), " rows");
  for (Index r = 0; r < w.rows(); ++r) {
    double acc = 0.0;
    for (Index k = 0; k < w.cols(); ++k) {
      const float wk = S::decode(static_cast<typename S::Code>(w.code(r, k)), w.params_at(r, k));
      acc += static_cast<double>(wk) * static_cast<double>(x[k]);
    }
    y[r] = static_cast<float>(acc);
  }
}

/// Y = X·Wᵀ (X: n × k, Y: n × m). Throws Error on shapes.
template <ElementwiseScheme S, Granularity G, class L>
void gemm(const PackedMatrix<S, G, L>& w, MatrixView<const float> x, MatrixView<float> y) {
  if (x.cols() != w.cols())
    detail::fail("ref::gemm: X has ", x.cols(), " columns, W has ", w.cols());
  if (y.rows() != x.rows() || y.cols() != w.rows()) {
    detail::fail("ref::gemm: Y is ", y.rows(), " x ", y.cols(), ", expected ", x.rows(), " x ",
                 w.rows());
  }
  // Decode one weight row at a time, then use it for every activation row.
  std::vector<float> wrow(static_cast<std::size_t>(w.cols()));
  for (Index r = 0; r < w.rows(); ++r) {
    for (Index k = 0; k < w.cols(); ++k) {
      wrow[static_cast<std::size_t>(k)] =
          S::decode(static_cast<typename S::Code>(w.code(r, k)), w.params_at(r, k));
    }
    for (Index t = 0; t < x.rows(); ++t) {
      const float* xt = x.row_ptr(t);
      double acc = 0.0;
      for (Index k = 0; k < w.cols(); ++k)
        acc += static_cast<double>(wrow[static_cast<std::size_t>(k)]) * xt[k];
      y(t, r) = static_cast<float>(acc);
    }
  }
}

}  // namespace lowbit::ref
