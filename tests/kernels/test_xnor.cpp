// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_xnor.cpp: binary weights × binary activations (gemm/xnor.hpp): the popcount
// kernels bit for bit against ref::gemm_xnor on every compiled ISA and thread count, tail sizes
// included; the reference against the dense product of the decoded values; signs, β, bad input.
#include <cmath>
#include <cstring>
#include <vector>

#include "gemm_check.hpp"
#include "lowbit/gemm/xnor.hpp"

using namespace lowbit;

namespace {

template <BinaryOffset O, class T, class G>
void check_xnor(std::uint64_t seed) {
  Context ctx1(1), ctx3(3);
  for (const auto& shape : test::gemm_shapes()) {
    const Index m = shape[0], n = shape[1], k = shape[2];
    const auto wf = test::student_t4(static_cast<std::size_t>(m * k), ++seed);
    const auto w = calib::binarize<O, T, G>(
        MatrixView<const float>(wf.data(), m, k),
        O == BinaryOffset::kMean ? calib::BinaryMethod::kArb : calib::BinaryMethod::kXnor);
    auto xf = test::gaussian(static_cast<std::size_t>(n * k), ++seed);
    for (std::size_t i = 0; i < xf.size(); i += 7) xf[i] = 0.0f;  // sign(0) = +1
    BinaryActivations xb;
    quantize_binary_activations(MatrixView<const float>(xf.data(), n, k), xb);
    std::vector<float> want(static_cast<std::size_t>(n * m));
    ref::gemm_xnor(w, xb, MatrixView<float>(want.data(), n, m));
    // The reference against the dense product of the decoded values (double sums).
    const auto wd = dequantize(w);
    for (Index t = 0; t < n; ++t)
      for (Index r = 0; r < m; ++r) {
        double d = 0.0, mag = 0.0;
        for (Index c = 0; c < k; ++c) {
          const float xv = xf[static_cast<std::size_t>(t * k + c)];
          const double xs = (xv >= 0.0f ? 1.0 : -1.0) * xb.scale(t);
          const double wv = wd[static_cast<std::size_t>(r * k + c)];
          d += wv * xs;
          mag += std::fabs(wv * xs);
        }
        INFO("m=" << m << " n=" << n << " k=" << k << " t=" << t << " r=" << r);
        REQUIRE(std::fabs(want[static_cast<std::size_t>(t * m + r)] - d) <= 1e-5 * mag + 1e-30);
      }
    test::for_each_isa([&](auto tag) {
      using Isa = decltype(tag);
      INFO(std::string(Isa::name())
           << " " << decltype(w)::type_name() << " m=" << m << " n=" << n << " k=" << k);
      std::vector<float> y(static_cast<std::size_t>(n * m), -7.0f);
      gemm_xnor<Isa>(w, xb, MatrixView<float>(y.data(), n, m), ctx1);
      REQUIRE(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) == 0);
      std::fill(y.begin(), y.end(), -7.0f);
      gemm_xnor<Isa>(w, xb, MatrixView<float>(y.data(), n, m), ctx3);
      REQUIRE(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) == 0);
    });
  }
}

}  // namespace

TEST_CASE("gemm_xnor == ref: binary weights × binary activations", "[xnor][binary]") {
  check_xnor<BinaryOffset::kNone, f16, PerChannel>(51);
  check_xnor<BinaryOffset::kMean, f16, PerGroup<64>>(52);
  check_xnor<BinaryOffset::kNone, float, PerGroup<32>>(53);
  check_xnor<BinaryOffset::kMean, bf16, PerGroup<36>>(54);  // groups inside bytes: bit path
}

TEST_CASE("gemm_xnor: popcount kernels on every length", "[xnor]") {
  std::vector<std::byte> a(300), b(300);
  std::uint32_t s = 12345;
  for (std::size_t i = 0; i < a.size(); ++i) {
    s = s * 1664525u + 1013904223u;
    a[i] = std::byte(static_cast<std::uint8_t>(s >> 24));
    b[i] = std::byte(static_cast<std::uint8_t>(s >> 16));
  }
  for (Index n = 0; n <= 260; ++n) {
    std::int64_t want_x = 0, want_a = 0;
    for (Index i = 0; i < n; ++i) {
      const unsigned u = std::to_integer<unsigned>(a[static_cast<std::size_t>(i)]);
      const unsigned v = std::to_integer<unsigned>(b[static_cast<std::size_t>(i)]);
      for (int j = 0; j < 8; ++j) {
        want_x += ((u ^ v) >> j) & 1u;
        want_a += (u >> j) & 1u;
      }
    }
    test::for_each_isa([&](auto tag) {
      using Isa = decltype(tag);
      INFO(Isa::name() << " n=" << n);
      REQUIRE(kernels::popcount_xor<Isa>(a.data(), b.data(), n) == want_x);
      REQUIRE(kernels::popcount_xor<Isa>(a.data(), nullptr, n) == want_a);
    });
  }
}

