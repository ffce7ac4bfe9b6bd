// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/float_ops.hpp: the float half of a vector struct (kernels/vec_ops.hpp) on xsimd:
// the register type F = xsimd::batch<float, A> and the operations the micro-kernels apply to it
// (broadcast, load, store, add, subtract, multiply, fused multiply-add, min, max, and `rounded`,
// which keeps a product from being fused into a later add).
//
// The float-activation kernels (gemm_f32) run entirely on these; the integer kernels use them to
// fold scales into their int32 dot products. The integer half of each vector struct stays on
// intrinsics, because the operations it is built from — vpmaddubsw, vpmaddwd, vpdpbusd, 16-bit
// shifts of packed bytes, sdot — have no xsimd spelling in 8.1 (most have none in 14 either).
// The vector structs take these by inheritance (Vec128, Vec256, Vec512, VecNeon), each overriding
// what its ISA does differently (fmadd without FMA hardware; vcvtph2ps loads).
//
// The struct is a template on lowbit's ISA tag as well as on xsimd's architecture: an AVX-512 TU's
// copy of an operation must never stand in for an AVX2 TU's (simd/isa.hpp, the one-definition
// rule).
#pragma once

#include "lowbit/config.hpp"

#if LOWBIT_USE_XSIMD
#include <xsimd/xsimd.hpp>

namespace lowbit::kernels {

template <class Isa, class A>
struct FloatOps {
  using F = xsimd::batch<float, A>;
  static constexpr int kFloatLanes = static_cast<int>(F::size);

  static LOWBIT_INLINE F fzero() { return F(0.0f); }
  static LOWBIT_INLINE F fset1(float v) { return F(v); }
  static LOWBIT_INLINE F fload(const float* p) { return F::load_unaligned(p); }
  static LOWBIT_INLINE void fstore(float* p, F v) { v.store_unaligned(p); }
  static LOWBIT_INLINE F fadd(F a, F b) { return a + b; }
  static LOWBIT_INLINE F fsub(F a, F b) { return a - b; }
  static LOWBIT_INLINE F fmul(F a, F b) { return a * b; }
  /// a·b + c rounded once (xsimd's fma is the fused instruction on fma3<avx2> and NEON).
  static LOWBIT_INLINE F fmadd(F a, F b, F c) { return xsimd::fma(a, b, c); }
  static LOWBIT_INLINE F fmin(F a, F b) { return xsimd::min(a, b); }
  static LOWBIT_INLINE F fmax(F a, F b) { return xsimd::max(a, b); }
  /// a unchanged but opaque to the optimizer: a rounded product stays rounded (GCC's default
  /// -ffp-contract=fast would otherwise fuse a later add into an FMA).
  static LOWBIT_INLINE F rounded(F a) {
    typename F::register_type r = a;
#if defined(__aarch64__)
    __asm__("" : "+w"(r));
#else
    __asm__("" : "+v"(r));
#endif
    return r;
  }
};

}  // namespace lowbit::kernels
#endif  // LOWBIT_USE_XSIMD
