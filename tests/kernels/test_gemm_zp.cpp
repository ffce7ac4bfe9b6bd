// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_gemm_zp.cpp: zero-point activations (W4A4, W4A8, W2A8, ...): gemm_zp equals
// ref::gemm_zp bit for bit on every compiled ISA and thread count, and ref::gemm_zp is the
// product of the dequantized operands within fp32 rounding.
#include <cmath>
#include <vector>

#include "kernels/gemm_check.hpp"

using namespace lowbit;

namespace {

/// Activations of n × k at `bits` bits: per-token min/max, with a shifted row (zero point at the
/// code range's end) and an all-zero row when n allows.
ZeroPointActivations make_acts(Index n, Index k, int bits, std::uint64_t seed, bool per_token) {
  std::vector<float> x = test::gaussian(static_cast<std::size_t>(n * k), seed);
  for (Index c = 0; c < k; ++c) {
    if (n > 1) x[static_cast<std::size_t>(k + c)] = std::fabs(x[static_cast<std::size_t>(k + c)]);
    if (n > 2) x[static_cast<std::size_t>(2 * k + c)] = 0.0f;
    if (n > 3)
      x[static_cast<std::size_t>(3 * k + c)] = -std::fabs(x[static_cast<std::size_t>(3 * k + c)]);
  }
  ZeroPointActivations q;
  const MatrixView<const float> xv(x.data(), n, k);
  if (per_token) {
    quantize_activations_minmax(xv, bits, q);
  } else {
    quantize_activations_static(xv, {-1.7f, 2.3f}, bits, q);
  }
  return q;
}

template <class S, class G, class L>
void check_zp(Index m, Index n, Index k, int bits, std::uint64_t seed) {
  const std::vector<float> wf = test::gaussian(static_cast<std::size_t>(m * k), seed);
  const auto plain = test::Fitter<S>::template fit<G>(MatrixView<const float>(wf.data(), m, k));
  const auto w = repack<L>(plain);
  const ZeroPointRowSums sums(w);
  for (bool per_token : {true, false}) {
    const ZeroPointActivations x = make_acts(n, k, bits, seed + 1, per_token);
    std::vector<float> yr(static_cast<std::size_t>(n * m));
    ref::gemm_zp(plain, x, MatrixView<float>(yr.data(), n, m));
    test::for_each_isa([&](auto isa) {
      using Isa = decltype(isa);
      for (int threads : {1, 3}) {
        Context ctx(threads);
        std::vector<float> y(yr.size(), -1.0f);
        gemm_zp<Isa>(w, sums, x, MatrixView<float>(y.data(), n, m), ctx);
        INFO(Isa::name() << " " << S::name() << " m " << m << " n " << n << " k " << k << " a"
                         << bits << " threads " << threads << " per-token " << per_token);
        REQUIRE(std::memcmp(y.data(), yr.data(), y.size() * sizeof(float)) == 0);
      }
    });
  }
}

}  // namespace

TEST_CASE("ref::gemm_zp is the product of the dequantized operands", "[gemm][zp]") {
  using S = Asymmetric<4, AsymmetricOffset::kFloatMin, f16>;  // offset term included
  const Index m = 13, n = 6, k = 97;
  const std::vector<float> wf = test::gaussian(static_cast<std::size_t>(m * k), 3);
  const auto w = quantize<S, PerGroup<32>, Plain>(MatrixView<const float>(wf.data(), m, k), {});
  std::vector<float> wd(static_cast<std::size_t>(m * k));
  dequantize(w, MatrixView<float>(wd.data(), m, k));
  for (int bits : {3, 4, 8}) {
    const ZeroPointActivations x = make_acts(n, k, bits, 4, true);
    std::vector<float> y(static_cast<std::size_t>(n * m));
    ref::gemm_zp(w, x, MatrixView<float>(y.data(), n, m));
    // The zero point is applied once per row in fp32 (fma(-z', C_r, acc)): the error is bounded
    // by the magnitudes of both parts, Σ|ŵ|·(|a'| + |z'|)·Δ.
    const int o = bits == 8 ? 128 : 0;
    for (Index t = 0; t < n; ++t)
      for (Index r = 0; r < m; ++r) {
        double dot = 0.0, mag = 0.0;
        for (Index c = 0; c < k; ++c) {
          const double wv = wd[static_cast<std::size_t>(r * k + c)];
          dot += wv * x.value(t, c);
          mag += std::fabs(wv) * (std::abs(x.row(t)[c] - o) + std::abs(x.zero(t) - o)) * x.step(t);
        }
        REQUIRE(std::fabs(y[static_cast<std::size_t>(t * m + r)] - dot) <= 1e-6 * mag + 1e-30);
      }
  }
}

TEST_CASE("gemm_zp (W4A4, W4A8) equals ref::gemm_zp on every ISA", "[gemm][zp]") {
  using S4 = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  using A4 = Asymmetric<4, AsymmetricOffset::kFloatMin, f16>;
  for (const auto& [m, n, k] : test::gemm_shapes()) {
    if (m * n * k > 40000) continue;
    for (int bits : {4, 8}) {
      check_zp<S4, PerGroup<32>, Interleaved<16, 32>>(m, n, k, bits,
                                                      11 + static_cast<std::uint64_t>(k));
      check_zp<A4, PerGroup<64>, Interleaved<16, 32>>(m, n, k, bits,
                                                      12 + static_cast<std::uint64_t>(m));
    }
  }
  // Larger panels and groups.
  check_zp<S4, PerGroup<32>, Interleaved<16, 32>>(64, 64, 300, 4, 5);
  check_zp<A4, PerGroup<64>, Interleaved<16, 32>>(129, 17, 257, 8, 6);
}

