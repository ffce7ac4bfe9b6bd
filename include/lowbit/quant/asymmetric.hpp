// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/asymmetric.hpp: Asymmetric<Bits, Offset, ScaleT>, x ≈ s·(q - z) or x ≈ s·q + m.
//
// # Asymmetric quantization
// Codes q are unsigned, 0 .. 2^Bits - 1, and a group has a scale plus an offset:
//
//   offset     decode             parameters             range from the group (clip p ≤ 1)
//   kIntZero   x̂ = s·(q - z)      s (ScaleT), z (Bits)   lo = p·min(min x, 0), hi = p·max(max x,
//   0),
//                                                        s = (hi - lo)/(2^B - 1), z = rint(-lo/s)
//   kFloatMin  x̂ = s·q + m        s, m (both ScaleT)     c = (min+max)/2, h = p·(max-min)/2,
//                                                        m = c - h, s = 2h/(2^B - 1)
//
// Rounding: q = round_half_even(clamp(x/s + z)) (kIntZero) or round_half_even(clamp((x-m)/s))
// (kFloatMin), computed with the stored, ScaleT-rounded s and m. Saturation at 0 and 2^B - 1.
// Zero: with kIntZero, 0.0 is *exactly* representable (q = z, and z is clamped into the code
// range), which is what zero padding and sparsity need (gemmlowp's argument). With kFloatMin
// 0.0 is representable only by chance; kFloatMin fits (s, m) freely and has the lowest MSE.
// A group with s = 0 (all values equal to the offset) codes every weight as z (or 0) and
// decodes exactly to 0 (or m). kFloatMin decodes with one correctly rounded fma(s, q, m), so the
// value does not depend on whether a compiler contracts the multiply-add.
//
// Least-squares refit (ggml make_qkx2_quants style): for fixed codes, (s, m) minimise the
// weighted squared error Σw(x - s·q - m)² in closed form (kIntZero: the fitted offset is rounded
// to an integer zero point, then s is refitted for that z).
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

/// Persisted in io/ files (SchemeDescriptor::variant): never renumber.
enum class AsymmetricOffset : std::uint8_t { kIntZero = 0, kFloatMin = 1 };

inline constexpr std::string_view offset_name(AsymmetricOffset o) {
  return o == AsymmetricOffset::kIntZero ? "int_zero" : "float_min";
}

template <int Bits, AsymmetricOffset Offset, class ScaleT>
struct Asymmetric;

namespace detail {

/// What both offset kinds share: code range, identity, and encode through encode_affine.
template <class Derived, int Bits, AsymmetricOffset Offset, class ScaleT>
struct AsymmetricCommon {
  static_assert(Bits >= 2 && Bits <= 8, "Asymmetric<Bits, ...>: Bits must be in 2..8");

  using Code = std::uint8_t;
  using Scale = ScaleT;
  static constexpr int kCodeBits = Bits;
  static constexpr AsymmetricOffset kOffsetKind = Offset;
  static constexpr int kMaxQ = (1 << Bits) - 1;
  static constexpr std::uint32_t kMinCode = 0;
  static constexpr std::uint32_t kMaxCode = static_cast<std::uint32_t>(kMaxQ);

  static std::string name() {
    return "asymmetric_b" + std::to_string(Bits) + "_" + std::string(offset_name(Offset)) + "_" +
           std::string(ScaleStorage<ScaleT>::name());
  }
  static constexpr SchemeDescriptor descriptor() {
    return {2, static_cast<std::uint8_t>(Bits), static_cast<std::uint8_t>(Offset),
            ScaleStorage<ScaleT>::kId};
  }
  template <class P>
  static float scale(const P& p) noexcept {
    return ScaleStorage<ScaleT>::load(p.scale);
  }
  template <class P>
  static Code encode(float x, const P& p) noexcept {
    return static_cast<Code>(encode_with(Derived::encode_affine(p), x));
  }
};

}  // namespace detail

