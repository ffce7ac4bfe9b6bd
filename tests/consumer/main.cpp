// SPDX-License-Identifier: Apache-2.0
// tests/consumer/main.cpp: quantize, run the reference GEMV and check the result, as a consumer.
#include <cmath>
#include <cstdio>
#include <vector>

#include <lowbit/lowbit.hpp>

int main() {
  using W = lowbit::Symmetric<4, lowbit::SymmetricConvention::kSignedMax, lowbit::f16>;
  const lowbit::Index m = 8, k = 40;
  std::vector<float> w(m * k), x(k, 1.0f), y(m);
  for (lowbit::Index i = 0; i < m * k; ++i) w[i] = std::sin(0.37f * static_cast<float>(i));
  auto q = lowbit::quantize<W, lowbit::PerGroup<32>, lowbit::Plain>(
      lowbit::MatrixView<const float>(w.data(), m, k), lowbit::QuantizeOptions{});
  lowbit::ref::gemv(q, lowbit::VectorView<const float>(x.data(), k),
                    lowbit::VectorView<float>(y.data(), m));
  for (lowbit::Index r = 0; r < m; ++r) {
    double exact = 0.0;
    for (lowbit::Index c = 0; c < k; ++c) exact += w[r * k + c];
    if (std::fabs(exact - y[r]) > 0.5) {
      std::printf("row %d: %f vs %f\n", static_cast<int>(r), exact, static_cast<double>(y[r]));
      return 1;
    }
  }
  std::printf("lowbit %d.%d.%d consumer OK\n", lowbit::kVersionMajor, lowbit::kVersionMinor,
              lowbit::kVersionPatch);
  return 0;
}
