// SPDX-License-Identifier: Apache-2.0
// tests/quant/test_dual_bound.cpp: DualBound<Bits> (DDTB) and the zero-point
// activations built on it (quant/activation.hpp).
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "lowbit/io/serialize.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/rng.hpp"

using namespace lowbit;

namespace {

/// §3 written out in double where it is exact and in float where DDTB computes in float:
/// S = (2^b-1)/(u-l), Z = rint(S·l) + 2^(b-1), q = rint(S·clip(x,l,u) - Z), no clamp.
struct Spec {
  float s = 0.0f;
  int z_big = 0;  // DDTB's Z
  int half = 0;
  Spec(DualBoundRange r, int bits) {
    half = 1 << (bits - 1);
    s = static_cast<float>((1 << bits) - 1) / (r.upper - r.lower);
    z_big = static_cast<int>(std::nearbyint(s * r.lower)) + half;
  }
  int q_unclamped(float x, DualBoundRange r) const {
    const float c = std::fmin(std::fmax(x, r.lower), r.upper);
    return static_cast<int>(std::nearbyint(s * c - static_cast<float>(z_big)));
  }
};

std::vector<DualBoundRange> sample_ranges(std::uint64_t seed) {
  std::vector<DualBoundRange> out;
  const std::vector<float> u = test::uniform(400, 0.0f, 1.0f, seed);
  for (std::size_t i = 0; i + 1 < u.size(); i += 2) {
    const float mag = std::ldexp(1.0f, static_cast<int>(i % 13) - 6);
    out.push_back({-mag * u[i], mag * (u[i + 1] + 0.01f)});
  }
  out.push_back({0.0f, 3.0f});   // all-positive range
  out.push_back({-2.5f, 0.0f});  // all-negative range
  return out;
}

template <int B>
void check_scheme_against_spec() {
  using D = DualBound<B>;
  const std::vector<float> xs = test::uniform(3000, -70.0f, 70.0f, 7 + B);
  for (const DualBoundRange& r : sample_ranges(B)) {
    const Spec spec(r, B);
    const float step = D::decode(1, r) - D::decode(0, r);
    for (float x0 : xs) {
      const float x = x0 * (r.upper - r.lower) / 40.0f;
      const int c = D::encode(x, r);
      const int q = spec.q_unclamped(x, r);
      // The clamp after rounding is the only difference from DDTB's formula.
      REQUIRE(c - spec.half == std::clamp(q, -spec.half, spec.half - 1));
      REQUIRE(c >= 0);
      REQUIRE(c <= D::kLevels);
      // Decode: x̂ = Δ·(c - z) with z = 2^(b-1) - Z, within half a step inside the range.
      const float xh = D::decode(static_cast<std::uint8_t>(c), r);
      REQUIRE(xh == ((r.upper - r.lower) / static_cast<float>(D::kLevels)) *
                        static_cast<float>(c - (spec.half - spec.z_big)));
      if (x >= r.lower && x <= r.upper) REQUIRE(std::fabs(xh - x) <= 0.5f * step * 1.0001f);
    }
    // Zero is exact, and every level round-trips.
    REQUIRE(D::decode(D::encode(0.0f, r), r) == 0.0f);
    for (int c = 0; c <= D::kLevels; ++c)
      REQUIRE(D::encode(D::decode(static_cast<std::uint8_t>(c), r), r) == c);
  }
}

}  // namespace

TEST_CASE("DualBound encodes as DDTB with a clamp after rounding", "[dual_bound]") {
  check_scheme_against_spec<2>();
  check_scheme_against_spec<3>();
  check_scheme_against_spec<4>();
  check_scheme_against_spec<8>();
}

TEST_CASE("DualBound's clamp catches §3's one-level overflow", "[dual_bound]") {
  // S = 1 and l = -1.5: rint(-1.5) = -2 (half to even), Z = 6, and S·u - Z = 13.5 - 6 = 7.5
  // rounds to 8, one level past the 4-bit signed range [-8, 7].
  const DualBoundRange r{-1.5f, 13.5f};  // S = 1
  const Spec spec(r, 4);
  REQUIRE(spec.s == 1.0f);
  REQUIRE(spec.q_unclamped(r.upper, r) == 8);  // the overflow DDTB's code leaves in
  REQUIRE(DualBound<4>::encode(r.upper, r) == 15);
  REQUIRE(DualBound<4>::encode(1e9f, r) == 15);
  REQUIRE(DualBound<4>::encode(-1e9f, r) == 0);
}

