// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/common.hpp: rounding, range statistics and least-squares helpers shared by schemes.
//
// The vector loops (encode_n, range_stats, and group_error in range_fit.hpp) run on simd::F32x8:
// eight float lanes on xsimd whatever the register width, so reductions add in one fixed order and
// a quantizer gives the same bytes on every machine (simd/f32x8.hpp explains why). Every operation
// they use is exact or order-independent (min/max, compare/select, one division, the
// round-half-even trick), so they are bit-identical to the scalar loops, which remain the spec and
// run under LOWBIT_FORCE_SCALAR (config.hpp) and where xsimd is absent. Each takes the
// architecture as a defaulted template parameter, so TUs built for different ISAs never share a
// symbol.
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "lowbit/config.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/simd/f32x8.hpp"

namespace lowbit {

/// Affine encoding: the integer schemes encode as code = round_clamp((x - offset) / scale, lo, hi)
/// + add, with a fixed `zero_code` when scale == 0. Schemes return these constants from their
/// parameters (S::encode_affine) and S::encode is encode_with() of them, so the scalar spec and the
/// vector encoders below share one definition.
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

/// Encodes n values: out[i] = encode_with(e, x[i]). The loop runs on eight-float lanes and rounds
/// half to even by adding and subtracting 1.5·2^23 (exact for |t| < 2^22, and t is clamped to a
/// code range first), which equals std::nearbyint in the default round-to-nearest mode (tests check
/// it against the scalar spec on every length 0..129).
template <class Code, class A = simd::Arch8>
inline void encode_n(const EncodeAffine& e, const float* x, std::size_t n, Code* out) noexcept {
  if (e.scale == 0.0f) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<Code>(e.zero_code);
    return;
  }
  // The tail loop gets its own index from n_main: GCC 12 misreads a loop that continues the
  // vector loop's index (-Waggressive-loop-optimizations false positive).
  std::size_t n_main = 0;
#if LOWBIT_HAS_F32X8
  if constexpr (simd::kHasLanes<A>) {
    using F = simd::F32x8<A>;
    n_main = n - n % F::kLanes;
    const F off = F::splat(e.offset), sc = F::splat(e.scale);
    const F lo = F::splat(e.lo), hi = F::splat(e.hi);
    const auto add = simd::I32x8<A>::splat(e.add);
    for (std::size_t i = 0; i < n_main; i += F::kLanes) {
      F t = (F::load(x + i) - off) / sc;
      t = max_keep(t, lo);  // NaN lands on lo
      t = min_keep(t, hi);
      (t.round_even().to_int32() + add).store_as(out + i);
    }
  }
#endif
  for (std::size_t i = n_main; i < n; ++i) out[i] = static_cast<Code>(encode_with(e, x[i]));
}

/// Min, max and first signed value of largest magnitude over x (an empty x gives all zeros;
/// any NaN or ±Inf gives finite = false). Min and max are exact whatever the order, so they are
/// reduced on eight-float lanes (compilers do not vectorise a float min/max reduction by
/// themselves without -ffast-math). The signed extreme is then min or max; only when
/// |min| == |max| does a scan decide which comes first.
template <std::size_t Extent, class A = simd::Arch8>
LOWBIT_INLINE RangeStats range_stats(std::span<const float, Extent> x) noexcept {
  RangeStats st;
  const std::size_t n = x.size();
  if (n == 0) return st;
  const float* v = x.data();  // raw pointer: GCC 12 misreads span indexing in the loops below
  float mn = v[0], mx = v[0];
  std::size_t n_main = 0;  // elements covered by the vector loop
#if LOWBIT_HAS_F32X8
  if constexpr (simd::kHasLanes<A>) {
    using F = simd::F32x8<A>;
    if (n >= 16) {
      n_main = n - n % 16;
      F lo0 = F::load(v), lo1 = F::load(v + 8);
      F hi0 = lo0, hi1 = lo1;
      auto nan = lo0.is_nan() | lo1.is_nan();  // NaN never wins a comparison, so track it apart
      for (std::size_t i = 16; i < n_main; i += 16) {
        const F a = F::load(v + i), b = F::load(v + i + 8);
        nan = nan | a.is_nan() | b.is_nan();
        lo0 = min_keep(a, lo0);
        hi0 = max_keep(a, hi0);
        lo1 = min_keep(b, lo1);
        hi1 = max_keep(b, hi1);
      }
      lo0 = min_keep(lo1, lo0);
      hi0 = max_keep(hi1, hi0);
      mn = simd::fold<true>(lo0);
      mx = simd::fold<false>(hi0);
      if (nan.any()) st.finite = false;
    }
  }
#endif
  for (std::size_t i = n_main; i < n; ++i) {
    if (v[i] != v[i]) st.finite = false;
    mn = v[i] < mn ? v[i] : mn;
    mx = v[i] > mx ? v[i] : mx;
  }
  if (!st.finite || !std::isfinite(mn) || !std::isfinite(mx)) {
    st.finite = false;
    return st;
  }
  st.min = mn;
  st.max = mx;
  if (-mn > mx) {
    st.signed_absmax = mn;
  } else if (mx > -mn) {
    st.signed_absmax = mx;
  } else {  // |min| == |max|: the first element of that magnitude wins, as in ggml
    st.signed_absmax = mx;
    for (std::size_t k = 0; k < n; ++k) {
      if (v[k] == mn || v[k] == mx) {
        st.signed_absmax = v[k];
        break;
      }
    }
  }
  return st;
}

template <class A = simd::Arch8>
inline RangeStats range_stats(const std::vector<float>& x) noexcept {
  return range_stats<std::dynamic_extent, A>(std::span<const float>(x.data(), x.size()));
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

/// Min, max and the signed value of largest magnitude of a span, and whether every value is
/// finite (RangeStats): what a range-fit scheme's fit_range takes.
using detail::range_stats;

}  // namespace lowbit
