// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/x86/seq_tile_x86.hpp: the fused int8 kernels of sequence-coded weights: the
// bit-shift trellis with lowbit's codes CodeMix7 and CodeMx2 (ConvCode<16, 2, 1, CodeMix7>,
// ConvCode<16, 2, 2, CodeMx2>, quant/conv_code.hpp) and CCQ WINT2 (CcqWint2, quant/ccq.hpp) in
// the SeqTiles<16> layout, CCQ WINT2.5 (CcqWint25) in Wint25Words<16> (pack/seq_tiles.hpp), the
// lookup codes (ConvCode<16, 2, 1, CodeTap7>, ConvCode<8, 2, 1, CodeLut7>) in SeqTiles<16, 64>,
// decoded in registers, 16 output rows per call, never into a weight buffer.
//
// Every kernel computes, for each of MR activation rows t and each of the tile's 16 rows r, per
// subgroup j (the weights of one float scale) in order of k,
//   idot = Σ_k (v_rk + bias)·q_tk − bias·Σ_k q_tk       exact int32 (u8 × s8 dot products)
//   acc  = fma(float(idot), scale_rj, acc)              one rounding, as ref::gemm_int8
// so the result equals the reference bit for bit (the driver is gemm/gemm.hpp's run_seq_tiles,
// the oracle kernels/reference/sequence.hpp).
//
// # Trellis (CodeMix7, L = 16, K = 2): per pair of stream words u, u+1 of 16 rows (one 512-bit
//   load: 32 word lanes), the 8 states of each word are 16-bit funnel shifts of the word and its
//   predecessor (vpshrdw; the group's first word takes the group's last, tail-biting), hashed in
//   16-bit lanes (2 vpmullw, 1 shift, 1 xor), their top 7 bits picked into byte pairs
//   (vpmultishiftqb) and packed 4 weights a row per 32-bit lane (vpermt2w), looked up in the
//   128-entry table of value + 128 (vpermi2b) and multiplied by vpdpbusd. AVX2: the same states
//   with shift/or pairs, the table through 4 vpshufb of its negative half (the table is odd: T[127
//   − i] = −T[i]), and int16 vpmaddwd. CodeMx2: one state per two weights, one vpmullw and an
//   xorshift per state, both indices picked by one vpmultishiftqb.
// # WINT2: per code byte of 16 rows, the code word floor(fl(fl(fl(b·cs) + zp) + 0.5)) in fp32
//   lanes (an empty asm statement keeps each product and sum rounded: no FMA contraction), then
//   its four 6-bit windows as the bytes of the lane (vpmultishiftqb; AVX2: shifts and masks),
//   v + 32 multiplied by vpdpbusd (AVX2: vpmaddubsw, exact since 63·128·2 < 2^15).
// # WINT2.5: per word of 16 rows two vpmultishiftqb picks of its 3-bit windows into vpdpbusd
//   (AVX2: 16-bit shifts and masks, vpmaddwd).
// # Lookup codes (CodeTap7, CodeLut7): per 64-bit lane of 8 rows, vpmultishiftqb picks each
//   weight's 7-bit index (CodeTap7: two picks merged by vpternlogq), vpermi2b looks the table up,
//   vpdpbusd (AVX2: 16-bit windows, the odd table's four vpshufb, vpmaddwd).
// The fp32 products and sums that must stay rounded go through Vec256/Vec512::rounded
// (kernels/x86/vec_x86.hpp). Requires: AVX2 + FMA; the 512-bit kernels AVX-512 BW + VNNI + VBMI +
// VBMI2.
#pragma once

#if !defined(LOWBIT_KERNELS_SELECT_INCLUDED)
#error "internal header of lowbit/kernels/select.hpp: include lowbit/gemm/gemm.hpp"
#endif

#include <immintrin.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "lowbit/config.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/kernels/seq_tile.hpp"
#include "lowbit/pack/seq_tiles.hpp"
#include "lowbit/quant/ccq.hpp"
#include "lowbit/quant/conv_code.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/simd/isa.hpp"