TEST_CASE("DualBound's vector encoder equals the scalar spec on every length", "[dual_bound]") {
  const std::vector<float> xs = test::uniform(300, -9.0f, 9.0f, 21);
  for (int bits : {2, 4, 8}) {
    for (const DualBoundRange& r : sample_ranges(30 + static_cast<std::uint64_t>(bits))) {
      const detail::DualBoundAffine a = detail::dual_bound_affine(r, bits);
      for (std::size_t n : {1u, 7u, 8u, 9u, 17u, 31u, 33u, 64u, 129u, 300u}) {
        std::vector<float> x(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(n));
        for (float& v : x) v *= r.upper - r.lower;
        x[0] = std::numeric_limits<float>::quiet_NaN();
        std::vector<std::uint8_t> got(n);
        detail::dual_bound_encode_n(a, x.data(), n, got.data());
        for (std::size_t i = 0; i < n; ++i)
          REQUIRE(static_cast<int>(got[i]) == detail::dual_bound_encode(a, x[i]));
      }
    }
  }
}

TEST_CASE("DualBound: zero-width ranges, bad ranges and serialization", "[dual_bound]") {
  using D = DualBound<4>;
  const DualBoundRange zero{0.0f, 0.0f};
  REQUIRE(D::check_params(zero) == nullptr);
  for (float x : {0.0f, 2.0f, -1e30f}) REQUIRE(D::decode(D::encode(x, zero), zero) == 0.0f);
  REQUIRE(D::check_params({0.5f, 1.0f}) != nullptr);    // l > 0
  REQUIRE(D::check_params({-1.0f, -0.5f}) != nullptr);  // u < 0
  REQUIRE(D::check_params({-INFINITY, 1.0f}) != nullptr);
  REQUIRE(D::check_params({-3e38f, 3e38f}) != nullptr);  // width overflows
  std::byte buf[8];
  const DualBoundRange r{-1.25f, 3.5f};
  D::write_params(r, buf);
  REQUIRE(D::read_params(buf) == r);
}

TEST_CASE("DualBound as a weight scheme: quantize, GEMM and file round trip", "[dual_bound]") {
  using D = DualBound<4>;
  const Index m = 19, k = 96;
  std::vector<float> w = test::gaussian(static_cast<std::size_t>(m * k), 5);
  for (Index r = 0; r < m; ++r) w[static_cast<std::size_t>(r * k)] += 3.0f;  // asymmetric groups
  const MatrixView<const float> wv(w.data(), m, k);
  const QuantizeOptions opt;
  const auto pm = quantize<D, PerGroup<32>, Plain>(wv, opt);
  std::vector<float> back(w.size()), back_a(w.size());
  dequantize(pm, MatrixView<float>(back.data(), m, k));
  const auto asym =
      quantize<Asymmetric<4, AsymmetricOffset::kIntZero, float>, PerGroup<32>, Plain>(wv, opt);
  dequantize(asym, MatrixView<float>(back_a.data(), m, k));
  double e = 0.0, ea = 0.0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    e += (w[i] - back[i]) * (w[i] - back[i]);
    ea += (w[i] - back_a[i]) * (w[i] - back_a[i]);
  }
  // The same min/max range as the integer-zero asymmetric scheme (in fp32): the same error up to
  // the rounding of S·x versus x/s.
  REQUIRE(std::fabs(e - ea) <= 1e-3 * ea);
  // The integer kernels run it through decode_affine (any ISA, against the reference).
  const auto il = repack<Interleaved<16, 32>>(pm);
  Int8Activations xq;
  const std::vector<float> x = test::gaussian(static_cast<std::size_t>(3 * k), 6);
  quantize_activations(MatrixView<const float>(x.data(), 3, k), xq);
  std::vector<float> y(3 * m), yr(3 * m);
  Context ctx(1);
  gemm_int8(il, xq, MatrixView<float>(y.data(), 3, m), ctx);
  ref::gemm_int8(pm, xq, MatrixView<float>(yr.data(), 3, m));
  REQUIRE(y == yr);
  // File round trip.
  const std::vector<std::byte> img = io::serialize(pm);
  const auto pm2 = io::deserialize<PackedMatrix<D, PerGroup<32>, Plain>>(img);
  std::vector<float> back2(w.size());
  dequantize(pm2, MatrixView<float>(back2.data(), m, k));
  REQUIRE(back2 == back);
}

