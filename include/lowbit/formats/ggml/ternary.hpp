// SPDX-License-Identifier: Apache-2.0
// lowbit/formats/ggml/ternary.hpp: TQ1_0 and TQ2_0, ternary blocks of 256 with an fp16 d.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "lowbit/formats/ggml/common.hpp"

namespace lowbit::ggml::detail {

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

inline void fields_tq1_0(const std::byte* b, BlockFields& f) noexcept {
  // qs[48] @0 (5 trits a byte, first most significant), qh[4] @48, d @52
  auto u8 = [&](int i) { return std::to_integer<int>(b[i]); };
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
}

inline void fields_tq2_0(const std::byte* b, BlockFields& f) noexcept {
  // qs[64] @0 (per 128: byte m holds m, m + 32, m + 64, m + 96), d @64
  auto u8 = [&](int i) { return std::to_integer<int>(b[i]); };
  f.group = 256;
  f.scale[0] = get_f16(b + 64);
  for (int j = 0; j < 256; ++j)
    f.level[j] = ((u8(64 * (j / 128) / 2 + j % 32) >> (2 * ((j % 128) / 32))) & 3) - 1;
}

}  // namespace lowbit::ggml::detail
