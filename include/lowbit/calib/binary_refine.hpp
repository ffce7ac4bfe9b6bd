// SPDX-License-Identifier: Apache-2.0
// lowbit/calib/binary_refine.hpp: fitting binary codes (BiLLM, ARB-LLM): sign·α (XNOR), the
// BiLLM mean form, ARB's alternating refinement (order 1 and 2) and ARB-RC's row × column scales.
//
// # Per group (fit_binary, fit_binary2), values x of one group
//   kXnor      μ = 0, α = mean|x|, b = sign(x)                     (MSE-optimal α for those signs)
//   kMean      μ = mean x, α = mean|x - μ|, b = sign(x - μ)         (BiLLM order 1)
//   kArb       kMean, then `iters` (15) rounds of ARB-LLM's high_order_residual_alternating_order1:
//                μ ← μ + mean(x - x̂); α ← mean(b·(x - μ)); b ← sign(x - μ); x̂ = μ + α·b
//   Binary2:
//   kResidual  BiLLM order 2: kMean on x, then kMean on the residual; μ = μ1 + μ2 shared
//   kArb       kResidual, then `iters` rounds of high_order_residual_alternating_mean:
//                μ ← μ + mean(x - x̂); α1 ← mean(b1·(x - μ - α2·b2)); α2 ← mean(b2·(x - μ - α1·b1));
//                (b1, b2) ← the nearest of μ ± α1 ± α2 to x, jointly
// The arithmetic runs in double; the parameters are then rounded to the scheme's storage type and
// the codes taken from the *stored* parameters (Binary: sign(x - μ); Binary2: the nearest
// level), so what decodes is what was measured. sign(0) = +1 throughout (binary.hpp). An empty
// group or one of zeros gives α = μ = 0 (no NaN from empty means).
//
// # ARB-RC (fit_binary_rc), a whole matrix
//   Ŵ = diag(α_r)·B·diag(α_c), B = sign(W) fixed: α_r = mean_row|W|, α_c = mean_col(|W|/α_r)
//   (columns over rows with α_r > 0), then `iters` rounds of alternating least squares
//   α_r = Σ_j α_c,j·|W_rj| / Σ_j α_c,j²,  α_c = Σ_r α_r·|W_rj| / Σ_r α_r²  (B·W = |W|, B² = 1).
//   Stored as a PerChannel Binary<kNone> matrix (α_r, the signs) plus the column scales, which a
//   kernel applies to the activations: Ŵ·x = diag(α_r)·B·(α_c ⊙ x) (BinaryRC::scale_inputs).
//   A finer granularity (PerGroup<g>: α_r per row and group, as ARB-LLM's blocks of columns have
//   their own row scales) alternates the same way with one row scale per parameter set.
//
// # ARB-X (fit_binary_x, binarize_x; order 2: fit_binary2_x, binarize2_x), with calibration
//   activations
//   S = XᵀX/N (the layer inputs' Gram matrix; the real-model pipeline records it for GPTQ), and
//   per group (the columns of the group, S_g its diagonal block) the output error
//   E(μ, α, b) = (x - μ1 - α·b)ᵀ S_g (x - μ1 - α·b) instead of ‖x - μ1 - α·b‖². Start from ARB
//   order 1, then `iters` rounds of the weighted closed forms (ARB-X, ARB-LLM §3)
//     μ ← 1ᵀS_g(x - α·b) / 1ᵀS_g1,   α ← bᵀS_g(x - μ1) / bᵀS_g b,   b ← sign(x - μ),
//   keeping the (μ, α) of the lowest E (b = sign(x - μ) is not E's minimiser, so a round may
//   raise it; keeping the best makes ARB-X never worse than its ARB start on E). With S = I the
//   rounds are ARB's. Groups whose 1ᵀS_g1 or bᵀS_g b is 0 (inputs that never excite them) keep
//   the ARB values. Order 2 starts from ARB order 2 and updates μ, α1, α2 the same way, each
//   against the other planes, re-picking (b1, b2) as the nearest of the four levels.
//
// NaN or ±Inf weights throw Error naming the row and column.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/pack/layouts.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/quant/binary.hpp"
#include "lowbit/quant/granularity.hpp"