namespace lowbit::kernels {

namespace seq {
/// A 128-entry int8 code table (CodeMix7's, CodeTap7's, CodeLut7's) as value + 128: unsigned
/// bytes for vpdpbusd.
template <class Code>
inline constexpr std::array<std::uint8_t, 128> kBiasedTable = [] {
  std::array<std::uint8_t, 128> t{};
  for (int i = 0; i < 128; ++i)
    t[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(Code::kTable[i] + 128);
  return t;
}();
/// Whether a 128-entry table is odd (the AVX2 lookup, odd_lookup_avx2, relies on it).
template <class Code>
constexpr bool odd_table() {
  for (int i = 0; i < 128; ++i)
    if (Code::kTable[static_cast<std::size_t>(127 - i)] !=
        -Code::kTable[static_cast<std::size_t>(i)])
      return false;
  return true;
}
static_assert(odd_table<CodeMix7>() && odd_table<CodeTap7>() && odd_table<CodeLut7>());

/// Whether Isa runs the 512-bit kernels (VNNI, VBMI and VBMI2 enabled; tags that turn VNNI off,
/// as the tests' avx512bw-no-vnni, run the AVX2 kernels).
template <class Isa>
constexpr bool use_avx512() noexcept {
  if constexpr (std::is_base_of_v<isa::avx512bw, Isa>) {
    return Isa::kVnni && Isa::kVbmi;
  } else {
    return false;
  }
}

/// The lookup codes with fused kernels: ConvCode<L, 2, 1, Code> for these (L, Code).
template <int L, class Code>
inline constexpr bool kLookupTrellis = (L == 16 && std::is_same_v<Code, CodeTap7>) ||
                                       (L == 8 && std::is_same_v<Code, CodeLut7>);

inline std::int32_t load_i32(const void* p) noexcept {
  std::int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
}  // namespace seq

#if LOWBIT_HAS_AVX2
namespace seq {

/// The trellis's hash of 16 states (16-bit lanes) to table indices 0..127.
LOWBIT_INLINE __m256i mix7_index_avx2(__m256i s) {
  __m256i h = _mm256_mullo_epi16(s, _mm256_set1_epi16(static_cast<short>(0x9E37)));
  h = _mm256_xor_si256(h, _mm256_srli_epi16(h, 8));
  h = _mm256_mullo_epi16(h, _mm256_set1_epi16(0x6A09));
  return _mm256_srli_epi16(h, 9);
}

/// The values of 32 table indices (bytes 0..127) of an odd 128-entry int8 table (CodeMix7's,
/// CodeTap7's, CodeLut7's: T[127 − i] = −T[i]) through its first half: m = idx < 64 ? idx :
/// 127 − idx, four 16-entry vpshufb, negated where idx ≥ 64.
LOWBIT_INLINE __m256i odd_lookup_avx2(__m256i idx, const std::int8_t* table) {
  const auto piece = [table](int j) {
    return _mm256_broadcastsi128_si256(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(table + 16 * j)));
  };
  const __m256i neg = _mm256_cmpgt_epi8(idx, _mm256_set1_epi8(63));
  const __m256i m = _mm256_and_si256(_mm256_xor_si256(idx, neg), _mm256_set1_epi8(63));
  const __m256i r0 = _mm256_shuffle_epi8(piece(0), m), r1 = _mm256_shuffle_epi8(piece(1), m);
  const __m256i r2 = _mm256_shuffle_epi8(piece(2), m), r3 = _mm256_shuffle_epi8(piece(3), m);
  const __m256i b4 = _mm256_slli_epi16(m, 3), b5 = _mm256_slli_epi16(m, 2);  // bits 4, 5 → 7
  const __m256i lo = _mm256_blendv_epi8(r0, r1, b4), hi = _mm256_blendv_epi8(r2, r3, b4);
  const __m256i t = _mm256_blendv_epi8(lo, hi, b5);
  return _mm256_sub_epi8(_mm256_xor_si256(t, neg), neg);
}

/// rows {0-3, 8-11} and {4-7, 12-15} (vpunpck order) back to rows 0-7 and 8-15.
LOWBIT_INLINE void unzip_rows(__m256i lo, __m256i hi, __m256i& r0_7, __m256i& r8_15) {
  r0_7 = _mm256_permute2x128_si256(lo, hi, 0x20);
  r8_15 = _mm256_permute2x128_si256(lo, hi, 0x31);
}

/// acc[0..16) = fma(float(idot − bias·xsum), scale, acc) for rows 0-7 (i0) and 8-15 (i1).
LOWBIT_INLINE void flush_avx2(__m256i i0, __m256i i1, std::int32_t bias_xsum, const float* scale,
                              float* acc) {
  const __m256i b = _mm256_set1_epi32(bias_xsum);
  const __m256 f0 = _mm256_cvtepi32_ps(_mm256_sub_epi32(i0, b));
  const __m256 f1 = _mm256_cvtepi32_ps(_mm256_sub_epi32(i1, b));
  _mm256_storeu_ps(acc, _mm256_fmadd_ps(f0, _mm256_loadu_ps(scale), _mm256_loadu_ps(acc)));
  _mm256_storeu_ps(acc + 8,
                   _mm256_fmadd_ps(f1, _mm256_loadu_ps(scale + 8), _mm256_loadu_ps(acc + 8)));
}

}  // namespace seq

namespace seq {
/// The table indices (16-bit lanes, 0..127) of a stream word's 8 weights, 16 rows: CodeMix7
/// (V = 1: the state of weight p is (prev:cur) >> (14 − 2p)) and CodeMx2 (V = 2: the state of
/// step q, weights 2q and 2q + 1, is (prev:cur) >> (12 − 4q)).
LOWBIT_INLINE __m256i funnel_avx2(__m256i cur, __m256i prev, int n) {
  // (prev:cur) >> n, low 16 bits, n = 0..14 (runtime-constant after unrolling).
  return n == 0 ? cur
                : _mm256_or_si256(_mm256_srl_epi16(cur, _mm_cvtsi32_si128(n)),
                                  _mm256_sll_epi16(prev, _mm_cvtsi32_si128(16 - n)));
}
template <class Code>
struct TrellisIdxAvx2;
template <>
struct TrellisIdxAvx2<CodeMix7> {
  static LOWBIT_INLINE void run(__m256i cur, __m256i prev, __m256i idx[8]) {
    for (int p = 0; p < 8; ++p) idx[p] = mix7_index_avx2(funnel_avx2(cur, prev, 14 - 2 * p));
  }
};
template <>
struct TrellisIdxAvx2<CodeMx2> {
  static LOWBIT_INLINE void run(__m256i cur, __m256i prev, __m256i idx[8]) {
    for (int q = 0; q < 4; ++q) {
      __m256i h = _mm256_mullo_epi16(funnel_avx2(cur, prev, 12 - 4 * q),
                                     _mm256_set1_epi16(static_cast<short>(0x9E37)));
      h = _mm256_xor_si256(h, _mm256_srli_epi16(h, 7));
      idx[2 * q] = _mm256_srli_epi16(h, 9);
      idx[2 * q + 1] = _mm256_and_si256(_mm256_srli_epi16(h, 2), _mm256_set1_epi16(127));
    }
  }
};
/// The codes with fused kernels: ConvCode<16, 2, V, Code> for these (V, Code).
template <int V, class Code>
inline constexpr bool kFusedTrellis = (V == 1 && std::is_same_v<Code, CodeMix7>) ||
                                      (V == 2 && std::is_same_v<Code, CodeMx2>);
}  // namespace seq

/// The trellis ConvCode<16, 2, V, Code> (CodeMix7, CodeMx2) on PerGroup<GS> (GS a multiple of
/// 16), AVX2.
template <class Isa, int V, class Code, int GS>
requires(GS % 16 == 0 && seq::kFusedTrellis<V, Code> && std::is_base_of_v<isa::avx2, Isa> &&
         !seq::use_avx512<Isa>()) struct SeqKernel<Isa, ConvCode<16, 2, V, Code>, PerGroup<GS>> {
  static constexpr bool kAvailable = true;
  using Layout = SeqTiles<16>;
  static constexpr Index kSub = GS;  // weights per float scale
  static constexpr int kBias = 0;    // values are used signed (int16 products)
  static constexpr int kRowFloats = 0;
  static constexpr int kMR = 4;
  static_assert(GS <= 32768, "int32 sums of a group");

  template <int MR>
  static void run(const SeqTileArgs& a) {
    constexpr Index kWords = GS / 8;  // 16-bit words of a group of one row
    for (Index g = 0; g < a.nsub; ++g) {
      const std::uint16_t* gw = a.words + g * kWords * 16;
      __m256i lo[MR], hi[MR];
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t) lo[t] = hi[t] = _mm256_setzero_si256();
      __m256i prev = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gw + (kWords - 1) * 16));
      for (Index u = 0; u < kWords; ++u) {
        const __m256i cur = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gw + u * 16));
        const Index k = g * GS + u * 8;
        __m256i idx[8];
        seq::TrellisIdxAvx2<Code>::run(cur, prev, idx);
        for (int p = 0; p < 8; p += 2) {
          // Values of weights p, p+1 of the 16 rows as int16, interleaved per row.
          const __m256i bytes = _mm256_packus_epi16(idx[p], idx[p + 1]);
          const __m256i v = seq::odd_lookup_avx2(bytes, CodeMix7::kTable.data());
          const __m256i vp = _mm256_srai_epi16(_mm256_unpacklo_epi8(v, v), 8);
          const __m256i vq = _mm256_srai_epi16(_mm256_unpackhi_epi8(v, v), 8);
          const __m256i plo = _mm256_unpacklo_epi16(vp, vq), phi = _mm256_unpackhi_epi16(vp, vq);
          LOWBIT_UNROLL
          for (int t = 0; t < MR; ++t) {
            const std::int8_t* xp = a.x[t] + k + p;
            const __m256i xx = _mm256_set1_epi32(static_cast<std::int32_t>(
                static_cast<std::uint16_t>(xp[0]) |
                (static_cast<std::uint32_t>(static_cast<std::uint16_t>(xp[1])) << 16)));
            lo[t] = _mm256_add_epi32(lo[t], _mm256_madd_epi16(plo, xx));
            hi[t] = _mm256_add_epi32(hi[t], _mm256_madd_epi16(phi, xx));
          }
        }
        prev = cur;
      }
      alignas(32) float sc[16];
      const auto* ps = reinterpret_cast<const std::uint16_t*>(a.params) + g * 16;
      for (int r = 0; r < 16; ++r) sc[r] = ScaleStorage<f16>::load(std::bit_cast<f16>(ps[r]));
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t) {
        __m256i r0, r1;
        seq::unzip_rows(lo[t], hi[t], r0, r1);
        seq::flush_avx2(r0, r1, 0, sc, a.acc + t * 16);
      }
    }
  }
};

