// SPDX-License-Identifier: Apache-2.0
// lowbit/simd/f32x8.hpp: eight float lanes in a fixed order, on xsimd, for the quantizers' value
// math (encoders, range statistics, error searches), activation quantization and the Hadamard
// rotation.
//
// # Why eight lanes, whatever the register width
// A quantizer's result must not depend on the machine that ran it: a model quantized on an
// AVX-512 server and re-quantized on a laptop has to give the same bytes. Elementwise operations
// (encode, clamp, round) give the same result at any width, but a reduction does not: the squared
// error Σ (x̂ - x)² that the range searches compare is summed in lanes, and another lane count is
// another order of additions, hence other roundings and sometimes another chosen scale. So every
// reduction here runs on exactly eight float lanes in one fixed order: one 256-bit xsimd batch
// where AVX2 is compiled (AVX-512 builds too), two 128-bit batches on SSE2/SSE4.2 and NEON, and the
// scalar loops (the spec, and LOWBIT_FORCE_SCALAR's build) without xsimd. The lane sums are then
// added in lane order, so every ISA gives the same double.
//
// # Worked example (tests/simd/test_f32x8.cpp checks it)
// x = {1, 2, …, 8}: splat(0.5f) * x - splat(1) = {-0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3}, whose lanes in
// order add to 10; round_even() of it (adding and subtracting 1.5·2^23) = {0, 0, 0, 1, 2, 2, 2, 3}
// (halves go to even, like std::nearbyint), and to_int32().store_as() writes
// them as the codes {0, 0, 0, 1, 2, 2, 2, 3}.
//
// # The one-definition rule
// An inline function compiled into TUs with different -m flags has one symbol but several bodies,
// and the linker keeps one (ruy's rule, simd/isa.hpp). So every function built on these lanes takes
// the architecture as a template parameter defaulted to `simd::Arch8` (xsimd's architecture tag,
// or `simd::NoLanes` in a scalar build): an AVX2 TU and an SSE2 TU instantiate different symbols.
//
// Only xsimd operations that exist with the same spelling in Debian's xsimd 8.1 and in xsimd 12-14
// are used (load/store_unaligned, broadcast, + - * /, ordered comparisons, isnan, select, any,
// to_int).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "lowbit/config.hpp"

#if LOWBIT_USE_XSIMD
#include <xsimd/xsimd.hpp>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace lowbit::simd {

/// The architecture tag of a build without eight-lane vectors (the scalar loops run).
struct NoLanes {};

// -ffast-math would fold round_even's add-and-subtract away: the scalar loops run instead.
#if LOWBIT_USE_XSIMD && !defined(__FAST_MATH__) && LOWBIT_HAS_AVX2
using Arch8 = xsimd::avx2;
#define LOWBIT_HAS_F32X8 1
#elif LOWBIT_USE_XSIMD && !defined(__FAST_MATH__) && LOWBIT_HAS_SSE4_2
using Arch8 = xsimd::sse4_2;
#define LOWBIT_HAS_F32X8 1
#elif LOWBIT_USE_XSIMD && !defined(__FAST_MATH__) && defined(__SSE2__) && defined(__x86_64__)
using Arch8 = xsimd::sse2;
#define LOWBIT_HAS_F32X8 1
#elif LOWBIT_USE_XSIMD && !defined(__FAST_MATH__) && LOWBIT_HAS_NEON64
using Arch8 = xsimd::neon64;
#define LOWBIT_HAS_F32X8 1
#else
using Arch8 = NoLanes;
#define LOWBIT_HAS_F32X8 0
#endif

#if LOWBIT_HAS_F32X8

template <class A>
struct I32x8;

/// The result of a lane-wise comparison of two F32x8.
template <class A>
struct Mask8 {
  using B = xsimd::batch_bool<float, A>;
  static constexpr std::size_t kParts = 8 / xsimd::batch<float, A>::size;
  B p[kParts];

  friend LOWBIT_INLINE Mask8 operator|(const Mask8& a, const Mask8& b) noexcept {
    Mask8 r;
    for (std::size_t k = 0; k < kParts; ++k) r.p[k] = a.p[k] | b.p[k];
    return r;
  }
  /// True when any lane is set.
  LOWBIT_INLINE bool any() const noexcept {
    bool r = false;
    for (std::size_t k = 0; k < kParts; ++k) r = r || xsimd::any(p[k]);
    return r;
  }
};

/// Eight floats, lane j of the value being element j of the eight it was loaded from.
template <class A>
struct F32x8 {
  using B = xsimd::batch<float, A>;
  static constexpr std::size_t kLanes = 8;
  static constexpr std::size_t kParts = kLanes / B::size;
  static_assert(kParts * B::size == kLanes, "F32x8: the architecture's float batch must divide 8");
  B p[kParts];

