// SPDX-License-Identifier: Apache-2.0
// lowbit/simd/compat.hpp: one spelling for the xsimd calls whose names changed between Debian's
// xsimd 8.1 (Debian 12) and xsimd 12-14, whose APIs differ in these places. Kernels use only these
// and the "all versions" subset of batch<T, A> (loads, stores, arithmetic, bitwise ops, shifts,
// comparisons, select).
#pragma once

#include "lowbit/config.hpp"

#if LOWBIT_USE_XSIMD
#include <xsimd/xsimd.hpp>

namespace lowbit::simd {

/// Horizontal sum of a batch (xsimd::hadd before 9.0, reduce_add after).
template <class T, class A>
inline T reduce_add(const xsimd::batch<T, A>& x) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_add(x);
#else
  return xsimd::hadd(x);
#endif
}

/// Reinterprets the bits of a batch as another element type of the same arch.
template <class To, class T, class A>
inline xsimd::batch<To, A> bitcast(const xsimd::batch<T, A>& x) noexcept {
#if XSIMD_VERSION_MAJOR >= 11
  return xsimd::bitwise_cast<To>(x);
#else
  return xsimd::bitwise_cast<xsimd::batch<To, A> >(x);
#endif
}

}  // namespace lowbit::simd
#endif
