// SPDX-License-Identifier: Apache-2.0
// tests/simd/test_f32x8.cpp: the eight-lane float loops on xsimd (simd/f32x8.hpp) against the
// scalar loops they replace, in the same binary (architecture tag simd::NoLanes runs the scalar
// spec), on lengths with tails (1-17, 31-33, 63-65, 127-129); the header's worked example.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "lowbit/calib/rotation.hpp"
#include "lowbit/lowbit.hpp"
#include "lowbit/simd/f32x8.hpp"
#include "support/catch.hpp"
#include "support/rng.hpp"

using namespace lowbit;

namespace {

std::vector<std::size_t> tail_lengths() {
  std::vector<std::size_t> n;
  for (std::size_t i = 1; i <= 17; ++i) n.push_back(i);
  for (std::size_t i : {31u, 32u, 33u, 63u, 64u, 65u, 127u, 128u, 129u, 1000u}) n.push_back(i);
  return n;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

}  // namespace

#if LOWBIT_HAS_F32X8
TEST_CASE("F32x8: the header's worked example", "[f32x8]") {
  using F = simd::F32x8<simd::Arch8>;
  const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const F v = F::splat(0.5f) * F::load(x) - F::splat(1.0f);
  float lanes[8];
  simd::lanes(v, lanes);
  const float expect[8] = {-0.5f, 0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 2.5f, 3.0f};
  double sum = 0.0;
  for (int j = 0; j < 8; ++j) {
    CHECK(lanes[j] == expect[j]);
    sum += lanes[j];
  }
  CHECK(sum == 10.0);
  simd::lanes(v.round_even(), lanes);
  const float rounded[8] = {0.0f, 0.0f, 0.0f, 1.0f, 2.0f, 2.0f, 2.0f, 3.0f};
  for (int j = 0; j < 8; ++j) CHECK(same_bits(lanes[j], rounded[j]));
  std::uint8_t codes[8];
  v.round_even().to_int32().store_as(codes);
  const std::uint8_t expect_codes[8] = {0, 0, 0, 1, 2, 2, 2, 3};
  for (int j = 0; j < 8; ++j) CHECK(codes[j] == expect_codes[j]);
}
#endif

TEST_CASE("range_stats on lanes equals the scalar loop, NaN, Inf and ±0 included", "[f32x8]") {
  for (std::size_t n : tail_lengths()) {
    std::vector<float> x = test::uniform(n, -3.0f, 3.0f, 7 + n);
    for (int variant = 0; variant < 5; ++variant) {
      std::vector<float> y = x;
      const std::size_t at = (n * 5) / 7;
      if (variant == 1) y[at] = std::numeric_limits<float>::quiet_NaN();
      if (variant == 2) y[at] = -std::numeric_limits<float>::infinity();
      if (variant == 3) {  // ±0 as both extremes: which zero wins depends on the order
        for (std::size_t i = 0; i < n; ++i) y[i] = (i % 3 == 0) ? -0.0f : 0.0f;
      }
      if (variant == 4) y[n - 1] = -y[at] * 7.0f;  // the extreme in the tail
      const std::span<const float> s(y);
      const RangeStats fast = detail::range_stats(s);
      const RangeStats ref = detail::range_stats<std::dynamic_extent, simd::NoLanes>(s);
      INFO("n = " << n << ", variant " << variant);
      REQUIRE(fast.finite == ref.finite);
      REQUIRE(same_bits(fast.min, ref.min));
      REQUIRE(same_bits(fast.max, ref.max));
      REQUIRE(same_bits(fast.signed_absmax, ref.signed_absmax));
    }
  }
}

TEST_CASE("int8 and zero-point activations on lanes equal the scalar loops", "[f32x8]") {
  for (std::size_t n : tail_lengths()) {
    const Index k = static_cast<Index>(n);
    std::vector<float> x = test::gaussian(3 * n, 40 + n);
    const MatrixView<const float> xv(x.data(), 3, k);
    Int8Activations fast, ref;
    quantize_activations(xv, fast);
    quantize_activations<simd::NoLanes>(xv, ref);
    ZeroPointActivations zf, zr;
    quantize_activations_minmax(xv, 4, zf);
    quantize_activations_minmax<simd::NoLanes>(xv, 4, zr);
    for (Index r = 0; r < 3; ++r) {
      INFO("n = " << n << ", row " << r);
      REQUIRE(same_bits(fast.scale(r), ref.scale(r)));
      REQUIRE(std::memcmp(fast.row(r), ref.row(r), n) == 0);
      REQUIRE(zf.step(r) == zr.step(r));
      REQUIRE(zf.zero(r) == zr.zero(r));
      REQUIRE(std::memcmp(zf.row(r), zr.row(r), n) == 0);
    }
  }
}

TEST_CASE("group_error on lanes agrees with the scalar loop", "[f32x8]") {
  // Not bit for bit: the lanes sum in float in another order, and x̂ = scale·(code - sub) + offset
  // may differ from S::decode in the last bit. Within 1e-4 relative (the search ranks with it).
  using S = Asymmetric<4, AsymmetricOffset::kFloatMin, f16>;
  for (std::size_t n : tail_lengths()) {
    const std::vector<float> x = test::student_t4(n, 90 + n);
    const std::vector<float> w = test::uniform(n, 0.1f, 2.0f, 91 + n);
    const auto p = S::fit_range(detail::range_stats(std::span<const float>(x)), 0.8f);
    for (bool weighted : {false, true}) {
      const std::span<const float> ws =
          weighted ? std::span<const float>(w) : std::span<const float>();
      const double fast = group_error<S>(x, ws, p);
      const double ref = group_error<S, simd::NoLanes>(x, ws, p);
      INFO("n = " << n << (weighted ? ", weighted" : ""));
      REQUIRE(std::fabs(fast - ref) <= 1e-4 * ref + 1e-12);
    }
  }
}

TEST_CASE("fwht on lanes equals the scalar butterflies bit for bit", "[f32x8][rotation]") {
  for (std::size_t n = 1; n <= 4096; n *= 2) {
    std::vector<float> a = test::gaussian(n, 300 + n), b = a;
    calib::fwht(std::span<float>(a));
    calib::fwht<float, simd::NoLanes>(std::span<float>(b));
    INFO("n = " << n);
    REQUIRE(std::memcmp(a.data(), b.data(), n * sizeof(float)) == 0);
  }
}