TEST_CASE("gemm_zp (W2A8, W3, W8, dual-bound, per-channel, half-block groups) equals ref::gemm_zp",
          "[gemm][zp]") {
  using S2 = Symmetric<2, SymmetricConvention::kFullRange, f16>;
  using A3 = Asymmetric<3, AsymmetricOffset::kIntZero, f16>;
  using S8 = Symmetric<8, SymmetricConvention::kRestricted, f16>;
  using D4 = DualBound<4>;
  for (Index m : {1, 7, 16, 17, 33, 65}) {
    for (Index k : {1, 31, 32, 33, 64, 65, 129}) {
      check_zp<S2, PerGroup<32>, Interleaved<16, 32>>(m, 5, k, 8, 20);
      check_zp<S2, PerGroup<32>, Interleaved<16, 32>>(m, 9, k, 4, 21);
      check_zp<A3, PerChannel, Interleaved<16, 32>>(m, 4, k, 8, 22);
      check_zp<A3, PerChannel, Interleaved<16, 32>>(m, 4, k, 3, 22);
      check_zp<S8, PerGroup<32>, Interleaved<16, 32>>(m, 5, k, 8, 24);
      check_zp<D4, PerGroup<32>, Interleaved<16, 32>>(m, 3, k, 2, 23);
      // Groups of half a block (ggml's 16-value sub-blocks: Q6_K, Q2_K).
      check_zp<Symmetric<6, SymmetricConvention::kSignedMax, float>, PerGroup<16>,
               Interleaved<16, 32>>(m, 5, k, 8, 27);
      check_zp<Asymmetric<2, AsymmetricOffset::kFloatMin, float>, PerGroup<16>,
               Interleaved<16, 32>>(m, 3, k, 4, 28);
    }
  }
  // Interleaved<8, 32> (the AVX2 tile) and a long per-channel row.
  check_zp<S2, PerGroup<32>, Interleaved<8, 32>>(17, 9, 129, 8, 25);
  check_zp<A3, PerChannel, Interleaved<16, 32>>(33, 5, 4000, 8, 26);
}

TEST_CASE("gemm_zp: int32 sums exact at the largest group, int64 reference beyond it",
          "[gemm][zp][overflow]") {
  // All weight codes 255 (scale 1, zero point 0) against 8-bit activation codes 0, shifted to
  // a' = -128: |Σ c·a'| = 255·128·k, the largest a row can reach. The SIMD path takes groups of
  // up to 2^31 / (255·128) = 65,793 columns; one more goes to the int64 reference.
  using S = Asymmetric<8, AsymmetricOffset::kIntZero, float>;
  for (Index k : {Index{2147483647 / (255 * 128)}, Index{2147483647 / (255 * 128) + 1}}) {
    PackedMatrix<S, PerChannel, Plain> p(2, k);
    for (auto& prm : p.params()) prm = {1.0f, 0};
    for (Index r = 0; r < 2; ++r)
      for (Index c = 0; c < k; ++c) p.set_code(r, c, 255);
    const auto w = repack<Interleaved<16, 32>>(p);
    const ZeroPointRowSums sums(w);
    ZeroPointActivations x(1, k, 8);  // codes 0
    x.step(0) = 1.0f;                 // step 1, zero point 0: every code stands for 0
    x.zero(0) = 0;
    float want[2], got[2];
    ref::gemm_zp(p, x, MatrixView<float>(want, 1, 2));
    CHECK(want[0] == 0.0f);  // the zero-point term cancels Σ c·a' exactly
    test::for_each_isa([&](auto tag) {
      using Isa = decltype(tag);
      Context ctx(1);
      gemm_zp<Isa>(w, sums, x, MatrixView<float>(got, 1, 2), ctx);
      INFO(std::string(Isa::name()) << " k " << k);
      REQUIRE(std::memcmp(got, want, sizeof(got)) == 0);
    });
  }
}

TEST_CASE("gemm_zp: bad shapes and foreign group sums get an error", "[gemm][zp][bad_input]") {
  using S4 = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  const std::vector<float> wf = test::gaussian(16 * 64, 1);
  const auto w = repack<Interleaved<16, 32>>(
      quantize<S4, PerGroup<32>, Plain>(MatrixView<const float>(wf.data(), 16, 64), {}));
  const auto w2 = repack<Interleaved<16, 32>>(
      quantize<S4, PerGroup<32>, Plain>(MatrixView<const float>(wf.data(), 8, 64), {}));
  const ZeroPointActivations x = make_acts(2, 64, 4, 2, true);
  std::vector<float> y(32);
  Context ctx(1);
  REQUIRE_THROWS_AS(gemm_zp(w, ZeroPointRowSums(w2), x, MatrixView<float>(y.data(), 2, 16), ctx),
                    Error);
  REQUIRE_THROWS_AS(gemm_zp(w, ZeroPointRowSums(w), x, MatrixView<float>(y.data(), 2, 15), ctx),
                    Error);
}
