// SPDX-License-Identifier: Apache-2.0
// lowbit/interop/eigen.hpp: lowbit views of Eigen matrices, and Eigen's fp32 GEMM/GEMV as the
// baseline of tests and benchmarks. Needs the lowbit::eigen target (Eigen 3.3+).
#pragma once

#include <Eigen/Core>

#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"

namespace lowbit::interop {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMapConst = Eigen::Map<const RowMatrixXf, Eigen::Unaligned, Eigen::OuterStride<>>;
using RowMap = Eigen::Map<RowMatrixXf, Eigen::Unaligned, Eigen::OuterStride<>>;

/// A read-only lowbit view of a row-major Eigen matrix, map or block (any outer stride).
template <class Derived>
MatrixView<const float> view(const Eigen::DenseBase<Derived>& m) {
  static_assert(std::is_same_v<typename Derived::Scalar, float>, "interop::view: needs float data");
  static_assert(
      Derived::IsRowMajor || Derived::ColsAtCompileTime == 1 || Derived::RowsAtCompileTime == 1,
      "interop::view: lowbit views are row-major; use a RowMajor matrix or map");
  const auto& d = m.derived();
  if (d.innerStride() != 1)
    detail::fail("interop::view: inner stride ", d.innerStride(), " is not 1");
  return MatrixView<const float>(d.data(), d.rows(), d.cols(),
                                 d.rows() > 1 ? d.outerStride() : d.cols());
}

/// A writable lowbit view of a row-major Eigen matrix, map or block.
template <class Derived>
MatrixView<float> view_mut(Eigen::DenseBase<Derived>& m) {
  static_assert(std::is_same_v<typename Derived::Scalar, float>,
                "interop::view_mut: needs float data");
  static_assert(
      Derived::IsRowMajor || Derived::ColsAtCompileTime == 1 || Derived::RowsAtCompileTime == 1,
      "interop::view_mut: lowbit views are row-major; use a RowMajor matrix or map");
  auto& d = m.derived();
  if (d.innerStride() != 1)
    detail::fail("interop::view_mut: inner stride ", d.innerStride(), " is not 1");
  return MatrixView<float>(d.data(), d.rows(), d.cols(), d.rows() > 1 ? d.outerStride() : d.cols());
}

/// Eigen maps of lowbit views (no copy).
inline RowMapConst map(MatrixView<const float> v) {
  return RowMapConst(v.data(), v.rows(), v.cols(), Eigen::OuterStride<>(v.stride()));
}
inline RowMap map(MatrixView<float> v) {
  return RowMap(v.data(), v.rows(), v.cols(), Eigen::OuterStride<>(v.stride()));
}

/// fp32 baseline with lowbit's GEMM convention: Y (n × m) = X (n × k) · Wᵀ, W dense m × k.
inline void eigen_gemm(MatrixView<const float> w, MatrixView<const float> x, MatrixView<float> y) {
  if (x.cols() != w.cols() || y.rows() != x.rows() || y.cols() != w.rows()) {
    detail::fail("interop::eigen_gemm: shapes W ", w.rows(), "x", w.cols(), ", X ", x.rows(), "x",
                 x.cols(), ", Y ", y.rows(), "x", y.cols(), " do not match Y = X·Wᵀ");
  }
  map(y).noalias() = map(x) * map(w).transpose();
}

/// fp32 baseline GEMV: y (m) = W (m × k) · x (k), contiguous vectors.
inline void eigen_gemv(MatrixView<const float> w, const float* x, float* y) {
  Eigen::Map<const Eigen::VectorXf> xv(x, w.cols());
  Eigen::Map<Eigen::VectorXf> yv(y, w.rows());
  yv.noalias() = map(w) * xv;
}

}  // namespace lowbit::interop
