// SPDX-License-Identifier: Apache-2.0
// examples/runtime_dispatch/main.cpp: built with baseline flags only; quantizes a matrix, runs
// the GEMM on the best ISA this CPU has (chosen at run time) and checks it against the scalar
// reference, bit for bit.
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "lowbit/dispatch/entry.hpp"
#include "weights.hpp"

int main() {
  using namespace lowbit;
  const Index m = 512, k = 1024, n = 8;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  std::vector<float> wf(static_cast<std::size_t>(m * k)), xf(static_cast<std::size_t>(n * k));
  for (auto& v : wf) v = nd(rng);
  for (auto& v : xf) v = nd(rng);
  const auto plain =
      quantize<demo::Sym4, PerGroup<32>, Plain>(MatrixView<const float>(wf.data(), m, k), {});
  const demo::Weights w = repack<Interleaved<16, 32>>(plain);
  Context ctx(2);
  std::vector<float> y(static_cast<std::size_t>(n * m)), want(y.size());
  const std::string_view isa = dispatch::gemm(w, MatrixView<const float>(xf.data(), n, k),
                                              MatrixView<float>(y.data(), n, m), ctx);
  Int8Activations a;
  quantize_activations(MatrixView<const float>(xf.data(), n, k), a);
  ref::gemm_int8(plain, a, MatrixView<float>(want.data(), n, m));
  const bool same = std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) == 0;
  std::printf("runtime dispatch picked %.*s; %s the scalar reference\n",
              static_cast<int>(isa.size()), isa.data(),
              same ? "bit-identical to" : "DIFFERENT from");
  return same ? 0 : 1;
}
