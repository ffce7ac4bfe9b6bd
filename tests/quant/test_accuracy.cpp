// SPDX-License-Identifier: Apache-2.0
// tests/quant/test_accuracy.cpp: NMSE on 2^20 i.i.d. N(0,1) samples against numpy emulations
// table C (limits in support/tolerances.hpp), plus the ordering the theory predicts.
#include <cmath>
#include <cstdio>
#include <vector>

#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/metrics.hpp"
#include "support/rng.hpp"
#include "support/tolerances.hpp"

using namespace lowbit;

namespace {

const std::vector<float>& samples() {
  static const std::vector<float> x = test::gaussian(std::size_t{1} << 20, 20260101);
  return x;
}

template <class S, class G>
double nmse_of(const QuantizeOptions& opt) {
  const auto& x = samples();
  const Index cols = 4096;
  const Index rows = static_cast<Index>(x.size()) / cols;
  QuantizeOptions o = opt;
  o.threads = 2;
  const auto q = quantize<S, G, Plain>(MatrixView<const float>(x.data(), rows, cols), o);
  const double e = test::nmse(dequantize(q), x);
  std::printf("  %-48s %-14s NMSE %.5f\n", S::name().c_str(), G::name().c_str(), e);
  return e;
}

QuantizeOptions clip_search(int refits) {
  QuantizeOptions o;
  o.fit.range = RangeFit::kClipSearch;
  o.fit.refit_iters = refits;
  return o;
}

}  // namespace

TEST_CASE("asymmetric float-min g128 + clip + LS meets table C", "[accuracy]") {
  const auto ls = clip_search(4);
  CHECK(nmse_of<Asymmetric<4, AsymmetricOffset::kFloatMin, f16>, PerGroup<128>>(ls) <=
        test::limits::kAsymFloatMinLsG128B4);
  CHECK(nmse_of<Asymmetric<3, AsymmetricOffset::kFloatMin, f16>, PerGroup<128>>(ls) <=
        test::limits::kAsymFloatMinLsG128B3);
  CHECK(nmse_of<Asymmetric<2, AsymmetricOffset::kFloatMin, f16>, PerGroup<128>>(ls) <=
        test::limits::kAsymFloatMinLsG128B2);
}

TEST_CASE("signed-max symmetric g32 + clip meets table C", "[accuracy]") {
  const auto clip = clip_search(0);
  CHECK(nmse_of<Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerGroup<32>>(clip) <=
        test::limits::kSignedMaxClipG32B4);
  CHECK(nmse_of<Symmetric<2, SymmetricConvention::kSignedMax, f16>, PerGroup<32>>(clip) <=
        test::limits::kSignedMaxClipG32B2);
}

TEST_CASE("asymmetric integer zero g64 + clip 3-bit meets table C", "[accuracy]") {
  CHECK(nmse_of<Asymmetric<3, AsymmetricOffset::kIntZero, f16>, PerGroup<64>>(clip_search(0)) <=
        test::limits::kAsymIntZeroClipG64B3);
}

TEST_CASE("theory orders the conventions; per-group fits sit between Shannon and Lloyd-Max",
          "[accuracy]") {
  const QuantizeOptions mm{};
  // 2-bit g64 min/max: signed max < full range < restricted (table C row order).
  const double sm = nmse_of<Symmetric<2, SymmetricConvention::kSignedMax, f16>, PerGroup<64>>(mm);
  const double fr = nmse_of<Symmetric<2, SymmetricConvention::kFullRange, f16>, PerGroup<64>>(mm);
  const double rs = nmse_of<Symmetric<2, SymmetricConvention::kRestricted, f16>, PerGroup<64>>(mm);
  CHECK(sm < fr);
  CHECK(fr < rs);
  // Nothing beats Shannon's D(R) = 2^-2R at the total rate (4 + 32/128 bits per weight); note that
  // per-group adaptation does beat the fixed 4-bit Lloyd-Max quantizer (0.0095), as table C shows.
  const double a4 =
      nmse_of<Asymmetric<4, AsymmetricOffset::kFloatMin, f16>, PerGroup<128>>(clip_search(4));
  CHECK(a4 > std::pow(2.0, -2.0 * 4.25));
  CHECK(a4 < 0.009501);
  // 8 bits: within 10 % of the uniform-noise value Δ²/12 for the min/max step at g128.
  const double s8 = nmse_of<Symmetric<8, SymmetricConvention::kRestricted, f16>, PerGroup<128>>(mm);
  CHECK(s8 < 1.5e-4);
  CHECK(s8 > 1e-6);
}
