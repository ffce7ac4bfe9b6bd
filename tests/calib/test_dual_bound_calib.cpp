// SPDX-License-Identifier: Apache-2.0
// tests/calib/test_dual_bound_calib.cpp: bound calibration and the dynamic gate of
// calib/dual_bound.hpp.
#include <cmath>
#include <cstdint>
#include <vector>

#include "lowbit/calib/dual_bound.hpp"
#include "support/catch.hpp"
#include "support/rng.hpp"

using namespace lowbit;

namespace {

double nmse(MatrixView<const float> x, const calib::OutputError& err, const DualBoundRange& r,
            int bits) {
  return err.error(x, r, bits) / err.signal(x);
}

}  // namespace

TEST_CASE("percentile_range interpolates order statistics and keeps zero inside", "[dual_bound]") {
  std::vector<float> v(101);
  for (int i = 0; i <= 100; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i - 50);
  const MatrixView<const float> x(v.data(), 1, 101);
  const DualBoundRange r = calib::percentile_range(x, 1.0, 99.0);
  CHECK(r.lower == -49.0f);
  CHECK(r.upper == 49.0f);
  const DualBoundRange h = calib::percentile_range(x, 2.5, 97.5);  // between order statistics
  CHECK(h.lower == -47.5f);
  CHECK(h.upper == 47.5f);
  for (float& a : v) a += 100.0f;  // all positive: l = 0
  CHECK(calib::percentile_range(x).lower == 0.0f);
  CHECK(calib::minmax_range(x).upper == 150.0f);
  v[3] = NAN;
  CHECK_THROWS_AS(calib::percentile_range(x), Error);
  CHECK_THROWS_AS(calib::percentile_range(x, 50.0, 10.0), Error);
}

TEST_CASE("trained dual bounds reach the best zero-including uniform 4-bit grid on N(0,1)",
          "[dual_bound]") {
  // The optimal uniform 16-level grid containing 0 (levels k·Δ, k = -8..7) has MSE 0.01186 on
  // N(0, 1) (numerical integration; the optimal midrise grid 0.01154, Lloyd-Max 0.009497).
  const std::vector<float> g = test::gaussian(1 << 16, 3);
  const MatrixView<const float> x(g.data(), 1 << 10, 1 << 6);
  const calib::OutputError mse(64);
  const DualBoundRange mm = calib::minmax_range(x);
  const DualBoundRange pc = calib::percentile_range(x);
  double loss = 0.0;
  const DualBoundRange tr = calib::train_range(x, mse, 4, pc, {}, &loss);
  const DualBoundRange gs = calib::grid_search_range(x, mse, 4);
  const double e_mm = nmse(x, mse, mm, 4), e_pc = nmse(x, mse, pc, 4);
  const double e_tr = nmse(x, mse, tr, 4), e_gs = nmse(x, mse, gs, 4);
  INFO("minmax " << e_mm << " percentile " << e_pc << " trained " << e_tr << " grid " << e_gs);
  CHECK(loss == mse.error(x, tr, 4));
  CHECK(e_tr <= 0.01186 * 1.03);
  CHECK(e_gs <= 0.01186 * 1.06);
  CHECK(e_tr < e_pc);
  CHECK(e_pc < e_mm);
  CHECK(tr.lower <= 0.0f);
  CHECK(tr.upper >= 0.0f);
}

