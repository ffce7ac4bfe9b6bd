// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_gemm_sequence.cpp: GEMM/GEMV on sequence-coded weights (the trellis and the
// CCQ formats): the float path against the dense product of the dequantized matrix, the integer
// path against Σ ŵ·q·s_x, and gemm_int8 bit for bit against ref::gemm_int8 on every compiled ISA
// and thread count, with tail shapes; the SeqTiles<16> layout and its fused kernels
// (kernels/seq_tile.hpp) likewise.
#include <cmath>
#include <random>
#include <type_traits>
#include <vector>

#include "kernels/sequence_support.hpp"
#include "lowbit/calib/ccq.hpp"
#include "lowbit/calib/trellis_viterbi.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/isa_list.hpp"
#include "support/rng.hpp"

using namespace lowbit;
using lowbit::test::check_seq_tiles;
using lowbit::test::random_sequence_matrix;

namespace {

template <class M>
void check_paths(const M& w, Index n, std::uint64_t seed) {
  const Index rows = w.rows(), cols = w.cols();
  const auto x = test::gaussian(static_cast<std::size_t>(n * cols), seed);
  const MatrixView<const float> xv(x.data(), n, cols);
  const std::vector<float> d = dequantize(w);
  // Float path: the dense double product of the dequantized weights.
  std::vector<float> y(static_cast<std::size_t>(n * rows));
  const MatrixView<float> yv(y.data(), n, rows);
  ref::gemm(w, xv, yv);
  for (Index t = 0; t < n; ++t)
    for (Index r = 0; r < rows; ++r) {
      double acc = 0.0, mag = 0.0;
      for (Index k = 0; k < cols; ++k) {
        acc += static_cast<double>(d[static_cast<std::size_t>(r * cols + k)]) *
               x[static_cast<std::size_t>(t * cols + k)];
        mag += std::fabs(static_cast<double>(d[static_cast<std::size_t>(r * cols + k)]) *
                         x[static_cast<std::size_t>(t * cols + k)]);
      }
      REQUIRE(std::fabs(yv(t, r) - acc) <= 1e-6 * mag + 1e-30);
    }
  // Integer path: Σ ŵ·q·s_x up to fp32 rounding of its partial sums.
  Int8Activations xq;
  quantize_activations(xv, xq);
  std::vector<float> yi(y.size());
  const MatrixView<float> yiv(yi.data(), n, rows);
  ref::gemm_int8(w, xq, yiv);
  for (Index t = 0; t < n; ++t)
    for (Index r = 0; r < rows; ++r) {
      double acc = 0.0, mag = 0.0;
      for (Index k = 0; k < cols; ++k) {
        const double p =
            static_cast<double>(d[static_cast<std::size_t>(r * cols + k)]) * xq.row(t)[k];
        acc += p;
        mag += std::fabs(p);
      }
      REQUIRE(std::fabs(yiv(t, r) - acc * xq.scale(t)) <= 1e-5 * mag * xq.scale(t) + 1e-30);
    }
  // The entry points on every ISA and thread count: bit for bit the reference.
  test::for_each_isa([&](auto isa) {
    using Isa = decltype(isa);
    for (int threads : {1, 3}) {
      Context ctx(threads);
      std::vector<float> g(y.size());
      gemm_int8<Isa>(w, xq, MatrixView<float>(g.data(), n, rows), ctx);
      REQUIRE(g == yi);
      gemm_f32<Isa>(w, xv, MatrixView<float>(g.data(), n, rows), ctx);
      for (std::size_t i = 0; i < g.size(); ++i)
        REQUIRE(std::fabs(g[i] - y[i]) <= 1e-5f * (std::fabs(y[i]) + 1e-3f));
    }
  });
}

}  // namespace

TEST_CASE("sequence-coded GEMM: trellis codes", "[gemm][trellis]") {
  for (Index cols : {Index{64}, Index{136}, Index{200}}) {  // last groups of 64, 8 and 8 weights
    const Index rows = 17;
    const auto w = test::gaussian(static_cast<std::size_t>(rows * cols), 400 + cols);
    const MatrixView<const float> wv(w.data(), rows, cols);
    check_paths(calib::trellis_quantize<ConvCode<16, 2, 1, CodeMix7>, PerGroup<64>>(wv), 3, 1);
    check_paths(calib::trellis_quantize<ConvCode<12, 3, 1, Code1Mad>, PerGroup<64>>(wv), 1, 2);
    check_paths(calib::trellis_quantize<ConvCode<10, 2, 1, Code3Inst>, PerGroup<64>>(wv), 2, 3);
  }
}

