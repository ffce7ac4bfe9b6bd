// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/binary.hpp: Binary<Offset, ScaleT> (1 bit, x ≈ μ + α·b) and Binary2<ScaleT>
// (2 bits as two sign planes, x ≈ μ + α1·b1 + α2·b2), the value math of BiLLM
// (Huang et al. 2024) and ARB-LLM (Li et al. 2025).
//
// # Binary, one sign plane
//   b = sign(x - μ) ∈ {-1, +1}, stored as code 1 for +1 and code 0 for -1.
//   sign(0) = +1: a value equal to μ (an exact zero when there is no mean) is coded +1. PyTorch's
//   sign(0) = 0 would leave it uncoded, which a 1-bit code cannot express. NaN compares false and
//   is coded -1; the fitters reject NaN before that. Offset kNone stores α only (XNOR: μ = 0);
//   kMean stores α and μ (BiLLM/ARB order 1). decode(c) = μ + α or μ - α; as an affine map of the
//   code, x̂ = 2α·c + (μ - α), which is what the integer kernels evaluate (decode_affine; it may
//   differ from decode in the last bit). The fitters (calib/binary_refine.hpp) choose α and μ:
//   mean|x - μ| and alternating refinement.
//
// # Binary2, two sign planes (BiLLM residual order 2, ARB order 2)
//   code = c1 | c2 << 1, c_i = 1 for b_i = +1. Levels μ ± α1 ± α2: a 4-level non-uniform
//   quantizer with one shared mean. encode = the nearest of the four levels (ties to the lower
//   level), which is sign(x - μ) then sign of the residual when α1 ≥ α2 ≥ 0. Not affine in the
//   code, so the kernels treat it as two binary planes.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/quant/affine.hpp"

namespace lowbit {

/// Persisted in io/ files (SchemeDescriptor::variant): never renumber.
enum class BinaryOffset : std::uint8_t { kNone = 0, kMean = 1 };

inline constexpr std::string_view binary_offset_name(BinaryOffset o) {
  return o == BinaryOffset::kNone ? "none" : "mean";
}

template <BinaryOffset Offset, class ScaleT>
struct Binary {
  using Code = std::uint8_t;
  using Scale = ScaleT;
  /// kNone: `mean` is unused, stays zero and is not persisted.
  struct Params {
    ScaleT alpha{};
    ScaleT mean{};
  };

  static constexpr int kCodeBits = 1;
  static constexpr BinaryOffset kOffsetKind = Offset;
  static constexpr int kStoredParams = Offset == BinaryOffset::kMean ? 2 : 1;
  static constexpr int kParamBits = kStoredParams * ScaleStorage<ScaleT>::kBits;
  static constexpr int kParamBytes = kStoredParams * static_cast<int>(sizeof(ScaleT));
  static constexpr std::uint32_t kMinCode = 0;
  static constexpr std::uint32_t kMaxCode = 1;

  static std::string name() {
    return "binary_b1_" + std::string(binary_offset_name(Offset)) + "_" +
           std::string(ScaleStorage<ScaleT>::name());
  }
  static constexpr SchemeDescriptor descriptor() {
    return {3, 1, static_cast<std::uint8_t>(Offset), ScaleStorage<ScaleT>::kId};
  }

  static float alpha(const Params& p) noexcept { return ScaleStorage<ScaleT>::load(p.alpha); }
  static float mean(const Params& p) noexcept {
    if constexpr (Offset == BinaryOffset::kMean) {
      return ScaleStorage<ScaleT>::load(p.mean);
    } else {
      return 0.0f;
    }
  }
  /// Parameters from float α and μ, rounded to the storage type (μ dropped for kNone).
  static Params make(float a, float m) noexcept {
    Params p;
    p.alpha = ScaleStorage<ScaleT>::store(a);
    if constexpr (Offset == BinaryOffset::kMean) p.mean = ScaleStorage<ScaleT>::store(m);
    return p;
  }

  /// 1 when x >= μ (sign(0) = +1), else 0.
  static Code encode(float x, const Params& p) noexcept { return x >= mean(p) ? 1 : 0; }
  static float decode(Code c, const Params& p) noexcept {
    return c != 0 ? mean(p) + alpha(p) : mean(p) - alpha(p);
  }
  static DecodeAffine decode_affine(const Params& p) noexcept {
    return {2.0f * alpha(p), 0, mean(p) - alpha(p)};
  }

