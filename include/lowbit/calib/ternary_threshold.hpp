// SPDX-License-Identifier: Apache-2.0
// lowbit/calib/ternary_threshold.hpp: choosing ternary codes and α (BitNet's
// absmean, TWN, the exact optimal threshold, Sherry's 3:4 sparsity).
//
// # Per group, values x (fit_ternary)
//   kAbsmean    BitNet b1.58's weight_quant: α = mean|x|, t = clamp(rint(x/α), -1, 1), i.e. the
//               threshold α/2 (a tie rounds half to even, to 0) and α itself as the level. NOT
//               the least-squares α for that support (N(0,1): NMSE 0.263 vs 0.213); BitNet
//               trains with it in the loop. Departure: BitNet floors α at 1e-5 for an all-zero
//               tensor; here α = 0 codes every weight 0, which decodes to the same zeros.
//   kAbsmeanLs  the same support (|x| > mean|x|/2), α refitted: α = mean(|x| over the support)
//   kTwn        Δ = 0.7·mean|x|, support |x| > Δ, α = mean(|x| over the support)   (TWN)
//   kOptimal    the support that minimises Σ(x - α·t)² with α = its mean |x|: the k largest |x|
//               maximising (Σ_top-k |x|)²/k, searched exactly over every k (ties in |x| kept
//               together); N(0,1): threshold 0.612σ, NMSE 0.19017
// t = sign(x) on the support (sign(0) cannot occur there unless α = 0), 0 elsewhere.
//
// # Sherry 3:4 (ternarize_sherry)
//   In every block of 4 consecutive weights of a row (columns 4j .. 4j+3), the one of smallest
//   |x| (ties: the lowest column) is zeroed and the other three keep their sign; α per group =
//   mean |x| of the kept weights (AngelSlim's SherryNMQuant: Σ|kept| / (g·3/4)). A row's column
//   count must be a multiple of 4 and so must a PerGroup size. Stored here as Ternary codes with
//   the 3:4 pattern; the 1.25-bpw packing is pack/'s business.
//
// α is rounded to the scheme's storage type after it is fitted. Empty groups and groups of zeros
// give α = 0 and all-zero codes. NaN or ±Inf weights throw Error naming the row and column.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/calib/binary_refine.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/pack/layouts.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/quant/ternary.hpp"