namespace lowbit::calib {

enum class BinaryMethod : std::uint8_t { kXnor = 0, kMean = 1, kArb = 2 };
enum class Binary2Method : std::uint8_t { kResidual = 0, kArb = 1 };

/// α and μ of one group, before rounding to a storage type.
struct BinaryFit {
  double alpha = 0.0;
  double mean = 0.0;
};
struct Binary2Fit {
  double mean = 0.0;
  double alpha1 = 0.0;
  double alpha2 = 0.0;
};

namespace detail {

inline double sign_pm(double v) noexcept { return v >= 0.0 ? 1.0 : -1.0; }  // sign(0) = +1

inline double mean_of(std::span<const float> x) noexcept {
  double s = 0.0;
  for (float v : x) s += v;
  return x.empty() ? 0.0 : s / static_cast<double>(x.size());
}

inline double mean_abs_dev(std::span<const float> x, double mu) noexcept {
  double s = 0.0;
  for (float v : x) s += std::fabs(v - mu);
  return x.empty() ? 0.0 : s / static_cast<double>(x.size());
}

using lowbit::detail::check_finite;  // core/view.hpp

/// The values of every parameter set of a (G, Plain) matrix of w's shape, in row-major order.
template <Granularity G>
std::vector<std::vector<float>> gather_groups(MatrixView<const float> w) {
  std::vector<std::vector<float>> groups(
      static_cast<std::size_t>(G::param_count(w.rows(), w.cols())));
  for (Index r = 0; r < w.rows(); ++r)
    for (Index k = 0; k < w.cols(); ++k)
      groups[static_cast<std::size_t>(G::param_index(r, k, w.cols()))].push_back(w(r, k));
  return groups;
}

/// Joint re-pick of two sign planes: b1, b2 of the nearest of the four levels μ ± α1 ± α2 to each
/// x, found from the three midpoints of the sorted levels (a tie, of measure zero, goes to the
/// lower level).
inline void pick_planes(std::span<const float> x, const Binary2Fit& f, std::vector<double>& b1,
                        std::vector<double>& b2) {
  std::array<std::array<double, 3>, 4> lv;  // (level, b1, b2)
  for (int c = 0; c < 4; ++c) {
    const double p1 = (c & 1) ? 1.0 : -1.0, p2 = (c & 2) ? 1.0 : -1.0;
    lv[static_cast<std::size_t>(c)] = {f.alpha1 * p1 + f.alpha2 * p2, p1, p2};
  }
  std::sort(lv.begin(), lv.end(), [](const auto& a, const auto& b) { return a[0] < b[0]; });
  const double m0 = 0.5 * (lv[0][0] + lv[1][0]), m1 = 0.5 * (lv[1][0] + lv[2][0]),
               m2 = 0.5 * (lv[2][0] + lv[3][0]);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double d = x[i] - f.mean;
    const std::size_t j = static_cast<std::size_t>(d > m0) + static_cast<std::size_t>(d > m1) +
                          static_cast<std::size_t>(d > m2);
    b1[i] = lv[j][1];
    b2[i] = lv[j][2];
  }
}

/// rᵀ·S·r for the n × n row-major block S (leading dimension ld).
inline double quad_form(const std::vector<double>& r, const double* S, Index ld) noexcept {
  double e = 0.0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    double t = 0.0;
    for (std::size_t j = 0; j < r.size(); ++j)
      t += S[static_cast<Index>(i) * ld + static_cast<Index>(j)] * r[j];
    e += r[i] * t;
  }
  return e;
}

