// SPDX-License-Identifier: Apache-2.0
// lowbit/formats/ggml/kquants.hpp: the k-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: super-blocks of 256
// with 6-bit or 4-bit sub-block scales (the layouts are ggml-common.h's structs, the bit orders
// what ggml's dequantizers read). Their reference quantizers search their scales (make_qkx2: a
// weighted least-squares fit over a grid of trial scales; make_qx / make_q3: the same with
// weights x², iterated): each is reproduced step for step, since any change of order changes
// bytes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "lowbit/formats/ggml/common.hpp"

namespace lowbit::ggml::detail {

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

inline void fields_q2_k(const std::byte* b, BlockFields& f) noexcept {
  // scales @0, qs @16, d @80, dmin @82; sub-blocks of 16 in value order
  auto u8 = [&](int i) { return std::to_integer<int>(b[i]); };
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
}

inline void fields_q3_k(const std::byte* b, BlockFields& f) noexcept {
  // hmask @0, qs @32, scales[12] @96, d @108
  auto u8 = [&](int i) { return std::to_integer<int>(b[i]); };
  f.group = 16;
  const float d = get_f16(b + 108);
  for (int j = 0; j < 16; ++j) {
    const int lo = j < 8 ? u8(96 + j) & 0xf : u8(96 + j - 8) >> 4;
    f.scale[j] = d * static_cast<float>((lo | ((u8(104 + j % 4) >> (2 * (j / 4))) & 3) << 4) - 32);
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
}

/// Q4_K and Q5_K: d @0, dmin @2, scales[12] @4, (Q5_K: qh @16), qs.
template <int Bits>
void fields_q45_k(const std::byte* b, BlockFields& f) noexcept {
  auto u8 = [&](int i) { return std::to_integer<int>(b[i]); };
  constexpr bool kFive = Bits == 5;
  f.group = 32;
  f.has_offset = true;
  const float d = get_f16(b), dmin = get_f16(b + 2);
  for (int j = 0; j < 8; ++j) {
    int sc, mn;
    scale_min_k4(j, b + 4, sc, mn);
    f.scale[j] = d * static_cast<float>(sc);
    f.offset[j] = -(dmin * static_cast<float>(mn));
  }
  const int ql = kFive ? 48 : 16;
  for (int j = 0; j < 256; ++j) {  // sub-block pair j / 64: low nibbles, then high nibbles
    const int l = j % 32, pair = j / 64, hi = (j / 32) % 2;
    const int nib = hi ? u8(ql + 32 * pair + l) >> 4 : u8(ql + 32 * pair + l) & 0xf;
    const int bit5 = kFive ? (u8(16 + l) >> (j / 32)) & 1 : 0;
    f.level[j] = nib | bit5 << 4;
  }
}

inline void fields_q6_k(const std::byte* b, BlockFields& f) noexcept {
  // ql @0, qh @128, scales:int8[16] @192, d @208
  auto u8 = [&](int i) { return std::to_integer<int>(b[i]); };
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
}

}  // namespace lowbit::ggml::detail
