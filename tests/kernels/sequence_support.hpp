// SPDX-License-Identifier: Apache-2.0
// tests/kernels/sequence_support.hpp: shared helpers of the sequence-kernel tests
// (test_gemm_sequence.cpp, test_gemm_tap7.cpp): random valid sequence-coded matrices and the
// bit-exact check of the fused kernels against ref::gemm_int8 on every compiled ISA.
#pragma once

#include <random>
#include <type_traits>
#include <vector>

#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/isa_list.hpp"
#include "support/rng.hpp"

namespace lowbit::test {

/// W with random codes and parameters (any code sequence is a valid trellis stream; CCQ row
/// parameters keep every code word inside 0..32767).
template <class S, class G>
PackedMatrix<S, G, Plain> random_sequence_matrix(Index rows, Index cols, std::uint64_t seed) {
  PackedMatrix<S, G, Plain> w(rows, cols);
  std::mt19937_64 rng(seed);
  for (Index r = 0; r < rows; ++r)
    for (Index k = 0; k < cols; ++k)
      w.set_code(r, k, static_cast<std::uint32_t>(rng() % (1u << S::kCodeBits)));
  std::uniform_real_distribution<float> u(0.5f, 2.0f);
  if constexpr (std::is_same_v<S, CcqWint25>) {  // chain-consistent: shared bits equal
    for (Index r = 0; r < rows; ++r)
      for (Index k = 0; k < cols; ++k)
        if (!CcqWint25::chain_start(static_cast<int>(k % 64)))
          w.set_code(r, k, (w.code(r, k) & 3u) | ((w.code(r, k - 1) & 1u) << 2));
  }
  for (auto& p : w.params()) {
    if constexpr (std::is_same_v<S, CcqWint2>) {
      p.local = static_cast<std::uint8_t>(rng() & 0xFF);
    } else if constexpr (std::is_same_v<S, CcqWint25>) {
      p.local = static_cast<std::uint16_t>(rng() & CcqWint25::kMaxLocal);
    } else {
      p = S::make(u(rng) / 47.0f);
    }
  }
  if constexpr (std::is_same_v<S, CcqWint2>) {
    for (auto& rp : w.row_params()) {
      rp.code_scale = 100.0f + 10.0f * u(rng);  // ≤ 120: 255·120 + 800 < 32768
      rp.code_zp = 400.0f * u(rng);
      rp.super = bf16(u(rng) * 0.01f);
      REQUIRE(CcqWint2::check_row_params(rp) == nullptr);
    }
  }
  if constexpr (std::is_same_v<S, CcqWint25>)
    for (auto& rp : w.row_params()) rp.super = bf16(u(rng) * 1e-4f);
  return w;
}

/// gemm_int8 on layout L (SeqTiles<16>, Wint25Words<16>: the fused kernels where compiled in)
/// bit for bit ref::gemm_int8 on the Plain matrix, on every ISA, for activation row counts
/// around the kernels' 8 and 4.
template <class L = SeqTiles<16>, class M>
void check_seq_tiles(const M& w, std::uint64_t seed) {
  const auto t = repack<L>(w, 2);
  for (Index r = 0; r < w.rows(); ++r)
    for (Index k = 0; k < w.cols(); ++k) REQUIRE(t.code(r, k) == w.code(r, k));
  for (Index n : {Index{1}, Index{4}, Index{9}, Index{17}}) {
    const auto x = test::gaussian(static_cast<std::size_t>(n * w.cols()), seed + n);
    Int8Activations xq;
    quantize_activations(MatrixView<const float>(x.data(), n, w.cols()), xq);
    if (n == 4) xq.row(1)[0] = -128;  // the full int8 range
    std::vector<float> want(static_cast<std::size_t>(n * w.rows()));
    ref::gemm_int8(w, xq, MatrixView<float>(want.data(), n, w.rows()));
    test::for_each_isa([&](auto isa) {
      using Isa = decltype(isa);
#if LOWBIT_HAS_AVX2
      // Not vacuous: every x86 ISA from AVX2 up runs a fused kernel here.
      if constexpr (std::is_base_of_v<isa::avx2, Isa>)
        STATIC_REQUIRE(kernels::SeqKernel<Isa, typename M::scheme_type,
                                          typename M::granularity_type>::kAvailable);
#endif
      for (int threads : {1, 3}) {
        Context ctx(threads);
        std::vector<float> got(want.size(), -1.0f);
        gemm_int8<Isa>(t, xq, MatrixView<float>(got.data(), n, w.rows()), ctx);
        INFO(Isa::name() << " rows " << w.rows() << " cols " << w.cols() << " n " << n);
        REQUIRE(got == want);
      }
    });
  }
}

}  // namespace lowbit::test