/// Throws Error unless h is a finite cols × cols matrix (the Gram matrix of w's inputs).
inline void check_gram(MatrixView<const float> w, MatrixView<const double> h, const char* who) {
  if (h.rows() != w.cols() || h.cols() != w.cols())
    lowbit::detail::fail(who, ": the Gram matrix is ", h.rows(), " x ", h.cols(), ", W has ",
                         w.cols(), " columns");
  for (Index i = 0; i < h.rows(); ++i)
    for (Index j = 0; j < h.cols(); ++j)
      if (!std::isfinite(h(i, j)))
        lowbit::detail::fail(who, ": the Gram matrix is not finite at (", i, ", ", j, ")");
}

/// The codes of a Binary2 matrix whose parameters are set: each weight's nearest level of its
/// group as stored (S::encode, with the four levels decoded once per group; ties to the lower
/// code).
template <class ScaleT, Granularity G>
void encode_two_planes(MatrixView<const float> w, PackedMatrix<Binary2<ScaleT>, G, Plain>& out) {
  using S = Binary2<ScaleT>;
  std::vector<std::array<float, 4>> lv(out.params().size());
  for (std::size_t g = 0; g < lv.size(); ++g)
    for (int c = 0; c < 4; ++c)
      lv[g][static_cast<std::size_t>(c)] =
          S::decode(static_cast<typename S::Code>(c), out.params()[g]);
  for (Index r = 0; r < w.rows(); ++r)
    for (Index k = 0; k < w.cols(); ++k) {
      const std::array<float, 4>& l = lv[static_cast<std::size_t>(out.param_slot(r, k))];
      const float x = w(r, k);
      std::uint32_t best = 0;
      float bd = std::fabs(x - l[0]);
      for (std::uint32_t c = 1; c < 4; ++c) {
        const float d = std::fabs(x - l[c]);
        if (d < bd) {
          best = c;
          bd = d;
        }
      }
      out.set_code(r, k, best);
    }
}

/// The parameters of every group of w, `fit(x, S_g, ld)` on the group's values x and its diagonal
/// block S_g of the Gram matrix h (leading dimension ld); codes are left 0. PerChannel and
/// PerGroup only (a per-tensor group mixes rows). Throws Error (naming `who`) on shapes,
/// non-finite weights or h, and parameters that overflow the scheme's storage.
template <class S, Granularity G, class FitGroup>
PackedMatrix<S, G, Plain> fit_groups_x(MatrixView<const float> w, MatrixView<const double> h,
                                       const char* who, FitGroup&& fit) {
  static_assert(G::kKind != GranularityKind::kPerTensor,
                "ARB-X: a per-tensor group mixes rows; use PerChannel or PerGroup");
  check_finite(w, who);
  check_gram(w, h, who);
  PackedMatrix<S, G, Plain> out(w.rows(), w.cols());
  if (out.empty()) return out;
  const Index gc = G::group_cols(w.cols());
  std::vector<float> x;
  for (Index r = 0; r < w.rows(); ++r)
    for (Index k0 = 0; k0 < w.cols(); k0 += gc) {
      const Index k1 = k0 + gc < w.cols() ? k0 + gc : w.cols();
      x.assign(w.row_ptr(r) + k0, w.row_ptr(r) + k1);
      auto& p = out.params()[static_cast<std::size_t>(out.param_slot(r, k0))];
      p = fit(std::span<const float>(x), h.row_ptr(k0) + k0, h.stride());
      if (!S::params_finite(p))
        lowbit::detail::fail(who, ": the parameters of row ", r, ", column ", k0, " overflow ",
                             S::name());
    }
  return out;
}

}  // namespace detail

