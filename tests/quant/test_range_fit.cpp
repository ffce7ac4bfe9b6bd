// SPDX-License-Identifier: Apache-2.0
// tests/quant/test_range_fit.cpp: range fitting: clip search and least-squares refit never lose,
// importance weighting moves the error where it is cheap.
#include <cmath>
#include <vector>

#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/metrics.hpp"
#include "support/rng.hpp"

using namespace lowbit;

TEMPLATE_TEST_CASE("clip search and LS refit never increase a group's error", "[fit]",
                   (Symmetric<3, SymmetricConvention::kSignedMax, f16>),
                   (Symmetric<4, SymmetricConvention::kRestricted, bf16>),
                   (Asymmetric<2, AsymmetricOffset::kIntZero, f16>),
                   (Asymmetric<3, AsymmetricOffset::kFloatMin, f16>)) {
  using S = TestType;
  const std::vector<float> x = test::student_t4(128 * 50, 11);
  std::vector<typename S::Code> scratch;
  FitOptions mm, clip, ls;
  clip.range = RangeFit::kClipSearch;
  ls = clip;
  ls.refit_iters = 4;
  int strictly_better = 0;
  for (int g = 0; g < 50; ++g) {
    const std::span<const float> grp(x.data() + g * 128, 128);
    const double e0 = group_error<S>(grp, {}, fit_group<S>(grp, {}, mm, scratch));
    const double e1 = group_error<S>(grp, {}, fit_group<S>(grp, {}, clip, scratch));
    const double e2 = group_error<S>(grp, {}, fit_group<S>(grp, {}, ls, scratch));
    REQUIRE(e1 <= e0);
    REQUIRE(e2 <= e1);
    strictly_better += e1 < e0;
  }
  CHECK(strictly_better > 25);  // on heavy-tailed data clipping helps most groups
}

TEST_CASE("importance weighting lowers the weighted error", "[fit]") {
  using S = Asymmetric<3, AsymmetricOffset::kFloatMin, f16>;
  const std::vector<float> x = test::gaussian(64 * 40, 12);
  std::vector<float> w(64);
  for (int i = 0; i < 64; ++i)
    w[static_cast<std::size_t>(i)] = i < 8 ? 100.0f : 0.01f;  // 8 weights matter
  std::vector<S::Code> scratch;
  FitOptions ls;
  ls.range = RangeFit::kClipSearch;
  ls.refit_iters = 4;
  double plain = 0.0, weighted = 0.0;
  for (int g = 0; g < 40; ++g) {
    const std::span<const float> grp(x.data() + g * 64, 64);
    plain += group_error<S>(grp, w, fit_group<S>(grp, {}, ls, scratch));
    weighted += group_error<S>(grp, w, fit_group<S>(grp, w, ls, scratch));
  }
  CHECK(weighted < 0.8 * plain);
}

TEST_CASE("a per-column importance vector is a stride-0 view", "[fit]") {
  using S = Symmetric<4, SymmetricConvention::kFullRange, f16>;
  const Index rows = 6, cols = 40;
  const std::vector<float> x = test::gaussian(rows * cols, 13);
  std::vector<float> col(cols);
  for (Index k = 0; k < cols; ++k)
    col[static_cast<std::size_t>(k)] = 1.0f + static_cast<float>(k % 5);
  std::vector<float> full(rows * cols);
  for (Index r = 0; r < rows; ++r) {
    for (Index k = 0; k < cols; ++k)
      full[static_cast<std::size_t>(r * cols + k)] = col[static_cast<std::size_t>(k)];
  }
  QuantizeOptions a, b;
  a.fit.range = b.fit.range = RangeFit::kClipSearch;
  a.fit.refit_iters = b.fit.refit_iters = 2;
  a.importance = MatrixView<const float>(col.data(), rows, cols, 0);
  b.importance = MatrixView<const float>(full.data(), rows, cols);
  const auto qa = ref::quantize<S, PerGroup<16>>(MatrixView<const float>(x.data(), rows, cols), a);
  const auto qb = ref::quantize<S, PerGroup<16>>(MatrixView<const float>(x.data(), rows, cols), b);
  CHECK(qa.codes == qb.codes);
  for (std::size_t i = 0; i < qa.params.size(); ++i)
    REQUIRE(qa.params[i].scale == qb.params[i].scale);
}

TEST_CASE("clip_steps = 0 is min/max; options are validated", "[fit]") {
  using S = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  const std::vector<float> x = test::gaussian(32, 14);
  std::vector<S::Code> scratch;
  FitOptions f;
  f.range = RangeFit::kClipSearch;
  f.clip_steps = 0;
  CHECK(fit_group<S>(x, {}, f, scratch).scale == S::fit_range(detail::range_stats(x), 1.0f).scale);
  FitOptions bad;
  bad.clip_min = 0.0f;
  CHECK_THROWS_AS(bad.validate(), Error);
  bad = FitOptions{};
  bad.refit_iters = -1;
  CHECK_THROWS_AS(bad.validate(), Error);
  bad = FitOptions{};
  bad.clip_steps = -3;
  CHECK_THROWS_AS(bad.validate(), Error);
}
