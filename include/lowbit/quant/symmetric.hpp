// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/symmetric.hpp: Symmetric<Bits, Convention, ScaleT>, x ≈ s·q with one scale.
//
// # Symmetric quantization
// One scale s per group, no offset: x̂ = s·q for a signed integer level q. Codes are stored
// unsigned, code = q + 2^(Bits-1), so every layout sees plain Bits-bit unsigned integers.
// The three conventions are NOT equivalent, so the convention is part of the type:
//
//   convention   levels q                        scale from the group (clip ratio p ≤ 1)
//   kRestricted  -(2^(B-1)-1) .. 2^(B-1)-1       s = p·amax / (2^(B-1)-1)        (odd grid)
//   kFullRange   -2^(B-1) .. 2^(B-1)-1           s = 2·p·amax / (2^B - 1)        (GPTQ "sym")
//   kSignedMax   -2^(B-1) .. 2^(B-1)-1           s = p·m / -2^(B-1), m = the signed value of
//                                                largest |x| (ggml Q4_0): s carries m's sign,
//                                                so m lands on the extra level -2^(B-1).
//
// Rounding: q = round_half_even(clamp(x / s, qmin, qmax)), computed with the *stored* scale
// (ScaleT-rounded), so codes agree with what a decoder sees. Saturation: values beyond the
// clipped range map to the end levels. Zero: 0.0 is exactly representable (q = 0) in every
// convention. A group whose scale is 0 (all zeros, or a scale below ScaleT's smallest
// subnormal) codes every weight as q = 0 and decodes to 0. Decode is one multiply, s·q, so it is
// bit-identical under any contraction or vector width.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/quant/affine.hpp"

namespace lowbit {

/// Persisted in io/ files (SchemeDescriptor::variant): never renumber.
enum class SymmetricConvention : std::uint8_t { kRestricted = 0, kFullRange = 1, kSignedMax = 2 };

inline constexpr std::string_view convention_name(SymmetricConvention c) {
  switch (c) {
    case SymmetricConvention::kRestricted:
      return "restricted";
    case SymmetricConvention::kFullRange:
      return "full_range";
    case SymmetricConvention::kSignedMax:
      return "signed_max";
  }
  return "?";
}

// The scale storage type is a template
// parameter because codes are computed with the stored, rounded scale, so it changes the math.
template <int Bits, SymmetricConvention Convention, class ScaleT>
struct Symmetric {
  static_assert(Bits >= 2 && Bits <= 8, "Symmetric<Bits, ...>: Bits must be in 2..8");
  static_assert(sizeof(ScaleStorage<ScaleT>) > 0, "Symmetric: ScaleT must be float, f16 or bf16");

  using Code = std::uint8_t;
  using Scale = ScaleT;
  struct Params {
    ScaleT scale{};
  };

  static constexpr int kCodeBits = Bits;
  static constexpr int kParamBits = ScaleStorage<ScaleT>::kBits;
  static constexpr int kParamBytes = static_cast<int>(sizeof(ScaleT));
  static constexpr SymmetricConvention kConvention = Convention;
  static constexpr int kOffset = 1 << (Bits - 1);  // code = q + kOffset
  static constexpr int kQMax = kOffset - 1;
  static constexpr int kQMin = Convention == SymmetricConvention::kRestricted ? -kQMax : -kOffset;
  static constexpr std::uint32_t kMinCode = static_cast<std::uint32_t>(kQMin + kOffset);
  static constexpr std::uint32_t kMaxCode = static_cast<std::uint32_t>(kQMax + kOffset);

  static std::string name() {
    return "symmetric_b" + std::to_string(Bits) + "_" + std::string(convention_name(Convention)) +
           "_" + std::string(ScaleStorage<ScaleT>::name());
  }
  static constexpr SchemeDescriptor descriptor() {
    return {1, static_cast<std::uint8_t>(Bits), static_cast<std::uint8_t>(Convention),
            ScaleStorage<ScaleT>::kId};
  }

  static float scale(const Params& p) noexcept { return ScaleStorage<ScaleT>::load(p.scale); }

  /// code = round_clamp(x / s, qmin, qmax) + 2^(Bits-1); the zero code when s == 0.
  static EncodeAffine encode_affine(const Params& p) noexcept {
    return {0.0f, scale(p), static_cast<float>(kQMin), static_cast<float>(kQMax), kOffset, kOffset};
  }
  static Code encode(float x, const Params& p) noexcept {
    return static_cast<Code>(detail::encode_with(encode_affine(p), x));
  }
  static float decode(Code c, const Params& p) noexcept {
    return scale(p) * static_cast<float>(static_cast<int>(c) - kOffset);
  }
  static DecodeAffine decode_affine(const Params& p) noexcept { return {scale(p), kOffset, 0.0f}; }

  /// The min/max range shrunk by `clip` (1 = plain min/max). The scale is computed in double
  /// and rounded once to float, then to ScaleT.
  static Params fit_range(const RangeStats& st, float clip) noexcept {
    // max(|min|, |max|) = max(-min, max) since min <= max; plain comparisons, as std::fmax is
    // an out-of-line libm call under GCC.
    const double amax =
        -st.min > st.max ? -static_cast<double>(st.min) : static_cast<double>(st.max);
    double s = 0.0;
    if constexpr (Convention == SymmetricConvention::kRestricted) {
      s = clip * amax / kQMax;
    } else if constexpr (Convention == SymmetricConvention::kFullRange) {
      s = 2.0 * clip * amax / ((1 << Bits) - 1);
    } else {
      s = clip * static_cast<double>(st.signed_absmax) / -kOffset;
    }
    return Params{ScaleStorage<ScaleT>::store(static_cast<float>(s))};
  }

  /// Weighted least-squares scale for fixed codes: s = Σw·x·q / Σw·q². Keeps p if degenerate.
  static Params refit(std::span<const float> x, std::span<const float> w,
                      std::span<const Code> codes, const Params& p) noexcept {
    const detail::LsSums s = detail::ls_sums(x, w, codes, kOffset);
    if (!(s.sqq > 0.0)) return p;
    return Params{ScaleStorage<ScaleT>::store(static_cast<float>(s.sqx / s.sqq))};
  }

  static bool params_finite(const Params& p) noexcept { return std::isfinite(scale(p)); }

  static void write_params(const Params& p, std::byte* out) noexcept {
    detail::store_le(out, p.scale);
  }
  static Params read_params(const std::byte* in) noexcept {
    return Params{detail::load_le<ScaleT>(in)};
  }
  static const char* check_params(const Params& p) noexcept {
    return params_finite(p) ? nullptr : "scale is not finite";
  }
};

}  // namespace lowbit