/// The lookup trellis codes ConvCode<16, 2, 1, CodeTap7> and ConvCode<8, 2, 1, CodeLut7> on
/// PerGroup<GS> (GS a multiple of 32), SeqTiles<16, 64>, AVX2: a 256-bit load is lane u of 4
/// rows, 16-bit words (row, m); with prev = the words one step back in the row's stream (lane
/// shifts by 16 with the lane before, the group's last for its first: tail-biting), weight p of
/// word m has the window w = (prev >> (2p + 2)) | (cur << (14 − 2p)) (16-bit lanes), its index
/// as CodeTap7/CodeLut7 define it (see the 512-bit kernel), values through the odd table's four
/// vpshufb, and vpmaddwd against the activations k = 32u + 8m + p, the 4 words' activations
/// repeated per row (a transposed copy of the lane's 32 activations). The int32 lanes hold a row's
/// word pairs (0, 1), (2, 3); at the group's end they are added (vphaddd).
template <class Isa, int L, class Code, int GS>
requires(GS % 32 == 0 && seq::kLookupTrellis<L, Code> && std::is_base_of_v<isa::avx2, Isa> &&
         !seq::use_avx512<Isa>()) struct SeqKernel<Isa, ConvCode<L, 2, 1, Code>, PerGroup<GS>> {
  static constexpr bool kAvailable = true;
  using Layout = SeqTiles<16, 64>;
  static constexpr Index kSub = GS;
  static constexpr int kBias = 0;  // values are used signed (int16 products)
  static constexpr int kRowFloats = 0;
  static constexpr int kMR = 4;
  static_assert(GS <= 32768, "int32 sums of a group");

  static LOWBIT_INLINE __m256i index(__m256i w) {
    if constexpr (std::is_same_v<Code, CodeTap7>) {
      return _mm256_or_si256(_mm256_and_si256(w, _mm256_set1_epi16(7)),
                             _mm256_and_si256(_mm256_srli_epi16(w, 9), _mm256_set1_epi16(0x78)));
    } else {
      return _mm256_srli_epi16(w, 9);
    }
  }

  template <int MR>
  static void run(const SeqTileArgs& a) {
    constexpr Index kLanes = GS / 32;
    for (Index g = 0; g < a.nsub; ++g) {
      const std::uint16_t* gw = a.words + g * kLanes * 64;
      __m256i acc[MR][4];  // [t][quarter of the tile: rows 4j .. 4j + 3]
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t)
        for (int j = 0; j < 4; ++j) acc[t][j] = _mm256_setzero_si256();
      for (Index u = 0; u < kLanes; ++u) {
        const Index up = (u + kLanes - 1) % kLanes;
        // The lane's activations transposed: xt[t][p] = x[32u + 8m + p] for m = 0..3 (int16).
        alignas(32) std::int16_t xt[MR][8][4];
        LOWBIT_UNROLL
        for (int t = 0; t < MR; ++t)
          for (int p = 0; p < 8; ++p)
            for (int m = 0; m < 4; ++m) xt[t][p][m] = a.x[t][g * GS + u * 32 + 8 * m + p];
        for (int j = 0; j < 4; ++j) {
          const __m256i cur =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gw + u * 64 + j * 16));
          const __m256i last =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gw + up * 64 + j * 16));
          const __m256i prev =
              _mm256_or_si256(_mm256_slli_epi64(cur, 16), _mm256_srli_epi64(last, 48));
          for (int p = 0; p < 8; p += 2) {
            const __m256i i0 = index(_mm256_or_si256(_mm256_srli_epi16(prev, 2 * p + 2),
                                                     _mm256_slli_epi16(cur, 14 - 2 * p)));
            const __m256i i1 = index(_mm256_or_si256(_mm256_srli_epi16(prev, 2 * p + 4),
                                                     _mm256_slli_epi16(cur, 12 - 2 * p)));
            const __m256i v =
                seq::odd_lookup_avx2(_mm256_packus_epi16(i0, i1), Code::kTable.data());
            const __m256i v0 = _mm256_srai_epi16(_mm256_unpacklo_epi8(v, v), 8);
            const __m256i v1 = _mm256_srai_epi16(_mm256_unpackhi_epi8(v, v), 8);
            LOWBIT_UNROLL
            for (int t = 0; t < MR; ++t) {
              std::int64_t x0, x1;
              std::memcpy(&x0, xt[t][p], 8);
              std::memcpy(&x1, xt[t][p + 1], 8);
              acc[t][j] = _mm256_add_epi32(
                  acc[t][j], _mm256_add_epi32(_mm256_madd_epi16(v0, _mm256_set1_epi64x(x0)),
                                              _mm256_madd_epi16(v1, _mm256_set1_epi64x(x1))));
            }
          }
        }
      }
      alignas(32) float sc[16];
      const auto* ps = reinterpret_cast<const std::uint16_t*>(a.params) + g * 16;
      for (int r = 0; r < 16; ++r) sc[r] = ScaleStorage<f16>::load(std::bit_cast<f16>(ps[r]));
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t) {
        // acc[t][j]: int32 lanes (row 4j + i, pair) = 2i, 2i + 1; vphaddd of quarters (0, 1) and
        // (2, 3) gives rows 0-1, 4-5 | 2-3, 6-7 per 128-bit half: reorder the 64-bit blocks.
        const __m256i h01 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[t][0], acc[t][1]), 0xD8);
        const __m256i h23 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[t][2], acc[t][3]), 0xD8);
        seq::flush_avx2(h01, h23, 0, sc, a.acc + t * 16);
      }
    }
  }
};

