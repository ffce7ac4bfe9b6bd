// SPDX-License-Identifier: Apache-2.0
// examples/runtime_dispatch/problem.cpp: the program's quantization step (in a real program, the
// converter or the loader): quantize, repack, and the scalar reference's answer.
#include <random>

#include "lowbit/lowbit.hpp"
#include "weights.hpp"

demo::Problem demo::make_problem(lowbit::Index m, lowbit::Index k, lowbit::Index n) {
  using namespace lowbit;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  std::vector<float> wf(static_cast<std::size_t>(m * k));
  Problem p;
  p.n = n;
  p.x.resize(static_cast<std::size_t>(n * k));
  for (auto& v : wf) v = nd(rng);
  for (auto& v : p.x) v = nd(rng);
  const auto plain = quantize<Sym4, PerGroup<32>>(MatrixView<const float>(wf.data(), m, k));
  p.w = repack<Interleaved<16, 32>>(plain);
  p.want.resize(static_cast<std::size_t>(n * m));
  Int8Activations a;
  quantize_activations(MatrixView<const float>(p.x.data(), n, k), a);
  ref::gemm_int8(plain, a, MatrixView<float>(p.want.data(), n, m));
  return p;
}
