// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/common.hpp: the quantizers' vector loops: encode many values (encode_n) and the
// range statistics of a group (range_stats). The scalar helpers they are the fast form of are in
// quant/affine.hpp.
//
// These loops (and group_error in range_fit.hpp) run on simd::F32x8:
// eight float lanes on xsimd whatever the register width, so reductions add in one fixed order and
// a quantizer gives the same bytes on every machine (simd/f32x8.hpp explains why). Every operation
// they use is exact or order-independent (min/max, compare/select, one division, the
// round-half-even trick), so they are bit-identical to the scalar loops, which remain the spec and
// run under LOWBIT_FORCE_SCALAR (config.hpp) and where xsimd is absent. Each takes the
// architecture as a defaulted template parameter, so TUs built for different ISAs never share a
// symbol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/config.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/quant/affine.hpp"
#include "lowbit/simd/f32x8.hpp"

namespace lowbit {

namespace detail {

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

#if LOWBIT_HAS_F32X8
/// The affine code chain on eight lanes, shared by the measuring encoder below and group_error
/// (range_fit.hpp): quotient() is the code minus `add` as a float (clamped, rounded half to even),
/// error() is x̂ - x with x̂ = d.scale·(code - d.sub) + d.offset, where code - sub = q + (add - sub)
/// is a small integer, exact in float. One definition, so the two rank and measure alike.
template <class A>
struct AffineLanes {
  using F = simd::F32x8<A>;
  F off, sc, lo, hi, shift, dsc, doff;
  AffineLanes(const EncodeAffine& e, const DecodeAffine& d) noexcept
      : off(F::splat(e.offset)),
        sc(F::splat(e.scale)),
        lo(F::splat(e.lo)),
        hi(F::splat(e.hi)),
        shift(F::splat(static_cast<float>(e.add - d.sub))),
        dsc(F::splat(d.scale)),
        doff(F::splat(d.offset)) {}
  LOWBIT_INLINE F quotient(const F& x) const noexcept {
    F t = (x - off) / sc;
    t = max_keep(t, lo);  // NaN lands on lo
    t = min_keep(t, hi);
    return t.round_even();
  }
  LOWBIT_INLINE F error(const F& q, const F& x) const noexcept {
    F diff = dsc * (q + shift);
    diff = diff + doff;
    return diff - x;
  }
};
#endif

/// Σx² and Σ(x̂ - x)² of values coded by a quantizer: its relative error is error_sq / weight_sq.
struct CodingSums {
  double weight_sq = 0.0;
  double error_sq = 0.0;
  CodingSums& operator+=(const CodingSums& o) noexcept {
    weight_sq += o.weight_sq;
    error_sq += o.error_sq;
    return *this;
  }
};

/// Running Σx² and Σ(x̂ - x)² of encode_n_measured, as eight float lanes (filled by the vector
/// loop, across as many groups as the caller likes: a row, say) and doubles (the scalar tails).
/// sums() folds the lanes in lane order: the same doubles on every ISA that has the lanes.
struct CodingLanes {
  float weight_sq[8] = {};
  float error_sq[8] = {};
  CodingSums tail;
  CodingSums sums() const noexcept {
    CodingSums s = tail;
    for (int l = 0; l < 8; ++l) {
      s.weight_sq += weight_sq[l];
      s.error_sq += error_sq[l];
    }
    return s;
  }
};

/// encode_n, also measuring what it coded into `acc`: the codes are encode_n's bit for bit, and
/// the sums use the affine decode x̂ = d.scale·(code - sub) + d.offset (within the last bit of
/// S::decode, as group_error). The lanes stay in float across calls and are folded once, by the
/// caller: a fold per group would be a chain of dependent double additions as long as the group.
template <class Code, class A = simd::Arch8>
LOWBIT_INLINE void encode_n_measured(const EncodeAffine& e, const DecodeAffine& d, const float* x,
                                     std::size_t n, Code* out, CodingLanes& acc) noexcept {
  std::size_t n_main = 0;
#if LOWBIT_HAS_F32X8
  if constexpr (simd::kHasLanes<A>) {
    if (e.scale != 0.0f) {
      using F = simd::F32x8<A>;
      n_main = n - n % F::kLanes;
      const AffineLanes<A> chain(e, d);
      const auto add = simd::I32x8<A>::splat(e.add);
      // Two accumulators each, alternating by vector (the adds of consecutive vectors do not
      // wait for each other), added at the end.
      F w2 = F::load(acc.weight_sq), e2 = F::load(acc.error_sq);
      F w2b = F::splat(0.0f), e2b = F::splat(0.0f);
      for (std::size_t i = 0; i < n_main; i += F::kLanes) {
        const F xv = F::load(x + i);
        const F t = chain.quotient(xv);
        (t.to_int32() + add).store_as(out + i);
        const F diff = chain.error(t, xv);
        if ((i / F::kLanes) % 2 == 0) {
          e2 += diff * diff;
          w2 += xv * xv;
        } else {
          e2b += diff * diff;
          w2b += xv * xv;
        }
      }
      (w2 + w2b).store(acc.weight_sq);
      (e2 + e2b).store(acc.error_sq);
    }
  }
#endif
  for (std::size_t i = n_main; i < n; ++i) {
    const int c = encode_with(e, x[i]);
    out[i] = static_cast<Code>(c);
    const float xh = d.scale * static_cast<float>(c - d.sub) + d.offset;
    const double diff = static_cast<double>(xh) - static_cast<double>(x[i]);
    acc.tail.error_sq += diff * diff;
    acc.tail.weight_sq += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  }
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

}  // namespace detail

/// Min, max and the signed value of largest magnitude of a span, and whether every value is
/// finite (RangeStats): what a range-fit scheme's fit_range takes.
using detail::range_stats;

}  // namespace lowbit