  static LOWBIT_INLINE F32x8 load(const float* x) noexcept {
    F32x8 r;
    for (std::size_t k = 0; k < kParts; ++k) r.p[k] = B::load_unaligned(x + k * B::size);
    return r;
  }
  static LOWBIT_INLINE F32x8 splat(float v) noexcept {
    F32x8 r;
    for (std::size_t k = 0; k < kParts; ++k) r.p[k] = B(v);
    return r;
  }
  LOWBIT_INLINE void store(float* x) const noexcept {
    for (std::size_t k = 0; k < kParts; ++k) p[k].store_unaligned(x + k * B::size);
  }

#define LOWBIT_F32X8_BINARY(op)                                                     \
  friend LOWBIT_INLINE F32x8 operator op(const F32x8& a, const F32x8& b) noexcept { \
    F32x8 r;                                                                        \
    for (std::size_t k = 0; k < kParts; ++k) r.p[k] = a.p[k] op b.p[k];             \
    return r;                                                                       \
  }
  LOWBIT_F32X8_BINARY(+)
  LOWBIT_F32X8_BINARY(-)
  LOWBIT_F32X8_BINARY(*)
  LOWBIT_F32X8_BINARY(/)
#undef LOWBIT_F32X8_BINARY
#define LOWBIT_F32X8_COMPARE(op)                                                       \
  friend LOWBIT_INLINE Mask8<A> operator op(const F32x8& a, const F32x8& b) noexcept { \
    Mask8<A> r;                                                                        \
    for (std::size_t k = 0; k < kParts; ++k) r.p[k] = a.p[k] op b.p[k];                \
    return r;                                                                          \
  }
  LOWBIT_F32X8_COMPARE(<)
  LOWBIT_F32X8_COMPARE(<=)
  LOWBIT_F32X8_COMPARE(>)
  LOWBIT_F32X8_COMPARE(>=)
#undef LOWBIT_F32X8_COMPARE
  F32x8& operator+=(const F32x8& b) noexcept { return *this = *this + b; }
  /// Lanes holding NaN. (No operator!=: xsimd's is the ordered comparison on x86, false for NaN,
  /// where C++'s x != x is true.)
  LOWBIT_INLINE Mask8<A> is_nan() const noexcept {
    Mask8<A> r;
    for (std::size_t k = 0; k < kParts; ++k) r.p[k] = xsimd::isnan(p[k]);
    return r;
  }

  /// m ? a : b per lane (a NaN compares false, so `select(t >= lo, t, lo)` clamps NaN to lo).
  friend LOWBIT_INLINE F32x8 select(const Mask8<A>& m, const F32x8& a, const F32x8& b) noexcept {
    F32x8 r;
    for (std::size_t k = 0; k < kParts; ++k) r.p[k] = xsimd::select(m.p[k], a.p[k], b.p[k]);
    return r;
  }
  /// a < b ? a : b per lane (b when they are equal or either is NaN): one minps on x86, compare
  /// and select elsewhere. Not xsimd::min, whose winner of a tie or a NaN changed between 8.1
  /// (minps(a, b)) and 14 (minps(b, a)).
  friend LOWBIT_INLINE F32x8 min_keep(const F32x8& a, const F32x8& b) noexcept {
    return keep<false>(a, b);
  }
  /// a > b ? a : b per lane (b when they are equal or either is NaN), as min_keep.
  friend LOWBIT_INLINE F32x8 max_keep(const F32x8& a, const F32x8& b) noexcept {
    return keep<true>(a, b);
  }
  /// Rounds half to even by adding and subtracting 1.5·2^23: exact for |x| < 2^22 in the default
  /// rounding mode, where it equals std::nearbyint (callers clamp to a code range first).
  LOWBIT_INLINE F32x8 round_even() const noexcept {
    const F32x8 magic = splat(0x1.8p23f);
    return (*this + magic) - magic;
  }
  /// The same value, opaque to the optimiser: a product stays rounded (neither GCC's
  /// -ffp-contract=fast nor clang's fuses it with a later add into an FMA).
  LOWBIT_INLINE F32x8 rounded() const noexcept {
    F32x8 r = *this;
    for (std::size_t k = 0; k < kParts; ++k) {
      typename B::register_type v = r.p[k];
#if defined(__aarch64__)
      __asm__("" : "+w"(v));
#else
      __asm__("" : "+x"(v));
#endif
      r.p[k] = v;
    }
    return r;
  }
  /// The lanes as int32, truncated (exact for the integral values round_even gives).
  LOWBIT_INLINE I32x8<A> to_int32() const noexcept;

 private:
  /// min_keep (Greater false) and max_keep: minps/maxps(a, b) on x86, compare and select elsewhere.
  template <bool Greater>
  static LOWBIT_INLINE F32x8 keep(const F32x8& a, const F32x8& b) noexcept {
#if defined(__x86_64__) || defined(__i386__)
    F32x8 r;
    for (std::size_t k = 0; k < kParts; ++k) {
      if constexpr (kParts == 1) {
        r.p[k] = Greater ? _mm256_max_ps(a.p[k], b.p[k]) : _mm256_min_ps(a.p[k], b.p[k]);
      } else {
        r.p[k] = Greater ? _mm_max_ps(a.p[k], b.p[k]) : _mm_min_ps(a.p[k], b.p[k]);
      }
    }
    return r;
#else
    return Greater ? select(a > b, a, b) : select(a < b, a, b);
#endif
  }
};

