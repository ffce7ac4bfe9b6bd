// SPDX-License-Identifier: Apache-2.0
// lowbit/core/types.hpp: Index, and the fp16/bf16 storage types with exact conversions.
//
// # Storage floats
// `f16` (IEEE 754 binary16) and `bf16` (bfloat16) are *storage* types: they hold 16 bits and
// convert to and from `float`. Arithmetic always happens in float. Conversions are exact in the
// IEEE sense:
//   - float -> f16 / bf16 rounds to nearest, ties to even, with overflow to ±Inf (f16: any
//     |x| >= 65520, the midpoint above the largest finite 65504) and gradual underflow to
//     subnormals (f16: multiples of 2^-24; anything <= 2^-25 in magnitude rounds to ±0).
//   - NaN stays NaN: the sign and the top mantissa bits are kept and the quiet bit is set, so a
//     signalling NaN never turns into Inf.
//   - f16 / bf16 -> float is exact for every one of the 65,536 bit patterns (an f16 signalling
//     NaN comes back quiet, as IEEE 754 and F16C's vcvtph2ps do).
// Both are constexpr bit manipulation, so results do not depend on the FPU rounding mode, on
// F16C being present, or on the compiler (tests check all 65,536 patterns and cross-check F16C).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "lowbit/config.hpp"
#if LOWBIT_HAS_F16C
#include <immintrin.h>
#endif

namespace lowbit {

/// Signed index and size type used for shapes, strides and element counts.
using Index = std::ptrdiff_t;

namespace detail {

/// The portable conversion (the definition; F16C, where present, must agree with it bit for bit).
constexpr std::uint16_t float_to_f16_bits_soft(float value) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) {  // NaN: keep the top 10 payload bits, force quiet.
    return static_cast<std::uint16_t>(sign | 0x7e00u | ((ax >> 13) & 0x03ffu));
  }
  if (ax >= 0x477ff000u) {  // >= 65520 (or Inf): rounds to Inf.
    return static_cast<std::uint16_t>(sign | 0x7c00u);
  }
  if (ax >= 0x38800000u) {  // >= 2^-14: normal half. Rebias the exponent, round 23->10 bits.
    const std::uint32_t r = ax - 0x38000000u;
    return static_cast<std::uint16_t>(sign | ((r + 0x0fffu + ((r >> 13) & 1u)) >> 13));
  }
  if (ax < 0x33000000u) {  // <= 2^-25 (the tie with 0 goes to even 0): ±0.
    return static_cast<std::uint16_t>(sign);
  }
  // Subnormal half: value = m * 2^(e-150); in units of 2^-24 that is m >> (126 - e).
  const std::uint32_t e = ax >> 23;
  const std::uint32_t m = (ax & 0x007fffffu) | 0x00800000u;
  const std::uint32_t shift = 126u - e;  // 14..24
  std::uint32_t q = m >> shift;
  const std::uint32_t rem = m & ((1u << shift) - 1u);
  const std::uint32_t half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (q & 1u))) ++q;  // may carry into the smallest normal: fine
  return static_cast<std::uint16_t>(sign | q);
}

constexpr float f16_bits_to_float_soft(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t e = (h >> 10) & 0x1fu;
  const std::uint32_t m = h & 0x03ffu;
  if (e == 0x1fu) {  // Inf, or NaN with its payload kept and the quiet bit set (as F16C does)
    return std::bit_cast<float>(sign | 0x7f800000u | (m << 13) | (m != 0 ? 0x00400000u : 0u));
  }
  if (e == 0) {
    // Zero or subnormal: m · 2^-24, exact in float (m < 2^10). Loop-free, so callers that
    // convert a loop-invariant scale get it hoisted and their loops vectorised.
    const float mag = static_cast<float>(m) * 0x1p-24f;
    return sign ? -mag : mag;
  }
  return std::bit_cast<float>(sign | ((e + 112u) << 23) | (m << 13));
}

/// float -> f16 bits: one F16C instruction where the target has it, else the portable code.
constexpr std::uint16_t float_to_f16_bits(float value) noexcept {
#if LOWBIT_HAS_F16C
  if (!std::is_constant_evaluated()) {
    return static_cast<std::uint16_t>(
        _mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(value), _MM_FROUND_TO_NEAREST_INT), 0));
  }
#endif
  return float_to_f16_bits_soft(value);
}

