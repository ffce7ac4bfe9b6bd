// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/range_fit.hpp: range fitting per group: min/max, MSE-optimal clip search, LS
// refit. Value math of one group, below packing: quantize() (pack/quantize.hpp), the reference
// quantizer (quant/reference.hpp) and GPTQ (calib/gptq.hpp) all fit groups with it.
//
// # Fitting one group
// fit_group<S>(x, w, options) chooses the parameters of one group for a RangeFitScheme S:
//   1. kMinMax: S::fit_range(stats(x), 1), the plain min/max range.
//   2. kClipSearch: every clip ratio p = 1, 1 - Δ, ..., clip_min (Δ = (1 - clip_min)/clip_steps;
//      the default 0.01 spacing down to 0.2 is GPTQ's grid=100, maxshrink=0.8) and keeps the p
//      with the lowest weighted squared error Σ w·(decode(encode(x)) - x)², ties to the larger p.
//      FitOptions::shrink says how p shrinks the range (the scheme's rule, or toward zero).
//   3. refit_iters > 0: alternately re-encode with the current parameters and solve the weighted
//      least-squares problem for the parameters given those codes (S::refit); the best
//      parameters seen over all steps are kept, so a refit never makes the group worse.
// The error is measured with the stored (ScaleT-rounded) parameters, i.e. on what decodes (for
// affine schemes in vector arithmetic, within the last bit of S::decode; see group_error).
// Importance weights w (empty = all 1) are per weight, e.g. mean squared activation of the
// input channel (llama.cpp imatrix) or |x| (ggml Q2_K); they must be finite and >= 0.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "lowbit/config.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/quant/common.hpp"

namespace lowbit {

enum class RangeFit : std::uint8_t { kMinMax = 0, kClipSearch = 1 };

/// How a clip ratio p shrinks the range in kClipSearch. kScheme: S::fit_range(stats, p), the
/// scheme's own rule (symmetric: p·absmax; integer-zero asymmetric: p·min(min,0)..p·max(max,0),
/// GPTQ's find_params; float-min asymmetric: p·(max - min) about the range's centre). kTowardZero:
/// S::fit_range of the range [p·min, p·max], both ends scaled toward zero, for every scheme (the
/// rule of the numpy round-to-nearest baselines lowbit's model tables compare with).
enum class ClipShrink : std::uint8_t { kScheme = 0, kTowardZero = 1 };

/// How each group's parameters are chosen (see the essay at the top of this file).
struct FitOptions {
  RangeFit range = RangeFit::kMinMax;
  float clip_min = 0.2f;  // smallest clip ratio tried by kClipSearch, in (0, 1]
  int clip_steps = 80;    // number of steps from 1 down to clip_min (80: spacing 0.01)
  int refit_iters = 0;    // least-squares refits after the range choice, 0..64
  ClipShrink shrink = ClipShrink::kScheme;  // how p shrinks the range (see ClipShrink)

