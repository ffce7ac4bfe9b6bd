// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/x86/vec_x86.hpp: the vector operations the interleaved kernels are written on,
// for SSE4.2 (128-bit), AVX2 (256-bit) and AVX-512BW (512-bit), one struct per width.
//
// Requires: SSE4.2 (SSSE3 pmaddubsw, SSE4.1 pmulld) / AVX2 + FMA (+ F16C) / AVX-512 F/BW/DQ/VL,
//           with AVX512-VNNI used for vpdpbusd when the flags enable it (also on 256-bit
//           vectors, through AVX512-VL).
// The float operations are xsimd's (kernels/float_ops.hpp, inherited); the integer ones are
// intrinsics because every hot one — vpmaddubsw, vpmaddwd, vpdpbusd, 16-bit lane shifts of packed
// bytes — and the half-float and deinterleaving loads (vcvtph2ps, shufps) have no xsimd 8.1
// spelling. `cvt` (int32 → float) is an intrinsic too: wrapping the int32 accumulators in an
// xsimd batch for the conversion made GCC keep them on the stack (float_ops.hpp). Each struct is
// a template on the ISA tag, so an AVX-512 TU's copy of an operation never stands in for an AVX2
// TU's (the one-definition rule).
// Lanes: `kLanes` 32-bit lanes = output rows served by one vector in the interleaved layout.
#pragma once

#if !defined(LOWBIT_KERNELS_SELECT_INCLUDED)
#error "internal header of lowbit/kernels/select.hpp: include lowbit/gemm/gemm.hpp"
#endif

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "lowbit/config.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/kernels/float_ops.hpp"
#include "lowbit/kernels/vec_ops.hpp"
#include "lowbit/simd/isa.hpp"