/// One group's α and μ by `method` (see the top of this file); `iters` rounds for kArb.
inline BinaryFit fit_binary(std::span<const float> x, BinaryMethod method, int iters = 15) {
  BinaryFit f;
  if (x.empty()) return f;
  if (method == BinaryMethod::kXnor) {
    f.alpha = detail::mean_abs_dev(x, 0.0);
    return f;
  }
  f.mean = detail::mean_of(x);
  f.alpha = detail::mean_abs_dev(x, f.mean);
  if (method == BinaryMethod::kMean) return f;
  const double n = static_cast<double>(x.size());
  std::vector<double> b(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) b[i] = detail::sign_pm(x[i] - f.mean);
  for (int it = 0; it < iters; ++it) {
    double res = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) res += x[i] - (f.mean + f.alpha * b[i]);
    f.mean += res / n;
    double num = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) num += b[i] * (x[i] - f.mean);
    f.alpha = num / n;  // Σb² = n
    for (std::size_t i = 0; i < x.size(); ++i) b[i] = detail::sign_pm(x[i] - f.mean);
  }
  return f;
}

/// One group's μ, α1, α2 by `method`; `iters` rounds for kArb.
inline Binary2Fit fit_binary2(std::span<const float> x, Binary2Method method, int iters = 15) {
  Binary2Fit f;
  if (x.empty()) return f;
  const std::size_t n = x.size();
  const double nd = static_cast<double>(n);
  const double mu1 = detail::mean_of(x);
  const double a1 = detail::mean_abs_dev(x, mu1);
  std::vector<double> b1(n), b2(n);
  std::vector<float> r(n);
  for (std::size_t i = 0; i < n; ++i) {
    b1[i] = detail::sign_pm(x[i] - mu1);
    r[i] = static_cast<float>(x[i] - (mu1 + a1 * b1[i]));
  }
  const double mu2 = detail::mean_of(r);
  const double a2 = detail::mean_abs_dev(r, mu2);
  for (std::size_t i = 0; i < n; ++i) b2[i] = detail::sign_pm(r[i] - mu2);
  f = {mu1 + mu2, a1, a2};
  if (method == Binary2Method::kResidual) return f;
  for (int it = 0; it < iters; ++it) {
    double res = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      res += x[i] - (f.mean + f.alpha1 * b1[i] + f.alpha2 * b2[i]);
    f.mean += res / nd;
    double s1 = 0.0;
    for (std::size_t i = 0; i < n; ++i) s1 += b1[i] * (x[i] - f.mean - f.alpha2 * b2[i]);
    f.alpha1 = s1 / nd;
    double s2 = 0.0;
    for (std::size_t i = 0; i < n; ++i) s2 += b2[i] * (x[i] - f.mean - f.alpha1 * b1[i]);
    f.alpha2 = s2 / nd;
    detail::pick_planes(x, f, b1, b2);
  }
  return f;
}

/// Binarizes w group by group (G) with `method`: parameters rounded to ScaleT, then codes from
/// the stored parameters. Throws Error on non-finite weights.
template <BinaryOffset Offset, class ScaleT, Granularity G>
PackedMatrix<Binary<Offset, ScaleT>, G, Plain> binarize(MatrixView<const float> w,
                                                        BinaryMethod method, int iters = 15) {
  using S = Binary<Offset, ScaleT>;
  if (Offset == BinaryOffset::kNone && method != BinaryMethod::kXnor)
    lowbit::detail::fail("binarize: ", S::name(), " stores no mean; use BinaryMethod::kXnor");
  detail::check_finite(w, "binarize");
  PackedMatrix<S, G, Plain> out(w.rows(), w.cols());
  const auto groups = detail::gather_groups<G>(w);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const BinaryFit f = fit_binary(groups[g], method, iters);
    out.params()[g] = S::make(static_cast<float>(f.alpha), static_cast<float>(f.mean));
    if (!S::params_finite(out.params()[g]))
      lowbit::detail::fail("binarize: parameter set ", g, " overflows ", S::name());
  }
  std::vector<float> mean(groups.size());  // decoded once per group, not per weight
  for (std::size_t g = 0; g < groups.size(); ++g) mean[g] = S::mean(out.params()[g]);
  for (Index r = 0; r < w.rows(); ++r)
    for (Index k = 0; k < w.cols(); ++k)
      out.set_code(r, k, w(r, k) >= mean[static_cast<std::size_t>(out.param_slot(r, k))] ? 1u : 0u);
  return out;
}