TEST_CASE("binary activations: signs, β, bad input", "[xnor]") {
  const std::vector<float> x = {0.5f, -1.0f, 0.0f, 2.5f, -0.0f, -3.0f, 1.0f, 0.25f, -0.75f};
  BinaryActivations xb;
  quantize_binary_activations(MatrixView<const float>(x.data(), 1, 9), xb);
  const int want[9] = {1, -1, 1, 1, 1, -1, 1, 1, -1};  // sign(±0) = +1
  for (Index k = 0; k < 9; ++k) CHECK(xb.sign(0, k) == want[k]);
  CHECK(std::fabs(xb.scale(0) - 9.0f / 9.0f) < 1e-6f);  // Σ|x| = 9
  CHECK(std::to_integer<int>(xb.row(0)[1]) == 0);       // bit 8 (-0.75) is 0; the pad bits are 0
  // An all-zero row: β = 0, y = 0.
  const std::vector<float> z(40, 0.0f);
  quantize_binary_activations(MatrixView<const float>(z.data(), 1, 40), xb);
  CHECK(xb.scale(0) == 0.0f);
  const auto wf = test::gaussian(8 * 40, 9);
  const auto w = calib::binarize<BinaryOffset::kNone, f16, PerChannel>(
      MatrixView<const float>(wf.data(), 8, 40), calib::BinaryMethod::kXnor);
  std::vector<float> y(8, 1.0f);
  Context ctx(1);
  gemv_xnor(w, xb, VectorView<float>(y.data(), 8), ctx);
  for (float v : y) CHECK(v == 0.0f);
  // NaN / Inf name the position; shapes are checked.
  std::vector<float> bad(40, 1.0f);
  bad[17] = std::nanf("");
  REQUIRE_THROWS_AS(quantize_binary_activations(MatrixView<const float>(bad.data(), 1, 40), xb),
                    Error);
  BinaryActivations x2;
  quantize_binary_activations(MatrixView<const float>(z.data(), 1, 39), x2);
  REQUIRE_THROWS_AS(gemv_xnor(w, x2, VectorView<float>(y.data(), 8), ctx), Error);
  REQUIRE_THROWS_AS(gemv_xnor(w, xb, VectorView<float>(y.data(), 7), ctx), Error);
}

TEST_CASE("gemm_xnor: popcounts in int64, exact far past 2^31 / 127 columns", "[xnor][overflow]") {
  // Weights all +α (α = 1), activations all +1 (β = 1): y = k exactly, for a k past both the
  // int32 bound of the int8 kernels and fp32's 2^24 (an even k, so k itself is a float).
  const Index k = (Index{1} << 24) + (Index{1} << 20) + 38;
  PackedMatrix<Binary<BinaryOffset::kNone, f16>, PerChannel, Plain> w(2, k);
  for (auto& prm : w.params()) prm.alpha = f16(1.0f);
  for (Index r = 0; r < 2; ++r)
    for (Index c = 0; c < k; ++c) w.set_code(r, c, 1);
  std::vector<float> x(static_cast<std::size_t>(k), 1.0f);
  BinaryActivations xb;
  quantize_binary_activations(MatrixView<const float>(x.data(), 1, k), xb);
  REQUIRE(xb.scale(0) == 1.0f);
  std::vector<float> want(2), got(2);
  ref::gemm_xnor(w, xb, MatrixView<float>(want.data(), 1, 2));
  CHECK(want[0] == static_cast<float>(k));
  test::for_each_isa([&](auto tag) {
    using Isa = decltype(tag);
    Context ctx(2);
    std::fill(got.begin(), got.end(), -7.0f);
    gemv_xnor<Isa>(w, xb, VectorView<float>(got.data(), 2), ctx);
    INFO(std::string(Isa::name()));
    REQUIRE(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
  });
}
