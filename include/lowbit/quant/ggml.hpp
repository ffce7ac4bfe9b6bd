// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/ggml.hpp: llama.cpp's (ggml's) block formats, byte for byte: the type numbers
// GGUF files use, each block type's size, and reference quantizers and dequantizers that give
// exactly the bytes and floats of ggml's `quantize_row_<type>_ref` and `dequantize_row_<type>`
// (../shared/data/ggml/README.md: the reference vectors; tests/quant/test_ggml.cpp checks every
// block of them).
//
// Formats here: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (32 values per block; fp16 d, and m for the _1
// types). Byte j of qs holds element j in its low nibble and j + 16 in its high nibble; for
// Q5_x bit j of qh (a little-endian u32) is bit 4 of element j.
//
// # Exactness
// ggml's reference is plain IEEE fp32 in source order (SSE2 build, no FMA). So every product
// that an add follows is passed through detail::no_contract (GCC would otherwise fuse it into
// an FMA under -ffp-contract=fast), fp16 conversion rounds to nearest even with subnormals
// (f16), rounding is ggml's: roundf (half away from zero) for Q8_0, `+ 8.5f` / `+ 0.5f` then
// truncation for the others.
// # Defined where ggml is not
// A block of subnormal floats makes ggml's 1/d overflow to +inf, and C then converts ±inf or
// NaN to an integer (undefined; x86-64's cvttss2si gives INT_MIN, whose low byte is 0).
// to_code_x86 reproduces that (code 0 for a non-finite or out-of-range value), which is what
// the reference bytes hold; the dequantized values are ±0 either way.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/quant/common.hpp"

