// SPDX-License-Identifier: Apache-2.0
// tests/quant/test_schemes.cpp: spec properties of Symmetric and Asymmetric (ref:: code).
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/rng.hpp"

using namespace lowbit;

namespace {
template <class S>
std::vector<typename S::Params> sample_params(std::uint64_t seed) {
  // Parameters fitted to groups of many shapes: centred, all-positive, all-negative, tiny, huge.
  std::vector<typename S::Params> out;
  const std::vector<float> g = test::gaussian(64 * 40, seed);
  for (int i = 0; i < 40; ++i) {
    std::vector<float> grp(g.begin() + i * 64, g.begin() + (i + 1) * 64);
    const float shift = (i % 4 == 1) ? 3.0f : (i % 4 == 2) ? -3.0f : 0.0f;
    const float scale = std::ldexp(1.0f, (i % 9) - 4);
    for (auto& v : grp) v = (v + shift) * scale;
    out.push_back(S::fit_range(detail::range_stats(grp), 1.0f));
    out.push_back(S::fit_range(detail::range_stats(grp), 0.6f));
  }
  return out;
}
}  // namespace

#define LOWBIT_ALL_SCHEMES                                     \
  (Symmetric<2, SymmetricConvention::kRestricted, f16>),       \
      (Symmetric<3, SymmetricConvention::kFullRange, f16>),    \
      (Symmetric<4, SymmetricConvention::kSignedMax, f16>),    \
      (Symmetric<8, SymmetricConvention::kSignedMax, bf16>),   \
      (Symmetric<5, SymmetricConvention::kRestricted, float>), \
      (Asymmetric<2, AsymmetricOffset::kIntZero, f16>),        \
      (Asymmetric<3, AsymmetricOffset::kIntZero, bf16>),       \
      (Asymmetric<8, AsymmetricOffset::kIntZero, float>),      \
      (Asymmetric<4, AsymmetricOffset::kFloatMin, f16>),       \
      (Asymmetric<2, AsymmetricOffset::kFloatMin, float>),     \
      (Asymmetric<6, AsymmetricOffset::kFloatMin, bf16>)

TEMPLATE_TEST_CASE("every code level round-trips through decode and encode", "[schemes]",
                   LOWBIT_ALL_SCHEMES) {
  using S = TestType;
  for (const auto& p : sample_params<S>(1)) {
    for (std::uint32_t c = S::kMinCode; c <= S::kMaxCode; ++c) {
      const auto code = static_cast<typename S::Code>(c);
      REQUIRE(S::encode(S::decode(code, p), p) == code);
    }
  }
}

TEMPLATE_TEST_CASE("codes stay in range, are monotonic, and error is at most half a step",
                   "[schemes]", LOWBIT_ALL_SCHEMES) {
  using S = TestType;
  const std::vector<float> xs = test::uniform(4000, -40.0f, 40.0f, 3);
  for (const auto& p : sample_params<S>(2)) {
    const float lo = S::decode(static_cast<typename S::Code>(S::kMinCode), p);
    const float hi = S::decode(static_cast<typename S::Code>(S::kMaxCode), p);
    const float step = std::fabs(S::decode(static_cast<typename S::Code>(S::kMinCode + 1), p) - lo);
    std::vector<float> sorted = xs;
    std::sort(sorted.begin(), sorted.end());
    int prev = -1;
    const bool increasing = hi >= lo;
    for (float x : sorted) {
      const auto c = static_cast<int>(S::encode(x, p));
      REQUIRE(c >= static_cast<int>(S::kMinCode));
      REQUIRE(c <= static_cast<int>(S::kMaxCode));
      if (prev >= 0 && step > 0) REQUIRE((increasing ? c >= prev : c <= prev));
      prev = c;
      const float a = std::fmin(lo, hi), b = std::fmax(lo, hi);
      if (x >= a && x <= b && step > 0) {
        REQUIRE(std::fabs(S::decode(static_cast<typename S::Code>(c), p) - x) <=
                0.5f * step * (1 + 1e-5f) + 1e-30f);
      }
    }
  }
}