/// Integer zero point: s·(q - z); 0.0 exactly representable.
template <int Bits, class ScaleT>
struct Asymmetric<Bits, AsymmetricOffset::kIntZero, ScaleT>
    : detail::AsymmetricCommon<Asymmetric<Bits, AsymmetricOffset::kIntZero, ScaleT>, Bits,
                               AsymmetricOffset::kIntZero, ScaleT> {
  using Base = detail::AsymmetricCommon<Asymmetric, Bits, AsymmetricOffset::kIntZero, ScaleT>;
  using Base::kMaxQ;
  using Base::scale;
  using typename Base::Code;
  struct Params {
    ScaleT scale{};
    std::uint8_t zero = 0;
  };

  static constexpr int kParamBits = ScaleStorage<ScaleT>::kBits + Bits;
  static constexpr int kParamBytes = static_cast<int>(sizeof(ScaleT)) + 1;

  /// code = round_clamp(x / s, -z, maxq - z) + z; z when s == 0.
  static EncodeAffine encode_affine(const Params& p) noexcept {
    const int z = p.zero;
    return {0.0f, scale(p), static_cast<float>(-z), static_cast<float>(kMaxQ - z), z, z};
  }
  static float decode(Code c, const Params& p) noexcept {
    return scale(p) * static_cast<float>(static_cast<int>(c) - static_cast<int>(p.zero));
  }
  static DecodeAffine decode_affine(const Params& p) noexcept { return {scale(p), p.zero, 0.0f}; }

  static Params fit_range(const RangeStats& st, float clip) noexcept {
    // Plain comparisons: std::fmin/fmax are out-of-line libm calls under GCC.
    const double lo = clip * (st.min < 0.0f ? static_cast<double>(st.min) : 0.0);
    const double hi = clip * (st.max > 0.0f ? static_cast<double>(st.max) : 0.0);
    Params p;
    p.scale = ScaleStorage<ScaleT>::store(static_cast<float>((hi - lo) / kMaxQ));
    p.zero = zero_for(lo, scale(p));
    return p;
  }

  static Params refit(std::span<const float> x, std::span<const float> w,
                      std::span<const Code> codes, const Params& p) noexcept {
    double s = 0.0, b = 0.0;  // x ≈ s·q + b
    if (!detail::fit_line(detail::ls_sums(x, w, codes, 0), s, b)) return p;
    Params r;
    r.zero = static_cast<std::uint8_t>(
        std::clamp(std::nearbyint(-b / s), 0.0, static_cast<double>(kMaxQ)));
    const detail::LsSums c = detail::ls_sums(x, w, codes, r.zero);  // s for that integer zero
    if (!(c.sqq > 0.0)) return p;
    r.scale = ScaleStorage<ScaleT>::store(static_cast<float>(c.sqx / c.sqq));
    return r;
  }

  static bool params_finite(const Params& p) noexcept { return std::isfinite(scale(p)); }

  static void write_params(const Params& p, std::byte* out) noexcept {
    detail::store_le(out, p.scale);
    detail::store_le(out + sizeof(ScaleT), p.zero);
  }
  static Params read_params(const std::byte* in) noexcept {
    Params p;
    p.scale = detail::load_le<ScaleT>(in);
    p.zero = detail::load_le<std::uint8_t>(in + sizeof(ScaleT));
    return p;
  }
  static const char* check_params(const Params& p) noexcept {
    if (!params_finite(p)) return "scale is not finite";
    if (p.zero > kMaxQ) return "zero point is outside the code range";
    return nullptr;
  }

 private:
  static std::uint8_t zero_for(double lo, float s) noexcept {
    if (s == 0.0f) return 0;
    return static_cast<std::uint8_t>(
        std::clamp(std::nearbyint(-lo / s), 0.0, static_cast<double>(kMaxQ)));
  }
};

/// Float offset: s·q + m (ggml Q4_1 / K-quant style).
template <int Bits, class ScaleT>
struct Asymmetric<Bits, AsymmetricOffset::kFloatMin, ScaleT>
    : detail::AsymmetricCommon<Asymmetric<Bits, AsymmetricOffset::kFloatMin, ScaleT>, Bits,
                               AsymmetricOffset::kFloatMin, ScaleT> {
  using Base = detail::AsymmetricCommon<Asymmetric, Bits, AsymmetricOffset::kFloatMin, ScaleT>;
  using Base::kMaxQ;
  using Base::scale;
  using typename Base::Code;
  struct Params {
    ScaleT scale{};
    ScaleT min{};
  };

  static constexpr int kParamBits = 2 * ScaleStorage<ScaleT>::kBits;
  static constexpr int kParamBytes = 2 * static_cast<int>(sizeof(ScaleT));

  static float offset(const Params& p) noexcept { return ScaleStorage<ScaleT>::load(p.min); }

  /// code = round_clamp((x - m) / s, 0, maxq); 0 when s == 0.
  static EncodeAffine encode_affine(const Params& p) noexcept {
    return {offset(p), scale(p), 0.0f, static_cast<float>(kMaxQ), 0, 0};
  }
  static float decode(Code c, const Params& p) noexcept {
    return std::fma(scale(p), static_cast<float>(c), offset(p));
  }
  static DecodeAffine decode_affine(const Params& p) noexcept { return {scale(p), 0, offset(p)}; }

  static Params fit_range(const RangeStats& st, float clip) noexcept {
    const double c = 0.5 * (static_cast<double>(st.min) + static_cast<double>(st.max));
    const double h = 0.5 * clip * (static_cast<double>(st.max) - static_cast<double>(st.min));
    Params p;
    p.min = ScaleStorage<ScaleT>::store(static_cast<float>(c - h));
    p.scale = ScaleStorage<ScaleT>::store(static_cast<float>(2.0 * h / kMaxQ));
    return p;
  }

  static Params refit(std::span<const float> x, std::span<const float> w,
                      std::span<const Code> codes, const Params& p) noexcept {
    double s = 0.0, m = 0.0;  // x ≈ s·q + m
    if (!detail::fit_line(detail::ls_sums(x, w, codes, 0), s, m)) return p;
    Params r;
    r.scale = ScaleStorage<ScaleT>::store(static_cast<float>(s));
    r.min = ScaleStorage<ScaleT>::store(static_cast<float>(m));
    return r;
  }

  static bool params_finite(const Params& p) noexcept {
    return std::isfinite(scale(p)) && std::isfinite(offset(p));
  }

  static void write_params(const Params& p, std::byte* out) noexcept {
    detail::store_le(out, p.scale);
    detail::store_le(out + sizeof(ScaleT), p.min);
  }
  static Params read_params(const std::byte* in) noexcept {
    Params p;
    p.scale = detail::load_le<ScaleT>(in);
    p.min = detail::load_le<ScaleT>(in + sizeof(ScaleT));
    return p;
  }
  static const char* check_params(const Params& p) noexcept {
    return params_finite(p) ? nullptr : "scale or min is not finite";
  }
};

}  // namespace lowbit