namespace lowbit::ggml {

/// ggml's type numbers (enum ggml_type), as GGUF tensor infos store them; only the types lowbit
/// reads or writes are named.
enum class Type : std::uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  IQ4_NL = 20,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

/// A block type's name (as ggml spells it), values per block and bytes per block.
struct TypeInfo {
  std::string_view name;
  Index block = 1;
  Index bytes = 4;
};

/// The facts of type number t, or nothing for a number lowbit does not know.
inline std::optional<TypeInfo> type_info(std::uint32_t t) noexcept {
  switch (static_cast<Type>(t)) {
    case Type::F32:
      return TypeInfo{"f32", 1, 4};
    case Type::F16:
      return TypeInfo{"f16", 1, 2};
    case Type::BF16:
      return TypeInfo{"bf16", 1, 2};
    case Type::Q4_0:
      return TypeInfo{"q4_0", 32, 18};
    case Type::Q4_1:
      return TypeInfo{"q4_1", 32, 20};
    case Type::Q5_0:
      return TypeInfo{"q5_0", 32, 22};
    case Type::Q5_1:
      return TypeInfo{"q5_1", 32, 24};
    case Type::Q8_0:
      return TypeInfo{"q8_0", 32, 34};
    case Type::Q2_K:
      return TypeInfo{"q2_K", 256, 84};
    case Type::Q3_K:
      return TypeInfo{"q3_K", 256, 110};
    case Type::Q4_K:
      return TypeInfo{"q4_K", 256, 144};
    case Type::Q5_K:
      return TypeInfo{"q5_K", 256, 176};
    case Type::Q6_K:
      return TypeInfo{"q6_K", 256, 210};
    case Type::IQ4_NL:
      return TypeInfo{"iq4_nl", 32, 18};
    case Type::TQ1_0:
      return TypeInfo{"tq1_0", 256, 54};
    case Type::TQ2_0:
      return TypeInfo{"tq2_0", 256, 66};
    case Type::MXFP4:
      return TypeInfo{"mxfp4", 32, 17};
  }
  return std::nullopt;
}

namespace detail {

inline void put_f16(std::byte* p, float v) noexcept {
  const std::uint16_t b = f16(v).bits;
  p[0] = static_cast<std::byte>(b & 0xff);
  p[1] = static_cast<std::byte>(b >> 8);
}
inline float get_f16(const std::byte* p) noexcept {
  return static_cast<float>(f16::from_bits(static_cast<std::uint16_t>(
      std::to_integer<unsigned>(p[0]) | std::to_integer<unsigned>(p[1]) << 8)));
}
inline std::uint32_t get_u32(const std::byte* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::to_integer<std::uint32_t>(p[i]) << (8 * i);
  return v;
}
inline void put_u32(std::byte* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

/// `(int8_t)v` as gcc compiles it on x86-64 (cvttss2si, then the low byte): truncation for
/// |v| < 2^31, and INT_MIN's low byte, 0, for anything else (±inf, NaN: see the header).
inline int to_code_x86(float v) noexcept {
  if (!(std::fabs(v) < 2147483648.0f)) return 0;
  return static_cast<std::int8_t>(static_cast<std::uint8_t>(static_cast<std::int32_t>(v) & 0xff));
}

/// The value of largest magnitude with its sign (the first of equal magnitudes), as
/// quantize_row_q4_0_ref / q5_0 choose it.
inline float signed_max(const float* x, int n) noexcept {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

inline void min_max(const float* x, int n, float& lo, float& hi) noexcept {
  lo = 3.402823466e+38f;
  hi = -3.402823466e+38f;
  for (int j = 0; j < n; ++j) {
    if (x[j] < lo) lo = x[j];
    if (x[j] > hi) hi = x[j];
  }
}

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

template <int Bits>  // 4: Q4_0, 5: Q5_0
inline void quantize_sym(const float* x, std::byte* y) noexcept {
  constexpr float kHalf = Bits == 4 ? 8.0f : 16.0f;
  constexpr int kMax = (1 << Bits) - 1;
  const float d = signed_max(x, 32) / -kHalf;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  put_f16(y, d);
  std::uint32_t qh = 0;
  std::byte* qs = y + (Bits == 4 ? 2 : 6);
  for (int j = 0; j < 16; ++j) {
    const int a =
        std::min(kMax, to_code_x86(lowbit::detail::no_contract(x[j] * id) + (kHalf + 0.5f)));
    const int b =
        std::min(kMax, to_code_x86(lowbit::detail::no_contract(x[16 + j] * id) + (kHalf + 0.5f)));
    qs[j] = static_cast<std::byte>((a & 0x0f) | (b & 0x0f) << 4);
    qh |= static_cast<std::uint32_t>((a >> 4) & 1) << j | static_cast<std::uint32_t>((b >> 4) & 1)
                                                              << (j + 16);
  }
  if constexpr (Bits == 5) put_u32(y + 2, qh);
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
  std::uint32_t qh = 0;
  std::byte* qs = y + (Bits == 4 ? 4 : 8);
  for (int j = 0; j < 16; ++j) {
    const int a = std::min(kMax, to_code_x86(lowbit::detail::no_contract((x[j] - lo) * id) + 0.5f));
    const int b =
        std::min(kMax, to_code_x86(lowbit::detail::no_contract((x[16 + j] - lo) * id) + 0.5f));
    qs[j] = static_cast<std::byte>((a & 0x0f) | (b & 0x0f) << 4);
    qh |= static_cast<std::uint32_t>((a >> 4) & 1) << j | static_cast<std::uint32_t>((b >> 4) & 1)
                                                              << (j + 16);
  }
  if constexpr (Bits == 5) put_u32(y + 4, qh);
}

/// Codes of a Q4_x/Q5_x block: element j of 32 (the low nibble, plus qh's bit for 5 bits).
inline int nibble_code(const std::byte* qs, std::uint32_t qh, int j) noexcept {
  const unsigned byte = std::to_integer<unsigned>(qs[j % 16]);
  const unsigned lo4 = j < 16 ? byte & 0x0f : byte >> 4;
  return static_cast<int>(lo4 | ((qh >> j) & 1u) << 4);
}

inline void dequantize_block(Type t, const std::byte* b, float* y) noexcept {
  switch (t) {
    case Type::Q8_0: {
      const float d = get_f16(b);
      for (int j = 0; j < 32; ++j)
        y[j] = static_cast<float>(static_cast<std::int8_t>(std::to_integer<int>(b[2 + j]))) * d;
      return;
    }
    case Type::Q4_0:
    case Type::Q5_0: {
      const bool five = t == Type::Q5_0;
      const float d = get_f16(b);
      const std::uint32_t qh = five ? get_u32(b + 2) : 0u;
      const std::byte* qs = b + (five ? 6 : 2);
      const int off = five ? 16 : 8;
      for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(nibble_code(qs, qh, j) - off) * d;
      return;
    }
    case Type::Q4_1:
    case Type::Q5_1: {
      const bool five = t == Type::Q5_1;
      const float d = get_f16(b), m = get_f16(b + 2);
      const std::uint32_t qh = five ? get_u32(b + 4) : 0u;
      const std::byte* qs = b + (five ? 8 : 4);
      for (int j = 0; j < 32; ++j)
        y[j] = lowbit::detail::no_contract(static_cast<float>(nibble_code(qs, qh, j)) * d) + m;
      return;
    }
    default:
      return;  // ggml::dequantize_row checks the type first
  }
}

inline bool has_codec(Type t) noexcept {
  return t == Type::Q8_0 || t == Type::Q4_0 || t == Type::Q4_1 || t == Type::Q5_0 ||
         t == Type::Q5_1;
}

inline TypeInfo checked_info(Type t, Index n, const char* what) {
  const auto info = type_info(static_cast<std::uint32_t>(t));
  if (!info || !has_codec(t))
    lowbit::detail::fail(what, ": ggml type ", static_cast<std::uint32_t>(t),
                         info ? " (" + std::string(info->name) + ")" : std::string(),
                         " has no block codec in lowbit");
  if (n < 0 || n % info->block != 0)
    lowbit::detail::fail(what, ": ", n, " values are not a whole number of ", info->name,
                         " blocks of ", info->block);
  return *info;
}

}  // namespace detail

/// ggml's quantize_row_<t>_ref: n values (a multiple of the block) into n / block blocks at
/// out (n / block · bytes bytes). Throws Error for a type without a codec here or a bad n.
inline void quantize_row(Type t, const float* x, Index n, std::byte* out) {
  const TypeInfo info = detail::checked_info(t, n, "ggml::quantize_row");
  for (Index b = 0; b < n / info.block; ++b) {
    const float* xb = x + b * info.block;
    std::byte* yb = out + b * info.bytes;
    switch (t) {
      case Type::Q8_0:
        detail::quantize_q8_0(xb, yb);
        break;
      case Type::Q4_0:
        detail::quantize_sym<4>(xb, yb);
        break;
      case Type::Q5_0:
        detail::quantize_sym<5>(xb, yb);
        break;
      case Type::Q4_1:
        detail::quantize_asym<4>(xb, yb);
        break;
      case Type::Q5_1:
        detail::quantize_asym<5>(xb, yb);
        break;
      default:
        break;
    }
  }
}

/// ggml's dequantize_row_<t>: n / block blocks at in → n floats.
inline void dequantize_row(Type t, const std::byte* in, Index n, float* y) {
  const TypeInfo info = detail::checked_info(t, n, "ggml::dequantize_row");
  for (Index b = 0; b < n / info.block; ++b)
    detail::dequantize_block(t, in + b * info.bytes, y + b * info.block);
}

}  // namespace lowbit::ggml