/// Two sign planes per weight, group by group (G) with `method`; codes = the nearest stored level.
template <class ScaleT, Granularity G>
PackedMatrix<Binary2<ScaleT>, G, Plain> binarize2(MatrixView<const float> w, Binary2Method method,
                                                  int iters = 15) {
  using S = Binary2<ScaleT>;
  detail::check_finite(w, "binarize2");
  PackedMatrix<S, G, Plain> out(w.rows(), w.cols());
  const auto groups = detail::gather_groups<G>(w);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const Binary2Fit f = fit_binary2(groups[g], method, iters);
    out.params()[g] = S::make(static_cast<float>(f.mean), static_cast<float>(f.alpha1),
                              static_cast<float>(f.alpha2));
    if (!S::params_finite(out.params()[g]))
      lowbit::detail::fail("binarize2: parameter set ", g, " overflows ", S::name());
  }
  detail::encode_two_planes(w, out);
  return out;
}

/// ARB-X order 1 of one group x (see the top of this file); S is the group's n × n block of the
/// calibration Gram matrix (row-major, leading dimension ld, symmetric).
inline BinaryFit fit_binary_x(std::span<const float> x, const double* S, Index ld, int iters = 15) {
  BinaryFit f = fit_binary(x, BinaryMethod::kArb, iters);
  const std::size_t n = x.size();
  if (n == 0) return f;
  auto at = [&](std::size_t i, std::size_t j) {
    return S[static_cast<Index>(i) * ld + static_cast<Index>(j)];
  };
  std::vector<double> s1(n, 0.0), sb(n), b(n);
  double one_s_one = 0.0, s1x = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) s1[i] += at(i, j);
    one_s_one += s1[i];
    s1x += s1[i] * x[i];
  }
  std::vector<double> r(n);
  auto energy = [&](double mu, double a) {  // E with b = sign(x - μ), the codes that get stored
    for (std::size_t i = 0; i < n; ++i) r[i] = x[i] - mu - a * detail::sign_pm(x[i] - mu);
    return detail::quad_form(r, S, ld);
  };
  BinaryFit best = f;
  double best_e = energy(f.mean, f.alpha);
  for (std::size_t i = 0; i < n; ++i) b[i] = detail::sign_pm(x[i] - f.mean);
  for (int it = 0; it < iters; ++it) {
    if (one_s_one > 0.0) {
      double s1b = 0.0;
      for (std::size_t i = 0; i < n; ++i) s1b += s1[i] * b[i];
      f.mean = (s1x - f.alpha * s1b) / one_s_one;
    }
    double bsb = 0.0, sbx = 0.0, sb1 = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      double t = 0.0;
      for (std::size_t j = 0; j < n; ++j) t += at(i, j) * b[j];
      sb[i] = t;
      bsb += b[i] * t;
      sbx += t * x[i];
      sb1 += t;
    }
    if (bsb > 0.0) f.alpha = (sbx - f.mean * sb1) / bsb;
    for (std::size_t i = 0; i < n; ++i) b[i] = detail::sign_pm(x[i] - f.mean);
    const double e = energy(f.mean, f.alpha);
    if (e < best_e) {
      best_e = e;
      best = f;
    }
  }
  return best;
}

/// ARB-X (Binary with a mean) of w group by group, weighted by the calibration Gram matrix h
/// (cols × cols, XᵀX/N of the layer's inputs; any positive multiple gives the same fit).
/// PerChannel and PerGroup only. Throws Error on shapes, non-finite weights or h.
template <class ScaleT, Granularity G>
PackedMatrix<Binary<BinaryOffset::kMean, ScaleT>, G, Plain> binarize_x(MatrixView<const float> w,
                                                                       MatrixView<const double> h,
                                                                       int iters = 15) {
  using S = Binary<BinaryOffset::kMean, ScaleT>;
  auto out = detail::fit_groups_x<S, G>(
      w, h, "binarize_x", [&](std::span<const float> x, const double* sg, Index ld) {
        const BinaryFit f = fit_binary_x(x, sg, ld, iters);
        return S::make(static_cast<float>(f.alpha), static_cast<float>(f.mean));
      });
  for (Index r = 0; r < w.rows(); ++r)
    for (Index k = 0; k < w.cols(); ++k)
      out.set_code(r, k, w(r, k) >= S::mean(out.params_at(r, k)) ? 1u : 0u);
  return out;
}