/// CCQ WINT2 (PerGroup<128>, a float scale per 64 inputs), AVX2.
template <class Isa>
requires(std::is_base_of_v<isa::avx2, Isa> &&
         !seq::use_avx512<Isa>()) struct SeqKernel<Isa, CcqWint2, PerGroup<128>> {
  static constexpr bool kAvailable = true;
  using Layout = SeqTiles<16>;
  static constexpr Index kSub = 64;
  static constexpr int kBias = 32;
  static constexpr int kRowFloats = 3;  // cs, zp, super
  static constexpr int kMR = 4;

  /// The four 6-bit windows of 8 code words as the bytes of their lanes, + 32 (v + 32).
  static LOWBIT_INLINE __m256i windows(__m256i c) {
    const __m256i w0 = _mm256_srli_epi32(c, 9);  // c < 2^15: no mask
    const __m256i w1 = _mm256_and_si256(_mm256_slli_epi32(c, 2), _mm256_set1_epi32(0x3F00));
    const __m256i w2 = _mm256_and_si256(_mm256_slli_epi32(c, 13), _mm256_set1_epi32(0x3F0000));
    const __m256i w3 = _mm256_and_si256(_mm256_slli_epi32(c, 24), _mm256_set1_epi32(0x3F000000));
    return _mm256_or_si256(_mm256_or_si256(w0, w1), _mm256_or_si256(w2, w3));
  }
  /// Code words of 8 bytes (32-bit lanes) with the rows' cs, zp.
  static LOWBIT_INLINE __m256i words(__m256i b, __m256 cs, __m256 zp) {
    __m256 f = Vec256<Isa>::rounded(_mm256_mul_ps(_mm256_cvtepi32_ps(b), cs));
    f = Vec256<Isa>::rounded(_mm256_add_ps(f, zp));
    f = _mm256_add_ps(f, _mm256_set1_ps(0.5f));
    return _mm256_cvttps_epi32(_mm256_floor_ps(f));
  }

  template <int MR>
  static void run(const SeqTileArgs& a) {
    const __m256i ones = _mm256_set1_epi16(1), lowbyte = _mm256_set1_epi32(0xFF);
    __m256 cs[2], zp[2], sup[2];
    for (int h = 0; h < 2; ++h) {
      cs[h] = _mm256_loadu_ps(a.row_a + 8 * h);
      zp[h] = _mm256_loadu_ps(a.row_b + 8 * h);
      sup[h] = _mm256_loadu_ps(a.row_c + 8 * h);
    }
    for (Index j = 0; j < a.nsub; ++j) {
      const std::uint16_t* gw = a.words + j * 8 * 16;  // 8 words per 64 inputs
      __m256i acc[MR][2];
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_si256();
      for (Index u = 0; u < 8; ++u) {
        const __m256i both = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gw + u * 16));
        for (int h = 0; h < 2; ++h) {
          const __m256i d = _mm256_cvtepu16_epi32(h == 0 ? _mm256_castsi256_si128(both)
                                                         : _mm256_extracti128_si256(both, 1));
          const __m256i w0 = windows(words(_mm256_and_si256(d, lowbyte), cs[h], zp[h]));
          const __m256i w1 = windows(words(_mm256_srli_epi32(d, 8), cs[h], zp[h]));
          LOWBIT_UNROLL
          for (int t = 0; t < MR; ++t) {
            const std::int8_t* xp = a.x[t] + j * 64 + u * 8;
            const __m256i x0 = _mm256_set1_epi32(seq::load_i32(xp));
            const __m256i x1 = _mm256_set1_epi32(seq::load_i32(xp + 4));
            const __m256i s =
                _mm256_add_epi16(_mm256_maddubs_epi16(w0, x0), _mm256_maddubs_epi16(w1, x1));
            acc[t][h] = _mm256_add_epi32(acc[t][h], _mm256_madd_epi16(s, ones));
          }
        }
      }
      // Scales fl(local·super) of this 64-input subgroup (high nibble: the 128-group's first).
      alignas(32) float sc[16];
      const auto* loc = reinterpret_cast<const std::uint8_t*>(a.params) + (j / 2) * 16;
      for (int h = 0; h < 2; ++h) {
        const __m256i l8 =
            _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(loc + 8 * h)));
        const __m256i nib =
            j % 2 == 0 ? _mm256_srli_epi32(l8, 4) : _mm256_and_si256(l8, _mm256_set1_epi32(15));
        _mm256_store_ps(sc + 8 * h, _mm256_mul_ps(_mm256_cvtepi32_ps(nib), sup[h]));
      }
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t)
        seq::flush_avx2(acc[t][0], acc[t][1], 32 * a.xsum[t][j], sc, a.acc + t * 16);
    }
  }
};