TEST_CASE("sequence-coded GEMM: CCQ WINT2 and WINT2.5", "[gemm][ccq]") {
  for (Index cols : {Index{64}, Index{192}}) {
    const Index rows = 33;
    const auto w = test::gaussian(static_cast<std::size_t>(rows * cols), 500 + cols);
    const MatrixView<const float> wv(w.data(), rows, cols);
    calib::CcqOptions o;
    o.search = 2;
    check_paths(calib::ccq_wint2_quantize(wv, o), 3, 4);
    check_paths(calib::ccq_wint25_quantize(wv, o), 2, 5);
  }
}

TEST_CASE("SeqTiles: stream words in the scheme's bit order", "[gemm][trellis][ccq][layout]") {
  // Trellis streams are MSB-first: codes 3, 0, 0, 0, 0, 0, 0, 1 | 2 → words 0xC001, 0x8000.
  PackedMatrix<ConvCode<16, 2, 1, CodeMix7>, PerGroup<16>, Plain> tr(2, 16);
  tr.set_code(1, 0, 3);
  tr.set_code(1, 7, 1);
  tr.set_code(1, 8, 2);
  const auto tt = repack<SeqTiles<16>>(tr);
  const auto* words = reinterpret_cast<const std::uint16_t*>(tt.codes().data());
  CHECK(words[1] == 0xC001);       // word 0 of row 1
  CHECK(words[16 + 1] == 0x8000);  // word 1 of row 1
  CHECK(words[0] == 0);
  // CCQ WINT2 keeps FastDeploy's bytes, first byte low: codes 3, 0, 0, 1 | 2 → 0x0243.
  PackedMatrix<CcqWint2, PerGroup<128>, Plain> cq(1, 64);
  cq.set_code(0, 0, 3);
  cq.set_code(0, 3, 1);
  cq.set_code(0, 4, 2);
  const auto ct = repack<SeqTiles<16>>(cq);
  CHECK(reinterpret_cast<const std::uint16_t*>(ct.codes().data())[0] == 0x0243);
  // Codes that straddle words (3 bits) through the scalar accessors and back.
  const auto w3 = calib::trellis_quantize<ConvCode<12, 3, 1, Code1Mad>, PerGroup<64>>(
      MatrixView<const float>(test::gaussian(5 * 96, 9).data(), 5, 96));
  const auto t3 = repack<SeqTiles<16>>(w3);
  const auto back = repack<Plain>(t3);
  for (Index r = 0; r < 5; ++r)
    for (Index k = 0; k < 96; ++k) {
      REQUIRE(t3.code(r, k) == w3.code(r, k));
      REQUIRE(back.code(r, k) == w3.code(r, k));
    }
}

TEST_CASE("fused trellis kernels: bit-exact on every ISA with tails", "[gemm][trellis]") {
  using S = ConvCode<16, 2, 1, CodeMix7>;
  const std::uint64_t seed = 700;
  for (Index rows : {Index{1}, Index{15}, Index{16}, Index{17}, Index{33}}) {
    for (Index cols : {Index{16}, Index{24}, Index{40}, Index{64}})
      check_seq_tiles(
          random_sequence_matrix<S, PerGroup<16>>(rows, cols, seed + rows * 1000 + cols),
          seed + rows + cols);
    for (Index cols : {Index{32}, Index{72}, Index{96}})
      check_seq_tiles(
          random_sequence_matrix<S, PerGroup<32>>(rows, cols, seed + rows * 1000 + cols),
          seed + rows + cols);
    for (Index cols : {Index{64}, Index{136}, Index{192}})
      check_seq_tiles(
          random_sequence_matrix<S, PerGroup<64>>(rows, cols, seed + rows * 1000 + cols),
          seed + rows + cols);
  }
  for (Index rows : {Index{31}, Index{63}, Index{65}, Index{127}, Index{129}})
    check_seq_tiles(random_sequence_matrix<S, PerGroup<64>>(rows, 200, seed + rows),
                    seed + rows + 1);
  // The V = 2 code (two weights a state): groups of 16 and 64, tails of 8.
  using S2 = ConvCode<16, 2, 2, CodeMx2>;
  for (Index rows : {Index{1}, Index{16}, Index{17}, Index{33}, Index{65}}) {
    for (Index cols : {Index{16}, Index{24}, Index{64}})
      check_seq_tiles(random_sequence_matrix<S2, PerGroup<16>>(rows, cols, seed + 7 * rows + cols),
                      seed + rows + 2 * cols);
    for (Index cols : {Index{64}, Index{136}})
      check_seq_tiles(random_sequence_matrix<S2, PerGroup<64>>(rows, cols, seed + 9 * rows + cols),
                      seed + rows + 3 * cols);
  }
  check_seq_tiles(calib::trellis_quantize<S2, PerGroup<64>>(MatrixView<const float>(
                      test::gaussian(static_cast<std::size_t>(20 * 192), 79).data(), 20, 192)),
                  80);
  // Codes from the encoder, and a group of 16 words a row (the AVX-512 kernel's pairs).
  const auto w = test::gaussian(static_cast<std::size_t>(20 * 256), 77);
  check_seq_tiles(
      calib::trellis_quantize<S, PerGroup<128>>(MatrixView<const float>(w.data(), 20, 256)), 78);
}

