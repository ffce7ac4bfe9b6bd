// SPDX-License-Identifier: Apache-2.0
// tests/calib/test_rotation.cpp: the randomized Hadamard rotation: the FWHT against the
// Sylvester matrix, Q orthogonal with Qᵀ its inverse, W·x preserved to 1e-5 relative for powers
// of two and not (the block scheme), outliers spread, the stored form, Q·H·Qᵀ for GPTQ, and
// importance-weighted GPTQ fits.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "lowbit/calib/gptq.hpp"
#include "lowbit/calib/rotation.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"

using namespace lowbit;
using calib::HadamardRotation;

namespace {
std::vector<float> randn(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}
// Q·e_j, the j-th column of Q.
template <class T>
std::vector<T> column(const HadamardRotation& q, Index j) {
  std::vector<T> e(static_cast<std::size_t>(q.size()), T{0}), tmp;
  e[static_cast<std::size_t>(j)] = T{1};
  q.apply(std::span<T>(e), tmp);
  return e;
}
// Sylvester H_n(i, j) = (-1)^popcount(i & j).
double sylvester(std::size_t i, std::size_t j) {
  return __builtin_popcountll(i & j) % 2 ? -1.0 : 1.0;
}
}  // namespace

TEST_CASE("fwht: the orthonormal Sylvester Hadamard transform", "[rotation]") {
  for (std::size_t n : {1u, 2u, 4u, 8u, 16u, 64u, 128u}) {
    const std::vector<float> x = randn(n, static_cast<unsigned>(n));
    std::vector<double> y(x.begin(), x.end());
    calib::fwht(std::span<double>(y));
    for (std::size_t i = 0; i < n; ++i) {
      double want = 0.0;
      for (std::size_t j = 0; j < n; ++j) want += sylvester(i, j) * x[j];
      want /= std::sqrt(static_cast<double>(n));
      REQUIRE(std::fabs(y[i] - want) <= 1e-12 * (1.0 + std::fabs(want)));
    }
  }
  std::vector<float> bad(12);
  REQUIRE_THROWS_AS(calib::fwht(std::span<float>(bad)), Error);
}

TEST_CASE("rotation: blocks of the binary decomposition", "[rotation]") {
  using B = std::vector<std::pair<Index, Index>>;
  CHECK(HadamardRotation::blocks(172) == B{{0, 128}, {128, 32}, {160, 8}, {168, 4}});
  CHECK(HadamardRotation::blocks(64) == B{{0, 64}});
  CHECK(HadamardRotation::blocks(13) == B{{0, 8}, {8, 4}, {12, 1}});
  CHECK(HadamardRotation(64, 1).rounds() == 1);
  CHECK(HadamardRotation(172, 1).rounds() == 2);
}

TEST_CASE("rotation: Q is orthogonal and preserves W·x to 1e-5", "[rotation]") {
  std::vector<Index> sizes;
  for (Index n = 1; n <= 17; ++n) sizes.push_back(n);
  for (Index n : {31, 32, 33, 63, 64, 65, 127, 128, 129, 172, 688, 4096}) sizes.push_back(n);
  for (Index n : sizes) {
    INFO("n = " << n);
    const HadamardRotation q(n, 42 + static_cast<std::uint64_t>(n));
    // Q·Qᵀ = I column by column (in double).
    if (n <= 200) {
      std::vector<double> tmp;
      for (Index j = 0; j < n; ++j) {
        std::vector<double> e = column<double>(q, j);
        double norm = 0.0;
        for (double v : e) norm += v * v;
        REQUIRE(std::fabs(norm - 1.0) <= 1e-12);
        q.apply_transpose(std::span<double>(e), tmp);
        for (Index i = 0; i < n; ++i)
          REQUIRE(std::fabs(e[static_cast<std::size_t>(i)] - (i == j ? 1.0 : 0.0)) <= 1e-12);
      }
    }
    // (W·Qᵀ)·(Q·x) = W·x in float, to 1e-5 of ‖W‖·‖x‖ per output row.
    const Index rows = 7;
    std::vector<float> w = randn(static_cast<std::size_t>(rows * n), 1),
                       x = randn(static_cast<std::size_t>(n), 2);
    const std::vector<float> w0 = w, x0 = x;
    q.apply_rows(MatrixView<float>(w.data(), rows, n));
    q.apply_rows(MatrixView<float>(x.data(), 1, n));
    for (Index r = 0; r < rows; ++r) {
      double want = 0.0, got = 0.0, scale = 0.0, xs = 0.0;
      for (Index k = 0; k < n; ++k) {
        const std::size_t i = static_cast<std::size_t>(r * n + k), j = static_cast<std::size_t>(k);
        want += static_cast<double>(w0[i]) * x0[j];
        got += static_cast<double>(w[i]) * x[j];
        scale += static_cast<double>(w0[i]) * w0[i];
        xs += static_cast<double>(x0[j]) * x0[j];
      }
      REQUIRE(std::fabs(got - want) <= 1e-5 * std::sqrt(scale * xs));
    }
  }
}