/// CCQ WINT2.5 (PerGroup<64>, Wint25Words<16>), AVX2: every window by a 16-bit shift and mask
/// (16 rows a vector), pairs of windows interleaved per row and multiplied by vpmaddwd (int16
/// values v + 4 against int16 activation pairs; weight 63 pairs with a zero).
template <class Isa>
requires(std::is_base_of_v<isa::avx2, Isa> &&
         !seq::use_avx512<Isa>()) struct SeqKernel<Isa, CcqWint25, PerGroup<64>> {
  static constexpr bool kAvailable = true;
  using Layout = Wint25Words<16>;
  static constexpr Index kSub = 64;
  static constexpr int kBias = 4;
  static constexpr int kRowFloats = 1;  // super
  static constexpr int kMR = 4;

  template <int S>
  static LOWBIT_INLINE __m256i win(__m256i w) {
    return _mm256_and_si256(S == 0 ? w : _mm256_srli_epi16(w, S), _mm256_set1_epi16(7));
  }
  /// Adds v_a·x_a + v_b·x_b per row to the row-split accumulators.
  static LOWBIT_INLINE void dot2(__m256i va, __m256i vb, std::int8_t xa, std::int8_t xb,
                                 __m256i& lo, __m256i& hi) {
    const __m256i xx = _mm256_set1_epi32(static_cast<std::int32_t>(
        static_cast<std::uint16_t>(xa) |
        (static_cast<std::uint32_t>(static_cast<std::uint16_t>(xb)) << 16)));
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(va, vb), xx));
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(va, vb), xx));
  }

  template <int MR>
  static void run(const SeqTileArgs& a) {
    const __m256 sup0 = _mm256_loadu_ps(a.row_a), sup1 = _mm256_loadu_ps(a.row_a + 8);
    for (Index g = 0; g < a.nsub; ++g) {
      const std::uint16_t* gw = a.words + g * 10 * 16;
      __m256i lo[MR], hi[MR];
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t) lo[t] = hi[t] = _mm256_setzero_si256();
      for (int u = 0; u < 10; ++u) {
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gw + u * 16));
        const __m256i v0 = win<13>(w);
        if (u == 9) {  // weight 63 alone
          LOWBIT_UNROLL
          for (int t = 0; t < MR; ++t)
            dot2(v0, _mm256_setzero_si256(), a.x[t][g * 64 + 63], 0, lo[t], hi[t]);
          continue;
        }
        const __m256i v1 = win<11>(w), v2 = win<9>(w), v3 = win<6>(w), v4 = win<4>(w),
                      v5 = win<2>(w), v6 = win<0>(w);
        LOWBIT_UNROLL
        for (int t = 0; t < MR; ++t) {
          const std::int8_t* xp = a.x[t] + g * 64 + 7 * u;
          dot2(v0, v1, xp[0], xp[1], lo[t], hi[t]);
          dot2(v2, v3, xp[2], xp[3], lo[t], hi[t]);
          dot2(v4, v5, xp[4], xp[5], lo[t], hi[t]);
          dot2(v6, _mm256_setzero_si256(), xp[6], 0, lo[t], hi[t]);
        }
      }
      alignas(32) float sc[16];
      const __m256i l = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
          reinterpret_cast<const std::uint16_t*>(a.params) + g * 16));
      _mm256_store_ps(
          sc, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(l))),
                            sup0));
      _mm256_store_ps(
          sc + 8,
          _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(l, 1))),
                        sup1));
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t) {
        __m256i r0, r1;
        seq::unzip_rows(lo[t], hi[t], r0, r1);
        seq::flush_avx2(r0, r1, 4 * a.xsum[t][g], sc, a.acc + t * 16);
      }
    }
  }
};
#endif  // LOWBIT_HAS_AVX2

#if LOWBIT_HAS_AVX512VBMI
namespace seq {

/// The int32 dot products of MR activation rows: one vpdpbusd chain per row, or for a single row
/// (GEMV) four chains taken in turn and summed at the end (exact), so vpdpbusd's latency does not
/// bound the loop.
template <int MR>
struct Dots {
  static constexpr int kChains = MR == 1 ? 4 : 1;
  __m512i v[MR][kChains];
  LOWBIT_INLINE Dots() {
    LOWBIT_UNROLL
    for (int t = 0; t < MR; ++t) LOWBIT_UNROLL
    for (int c = 0; c < kChains; ++c) v[t][c] = _mm512_setzero_si512();
  }
  /// Chain C (taken mod kChains) of row t += Σ u8 w × s8 of the 4 activations at x.
  template <int C>
  LOWBIT_INLINE void add(int t, __m512i w, const std::int8_t* x) {
    __m512i& d = v[t][C % kChains];
    d = _mm512_dpbusd_epi32(d, w, _mm512_set1_epi32(load_i32(x)));
  }
  LOWBIT_INLINE __m512i sum(int t) const {
    __m512i s = v[t][0];
    for (int c = 1; c < kChains; ++c) s = _mm512_add_epi32(s, v[t][c]);
    return s;
  }
};

/// Software prefetch of the stream bytes [p, p + n) LOWBIT_PREFETCH_BYTES ahead.
LOWBIT_INLINE void prefetch_ahead(const void* p, Index n) {
#if LOWBIT_PREFETCH_BYTES > 0
  const char* c = static_cast<const char*>(p) + LOWBIT_PREFETCH_BYTES;
  for (Index i = 0; i < n; i += 64) __builtin_prefetch(c + i, 0, LOWBIT_PREFETCH_LOCALITY);
#else
  (void)p;
  (void)n;
#endif
}

/// acc[0..16) = fma(float(idot − bias·xsum), scale, acc).
LOWBIT_INLINE void flush_avx512(__m512i idot, std::int32_t bias_xsum, __m512 scale, float* acc) {
  const __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(idot, _mm512_set1_epi32(bias_xsum)));
  _mm512_storeu_ps(acc, _mm512_fmadd_ps(f, scale, _mm512_loadu_ps(acc)));
}

/// The hash of 32 states (16-bit lanes): the table index is its top 7 bits.
LOWBIT_INLINE __m512i mix7_hash_avx512(__m512i s) {
  __m512i h = _mm512_mullo_epi16(s, _mm512_set1_epi16(static_cast<short>(0x9E37)));
  h = _mm512_xor_si512(h, _mm512_srli_epi16(h, 8));
  return _mm512_mullo_epi16(h, _mm512_set1_epi16(0x6A09));
}

