// SPDX-License-Identifier: Apache-2.0
// lowbit/formats/ggml/common.hpp: what every family of llama.cpp's (ggml's) block formats shares:
// ggml's type numbers as GGUF files store them, the byte helpers, the rules that make lowbit's
// bytes and floats exactly ggml's, and BlockFields, the one form every ggml dequantizer has.
// The families: legacy.hpp (Q4_0 … Q8_0), kquants.hpp (Q2_K … Q6_K and their scale searches),
// ternary.hpp (TQ1_0, TQ2_0), nonlinear.hpp (IQ4_NL, MXFP4); blocks.hpp has the table of them.
//
// # Exactness
// ggml's reference is plain IEEE fp32 in source order (SSE2 build, no FMA). So every product
// that an add follows is passed through lowbit::detail::no_contract (GCC would otherwise fuse it
// into an FMA under -ffp-contract=fast), or, in the k-quant search routines, whose every line is
// a sum of products, the function is compiled without contraction (LOWBIT_GGML_EXACT_FN: GCC's
// optimize("fp-contract=off"), clang's `#pragma clang fp contract(off)`); fp16 conversion rounds
// to nearest even with subnormals (f16); rounding is ggml's: roundf (half away from zero) for
// Q8_0, `+ 8.5f` / `+ 0.5f` then truncation for the others.
//
// # Defined where ggml is not
// A block of subnormal floats makes ggml's 1/d overflow to +inf, and C then converts ±inf or NaN
// to an integer (undefined; x86-64's cvttss2si gives INT_MIN, whose low byte is 0). to_code_x86
// reproduces that (code 0 for a non-finite or out-of-range value), which is what the reference
// bytes hold; the dequantized values are ±0 either way.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "lowbit/core/bits.hpp"
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

namespace detail {

inline void put_f16_bits(std::byte* p, f16 v) noexcept {
  const std::uint16_t b = v.bits;
  p[0] = static_cast<std::byte>(b & 0xff);
  p[1] = static_cast<std::byte>(b >> 8);
}
inline void put_f16(std::byte* p, float v) noexcept { put_f16_bits(p, f16(v)); }
inline float get_f16(const std::byte* p) noexcept {
  return static_cast<float>(f16::from_bits(static_cast<std::uint16_t>(
      std::to_integer<unsigned>(p[0]) | std::to_integer<unsigned>(p[1]) << 8)));
}
inline std::uint32_t get_u32(const std::byte* p) noexcept {
  return lowbit::detail::load_le<std::uint32_t>(p);
}
inline void put_u32(std::byte* p, std::uint32_t v) noexcept {
  lowbit::detail::store_le<std::uint32_t>(p, v);
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

#if defined(__clang__)
#define LOWBIT_GGML_EXACT_FN
#define LOWBIT_GGML_EXACT_BODY _Pragma("clang fp contract(off)")
#elif defined(__GNUC__)
#define LOWBIT_GGML_EXACT_FN __attribute__((optimize("fp-contract=off")))
#define LOWBIT_GGML_EXACT_BODY
#else
#define LOWBIT_GGML_EXACT_FN
#define LOWBIT_GGML_EXACT_BODY
#endif

/// ggml's nearest_int: round half to even through the 1.5·2^23 trick (|v| <= 2^22 - 1).
inline int nearest_int(float v) noexcept {
  const float t = v + 12582912.0f;
  std::int32_t i;
  std::memcpy(&i, &t, 4);
  return (i & 0x007fffff) - 0x00400000;
}

/// A block as ggml's dequantizer reads it. Value j is scale[g]·level[j] with g = j / group, and,
/// for the types with a min (Q4_1, Q5_1, Q2_K, Q4_K, Q5_K), that product rounded, plus
/// offset[g]. Every dequantize_row_<type> has this form: its scales are d, or d times an
/// integer sub-block scale formed first (d·sc, exact in fp32: ≤ 11 + 8 significant bits); its
/// mins enter as `… - dmin·m`, and a - b is a + (-b) in IEEE arithmetic, signed zeros
/// included. So lowbit's schemes (formats/ggml/schemes.hpp) take these fields over unchanged.
struct BlockFields {
  int group = 32;           // values per scale: 16, 32 or 256
  bool has_offset = false;  // a min per group (offset = -dmin·m, or Q4_1/Q5_1's m)
  int level[256] = {};      // the integer ggml multiplies: q - 8, q - 16, int8 q, K[q], t - 1, …
  float scale[16] = {};
  float offset[16] = {};
};

/// What quantizing a row carries from one block to the next: IQ4_NL's codes, which a block of
/// values below 1e-15 leaves as the previous block set them (ggml does not clear them).
struct RowState {
  std::uint8_t iq4_codes[32] = {};
};

/// ggml's GROUP_MAX_EPS: a group whose largest magnitude is below it quantizes to all zeros (the
/// k-quants' and IQ4_NL's scale searches).
inline constexpr float kGroupMaxEps = 1e-15f;
}  // namespace detail
}  // namespace lowbit::ggml
