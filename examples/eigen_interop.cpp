// SPDX-License-Identifier: Apache-2.0
// examples/eigen_interop.cpp: quantize an Eigen matrix in place of a float array, run the
// reference GEMM on it, and compare with Eigen's fp32 product.
#include <cstdio>

#include "lowbit/interop/eigen.hpp"
#include "lowbit/lowbit.hpp"

int main() {
  using namespace lowbit;
  using Scheme = Asymmetric<4, AsymmetricOffset::kFloatMin, f16>;
  interop::RowMatrixXf w =
      interop::RowMatrixXf::Random(256, 512);  // weights: 256 outputs x 512 inputs
  interop::RowMatrixXf x = interop::RowMatrixXf::Random(8, 512);  // 8 tokens
  QuantizeOptions opt;
  opt.fit.range = RangeFit::kClipSearch;
  opt.fit.refit_iters = 2;
  const auto q = quantize<Scheme, PerGroup<64>, Plain>(interop::view(w), opt);
  interop::RowMatrixXf y(8, 256), y_fp32(8, 256);
  ref::gemm(q, interop::view(x), interop::view_mut(y));
  interop::eigen_gemm(interop::view(w), interop::view(x), interop::view_mut(y_fp32));
  const double rel = (y - y_fp32).norm() / y_fp32.norm();
  std::printf("%s: %.3f bits/weight, GEMM relative error vs Eigen fp32 %.4f\n",
              decltype(q)::type_name().c_str(), q.bits_per_weight(), rel);
  return rel < 0.1 ? 0 : 1;
}
