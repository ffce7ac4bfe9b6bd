// SPDX-License-Identifier: Apache-2.0
// lowbit/formats/ggml/legacy.hpp: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1: 32 values per block, an fp16 d (and
// m for the _1 types); byte j of qs holds element j in its low nibble and j + 16 in its high
// nibble; for Q5_x bit j of qh, a little-endian u32, is bit 4 of element j.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "lowbit/formats/ggml/common.hpp"

namespace lowbit::ggml::detail {

// One block each: x → bytes at y.
inline void quantize_q8_0(const float* x, std::byte* y) noexcept {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  put_f16(y, d);
  for (int j = 0; j < 32; ++j)
    y[2 + j] = static_cast<std::byte>(to_code_x86(std::round(x[j] * id)));
}

/// Q4_x/Q5_x codes q[32] into a block's nibbles at p: for 5 bits the u32 qh (bit j: bit 4 of
/// q[j]) first, then qs[16] (byte j: q[j] low, q[j + 16] high).
inline void put_nibbles(const int* q, std::byte* p, bool five) noexcept {
  std::uint32_t qh = 0;
  std::byte* qs = p + (five ? 4 : 0);
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<std::byte>((q[j] & 0x0f) | (q[16 + j] & 0x0f) << 4);
    qh |= static_cast<std::uint32_t>((q[j] >> 4) & 1) << j |
          static_cast<std::uint32_t>((q[16 + j] >> 4) & 1) << (j + 16);
  }
  if (five) put_u32(p, qh);
}

template <int Bits>  // 4: Q4_0, 5: Q5_0
inline void quantize_sym(const float* x, std::byte* y) noexcept {
  constexpr float kHalf = Bits == 4 ? 8.0f : 16.0f;
  constexpr int kMax = (1 << Bits) - 1;
  const float d = signed_max(x, 32) / -kHalf;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  put_f16(y, d);
  int q[32];
  for (int j = 0; j < 32; ++j)
    q[j] = std::min(kMax, to_code_x86(lowbit::detail::no_contract(x[j] * id) + (kHalf + 0.5f)));
  put_nibbles(q, y + 2, Bits == 5);
}

template <int Bits>  // 4: Q4_1, 5: Q5_1
inline void quantize_asym(const float* x, std::byte* y) noexcept {
  constexpr int kMax = (1 << Bits) - 1;
  float lo, hi;
  min_max(x, 32, lo, hi);
  const float d = (hi - lo) / static_cast<float>(kMax);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  put_f16(y, d);
  put_f16(y + 2, lo);
  int q[32];
  for (int j = 0; j < 32; ++j)
    q[j] = std::min(kMax, to_code_x86(lowbit::detail::no_contract((x[j] - lo) * id) + 0.5f));
  put_nibbles(q, y + 4, Bits == 5);
}

/// Codes of a Q4_x/Q5_x block: element j of 32 (the low nibble, plus qh's bit for 5 bits).
inline int nibble_code(const std::byte* qs, std::uint32_t qh, int j) noexcept {
  const unsigned byte = std::to_integer<unsigned>(qs[j % 16]);
  const unsigned lo4 = j < 16 ? byte & 0x0f : byte >> 4;
  return static_cast<int>(lo4 | ((qh >> j) & 1u) << 4);
}

inline void fields_q8_0(const std::byte* b, BlockFields& f) noexcept {
  f.group = 32;
  f.scale[0] = get_f16(b);
  for (int j = 0; j < 32; ++j)
    f.level[j] = static_cast<std::int8_t>(std::to_integer<int>(b[2 + j]));
}

/// Q4_0 and Q5_0 (kMin false: level = q - 8 or q - 16), Q4_1 and Q5_1 (kMin: level q, plus m).
template <int Bits, bool kMin>
void fields_q45(const std::byte* b, BlockFields& f) noexcept {
  constexpr bool kFive = Bits == 5;
  f.group = 32;
  f.has_offset = kMin;
  f.scale[0] = get_f16(b);
  if (kMin) f.offset[0] = get_f16(b + 2);
  const int head = kMin ? 4 : 2;  // bytes before qh (Q5_x) or qs
  const std::uint32_t qh = kFive ? get_u32(b + head) : 0u;
  const std::byte* qs = b + head + (kFive ? 4 : 0);
  const int sub = kMin ? 0 : kFive ? 16 : 8;
  for (int j = 0; j < 32; ++j) f.level[j] = nibble_code(qs, qh, j) - sub;
}

}  // namespace lowbit::ggml::detail
