// SPDX-License-Identifier: Apache-2.0
// examples/fast_path.cpp: the README's first example, whole: quantize, repack, multiply.
#include <cstdio>
#include <lowbit/lowbit.hpp>
#include <vector>
using namespace lowbit;

int main() {
  const Index rows = 4096, cols = 4096;
  std::vector<float> w(rows * cols, 0.01f), x(cols, 1.0f), y(rows);  // your weights and input
  using Q4 = Symmetric<4, SymmetricConvention::kSignedMax, f16>;     // llama.cpp Q4_0's math
  auto plain = quantize<Q4, PerGroup<32>>(MatrixView<const float>(w.data(), rows, cols));
  auto fast = repack<KernelLayout<>>(plain);  // the tile layout of this CPU's kernels
  Context ctx(2);                             // threads; results never depend on the count
  gemv(fast, VectorView<const float>(x.data(), cols), VectorView<float>(y.data(), rows), ctx);
  std::printf("%s: y[0] = %.3f\n", kernel_name<decltype(fast)>().c_str(), y[0]);
}