/// f16 bits -> float: one F16C instruction where the target has it, else the portable code.
constexpr float f16_bits_to_float(std::uint16_t h) noexcept {
#if LOWBIT_HAS_F16C
  if (!std::is_constant_evaluated()) return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
#endif
  return f16_bits_to_float_soft(h);
}

constexpr std::uint16_t float_to_bf16_bits(float value) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(value);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x0040u);
  // Round to nearest even on the low 16 bits; overflow carries into the exponent -> Inf.
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

constexpr float bf16_bits_to_float(std::uint16_t b) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

}  // namespace detail

/// IEEE binary16 storage. `f16(x)` rounds to nearest even; `float(h)` is exact.
struct f16 {
  std::uint16_t bits = 0;

  constexpr f16() = default;
  constexpr explicit f16(float x) noexcept : bits(detail::float_to_f16_bits(x)) {}
  static constexpr f16 from_bits(std::uint16_t b) noexcept {
    f16 h;
    h.bits = b;
    return h;
  }
  constexpr explicit operator float() const noexcept { return detail::f16_bits_to_float(bits); }
  constexpr float to_float() const noexcept { return detail::f16_bits_to_float(bits); }
  friend constexpr bool operator==(f16 a, f16 b) noexcept { return a.bits == b.bits; }
};

/// bfloat16 storage (the top half of a float). `bf16(x)` rounds to nearest even.
struct bf16 {
  std::uint16_t bits = 0;

  constexpr bf16() = default;
  constexpr explicit bf16(float x) noexcept : bits(detail::float_to_bf16_bits(x)) {}
  static constexpr bf16 from_bits(std::uint16_t b) noexcept {
    bf16 h;
    h.bits = b;
    return h;
  }
  constexpr explicit operator float() const noexcept { return detail::bf16_bits_to_float(bits); }
  constexpr float to_float() const noexcept { return detail::bf16_bits_to_float(bits); }
  friend constexpr bool operator==(bf16 a, bf16 b) noexcept { return a.bits == b.bits; }
};

static_assert(sizeof(f16) == 2 && std::is_trivially_copyable_v<f16>);
static_assert(sizeof(bf16) == 2 && std::is_trivially_copyable_v<bf16>);

/// What a scale (or float offset) is stored as. Quantizers round their float result to this type
/// *before* computing codes, so the codes match the stored parameter exactly.
template <class T>
struct ScaleStorage;

template <>
struct ScaleStorage<float> {
  static constexpr int kBits = 32;
  static constexpr std::uint8_t kId = 0;  // persisted in io/ files: never change
  static constexpr std::string_view name() { return "f32"; }
  static constexpr float store(float x) noexcept { return x; }
  static constexpr float load(float x) noexcept { return x; }
  static constexpr std::uint32_t to_bits(float x) noexcept {
    return std::bit_cast<std::uint32_t>(x);
  }
  static constexpr float from_bits(std::uint32_t b) noexcept { return std::bit_cast<float>(b); }
};

template <>
struct ScaleStorage<f16> {
  static constexpr int kBits = 16;
  static constexpr std::uint8_t kId = 1;
  static constexpr std::string_view name() { return "f16"; }
  static constexpr f16 store(float x) noexcept { return f16(x); }
  static constexpr float load(f16 x) noexcept { return x.to_float(); }
  static constexpr std::uint32_t to_bits(f16 x) noexcept { return x.bits; }
  static constexpr f16 from_bits(std::uint32_t b) noexcept {
    return f16::from_bits(static_cast<std::uint16_t>(b));
  }
};

template <>
struct ScaleStorage<bf16> {
  static constexpr int kBits = 16;
  static constexpr std::uint8_t kId = 2;
  static constexpr std::string_view name() { return "bf16"; }
  static constexpr bf16 store(float x) noexcept { return bf16(x); }
  static constexpr float load(bf16 x) noexcept { return x.to_float(); }
  static constexpr std::uint32_t to_bits(bf16 x) noexcept { return x.bits; }
  static constexpr bf16 from_bits(std::uint32_t b) noexcept {
    return bf16::from_bits(static_cast<std::uint16_t>(b));
  }
};

/// Rounds a float through storage type T and back: the value a stored parameter really has.
template <class T>
constexpr float round_to_storage(float x) noexcept {
  return ScaleStorage<T>::load(ScaleStorage<T>::store(x));
}

}  // namespace lowbit
