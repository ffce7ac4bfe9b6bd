// SPDX-License-Identifier: Apache-2.0
// lowbit/core/static_for.hpp: static_for<N>(fn) calls fn(std::integral_constant<int, I>{}) for
// I = 0 .. N-1, unrolled at compile time, so the body can use I as a template argument (a shift
// count, a step index) — the micro-kernels' and step codecs' loops over steps and planes.
#pragma once

#include <type_traits>
#include <utility>

#include "lowbit/config.hpp"

namespace lowbit {

template <int N, class Fn>
LOWBIT_INLINE void static_for(Fn&& fn) {
  [&]<int... I>(std::integer_sequence<int, I...>) { (fn(std::integral_constant<int, I>{}), ...); }
  (std::make_integer_sequence<int, N>{});
}

}  // namespace lowbit