/// ARB-X order 2 of one group x: ARB order 2, then `iters` rounds of the weighted closed forms
/// (ARB-LLM: "the order-2 version updates α1 and α2 the same way")
///   μ ← 1ᵀS(x - α1·b1 - α2·b2) / 1ᵀS1,  α1 ← b1ᵀS(x - μ1 - α2·b2) / b1ᵀSb1,
///   α2 ← b2ᵀS(x - μ1 - α1·b1) / b2ᵀSb2,  (b1, b2) ← the nearest of the four levels,
/// keeping the parameters of the lowest E = (x - x̂)ᵀS(x - x̂) with nearest-level codes (as for
/// order 1: never worse than its ARB start on E). S as for fit_binary_x.
inline Binary2Fit fit_binary2_x(std::span<const float> x, const double* S, Index ld,
                                int iters = 15) {
  Binary2Fit f = fit_binary2(x, Binary2Method::kArb, iters);
  const std::size_t n = x.size();
  if (n == 0) return f;
  std::vector<double> b1(n), b2(n), r(n), t(n);
  auto mul = [&](const std::vector<double>& v, std::vector<double>& out) {  // out = S·v
    for (std::size_t i = 0; i < n; ++i) {
      double a = 0.0;
      for (std::size_t j = 0; j < n; ++j)
        a += S[static_cast<Index>(i) * ld + static_cast<Index>(j)] * v[j];
      out[i] = a;
    }
  };
  auto dot = [&](const std::vector<double>& a, const std::vector<double>& b) {
    double d = 0.0;
    for (std::size_t i = 0; i < n; ++i) d += a[i] * b[i];
    return d;
  };
  auto energy = [&](const Binary2Fit& g) {  // with the codes the stored levels would pick
    detail::pick_planes(x, g, b1, b2);
    for (std::size_t i = 0; i < n; ++i) r[i] = x[i] - g.mean - g.alpha1 * b1[i] - g.alpha2 * b2[i];
    return detail::quad_form(r, S, ld);
  };
  const std::vector<double> ones(n, 1.0);
  std::vector<double> s1(n), sb1(n), sb2(n);
  mul(ones, s1);
  const double one_s_one = dot(ones, s1);
  Binary2Fit best = f;
  double best_e = energy(f);  // leaves b1, b2 at f's pick
  for (int it = 0; it < iters; ++it) {
    mul(b1, sb1);
    mul(b2, sb2);
    if (one_s_one > 0.0) {  // 1ᵀS(x - α1·b1 - α2·b2) = s1ᵀx - α1·s1ᵀb1 - α2·s1ᵀb2 (S symmetric)
      double sx = 0.0;
      for (std::size_t i = 0; i < n; ++i) sx += s1[i] * x[i];
      f.mean = (sx - f.alpha1 * dot(s1, b1) - f.alpha2 * dot(s1, b2)) / one_s_one;
    }
    for (std::size_t i = 0; i < n; ++i) t[i] = x[i] - f.mean - f.alpha2 * b2[i];
    const double d1 = dot(sb1, b1);
    if (d1 > 0.0) f.alpha1 = dot(sb1, t) / d1;
    for (std::size_t i = 0; i < n; ++i) t[i] = x[i] - f.mean - f.alpha1 * b1[i];
    const double d2 = dot(sb2, b2);
    if (d2 > 0.0) f.alpha2 = dot(sb2, t) / d2;
    const double e = energy(f);  // re-picks b1, b2 for the next round
    if (e < best_e) {
      best_e = e;
      best = f;
    }
  }
  return best;
}