namespace lowbit::calib {

enum class TernaryMethod : std::uint8_t { kAbsmean = 0, kAbsmeanLs = 1, kTwn = 2, kOptimal = 3 };

/// A group's level α and the rule for its support: |x| > threshold (kAbsmean: |x|/α rounds to 1,
/// the same set).
struct TernaryFit {
  double alpha = 0.0;
  double threshold = 0.0;
};

namespace detail {
inline double mean_abs_above(std::span<const float> x, double thr) noexcept {
  double s = 0.0;
  std::size_t n = 0;
  for (float v : x)
    if (std::fabs(v) > thr) {
      s += std::fabs(v);
      ++n;
    }
  return n > 0 ? s / static_cast<double>(n) : 0.0;
}
}  // namespace detail

/// One group's α and threshold by `method` (see the top of this file).
inline TernaryFit fit_ternary(std::span<const float> x, TernaryMethod method) {
  TernaryFit f;
  if (x.empty()) return f;
  const double m = detail::mean_abs_dev(x, 0.0);
  switch (method) {
    case TernaryMethod::kAbsmean:
      f.alpha = m;
      f.threshold = 0.5 * m;
      break;
    case TernaryMethod::kAbsmeanLs:
      f.threshold = 0.5 * m;
      f.alpha = detail::mean_abs_above(x, f.threshold);
      break;
    case TernaryMethod::kTwn:
      f.threshold = 0.7 * m;
      f.alpha = detail::mean_abs_above(x, f.threshold);
      break;
    case TernaryMethod::kOptimal: {
      std::vector<float> a(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) a[i] = std::fabs(x[i]);
      std::sort(a.begin(), a.end(), [](float p, float q) { return p > q; });
      double s = 0.0, best = 0.0;
      std::size_t best_k = 0;
      for (std::size_t k = 1; k <= a.size(); ++k) {
        s += a[k - 1];
        if (k < a.size() && a[k] == a[k - 1]) continue;  // keep equal magnitudes together
        const double gain = s * s / static_cast<double>(k);
        if (gain > best) {
          best = gain;
          best_k = k;
          f.alpha = s / static_cast<double>(k);
        }
      }
      // Support = the best_k largest: |x| > the next magnitude (0 if all are kept).
      f.threshold = best_k < a.size() ? a[best_k] : -1.0;
      if (best_k == 0) f.threshold = INFINITY;  // all zeros: nothing kept
      break;
    }
  }
  return f;
}

/// Ternarizes w group by group (G) with `method`. Throws Error on non-finite weights.
template <class ScaleT, Granularity G>
PackedMatrix<Ternary<ScaleT>, G, Plain> ternarize(MatrixView<const float> w, TernaryMethod method) {
  using S = Ternary<ScaleT>;
  detail::check_finite(w, "ternarize");
  PackedMatrix<S, G, Plain> out(w.rows(), w.cols());
  const auto groups = detail::gather_groups<G>(w);
  std::vector<double> thr(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const TernaryFit f = fit_ternary(groups[g], method);
    out.params()[g] = S::make(static_cast<float>(f.alpha));
    if (!S::params_finite(out.params()[g]))
      lowbit::detail::fail("ternarize: parameter set ", g, " overflows ", S::name());
    thr[g] = f.threshold;
  }
  for (Index r = 0; r < w.rows(); ++r)
    for (Index k = 0; k < w.cols(); ++k) {
      const auto slot = static_cast<std::size_t>(out.param_slot(r, k));
      const float v = w(r, k);
      std::uint32_t code = 1;
      if (method == TernaryMethod::kAbsmean) {
        code = S::encode(v, out.params()[slot]);  // BitNet's rint(x/α) with the stored α
      } else if (S::alpha(out.params()[slot]) != 0.0f && std::fabs(v) > thr[slot]) {
        code = v >= 0.0f ? 2 : 0;
      }
      out.set_code(r, k, code);
    }
  return out;
}

/// Sherry 3:4 sparse ternary of w, α per group G (see the top of this file).
template <class ScaleT, Granularity G>
PackedMatrix<Ternary<ScaleT>, G, Plain> ternarize_sherry(MatrixView<const float> w) {
  using S = Ternary<ScaleT>;
  detail::check_finite(w, "ternarize_sherry");
  if (w.cols() % 4 != 0)
    lowbit::detail::fail("ternarize_sherry: ", w.cols(), " columns, not a multiple of 4");
  if (G::kKind == GranularityKind::kPerGroup && G::kGroupSize % 4 != 0)
    lowbit::detail::fail("ternarize_sherry: group size ", G::kGroupSize, " is not a multiple of 4");
  // The column of smallest |w| among k0 .. k0+3 of row r (ties: the first).
  auto smallest_of_4 = [&](Index r, Index k0) {
    Index drop = k0;
    for (Index k = k0 + 1; k < k0 + 4; ++k)
      if (std::fabs(w(r, k)) < std::fabs(w(r, drop))) drop = k;
    return drop;
  };
  PackedMatrix<S, G, Plain> out(w.rows(), w.cols());
  std::vector<double> sum(static_cast<std::size_t>(out.params().size()), 0.0);
  std::vector<std::size_t> cnt(sum.size(), 0);
  for (Index r = 0; r < w.rows(); ++r)
    for (Index k0 = 0; k0 < w.cols(); k0 += 4) {
      const Index drop = smallest_of_4(r, k0);
      for (Index k = k0; k < k0 + 4; ++k) {
        if (k == drop) continue;
        const auto slot = static_cast<std::size_t>(out.param_slot(r, k));
        sum[slot] += std::fabs(w(r, k));
        ++cnt[slot];
      }
    }
  for (std::size_t g = 0; g < sum.size(); ++g) {
    out.params()[g] =
        S::make(cnt[g] > 0 ? static_cast<float>(sum[g] / static_cast<double>(cnt[g])) : 0.0f);
    if (!S::params_finite(out.params()[g]))
      lowbit::detail::fail("ternarize_sherry: parameter set ", g, " overflows ", S::name());
  }
  for (Index r = 0; r < w.rows(); ++r)
    for (Index k0 = 0; k0 < w.cols(); k0 += 4) {
      const Index drop = smallest_of_4(r, k0);
      for (Index k = k0; k < k0 + 4; ++k) {
        const bool zero = k == drop || S::alpha(out.params_at(r, k)) == 0.0f;
        out.set_code(r, k, zero ? 1u : (w(r, k) >= 0.0f ? 2u : 0u));
      }
    }
  return out;
}

}  // namespace lowbit::calib