/// Word lanes (idx_p, idx_q) from the hashes of weights p and q: bits 9..15 of each hash word
/// picked into the low (p) and high (q) byte by vpmultishiftqb (bit 7 of a byte is the next
/// word's bit 0: vpermi2b ignores it).
LOWBIT_INLINE __m512i mix7_index_pair(__m512i hp, __m512i hq) {
  const __m512i sel = _mm512_set1_epi64(0x3939292919190909LL);
  return _mm512_mask_multishift_epi64_epi8(_mm512_multishift_epi64_epi8(sel, hp),
                                           static_cast<__mmask64>(0xAAAAAAAAAAAAAAAAull), sel, hq);
}

/// Index pairs (weights 2j, 2j + 1 of every word lane, the low and high byte) of 2 words × 16
/// rows: CodeMix7 (a hash per weight) and CodeMx2 (one hash per step: its bits 9..15 and 2..8
/// picked by one vpmultishiftqb).
template <class Code>
struct TrellisPairs;
template <>
struct TrellisPairs<CodeMix7> {
  static LOWBIT_INLINE void run(__m512i cur, __m512i prev, __m512i pair[4]) {
    pair[0] = mix7_index_pair(mix7_hash_avx512(_mm512_shrdi_epi16(cur, prev, 14)),
                              mix7_hash_avx512(_mm512_shrdi_epi16(cur, prev, 12)));
    pair[1] = mix7_index_pair(mix7_hash_avx512(_mm512_shrdi_epi16(cur, prev, 10)),
                              mix7_hash_avx512(_mm512_shrdi_epi16(cur, prev, 8)));
    pair[2] = mix7_index_pair(mix7_hash_avx512(_mm512_shrdi_epi16(cur, prev, 6)),
                              mix7_hash_avx512(_mm512_shrdi_epi16(cur, prev, 4)));
    pair[3] =
        mix7_index_pair(mix7_hash_avx512(_mm512_shrdi_epi16(cur, prev, 2)), mix7_hash_avx512(cur));
  }
};
template <>
struct TrellisPairs<CodeMx2> {
  static LOWBIT_INLINE __m512i pair(__m512i s) {
    const __m512i sel = _mm512_set1_epi64(0x3239222912190209LL);  // offsets 9, 2 per word
    __m512i h = _mm512_mullo_epi16(s, _mm512_set1_epi16(static_cast<short>(0x9E37)));
    h = _mm512_xor_si512(h, _mm512_srli_epi16(h, 7));
    return _mm512_multishift_epi64_epi8(sel, h);
  }
  static LOWBIT_INLINE void run(__m512i cur, __m512i prev, __m512i pairs[4]) {
    pairs[0] = pair(_mm512_shrdi_epi16(cur, prev, 12));
    pairs[1] = pair(_mm512_shrdi_epi16(cur, prev, 8));
    pairs[2] = pair(_mm512_shrdi_epi16(cur, prev, 4));
    pairs[3] = pair(cur);
  }
};

}  // namespace seq

/// The trellis ConvCode<16, 2, V, Code> (CodeMix7, CodeMx2) on PerGroup<GS> (GS a multiple of
/// 16), AVX-512.
template <class Isa, int V, class Code, int GS>
requires(GS % 16 == 0 && seq::kFusedTrellis<V, Code> &&
         seq::use_avx512<Isa>()) struct SeqKernel<Isa, ConvCode<16, 2, V, Code>, PerGroup<GS>> {
  static constexpr bool kAvailable = true;
  using Layout = SeqTiles<16>;
  static constexpr Index kSub = GS;
  static constexpr int kBias = 128;  // table bytes are value + 128
  static constexpr int kRowFloats = 0;
  static constexpr int kMR = 8;
  static_assert(GS <= 32768, "int32 sums of a group");

  template <int MR>
  static void run(const SeqTileArgs& a) {
    constexpr Index kWords = GS / 8;
    const __m512i tlo = _mm512_loadu_si512(seq::kBiasedTable<CodeMix7>.data());
    const __m512i thi = _mm512_loadu_si512(seq::kBiasedTable<CodeMix7>.data() + 64);
    // Word lanes (16 rows × words u, u+1) to 32-bit lanes of 4 weights (two byte pairs).
    alignas(64) std::int16_t sel_lo[32], sel_hi[32];
    for (int r = 0; r < 16; ++r) {
      sel_lo[2 * r] = static_cast<std::int16_t>(r);
      sel_lo[2 * r + 1] = static_cast<std::int16_t>(32 + r);
      sel_hi[2 * r] = static_cast<std::int16_t>(16 + r);
      sel_hi[2 * r + 1] = static_cast<std::int16_t>(48 + r);
    }
    const __m512i slo = _mm512_load_si512(sel_lo), shi = _mm512_load_si512(sel_hi);
    for (Index g = 0; g < a.nsub; ++g) {
      const std::uint16_t* gw = a.words + g * kWords * 16;
      seq::prefetch_ahead(gw, kWords * 32);
      seq::Dots<MR> dots;
      for (Index u = 0; u < kWords; u += 2) {
        const __m512i cur = _mm512_loadu_si512(gw + u * 16);
        const __m512i prev =
            u == 0
                ? _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(
                                         reinterpret_cast<const __m256i*>(gw + (kWords - 1) * 16))),
                                     _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gw)), 1)
                : _mm512_loadu_si512(gw + (u - 1) * 16);
        // Index pairs (weights 2j, 2j + 1 of every lane) as the low and high byte of a word.
        __m512i pair[4];
        seq::TrellisPairs<Code>::run(cur, prev, pair);
        // Weights 0-3 / 4-7 of word u (lanes 0..15) and of word u+1 (lanes 16..31).
        const __m512i steps[4] = {
            _mm512_permutex2var_epi8(tlo, _mm512_permutex2var_epi16(pair[0], slo, pair[1]), thi),
            _mm512_permutex2var_epi8(tlo, _mm512_permutex2var_epi16(pair[2], slo, pair[3]), thi),
            _mm512_permutex2var_epi8(tlo, _mm512_permutex2var_epi16(pair[0], shi, pair[1]), thi),
            _mm512_permutex2var_epi8(tlo, _mm512_permutex2var_epi16(pair[2], shi, pair[3]), thi)};
        const Index k = g * GS + u * 8;
        LOWBIT_UNROLL
        for (int t = 0; t < MR; ++t) {
          const std::int8_t* xp = a.x[t] + k;
          dots.template add<0>(t, steps[0], xp);
          dots.template add<1>(t, steps[1], xp + 4);
          dots.template add<2>(t, steps[2], xp + 8);
          dots.template add<3>(t, steps[3], xp + 12);
        }
      }
      const __m512 sc = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(
          reinterpret_cast<const std::uint16_t*>(a.params) + g * 16)));
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t)
        seq::flush_avx512(dots.sum(t), 128 * a.xsum[t][g], sc, a.acc + t * 16);
    }
  }
};

