// SPDX-License-Identifier: Apache-2.0
// tests/dispatch/problem.cpp: quantizes the dispatch test's problems and computes the reference.
#include "problem.hpp"

#include "lowbit/lowbit.hpp"
#include "support/rng.hpp"

namespace dispatch_test {
namespace {
template <class S, class G, class L>
Problem<lowbit::PackedMatrix<S, G, L>> make(lowbit::Index m, lowbit::Index k, lowbit::Index n) {
  using namespace lowbit;
  const auto wf = test::gaussian(static_cast<std::size_t>(m * k), 11);
  Problem<PackedMatrix<S, G, L>> p;
  p.n = n;
  p.x = test::gaussian(static_cast<std::size_t>(n * k), 12);
  const auto plain = quantize<S, G>(MatrixView<const float>(wf.data(), m, k));
  p.w = repack<L>(plain);
  p.want.resize(static_cast<std::size_t>(n * m));
  Int8Activations a;
  quantize_activations(MatrixView<const float>(p.x.data(), n, k), a);
  ref::gemm_int8(plain, a, MatrixView<float>(p.want.data(), n, m));
  return p;
}
}  // namespace

Problem<W4> make_w4(lowbit::Index m, lowbit::Index k, lowbit::Index n) {
  return make<Sym4, lowbit::PerGroup<32>, lowbit::Interleaved<16, 32>>(m, k, n);
}
Problem<W2> make_w2(lowbit::Index m, lowbit::Index k, lowbit::Index n) {
  return make<Asym2, lowbit::PerGroup<64>, lowbit::Interleaved<16, 64>>(m, k, n);
}
}  // namespace dispatch_test
