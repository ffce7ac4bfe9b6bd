// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/float_ops.hpp: the float half of a vector struct (kernels/vec_ops.hpp), written
// once for every ISA on xsimd: broadcast, load, store, fused multiply-add, add, subtract,
// multiply, zero, and `rounded`, which keeps a product from being fused into a later add. The
// float-activation kernels (gemm_f32) run on these; the integer kernels use them to fold their
// scales into the int32 dot products. The vector structs (Vec128, Vec256, Vec512, VecNeon) take
// them by inheritance; their integer half, and the int32 → float conversion that joins the two,
// stay intrinsics (vec_x86.hpp says why; the last point below).
//
// How it is spelled decides whether it is as fast as intrinsics. The micro-kernels keep arrays of
// accumulators, and GCC keeps such an array in registers only while nothing takes an element's
// address; measured on the GEMM tiles (instruction for instruction against the intrinsic
// version, and bench/RESULTS.md's before/after rows):
//   - The register F is xsimd's register type (__m256, __m512, float32x4_t), not the batch: an
//     array of batch objects spilled to the stack (1.5x slower AVX-512 GEMM).
//   - Loads, stores, broadcasts and the multiply-add build a batch around the register and
//     dissolve completely. Every wrapper is `flatten` as well as always-inline: xsimd 8.1
//     (Debian 12's) marks its functions `inline` only, and inside the large micro-kernel
//     functions GCC stopped inlining them (1.3x slower).
//   - Add, subtract, multiply and zero are the compilers' own operators on the register type
//     (GCC's and clang's vector extensions; the same instruction). xsimd's `a + b` is
//     `batch(a) += b`, a reference to a temporary, and fed with accumulator-array elements it
//     made GCC keep the int32 accumulators of the AVX-512 integer tile on the stack (26 more stack
//     operations per tile); so did building an int32 batch for xsimd's int → float conversion.
//
// Fused multiply-add, the one operation whose rounding the kernels' bit-exactness depends on:
// xsimd::fma is the fused instruction on fma3<avx2>, on NEON, and on AVX-512 from xsimd 11;
// elsewhere (SSE4.2, AVX-512 on xsimd < 11) its generic version is x·y + z, rounded twice under
// clang. `kFusedFma<A>` says which; where it is false `fmadd` is std::fma per lane here, and
// Vec512 uses its own instruction.
//
// The struct is a template on lowbit's ISA tag as well as on xsimd's architecture: an AVX-512 TU's
// copy of an operation must never stand in for an AVX2 TU's (simd/isa.hpp, the one-definition
// rule).
#pragma once

#include "lowbit/config.hpp"

#if LOWBIT_USE_XSIMD
#include <xsimd/xsimd.hpp>

#include <cmath>
#include <cstddef>

namespace lowbit::kernels {

/// Whether xsimd::fma<A> rounds once.
template <class A>
inline constexpr bool kFusedFma = false;
#if XSIMD_WITH_FMA3_AVX2
template <>
inline constexpr bool kFusedFma<xsimd::fma3<xsimd::avx2>> = true;
#endif
#if XSIMD_WITH_AVX512BW && XSIMD_VERSION_MAJOR >= 11
template <>
inline constexpr bool kFusedFma<xsimd::avx512bw> = true;
#endif
#if XSIMD_WITH_NEON64
template <>
inline constexpr bool kFusedFma<xsimd::neon64> = true;
#endif

template <class Isa, class A>
struct FloatOps {
  using Batch = xsimd::batch<float, A>;
  using F = typename Batch::register_type;

  static LOWBIT_INLINE F fzero() { return F{}; }
  static LOWBIT_FLAT_INLINE F fset1(float v) { return xsimd::broadcast<float, A>(v); }
  static LOWBIT_FLAT_INLINE F fload(const float* p) { return Batch::load_unaligned(p); }
  static LOWBIT_FLAT_INLINE void fstore(float* p, F v) { Batch(v).store_unaligned(p); }
  static LOWBIT_INLINE F fadd(F a, F b) { return a + b; }
  static LOWBIT_INLINE F fsub(F a, F b) { return a - b; }
  static LOWBIT_INLINE F fmul(F a, F b) { return a * b; }
  /// a·b + c per lane, rounded once.
  static LOWBIT_FLAT_INLINE F fmadd(F a, F b, F c) {
    if constexpr (kFusedFma<A>) {
      return xsimd::fma(Batch(a), Batch(b), Batch(c));
    } else {
      alignas(A::alignment()) float x[Batch::size], y[Batch::size], z[Batch::size];
      Batch(a).store_aligned(x);
      Batch(b).store_aligned(y);
      Batch(c).store_aligned(z);
      for (std::size_t i = 0; i < Batch::size; ++i) x[i] = std::fma(x[i], y[i], z[i]);
      return Batch::load_aligned(x);
    }
  }
  /// a unchanged but opaque to the optimizer: a rounded product stays rounded (GCC's default
  /// -ffp-contract=fast would otherwise fuse a later add into an FMA).
  static LOWBIT_INLINE F rounded(F a) {
#if defined(__aarch64__)
    __asm__("" : "+w"(a));
#else
    if constexpr (sizeof(F) == 64) {
      __asm__("" : "+v"(a));  // any of zmm0-31
    } else {
      __asm__("" : "+x"(a));  // xmm/ymm0-15, the registers of VEX-encoded instructions
    }
#endif
    return a;
  }
};

}  // namespace lowbit::kernels
#endif  // LOWBIT_USE_XSIMD
