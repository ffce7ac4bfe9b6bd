// SPDX-License-Identifier: Apache-2.0
// examples/runtime_dispatch/weights.hpp: the weight types this program dispatches, and the problem
// it runs (made by problem.cpp, the one file that quantizes).
#pragma once

#include <vector>

#include "lowbit/weights.hpp"

namespace demo {
using Sym4 = lowbit::Symmetric<4, lowbit::SymmetricConvention::kSignedMax, lowbit::f16>;
/// 16-row tiles serve every width: AVX-512 (1 vector), AVX2 (2), SSE4.2 (4).
using Weights = lowbit::PackedMatrix<Sym4, lowbit::PerGroup<32>, lowbit::Interleaved<16, 32>>;

/// Quantized weights, n activation rows and the scalar reference's product of the two.
struct Problem {
  Weights w;
  lowbit::Index n = 0;
  std::vector<float> x;     // n × w.cols()
  std::vector<float> want;  // n × w.rows(), ref::gemm_int8
};
Problem make_problem(lowbit::Index m, lowbit::Index k, lowbit::Index n);
}  // namespace demo
