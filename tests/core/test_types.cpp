// SPDX-License-Identifier: Apache-2.0
// tests/core/test_types.cpp: f16/bf16 conversions, exhaustively over all 65,536 bit patterns.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "lowbit/config.hpp"
#include "lowbit/core/types.hpp"
#include "support/catch.hpp"
#if LOWBIT_HAS_F16C
#include <immintrin.h>
#endif

using lowbit::bf16;
using lowbit::f16;

namespace {

// Independent decoders: the IEEE definition evaluated in double with ldexp.
double f16_value(std::uint16_t h) {
  const int e = (h >> 10) & 0x1f;
  const int m = h & 0x3ff;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (e == 31)
    return m == 0 ? sign * std::numeric_limits<double>::infinity()
                  : std::numeric_limits<double>::quiet_NaN();
  if (e == 0) return sign * std::ldexp(static_cast<double>(m), -24);
  return sign * std::ldexp(static_cast<double>(1024 + m), e - 25);
}
double bf16_value(std::uint16_t b) {
  const int e = (b >> 7) & 0xff;
  const int m = b & 0x7f;
  const double sign = (b & 0x8000) ? -1.0 : 1.0;
  if (e == 255)
    return m == 0 ? sign * std::numeric_limits<double>::infinity()
                  : std::numeric_limits<double>::quiet_NaN();
  if (e == 0) return sign * std::ldexp(static_cast<double>(m), -133);
  return sign * std::ldexp(static_cast<double>(128 + m), e - 134);
}
bool is_nan16(std::uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }
bool is_nan_bf16(std::uint16_t b) { return (b & 0x7f80) == 0x7f80 && (b & 0x7f) != 0; }

}  // namespace

TEST_CASE("f16 to float is exact for all 65536 patterns", "[f16]") {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = f16::from_bits(static_cast<std::uint16_t>(h)).to_float();
    const float soft = lowbit::detail::f16_bits_to_float_soft(static_cast<std::uint16_t>(h));
    REQUIRE(std::bit_cast<std::uint32_t>(soft) == std::bit_cast<std::uint32_t>(f));
    const double ref = f16_value(static_cast<std::uint16_t>(h));
    if (std::isnan(ref)) {
      REQUIRE(std::isnan(f));
      REQUIRE(std::signbit(f) == ((h & 0x8000) != 0));
    } else {
      REQUIRE(static_cast<double>(f) == ref);
      REQUIRE(std::signbit(f) == ((h & 0x8000) != 0));  // -0 stays -0
    }
  }
}

TEST_CASE("float to f16 round-trips every finite pattern and keeps NaN", "[f16]") {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto hb = static_cast<std::uint16_t>(h);
    const f16 back(f16::from_bits(hb).to_float());
    REQUIRE(lowbit::detail::float_to_f16_bits_soft(f16::from_bits(hb).to_float()) == back.bits);
    if (is_nan16(hb)) {
      REQUIRE(is_nan16(back.bits));
      REQUIRE((back.bits & 0x8000) == (hb & 0x8000));
      REQUIRE((back.bits & 0x0200) != 0);  // quiet
    } else {
      REQUIRE(back.bits == hb);
    }
  }
}

TEST_CASE("float to f16 rounds to nearest, ties to even, between every pair of neighbours",
          "[f16]") {
  for (std::uint32_t h = 0; h < 0x7bff; ++h) {  // h and h + 1 both finite and non-negative
    for (std::uint32_t sign : {0u, 0x8000u}) {
      const auto lo = static_cast<std::uint16_t>(h | sign);
      const auto hi = static_cast<std::uint16_t>((h + 1) | sign);
      const double a = f16_value(lo), b = f16_value(hi);
      const auto mid = static_cast<float>((a + b) / 2);  // exact: 12 significant bits
      REQUIRE(static_cast<double>(mid) == (a + b) / 2);
      const std::uint16_t even = (h & 1) ? hi : lo;
      REQUIRE(f16(mid).bits == even);
      REQUIRE(lowbit::detail::float_to_f16_bits_soft(mid) == even);
      const float toward_lo = std::nextafter(mid, static_cast<float>(a));
      const float toward_hi = std::nextafter(mid, static_cast<float>(b));
      REQUIRE(f16(toward_lo).bits == lo);
      REQUIRE(f16(toward_hi).bits == hi);
      REQUIRE(lowbit::detail::float_to_f16_bits_soft(toward_lo) == lo);
      REQUIRE(lowbit::detail::float_to_f16_bits_soft(toward_hi) == hi);
    }
  }
}