namespace lowbit::kernels {

#if LOWBIT_HAS_SSE4_2
/// 128-bit vectors: 4 rows per vector. No FMA or F16C is assumed: fused multiply-adds go through
/// std::fma per lane (the reference's own operation) and half scales are widened in scalar code.
template <class Isa>
struct Vec128 : FloatOps<Isa, xsimd::sse4_2> {
  using I = __m128i;
  using F = typename FloatOps<Isa, xsimd::sse4_2>::F;
  static constexpr int kLanes = 4;
  static constexpr bool kVnni = false;
  static LOWBIT_INLINE I load(const void* p) { return _mm_loadu_si128(static_cast<const I*>(p)); }
  static LOWBIT_INLINE void store(void* p, I v) { _mm_storeu_si128(static_cast<I*>(p), v); }
  static LOWBIT_INLINE I bcast32(const void* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return _mm_set1_epi32(v);
  }
  static LOWBIT_INLINE I set1_8(int v) { return _mm_set1_epi8(static_cast<char>(v)); }
  static LOWBIT_INLINE I set1_16(int v) { return _mm_set1_epi16(static_cast<short>(v)); }
  static LOWBIT_INLINE I set1_32(std::int32_t v) { return _mm_set1_epi32(v); }
  static LOWBIT_INLINE I zero() { return _mm_setzero_si128(); }
  static LOWBIT_INLINE I and_(I a, I b) { return _mm_and_si128(a, b); }
  static LOWBIT_INLINE I or_(I a, I b) { return _mm_or_si128(a, b); }
  template <int N>
  static LOWBIT_INLINE I srli16(I a) {
    return N == 0 ? a : _mm_srli_epi16(a, N);
  }
  template <int N>
  static LOWBIT_INLINE I slli16(I a) {
    return N == 0 ? a : _mm_slli_epi16(a, N);
  }
  template <int N>
  static LOWBIT_INLINE I srli32(I a) {
    return N == 0 ? a : _mm_srli_epi32(a, N);
  }
  template <int N>
  static LOWBIT_INLINE I srai32(I a) {
    return N == 0 ? a : _mm_srai_epi32(a, N);
  }
  template <int N>
  static LOWBIT_INLINE I slli32(I a) {
    return N == 0 ? a : _mm_slli_epi32(a, N);
  }
  /// Bits of a where m is set, of b elsewhere.
  static LOWBIT_INLINE I bitselect(I m, I a, I b) {
    return _mm_or_si128(_mm_and_si128(m, a), _mm_andnot_si128(m, b));
  }
  static LOWBIT_INLINE I add8(I a, I b) { return _mm_add_epi8(a, b); }
  static LOWBIT_INLINE I subs_u8(I a, I b) { return _mm_subs_epu8(a, b); }
  static LOWBIT_INLINE I min_u8(I a, I b) { return _mm_min_epu8(a, b); }
  /// table[idx & 31] per 32-bit lane (bits 5.. ignored; no 32-entry permute at this width:
  /// through memory).
  static LOWBIT_INLINE I lut32(I idx, const std::uint32_t* table) {
    alignas(16) std::uint32_t i[4];
    _mm_store_si128(reinterpret_cast<I*>(i), idx);
    for (auto& v : i) v = table[v & 31u];
    return _mm_load_si128(reinterpret_cast<const I*>(i));
  }
  static LOWBIT_INLINE I maddubs(I u8, I s8) { return _mm_maddubs_epi16(u8, s8); }
  static LOWBIT_INLINE I add16(I a, I b) { return _mm_add_epi16(a, b); }
  static LOWBIT_INLINE I madd16(I a, I b) { return _mm_madd_epi16(a, b); }
  static LOWBIT_INLINE I add32(I a, I b) { return _mm_add_epi32(a, b); }
  static LOWBIT_INLINE I sub32(I a, I b) { return _mm_sub_epi32(a, b); }
  static LOWBIT_INLINE I mullo32(I a, I b) { return _mm_mullo_epi32(a, b); }
  static LOWBIT_INLINE I dpbusd(I acc, I, I) { return acc; }  // never called: kVnni is false
  static LOWBIT_INLINE F cvt(I a) { return _mm_cvtepi32_ps(a); }
  // The float operations are FloatOps' (kernels/float_ops.hpp); fmadd is std::fma per lane,
  // as no FMA hardware is assumed at this width.
  static LOWBIT_INLINE F load_f16(const f16* p) {
    alignas(16) float x[4];
    for (int i = 0; i < 4; ++i) x[i] = p[i].to_float();
    return _mm_load_ps(x);
  }
  /// kLanes (a, b) pairs at p: a's and b's as floats (float-min parameters).
  static LOWBIT_INLINE void load_f16_pairs(const f16* p, F& a, F& b) {
    alignas(16) float x[4], y[4];
    for (int i = 0; i < 4; ++i) {
      x[i] = p[2 * i].to_float();
      y[i] = p[2 * i + 1].to_float();
    }
    a = _mm_load_ps(x);
    b = _mm_load_ps(y);
  }
  static LOWBIT_INLINE void load_f32_pairs(const float* p, F& a, F& b) {
    const F lo = _mm_loadu_ps(p), hi = _mm_loadu_ps(p + 4);
    a = _mm_shuffle_ps(lo, hi, 0x88);
    b = _mm_shuffle_ps(lo, hi, 0xdd);
  }
  static LOWBIT_INLINE F load_bf16(const bf16* p) {
    const I h = _mm_cvtepu16_epi32(_mm_loadl_epi64(reinterpret_cast<const I*>(p)));
    return _mm_castsi128_ps(_mm_slli_epi32(h, 16));
  }
};
static_assert(VectorOps<Vec128<isa::sse4_2>>, "Vec128 lacks an operation of kernels/vec_ops.hpp");
#endif  // LOWBIT_HAS_SSE4_2

#if LOWBIT_HAS_AVX2
/// 256-bit vectors: 8 rows per vector; vpdpbusd on ymm when the flags enable AVX512-VNNI + VL.
template <class Isa>
struct Vec256 : FloatOps<Isa, xsimd::fma3<xsimd::avx2>> {
  using I = __m256i;
  using F = typename FloatOps<Isa, xsimd::fma3<xsimd::avx2>>::F;
  static constexpr int kLanes = 8;
  static constexpr bool kVnni = Isa::kVnni;
  static LOWBIT_INLINE I load(const void* p) {
    return _mm256_loadu_si256(static_cast<const I*>(p));
  }
  static LOWBIT_INLINE void store(void* p, I v) { _mm256_storeu_si256(static_cast<I*>(p), v); }
  static LOWBIT_INLINE I bcast32(const void* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
  }
  static LOWBIT_INLINE I set1_8(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }
  static LOWBIT_INLINE I set1_16(int v) { return _mm256_set1_epi16(static_cast<short>(v)); }
  static LOWBIT_INLINE I set1_32(std::int32_t v) { return _mm256_set1_epi32(v); }
  static LOWBIT_INLINE I zero() { return _mm256_setzero_si256(); }
  static LOWBIT_INLINE I and_(I a, I b) { return _mm256_and_si256(a, b); }
  static LOWBIT_INLINE I or_(I a, I b) { return _mm256_or_si256(a, b); }
  template <int N>
  static LOWBIT_INLINE I srli16(I a) {
    return N == 0 ? a : _mm256_srli_epi16(a, N);
  }
  template <int N>
  static LOWBIT_INLINE I slli16(I a) {
    return N == 0 ? a : _mm256_slli_epi16(a, N);
  }
  template <int N>
  static LOWBIT_INLINE I srli32(I a) {
    return N == 0 ? a : _mm256_srli_epi32(a, N);
  }
  template <int N>
  static LOWBIT_INLINE I srai32(I a) {
    return N == 0 ? a : _mm256_srai_epi32(a, N);
  }
  template <int N>
  static LOWBIT_INLINE I slli32(I a) {
    return N == 0 ? a : _mm256_slli_epi32(a, N);
  }
  static LOWBIT_INLINE I bitselect(I m, I a, I b) {
    return _mm256_or_si256(_mm256_and_si256(m, a), _mm256_andnot_si256(m, b));
  }
  static LOWBIT_INLINE I add8(I a, I b) { return _mm256_add_epi8(a, b); }
  static LOWBIT_INLINE I subs_u8(I a, I b) { return _mm256_subs_epu8(a, b); }
  static LOWBIT_INLINE I min_u8(I a, I b) { return _mm256_min_epu8(a, b); }
  /// table[idx & 31] per 32-bit lane (bits 5.. ignored): four 8-entry permutes, selected by
  /// index bits 3 and 4.
  static LOWBIT_INLINE I lut32(I idx, const std::uint32_t* table) {
    const I r0 = _mm256_permutevar8x32_epi32(load(table), idx);
    const I r1 = _mm256_permutevar8x32_epi32(load(table + 8), idx);
    const I r2 = _mm256_permutevar8x32_epi32(load(table + 16), idx);
    const I r3 = _mm256_permutevar8x32_epi32(load(table + 24), idx);
    const __m256 b3 = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28));  // bit 3 → sign
    const __m256 b4 = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 27));  // bit 4 → sign
    const __m256 lo = _mm256_blendv_ps(_mm256_castsi256_ps(r0), _mm256_castsi256_ps(r1), b3);
    const __m256 hi = _mm256_blendv_ps(_mm256_castsi256_ps(r2), _mm256_castsi256_ps(r3), b3);
    return _mm256_castps_si256(_mm256_blendv_ps(lo, hi, b4));
  }
  static LOWBIT_INLINE I maddubs(I u8, I s8) { return _mm256_maddubs_epi16(u8, s8); }
  static LOWBIT_INLINE I add16(I a, I b) { return _mm256_add_epi16(a, b); }
  static LOWBIT_INLINE I madd16(I a, I b) { return _mm256_madd_epi16(a, b); }
  static LOWBIT_INLINE I add32(I a, I b) { return _mm256_add_epi32(a, b); }
  static LOWBIT_INLINE I sub32(I a, I b) { return _mm256_sub_epi32(a, b); }
  static LOWBIT_INLINE I mullo32(I a, I b) { return _mm256_mullo_epi32(a, b); }
  static LOWBIT_INLINE I dpbusd(I acc, I u8, I s8) {
#if LOWBIT_HAS_AVX512VNNI
    return _mm256_dpbusd_epi32(acc, u8, s8);
#else
    (void)u8;
    (void)s8;
    return acc;  // never called: kVnni is false
#endif
  }
  static LOWBIT_INLINE F cvt(I a) { return _mm256_cvtepi32_ps(a); }
  // The float operations are FloatOps' (kernels/float_ops.hpp).
  static LOWBIT_INLINE F load_f16(const f16* p) {
#if LOWBIT_HAS_F16C
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
#else
    alignas(32) float x[8];
    for (int i = 0; i < 8; ++i) x[i] = p[i].to_float();
    return _mm256_load_ps(x);
#endif
  }
  /// kLanes (a, b) pairs at p: a's and b's as floats (float-min parameters).
  static LOWBIT_INLINE void load_f16_pairs(const f16* p, F& a, F& b) {
#if LOWBIT_HAS_F16C
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i lo = _mm256_and_si256(w, _mm256_set1_epi32(0xffff));
    const __m256i hi = _mm256_srli_epi32(w, 16);
    // packus keeps 16-bit values (<= 0xffff) unchanged; lanes 0-3 then 4-7.
    a = _mm256_cvtph_ps(
        _mm_packus_epi32(_mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1)));
    b = _mm256_cvtph_ps(
        _mm_packus_epi32(_mm256_castsi256_si128(hi), _mm256_extracti128_si256(hi, 1)));
