// SPDX-License-Identifier: Apache-2.0
// lowbit/calib/dual_bound.hpp: calibrating the bounds of dual-bound activation quantizers
// (DDTB, Zhong et al., ECCV 2022) on recorded layer inputs, and DDTB's dynamic gate. Needs Eigen.
//
// # The objective
// For a linear layer y = W·x with recorded inputs x_t (T tokens × cols) the error of quantizing
// the inputs is the layer's output error
//   L(l, u) = Σ_t ‖W·(x̂_t - x_t)‖² = Σ_t e_tᵀ·M·e_t,   M = WᵀW,  e_t = x̂_t - x_t,
// with x̂ the b-bit dual-bound quantization (quant/dual_bound.hpp). Without W (OutputError(cols))
// M = I and L is the input MSE. SNR in dB is 10·log10(Σ_t x_tᵀ·M·x_t / L).
//
// # Initialization and the two searches
// * percentile_range: l = min(P_lo(x), 0), u = max(P_hi(x), 0) over every recorded value (DDTB's
//   M = 99: the 1st and 99th percentiles).
// * grid_search_range: every pair (f_l·l0, f_u·u0) with f on a uniform grid in [min_frac, 1] of
//   `points` values, from the min/max range (l0, u0); the pair of least L.
// * train_range: Adam on (l, u) with the straight-through estimator, as DDTB trains its α_l, α_u.
//   Rounding passes gradients straight through, so x̂ = (rint(S·c - Z) + Z)/S with c = clip(x, l, u)
//   has the LSQ-style derivatives (S = (2^b - 1)/(u - l))
//     ∂x̂/∂u = [x > u] - (c - x̂)/(u - l),     ∂x̂/∂l = [x < l] + (c - x̂)/(u - l),
//   and ∂L/∂x̂_t = 2·M·e_t. Steps are lr·(u0 - l0) (scale-free), decaying linearly to lr/10;
//   after each step the bounds are projected onto l <= 0 <= u; the best iterate is returned.
//
// # The dynamic gate (DDTB's `DDTB_quant_act_asym_dynamic_quantized`, adapted to tokens)
// DDTB pools a feature map over space and runs two quantized 1×1 convolutions to get per-sample
// factors g ∈ (0, 2)² that scale the learned bounds. A token of a transformer has no spatial
// extent, so the pooling here is over the token's channels: the features are four statistics of
// x_t relative to the layer's static width w = u - l,
//   f_t = [min x_t, max x_t, mean x_t, rms x_t] / w,
// then h = ReLU(Q(A)·f_t + a) (A: hidden × 4), o = Q(B)·h + b (B: 2 × hidden), and
// (g_l, g_u) = 2·sigmoid(o); the range of token t is [g_l·l, g_u·u]. Q is the symmetric
// `map_bits`-bit quantization of each map with a scale per output row (absmax/(2^(bits-1) - 1);
// default 8 bits: with 4-bit maps and one scale a map the gate gave 0.1 dB less on stories260K), so
// the gate's weights are what a deployed gate would store; training passes gradients through Q
// straight. B and b start at 0 (g = 1: the gate starts as the static quantizer, which is what
// DDTB's early-epoch regulariser toward zero logits achieves); A is seeded, a starts at 0.1. The
// gate and the bounds are trained together by Adam on L with the same STE derivatives.
// gate_intensity ranks layers as DDTB does (var of per-batch max + var of per-batch min), here
// of the batch extremes divided by the static width, so layers of different scales compare;
// the caller enables the gate on the top fraction.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/quant/dual_bound.hpp"

namespace lowbit::calib {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace detail_db {
inline Eigen::Map<const RowMatrixF> map(MatrixView<const float> x) {
  if (x.stride() != x.cols() && x.rows() > 1)
    lowbit::detail::fail("dual-bound calibration: inputs must be contiguous rows");
  return Eigen::Map<const RowMatrixF>(x.data(), x.rows(), x.cols());
}
inline void check_finite(MatrixView<const float> x) {
  for (Index r = 0; r < x.rows(); ++r)
    for (Index c = 0; c < x.cols(); ++c)
      if (!std::isfinite(x(r, c)))
        lowbit::detail::fail("dual-bound calibration: non-finite input ", x(r, c), " at row ", r,
                             ", column ", c);
}
}  // namespace detail_db

/// The quadratic form of the layer's output error (see the top of the file).
class OutputError {
 public:
  /// M = WᵀW for weights w (rows × cols).
  explicit OutputError(MatrixView<const float> w) : cols_(w.cols()) {
    detail_db::check_finite(w);
    const Eigen::MatrixXd wd = detail_db::map(w).cast<double>();
    m_ = (wd.transpose() * wd).cast<float>();
  }
  /// M = I (the input MSE) for `cols` inputs.
  explicit OutputError(Index cols) : cols_(cols), m_(Eigen::MatrixXf::Identity(cols, cols)) {}

