// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/popcount.hpp: Σ popcount(a XOR b) over a byte range, the inner loop of the
// XNOR-popcount GEMM (gemm/xnor.hpp), with the widest popcount the ISA tag has: vpopcntq on
// AVX-512 with VPOPCNTDQ, a nibble-table vpshufb on AVX2, 64-bit std::popcount otherwise (which
// compiles to popcnt where the flags allow). Exact in int64 for any length.
#pragma once

#if !defined(LOWBIT_KERNELS_SELECT_INCLUDED)
#error "internal header of lowbit/kernels/select.hpp: include lowbit/gemm/gemm.hpp"
#endif

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "lowbit/config.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/simd/isa.hpp"

#if LOWBIT_HAS_AVX2
#include <immintrin.h>
#endif

namespace lowbit {

namespace kernels {

/// Σ popcount(a[i] XOR b[i]) over n bytes (b = nullptr: Σ popcount(a[i])), with Isa's vectors.
template <class Isa>
inline std::int64_t popcount_xor(const std::byte* a, const std::byte* b, Index n) noexcept {
  std::int64_t total = 0;
  Index i = 0;
#if LOWBIT_HAS_AVX512VPOPCNTDQ
  if constexpr (std::is_base_of_v<isa::avx512bw, Isa>) {
    __m512i acc = _mm512_setzero_si512();
    for (; i < n; i += 64) {
      const __mmask64 m = n - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (n - i)) - 1;
      __m512i v = _mm512_maskz_loadu_epi8(m, a + i);
      if (b != nullptr) v = _mm512_xor_si512(v, _mm512_maskz_loadu_epi8(m, b + i));
      acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(v));
    }
    return _mm512_reduce_add_epi64(acc);
  }
#endif
#if LOWBIT_HAS_AVX2
  if constexpr (std::is_base_of_v<isa::avx2, Isa>) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                         1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    __m256i acc = _mm256_setzero_si256();
    for (; i + 32 <= n; i += 32) {
      __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
      if (b != nullptr)
        v = _mm256_xor_si256(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
      const __m256i c = _mm256_add_epi8(
          _mm256_shuffle_epi8(lut, _mm256_and_si256(v, low4)),
          _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low4)));
      acc = _mm256_add_epi64(acc, _mm256_sad_epu8(c, _mm256_setzero_si256()));
    }
    alignas(32) std::int64_t part[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(part), acc);
    total = part[0] + part[1] + part[2] + part[3];
  }
#endif
  for (; i + 8 <= n; i += 8) {
    std::uint64_t u = 0, v = 0;
    std::memcpy(&u, a + i, 8);
    if (b != nullptr) std::memcpy(&v, b + i, 8);
    total += std::popcount(u ^ v);
  }
  for (; i < n; ++i) {
    const unsigned u =
        std::to_integer<unsigned>(a[i]) ^ (b != nullptr ? std::to_integer<unsigned>(b[i]) : 0u);
    total += std::popcount(u);
  }
  return total;
}

}  // namespace kernels

}  // namespace lowbit