/// The lookup trellis codes ConvCode<16, 2, 1, CodeTap7> and ConvCode<8, 2, 1, CodeLut7> on
/// PerGroup<GS> (GS a multiple of 32: whole 64-bit lanes), SeqTiles<16, 64>, AVX-512. Weight i's
/// index reads the 16-bit window w of the LSB-first stream that ends with its symbol (stream bits
/// [2i − 14, 2i + 2)): CodeTap7 (w & 7) | ((w >> 9) & 0x78), CodeLut7 (w >> 9) & 127. Per 64-bit
/// lane u of 8 rows (32 weights each) and s' = vpshldq(lane u, lane u − 1, 16) (the 16 stream bits
/// before the lane below its first 48; the group's first lane takes its last: tail-biting), w
/// starts at bit 2i + 2 of s' (i < 24) or 2i − 14 of the lane (i ≥ 24). Per 8 weights of the 8
/// rows, vpmultishiftqb picks w's bits 9..16 into bytes (CodeTap7: also bits 0..7, merged by one
/// vpternlogq), vpermi2b looks the table up (index bit 7 ignored) and vpdpbusd multiplies the
/// bytes (two 32-bit lanes a row) by the 8 activations broadcast to every 64-bit lane. At the
/// group's end a row's two lanes are added (vpermt2d) and flushed as every sequence kernel.
template <class Isa, int L, class Code, int GS>
requires(GS % 32 == 0 && seq::kLookupTrellis<L, Code> &&
         seq::use_avx512<Isa>()) struct SeqKernel<Isa, ConvCode<L, 2, 1, Code>, PerGroup<GS>> {
  static constexpr bool kAvailable = true;
  using Layout = SeqTiles<16, 64>;
  static constexpr Index kSub = GS;
  static constexpr int kBias = 128;  // table bytes are value + 128
  static constexpr int kRowFloats = 0;
  static constexpr int kMR = 4;
  static constexpr bool kTwoPicks = std::is_same_v<Code, CodeTap7>;
  static_assert(GS <= 32768, "int32 sums of a group");

  template <int MR>
  static void run(const SeqTileArgs& a) {
    constexpr Index kLanes = GS / 32;  // 64-bit lanes of a group of one row
    constexpr int kChains = MR == 1 ? 4 : 1;
    const __m512i tlo = _mm512_loadu_si512(seq::kBiasedTable<Code>.data());
    const __m512i thi = _mm512_loadu_si512(seq::kBiasedTable<Code>.data() + 64);
    [[maybe_unused]] const __m512i low3 = _mm512_set1_epi8(7);
    // Pick offsets of the windows' bits 0..7 (c0) and 9..16 (c9) of weights 8q .. 8q + 7.
    __m512i c0[4], c9[4];
    for (int q = 0; q < 4; ++q) {
      std::uint64_t b0 = 0, b9 = 0;
      for (int b = 0; b < 8; ++b) {
        const int i = 8 * q + b, off = i < 24 ? 2 * i + 2 : 2 * i - 14;
        b0 |= static_cast<std::uint64_t>(off) << (8 * b);
        b9 |= static_cast<std::uint64_t>(off + 9) << (8 * b);
      }
      c0[q] = _mm512_set1_epi64(static_cast<long long>(b0));
      c9[q] = _mm512_set1_epi64(static_cast<long long>(b9));
    }
    // Row sums of the two 32-bit lanes of rows 0-7 (first) and 8-15 (second).
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (Index g = 0; g < a.nsub; ++g) {
      const std::uint16_t* gw = a.words + g * kLanes * 64;  // 16 rows × 4 words a lane
      seq::prefetch_ahead(gw, kLanes * 128);
      __m512i acc[MR][2][kChains];
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t)
        for (int h = 0; h < 2; ++h) LOWBIT_UNROLL
      for (int c = 0; c < kChains; ++c) acc[t][h][c] = _mm512_setzero_si512();
      for (Index u = 0; u < kLanes; ++u) {
        const Index up = (u + kLanes - 1) % kLanes;
        for (int h = 0; h < 2; ++h) {
          const __m512i cur = _mm512_loadu_si512(gw + u * 64 + h * 32);
          const __m512i sp = _mm512_shldi_epi64(cur, _mm512_loadu_si512(gw + up * 64 + h * 32), 16);
          for (int q = 0; q < 4; ++q) {
            const __m512i src = q < 3 ? sp : cur;
            __m512i idx = _mm512_multishift_epi64_epi8(c9[q], src);
            if constexpr (kTwoPicks)  // low3 ? bits 0..2 of the first pick : the second's
              idx = _mm512_ternarylogic_epi64(_mm512_multishift_epi64_epi8(c0[q], src), idx, low3,
                                              0xE4);
            const __m512i v = _mm512_permutex2var_epi8(tlo, idx, thi);
            LOWBIT_UNROLL
            for (int t = 0; t < MR; ++t) {
              std::int64_t x8;
              std::memcpy(&x8, a.x[t] + g * GS + u * 32 + q * 8, 8);
              __m512i& d = acc[t][h][q % kChains];
              d = _mm512_dpbusd_epi32(d, v, _mm512_set1_epi64(x8));
            }
          }
        }
      }
      const __m512 sc = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(
          reinterpret_cast<const std::uint16_t*>(a.params) + g * 16)));
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t) {
        __m512i lanes[2];
        for (int h = 0; h < 2; ++h) {
          lanes[h] = acc[t][h][0];
          for (int c = 1; c < kChains; ++c) lanes[h] = _mm512_add_epi32(lanes[h], acc[t][h][c]);
        }
        const __m512i rows = _mm512_add_epi32(_mm512_permutex2var_epi32(lanes[0], even, lanes[1]),
                                              _mm512_permutex2var_epi32(lanes[0], odd, lanes[1]));
        seq::flush_avx512(rows, 128 * a.xsum[t][g], sc, a.acc + t * 16);
      }
    }
  }
};

