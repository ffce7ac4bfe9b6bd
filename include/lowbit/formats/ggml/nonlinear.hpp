// SPDX-License-Identifier: Apache-2.0
// lowbit/formats/ggml/nonlinear.hpp: the types whose 16 levels are not evenly spaced: IQ4_NL
// (kvalues_iq4nl, an fp16 d) and MXFP4 (E2M1 values, an E8M0 scale), 32 values per block, two
// 4-bit codes a byte (element j low, j + 16 high).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "lowbit/formats/ggml/common.hpp"

namespace lowbit::ggml::detail {

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

/// IQ4_NL (kMx false: fp16 d @0, codes @2) and MXFP4 (kMx: E8M0 e @0, codes @1).
template <bool kMx>
void fields_nl(const std::byte* b, BlockFields& f) noexcept {
  auto u8 = [&](int i) { return std::to_integer<int>(b[i]); };
  const std::int8_t* kv = kMx ? kMxfp4Values : kIq4nlValues;
  f.group = 32;
  f.scale[0] = kMx ? e8m0_half(u8(0)) : get_f16(b);
  const int head = kMx ? 1 : 2;
  for (int j = 0; j < 16; ++j) {
    f.level[j] = kv[u8(head + j) & 0xf];
    f.level[j + 16] = kv[u8(head + j) >> 4];
  }
}

}  // namespace lowbit::ggml::detail