/// ARB-X order 2 of w per group of G (binarize_x's contract; codes are the nearest stored level).
template <class ScaleT, Granularity G>
PackedMatrix<Binary2<ScaleT>, G, Plain> binarize2_x(MatrixView<const float> w,
                                                    MatrixView<const double> h, int iters = 15) {
  using S = Binary2<ScaleT>;
  auto out = detail::fit_groups_x<S, G>(
      w, h, "binarize2_x", [&](std::span<const float> x, const double* sg, Index ld) {
        const Binary2Fit f = fit_binary2_x(x, sg, ld, iters);
        return S::make(static_cast<float>(f.mean), static_cast<float>(f.alpha1),
                       static_cast<float>(f.alpha2));
      });
  detail::encode_two_planes(w, out);
  return out;
}

/// ARB-RC: signs and row scales as a binary matrix of granularity G (PerChannel: one α_r per row,
/// as in the paper; PerGroup<g>: one per row and group of g inputs), and one scale per column.
template <class ScaleT, Granularity G = PerChannel>
struct BinaryRC {
  using Scheme = Binary<BinaryOffset::kNone, ScaleT>;
  PackedMatrix<Scheme, G, Plain> w;
  std::vector<float> col_scale;  // α_c, one per column (fp32; cols·32 bits of storage)

  /// Ŵ(r, k) = α_r·b_rk·α_c,k.
  float decode(Index r, Index k) const noexcept {
    return Scheme::decode(static_cast<typename Scheme::Code>(w.code(r, k)), w.params_at(r, k)) *
           col_scale[static_cast<std::size_t>(k)];
  }

  /// Storage bits per weight: codes, row scales and the fp32 column scales.
  double bits_per_weight() const noexcept {
    return w.empty() ? 0.0 : w.bits_per_weight() + 32.0 / static_cast<double>(w.rows());
  }

  /// Ŵ·x = w·(α_c ⊙ x): scales the columns of x (n × cols, one input per row) in place, after
  /// which any GEMM of `w` (repacked to a kernel layout) gives Ŵ·x. Throws Error on a shape
  /// mismatch.
  void scale_inputs(MatrixView<float> x) const {
    if (x.cols() != static_cast<Index>(col_scale.size()))
      lowbit::detail::fail("BinaryRC::scale_inputs: inputs of ", x.cols(), " columns, ",
                           col_scale.size(), " column scales");
    for (Index r = 0; r < x.rows(); ++r)
      for (Index k = 0; k < x.cols(); ++k) x(r, k) *= col_scale[static_cast<std::size_t>(k)];
  }
};

