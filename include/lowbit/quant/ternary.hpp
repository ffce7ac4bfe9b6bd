// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/ternary.hpp: Ternary<ScaleT>, x ≈ α·t with t ∈ {-1, 0, +1} (TWN, Li et
// al. 2016; BitNet b1.58, Ma et al. 2024).
//
// Codes are 2-bit unsigned, code = t + 1 (0: -α, 1: 0, 2: +α); code 3 is invalid and io/
// rejects it. One parameter, α, per group. encode is the nearest level: t = round_clamp(x/α,
// -1, 1), so |x| ≤ α/2 codes 0 (a tie at exactly α/2 rounds half to even, to 0), and α = 0 codes
// every weight 0. The ternary fitters (calib/ternary_threshold.hpp: BitNet absmean, absmean with
// a least-squares α, TWN, the optimal threshold, Sherry 3:4) choose their own threshold Δ and
// then α, so their codes are the thresholded signs, not encode(x) of the fitted α.
// Decode is one multiply, α·(code - 1), bit-identical under any contraction or vector width.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/quant/affine.hpp"

namespace lowbit {

template <class ScaleT>
struct Ternary {
  using Code = std::uint8_t;
  using Scale = ScaleT;
  struct Params {
    ScaleT alpha{};
  };

  static constexpr int kCodeBits = 2;
  static constexpr int kParamBits = ScaleStorage<ScaleT>::kBits;
  static constexpr int kParamBytes = static_cast<int>(sizeof(ScaleT));
  static constexpr std::uint32_t kMinCode = 0;
  static constexpr std::uint32_t kMaxCode = 2;
  static constexpr int kOffset = 1;  // code = t + 1

  static std::string name() { return "ternary_b2_" + std::string(ScaleStorage<ScaleT>::name()); }
  static constexpr SchemeDescriptor descriptor() { return {4, 2, 0, ScaleStorage<ScaleT>::kId}; }

  static float alpha(const Params& p) noexcept { return ScaleStorage<ScaleT>::load(p.alpha); }
  static Params make(float a) noexcept { return Params{ScaleStorage<ScaleT>::store(a)}; }

  static EncodeAffine encode_affine(const Params& p) noexcept {
    return {0.0f, alpha(p), -1.0f, 1.0f, kOffset, kOffset};
  }
  static Code encode(float x, const Params& p) noexcept {
    return static_cast<Code>(detail::encode_with(encode_affine(p), x));
  }
  static float decode(Code c, const Params& p) noexcept {
    return alpha(p) * static_cast<float>(static_cast<int>(c) - kOffset);
  }
  static DecodeAffine decode_affine(const Params& p) noexcept { return {alpha(p), kOffset, 0.0f}; }

  static bool params_finite(const Params& p) noexcept { return std::isfinite(alpha(p)); }
  static void write_params(const Params& p, std::byte* out) noexcept {
    detail::store_le(out, p.alpha);
  }
  static Params read_params(const std::byte* in) noexcept {
    return Params{detail::load_le<ScaleT>(in)};
  }
  static const char* check_params(const Params& p) noexcept {
    return params_finite(p) ? nullptr : "alpha is not finite";
  }
};

}  // namespace lowbit