TEMPLATE_TEST_CASE("zero-scale groups decode to their offset without dividing by zero", "[schemes]",
                   LOWBIT_ALL_SCHEMES) {
  using S = TestType;
  const std::vector<float> zeros(32, 0.0f);
  const auto p = S::fit_range(detail::range_stats(zeros), 1.0f);
  for (float x : {0.0f, 1.0f, -5.0f, 1e30f}) {
    REQUIRE(S::decode(S::encode(x, p), p) == 0.0f);
  }
}

TEST_CASE("integer zero points and symmetric grids represent 0.0 exactly", "[schemes]") {
  using A2 = Asymmetric<2, AsymmetricOffset::kIntZero, f16>;
  using A4 = Asymmetric<4, AsymmetricOffset::kIntZero, bf16>;
  using A8 = Asymmetric<8, AsymmetricOffset::kIntZero, float>;
  using S3 = Symmetric<3, SymmetricConvention::kFullRange, f16>;
  const std::vector<float> g = test::gaussian(1 << 14, 9);
  for (std::size_t i = 0; i + 64 <= g.size(); i += 64) {
    std::vector<float> grp(g.begin() + static_cast<std::ptrdiff_t>(i),
                           g.begin() + static_cast<std::ptrdiff_t>(i + 64));
    const float shift = static_cast<float>((i / 64) % 7) - 3.0f;  // some groups are all-positive
    for (auto& v : grp) v += shift;
    const RangeStats st = detail::range_stats(grp);
    for (float clip : {1.0f, 0.5f}) {
      REQUIRE(A2::decode(A2::encode(0.0f, A2::fit_range(st, clip)), A2::fit_range(st, clip)) ==
              0.0f);
      REQUIRE(A4::decode(A4::encode(0.0f, A4::fit_range(st, clip)), A4::fit_range(st, clip)) ==
              0.0f);
      REQUIRE(A8::decode(A8::encode(0.0f, A8::fit_range(st, clip)), A8::fit_range(st, clip)) ==
              0.0f);
      REQUIRE(S3::decode(S3::encode(0.0f, S3::fit_range(st, clip)), S3::fit_range(st, clip)) ==
              0.0f);
    }
  }
}

TEST_CASE("symmetric conventions: their scales and levels", "[schemes]") {
  const std::vector<float> grp{0.5f, -2.0f, 1.0f, 1.75f};
  const RangeStats st = detail::range_stats(grp);
  CHECK(st.signed_absmax == -2.0f);
  using R = Symmetric<3, SymmetricConvention::kRestricted, float>;
  using F = Symmetric<3, SymmetricConvention::kFullRange, float>;
  using M = Symmetric<3, SymmetricConvention::kSignedMax, float>;
  CHECK(R::scale(R::fit_range(st, 1.0f)) == 2.0f / 3.0f);
  CHECK(F::scale(F::fit_range(st, 1.0f)) == static_cast<float>(4.0 / 7.0));
  CHECK(M::scale(M::fit_range(st, 1.0f)) == 0.5f);  // -2 / -4: the extreme hits level -4
  const auto pm = M::fit_range(st, 1.0f);
  CHECK(M::encode(-2.0f, pm) == 0);  // level -4 is code 0 ... with a positive scale
  CHECK(M::decode(0, pm) == -2.0f);
  CHECK(R::kMinCode == 1);  // the restricted grid never uses code 0
  // Signed max with a positive extreme: the scale is negative and +amax lands on code 0.
  const std::vector<float> pos{0.5f, 3.0f, -1.0f};
  const auto pp = M::fit_range(detail::range_stats(pos), 1.0f);
  CHECK(M::scale(pp) == -0.75f);
  CHECK(M::decode(M::encode(3.0f, pp), pp) == 3.0f);
  // Ties between equal magnitudes: the first one wins (ggml).
  CHECK(detail::range_stats(std::vector<float>{1.0f, 2.0f, -2.0f}).signed_absmax == 2.0f);
  CHECK(detail::range_stats(std::vector<float>{-2.0f, 2.0f, 1.0f}).signed_absmax == -2.0f);
  // Rounding is half to even on the scaled value.
  const R::Params unit{1.0f};
  CHECK(R::encode(0.5f, unit) == 4);     // 0.5 -> 0
  CHECK(R::encode(1.5f, unit) == 6);     // 1.5 -> 2
  CHECK(R::encode(-2.5f, unit) == 2);    // -2.5 -> -2
  CHECK(R::encode(100.0f, unit) == 7);   // saturates at +3
  CHECK(R::encode(-100.0f, unit) == 1);  // saturates at -3
}