/// ARB-RC order 1 of w (see the top of this file), `iters` (15) alternating rounds. With a
/// granularity finer than PerChannel the row scale is per parameter set s (a row's group):
/// α_s = Σ_{(r,k)∈s} α_c,k·|W_rk| / Σ_{(r,k)∈s} α_c,k², α_c,k = Σ_r α_s(r,k)·|W_rk| / Σ_r
/// α_s(r,k)². The scale gauge (α_s·t, α_c/t) is fixed by RMS(α_c) = 1, and a last α_c refit runs
/// against the α_s as stored (rounded to ScaleT), so what decodes is the least-squares fit of the
/// codes. All-zero rows or columns get scale 0.
template <class ScaleT, Granularity G = PerChannel>
BinaryRC<ScaleT, G> fit_binary_rc(MatrixView<const float> w, int iters = 15) {
  using S = Binary<BinaryOffset::kNone, ScaleT>;
  detail::check_finite(w, "fit_binary_rc");
  const Index R = w.rows(), C = w.cols();
  BinaryRC<ScaleT, G> out{PackedMatrix<S, G, Plain>(R, C), {}};
  const auto ns = static_cast<std::size_t>(G::param_count(R, C));
  auto slot = [&](Index r, Index k) { return static_cast<std::size_t>(G::param_index(r, k, C)); };
  std::vector<double> as(ns, 0.0), ac(static_cast<std::size_t>(C), 0.0);
  std::vector<double> num(ns), den(ns), cn(static_cast<std::size_t>(C)), cd(cn.size());
  // α_c by least squares against α_s (fixed); columns no row scale reaches get 0.
  auto refit_columns = [&] {
    std::fill(cn.begin(), cn.end(), 0.0);
    std::fill(cd.begin(), cd.end(), 0.0);
    for (Index r = 0; r < R; ++r)
      for (Index k = 0; k < C; ++k) {
        const double a = as[slot(r, k)];
        cn[static_cast<std::size_t>(k)] += a * std::fabs(w(r, k));
        cd[static_cast<std::size_t>(k)] += a * a;
      }
    for (std::size_t k = 0; k < cn.size(); ++k) ac[k] = cd[k] > 0.0 ? cn[k] / cd[k] : 0.0;
  };
  // Start: α_s = mean |W| over s, α_c = the mean over rows (with α_s > 0) of |W|/α_s.
  std::fill(num.begin(), num.end(), 0.0);
  std::fill(den.begin(), den.end(), 0.0);
  for (Index r = 0; r < R; ++r)
    for (Index k = 0; k < C; ++k) {
      num[slot(r, k)] += std::fabs(w(r, k));
      den[slot(r, k)] += 1.0;
    }
  for (std::size_t i = 0; i < ns; ++i) as[i] = den[i] > 0.0 ? num[i] / den[i] : 0.0;
  std::fill(cn.begin(), cn.end(), 0.0);
  std::fill(cd.begin(), cd.end(), 0.0);
  for (Index r = 0; r < R; ++r)
    for (Index k = 0; k < C; ++k) {
      const double a = as[slot(r, k)];
      if (!(a > 0.0)) continue;
      cn[static_cast<std::size_t>(k)] += std::fabs(w(r, k)) / a;
      cd[static_cast<std::size_t>(k)] += 1.0;
    }
  for (std::size_t k = 0; k < cn.size(); ++k) ac[k] = cd[k] > 0.0 ? cn[k] / cd[k] : 0.0;
  for (int it = 0; it < iters; ++it) {
    std::fill(num.begin(), num.end(), 0.0);
    std::fill(den.begin(), den.end(), 0.0);
    for (Index r = 0; r < R; ++r)
      for (Index k = 0; k < C; ++k) {
        const double c = ac[static_cast<std::size_t>(k)];
        num[slot(r, k)] += c * std::fabs(w(r, k));
        den[slot(r, k)] += c * c;
      }
    for (std::size_t i = 0; i < ns; ++i) as[i] = den[i] > 0.0 ? num[i] / den[i] : 0.0;
    refit_columns();
  }
  double rms = 0.0;
  for (double v : ac) rms += v * v;
  rms = C > 0 ? std::sqrt(rms / static_cast<double>(C)) : 0.0;
  if (rms > 0.0) {
    for (double& v : ac) v /= rms;
    for (double& v : as) v *= rms;
  }
  for (std::size_t i = 0; i < ns; ++i) {
    auto& p = out.w.params()[i];
    p = S::make(static_cast<float>(as[i]), 0.0f);
    if (!S::params_finite(p))
      lowbit::detail::fail("fit_binary_rc: the scale of parameter set ", i, " overflows ",
                           S::name());
    as[i] = S::alpha(p);
  }
  refit_columns();
  for (Index r = 0; r < R; ++r)
    for (Index k = 0; k < C; ++k) out.w.set_code(r, k, w(r, k) >= 0.0f ? 1u : 0u);
  out.col_scale.resize(static_cast<std::size_t>(C));
  for (Index k = 0; k < C; ++k) {
    const float v = static_cast<float>(ac[static_cast<std::size_t>(k)]);
    if (!std::isfinite(v))
      lowbit::detail::fail("fit_binary_rc: the scale of column ", k, " overflows float");
    out.col_scale[static_cast<std::size_t>(k)] = v;
  }
  return out;
}

}  // namespace lowbit::calib