/// Eight int32 lanes (codes on their way to memory).
template <class A>
struct I32x8 {
  using B = xsimd::batch<std::int32_t, A>;
  static constexpr std::size_t kParts = 8 / B::size;
  B p[kParts];

  static LOWBIT_INLINE I32x8 splat(std::int32_t v) noexcept {
    I32x8 r;
    for (std::size_t k = 0; k < kParts; ++k) r.p[k] = B(v);
    return r;
  }
  friend LOWBIT_INLINE I32x8 operator+(const I32x8& a, const I32x8& b) noexcept {
    I32x8 r;
    for (std::size_t k = 0; k < kParts; ++k) r.p[k] = a.p[k] + b.p[k];
    return r;
  }
  /// Stores the eight lanes as Code (each lane must fit in Code).
  template <class Code>
  LOWBIT_INLINE void store_as(Code* out) const noexcept {
#if defined(__GNUC__)
    if constexpr (sizeof(Code) == 1) {
      // xsimd has no narrowing conversion in 8.1: the low bytes are picked by one byte shuffle
      // (GCC/clang vector extensions on xsimd's registers), not extracted lane by lane.
      using V16 = std::uint8_t __attribute__((vector_size(16)));
      using V32 = std::uint8_t __attribute__((vector_size(32)));
      static_assert(sizeof(typename B::register_type) == (kParts == 1 ? 32 : 16));
      if constexpr (kParts == 1) {
        V32 b;
        const typename B::register_type r = p[0];
        std::memcpy(&b, &r, sizeof(b));
        const auto lo = __builtin_shufflevector(b, b, 0, 4, 8, 12, 16, 20, 24, 28);
        std::memcpy(out, &lo, 8);
      } else {
        V16 b0, b1;
        const typename B::register_type r0 = p[0], r1 = p[1];
        std::memcpy(&b0, &r0, sizeof(b0));
        std::memcpy(&b1, &r1, sizeof(b1));
        const auto lo = __builtin_shufflevector(b0, b1, 0, 4, 8, 12, 16, 20, 24, 28);
        std::memcpy(out, &lo, 8);
      }
      return;
    }
#endif
    alignas(32) std::int32_t q[8];
    for (std::size_t k = 0; k < kParts; ++k) p[k].store_aligned(q + k * B::size);
    for (int j = 0; j < 8; ++j) out[j] = static_cast<Code>(q[j]);
  }
};

template <class A>
LOWBIT_INLINE I32x8<A> F32x8<A>::to_int32() const noexcept {
  I32x8<A> r;
  for (std::size_t k = 0; k < kParts; ++k) r.p[k] = xsimd::to_int(p[k]);
  return r;
}

/// The eight lanes of v in order (for reductions done in lane order).
template <class A>
LOWBIT_INLINE void lanes(const F32x8<A>& v, float (&out)[8]) noexcept {
  v.store(out);
}

/// The least (Less) or greatest lane of v, folded in halves in lane order: lanes j and j + 4,
/// then j and j + 2, then 0 and 1, lane j kept unless lane j + w is strictly beyond it (so of
/// equal values, ±0 included, the lower lane wins). In registers on GCC/clang (xsimd has no
/// cross-lane shuffle whose spelling 8.1 and 12-14 share), through memory elsewhere.
template <bool Less, class A>
LOWBIT_INLINE float fold(const F32x8<A>& v) noexcept {
#if defined(__GNUC__)
  using R = typename F32x8<A>::B::register_type;
  using V4 = float __attribute__((vector_size(16)));
  using V8 = float __attribute__((vector_size(32)));
  V8 x;
  if constexpr (F32x8<A>::kParts == 1) {
    const R r = v.p[0];
    std::memcpy(&x, &r, sizeof(V8));
  } else {
    V4 a, b;
    const R r0 = v.p[0], r1 = v.p[1];
    std::memcpy(&a, &r0, sizeof(V4));
    std::memcpy(&b, &r1, sizeof(V4));
    x = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7);
  }
  V8 y = __builtin_shufflevector(x, x, 4, 5, 6, 7, 0, 1, 2, 3);
  x = Less ? (y < x ? y : x) : (y > x ? y : x);
  y = __builtin_shufflevector(x, x, 2, 3, 0, 1, 6, 7, 4, 5);
  x = Less ? (y < x ? y : x) : (y > x ? y : x);
  return Less ? (x[1] < x[0] ? x[1] : x[0]) : (x[1] > x[0] ? x[1] : x[0]);
#else
  float l[8];
  v.store(l);
  for (int w = 4; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) l[j] = (Less ? l[j + w] < l[j] : l[j + w] > l[j]) ? l[j + w] : l[j];
  return l[0];
#endif
}

#endif  // LOWBIT_HAS_F32X8

/// Whether the eight-lane loops run for architecture tag A: false for NoLanes, which tests use to
/// call the scalar loops (the spec) in the same binary as the vector ones.
template <class A>
inline constexpr bool kHasLanes = !std::is_same_v<A, NoLanes>;

}  // namespace lowbit::simd
