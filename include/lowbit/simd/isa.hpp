// SPDX-License-Identifier: Apache-2.0
// lowbit/simd/isa.hpp: ISA tags (scalar ← simd ← sse4_2 ← avx2 ← avx512bw; simd ← neon64) and
// isa::best, the most derived tag the compiler flags allow.
//
// # How kernels are chosen
// Tags are empty structs that inherit, so a kernel family declared for `avx2` also serves
// `avx512bw` until a better one exists (overload resolution picks the most derived match).
// Every ISA-dependent function takes its tag as a template parameter, so TUs built with
// different -m flags instantiate different symbols (ruy's rule: the linker keeps one copy of an
// inline function, so two ISAs must never share one).
// `available()` asks the CPU at run time (for opt-in runtime dispatch). VNNI is a capability of
// the AVX-512 tag (`kVnni`, fixed by the compiler flags), not a tag of its own. The tags name no
// xsimd type (the vector structs of kernels/ pick their xsimd architecture), so this header, and
// everything that only names an ISA, parses without xsimd or intrinsics.
// LOWBIT_FORCE_SCALAR pins isa::best to isa::scalar (config.hpp turns every LOWBIT_HAS_* off).
#pragma once

#include <string_view>

#include "lowbit/config.hpp"

namespace lowbit::isa {

/// Portable C++: the reference path of every kernel; always available.
struct scalar {
  static constexpr std::string_view name() { return "scalar"; }
  static bool available() noexcept { return true; }
  static constexpr bool kVnni = false;
};

/// Width-generic xsimd code (any xsimd architecture); the base of the real SIMD tags.
struct simd : scalar {
  static constexpr std::string_view name() { return "simd"; }
};

struct sse4_2 : simd {
  static constexpr std::string_view name() { return "sse4_2"; }
  static bool available() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("sse4.2");
#else
    return false;
#endif
  }
};

struct avx2 : sse4_2 {
  static constexpr std::string_view name() { return "avx2"; }
  static bool available() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
  }
};

struct avx512bw : avx2 {
  /// vpdpbusd is used when the flags enable AVX512-VNNI; the runtime check then requires it.
  static constexpr bool kVnni = LOWBIT_HAS_AVX512VNNI != 0;
  /// vpopcntq (the XNOR kernels) when the flags enable AVX512-VPOPCNTDQ; then required at run time.
  static constexpr bool kPopcnt = LOWBIT_HAS_AVX512VPOPCNTDQ != 0;
  /// VBMI + VBMI2 (the sequence-code kernels) when the flags enable them; then required too.
  static constexpr bool kVbmi = LOWBIT_HAS_AVX512VBMI != 0;
  static constexpr std::string_view name() { return kVnni ? "avx512bw+vnni" : "avx512bw"; }
  static bool available() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512vl") && (!kVnni || __builtin_cpu_supports("avx512vnni")) &&
           (!kPopcnt || __builtin_cpu_supports("avx512vpopcntdq")) &&
           (!kVbmi ||
            (__builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2")));
#else
    return false;
#endif
  }
};

struct neon64 : simd {
  static constexpr std::string_view name() { return "neon64"; }
  static bool available() noexcept {
#if defined(__aarch64__)
    return true;  // Advanced SIMD is mandatory on AArch64
#else
    return false;
#endif
  }
};

/// The most derived tag the compiler flags enable (scalar under LOWBIT_FORCE_SCALAR).
#if LOWBIT_HAS_AVX512BW
using best = avx512bw;
#elif LOWBIT_HAS_AVX2
using best = avx2;
#elif LOWBIT_HAS_SSE4_2
using best = sse4_2;
#elif LOWBIT_HAS_NEON64
using best = neon64;
#else
using best = scalar;
#endif

}  // namespace lowbit::isa