TEST_CASE("asymmetric ranges: integer zero and float minimum", "[schemes]") {
  const std::vector<float> grp{1.0f, 2.0f, 4.0f};  // all positive: int-zero range includes 0
  const RangeStats st = detail::range_stats(grp);
  using I = Asymmetric<2, AsymmetricOffset::kIntZero, float>;
  using F = Asymmetric<2, AsymmetricOffset::kFloatMin, float>;
  const auto pi = I::fit_range(st, 1.0f);
  CHECK(I::scale(pi) == 4.0f / 3.0f);
  CHECK(pi.zero == 0);
  const auto pf = F::fit_range(st, 1.0f);
  CHECK(F::scale(pf) == 1.0f);
  CHECK(F::offset(pf) == 1.0f);
  CHECK(F::decode(F::encode(4.0f, pf), pf) == 4.0f);
  // Stored parameters are the rounded ones, and codes are computed with them.
  using H = Asymmetric<4, AsymmetricOffset::kFloatMin, f16>;
  const std::vector<float> odd{0.1f, 0.7f, 0.33f};
  const auto ph = H::fit_range(detail::range_stats(odd), 1.0f);
  CHECK(H::scale(ph) == f16(static_cast<float>(0.6 / 15.0)).to_float());
  CHECK(H::offset(ph) == f16(0.1f).to_float());
}

TEST_CASE("ref::quantize and ref::dequantize round-trip within half a step", "[reference]") {
  using S = Asymmetric<4, AsymmetricOffset::kIntZero, f16>;
  const std::vector<float> w = test::gaussian(7 * 45, 5);
  const auto q =
      ref::quantize<S, PerGroup<16>>(MatrixView<const float>(w.data(), 7, 45), QuantizeOptions{});
  REQUIRE(q.params.size() == 7 * 3);
  const auto d = ref::dequantize(q);
  for (Index r = 0; r < 7; ++r) {
    for (Index k = 0; k < 45; ++k) {
      const auto& p = q.params[static_cast<std::size_t>(PerGroup<16>::param_index(r, k, 45))];
      REQUIRE(std::fabs(d[static_cast<std::size_t>(r * 45 + k)] -
                        w[static_cast<std::size_t>(r * 45 + k)]) <= 0.5f * S::scale(p) * 1.0001f);
    }
  }
}

TEMPLATE_TEST_CASE("the vector encoder equals the scalar spec, ties and extremes included",
                   "[schemes]", LOWBIT_ALL_SCHEMES) {
  using S = TestType;
  // Values on exact half-steps of every parameter set (x = offset + (q + 0.5)·s), beyond both
  // ends of the range, and random: encode_n must match S::encode on every one.
  for (const auto& p : sample_params<S>(4)) {
    const EncodeAffine e = S::encode_affine(p);
    std::vector<float> xs;
    for (int q = -300; q <= 300; ++q) {
      xs.push_back(e.offset + (static_cast<float>(q) + 0.5f) * e.scale);
      xs.push_back(e.offset + static_cast<float>(q) * e.scale);
    }
    for (float v : test::uniform(97, -1e4f, 1e4f, 5)) xs.push_back(v);
    xs.push_back(0.0f);
    xs.push_back(-0.0f);
    std::vector<typename S::Code> fast(xs.size());
    detail::encode_n(e, xs.data(), xs.size(), fast.data());
    for (std::size_t i = 0; i < xs.size(); ++i) {
      INFO("x = " << xs[i]);
      REQUIRE(fast[i] == S::encode(xs[i], p));
    }
  }
}
