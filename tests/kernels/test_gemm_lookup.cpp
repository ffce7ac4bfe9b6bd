// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_gemm_lookup.cpp: the lookup trellis codes CodeTap7 and CodeLut7 in their
// kernel layout SeqTiles<16, 64> (64-bit lanes of 8 rows' streams, LSB-first): the lane words
// written out by hand, the codes' indices read from the stream as their kernels read them, and
// the fused AVX2 and AVX-512 kernels bit for bit ref::gemm_int8 on every ISA, with row and group
// tails (own TU: the instantiations are split over the CI's cores).
#include <cstdint>
#include <vector>

#include "kernels/sequence_support.hpp"
#include "lowbit/calib/trellis_viterbi.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/rng.hpp"

using namespace lowbit;
using lowbit::test::check_seq_tiles;
using lowbit::test::random_sequence_matrix;

namespace {
using Tap7 = ConvCode<16, 2, 1, CodeTap7>;
using Lut7 = ConvCode<8, 2, 1, CodeLut7>;
}  // namespace

TEST_CASE("SeqTiles<16, 64>: lanes of 64 stream bits, LSB-first", "[gemm][trellis][layout]") {
  // Row 9 (second half of a tile) of 40 columns (80 bits: two lanes): codes 1, 2 at 0, 1; 3 at
  // 31 (bits 62..63 of lane 0); 2 at 32 (bits 0..1 of lane 1).
  PackedMatrix<Tap7, PerGroup<40>, Plain> w(10, 40);
  w.set_code(9, 0, 1);
  w.set_code(9, 1, 2);
  w.set_code(9, 31, 3);
  w.set_code(9, 32, 2);
  const auto t = repack<SeqTiles<16, 64>>(w);
  REQUIRE(t.codes().size() == 2 * 16 * 8);  // 2 lanes × 16 rows × 8 bytes
  const auto* lanes = reinterpret_cast<const std::uint64_t*>(t.codes().data());
  CHECK(lanes[9] == ((1ull << 0) | (2ull << 2) | (3ull << 62)));  // lane 0 of row 9
  CHECK(lanes[16 + 9] == 2ull);                                   // lane 1 of row 9
  for (int i = 0; i < 32; ++i)
    if (i != 9 && i != 16 + 9) CHECK(lanes[i] == 0);
  for (Index k = 0; k < 40; ++k) REQUIRE(t.code(9, k) == w.code(9, k));
  REQUIRE(repack<Plain>(t).code(9, 31) == 3u);
}

TEST_CASE("CodeTap7, CodeLut7: indices read from the LSB-first stream; odd tables", "[trellis]") {
  // The kernels' reading: the 16-bit window w of the LSB-first stream ending with weight t's
  // symbol; CodeTap7's index (w & 7) | ((w >> 9) & 0x78), CodeLut7's (w >> 9) & 127. Checked
  // against the state definitions over every state (the window is the state's last 8 symbols in
  // reverse order).
  for (std::uint32_t s = 0; s < 65536; ++s) {
    std::uint32_t w = 0;
    for (int d = 0; d < 8; ++d) w |= ((s >> (2 * d)) & 3u) << (14 - 2 * d);
    REQUIRE(CodeTap7::index(s) == ((w & 7u) | ((w >> 9) & 0x78u)));
    REQUIRE(CodeLut7::index(s & 255u) == ((w >> 9) & 127u));
  }
  for (int i = 0; i < 128; ++i) {
    REQUIRE(CodeTap7::kTable[static_cast<std::size_t>(127 - i)] ==
            -CodeTap7::kTable[static_cast<std::size_t>(i)]);
    REQUIRE(CodeLut7::kTable[static_cast<std::size_t>(127 - i)] ==
            -CodeLut7::kTable[static_cast<std::size_t>(i)]);
  }
  STATIC_REQUIRE(!Tap7::kStreamMsbFirst);
  STATIC_REQUIRE(!Lut7::kStreamMsbFirst);
  STATIC_REQUIRE(Tap7::descriptor().family == 7);
  STATIC_REQUIRE(Lut7::descriptor().family == 7);
  STATIC_REQUIRE(Tap7::descriptor().variant != Lut7::descriptor().variant);
  STATIC_REQUIRE(ConvCode<16, 2, 2, CodeMx2>::descriptor().family == 5);
}

TEST_CASE("fused CodeTap7 kernel: bit-exact on every ISA with tails", "[gemm][trellis]") {
  const std::uint64_t seed = 1700;
  for (Index rows : {Index{1}, Index{7}, Index{8}, Index{9}, Index{16}, Index{17}, Index{33}}) {
    for (Index cols : {Index{32}, Index{40}, Index{96}})  // a group of one lane; a tail of 8
      check_seq_tiles<SeqTiles<16, 64>>(
          random_sequence_matrix<Tap7, PerGroup<32>>(rows, cols, seed + rows * 1000 + cols),
          seed + rows + cols);
    for (Index cols : {Index{64}, Index{136}, Index{192}})
      check_seq_tiles<SeqTiles<16, 64>>(
          random_sequence_matrix<Tap7, PerGroup<64>>(rows, cols, seed + rows * 1000 + cols),
          seed + rows + cols);
  }
  for (Index rows : {Index{31}, Index{63}, Index{65}, Index{127}, Index{129}})
    check_seq_tiles<SeqTiles<16, 64>>(
        random_sequence_matrix<Tap7, PerGroup<64>>(rows, 200, seed + rows), seed + rows + 1);
  // Codes from the encoder; groups of 128 (four lanes a row).
  const auto w = test::gaussian(static_cast<std::size_t>(20 * 256), 1777);
  check_seq_tiles<SeqTiles<16, 64>>(
      calib::trellis_quantize<Tap7, PerGroup<128>>(MatrixView<const float>(w.data(), 20, 256)),
      1778);
}

TEST_CASE("fused CodeLut7 kernel: bit-exact on every ISA with tails", "[gemm][trellis]") {
  const std::uint64_t seed = 1800;
  for (Index rows : {Index{1}, Index{8}, Index{9}, Index{17}, Index{31}, Index{65}, Index{129}}) {
    for (Index cols : {Index{32}, Index{44}, Index{96}})  // tails of 12 (a window of 4 symbols)
      check_seq_tiles<SeqTiles<16, 64>>(
          random_sequence_matrix<Lut7, PerGroup<32>>(rows, cols, seed + rows * 1000 + cols),
          seed + rows + cols);
    for (Index cols : {Index{64}, Index{200}})
      check_seq_tiles<SeqTiles<16, 64>>(
          random_sequence_matrix<Lut7, PerGroup<64>>(rows, cols, seed + rows * 1000 + cols),
          seed + rows + cols);
  }
  const auto w = test::gaussian(static_cast<std::size_t>(20 * 192), 1877);
  check_seq_tiles<SeqTiles<16, 64>>(
      calib::trellis_quantize<Lut7, PerGroup<64>>(MatrixView<const float>(w.data(), 20, 192)),
      1878);
}
