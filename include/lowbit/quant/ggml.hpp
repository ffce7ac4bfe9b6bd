// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/ggml.hpp: llama.cpp's (ggml's) block formats, byte for byte: the type numbers
// GGUF files use, each block type's size, and reference quantizers and dequantizers that give
// exactly the bytes and floats of ggml's `quantize_row_<type>_ref` and `dequantize_row_<type>`
// (tests/io/test_ggml_blocks.cpp checks every block of vectors that ggml itself quantized and
// dequantized).
//
// Formats here: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (32 values per block; fp16 d, and m for the _1
// types; byte j of qs holds element j in its low nibble and j + 16 in its high nibble; for Q5_x
// bit j of qh, a little-endian u32, is bit 4 of element j) and the k-quants Q2_K, Q3_K, Q4_K,
// Q5_K, Q6_K (super-blocks of 256 with 6-bit or 4-bit sub-block scales; the layouts are
// ggml-common.h's structs, the bit orders what ggml's dequantizers read). The
// k-quant reference quantizers search their scales (make_qkx2: a weighted least-squares fit
// over a grid of trial scales; make_qx / make_q3: the same with weights x², iterated): each is
// reproduced step for step, since any change of order changes bytes.
//
// # Exactness
// ggml's reference is plain IEEE fp32 in source order (SSE2 build, no FMA). So every product
// that an add follows is passed through detail::no_contract (GCC would otherwise fuse it into
// an FMA under -ffp-contract=fast), or, in the k-quant search routines, whose every line is a
// sum of products, the function is compiled without contraction (LOWBIT_GGML_EXACT: GCC's
// optimize("fp-contract=off"), clang's `#pragma clang fp contract(off)`), fp16 conversion rounds to
// nearest even with subnormals (f16), rounding is ggml's: roundf (half away from zero) for Q8_0,
// `+ 8.5f` / `+ 0.5f` then truncation for the others. # Defined where ggml is not A block of
// subnormal floats makes ggml's 1/d overflow to +inf, and C then converts ±inf or NaN to an integer
// (undefined; x86-64's cvttss2si gives INT_MIN, whose low byte is 0). to_code_x86 reproduces that
// (code 0 for a non-finite or out-of-range value), which is what the reference bytes hold; the
// dequantized values are ±0 either way.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "lowbit/core/bits.hpp"
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

/// make_qkx2_quants: codes L (0..nmax) and scale, min (returned as -min in the_min) of n values
/// with weights, by a grid of nstep + 1 trial scales (rmin + rdelta·is + nmax)/(max - min) each
/// followed by the weighted least-squares (scale, min), keeping the smallest weighted error.
LOWBIT_GGML_EXACT_FN inline float make_qkx2(int n, int nmax, const float* x, const float* w,
                                            std::uint8_t* L, float* the_min, std::uint8_t* Laux,
                                            float rmin, float rdelta, int nstep, bool use_mad) {
  LOWBIT_GGML_EXACT_BODY
  float min = x[0], max = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.0f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = static_cast<std::uint8_t>(std::max(0, std::min(nmax, l)));
    float diff = scale * L[i] + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += w[i] * diff;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * (x[i] - min));
      l = std::max(0, std::min(nmax, l));
      Laux[i] = static_cast<std::uint8_t>(l);
      const float fl = static_cast<float>(l);
      sum_l += w[i] * fl;
      sum_l2 += w[i] * fl * fl;
      sum_xl += w[i] * fl * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += w[i] * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

inline constexpr float kGroupMaxEps = 1e-15f;