TEST_CASE("zero-point activations: static, per-token min/max and per-row ranges", "[dual_bound]") {
  const Index n = 5, k = 70;
  std::vector<float> x = test::gaussian(static_cast<std::size_t>(n * k), 8);
  for (Index c = 0; c < k; ++c) x[static_cast<std::size_t>(2 * k + c)] = 0.0f;   // an all-zero row
  for (Index c = 0; c < k; ++c) x[static_cast<std::size_t>(3 * k + c)] += 4.0f;  // all positive
  const MatrixView<const float> xv(x.data(), n, k);
  for (int bits : {3, 4, 8}) {
    const int levels = (1 << bits) - 1;
    ZeroPointActivations q;
    // Per-token min/max: each row's range includes 0, the extremes decode to within half a step.
    quantize_activations_minmax(xv, bits, q);
    REQUIRE(q.bits() == bits);
    for (Index r = 0; r < n; ++r) {
      float lo = 0.0f, hi = 0.0f;
      for (Index c = 0; c < k; ++c) {
        lo = std::fmin(lo, xv(r, c));
        hi = std::fmax(hi, xv(r, c));
      }
      REQUIRE(q.step(r) == (hi - lo) / static_cast<float>(levels));
      REQUIRE(q.zero(r) >= 0);
      REQUIRE(q.zero(r) <= levels);
      for (Index c = 0; c < k; ++c) {
        REQUIRE(static_cast<int>(q.row(r)[c]) <= levels);
        REQUIRE(std::fabs(q.value(r, c) - xv(r, c)) <= 0.5f * q.step(r) * 1.0001f);
      }
      for (Index c = k; c < q.stride(); ++c) REQUIRE(q.row(r)[c] == 0);  // padding
    }
    REQUIRE(q.step(2) == 0.0f);
    REQUIRE(q.value(2, 5) == 0.0f);
    // Static: every row with the same constants, equal to the scheme's encode.
    const DualBoundRange range{-1.0f, 1.5f};
    quantize_activations_static(xv, range, bits, q);
    const detail::DualBoundAffine a = detail::dual_bound_affine(range, bits);
    for (Index r = 0; r < n; ++r) {
      REQUIRE(q.step(r) == a.step);
      REQUIRE(q.zero(r) == a.zero);
      for (Index c = 0; c < k; ++c)
        REQUIRE(static_cast<int>(q.row(r)[c]) == detail::dual_bound_encode(a, xv(r, c)));
    }
    // Per row.
    std::vector<DualBoundRange> ranges(static_cast<std::size_t>(n));
    for (Index r = 0; r < n; ++r)
      ranges[static_cast<std::size_t>(r)] = {-0.5f * static_cast<float>(r), 1.0f + r};
    quantize_activations_ranges(xv, ranges, bits, q);
    for (Index r = 0; r < n; ++r) {
      const detail::DualBoundAffine ar =
          detail::dual_bound_affine(ranges[static_cast<std::size_t>(r)], bits);
      REQUIRE(q.step(r) == ar.step);
      REQUIRE(q.zero(r) == ar.zero);
    }
  }
}

TEST_CASE("zero-point activations: bad input gets a clear error", "[dual_bound][bad_input]") {
  std::vector<float> x(3 * 10, 0.5f);
  ZeroPointActivations q;
  REQUIRE_THROWS_AS(ZeroPointActivations(2, 4, 9), Error);
  REQUIRE_THROWS_AS(quantize_activations_minmax(MatrixView<const float>(x.data(), 3, 10), 1, q),
                    Error);
  x[13] = std::numeric_limits<float>::quiet_NaN();
  REQUIRE_THROWS_WITH(quantize_activations_minmax(MatrixView<const float>(x.data(), 3, 10), 4, q),
                      LOWBIT_CONTAINS("row 1, column 3"));
  x[13] = 0.5f;
  REQUIRE_THROWS_WITH(
      quantize_activations_static(MatrixView<const float>(x.data(), 3, 10), {0.1f, 1.0f}, 4, q),
      LOWBIT_CONTAINS("l <= 0 <= u"));
  const std::vector<DualBoundRange> two(2, DualBoundRange{-1.0f, 1.0f});
  REQUIRE_THROWS_WITH(
      quantize_activations_ranges(MatrixView<const float>(x.data(), 3, 10), two, 4, q),
      LOWBIT_CONTAINS("2 ranges for 3 rows"));
}