/// CCQ WINT2 (PerGroup<128>, a float scale per 64 inputs), AVX-512.
template <class Isa>
requires(seq::use_avx512<Isa>()) struct SeqKernel<Isa, CcqWint2, PerGroup<128>> {
  static constexpr bool kAvailable = true;
  using Layout = SeqTiles<16>;
  static constexpr Index kSub = 64;
  static constexpr int kBias = 32;
  static constexpr int kRowFloats = 3;
  static constexpr int kMR = 8;

  template <int MR>
  static void run(const SeqTileArgs& a) {
    const __m512 cs = _mm512_loadu_ps(a.row_a), zp = _mm512_loadu_ps(a.row_b);
    const __m512 sup = _mm512_loadu_ps(a.row_c), half = _mm512_set1_ps(0.5f);
    // Byte i of each 32-bit lane = the 8 bits at shift 9 − 3i of the lane (then & 63).
    const __m512i sel = _mm512_set1_epi64(0x2023262900030609LL);
    const __m512i mask6 = _mm512_set1_epi8(63), lowbyte = _mm512_set1_epi32(0xFF);
    for (Index j = 0; j < a.nsub; ++j) {
      const std::uint16_t* gw = a.words + j * 8 * 16;
      seq::prefetch_ahead(gw, 8 * 32);
      seq::Dots<MR> dots;
      // Word u of the 16 rows (2 code bytes each) into chains C, C + 1.
      const auto word = [&]<int C>(Index u) LOWBIT_LAMBDA_INLINE {
        const __m512i d = _mm512_cvtepu16_epi32(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gw + u * 16)));
        __m512i win[2];
        for (int h = 0; h < 2; ++h) {
          const __m512i b = h == 0 ? _mm512_and_si512(d, lowbyte) : _mm512_srli_epi32(d, 8);
          __m512 f = Vec512<Isa>::rounded(_mm512_mul_ps(_mm512_cvtepi32_ps(b), cs));
          f = Vec512<Isa>::rounded(_mm512_add_ps(f, zp));
          f = _mm512_add_ps(f, half);
          const __m512i c = _mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
          win[h] = _mm512_and_si512(_mm512_multishift_epi64_epi8(sel, c), mask6);
        }
        LOWBIT_UNROLL
        for (int t = 0; t < MR; ++t) {
          const std::int8_t* xp = a.x[t] + j * 64 + u * 8;
          dots.template add<C>(t, win[0], xp);
          dots.template add<C + 1>(t, win[1], xp + 4);
        }
      };
      for (Index u = 0; u < 8; u += 2) {
        word.template operator()<0>(u);
        word.template operator()<2>(u + 1);
      }
      const __m128i l8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(
          reinterpret_cast<const std::uint8_t*>(a.params) + (j / 2) * 16));
      const __m512i l32 = _mm512_cvtepu8_epi32(l8);
      const __m512i nib =
          j % 2 == 0 ? _mm512_srli_epi32(l32, 4) : _mm512_and_si512(l32, _mm512_set1_epi32(15));
      const __m512 sc = _mm512_mul_ps(_mm512_cvtepi32_ps(nib), sup);
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t)
        seq::flush_avx512(dots.sum(t), 32 * a.xsum[t][j], sc, a.acc + t * 16);
    }
  }
};

/// CCQ WINT2.5 (PerGroup<64>, Wint25Words<16>), AVX-512: per word of 16 rows (zero-extended to
/// 32-bit lanes) two vpmultishiftqb picks, windows 13/11/9 (and a zero byte) and 6/4/2/0, each
/// against the 4 activations starting at its first weight (the zero byte's activation is
/// multiplied by 0); word 9's window (weight 63) sits in byte 3 against activations 60..63.
template <class Isa>
requires(seq::use_avx512<Isa>()) struct SeqKernel<Isa, CcqWint25, PerGroup<64>> {
  static constexpr bool kAvailable = true;
  using Layout = Wint25Words<16>;
  static constexpr Index kSub = 64;
  static constexpr int kBias = 4;
  static constexpr int kRowFloats = 1;  // super
  static constexpr int kMR = 8;

  template <int MR>
  static void run(const SeqTileArgs& a) {
    const __m512 sup = _mm512_loadu_ps(a.row_a);
    // Offsets 16 and 48 read the zero high half of a lane.
    const __m512i sel_a = _mm512_set1_epi64(0x30292B2D10090B0DLL);
    const __m512i sel_b = _mm512_set1_epi64(0x2022242600020406LL);
    const __m512i sel_9 = _mm512_set1_epi64(0x2D3030300D101010LL);
    const __m512i mask3 = _mm512_set1_epi8(7);
    for (Index g = 0; g < a.nsub; ++g) {
      const std::uint16_t* gw = a.words + g * 10 * 16;
      seq::prefetch_ahead(gw, 10 * 32);
      seq::Dots<MR> dots;
      // Word u (7 weights) of the 16 rows into chains C, C + 1.
      const auto word = [&]<int C>(int u) LOWBIT_LAMBDA_INLINE {
        const __m512i w = _mm512_cvtepu16_epi32(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gw + u * 16)));
        const __m512i va = _mm512_and_si512(_mm512_multishift_epi64_epi8(sel_a, w), mask3);
        const __m512i vb = _mm512_and_si512(_mm512_multishift_epi64_epi8(sel_b, w), mask3);
        LOWBIT_UNROLL
        for (int t = 0; t < MR; ++t) {
          const std::int8_t* xp = a.x[t] + g * 64 + 7 * u;
          dots.template add<C>(t, va, xp);
          dots.template add<C + 1>(t, vb, xp + 3);
        }
      };
      for (int u = 0; u < 8; u += 2) {
        word.template operator()<0>(u);
        word.template operator()<2>(u + 1);
      }
      word.template operator()<0>(8);
      const __m512i w9 =
          _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gw + 9 * 16)));
      const __m512i v9 = _mm512_and_si512(_mm512_multishift_epi64_epi8(sel_9, w9), mask3);
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t) dots.template add<2>(t, v9, a.x[t] + g * 64 + 60);
      const __m512 sc = _mm512_mul_ps(
          _mm512_cvtepi32_ps(
              _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                  reinterpret_cast<const std::uint16_t*>(a.params) + g * 16)))),
          sup);
      LOWBIT_UNROLL
      for (int t = 0; t < MR; ++t)
        seq::flush_avx512(dots.sum(t), 4 * a.xsum[t][g], sc, a.acc + t * 16);
    }
  }
};
#endif  // LOWBIT_HAS_AVX512VBMI

}  // namespace lowbit::kernels
