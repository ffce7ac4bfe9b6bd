// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/arm/vec_neon.hpp: the vector operations of the interleaved kernels on AArch64
// Advanced SIMD (128-bit, 4 rows per vector), the NEON counterpart of kernels/x86/vec_x86.hpp.
//
// Requires: AArch64 NEON (mandatory); uses SDOT where the flags enable the dot-product extension
//           (__ARM_FEATURE_DOTPROD, e.g. -march=armv8.2-a+dotprod), else widening multiplies.
// The micro-kernels take the `kVnni` route here: dpbusd(acc, u8, s8) adds Σ of 4 u8·s8 products
// per 32-bit lane, exactly (what vpdpbusd does on x86):
//   with SDOT:    Σ u·s = Σ (u - 128)·s + 128·Σ s, the first an SDOT on u XOR 0x80 (a signed
//                 byte), the second two SDOTs with 64 (128 does not fit a signed byte);
//   without:      u8 and s8 widened to 16 bits, multiplied (|u·s| <= 255·127 fits int16),
//                 pairwise-added to int32 twice.
// Float operations are xsimd's (kernels/float_ops.hpp), lane-wise IEEE (its fma is vfmaq_f32,
// fused as std::fma).
#pragma once

#if !defined(LOWBIT_KERNELS_SELECT_INCLUDED)
#error "include lowbit/gemm/gemm.hpp, not this internal header"
#endif

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "lowbit/config.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/kernels/float_ops.hpp"
#include "lowbit/kernels/vec_ops.hpp"
#include "lowbit/simd/isa.hpp"

namespace lowbit::kernels {

template <class Isa>
struct VecNeon : FloatOps<Isa, xsimd::neon64> {
  using I = uint8x16_t;
  using F = typename FloatOps<Isa, xsimd::neon64>::F;
  static constexpr int kLanes = 4;
  static constexpr bool kVnni = true;  // dpbusd below is exact for every code width