  /// Throws Error naming the bad field.
  void validate() const {
    if (!(clip_min > 0.0f && clip_min <= 1.0f))
      detail::fail("FitOptions: clip_min ", clip_min, " must be in (0, 1]");
    if (clip_steps < 0 || clip_steps > 10000)
      detail::fail("FitOptions: clip_steps ", clip_steps, " must be in 0..10000");
    if (refit_iters < 0 || refit_iters > 64)
      detail::fail("FitOptions: refit_iters ", refit_iters, " must be in 0..64");
  }
};

/// Weighted squared error Σ w·(decode(encode(x)) - x)² of coding x with parameters p (w empty =
/// unweighted). For affine schemes (every integer scheme) the whole chain runs on eight-float lanes
/// (simd/f32x8.hpp) with x̂ = scale·(code - sub) + offset, which may differ from the exactly rounded
/// S::decode in the last bit of x̂; the search only ranks candidates with it, and ref::quantize and
/// lowbit::quantize share this function, so they still agree bit for bit. The lanes are summed in
/// two alternating accumulators and then in lane order: the same double on every ISA.
template <ElementwiseScheme S, class A = simd::Arch8>
double group_error(std::span<const float> x, std::span<const float> w,
                   const typename S::Params& p) noexcept {
  const std::size_t n = x.size();
  const float* xp = x.data();
  const float* wp = w.empty() ? nullptr : w.data();
  double total = 0.0;
  std::size_t n_main = 0;  // covered by the vector loop; the tail uses the scalar spec
#if LOWBIT_HAS_F32X8
  if constexpr (simd::kHasLanes<A> && AffineEncodeScheme<S>) {
    using F = simd::F32x8<A>;
    const EncodeAffine e = S::encode_affine(p);
    const DecodeAffine d = S::decode_affine(p);
    if (e.scale != 0.0f) {
      n_main = n - n % F::kLanes;
      const detail::AffineLanes<A> chain(e, d);
      F acc0 = F::splat(0.0f), acc1 = F::splat(0.0f);
      for (std::size_t i = 0; i < n_main; i += F::kLanes) {
        const F xv = F::load(xp + i);
        const F diff = chain.error(chain.quotient(xv), xv);
        F sq = diff * diff;
        if (wp != nullptr) sq = sq * F::load(wp + i);
        if ((i / F::kLanes) % 2 == 0) {
          acc0 += sq;
        } else {
          acc1 += sq;
        }
      }
      acc0 += acc1;
      float lane[8];
      simd::lanes(acc0, lane);
      for (float v : lane) total += v;
    }
  }
#endif
  for (std::size_t i = n_main; i < n; ++i) {
    const float diff = S::decode(S::encode(xp[i], p), p) - xp[i];
    total += (wp == nullptr ? 1.0 : static_cast<double>(wp[i])) * static_cast<double>(diff) * diff;
  }
  return total;
}

/// Chooses the parameters of one group (x non-empty, finite; w empty or x.size() weights).
/// `scratch` holds codes during refits; it is resized as needed.
template <RangeFitScheme S>
typename S::Params fit_group(std::span<const float> x, std::span<const float> w,
                             const FitOptions& opt, std::vector<typename S::Code>& scratch) {
  using Params = typename S::Params;
  const RangeStats st = lowbit::detail::range_stats(x);
  if (!st.finite) lowbit::detail::fail("non-finite weight in the group");
  Params best = S::fit_range(st, 1.0f);
  if (!S::params_finite(best)) {
    lowbit::detail::fail("the range [", st.min, ", ", st.max, "] needs a scale that ", S::name(),
                         " cannot store (overflow); use a wider scale type");
  }
  if (opt.range == RangeFit::kMinMax && opt.refit_iters == 0) return best;
  double best_err = group_error<S>(x, w, best);
  if (opt.range == RangeFit::kClipSearch && opt.clip_steps > 0) {
    const double step = (1.0 - static_cast<double>(opt.clip_min)) / opt.clip_steps;
    for (int i = 1; i <= opt.clip_steps; ++i) {
      const float ratio = static_cast<float>(1.0 - i * step);
      Params p;
      if (opt.shrink == ClipShrink::kTowardZero) {
        RangeStats s = st;
        s.min = ratio * st.min;
        s.max = ratio * st.max;
        s.signed_absmax = ratio * st.signed_absmax;
        p = S::fit_range(s, 1.0f);
      } else {
        p = S::fit_range(st, ratio);
      }
      const double e = group_error<S>(x, w, p);
      if (e < best_err) {
        best_err = e;
        best = p;
      }
    }
  }
  if (opt.refit_iters > 0) {
    scratch.resize(x.size());
    Params cur = best;
    for (int it = 0; it < opt.refit_iters; ++it) {
      for (std::size_t i = 0; i < x.size(); ++i) scratch[i] = S::encode(x[i], cur);
      const Params next =
          S::refit(x, w, std::span<const typename S::Code>(scratch.data(), x.size()), cur);
      if (!S::params_finite(next)) break;
      cur = next;
      const double e = group_error<S>(x, w, cur);
      if (e < best_err) {
        best_err = e;
        best = cur;
      }
    }
  }
  return best;
}

}  // namespace lowbit