TEST_CASE("f16 overflow, underflow and specials", "[f16]") {
  const float inf = std::numeric_limits<float>::infinity();
  // Every value through the dispatching conversion and the portable one, which must agree.
  auto both = [](float x) {
    const std::uint16_t h = f16(x).bits;
    REQUIRE(lowbit::detail::float_to_f16_bits_soft(x) == h);
    return h;
  };
  CHECK(both(65504.0f) == 0x7bff);
  CHECK(both(std::nextafter(65520.0f, 0.0f)) == 0x7bff);
  CHECK(both(65520.0f) == 0x7c00);  // the midpoint to "65536" rounds to even = Inf
  CHECK(both(-65520.0f) == 0xfc00);
  CHECK(both(1e10f) == 0x7c00);
  CHECK(both(inf) == 0x7c00);
  CHECK(both(-inf) == 0xfc00);
  CHECK(both(std::ldexp(1.0f, -25)) == 0x0000);  // tie between 0 and 2^-24: even = 0
  CHECK(both(std::nextafter(std::ldexp(1.0f, -25), 1.0f)) == 0x0001);
  CHECK(both(std::ldexp(1.0f, -24)) == 0x0001);
  CHECK(both(std::ldexp(1.5f, -24)) == 0x0002);  // tie 1.5 -> 2
  CHECK(both(std::ldexp(2.5f, -24)) == 0x0002);  // tie 2.5 -> 2
  CHECK(both(-0.0f) == 0x8000);
  CHECK(both(1e-30f) == 0x0000);
  CHECK(both(std::numeric_limits<float>::denorm_min()) == 0x0000);
  CHECK(both(std::ldexp(1023.5f, -24)) == 0x0400);  // subnormal rounding carries into normal
  const float snan = std::bit_cast<float>(0x7f800001u);
  CHECK(is_nan16(both(snan)));  // a signalling NaN with payload only in low bits stays NaN
  CHECK(is_nan16(both(std::numeric_limits<float>::quiet_NaN())));
}

#if LOWBIT_HAS_F16C
TEST_CASE("the portable f16 conversions agree with F16C hardware", "[f16]") {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float hw = _cvtsh_ss(static_cast<unsigned short>(h));
    const float sw = lowbit::detail::f16_bits_to_float_soft(static_cast<std::uint16_t>(h));
    REQUIRE(std::bit_cast<std::uint32_t>(hw) == std::bit_cast<std::uint32_t>(sw));
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 4000000; ++i) {
    const float x = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
    // _mm_cvtps_ph rather than _cvtss_sh: clang's _cvtss_sh macro is a C99 compound literal.
    const auto hw = static_cast<std::uint16_t>(
        _mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(x), _MM_FROUND_TO_NEAREST_INT), 0));
    REQUIRE(lowbit::detail::float_to_f16_bits_soft(x) == hw);
    REQUIRE(f16(x).bits == hw);
  }
}
#endif

TEST_CASE("bf16 to float is exact for all 65536 patterns", "[bf16]") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const float f = bf16::from_bits(static_cast<std::uint16_t>(b)).to_float();
    const double ref = bf16_value(static_cast<std::uint16_t>(b));
    if (std::isnan(ref)) {
      REQUIRE(std::isnan(f));
    } else {
      REQUIRE(static_cast<double>(f) == ref);
      REQUIRE(std::signbit(f) == ((b & 0x8000) != 0));
    }
  }
}

TEST_CASE("float to bf16 round-trips, rounds ties to even, overflows to Inf", "[bf16]") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto bb = static_cast<std::uint16_t>(b);
    const bf16 back(bf16::from_bits(bb).to_float());
    if (is_nan_bf16(bb)) {
      REQUIRE(is_nan_bf16(back.bits));
    } else {
      REQUIRE(back.bits == bb);
    }
  }
  for (std::uint32_t b = 0; b < 0x7f7f; ++b) {
    const double a = bf16_value(static_cast<std::uint16_t>(b)),
                 c = bf16_value(static_cast<std::uint16_t>(b + 1));
    const auto mid = static_cast<float>((a + c) / 2);
    REQUIRE(static_cast<double>(mid) == (a + c) / 2);
    REQUIRE(bf16(mid).bits == ((b & 1) ? b + 1 : b));
    REQUIRE(bf16(std::nextafter(mid, static_cast<float>(a))).bits == b);
    REQUIRE(bf16(std::nextafter(mid, static_cast<float>(c))).bits == b + 1);
  }
  CHECK(bf16(std::numeric_limits<float>::max()).bits == 0x7f80);  // rounds up past the largest
  CHECK(bf16(std::numeric_limits<float>::infinity()).bits == 0x7f80);
  CHECK(is_nan_bf16(bf16(std::bit_cast<float>(0x7f800001u)).bits));
  CHECK(bf16(-0.0f).bits == 0x8000);
}

TEST_CASE("ScaleStorage rounds through the stored type", "[types]") {
  CHECK(lowbit::round_to_storage<float>(0.1f) == 0.1f);
  CHECK(lowbit::round_to_storage<f16>(0.1f) == f16(0.1f).to_float());
  CHECK(lowbit::round_to_storage<bf16>(0.1f) == bf16(0.1f).to_float());
  CHECK(lowbit::round_to_storage<f16>(0.1f) != 0.1f);
  STATIC_REQUIRE(lowbit::f16(1.0f).bits == 0x3c00);  // constexpr
  STATIC_REQUIRE(lowbit::bf16(1.0f).bits == 0x3f80);
}
