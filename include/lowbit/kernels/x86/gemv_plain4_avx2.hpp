// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/x86/gemv_plain4_avx2.hpp: fused int8 GEMV on 4-bit Plain weights, AVX2.
//
// Requires: AVX2 + FMA (isa::avx2; isa::avx512bw reuses it until it has its own family).
// Consumes: PackedMatrix<S, PerGroup<G>, Plain> with S::kCodeBits == 4, G a multiple of 32, any
//           AffineDecodeScheme (symmetric, integer zero point, float minimum).
// Tile:     one output row at a time, 32 weights (16 code bytes) per step.
// Reference: ref::gemv_int8 (kernels/reference/gemv_int8.hpp), bit for bit.
// Trick:    Plain puts weight 2i in the low nibble and 2i+1 in the high nibble of byte i, so the
//           activations are reordered once per call into [q0 q2 … q30 | q1 q3 … q31] per block of
//           32; then one vpand and one 16-bit shift give 32 unsigned codes in activation order,
//           and vpmaddubsw + vpmaddwd form Σ c·q. The zero point comes out once per group as
//           Σ(c - sub)·q = Σ c·q - sub·Σ q, and the group's float operations are exactly the
//           reference's, in the same order, so the result is bit-identical.
#pragma once

#if !defined(LOWBIT_KERNELS_SELECT_INCLUDED)
#error "internal header of lowbit/kernels/select.hpp: include lowbit/gemm/gemm.hpp"
#endif

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "lowbit/config.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/plain.hpp"
#include "lowbit/quant/activation.hpp"
#include "lowbit/quant/common.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/simd/isa.hpp"

namespace lowbit::kernels {

/// Σ of the eight int32 lanes. Templated on the ISA tag like every ISA-dependent function, so an
/// AVX-512 TU's copy can never stand in for an AVX2 TU's (the linker keeps one copy of an
/// inline function: only distinct template arguments keep the ISAs apart).
template <class Isa>
inline std::int32_t hsum_epi32_avx2(__m256i v) noexcept {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

template <class Isa, AffineDecodeScheme S, int G>
struct GemvPlain4Avx2 {
  static_assert(S::kCodeBits == 4 && G % 32 == 0, "GemvPlain4Avx2: 4-bit codes, groups of 32·j");

  static void run(const PackedMatrix<S, PerGroup<G>, Plain>& w, const Int8Activations& x,
                  VectorView<float> y) {
    const Index cols = w.cols();
    const Index full_blocks = cols / 32;  // whole 32-weight blocks in every row
    // Activations in nibble order, and Σq per group (per block for the kernel's groups).
    std::vector<std::int8_t> xq(static_cast<std::size_t>(full_blocks * 32));
    const std::int8_t* q = x.row(0);
    for (Index b = 0; b < full_blocks; ++b) {
      for (int i = 0; i < 16; ++i) {
        xq[static_cast<std::size_t>(b * 32 + i)] = q[b * 32 + 2 * i];
        xq[static_cast<std::size_t>(b * 32 + 16 + i)] = q[b * 32 + 2 * i + 1];
      }
    }
    const Index groups = PerGroup<G>::groups_per_row(cols);
    std::vector<std::int64_t> xsum(static_cast<std::size_t>(groups));
    for (Index g = 0; g < groups; ++g) {
      std::int64_t s = 0;
      for (Index k = g * G; k < cols && k < (g + 1) * G; ++k) s += q[k];
      xsum[static_cast<std::size_t>(g)] = s;
    }
    const Index row_bytes = Plain::row_bytes<S>(cols);
    const Ctx c{w, q, xq.data(), xsum.data(), cols, groups, row_bytes};
    const float sx = x.scale(0);
    Index r = 0;
    for (; r + 4 <= w.rows(); r += 4) rows<4>(c, r, sx, y);
    for (; r < w.rows(); ++r) rows<1>(c, r, sx, y);
  }

 private:
  struct Ctx {
    const PackedMatrix<S, PerGroup<G>, Plain>& w;
    const std::int8_t* q;      // activations in k order
    const std::int8_t* xq;     // activations in nibble order per 32-block
    const std::int64_t* xsum;  // Σq per group
    Index cols, groups, row_bytes;
  };

  /// Σ c·q over group g of the row starting at `row`.
  static std::int64_t group_raw(const Ctx& c, const std::byte* row, Index g) noexcept {
    const Index k0 = g * G;
    const Index k1 = k0 + G < c.cols ? k0 + G : c.cols;
    if (k1 - k0 != G) {  // the short last group of a row: the same integers, one at a time
      std::int64_t raw = 0;
      for (Index k = k0; k < k1; ++k)
        raw += static_cast<std::int64_t>(Plain::get_bits(row, 4, k)) * c.q[k];
      return raw;
    }
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc32 = _mm256_setzero_si256();
    for (Index k = k0; k < k1; k += 32) {
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + k / 2));
      const __m256i bb =
          _mm256_inserti128_si256(_mm256_castsi128_si256(b), _mm_srli_epi16(b, 4), 1);
      const __m256i codes = _mm256_and_si256(bb, low4);  // [even codes | odd codes]
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.xq + k));
      acc32 = _mm256_add_epi32(acc32, _mm256_madd_epi16(_mm256_maddubs_epi16(codes, a), ones));
    }
    return hsum_epi32_avx2<Isa>(acc32);
  }

  /// NR rows at once: independent accumulation chains overlap, each row keeps the reference's
  /// own order of float operations.
  template <int NR>
  static void rows(const Ctx& c, Index r0, float sx, VectorView<float> y) noexcept {
    float acc[NR] = {};
    for (Index g = 0; g < c.groups; ++g) {
      const std::int64_t xs = c.xsum[g];
      LOWBIT_UNROLL
      for (int j = 0; j < NR; ++j) {
        const Index r = r0 + j;
        const std::int64_t raw = group_raw(c, c.w.codes().data() + r * c.row_bytes, g);
        const DecodeAffine d =
            S::decode_affine(c.w.params()[static_cast<std::size_t>(r * c.groups + g)]);
        const std::int64_t idot = raw - static_cast<std::int64_t>(d.sub) * xs;
        const float tg =
            std::fma(d.offset, static_cast<float>(xs), static_cast<float>(idot) * d.scale);
        acc[j] = acc[j] + tg;
      }
    }
    LOWBIT_UNROLL
    for (int j = 0; j < NR; ++j) y[r0 + j] = acc[j] * sx;
  }
};

}  // namespace lowbit::kernels
