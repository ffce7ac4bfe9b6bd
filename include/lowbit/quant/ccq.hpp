// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/ccq.hpp: the CCQ weight formats of Baidu's FastDeploy,
// decoded exactly as FastDeploy's kernels (custom_ops/gpu_ops/cutlass_extensions/gemm/threadblock/
// wint2x_unzip.h) decode them, in lowbit's row-major orientation: a lowbit row (one output) is a
// FastDeploy column n, and its K inputs run along the row.
//
// # WINT2 (CcqWint2; PerGroup<128>; 2 + 8/128 = 2.0625 bits per weight plus 80 bits per row)
// A byte b holds 4 consecutive weights of a row. With the row's code scale cs and code zero point
// zp (fp32) it becomes a 15-bit code word
//   c = (int) floor(fl(fl(fl(b·cs) + zp) + 0.5))        (fp32, each operation rounded: no FMA)
// and weight i (0..3) of the byte is
//   v_i = ((c >> (9 - 3i)) & 63) - 32,    ŵ = v_i · fl(local · super),
// local the 4-bit scale of the weight's 64-input group (the high nibble of the 128-group's byte
// for its first 64 inputs, the low nibble for the second) and super the row's bf16 scale. The four
// 6-bit windows of c overlap by 3 bits: consecutive weights share bits (the convolutional code),
// and only the 256 words of the row's arithmetic progression are reachable. lowbit's codes are the
// byte's 2-bit pieces, weight 4j + i holding bits 2i..2i+1 of byte j, so the Plain layout's bytes
// are exactly FastDeploy's bytes. FastDeploy rounds ŵ to its activation type (bf16/fp16); lowbit
// keeps the fp32 product. Rows must be whole 64-input groups (cols % 64 == 0; the last 128-group
// of a row may be 64 wide, using the high nibble). Row parameters are checked on load: finite,
// and every code word inside 0..32767.
//
// # WINT2.5 (CcqWint25; PerGroup<64>; exactly 2.5 bits per weight in FastDeploy's words)
// 64 inputs are ten 16-bit words. Words 0..8 hold 7 weights each as 3-bit windows at bit shifts
// 13, 11, 9 | 6, 4, 2, 0; word 9 holds weight 63 at shift 13 and the 13-bit local scale in its
// low bits:
//   v = ((word >> s) & 7) - 4,    ŵ = v · fl(local · super),  super the row's bf16 scale.
// The windows 13/11/9 overlap by one bit, and so do 6/4/2/0: each word is two bit-shift chains
// (3 and 4 weights; L = 3, 2 new bits a step), where a weight's top bit is the previous weight's
// low bit. lowbit's code of a weight is its 3-bit window (v + 4), so any code sequence decodes;
// only sequences that keep the chains' shared bits equal are WINT2.5 streams
// (chain_consistent; the encoder produces them, the word layout refuses others). The Plain
// layout stores the 3-bit windows (3 bits per weight, redundant by the shared bits; the format
// itself is kFormatBitsPerWeight = 2.5 with the local scale).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/quant/affine.hpp"

namespace lowbit {

/// CCQ WINT2 (see the top of this file).
struct CcqWint2 {
  using Code = std::uint8_t;  // a 2-bit piece of a code byte
  struct Params {
    std::uint8_t local = 0;  // two 4-bit local scales: high nibble = first 64 inputs
  };
  struct RowParams {
    float code_scale = 0.0f;
    float code_zp = 0.0f;
    bf16 super;
  };

  static constexpr int kCodeBits = 2;
  static constexpr int kParamBits = 8;
  static constexpr int kParamBytes = 1;
  static constexpr int kRowParamBits = 80;
  static constexpr int kRowParamBytes = 10;
  static constexpr std::uint32_t kMinCode = 0;
  static constexpr std::uint32_t kMaxCode = 3;
  static constexpr int kGroup = 128;      // a Params covers 128 inputs
  static constexpr int kLocalGroup = 64;  // a local scale covers 64
  static constexpr int kShift[4] = {9, 6, 3, 0};

  static std::string name() { return "ccq_wint2"; }
  static constexpr SchemeDescriptor descriptor() { return {6, 2, 0, ScaleStorage<bf16>::kId}; }

  static bool params_finite(const Params&) noexcept { return true; }
  static void write_params(const Params& p, std::byte* out) noexcept {
    detail::store_le(out, p.local);
  }
  static Params read_params(const std::byte* in) noexcept {
    return Params{detail::load_le<std::uint8_t>(in)};
  }
  static const char* check_params(const Params&) noexcept { return nullptr; }

