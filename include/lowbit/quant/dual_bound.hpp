// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/dual_bound.hpp: DualBound<Bits>, the two-bound asymmetric quantizer of DDTB
// (DDTB, Zhong et al., ECCV 2022), for weights (a scheme of PackedMatrix) and activations
// (quant/activation.hpp).
//
// # Math (DDTB's, as coded by zysxmu/DDTB `quant_ops.py`)
// A lower bound l and an upper bound u (trainable or searched, calib/dual_bound.hpp):
//
//   S = (2^b - 1)/(u - l)                  the inverse step, fp32
//   Z = rint(S·l) + 2^(b-1)                an integer
//   q = rint(S·clip(x, l, u) - Z)          then clamped to [-2^(b-1), 2^(b-1) - 1]
//   x̂ = (q + Z)/S
//
// Codes are stored unsigned, c = q + 2^(b-1) in 0 .. 2^b - 1, so x̂ = Δ·(c - z) with the step
// Δ = (u - l)/(2^b - 1) and the integer zero point z = 2^(b-1) - Z = -rint(S·l).
//
// Where lowbit departs from the letter of the paper (and why):
// * **Clamp after rounding.** DDTB clips x in float and does not clamp q. But rint(S·l) may round
//   away from S·l by up to 1/2, so S·u - Z can reach 2^(b-1) - 1/2 and round (half to even) to
//   2^(b-1), one level past the code range; fp32 rounding of S·x adds to it. lowbit clamps q to
//   [-2^(b-1), 2^(b-1) - 1] after rounding, so every code fits b bits (tested at the edges).
// * **Decode by multiplication.** x̂ = Δ·(c - z), Δ computed once as (u - l)/(2^b - 1): the
//   integer kernels multiply by a step; (q + Z)/S would divide. The two differ in the last bit.
// * **Bounds around zero.** lowbit requires l <= 0 <= u (check_params; fit_range and the
//   calibration keep it). Then z = -rint(S·l) lies in the code range, zero is exactly
//   representable (c = z) and every centred code c - z is at most 2^b - 1 in magnitude, which is
//   what the integer kernels' exactness bound assumes. Activations in DDTB's layers and in
//   transformer layers span zero; a per-sample gate scales l and u by positive factors and keeps
//   the signs.
// * **A zero-width range** (l = u = 0, an all-zero group) encodes everything as z = 0 and decodes
//   to 0.
// NaN inputs encode as code 0 (the clip's comparisons are false); callers that can meet NaN/Inf
// check first (pack/quantize.hpp and the activation quantizers throw Error).
//
// As a weight scheme the parameters are the two bounds in fp32 (64 bits a parameter set);
// fit_range takes [clip·min(x, 0), clip·max(x, 0)] and refit solves the weighted least-squares
// step for the fitted integer zero point, as Asymmetric<kIntZero> does.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/quant/affine.hpp"

namespace lowbit {

/// The two bounds of a dual-bound quantizer (l <= 0 <= u).
struct DualBoundRange {
  float lower = 0.0f;
  float upper = 0.0f;
  friend bool operator==(const DualBoundRange&, const DualBoundRange&) = default;
};

namespace detail {

/// The integer constants of DDTB's quantizer for b-bit codes and the range r: inverse step S, step
/// Δ and the unsigned zero point z = 2^(b-1) - Z. A zero-width range gives S = Δ = 0 and z = 0.
struct DualBoundAffine {
  float inv_step = 0.0f;  // S
  float step = 0.0f;      // Δ
  int zero = 0;           // z = -rint(S·l)
  float lower = 0.0f, upper = 0.0f;
  int half = 0;  // 2^(b-1)
};

inline DualBoundAffine dual_bound_affine(const DualBoundRange& r, int bits) noexcept {
  DualBoundAffine a;
  a.lower = r.lower;
  a.upper = r.upper;
  a.half = 1 << (bits - 1);
  const float levels = static_cast<float>((1 << bits) - 1);
  const float width = r.upper - r.lower;
  if (!(width > 0.0f)) return a;  // zero width (or NaN: check_params refuses it)
  a.inv_step = levels / width;
  a.step = width / levels;
  a.zero = -static_cast<int>(std::nearbyint(a.inv_step * r.lower));
  return a;
}

/// DDTB's encode with the clamp after rounding; the unsigned code c = q + 2^(b-1).
LOWBIT_INLINE int dual_bound_encode(const DualBoundAffine& a, float x) noexcept {
  if (a.inv_step == 0.0f) return a.zero;
  x = x >= a.lower ? x : a.lower;  // NaN lands on l
  x = x <= a.upper ? x : a.upper;
  // Z = rint(S·l) + 2^(b-1) = 2^(b-1) - z, so S·x - Z = S·x + z - 2^(b-1).
  // The product is rounded before the subtraction (no FMA), as in the vector loop and numpy.
  const float t = std::nearbyint(no_contract(a.inv_step * x) - static_cast<float>(a.half - a.zero));
  const float lo = static_cast<float>(-a.half), hi = static_cast<float>(a.half - 1);
  const float q = t < lo ? lo : (t > hi ? hi : t);
  return static_cast<int>(q) + a.half;
}

}  // namespace detail

/// DDTB's quantizer for one range as integer constants (DualBoundAffine: inverse step, step,
/// zero point) and its encode (the code of one value, clamped after rounding): what
/// DualBound<Bits> and ZeroPointActivations use, for code that quantizes values one at a time.
using detail::dual_bound_affine;
using detail::dual_bound_encode;
using detail::DualBoundAffine;

/// The dual-bound quantizer with b-bit unsigned codes (see the top of this file).
template <int Bits>
struct DualBound {
  static_assert(Bits >= 2 && Bits <= 8, "DualBound<Bits>: Bits must be in 2..8");