  static LOWBIT_INLINE I load(const void* p) {
    return vld1q_u8(static_cast<const std::uint8_t*>(p));
  }
  static LOWBIT_INLINE void store(void* p, I v) { vst1q_u8(static_cast<std::uint8_t*>(p), v); }
  static LOWBIT_INLINE I bcast32(const void* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return vreinterpretq_u8_s32(vdupq_n_s32(v));
  }
  static LOWBIT_INLINE I set1_8(int v) { return vdupq_n_u8(static_cast<std::uint8_t>(v)); }
  static LOWBIT_INLINE I set1_16(int v) {
    return vreinterpretq_u8_s16(vdupq_n_s16(static_cast<std::int16_t>(v)));
  }
  static LOWBIT_INLINE I set1_32(std::int32_t v) { return vreinterpretq_u8_s32(vdupq_n_s32(v)); }
  static LOWBIT_INLINE I zero() { return vdupq_n_u8(0); }
  static LOWBIT_INLINE I and_(I a, I b) { return vandq_u8(a, b); }
  static LOWBIT_INLINE I or_(I a, I b) { return vorrq_u8(a, b); }
  template <int N>
  static LOWBIT_INLINE I srli16(I a) {
    if constexpr (N == 0) {
      return a;
    } else {
      return vreinterpretq_u8_u16(vshrq_n_u16(vreinterpretq_u16_u8(a), N));
    }
  }
  template <int N>
  static LOWBIT_INLINE I slli16(I a) {
    if constexpr (N == 0) {
      return a;
    } else {
      return vreinterpretq_u8_u16(vshlq_n_u16(vreinterpretq_u16_u8(a), N));
    }
  }
  template <int N>
  static LOWBIT_INLINE I srli32(I a) {
    if constexpr (N == 0) {
      return a;
    } else {
      return vreinterpretq_u8_u32(vshrq_n_u32(vreinterpretq_u32_u8(a), N));
    }
  }
  template <int N>
  static LOWBIT_INLINE I srai32(I a) {
    if constexpr (N == 0) {
      return a;
    } else {
      return vreinterpretq_u8_s32(vshrq_n_s32(vreinterpretq_s32_u8(a), N));
    }
  }
  template <int N>
  static LOWBIT_INLINE I slli32(I a) {
    if constexpr (N == 0) {
      return a;
    } else {
      return vreinterpretq_u8_u32(vshlq_n_u32(vreinterpretq_u32_u8(a), N));
    }
  }
  /// Bits of a where m is set, of b elsewhere.
  static LOWBIT_INLINE I bitselect(I m, I a, I b) { return vbslq_u8(m, a, b); }
  static LOWBIT_INLINE I add8(I a, I b) { return vaddq_u8(a, b); }
  static LOWBIT_INLINE I subs_u8(I a, I b) { return vqsubq_u8(a, b); }
  static LOWBIT_INLINE I min_u8(I a, I b) { return vminq_u8(a, b); }
  /// table[idx & 31] per 32-bit lane (bits 5.. ignored; through memory).
  static LOWBIT_INLINE I lut32(I idx, const std::uint32_t* table) {
    std::uint32_t i[4];
    vst1q_u8(reinterpret_cast<std::uint8_t*>(i), idx);
    for (auto& v : i) v = table[v & 31u];
    return vreinterpretq_u8_u32(vld1q_u32(i));
  }
  static LOWBIT_INLINE I add32(I a, I b) {
    return vreinterpretq_u8_s32(vaddq_s32(vreinterpretq_s32_u8(a), vreinterpretq_s32_u8(b)));
  }
  static LOWBIT_INLINE I sub32(I a, I b) {
    return vreinterpretq_u8_s32(vsubq_s32(vreinterpretq_s32_u8(a), vreinterpretq_s32_u8(b)));
  }
  static LOWBIT_INLINE I mullo32(I a, I b) {
    return vreinterpretq_u8_s32(vmulq_s32(vreinterpretq_s32_u8(a), vreinterpretq_s32_u8(b)));
  }
  static LOWBIT_INLINE I dpbusd(I acc, I u8, I s8) {
    const int8x16_t s = vreinterpretq_s8_u8(s8);
#if defined(__ARM_FEATURE_DOTPROD)
    int32x4_t a = vreinterpretq_s32_u8(acc);
    a = vdotq_s32(a, vreinterpretq_s8_u8(veorq_u8(u8, vdupq_n_u8(0x80))), s);
    a = vdotq_s32(a, vdupq_n_s8(64), s);
    a = vdotq_s32(a, vdupq_n_s8(64), s);
    return vreinterpretq_u8_s32(a);
#else
    const int16x8_t lo =
        vmulq_s16(vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(u8))), vmovl_s8(vget_low_s8(s)));
    const int16x8_t hi =
        vmulq_s16(vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(u8))), vmovl_s8(vget_high_s8(s)));
    const int32x4_t quad = vpaddq_s32(vpaddlq_s16(lo), vpaddlq_s16(hi));
    return vreinterpretq_u8_s32(vaddq_s32(vreinterpretq_s32_u8(acc), quad));
#endif
  }
  static LOWBIT_INLINE F cvt(I a) { return vcvtq_f32_s32(vreinterpretq_s32_u8(a)); }
  // The float operations are FloatOps' (kernels/float_ops.hpp).
  static LOWBIT_INLINE F load_f16(const f16* p) {
    std::uint16_t b[4];
    std::memcpy(b, p, sizeof(b));
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(b)));
  }
  static LOWBIT_INLINE F load_bf16(const bf16* p) {
    std::uint16_t b[4];
    std::memcpy(b, p, sizeof(b));
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(b), 16));
  }
  /// kLanes (a, b) pairs at p: a's and b's as floats (float-min parameters).
  static LOWBIT_INLINE void load_f16_pairs(const f16* p, F& a, F& b) {
    std::uint16_t h[8];
    std::memcpy(h, p, sizeof(h));
    const uint16x4x2_t ab = vld2_u16(h);
    a = vcvt_f32_f16(vreinterpret_f16_u16(ab.val[0]));
    b = vcvt_f32_f16(vreinterpret_f16_u16(ab.val[1]));
  }
  static LOWBIT_INLINE void load_f32_pairs(const float* p, F& a, F& b) {
    const float32x4x2_t ab = vld2q_f32(p);
    a = ab.val[0];
    b = ab.val[1];
  }
};
static_assert(VectorOps<VecNeon<isa::neon64>>, "VecNeon lacks an operation of kernels/vec_ops.hpp");

}  // namespace lowbit::kernels