  static void write_row_params(const RowParams& p, std::byte* out) noexcept {
    detail::store_le(out, p.code_scale);
    detail::store_le(out + 4, p.code_zp);
    detail::store_le(out + 8, p.super);
  }
  static RowParams read_row_params(const std::byte* in) noexcept {
    return RowParams{detail::load_le<float>(in), detail::load_le<float>(in + 4),
                     detail::load_le<bf16>(in + 8)};
  }
  /// nullptr when the row parameters decode: finite, every code word in 0..32767.
  static const char* check_row_params(const RowParams& p) noexcept {
    if (!std::isfinite(p.code_scale) || !std::isfinite(p.code_zp) ||
        !std::isfinite(static_cast<float>(p.super)))
      return "CCQ WINT2 code scale, zero point or super scale is not finite";
    for (int b : {0, 255}) {
      const float t = word_float(static_cast<std::uint8_t>(b), p.code_scale, p.code_zp);
      if (!(t >= 0.0f && t < 32768.0f)) return "CCQ WINT2 code words leave 0..32767";
    }
    return nullptr;
  }

  /// fl(fl(fl(b·cs) + zp) + 0.5), before the floor.
  static float word_float(std::uint8_t b, float cs, float zp) noexcept {
    const float prod = detail::no_contract(static_cast<float>(b) * cs);
    const float sum = detail::no_contract(prod + zp);
    return sum + 0.5f;
  }
  /// The 15-bit code word of byte b (row parameters that pass check_row_params).
  static std::int32_t word(std::uint8_t b, const RowParams& p) noexcept {
    return static_cast<std::int32_t>(std::floor(word_float(b, p.code_scale, p.code_zp)));
  }
  /// Weight i (0..3) of a code word: v_i in -32..31.
  static constexpr int value(std::int32_t word, int i) noexcept {
    return ((word >> kShift[i]) & 63) - 32;
  }
  /// The local scale of input k of a group's parameters (k counted from the 128-group start).
  static int local(const Params& p, Index k) noexcept {
    return k < kLocalGroup ? (p.local >> 4) : (p.local & 15);
  }
  /// fl(local · super): the scale of a 64-input group.
  static float group_scale(int local, const RowParams& p) noexcept {
    return static_cast<float>(local) * static_cast<float>(p.super);
  }

  /// Throws Error unless a 128-group of n inputs decodes (n = 128, or 64 for a row's last).
  static void check_group(Index n) {
    if (n != 128 && n != 64)
      detail::fail("ccq_wint2: a group of ", n, " inputs; rows must be whole 64-input groups");
  }

  /// Weights per float scale on the integer path (a local scale's 64).
  static constexpr bool kIntegerPath = true;
  static constexpr Index kIntSubgroup = kLocalGroup;
  /// The integer path: v of every weight and the scale of every 64 (ŵ = scales[k / 64]·v_k).
  static void decode_group_int(std::span<const std::uint8_t> codes, const RowParams& rp,
                               const Params& p, std::span<std::int32_t> vals,
                               std::span<float> scales) noexcept {
    for (std::size_t j = 0; 4 * j < codes.size(); ++j) {
      std::uint8_t b = 0;
      for (int i = 0; i < 4; ++i)
        b = static_cast<std::uint8_t>(
            b | ((codes[4 * j + static_cast<std::size_t>(i)] & 3u) << (2 * i)));
      const std::int32_t c = word(b, rp);
      for (int i = 0; i < 4; ++i) vals[4 * j + static_cast<std::size_t>(i)] = value(c, i);
    }
    for (std::size_t h = 0; h * kLocalGroup < codes.size(); ++h)
      scales[h] = group_scale(local(p, static_cast<Index>(h * kLocalGroup)), rp);
  }

  /// ŵ of a group's n weights from their codes (check_group(n) must hold).
  static void decode_group(std::span<const std::uint8_t> codes, const RowParams& rp,
                           const Params& p, std::span<float> out) noexcept {
    for (std::size_t j = 0; 4 * j < codes.size(); ++j) {
      std::uint8_t b = 0;
      for (int i = 0; i < 4; ++i)
        b = static_cast<std::uint8_t>(
            b | ((codes[4 * j + static_cast<std::size_t>(i)] & 3u) << (2 * i)));
      const std::int32_t c = word(b, rp);
      const float sc = group_scale(local(p, static_cast<Index>(4 * j)), rp);
      for (int i = 0; i < 4; ++i)
        out[4 * j + static_cast<std::size_t>(i)] = static_cast<float>(value(c, i)) * sc;
    }
  }
};

/// CCQ WINT2.5 (see the top of this file).
struct CcqWint25 {
  using Code = std::uint8_t;  // a weight's 3-bit window, v + 4
  struct Params {
    std::uint16_t local = 0;  // 13 bits
  };
  struct RowParams {
    bf16 super;
  };

