// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/common.hpp: rounding, range statistics and least-squares helpers shared by schemes.
//
// Why vector extensions here, not xsimd: these
// loops are the quantizer's (offline / load-time) hot path, and the core headers must vectorise
// without xsimd. GCC and clang both lower `__attribute__((vector_size))` arithmetic to whatever
// the target has (SSE2 pairs, AVX2, AVX-512, NEON) with no ISA flags and no intrinsics, and
// every operation used is exact or order-independent (min/max, compare/select, one division,
// the round-half-even trick), so the vector loops are bit-identical to the scalar ones, which
// remain the spec and run under LOWBIT_FORCE_SCALAR (config.hpp). Kernels stay on xsimd.
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

/// Encodes n values: out[i] = encode_with(e, x[i]). With GCC/clang the loop runs on 8-float
/// vectors (vector extensions, lowered to the target's registers) and rounds half to even by adding
/// and subtracting 1.5·2^23 (exact for |t| < 2^22, and t is clamped to a code range first), which
/// equals std::nearbyint in the default round-to-nearest mode (tests check it against the scalar
/// spec). Under -ffast-math, which would fold that rounding away, it falls back to the scalar loop.
template <class Code>
inline void encode_n(const EncodeAffine& e, const float* x, std::size_t n, Code* out) noexcept {
  if (e.scale == 0.0f) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<Code>(e.zero_code);
    return;
  }
  // The tail loop gets its own index from n_main: GCC 12 misreads a loop that continues the
  // vector loop's index (-Waggressive-loop-optimizations false positive).
  std::size_t n_main = 0;
#if LOWBIT_VECTOR_EXT
  constexpr int kW = 8;
  n_main = n - n % kW;
  using V = float __attribute__((vector_size(4 * kW)));
  using Vi = std::int32_t __attribute__((vector_size(4 * kW)));
  const V off = e.offset - V{}, sc = e.scale - V{}, lo = e.lo - V{}, hi = e.hi - V{};
  const V magic = 0x1.8p23f - V{};
  const Vi add = e.add - Vi{};
  for (std::size_t i = 0; i < n_main; i += kW) {
    V t;
    std::memcpy(&t, x + i, sizeof(V));
    t = (t - off) / sc;
    t = t >= lo ? t : lo;
    t = t <= hi ? t : hi;
    t = (t + magic) - magic;
    const Vi q = __builtin_convertvector(t, Vi) + add;
    if constexpr (sizeof(Code) == 1) {
      // Low byte of each lane (codes are 0..255). A byte shuffle, because a narrowing
      // __builtin_convertvector is scalarised on AVX2.
      using Vb = std::uint8_t __attribute__((vector_size(4 * kW)));
      Vb bytes;
      std::memcpy(&bytes, &q, sizeof(Vb));
      const auto b = __builtin_shufflevector(bytes, bytes, 0, 4, 8, 12, 16, 20, 24, 28);
      std::memcpy(out + i, &b, kW);
    } else {
      for (int j = 0; j < kW; ++j) out[i + static_cast<std::size_t>(j)] = static_cast<Code>(q[j]);
    }
  }
#endif
  for (std::size_t i = n_main; i < n; ++i) out[i] = static_cast<Code>(encode_with(e, x[i]));
}

/// Min, max and first signed value of largest magnitude over x (an empty x gives all zeros;
/// any NaN or ±Inf gives finite = false). Min and max are exact whatever the order, so they are
/// reduced in 8-float vectors (GCC/clang vector extensions, lowered to whatever the target has: no
/// ISA flags needed); compilers do not vectorise a float min/max reduction by themselves without
/// -ffast-math. The signed extreme
/// is then min or max; only when |min| == |max| does a scan decide which comes first.
template <std::size_t Extent>
inline RangeStats range_stats(std::span<const float, Extent> x) noexcept {
  RangeStats st;
  const std::size_t n = x.size();
  if (n == 0) return st;
  const float* v = x.data();  // raw pointer: GCC 12 misreads span indexing in the loops below
  float mn = v[0], mx = v[0];
  std::size_t n_main = 0;  // elements covered by the vector loop
#if LOWBIT_VECTOR_EXT
  using V = float __attribute__((vector_size(32)));  // 8 lanes; split into halves without AVX
  using Vi = std::int32_t __attribute__((vector_size(32)));
  if (n >= 16) {
    n_main = n - n % 16;
    V lo0, hi0, lo1, hi1;
    std::memcpy(&lo0, v, sizeof(V));
    std::memcpy(&lo1, v + 8, sizeof(V));
    hi0 = lo0;
    hi1 = lo1;
    Vi nan = (lo0 != lo0) | (lo1 != lo1);  // NaN never wins a comparison, so track it apart
    for (std::size_t i = 16; i < n_main; i += 16) {
      V a, b;
      std::memcpy(&a, v + i, sizeof(V));
      std::memcpy(&b, v + i + 8, sizeof(V));
      nan |= (a != a) | (b != b);
      lo0 = a < lo0 ? a : lo0;
      hi0 = a > hi0 ? a : hi0;
      lo1 = b < lo1 ? b : lo1;
      hi1 = b > hi1 ? b : hi1;
    }
    lo0 = lo1 < lo0 ? lo1 : lo0;
    hi0 = hi1 > hi0 ? hi1 : hi0;
    // Horizontal reduction in three halving steps.
    V l = __builtin_shufflevector(lo0, lo0, 4, 5, 6, 7, 0, 1, 2, 3);
    V h = __builtin_shufflevector(hi0, hi0, 4, 5, 6, 7, 0, 1, 2, 3);
    lo0 = l < lo0 ? l : lo0;
    hi0 = h > hi0 ? h : hi0;
    l = __builtin_shufflevector(lo0, lo0, 2, 3, 0, 1, 6, 7, 4, 5);
    h = __builtin_shufflevector(hi0, hi0, 2, 3, 0, 1, 6, 7, 4, 5);
    lo0 = l < lo0 ? l : lo0;
    hi0 = h > hi0 ? h : hi0;
    mn = lo0[1] < lo0[0] ? lo0[1] : lo0[0];
    mx = hi0[1] > hi0[0] ? hi0[1] : hi0[0];
    nan |= __builtin_shufflevector(nan, nan, 4, 5, 6, 7, 0, 1, 2, 3);
    nan |= __builtin_shufflevector(nan, nan, 2, 3, 0, 1, 6, 7, 4, 5);
    if ((nan[0] | nan[1]) != 0) st.finite = false;
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

inline RangeStats range_stats(const std::vector<float>& x) noexcept {
  return range_stats(std::span<const float>(x.data(), x.size()));
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
