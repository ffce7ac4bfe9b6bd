// SPDX-License-Identifier: Apache-2.0
// tests/support/isa_list.hpp: calls a functor with every ISA tag compiled into this binary whose
// instructions this CPU has (the others are reported with WARN, never silently passed).
#pragma once

#include <string>

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

/// fn(isa::scalar{}), then fn(tag) for each SIMD tag compiled in and available here.
template <class Fn>
void for_each_isa(Fn&& fn) {
  fn(isa::scalar{});
#if LOWBIT_HAS_SSE4_2
  run_if_available<isa::sse4_2>(fn);
#endif
#if LOWBIT_HAS_AVX2
  run_if_available<isa::avx2>(fn);
#endif
#if LOWBIT_HAS_AVX512BW
  run_if_available<isa::avx512bw>(fn);
#endif
#if LOWBIT_HAS_NEON64
  run_if_available<isa::neon64>(fn);
#endif
}

}  // namespace lowbit::test