  static bool params_finite(const Params& p) noexcept {
    return std::isfinite(alpha(p)) && std::isfinite(mean(p));
  }
  static void write_params(const Params& p, std::byte* out) noexcept {
    detail::store_le(out, p.alpha);
    if constexpr (Offset == BinaryOffset::kMean) detail::store_le(out + sizeof(ScaleT), p.mean);
  }
  static Params read_params(const std::byte* in) noexcept {
    Params p;
    p.alpha = detail::load_le<ScaleT>(in);
    if constexpr (Offset == BinaryOffset::kMean)
      p.mean = detail::load_le<ScaleT>(in + sizeof(ScaleT));
    return p;
  }
  static const char* check_params(const Params& p) noexcept {
    return params_finite(p) ? nullptr : "alpha or mean is not finite";
  }
};

template <class ScaleT>
struct Binary2 {
  using Code = std::uint8_t;
  using Scale = ScaleT;
  struct Params {
    ScaleT mean{};
    ScaleT alpha1{};
    ScaleT alpha2{};
  };

  static constexpr int kCodeBits = 2;
  static constexpr int kParamBits = 3 * ScaleStorage<ScaleT>::kBits;
  static constexpr int kParamBytes = 3 * static_cast<int>(sizeof(ScaleT));
  static constexpr std::uint32_t kMinCode = 0;
  static constexpr std::uint32_t kMaxCode = 3;

  static std::string name() {
    return "binary_b2_planes_" + std::string(ScaleStorage<ScaleT>::name());
  }
  static constexpr SchemeDescriptor descriptor() { return {3, 2, 2, ScaleStorage<ScaleT>::kId}; }

  static float mean(const Params& p) noexcept { return ScaleStorage<ScaleT>::load(p.mean); }
  static float alpha1(const Params& p) noexcept { return ScaleStorage<ScaleT>::load(p.alpha1); }
  static float alpha2(const Params& p) noexcept { return ScaleStorage<ScaleT>::load(p.alpha2); }
  static Params make(float m, float a1, float a2) noexcept {
    return {ScaleStorage<ScaleT>::store(m), ScaleStorage<ScaleT>::store(a1),
            ScaleStorage<ScaleT>::store(a2)};
  }

  /// The level of code c: μ + α1·b1 + α2·b2, summed in that order.
  static float decode(Code c, const Params& p) noexcept {
    const float a1 = (c & 1) != 0 ? alpha1(p) : -alpha1(p);
    const float a2 = (c & 2) != 0 ? alpha2(p) : -alpha2(p);
    return (mean(p) + a1) + a2;
  }
  /// The planes: μ + α1·(2·b1 - 1) + α2·(2·b2 - 1) = (μ - α1 - α2) + 2α1·b1 + 2α2·b2 (bit 0 = b1).
  static constexpr int kPlanes = 2;
  static PlaneAffine plane_affine(const Params& p) noexcept {
    PlaneAffine d;
    d.scale[0] = 2.0f * alpha1(p);
    d.scale[1] = 2.0f * alpha2(p);
    d.offset = mean(p) - alpha1(p) - alpha2(p);
    return d;
  }
  /// The nearest of the four levels to x (ties and NaN to the lowest code among the nearest).
  static Code encode(float x, const Params& p) noexcept {
    Code best = 0;
    float best_d = std::fabs(x - decode(0, p));
    for (Code c = 1; c < 4; ++c) {
      const float d = std::fabs(x - decode(c, p));
      if (d < best_d) {
        best = c;
        best_d = d;
      }
    }
    return best;
  }

  static bool params_finite(const Params& p) noexcept {
    return std::isfinite(mean(p)) && std::isfinite(alpha1(p)) && std::isfinite(alpha2(p));
  }
  static void write_params(const Params& p, std::byte* out) noexcept {
    detail::store_le(out, p.mean);
    detail::store_le(out + sizeof(ScaleT), p.alpha1);
    detail::store_le(out + 2 * sizeof(ScaleT), p.alpha2);
  }
  static Params read_params(const std::byte* in) noexcept {
    return {detail::load_le<ScaleT>(in), detail::load_le<ScaleT>(in + sizeof(ScaleT)),
            detail::load_le<ScaleT>(in + 2 * sizeof(ScaleT))};
  }
  static const char* check_params(const Params& p) noexcept {
    return params_finite(p) ? nullptr : "mean, alpha1 or alpha2 is not finite";
  }
};

}  // namespace lowbit