TEST_CASE("rotation: an outlier channel is spread over the row", "[rotation]") {
  for (Index n : {64, 172}) {
    INFO("n = " << n);
    // One channel at a time: after Q no output keeps more than a quarter of the energy for the
    // power of two (it is exactly 1/n there), and on average 1/n-ish for 172 with two rounds.
    double worst = 0.0, mean_max = 0.0;
    const HadamardRotation q(n, 7);
    for (Index j = 0; j < n; ++j) {
      const std::vector<float> e = column<float>(q, j);
      double mx = 0.0;
      for (float v : e) mx = std::max(mx, static_cast<double>(v) * v);
      worst = std::max(worst, mx);
      mean_max += mx / static_cast<double>(n);
    }
    if (n == 64) CHECK(std::fabs(worst - 1.0 / 64) < 1e-6);
    if (n == 172) {
      CHECK(worst <= 0.25);     // never left in a 4-block alone
      CHECK(mean_max <= 0.05);  // typically spread over > 20 outputs
    }
  }
}

TEST_CASE("rotation: the stored form and its errors", "[rotation]") {
  const HadamardRotation q(172, 0x123456789abcdefull);
  const HadamardRotation r = HadamardRotation::from_ints(q.to_ints());
  CHECK(r.size() == 172);
  CHECK(r.seed() == q.seed());
  std::vector<float> a = randn(172, 3), b = a, tmp;
  q.apply(std::span<float>(a), tmp);
  r.apply(std::span<float>(b), tmp);
  CHECK(a == b);
  // A different seed is a different rotation.
  std::vector<float> c = randn(172, 3);
  HadamardRotation(172, 1).apply(std::span<float>(c), tmp);
  CHECK(c != a);
  using V = std::vector<std::int32_t>;
  for (const V& bad : {V{}, V{172, 1, 0}, V{0, 1, 0, 0}, V{-3, 1, 0, 0}, V{172, 2, 0, 0},
                       V{(1 << 30) + 1, 1, 0, 0}}) {
    REQUIRE_THROWS_AS(HadamardRotation::from_ints(bad), Error);
  }
  std::vector<float> wrong(100);
  REQUIRE_THROWS_AS(q.apply(std::span<float>(wrong), tmp), Error);
  REQUIRE_THROWS_AS(HadamardRotation(0, 1), Error);
}

TEST_CASE("rotation: rotate_hessian is Q·H·Qᵀ, the Hessian of the rotated inputs", "[rotation]") {
  for (Index n : {16, 40}) {
    const Index T = 300;
    std::vector<float> x = randn(static_cast<std::size_t>(T * n), 5);
    for (Index t = 0; t < T; ++t) x[static_cast<std::size_t>(t * n)] *= 10.0f;  // a loud channel
    calib::Hessian h(n), hr(n);
    h.add(MatrixView<const float>(x.data(), T, n));
    const HadamardRotation q(n, 9);
    q.apply_rows(MatrixView<float>(x.data(), T, n));
    hr.add(MatrixView<const float>(x.data(), T, n));
    Eigen::MatrixXd got = h.matrix();
    calib::rotate_hessian(q, got);
    const Eigen::MatrixXd want = hr.matrix();
    REQUIRE((got - want).cwiseAbs().maxCoeff() <= 1e-4 * want.cwiseAbs().maxCoeff());
    Eigen::MatrixXd wrong(n + 1, n + 1);
    REQUIRE_THROWS_AS(calib::rotate_hessian(q, wrong), Error);
  }
}

TEST_CASE("gptq: importance weights the group fits; bad importance is an error", "[gptq]") {
  using S = Asymmetric<2, AsymmetricOffset::kFloatMin, f16>;
  const Index rows = 24, cols = 64, T = 400;
  const std::vector<float> w = randn(static_cast<std::size_t>(rows * cols), 21);
  std::vector<float> x = randn(static_cast<std::size_t>(T * cols), 22);
  for (Index t = 0; t < T; ++t)
    for (Index c = 0; c < cols; c += 8) x[static_cast<std::size_t>(t * cols + c)] *= 6.0f;
  calib::Hessian hs(cols);
  hs.add(MatrixView<const float>(x.data(), T, cols));
  const Eigen::MatrixXd h = hs.matrix();
  const MatrixView<const float> wv(w.data(), rows, cols);
  calib::GptqOptions plain, weighted;
  plain.fit.range = weighted.fit.range = RangeFit::kClipSearch;
  weighted.importance.resize(static_cast<std::size_t>(cols));
  for (Index c = 0; c < cols; ++c)
    weighted.importance[static_cast<std::size_t>(c)] = static_cast<float>(h(c, c));
  auto out_err = [&](const std::vector<float>& wd) {
    Eigen::MatrixXd d(rows, cols);
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c)
        d(r, c) = static_cast<double>(wv(r, c)) - wd[static_cast<std::size_t>(r * cols + c)];
    return (d * h * d.transpose()).trace();
  };
  const double e_plain = out_err(dequantize(calib::gptq<S, PerGroup<32>>(wv, h, plain)));
  const double e_imp = out_err(dequantize(calib::gptq<S, PerGroup<32>>(wv, h, weighted)));
  INFO("plain " << e_plain << ", importance-weighted " << e_imp);
  CHECK(e_imp < e_plain);
  calib::GptqOptions bad = weighted;
  bad.importance.pop_back();
  REQUIRE_THROWS_AS((calib::gptq<S, PerGroup<32>>(wv, h, bad)), Error);
  bad = weighted;
  bad.importance[3] = -1.0f;
  REQUIRE_THROWS_AS((calib::gptq<S, PerGroup<32>>(wv, h, bad)), Error);
  bad.importance[3] = NAN;
  REQUIRE_THROWS_AS((calib::gptq<S, PerGroup<32>>(wv, h, bad)), Error);
}