#else
    alignas(32) float x[8], y[8];
    for (int i = 0; i < 8; ++i) {
      x[i] = p[2 * i].to_float();
      y[i] = p[2 * i + 1].to_float();
    }
    a = _mm256_load_ps(x);
    b = _mm256_load_ps(y);
#endif
  }
  static LOWBIT_INLINE void load_f32_pairs(const float* p, F& a, F& b) {
    const F lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    // Within 128-bit halves: (lo 0 2, hi 0 2 | lo 4 6, hi 4 6); then 64-bit chunks 0 2 1 3.
    a = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)), 0xd8));
    b = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0xdd)), 0xd8));
  }
  static LOWBIT_INLINE F load_bf16(const bf16* p) {
    const I h = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
  }
};
static_assert(VectorOps<Vec256<isa::avx2>>, "Vec256 lacks an operation of kernels/vec_ops.hpp");
#endif  // LOWBIT_HAS_AVX2

#if LOWBIT_HAS_AVX512BW
/// 512-bit vectors: 16 rows per vector.
template <class Isa>
struct Vec512 : FloatOps<Isa, xsimd::avx512bw> {
  using I = __m512i;
  using F = typename FloatOps<Isa, xsimd::avx512bw>::F;
  static constexpr int kLanes = 16;
  static constexpr bool kVnni = Isa::kVnni;
  static LOWBIT_INLINE I load(const void* p) { return _mm512_loadu_si512(p); }
  static LOWBIT_INLINE void store(void* p, I v) { _mm512_storeu_si512(p, v); }
  static LOWBIT_INLINE I bcast32(const void* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  static LOWBIT_INLINE I set1_8(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
  static LOWBIT_INLINE I set1_16(int v) { return _mm512_set1_epi16(static_cast<short>(v)); }
  static LOWBIT_INLINE I set1_32(std::int32_t v) { return _mm512_set1_epi32(v); }
  static LOWBIT_INLINE I zero() { return _mm512_setzero_si512(); }
  static LOWBIT_INLINE I and_(I a, I b) { return _mm512_and_si512(a, b); }
  static LOWBIT_INLINE I or_(I a, I b) { return _mm512_or_si512(a, b); }
  template <int N>
  static LOWBIT_INLINE I srli16(I a) {
    return N == 0 ? a : _mm512_srli_epi16(a, N);
  }
  template <int N>
  static LOWBIT_INLINE I slli16(I a) {
    return N == 0 ? a : _mm512_slli_epi16(a, N);
  }
  template <int N>
  static LOWBIT_INLINE I srli32(I a) {
    return N == 0 ? a : _mm512_srli_epi32(a, N);
  }
  template <int N>
  static LOWBIT_INLINE I srai32(I a) {
    return N == 0 ? a : _mm512_srai_epi32(a, N);
  }
  template <int N>
  static LOWBIT_INLINE I slli32(I a) {
    return N == 0 ? a : _mm512_slli_epi32(a, N);
  }
  static LOWBIT_INLINE I bitselect(I m, I a, I b) {  // one vpternlogd: m ? a : b
    return _mm512_ternarylogic_epi32(m, a, b, 0xca);
  }
  static LOWBIT_INLINE I add8(I a, I b) { return _mm512_add_epi8(a, b); }
  static LOWBIT_INLINE I subs_u8(I a, I b) { return _mm512_subs_epu8(a, b); }
  static LOWBIT_INLINE I min_u8(I a, I b) { return _mm512_min_epu8(a, b); }
  /// table[idx & 31] per 32-bit lane (bits 5.. ignored): one two-table permute (vpermt2d).
  static LOWBIT_INLINE I lut32(I idx, const std::uint32_t* table) {
    return _mm512_permutex2var_epi32(load(table), idx, load(table + 16));
  }
  static LOWBIT_INLINE I maddubs(I u8, I s8) { return _mm512_maddubs_epi16(u8, s8); }
  static LOWBIT_INLINE I add16(I a, I b) { return _mm512_add_epi16(a, b); }
  static LOWBIT_INLINE I madd16(I a, I b) { return _mm512_madd_epi16(a, b); }
  static LOWBIT_INLINE I add32(I a, I b) { return _mm512_add_epi32(a, b); }
  static LOWBIT_INLINE I sub32(I a, I b) { return _mm512_sub_epi32(a, b); }
  static LOWBIT_INLINE I mullo32(I a, I b) { return _mm512_mullo_epi32(a, b); }
  static LOWBIT_INLINE I dpbusd(I acc, I u8, I s8) {
#if LOWBIT_HAS_AVX512VNNI
    return _mm512_dpbusd_epi32(acc, u8, s8);
#else
    (void)u8;
    (void)s8;
    return acc;  // never called: kVnni is false
#endif
  }
  static LOWBIT_INLINE F cvt(I a) { return _mm512_cvtepi32_ps(a); }
  // The float operations are FloatOps' (kernels/float_ops.hpp), except where xsimd < 11 has no
  // fused AVX-512 multiply-add (its generic x·y + z rounds twice under clang).
#if XSIMD_VERSION_MAJOR < 11
  static LOWBIT_INLINE F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
#endif
  static LOWBIT_INLINE F load_f16(const f16* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  /// kLanes (a, b) pairs at p: a's and b's as floats (float-min parameters).
  static LOWBIT_INLINE void load_f16_pairs(const f16* p, F& a, F& b) {
    const __m512i w = _mm512_loadu_si512(p);
    a = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(w));
    b = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(w, 16)));
  }
  static LOWBIT_INLINE void load_f32_pairs(const float* p, F& a, F& b) {
    const F lo = _mm512_loadu_ps(p), hi = _mm512_loadu_ps(p + 16);
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    a = _mm512_permutex2var_ps(lo, even, hi);
    b = _mm512_permutex2var_ps(lo, odd, hi);
  }
  static LOWBIT_INLINE F load_bf16(const bf16* p) {
    const I h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(h, 16));
  }
};
static_assert(VectorOps<Vec512<isa::avx512bw>>, "Vec512 lacks an operation of kernels/vec_ops.hpp");
#endif  // LOWBIT_HAS_AVX512BW

}  // namespace lowbit::kernels