  using Code = std::uint8_t;
  using Params = DualBoundRange;
  static constexpr int kCodeBits = Bits;
  static constexpr int kLevels = (1 << Bits) - 1;
  static constexpr int kParamBits = 64;
  static constexpr int kParamBytes = 8;
  static constexpr std::uint32_t kMinCode = 0;
  static constexpr std::uint32_t kMaxCode = static_cast<std::uint32_t>(kLevels);

  static std::string name() { return "dual_bound_b" + std::to_string(Bits) + "_f32"; }
  static constexpr SchemeDescriptor descriptor() {
    return {8, static_cast<std::uint8_t>(Bits), 0, ScaleStorage<float>::kId};
  }

  static detail::DualBoundAffine affine(const Params& p) noexcept {
    return detail::dual_bound_affine(p, Bits);
  }
  static Code encode(float x, const Params& p) noexcept {
    return static_cast<Code>(detail::dual_bound_encode(affine(p), x));
  }
  static float decode(Code c, const Params& p) noexcept {
    const detail::DualBoundAffine a = affine(p);
    return a.step * static_cast<float>(static_cast<int>(c) - a.zero);
  }
  static DecodeAffine decode_affine(const Params& p) noexcept {
    const detail::DualBoundAffine a = affine(p);
    return {a.step, a.zero, 0.0f};
  }

  /// [clip·min(min x, 0), clip·max(max x, 0)].
  static Params fit_range(const RangeStats& st, float clip) noexcept {
    Params p;
    p.lower = clip * (st.min < 0.0f ? st.min : 0.0f);
    p.upper = clip * (st.max > 0.0f ? st.max : 0.0f);
    return p;
  }

  /// Weighted least squares for fixed codes: the zero point z = rint(-b/s) of the fitted line
  /// x ≈ s·c + b (clamped into the code range), then the step for that z; the bounds that give
  /// exactly that step and zero point are l = -z·Δ, u = (2^b - 1 - z)·Δ.
  static Params refit(std::span<const float> x, std::span<const float> w,
                      std::span<const Code> codes, const Params& p) noexcept {
    double s = 0.0, b = 0.0;
    if (!detail::fit_line(detail::ls_sums(x, w, codes, 0), s, b) || !(s > 0.0)) return p;
    const int z = static_cast<int>(std::clamp(std::nearbyint(-b / s), 0.0, double{kLevels}));
    const detail::LsSums c = detail::ls_sums(x, w, codes, z);
    if (!(c.sqq > 0.0) || !(c.sqx > 0.0)) return p;
    const double step = c.sqx / c.sqq;
    Params r;
    r.lower = static_cast<float>(-z * step);
    r.upper = static_cast<float>((kLevels - z) * step);
    return params_finite(r) ? r : p;
  }

  /// Finite bounds, a finite width and (unless the width is 0) a finite inverse step.
  static bool params_finite(const Params& p) noexcept {
    const float width = p.upper - p.lower;
    return std::isfinite(p.lower) && std::isfinite(p.upper) && std::isfinite(width) &&
           (width == 0.0f || std::isfinite(kLevels / width));
  }

  static void write_params(const Params& p, std::byte* out) noexcept {
    detail::store_le(out, p.lower);
    detail::store_le(out + 4, p.upper);
  }
  static Params read_params(const std::byte* in) noexcept {
    return {detail::load_le<float>(in), detail::load_le<float>(in + 4)};
  }
  static const char* check_params(const Params& p) noexcept { return check_range(p); }
  /// Why r cannot be a dual-bound range, or nullptr.
  static const char* check_range(const DualBoundRange& r) noexcept {
    if (!std::isfinite(r.lower) || !std::isfinite(r.upper)) return "a bound is not finite";
    if (!(r.lower <= 0.0f) || !(r.upper >= 0.0f)) return "the bounds do not satisfy l <= 0 <= u";
    if (!params_finite(r)) return "the range overflows or is too narrow for a finite step";
    return nullptr;
  }
};

}  // namespace lowbit