/// make_qx_quants with rmse_type 1 and no importance weights (weights x²): signed codes
/// L + nmax, the scale of the best of 19 trial inverse scales -(nmax + 0.1·is)/max.
LOWBIT_GGML_EXACT_FN inline float make_qx(int n, int nmax, const float* x, std::int8_t* L) {
  LOWBIT_GGML_EXACT_BODY
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = static_cast<std::int8_t>(l + nmax);
    const float w = x[i] * x[i];
    const float fl = static_cast<float>(l);
    sumlx += w * x[i] * fl;
    suml2 += w * fl * fl;
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      const float w = x[i] * x[i];
      const float fl = static_cast<float>(l);
      sumlx += w * x[i] * fl;
      suml2 += w * fl * fl;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        const int l = nearest_int(iscale * x[i]);
        L[i] = static_cast<std::int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

/// make_q3_quants with do_rmse: codes L + nmax by weights x², then up to 5 passes moving single
/// codes while the weighted fit improves.
LOWBIT_GGML_EXACT_FN inline float make_q3(int n, int nmax, const float* x, std::int8_t* L) {
  LOWBIT_GGML_EXACT_BODY
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  const float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = static_cast<std::int8_t>(l);
    const float w = x[i] * x[i];
    const float fl = static_cast<float>(l);
    sumlx += w * x[i] * fl;
    suml2 += w * fl * fl;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      const float li = static_cast<float>(L[i]);
      float slx = sumlx - w * x[i] * li;
      if (slx > 0) {
        float sl2 = suml2 - w * li * li;
        int new_l = nearest_int(x[i] * sl2 / slx);
        new_l = std::max(-nmax, std::min(nmax - 1, new_l));
        if (new_l != L[i]) {
          const float fl = static_cast<float>(new_l);
          slx += w * x[i] * fl;
          sl2 += w * fl * fl;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<std::int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (!n_changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<std::int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/// The 6-bit scale and min of sub-block j from Q4_K/Q5_K's 12 scale bytes.
inline void scale_min_k4(int j, const std::byte* q, int& d, int& m) noexcept {
  auto b = [&](int i) { return std::to_integer<int>(q[i]); };
  if (j < 4) {
    d = b(j) & 63;
    m = b(j + 4) & 63;
  } else {
    d = (b(j + 4) & 0xf) | ((b(j - 4) >> 6) << 4);
    m = (b(j + 4) >> 4) | ((b(j) >> 6) << 4);
  }
}

/// Q2_K: 16 sub-blocks of 16, 2-bit codes, 4-bit scale and min per sub-block (scales @0, qs @16,
/// d @80, dmin @82).
LOWBIT_GGML_EXACT_FN inline void quantize_q2_k(const float* x, std::byte* y) {
  LOWBIT_GGML_EXACT_BODY
  std::uint8_t L[256], Laux[16];
  float w[16], mins[16], scales[16];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 16; ++j) {
    for (int l = 0; l < 16; ++l) w[l] = std::fabs(x[16 * j + l]);
    scales[j] = make_qkx2(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  std::uint8_t sc[16] = {};
  if (max_scale > 0) {
    const float iscale = 15.0f / max_scale;
    for (int j = 0; j < 16; ++j) sc[j] = static_cast<std::uint8_t>(nearest_int(iscale * scales[j]));
    put_f16(y + 80, max_scale / 15.0f);
  } else {
    put_f16(y + 80, 0.0f);
  }
  if (max_min > 0) {
    const float iscale = 15.0f / max_min;
    for (int j = 0; j < 16; ++j)
      sc[j] = static_cast<std::uint8_t>(sc[j] | nearest_int(iscale * mins[j]) << 4);
    put_f16(y + 82, max_min / 15.0f);
  } else {
    put_f16(y + 82, 0.0f);
  }
  const float dall = get_f16(y + 80), mall = get_f16(y + 82);
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<std::byte>(sc[j]);
    const float d = dall * static_cast<float>(sc[j] & 0xf);
    if (d == 0.0f) continue;
    const float dm = mall * static_cast<float>(sc[j] >> 4);
    for (int i = 0; i < 16; ++i) {
      const int l = nearest_int((x[16 * j + i] + dm) / d);
      L[16 * j + i] = static_cast<std::uint8_t>(std::max(0, std::min(3, l)));
    }
  }
  for (int j = 0; j < 256; j += 128)
    for (int l = 0; l < 32; ++l)
      y[16 + j / 4 + l] = static_cast<std::byte>(L[j + l] | L[j + l + 32] << 2 |
                                                 L[j + l + 64] << 4 | L[j + l + 96] << 6);
}

/// Q3_K: 16 sub-blocks of 16, 3-bit codes (2 low bits in qs, the high bit in hmask), 6-bit
/// signed scales (hmask @0, qs @32, scales @96, d @108).
LOWBIT_GGML_EXACT_FN inline void quantize_q3_k(const float* x, std::byte* y) {
  LOWBIT_GGML_EXACT_BODY
  std::int8_t L[256];
  float scales[16];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = make_q3(16, 4, x + 16 * j, L + 16 * j);
    const float a = std::fabs(scales[j]);
    if (a > amax) {
      amax = a;
      max_scale = scales[j];
    }
  }
  std::uint8_t sb[12] = {};
  if (max_scale != 0.0f) {
    const float iscale = -32.0f / max_scale;
    for (int j = 0; j < 16; ++j) {
      int l = static_cast<std::int8_t>(nearest_int(iscale * scales[j]));
      l = std::max(-32, std::min(31, l)) + 32;
      if (j < 8) {
        sb[j] = static_cast<std::uint8_t>(l & 0xf);
      } else {
        sb[j - 8] = static_cast<std::uint8_t>(sb[j - 8] | (l & 0xf) << 4);
      }
      l >>= 4;
      sb[j % 4 + 8] = static_cast<std::uint8_t>(sb[j % 4 + 8] | l << (2 * (j / 4)));
    }
    put_f16(y + 108, 1 / iscale);
  } else {
    put_f16(y + 108, 0.0f);
  }
  const float dall = get_f16(y + 108);
  for (int j = 0; j < 16; ++j) {
    int sc = j < 8 ? sb[j] & 0xf : sb[j - 8] >> 4;
    sc = (sc | ((sb[8 + j % 4] >> (2 * (j / 4))) & 3) << 4) - 32;
    const float d = dall * static_cast<float>(sc);
    if (d == 0.0f) continue;
    for (int i = 0; i < 16; ++i) {
      const int l = nearest_int(x[16 * j + i] / d);
      L[16 * j + i] = static_cast<std::int8_t>(std::max(-4, std::min(3, l)) + 4);
    }
  }
  for (int i = 0; i < 12; ++i) y[96 + i] = static_cast<std::byte>(sb[i]);
  std::uint8_t hmask[32] = {};
  int m = 0;
  unsigned hm = 1;
  for (int j = 0; j < 256; ++j) {
    if (L[j] > 3) {
      hmask[m] = static_cast<std::uint8_t>(hmask[m] | hm);
      L[j] = static_cast<std::int8_t>(L[j] - 4);
    }
    if (++m == 32) {
      m = 0;
      hm <<= 1;
    }
  }
  for (int i = 0; i < 32; ++i) y[i] = static_cast<std::byte>(hmask[i]);
  for (int j = 0; j < 256; j += 128)
    for (int l = 0; l < 32; ++l)
      y[32 + j / 4 + l] = static_cast<std::byte>(L[j + l] | L[j + l + 32] << 2 |
                                                 L[j + l + 64] << 4 | L[j + l + 96] << 6);
}

/// Q4_K (Bits 4) and Q5_K (Bits 5): 8 sub-blocks of 32, a 6-bit scale and min each (d @0, dmin
/// @2, scales @4, then Q5_K's qh[32] @16, qs @16 / @48).
template <int Bits>
LOWBIT_GGML_EXACT_FN inline void quantize_q45_k(const float* x, std::byte* y) {
  LOWBIT_GGML_EXACT_BODY
  constexpr int nmax = (1 << Bits) - 1;
  std::uint8_t L[256], Laux[32];
  float w[32], mins[8], scales[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = Bits == 4 ? make_qkx2(32, nmax, x + 32 * j, w, L + 32 * j, &mins[j], Laux, -1.0f,
                                      0.1f, 20, false)
                          : make_qkx2(32, nmax, x + 32 * j, w, L + 32 * j, &mins[j], Laux, -0.5f,
                                      0.1f, 15, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  std::uint8_t sb[12] = {};
  for (int j = 0; j < 8; ++j) {
    const int ls = std::min(
        63, static_cast<int>(static_cast<std::uint8_t>(nearest_int(inv_scale * scales[j]))));
    const int lm =
        std::min(63, static_cast<int>(static_cast<std::uint8_t>(nearest_int(inv_min * mins[j]))));
    if (j < 4) {
      sb[j] = static_cast<std::uint8_t>(ls);
      sb[j + 4] = static_cast<std::uint8_t>(lm);
    } else {
      sb[j + 4] = static_cast<std::uint8_t>((ls & 0xf) | (lm & 0xf) << 4);
      sb[j - 4] = static_cast<std::uint8_t>(sb[j - 4] | (ls >> 4) << 6);
      sb[j] = static_cast<std::uint8_t>(sb[j] | (lm >> 4) << 6);
    }
  }
  put_f16(y, max_scale / 63.0f);
  put_f16(y + 2, max_min / 63.0f);
  for (int i = 0; i < 12; ++i) y[4 + i] = static_cast<std::byte>(sb[i]);
  const float dall = get_f16(y), mall = get_f16(y + 2);
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    scale_min_k4(j, y + 4, sc, m);
    const float d = dall * static_cast<float>(sc);
    if (d == 0.0f) continue;
    const float dm = mall * static_cast<float>(m);
    for (int i = 0; i < 32; ++i) {
      const int l = nearest_int((x[32 * j + i] + dm) / d);
      L[32 * j + i] = static_cast<std::uint8_t>(std::max(0, std::min(nmax, l)));
    }
  }
  if constexpr (Bits == 4) {
    for (int j = 0; j < 256; j += 64)
      for (int l = 0; l < 32; ++l)
        y[16 + j / 2 + l] = static_cast<std::byte>(L[j + l] | L[j + l + 32] << 4);
  } else {
    std::uint8_t qh[32] = {};
    unsigned m1 = 1, m2 = 2;
    for (int n = 0; n < 256; n += 64) {
      for (int j = 0; j < 32; ++j) {
        int l1 = L[n + j], l2 = L[n + j + 32];
        if (l1 > 15) {
          l1 -= 16;
          qh[j] = static_cast<std::uint8_t>(qh[j] | m1);
        }
        if (l2 > 15) {
          l2 -= 16;
          qh[j] = static_cast<std::uint8_t>(qh[j] | m2);
        }
        y[48 + n / 2 + j] = static_cast<std::byte>(l1 | l2 << 4);
      }
      m1 <<= 2;
      m2 <<= 2;
    }
    for (int j = 0; j < 32; ++j) y[16 + j] = static_cast<std::byte>(qh[j]);
  }
}

/// Q6_K: 16 sub-blocks of 16, 6-bit codes (4 low bits in ql, 2 high in qh), int8 scales (ql @0,
/// qh @128, scales @192, d @208).
LOWBIT_GGML_EXACT_FN inline void quantize_q6_k(const float* x, std::byte* y) {
  LOWBIT_GGML_EXACT_BODY
  std::int8_t L[256];
  float scales[16];
  float max_scale = 0, max_abs = 0;
  for (int ib = 0; ib < 16; ++ib) {
    scales[ib] = make_qx(16, 32, x + 16 * ib, L + 16 * ib);
    const float a = std::fabs(scales[ib]);
    if (a > max_abs) {
      max_abs = a;
      max_scale = scales[ib];
    }
  }
  if (max_abs < kGroupMaxEps) {
    for (int i = 0; i < 210; ++i) y[i] = std::byte{0};
    return;
  }
  const float iscale = -128.0f / max_scale;
  put_f16(y + 208, 1 / iscale);
  std::int8_t sc[16];
  for (int ib = 0; ib < 16; ++ib) {
    sc[ib] = static_cast<std::int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    y[192 + ib] = static_cast<std::byte>(static_cast<std::uint8_t>(sc[ib]));
  }
  const float dall = get_f16(y + 208);
  for (int j = 0; j < 16; ++j) {
    const float d = dall * static_cast<float>(sc[j]);
    if (d == 0.0f) continue;
    for (int i = 0; i < 16; ++i) {
      const int l = nearest_int(x[16 * j + i] / d);
      L[16 * j + i] = static_cast<std::int8_t>(std::max(-32, std::min(31, l)) + 32);
    }
  }
  for (int j = 0; j < 256; j += 128) {
    for (int l = 0; l < 32; ++l) {
      const int q1 = L[j + l] & 0xf, q2 = L[j + l + 32] & 0xf;
      const int q3 = L[j + l + 64] & 0xf, q4 = L[j + l + 96] & 0xf;
      y[j / 2 + l] = static_cast<std::byte>(q1 | q3 << 4);
      y[j / 2 + l + 32] = static_cast<std::byte>(q2 | q4 << 4);
      y[128 + j / 4 + l] =
          static_cast<std::byte>((L[j + l] >> 4) | (L[j + l + 32] >> 4) << 2 |
                                 (L[j + l + 64] >> 4) << 4 | (L[j + l + 96] >> 4) << 6);
    }
  }
}

/// `(int)lroundf(v) + 1` as glibc on x86-64 gives it: half away from zero, and LONG_MIN for
/// ±inf/NaN, whose + 1 narrows to 1 (the zero trit).
inline int trit_x86(float v) noexcept {
  if (!(std::fabs(v) < 9.2e18f)) return 1;
  return static_cast<int>(std::lround(v)) + 1;
}

/// TQ1_0 (qs[48] @0, qh[4] @48, d @52) and TQ2_0 (qs[64] @0, d @64): d = fp16(absmax), trits
/// lroundf(x/d) + 1; TQ1_0 packs 5 trits per byte (first trit most significant, stored as
/// ceil(v·256/243)) and 4 in each qh byte; TQ2_0 packs 4 two-bit codes per byte.
/// A TQ1_0 or TQ2_0 block of trits t[256] (0, 1, 2 for -d, 0, +d) and scale d.
inline void put_tq(Type t, const int* trit, f16 d, std::byte* y) noexcept {
  auto pack5 = [](int v) { return static_cast<std::byte>((v * 256 + 242) / 243); };
  if (t == Type::TQ2_0) {
    put_f16_bits(y + 64, d);
    for (int j = 0; j < 64; j += 32)
      for (int m = 0; m < 32; ++m) {
        int q = 0;
        for (int n = 0; n < 4; ++n) q += (trit[j * 4 + m + n * 32] & 3) << (2 * n);
        y[j + m] = static_cast<std::byte>(q);
      }
    return;
  }
  put_f16_bits(y + 52, d);
  for (int m = 0; m < 32; ++m) {  // bytes 0..31: values m + 32n, n < 5
    int q = 0;
    for (int n = 0; n < 5; ++n) q = (q * 3 + trit[m + n * 32]) & 0xff;
    y[m] = pack5(q);
  }
  for (int m = 0; m < 16; ++m) {  // bytes 32..47: values 160 + m + 16n
    int q = 0;
    for (int n = 0; n < 5; ++n) q = (q * 3 + trit[160 + m + n * 16]) & 0xff;
    y[32 + m] = pack5(q);
  }
  for (int j = 0; j < 4; ++j) {  // qh: values 240 + j + 4m, m < 4, then a zero trit
    int q = 0;
    for (int m = 0; m < 4; ++m) q = (q * 3 + trit[240 + j + 4 * m]) & 0xff;
    y[48 + j] = pack5((q * 3) & 0xff);
  }
}

inline void quantize_tq(Type t, const float* x, std::byte* y) noexcept {
  float amax = 0.0f;
  for (int j = 0; j < 256; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float d = amax;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int trit[256];
  for (int k = 0; k < 256; ++k) trit[k] = trit_x86(x[k] * id);
  put_tq(t, trit, f16(d), y);
}

/// MXFP4's E2M1 values, doubled (ggml's kvalues_mxfp4), and the E8M0 scale halved.
inline constexpr std::int8_t kMxfp4Values[16] = {0, 1,  2,  3,  4,  6,  8,  12,
                                                 0, -1, -2, -3, -4, -6, -8, -12};
inline float e8m0_half(int e) noexcept {
  const std::uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<std::uint32_t>(e - 1) << 23;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// MXFP4 (e @0, qs[16] @1): e = floor(log2 amax) - 2 + 127 (as x86-64 narrows it), each value
/// the first nearest of kMxfp4Values·2^(e-128).
LOWBIT_GGML_EXACT_FN inline void quantize_mxfp4(const float* x, std::byte* y) {
  LOWBIT_GGML_EXACT_BODY
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j)
    if (amax < std::fabs(x[j])) amax = std::fabs(x[j]);
  const int e = amax > 0.0f
                    ? static_cast<std::uint8_t>(to_code_x86(std::floor(std::log2(amax)) - 2 + 127))
                    : 0;
  const float d = e8m0_half(e);
  y[0] = static_cast<std::byte>(e);
  auto best = [&](float v) {
    int bi = 0;
    float be = std::fabs(static_cast<float>(kMxfp4Values[0]) * d - v);
    for (int i = 1; i < 16; ++i) {
      const float err = std::fabs(static_cast<float>(kMxfp4Values[i]) * d - v);
      if (err < be) {
        bi = i;
        be = err;
      }
    }
    return bi;
  };
  for (int j = 0; j < 16; ++j) y[1 + j] = static_cast<std::byte>(best(x[j]) | best(x[16 + j]) << 4);
}

/// IQ4_NL's non-linear levels (kvalues_iq4nl).
inline constexpr std::int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                                 1,    13,   25,  38,  53,  69,  89,  113};

/// ggml's best_index_int8: the nearest of n sorted levels (the upper one on a tie).
inline int best_index_int8(int n, const std::int8_t* val, float x) noexcept {
  if (x <= static_cast<float>(val[0])) return 0;
  if (x >= static_cast<float>(val[n - 1])) return n - 1;
  int ml = 0, mu = n - 1;
  while (mu - ml > 1) {
    const int mav = (ml + mu) / 2;
    if (x < static_cast<float>(val[mav])) {
      mu = mav;
    } else {
      ml = mav;
    }
  }
  return x - static_cast<float>(val[mu - 1]) < static_cast<float>(val[mu]) - x ? mu - 1 : mu;
}

/// IQ4_NL's weighted fit of the levels nearest id·x (weights x²): Σw·q·x and Σw·q², and the
/// levels' indices in L when L is not null (both IQ4_NL quantizers, in ggml's order).
LOWBIT_GGML_EXACT_FN inline void iq4_nl_fit(const float* x, float id, float& sumqx, float& sumq2,
                                            std::uint8_t* L) {
  LOWBIT_GGML_EXACT_BODY
  sumqx = 0;
  sumq2 = 0;
  for (int j = 0; j < 32; ++j) {
    const int l = best_index_int8(16, kIq4nlValues, id * x[j]);
    if (L != nullptr) L[j] = static_cast<std::uint8_t>(l);
    const float q = static_cast<float>(kIq4nlValues[l]);
    const float w = x[j] * x[j];
    sumqx += w * q * x[j];
    sumq2 += w * q * q;
  }
}

inline void put_iq4_nl(std::byte* y, float d, const std::uint8_t* L) noexcept {
  put_f16(y, d);
  for (int j = 0; j < 16; ++j) y[2 + j] = static_cast<std::byte>(L[j] | L[16 + j] << 4);
}

/// IQ4_NL (d @0, qs[16] @2), quantize_row_iq4_nl_ref: d = max/-127 for the first assignment to
/// the levels, then the weighted (x²) least-squares scale, no search. L carries over from the
/// previous block of the same call for a block with max|x| < 1e-15, whose codes ggml never
/// writes; lowbit starts a call with zeros there.
LOWBIT_GGML_EXACT_FN inline void quantize_iq4_nl(const float* x, std::byte* y, std::uint8_t* L) {
  LOWBIT_GGML_EXACT_BODY
  const float max = signed_max(x, 32);
  float d = 0.0f;
  if (!(std::fabs(max) < kGroupMaxEps)) {
    float sumqx, sumq2;
    iq4_nl_fit(x, 1 / (max / static_cast<float>(kIq4nlValues[0])), sumqx, sumq2, L);
    d = sumq2 > 0 ? sumqx / sumq2 : 0.0f;
  }
  put_iq4_nl(y, d, L);
}

/// IQ4_NL as llama-quantize makes it (ggml_quantize_chunk without an importance matrix:
/// quantize_row_iq4_nl_impl with ntry = 7): weights x², the first assignment from d = max/127,
/// then 15 trial inverse scales (itry - 127)/max, itry = -7..7, keeping the best weighted fit
/// (Σwqx)²/Σwq², and the codes reassigned from the chosen fp32 d. A block with max|x| < 1e-15
/// gets d = 0 and every code the level nearest 0 (index 8).
LOWBIT_GGML_EXACT_FN inline void quantize_iq4_nl_search(const float* x, std::byte* y) {
  LOWBIT_GGML_EXACT_BODY
  const float max = signed_max(x, 32);
  float d = 0.0f;
  if (!(std::fabs(max) < kGroupMaxEps)) {
    float sumqx, sumq2;
    iq4_nl_fit(x, 1 / (-max / static_cast<float>(kIq4nlValues[0])), sumqx, sumq2, nullptr);
    d = sumqx / sumq2;
    float best = d * sumqx;
    for (int itry = -7; itry <= 7; ++itry) {
      iq4_nl_fit(x, static_cast<float>(itry + kIq4nlValues[0]) / max, sumqx, sumq2, nullptr);
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
  }
  std::uint8_t L[32];
  const float id = d != 0.0f ? 1 / d : 0.0f;
  for (int j = 0; j < 32; ++j)
    L[j] = static_cast<std::uint8_t>(best_index_int8(16, kIq4nlValues, id * x[j]));
  put_iq4_nl(y, d, L);
}

/// A block as ggml's dequantizer reads it. Value j is scale[g]·level[j] with g = j / group, and,
/// for the types with a min (Q4_1, Q5_1, Q2_K, Q4_K, Q5_K), that product rounded, plus
/// offset[g]. Every dequantize_row_<type> has this form: its scales are d, or d times an
/// integer sub-block scale formed first (d·sc, exact in fp32: ≤ 11 + 8 significant bits); its
/// mins enter as `… - dmin·m`, and a - b is a + (-b) in IEEE arithmetic, signed zeros
/// included. So lowbit's schemes (quant/ggml_schemes.hpp) take these fields over unchanged.
struct BlockFields {
  int group = 32;           // values per scale: 16, 32 or 256
  bool has_offset = false;  // a min per group (offset = -dmin·m, or Q4_1/Q5_1's m)
  int level[256] = {};      // the integer ggml multiplies: q - 8, q - 16, int8 q, K[q], t - 1, …
  float scale[16] = {};
  float offset[16] = {};
};

/// The fields of block b of type t (t must have a codec; QK values).
inline void block_fields(Type t, const std::byte* b, BlockFields& f) noexcept {
  auto u8 = [&](int i) { return std::to_integer<int>(b[i]); };
  switch (t) {
    case Type::Q8_0:
      f.group = 32;
      f.scale[0] = get_f16(b);
      for (int j = 0; j < 32; ++j) f.level[j] = static_cast<std::int8_t>(u8(2 + j));
      return;
    case Type::Q4_0:
    case Type::Q5_0:
    case Type::Q4_1:
    case Type::Q5_1: {
      const bool five = t == Type::Q5_0 || t == Type::Q5_1;
      f.group = 32;
      f.has_offset = t == Type::Q4_1 || t == Type::Q5_1;
      f.scale[0] = get_f16(b);
      if (f.has_offset) f.offset[0] = get_f16(b + 2);
      const int head = f.has_offset ? 4 : 2;  // bytes before qh (Q5_x) or qs
      const std::uint32_t qh = five ? get_u32(b + head) : 0u;
      const std::byte* qs = b + head + (five ? 4 : 0);
      const int sub = f.has_offset ? 0 : five ? 16 : 8;
      for (int j = 0; j < 32; ++j) f.level[j] = nibble_code(qs, qh, j) - sub;
      return;
    }
    case Type::IQ4_NL:
    case Type::MXFP4: {
      const bool mx = t == Type::MXFP4;
      const std::int8_t* kv = mx ? kMxfp4Values : kIq4nlValues;
      f.group = 32;
      f.scale[0] = mx ? e8m0_half(u8(0)) : get_f16(b);
      const int head = mx ? 1 : 2;
      for (int j = 0; j < 16; ++j) {
        f.level[j] = kv[u8(head + j) & 0xf];
        f.level[j + 16] = kv[u8(head + j) >> 4];
      }
      return;
    }
    case Type::Q2_K: {  // scales @0, qs @16, d @80, dmin @82; sub-blocks of 16 in value order
      f.group = 16;
      f.has_offset = true;
      const float d = get_f16(b + 80), dmin = get_f16(b + 82);
      int is = 0;
      for (int n = 0; n < 256; n += 128)
        for (int shift = 0; shift < 8; shift += 2)
          for (int half = 0; half < 2; ++half, ++is) {
            f.scale[is] = d * static_cast<float>(u8(is) & 0xf);
            f.offset[is] = -(dmin * static_cast<float>(u8(is) >> 4));
            for (int l = 0; l < 16; ++l)
              f.level[16 * is + l] = (u8(16 + n / 4 + 16 * half + l) >> shift) & 3;
          }
      return;
    }
    case Type::Q3_K: {  // hmask @0, qs @32, scales[12] @96, d @108
      f.group = 16;
      const float d = get_f16(b + 108);
      for (int j = 0; j < 16; ++j) {
        const int lo = j < 8 ? u8(96 + j) & 0xf : u8(96 + j - 8) >> 4;
        f.scale[j] =
            d * static_cast<float>((lo | ((u8(104 + j % 4) >> (2 * (j / 4))) & 3) << 4) - 32);
      }
      int is = 0;
      unsigned m = 1;
      for (int n = 0; n < 256; n += 128)
        for (int shift = 0; shift < 8; shift += 2, m <<= 1)
          for (int half = 0; half < 2; ++half, ++is)
            for (int l = 0; l < 16; ++l) {
              const int k = 16 * half + l;
              f.level[16 * is + l] = ((u8(32 + n / 4 + k) >> shift) & 3) - ((u8(k) & m) ? 0 : 4);
            }
      return;
    }
    case Type::Q4_K:
    case Type::Q5_K: {  // d @0, dmin @2, scales[12] @4, (Q5_K: qh @16), qs
      const bool five = t == Type::Q5_K;
      f.group = 32;
      f.has_offset = true;
      const float d = get_f16(b), dmin = get_f16(b + 2);
      for (int j = 0; j < 8; ++j) {
        int sc, mn;
        scale_min_k4(j, b + 4, sc, mn);
        f.scale[j] = d * static_cast<float>(sc);
        f.offset[j] = -(dmin * static_cast<float>(mn));
      }
      const int ql = five ? 48 : 16;
      for (int j = 0; j < 256; ++j) {  // sub-block pair j / 64: low nibbles, then high nibbles
        const int l = j % 32, pair = j / 64, hi = (j / 32) % 2;
        const int nib = hi ? u8(ql + 32 * pair + l) >> 4 : u8(ql + 32 * pair + l) & 0xf;
        const int bit5 = five ? (u8(16 + l) >> (j / 32)) & 1 : 0;
        f.level[j] = nib | bit5 << 4;
      }
      return;
    }
    case Type::Q6_K: {  // ql @0, qh @128, scales:int8[16] @192, d @208
      f.group = 16;
      const float d = get_f16(b + 208);
      for (int j = 0; j < 16; ++j)
        f.scale[j] = d * static_cast<float>(static_cast<std::int8_t>(u8(192 + j)));
      for (int n = 0; n < 256; n += 128)
        for (int l = 0; l < 32; ++l) {
          const int ql0 = u8(n / 2 + l), ql1 = u8(n / 2 + l + 32), qh = u8(128 + n / 4 + l);
          f.level[n + l] = ((ql0 & 0xf) | (qh & 3) << 4) - 32;
          f.level[n + l + 32] = ((ql1 & 0xf) | ((qh >> 2) & 3) << 4) - 32;
          f.level[n + l + 64] = ((ql0 >> 4) | ((qh >> 4) & 3) << 4) - 32;
          f.level[n + l + 96] = ((ql1 >> 4) | ((qh >> 6) & 3) << 4) - 32;
        }
      return;
    }
    case Type::TQ1_0: {  // qs[48] @0 (5 trits a byte, first most significant), qh[4] @48, d @52
      static constexpr int kPow3[5] = {1, 3, 9, 27, 81};
      auto trit = [](int byte, int n) { return (((byte * kPow3[n]) & 0xff) * 3) >> 8; };
      f.group = 256;
      f.scale[0] = get_f16(b + 52);
      int* y = f.level;
      for (int n = 0; n < 5; ++n)
        for (int m = 0; m < 32; ++m) *y++ = trit(u8(m), n) - 1;
      for (int n = 0; n < 5; ++n)
        for (int m = 0; m < 16; ++m) *y++ = trit(u8(32 + m), n) - 1;
      for (int n = 0; n < 4; ++n)
        for (int j = 0; j < 4; ++j) *y++ = trit(u8(48 + j), n) - 1;
      return;
    }
    case Type::TQ2_0: {  // qs[64] @0 (per 128: byte m holds m, m + 32, m + 64, m + 96), d @64
      f.group = 256;
      f.scale[0] = get_f16(b + 64);
      for (int j = 0; j < 256; ++j)
        f.level[j] = ((u8(64 * (j / 128) / 2 + j % 32) >> (2 * ((j % 128) / 32))) & 3) - 1;
      return;
    }
    default:
      return;  // callers check has_codec first
  }
}

inline bool has_codec(Type t) noexcept {
  return t == Type::Q8_0 || t == Type::Q4_0 || t == Type::Q4_1 || t == Type::Q5_0 ||
         t == Type::Q5_1 || t == Type::Q2_K || t == Type::Q3_K || t == Type::Q4_K ||
         t == Type::Q5_K || t == Type::Q6_K || t == Type::TQ1_0 || t == Type::TQ2_0 ||
         t == Type::MXFP4 || t == Type::IQ4_NL;
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
  std::uint8_t iq4_codes[32] = {};  // IQ4_NL's carried-over codes (see quantize_iq4_nl)
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
      case Type::Q2_K:
        detail::quantize_q2_k(xb, yb);
        break;
      case Type::Q3_K:
        detail::quantize_q3_k(xb, yb);
        break;
      case Type::Q4_K:
        detail::quantize_q45_k<4>(xb, yb);
        break;
      case Type::Q5_K:
        detail::quantize_q45_k<5>(xb, yb);
        break;
      case Type::Q6_K:
        detail::quantize_q6_k(xb, yb);
        break;
      case Type::TQ1_0:
      case Type::TQ2_0:
        detail::quantize_tq(t, xb, yb);
        break;
      case Type::MXFP4:
        detail::quantize_mxfp4(xb, yb);
        break;
      case Type::IQ4_NL:
        detail::quantize_iq4_nl(xb, yb, iq4_codes);
        break;
      default:
        break;
    }
  }
}

/// What llama-quantize writes without an importance matrix (ggml_quantize_chunk): quantize_row's
/// bytes for every type but IQ4_NL, whose chunk path searches 15 more scales per block
/// (detail::quantize_iq4_nl_search). n values (a multiple of the block) into n / block blocks.
inline void quantize_chunk(Type t, const float* x, Index n, std::byte* out) {
  if (t != Type::IQ4_NL) {
    quantize_row(t, x, n, out);
    return;
  }
  const TypeInfo info = detail::checked_info(t, n, "ggml::quantize_chunk");
  for (Index b = 0; b < n / info.block; ++b)
    detail::quantize_iq4_nl_search(x + b * info.block, out + b * info.bytes);
}

/// ggml's dequantize_row_<t>: n / block blocks at in → n floats.
inline void dequantize_row(Type t, const std::byte* in, Index n, float* y) {
  const TypeInfo info = detail::checked_info(t, n, "ggml::dequantize_row");
  detail::BlockFields f;
  for (Index b = 0; b < n / info.block; ++b) {
    detail::block_fields(t, in + b * info.bytes, f);
    float* yb = y + b * info.block;
    for (int j = 0; j < info.block; ++j) {
      const float p = f.scale[j / f.group] * static_cast<float>(f.level[j]);
      yb[j] = f.has_offset ? lowbit::detail::no_contract(p) + f.offset[j / f.group] : p;
    }
  }
}

}  // namespace lowbit::ggml