TEST_CASE("bounds trained on the output error beat the input-MSE bounds on it", "[dual_bound]") {
  // A layer that reads mostly the positive channels: the output error weights them, and the
  // bounds follow.
  const Index T = 512, C = 32, R = 16;
  std::vector<float> xs = test::gaussian(static_cast<std::size_t>(T * C), 4);
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (i % 7 == 0) xs[i] = 6.0f * std::fabs(xs[i]);  // a skewed, heavy positive tail
  std::vector<float> w = test::gaussian(static_cast<std::size_t>(R * C), 5);
  const MatrixView<const float> x(xs.data(), T, C);
  const calib::OutputError out(MatrixView<const float>(w.data(), R, C));
  const calib::OutputError mse(C);
  const DualBoundRange init = calib::percentile_range(x);
  const DualBoundRange r_out = calib::train_range(x, out, 4, init);
  const DualBoundRange r_mse = calib::train_range(x, mse, 4, init);
  CHECK(out.error(x, r_out, 4) <= out.error(x, r_mse, 4));
  CHECK(out.error(x, r_out, 4) < out.error(x, init, 4));
  CHECK(-r_out.lower < r_out.upper);  // the skew is kept
}

TEST_CASE("the dynamic gate follows per-token scale changes", "[dual_bound]") {
  // Tokens whose scale varies over 16×: one static range cannot fit all of them.
  const Index T = 1024, C = 64;
  std::vector<float> xs = test::gaussian(static_cast<std::size_t>(T * C), 6);
  const std::vector<float> u = test::uniform(static_cast<std::size_t>(T), -2.0f, 2.0f, 7);
  for (Index t = 0; t < T; ++t)
    for (Index c = 0; c < C; ++c)
      xs[static_cast<std::size_t>(t * C + c)] *= std::exp2(u[static_cast<std::size_t>(t)]);
  const MatrixView<const float> x(xs.data(), T, C);
  const calib::OutputError mse(C);
  const DualBoundRange st = calib::train_range(x, mse, 4, calib::percentile_range(x));
  double loss = 0.0;
  const calib::DualBoundGate gate = calib::train_gate(x, mse, 4, st, {}, &loss);
  const std::vector<DualBoundRange> ranges = gate.ranges(x);
  const double e_static = mse.error(x, st, 4), e_gate = mse.error(x, ranges, 4);
  INFO("static " << e_static << " gated " << e_gate);
  CHECK(loss == mse.error(x, ranges, 4));  // the stored (quantized) gate is what was scored
  CHECK(e_gate < 0.5 * e_static);
  for (const DualBoundRange& r : ranges) {
    CHECK(r.lower <= 0.0f);
    CHECK(r.upper >= 0.0f);
    CHECK(r.lower >= 2.0f * gate.base.lower);  // g in (0, 2)
    CHECK(r.upper <= 2.0f * gate.base.upper);
  }
  for (std::int8_t c : gate.a_codes) CHECK(std::abs(c) <= 127);
  // 4-bit maps: codes in -7..7, and still a gain.
  calib::GateOptions o4;
  o4.map_bits = 4;
  const calib::DualBoundGate g4 = calib::train_gate(x, mse, 4, st, o4);
  for (std::int8_t c : g4.b_codes) CHECK(std::abs(c) <= 7);
  CHECK(mse.error(x, g4.ranges(x), 4) < 0.7 * e_static);
  // A gate that has learned nothing is the static quantizer.
  calib::DualBoundGate flat = gate;
  std::fill(flat.b_codes.begin(), flat.b_codes.end(), std::int8_t{0});
  flat.b_bias = {0.0f, 0.0f};
  CHECK(mse.error(x, flat.ranges(x), 4) == mse.error(x, gate.base, 4));
}

TEST_CASE("gate_intensity is the variance of the batch extremes over the width", "[dual_bound]") {
  const std::vector<DualBoundRange> b{{-1.0f, 2.0f}, {-3.0f, 2.0f}, {-2.0f, 5.0f}};
  const DualBoundRange r{-2.0f, 2.0f};
  // mins/4: -0.25, -0.75, -0.5 (var 1/24); maxs/4: 0.5, 0.5, 1.25 (var 0.125)
  CHECK(std::fabs(calib::gate_intensity(b, r) - (1.0 / 24.0 + 0.125)) <= 1e-12);
  CHECK(calib::gate_intensity(std::span<const DualBoundRange>(b.data(), 1), r) == 0.0);
}