  Index cols() const noexcept { return cols_; }
  const Eigen::MatrixXf& m() const noexcept { return m_; }

  /// Σ_t e_tᵀ·M·e_t for e = rows of `e` (T × cols).
  double form(const RowMatrixF& e) const {
    const RowMatrixF em = e * m_;
    return static_cast<double>(em.cwiseProduct(e).sum());
  }
  /// Σ_t x_tᵀ·M·x_t.
  double signal(MatrixView<const float> x) const {
    check(x);
    return form(RowMatrixF(detail_db::map(x)));
  }
  /// L for x quantized to `bits` bits with one range.
  double error(MatrixView<const float> x, const DualBoundRange& r, int bits) const {
    check(x);
    RowMatrixF e(x.rows(), x.cols());
    const detail::DualBoundAffine a = detail::dual_bound_affine(r, bits);
    for (Index t = 0; t < x.rows(); ++t)
      for (Index c = 0; c < x.cols(); ++c) {
        const float v = x(t, c);
        const int code = detail::dual_bound_encode(a, v);
        e(t, c) = a.step * static_cast<float>(code - a.zero) - v;
      }
    return form(e);
  }
  /// L for per-row ranges.
  double error(MatrixView<const float> x, std::span<const DualBoundRange> ranges, int bits) const {
    check(x);
    RowMatrixF e(x.rows(), x.cols());
    for (Index t = 0; t < x.rows(); ++t) {
      const detail::DualBoundAffine a =
          detail::dual_bound_affine(ranges[static_cast<std::size_t>(t)], bits);
      for (Index c = 0; c < x.cols(); ++c) {
        const float v = x(t, c);
        e(t, c) = a.step * static_cast<float>(detail::dual_bound_encode(a, v) - a.zero) - v;
      }
    }
    return form(e);
  }
  void check(MatrixView<const float> x) const {
    if (x.cols() != cols_)
      lowbit::detail::fail("dual-bound calibration: inputs have ", x.cols(),
                           " columns, the layer has ", cols_);
  }

 private:
  Index cols_;
  Eigen::MatrixXf m_;
};

/// [min(P_lo, 0), max(P_hi, 0)] of every value of x (percentiles in 0..100, linear
/// interpolation between order statistics). Throws Error on NaN/Inf, no values, or bad levels.
inline DualBoundRange percentile_range(MatrixView<const float> x, double lower_pct = 1.0,
                                       double upper_pct = 99.0) {
  if (!(lower_pct >= 0.0 && lower_pct <= upper_pct && upper_pct <= 100.0))
    lowbit::detail::fail("percentile_range: percentiles ", lower_pct, ", ", upper_pct,
                         " must satisfy 0 <= lo <= hi <= 100");
  if (x.rows() * x.cols() == 0) lowbit::detail::fail("percentile_range: no values");
  detail_db::check_finite(x);
  std::vector<float> v;
  v.reserve(static_cast<std::size_t>(x.rows() * x.cols()));
  for (Index r = 0; r < x.rows(); ++r) v.insert(v.end(), x.row_ptr(r), x.row_ptr(r) + x.cols());
  auto pct = [&](double p) {
    const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
    const auto i = static_cast<std::size_t>(std::floor(pos));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
    const double a = v[i];
    if (i + 1 >= v.size()) return a;
    const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(i + 1), v.end());
    return a + (pos - static_cast<double>(i)) * (b - a);
  };
  const double lo = pct(lower_pct), hi = pct(upper_pct);
  return {static_cast<float>(std::min(lo, 0.0)), static_cast<float>(std::max(hi, 0.0))};
}

/// [min(min x, 0), max(max x, 0)].
inline DualBoundRange minmax_range(MatrixView<const float> x) {
  return percentile_range(x, 0.0, 100.0);
}

struct GridSearchOptions {
  int points = 21;        // grid values per bound
  double min_frac = 0.2;  // smallest fraction of the min/max bound tried
};

