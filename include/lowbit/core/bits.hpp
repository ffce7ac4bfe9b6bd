// SPDX-License-Identifier: Apache-2.0
// lowbit/core/bits.hpp: integer helpers, overflow-checked sizes and little-endian byte access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"

namespace lowbit {

template <class T>
constexpr T ceil_div(T a, T b) noexcept {
  return (a + b - 1) / b;
}
template <class T>
constexpr T round_up(T a, T b) noexcept {
  return ceil_div(a, b) * b;
}
/// The low N bits set (N in 0..32).
template <int N>
inline constexpr std::uint32_t kLowMask = N >= 32 ? 0xffffffffu : ((1u << N) - 1u);

namespace detail {

/// a * b for sizes, throwing Error (naming `what`) instead of wrapping around.
inline Index checked_mul(Index a, Index b, const char* what) {
  Index r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
    fail(what, ": size ", a, " x ", b, " overflows");
  return r;
}
inline Index checked_add(Index a, Index b, const char* what) {
  Index r = 0;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &r))
    fail(what, ": size ", a, " + ", b, " overflows");
  return r;
}

// Little-endian loads and stores on unaligned bytes (the library refuses big-endian hosts in
// config.hpp, so memcpy is the byte order of the file formats).
template <class T>
inline T load_le(const std::byte* p) noexcept {
  static_assert(std::is_trivially_copyable_v<T>);
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <class T>
inline void store_le(std::byte* p, T v) noexcept {
  static_assert(std::is_trivially_copyable_v<T>);
  std::memcpy(p, &v, sizeof(T));
}

}  // namespace detail
}  // namespace lowbit
