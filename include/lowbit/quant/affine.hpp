// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/affine.hpp: the affine encode/decode constants every integer scheme reduces to,
// the concepts the kernels dispatch on, and the scalar rounding and least-squares helpers the
// schemes are written with.
//
// Everything here is scalar and constexpr-friendly: a scheme's header (quant/symmetric.hpp, …)
// includes only this, so naming a weight type (PackedMatrix<Symmetric<4>, PerGroup<32>, …>) parses
// without xsimd or intrinsics. The vector loops that encode many values at once live in
// quant/common.hpp.
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <span>

#include "lowbit/config.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/types.hpp"

namespace lowbit {

/// Affine encoding: the integer schemes encode as code = round_clamp((x - offset) / scale, lo, hi)
/// + add, with a fixed `zero_code` when scale == 0. Schemes return these constants from their
/// parameters (S::encode_affine) and S::encode is encode_with() of them, so the scalar spec and the
/// vector encoders (quant/common.hpp) share one definition.
struct EncodeAffine {
  float offset = 0.0f;
  float scale = 0.0f;
  float lo = 0.0f;
  float hi = 0.0f;
  int add = 0;
  int zero_code = 0;
};

/// ... and decodes as x̂ = scale·(code - sub) + offset (S::decode is the exactly rounded value;
/// vector code evaluating this form may differ from it in the last bit, see group_error).
struct DecodeAffine {
  float scale = 0.0f;
  int sub = 0;
  float offset = 0.0f;
};

/// A scheme whose decode is a DecodeAffine of its parameters: what the integer and float GEMM
/// kernels need (Binary's sign(0) = +1 encode is not affine, its decode is).
template <class S>
concept AffineDecodeScheme = ElementwiseScheme<S> && requires(const typename S::Params& p) {
  { S::decode_affine(p) } -> std::same_as<DecodeAffine>;
};

/// The decode of a code whose bits are separate planes: ŵ = offset + Σ_p scale[p]·bit_p(c).
struct PlaneAffine {
  float scale[8] = {};
  float offset = 0.0f;
};

/// A scheme whose decode is a PlaneAffine of its parameters (Binary2: two sign planes with their
/// own scales): the integer kernels keep one exact dot product per plane.
template <class S>
concept PlaneDecodeScheme = ElementwiseScheme<S> && requires(const typename S::Params& p) {
  { S::kPlanes } -> std::convertible_to<int>;
  { S::plane_affine(p) } -> std::same_as<PlaneAffine>;
};

/// ... whose encode is also an EncodeAffine of its parameters (encoders and error searches may
/// then vectorise).
template <class S>
concept AffineEncodeScheme = AffineDecodeScheme<S> && requires(const typename S::Params& p) {
  { S::encode_affine(p) } -> std::same_as<EncodeAffine>;
};

namespace detail {
/// v unchanged, but opaque to the optimiser: a multiply before it cannot be fused with an add
/// after it into an FMA (-ffp-contract=fast), so fp32 operations round one at a time.
inline float no_contract(float v) noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __asm__("" : "+x"(v));
#elif defined(__GNUC__) && defined(__aarch64__)
  __asm__("" : "+w"(v));
#else
  volatile float t = v;
  v = t;
#endif
  return v;
}

/// clamp(t, lo, hi) then round half to even. The clamp comes first so that the float-to-int
/// conversion is always defined; NaN compares false both times and lands on `lo`.
LOWBIT_INLINE int round_clamp(float t, float lo, float hi) noexcept {
  t = t >= lo ? t : lo;
  t = t <= hi ? t : hi;
  return static_cast<int>(std::nearbyint(t));
}

LOWBIT_INLINE int encode_with(const EncodeAffine& e, float x) noexcept {
  if (e.scale == 0.0f) return e.zero_code;
  return round_clamp((x - e.offset) / e.scale, e.lo, e.hi) + e.add;
}

/// Weighted sums for fitting x ≈ a·q + b over codes q (w empty = all weights 1).
struct LsSums {
  double sw = 0, sq = 0, sqq = 0, sx = 0, sqx = 0;
};
template <class Code>
inline LsSums ls_sums(std::span<const float> x, std::span<const float> w, std::span<const Code> q,
                      int offset) noexcept {
  LsSums s;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double wi = w.empty() ? 1.0 : static_cast<double>(w[i]);
    const double qi = static_cast<double>(static_cast<int>(q[i]) - offset);
    const double xi = static_cast<double>(x[i]);
    s.sw += wi;
    s.sq += wi * qi;
    s.sqq += wi * qi * qi;
    s.sx += wi * xi;
    s.sqx += wi * qi * xi;
  }
  return s;
}

/// The weighted least-squares line x ≈ s·q + b through LsSums (offset 0); false when the codes
/// do not determine it (all equal) or the slope is not positive.
inline bool fit_line(const LsSums& a, double& s, double& b) noexcept {
  const double det = a.sw * a.sqq - a.sq * a.sq;
  if (!(det > 0.0)) return false;
  s = (a.sw * a.sqx - a.sq * a.sx) / det;
  b = (a.sqq * a.sx - a.sq * a.sqx) / det;
  return s > 0.0;
}

}  // namespace detail

}  // namespace lowbit