/// The grid pair (f_l·l0, f_u·u0) of least output error (see the top of the file).
inline DualBoundRange grid_search_range(MatrixView<const float> x, const OutputError& err, int bits,
                                        const GridSearchOptions& opt = {}) {
  if (opt.points < 1 || !(opt.min_frac > 0.0 && opt.min_frac <= 1.0))
    lowbit::detail::fail("grid_search_range: points ", opt.points, " and min_frac ", opt.min_frac,
                         " must be >= 1 and in (0, 1]");
  const DualBoundRange r0 = minmax_range(x);
  DualBoundRange best = r0;
  double best_e = err.error(x, r0, bits);
  for (int i = 0; i < opt.points; ++i)
    for (int j = 0; j < opt.points; ++j) {
      auto frac = [&](int k) {
        return opt.points == 1 ? 1.0 : opt.min_frac + (1.0 - opt.min_frac) * k / (opt.points - 1);
      };
      const DualBoundRange r{static_cast<float>(frac(i) * r0.lower),
                             static_cast<float>(frac(j) * r0.upper)};
      const double e = err.error(x, r, bits);
      if (e < best_e) {
        best_e = e;
        best = r;
      }
    }
  return best;
}

struct TrainOptions {
  int iters = 300;
  double lr = 0.01;  // Adam step, in units of the initial range's width
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

namespace detail_db {

/// Projects r onto l <= 0 <= u with a width of at least `min_width`.
inline DualBoundRange project(double l, double u, double min_width) {
  l = std::min(l, 0.0);
  u = std::max(u, 0.0);
  if (u - l < min_width) u = l + min_width;
  return {static_cast<float>(l), static_cast<float>(u)};
}

/// e = x̂ - x for row t with range r, and the STE derivatives ∂x̂/∂l, ∂x̂/∂u per element.
inline void quantize_row_ste(const float* x, Index cols, const DualBoundRange& r, int bits,
                             float* e, float* dl, float* du) {
  const detail::DualBoundAffine a = detail::dual_bound_affine(r, bits);
  const float inv_w = 1.0f / (r.upper - r.lower);
  for (Index c = 0; c < cols; ++c) {
    const float v = x[c];
    const float clipped = std::clamp(v, r.lower, r.upper);
    const float xh = a.step * static_cast<float>(detail::dual_bound_encode(a, v) - a.zero);
    e[c] = xh - v;
    const float resid = (clipped - xh) * inv_w;
    du[c] = (v > r.upper ? 1.0f : 0.0f) - resid;
    dl[c] = (v < r.lower ? 1.0f : 0.0f) + resid;
  }
}

struct Adam {
  double m = 0.0, v = 0.0;
  double step(double g, double lr, const TrainOptions& o, int t) {
    m = o.beta1 * m + (1.0 - o.beta1) * g;
    v = o.beta2 * v + (1.0 - o.beta2) * g * g;
    const double mh = m / (1.0 - std::pow(o.beta1, t)), vh = v / (1.0 - std::pow(o.beta2, t));
    return lr * mh / (std::sqrt(vh) + o.eps);
  }
};

}  // namespace detail_db

/// Adam with the STE on (l, u) from `init` (see the top of the file); returns the best range
/// seen on x and, if `loss` is given, its L.
inline DualBoundRange train_range(MatrixView<const float> x, const OutputError& err, int bits,
                                  const DualBoundRange& init, const TrainOptions& opt = {},
                                  double* loss = nullptr) {
  err.check(x);
  if (const char* why = DualBound<8>::check_range(init))
    lowbit::detail::fail("train_range: initial range: ", why);
  if (opt.iters < 0) lowbit::detail::fail("train_range: iters ", opt.iters, " < 0");
  const Index T = x.rows(), C = x.cols();
  const double w0 = std::max(static_cast<double>(init.upper - init.lower), 1e-30);
  RowMatrixF e(T, C), dl(T, C), du(T, C);
  DualBoundRange r = init, best = init;
  double best_loss = INFINITY;
  detail_db::Adam al, au;
  for (int it = 0; it <= opt.iters; ++it) {
    for (Index t = 0; t < T; ++t)
      detail_db::quantize_row_ste(x.row_ptr(t), C, r, bits, &e(t, 0), &dl(t, 0), &du(t, 0));
    const RowMatrixF g = 2.0f * (e * err.m());  // ∂L/∂x̂
    const double l = static_cast<double>(g.cwiseProduct(e).sum()) / 2.0;
    if (l < best_loss) {
      best_loss = l;
      best = r;
    }
    if (it == opt.iters || r.upper - r.lower <= 0.0f) break;
    const double gl = g.cwiseProduct(dl).sum(), gu = g.cwiseProduct(du).sum();
    const double lr = opt.lr * w0 * (1.0 - 0.9 * it / std::max(opt.iters, 1));
    const double nl = r.lower - al.step(gl, lr, opt, it + 1);
    const double nu = r.upper - au.step(gu, lr, opt, it + 1);
    r = detail_db::project(nl, nu, 1e-6 * w0);
  }
  if (loss) *loss = best_loss;
  return best;
}

/// DDTB's gate for token inputs (see the top of the file).
struct DualBoundGate {
  static constexpr int kFeatures = 4;
  DualBoundRange base;  // the learned static bounds (l, u)
  int hidden = 0;
  std::vector<float> a, a_bias;               // hidden × kFeatures, hidden
  std::vector<float> b, b_bias;               // 2 × hidden, 2
  int map_bits = 8;                           // Q's bits (2..8)
  std::vector<float> a_scale, b_scale;        // Q's steps, one per row of A and of B
  std::vector<std::int8_t> a_codes, b_codes;  // Q(A)[h][i] = a_scale[h]·a_codes[h][i], likewise B
  float qa(int h, int i) const {
    return a_scale[static_cast<std::size_t>(h)] *
           static_cast<float>(a_codes[static_cast<std::size_t>(h * kFeatures + i)]);
  }
  float qb(int j, int h) const {
    return b_scale[static_cast<std::size_t>(j)] *
           static_cast<float>(b_codes[static_cast<std::size_t>(j * hidden + h)]);
  }

