// SPDX-License-Identifier: Apache-2.0
// tests/dispatch/problem.hpp: the weight types the dispatch test instantiates per ISA, and the
// problems it runs (made by problem.cpp, which includes the umbrella; the test itself includes
// only the narrow headers).
#pragma once

#include <vector>

#include "lowbit/weights.hpp"

namespace dispatch_test {
using Sym4 = lowbit::Symmetric<4, lowbit::SymmetricConvention::kSignedMax, lowbit::f16>;
using Asym2 = lowbit::Asymmetric<2, lowbit::AsymmetricOffset::kFloatMin, lowbit::f16>;
using W4 = lowbit::PackedMatrix<Sym4, lowbit::PerGroup<32>, lowbit::Interleaved<16, 32>>;
using W2 = lowbit::PackedMatrix<Asym2, lowbit::PerGroup<64>, lowbit::Interleaved<16, 64>>;

/// Weights, n activation rows and the scalar reference's product (ref::gemm_int8).
template <class W>
struct Problem {
  W w;
  lowbit::Index n = 0;
  std::vector<float> x;     // n × w.cols()
  std::vector<float> want;  // n × w.rows()
};
Problem<W4> make_w4(lowbit::Index m, lowbit::Index k, lowbit::Index n);
Problem<W2> make_w2(lowbit::Index m, lowbit::Index k, lowbit::Index n);
}  // namespace dispatch_test