  static constexpr int kCodeBits = 3;
  static constexpr int kParamBits = 13;
  static constexpr int kParamBytes = 2;
  static constexpr int kRowParamBits = 16;
  static constexpr int kRowParamBytes = 2;
  static constexpr std::uint32_t kMinCode = 0;
  static constexpr std::uint32_t kMaxCode = 7;
  static constexpr int kGroup = 64;
  static constexpr int kWords = 10;
  static constexpr double kFormatBitsPerWeight = 2.5;
  static constexpr int kShift[7] = {13, 11, 9, 6, 4, 2, 0};
  static constexpr std::uint16_t kMaxLocal = 0x1FFF;

  static std::string name() { return "ccq_wint25"; }
  static constexpr SchemeDescriptor descriptor() { return {6, 3, 1, ScaleStorage<bf16>::kId}; }

  static bool params_finite(const Params&) noexcept { return true; }
  static void write_params(const Params& p, std::byte* out) noexcept {
    detail::store_le(out, p.local);
  }
  static Params read_params(const std::byte* in) noexcept {
    return Params{detail::load_le<std::uint16_t>(in)};
  }
  static const char* check_params(const Params& p) noexcept {
    return p.local <= kMaxLocal ? nullptr : "CCQ WINT2.5 local scale exceeds 13 bits";
  }
  static void write_row_params(const RowParams& p, std::byte* out) noexcept {
    detail::store_le(out, p.super);
  }
  static RowParams read_row_params(const std::byte* in) noexcept {
    return RowParams{detail::load_le<bf16>(in)};
  }
  static const char* check_row_params(const RowParams& p) noexcept {
    return std::isfinite(static_cast<float>(p.super)) ? nullptr
                                                      : "CCQ WINT2.5 super scale is not finite";
  }

  /// fl(local · super): the scale of a group.
  static float group_scale(const Params& p, const RowParams& rp) noexcept {
    return static_cast<float>(p.local) * static_cast<float>(rp.super);
  }
  /// Whether weight i of a group starts a chain (its top bit is its own).
  static constexpr bool chain_start(int i) noexcept { return i == 63 || i % 7 == 0 || i % 7 == 3; }
  /// Whether a group's 64 windows keep every chain's shared bits equal.
  static bool chain_consistent(std::span<const std::uint8_t> codes) noexcept {
    for (int i = 1; i < kGroup; ++i)
      if (!chain_start(i) && ((codes[static_cast<std::size_t>(i)] >> 2) & 1u) !=
                                 (codes[static_cast<std::size_t>(i - 1)] & 1u))
        return false;
    return true;
  }
  /// The ten words of a group from its windows (chain_consistent) and local scale.
  static std::array<std::uint16_t, kWords> words(std::span<const std::uint8_t> codes,
                                                 const Params& p) noexcept {
    std::array<std::uint16_t, kWords> w{};
    for (int i = 0; i < 63; ++i)
      w[static_cast<std::size_t>(i / 7)] =
          static_cast<std::uint16_t>(w[static_cast<std::size_t>(i / 7)] |
                                     ((codes[static_cast<std::size_t>(i)] & 7u) << kShift[i % 7]));
    w[9] = static_cast<std::uint16_t>(((codes[63] & 7u) << 13) | (p.local & kMaxLocal));
    return w;
  }

  static void check_group(Index n) {
    if (n != kGroup)
      detail::fail("ccq_wint25: a group of ", n, " inputs; rows must be whole 64-input groups");
  }

  static constexpr bool kIntegerPath = true;
  static constexpr Index kIntSubgroup = 0;
  static void decode_group_int(std::span<const std::uint8_t> codes, const RowParams& rp,
                               const Params& p, std::span<std::int32_t> vals,
                               std::span<float> scales) noexcept {
    for (std::size_t i = 0; i < codes.size(); ++i)
      vals[i] = static_cast<std::int32_t>(codes[i] & 7u) - 4;
    scales[0] = group_scale(p, rp);
  }
  static void decode_group(std::span<const std::uint8_t> codes, const RowParams& rp,
                           const Params& p, std::span<float> out) noexcept {
    const float sc = group_scale(p, rp);
    for (std::size_t i = 0; i < codes.size(); ++i)
      out[i] = static_cast<float>(static_cast<int>(codes[i] & 7u) - 4) * sc;
  }
};

}  // namespace lowbit