  /// The features f_t of one token (4 floats).
  void features(std::span<const float> x, float* f) const {
    float mn = INFINITY, mx = -INFINITY;
    double sum = 0.0, sq = 0.0;
    for (float v : x) {
      mn = std::min(mn, v);
      mx = std::max(mx, v);
      sum += v;
      sq += static_cast<double>(v) * v;
    }
    const double n = static_cast<double>(x.size()), w = base.upper - base.lower;
    f[0] = static_cast<float>(mn / w);
    f[1] = static_cast<float>(mx / w);
    f[2] = static_cast<float>(sum / n / w);
    f[3] = static_cast<float>(std::sqrt(sq / n) / w);
  }
  /// (g_l, g_u) of one token, from the stored (quantized) maps.
  void factors(std::span<const float> x, float& gl, float& gu) const {
    float f[kFeatures];
    features(x, f);
    float o[2] = {b_bias[0], b_bias[1]};
    for (int h = 0; h < hidden; ++h) {
      float s = a_bias[static_cast<std::size_t>(h)];
      for (int i = 0; i < kFeatures; ++i) s += qa(h, i) * f[i];
      s = std::max(s, 0.0f);
      for (int j = 0; j < 2; ++j) o[j] += qb(j, h) * s;
    }
    gl = 2.0f / (1.0f + std::exp(-o[0]));
    gu = 2.0f / (1.0f + std::exp(-o[1]));
  }
  /// The range of one token: [g_l·l, g_u·u].
  DualBoundRange range(std::span<const float> x) const {
    float gl = 1.0f, gu = 1.0f;
    factors(x, gl, gu);
    return {gl * base.lower, gu * base.upper};
  }
  /// Ranges of every row of x.
  std::vector<DualBoundRange> ranges(MatrixView<const float> x) const {
    std::vector<DualBoundRange> out(static_cast<std::size_t>(x.rows()));
    for (Index t = 0; t < x.rows(); ++t)
      out[static_cast<std::size_t>(t)] =
          range(std::span<const float>(x.row_ptr(t), static_cast<std::size_t>(x.cols())));
    return out;
  }
  /// Re-derives the codes and steps of Q(A), Q(B) from the float maps a, b.
  void quantize_maps() {
    const float qmax = static_cast<float>((1 << (map_bits - 1)) - 1);
    auto q = [&](const std::vector<float>& v, std::size_t rows, std::vector<float>& step,
                 std::vector<std::int8_t>& codes) {
      const std::size_t n = v.size() / rows;
      step.assign(rows, 0.0f);
      codes.resize(v.size());
      for (std::size_t r = 0; r < rows; ++r) {
        float amax = 0.0f;
        for (std::size_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(v[r * n + i]));
        step[r] = amax / qmax;
        for (std::size_t i = 0; i < n; ++i)
          codes[r * n + i] = static_cast<std::int8_t>(
              step[r] > 0.0f ? std::clamp(std::nearbyint(v[r * n + i] / step[r]), -qmax, qmax)
                             : 0.0f);
      }
    };
    q(a, static_cast<std::size_t>(hidden), a_scale, a_codes);
    q(b, 2, b_scale, b_codes);
  }
};

struct GateOptions {
  int hidden = 16;
  int map_bits = 8;
  int iters = 600;
  double lr = 0.01;        // Adam step for the gate's weights
  double bound_lr = 0.01;  // and for the bounds, in units of the initial width
  std::uint64_t seed = 0x6a7e;
};

/// Trains a gate and the bounds it scales on x from the static range `init` (train_range's),
/// by Adam with the STE on L (see the top of the file). Returns the gate of least L seen.
inline DualBoundGate train_gate(MatrixView<const float> x, const OutputError& err, int bits,
                                const DualBoundRange& init, const GateOptions& opt = {},
                                double* loss = nullptr) {
  err.check(x);
  if (const char* why = DualBound<8>::check_range(init))
    lowbit::detail::fail("train_gate: initial range: ", why);
  if (opt.hidden < 1 || opt.iters < 0 || opt.map_bits < 2 || opt.map_bits > 8)
    lowbit::detail::fail("train_gate: hidden ", opt.hidden, ", iters ", opt.iters, " and map_bits ",
                         opt.map_bits, " must be >= 1, >= 0 and in 2..8");
  constexpr int F = DualBoundGate::kFeatures;
  const int H = opt.hidden;
  const Index T = x.rows(), C = x.cols();
  DualBoundGate gate;
  gate.base = init;
  gate.hidden = H;
  gate.map_bits = opt.map_bits;
  gate.a.resize(static_cast<std::size_t>(H * F));
  gate.a_bias.assign(static_cast<std::size_t>(H), 0.1f);
  gate.b.assign(static_cast<std::size_t>(2 * H), 0.0f);
  gate.b_bias.assign(2, 0.0f);
  std::uint64_t s = opt.seed;
  for (float& v : gate.a) {  // uniform in [-1, 1) from a 64-bit LCG
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v = static_cast<float>(static_cast<double>(s >> 11) * 0x1p-52 - 1.0);
  }
  // Parameters as one vector: a, a_bias, b, b_bias, l, u.
  const std::size_t na = gate.a.size(), nb = gate.b.size();
  const std::size_t np = na + static_cast<std::size_t>(H) + nb + 2 + 2;
  std::vector<detail_db::Adam> adam(np);
  std::vector<double> grad(np);
  const double w0 = static_cast<double>(init.upper - init.lower);
  std::vector<float> feat(static_cast<std::size_t>(T * F)), hid(static_cast<std::size_t>(T * H));
  std::vector<float> gl(static_cast<std::size_t>(T)), gu(gl.size());
  RowMatrixF e(T, C), dl(T, C), du(T, C);
  DualBoundGate best = gate;
  double best_loss = INFINITY;
  for (int it = 0; it <= opt.iters; ++it) {
    gate.quantize_maps();
    // Forward with the quantized maps.
    for (Index t = 0; t < T; ++t) {
      const std::span<const float> xt(x.row_ptr(t), static_cast<std::size_t>(C));
      float* f = feat.data() + t * F;
      gate.features(xt, f);
      float o[2] = {gate.b_bias[0], gate.b_bias[1]};
      for (int h = 0; h < H; ++h) {
        float z = gate.a_bias[static_cast<std::size_t>(h)];
        for (int i = 0; i < F; ++i) z += gate.qa(h, i) * f[i];
        z = std::max(z, 0.0f);
        hid[static_cast<std::size_t>(t * H + h)] = z;
        for (int j = 0; j < 2; ++j) o[j] += gate.qb(j, h) * z;
      }
      gl[static_cast<std::size_t>(t)] = 2.0f / (1.0f + std::exp(-o[0]));
      gu[static_cast<std::size_t>(t)] = 2.0f / (1.0f + std::exp(-o[1]));
      const DualBoundRange rt{gl[static_cast<std::size_t>(t)] * gate.base.lower,
                              gu[static_cast<std::size_t>(t)] * gate.base.upper};
      detail_db::quantize_row_ste(x.row_ptr(t), C, rt, bits, &e(t, 0), &dl(t, 0), &du(t, 0));
    }
    const RowMatrixF g = 2.0f * (e * err.m());
    const double l = static_cast<double>(g.cwiseProduct(e).sum()) / 2.0;
    if (l < best_loss) {
      best_loss = l;
      best = gate;
    }
    if (it == opt.iters) break;
    // Backward: per token ∂L/∂l'_t, ∂L/∂u'_t, then through g = 2σ(o), B, ReLU, A.
    std::fill(grad.begin(), grad.end(), 0.0);
    const Eigen::VectorXf gdl = g.cwiseProduct(dl).rowwise().sum();
    const Eigen::VectorXf gdu = g.cwiseProduct(du).rowwise().sum();
    for (Index t = 0; t < T; ++t) {
      const auto ts = static_cast<std::size_t>(t);
      grad[np - 2] += static_cast<double>(gdl[t]) * gl[ts];  // ∂/∂l through l' = g_l·l
      grad[np - 1] += static_cast<double>(gdu[t]) * gu[ts];
      // ∂L/∂o_j = ∂L/∂g_j · 2σ(1-σ) = ∂L/∂g_j · g_j·(1 - g_j/2), ∂L/∂g_l = ∂L/∂l'·l.
      const double dol =
          static_cast<double>(gdl[t]) * gate.base.lower * gl[ts] * (1.0 - gl[ts] / 2);
      const double dou =
          static_cast<double>(gdu[t]) * gate.base.upper * gu[ts] * (1.0 - gu[ts] / 2);
      const double dout[2] = {dol, dou};
      const float* f = feat.data() + t * F;
      for (int j = 0; j < 2; ++j)
        grad[na + static_cast<std::size_t>(H) + nb + static_cast<std::size_t>(j)] += dout[j];
      for (int h = 0; h < H; ++h) {
        const float z = hid[static_cast<std::size_t>(t * H + h)];
        double dz = 0.0;
        for (int j = 0; j < 2; ++j) {
          const std::size_t bi = static_cast<std::size_t>(j * H + h);
          grad[na + static_cast<std::size_t>(H) + bi] += dout[j] * z;
          dz += dout[j] * gate.qb(j, h);
        }
        if (z <= 0.0f) continue;
        grad[na + static_cast<std::size_t>(h)] += dz;
        for (int i = 0; i < F; ++i) grad[static_cast<std::size_t>(h * F + i)] += dz * f[i];
      }
    }
    const double decay = 1.0 - 0.9 * it / std::max(opt.iters, 1);
    std::size_t p = 0;
    auto upd = [&](float& v, double lr) {
      v = static_cast<float>(v - adam[p].step(grad[p], lr, TrainOptions{}, it + 1));
      ++p;
    };
    for (float& v : gate.a) upd(v, opt.lr * decay);
    for (float& v : gate.a_bias) upd(v, opt.lr * decay);
    for (float& v : gate.b) upd(v, opt.lr * decay);
    for (float& v : gate.b_bias) upd(v, opt.lr * decay);
    float nl = gate.base.lower, nu = gate.base.upper;
    upd(nl, opt.bound_lr * w0 * decay);
    upd(nu, opt.bound_lr * w0 * decay);
    gate.base = detail_db::project(nl, nu, 1e-6 * w0);
  }
  if (loss) *loss = best_loss;
  return best;
}

/// DDTB's dynamic intensity of one layer: var over batches of (batch max)/w plus var of
/// (batch min)/w, w the static range's width. `batches`: the per-batch extremes (min, max).
inline double gate_intensity(std::span<const DualBoundRange> batches, const DualBoundRange& r) {
  if (batches.size() < 2) return 0.0;
  const double w = std::max(static_cast<double>(r.upper - r.lower), 1e-30);
  double s[2] = {}, q[2] = {};
  for (const DualBoundRange& b : batches) {
    const double v[2] = {b.lower / w, b.upper / w};
    for (int i = 0; i < 2; ++i) {
      s[i] += v[i];
      q[i] += v[i] * v[i];
    }
  }
  const double n = static_cast<double>(batches.size());
  double out = 0.0;
  for (int i = 0; i < 2; ++i) out += q[i] / n - (s[i] / n) * (s[i] / n);
  return out;
}

}  // namespace lowbit::calib