TEST_CASE("fused CCQ WINT2 kernels: bit-exact on every ISA with tails", "[gemm][ccq]") {
  const std::uint64_t seed = 800;
  for (Index rows : {Index{1}, Index{2}, Index{16}, Index{17}, Index{31}, Index{33}, Index{65}})
    for (Index cols : {Index{64}, Index{128}, Index{192}, Index{320}})
      check_seq_tiles(
          random_sequence_matrix<CcqWint2, PerGroup<128>>(rows, cols, seed + rows * 1000 + cols),
          seed + rows + cols);
  const auto w = test::gaussian(static_cast<std::size_t>(18 * 192), 88);
  calib::CcqOptions o;
  o.search = 2;
  check_seq_tiles(calib::ccq_wint2_quantize(MatrixView<const float>(w.data(), 18, 192), o), 89);
  // Columns that are not whole 64-input groups: the reference's error.
  const auto bad = random_sequence_matrix<CcqWint2, PerGroup<128>>(3, 64, 1);
  PackedMatrix<CcqWint2, PerGroup<128>, Plain> odd(3, 100);
  std::copy(bad.row_params().begin(), bad.row_params().end(), odd.row_params().begin());
  const auto ot = repack<SeqTiles<16>>(odd);
  Int8Activations xq(1, 100);
  std::vector<float> y(3);
  Context ctx(1);
  REQUIRE_THROWS_AS(gemm_int8(ot, xq, MatrixView<float>(y.data(), 1, 3), ctx), Error);
}

TEST_CASE("Wint25Words: FastDeploy's words, chain consistency", "[gemm][ccq][layout]") {
  const auto w = random_sequence_matrix<CcqWint25, PerGroup<64>>(3, 128, 5);
  const auto t = repack<Wint25Words<16>>(w);
  const auto* words = reinterpret_cast<const std::uint16_t*>(t.codes().data());
  std::vector<std::uint8_t> c(64);
  for (Index r = 0; r < 3; ++r)
    for (Index g = 0; g < 2; ++g) {
      for (Index k = 0; k < 64; ++k)
        c[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(w.code(r, g * 64 + k));
      auto want = CcqWint25::words(c, CcqWint25::Params{0});  // local scale bits zero
      for (int u = 0; u < 10; ++u)
        REQUIRE(words[(g * 10 + u) * 16 + r] == want[static_cast<std::size_t>(u)]);
      for (Index k = 0; k < 64; ++k) REQUIRE(t.code(r, g * 64 + k) == w.code(r, g * 64 + k));
    }
  // The format's 2.5 bits a weight (with the local scale) plus the 16-bit super scale a row.
  REQUIRE(std::fabs(t.bits_per_weight() - (2.5 + 16.0 / 128)) < 1e-12);
  // A group whose neighbouring windows disagree on their shared bit is refused.
  auto bad = random_sequence_matrix<CcqWint25, PerGroup<64>>(2, 64, 6);
  bad.set_code(1, 1, bad.code(1, 1) ^ 4u);  // weight 1's top bit is weight 0's low bit
  REQUIRE_THROWS_AS(repack<Wint25Words<16>>(bad), Error);
}

TEST_CASE("fused CCQ WINT2.5 kernels: bit-exact on every ISA with tails", "[gemm][ccq]") {
  const std::uint64_t seed = 900;
  for (Index rows : {Index{1}, Index{3}, Index{16}, Index{17}, Index{33}, Index{63}, Index{129}})
    for (Index cols : {Index{64}, Index{128}, Index{320}})
      check_seq_tiles<Wint25Words<16>>(
          random_sequence_matrix<CcqWint25, PerGroup<64>>(rows, cols, seed + rows * 1000 + cols),
          seed + rows + cols);
  const auto w = test::gaussian(static_cast<std::size_t>(18 * 192), 98);
  calib::CcqOptions o;
  o.search = 2;
  check_seq_tiles<Wint25Words<16>>(
      calib::ccq_wint25_quantize(MatrixView<const float>(w.data(), 18, 192), o), 99);
}
