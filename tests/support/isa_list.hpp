// SPDX-License-Identifier: Apache-2.0
// tests/support/isa_list.hpp: calls a functor with every ISA tag compiled into this binary whose
// instructions this CPU has (the others are reported with WARN, never silently passed).
#pragma once

#include <string>
#include <type_traits>

#include "lowbit/simd/isa.hpp"
#include "support/catch.hpp"

namespace lowbit::test {

template <class Isa, class Fn>
void run_if_available(Fn& fn) {
  if (Isa::available()) {
    fn(Isa{});
  } else {
    WARN("ISA " << std::string(Isa::name())
                << " compiled in but not available on this CPU: skipped");
  }
}

#if LOWBIT_HAS_AVX512BW
/// AVX-512BW kernels with VNNI switched off (vpmaddubsw + vpmaddwd on zmm, the nibble split for
/// 8-bit codes): the path of AVX-512 CPUs without VNNI (Skylake-SP), tested on any AVX-512 host.
struct avx512bw_no_vnni : isa::avx512bw {
  static constexpr bool kVnni = false;
  static constexpr std::string_view name() { return "avx512bw-no-vnni"; }
  static bool available() noexcept {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  }
};
#endif

/// fn(isa::scalar{}), then fn(tag) for each SIMD tag compiled in and available here. With
/// LOWBIT_TEST_SCALAR_AND_BEST (the sanitize and clang presets, where compiling every kernel for
/// every tag again would double CI's time on 2 cores) only scalar and the best tag run; the ci
/// preset (g++) keeps every tag, and clang still compiles every tag's kernels in
/// examples/runtime_dispatch.
template <class Fn>
void for_each_isa(Fn&& fn) {
  fn(isa::scalar{});
#if defined(LOWBIT_TEST_SCALAR_AND_BEST)
  if constexpr (!std::is_same_v<isa::best, isa::scalar>) run_if_available<isa::best>(fn);
  return;
#endif
#if LOWBIT_HAS_SSE4_2
  run_if_available<isa::sse4_2>(fn);
#endif
#if LOWBIT_HAS_AVX2
  run_if_available<isa::avx2>(fn);
#endif
#if LOWBIT_HAS_AVX512BW
  run_if_available<isa::avx512bw>(fn);
  if constexpr (isa::avx512bw::kVnni) run_if_available<avx512bw_no_vnni>(fn);
#endif
#if LOWBIT_HAS_NEON64
  run_if_available<isa::neon64>(fn);
#endif
}

}  // namespace lowbit::test
