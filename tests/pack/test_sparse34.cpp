// SPDX-License-Identifier: Apache-2.0
// tests/pack/test_sparse34.cpp: 3:4 sparse ternary in five bits per group of four: the index
// table, golden bytes of Sparse34 and Sparse34Tiles, repack round trips, and the errors for
// codes that are not 3:4 patterns and for column counts that are not multiples of 4.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "lowbit/calib/ternary_threshold.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/rng.hpp"

using namespace lowbit;

TEST_CASE("Sparse34: the 32 indices are the 32 3:4 patterns", "[pack][sparse34]") {
  std::set<std::uint32_t> lanes;
  for (int idx = 0; idx < 32; ++idx) {
    const std::uint32_t lane = detail::sparse34_lane(idx);
    std::uint8_t c[4];
    for (int i = 0; i < 4; ++i) c[i] = static_cast<std::uint8_t>(lane >> (8 * i));
    REQUIRE(std::count(c, c + 4, 1) == 1);
    REQUIRE(std::count(c, c + 4, 0) + std::count(c, c + 4, 2) == 3);
    REQUIRE(detail::sparse34_index(c) == idx);
    lanes.insert(lane);
  }
  CHECK(lanes.size() == 32);
  // Every other group of codes 0..3 is rejected.
  int valid = 0;
  for (int v = 0; v < 256; ++v) {
    const std::uint8_t c[4] = {
        static_cast<std::uint8_t>(v & 3), static_cast<std::uint8_t>(v >> 2 & 3),
        static_cast<std::uint8_t>(v >> 4 & 3), static_cast<std::uint8_t>(v >> 6)};
    valid += detail::sparse34_index(c) >= 0 ? 1 : 0;
  }
  CHECK(valid == 32);
}

TEST_CASE("Sparse34: golden bytes and the header's example", "[pack][sparse34]") {
  using S = Ternary<f16>;
  // (1, 0, 2, 2) → idx 24, (0, 1, 0, 2) → idx 17; 24 + 17·32 = 568 → 0x38 0x02.
  const std::uint8_t codes[8] = {1, 0, 2, 2, 0, 1, 0, 2};
  PackedMatrix<S, PerChannel, Plain> plain(1, 8);
  for (Index k = 0; k < 8; ++k) plain.set_code(0, k, codes[k]);
  const auto sp = repack<Sparse34>(plain);
  REQUIRE(sp.codes().size() == 2);
  CHECK(std::to_integer<int>(sp.codes()[0]) == 0x38);
  CHECK(std::to_integer<int>(sp.codes()[1]) == 0x02);
  for (Index k = 0; k < 8; ++k) CHECK(sp.code(0, k) == codes[k]);
  // A sign flip in place keeps the pattern; idx 24 → (1, 2, 2, 2) = 28.
  auto m = sp.clone();
  m.set_code(0, 1, 2);
  CHECK((std::to_integer<int>(m.codes()[0]) & 31) == 28);
  // Moving the zero by one write breaks the pattern: an Error, the bytes unchanged.
  REQUIRE_THROWS_AS(m.set_code(0, 0, 0), Error);
  CHECK((std::to_integer<int>(m.codes()[0]) & 31) == 28);

  // Sparse34Tiles<4, 128>: unit of 32 steps = 5 chunks of 16 bytes; lane r of chunk q holds the
  // low nibbles of steps 8q .. 8q+7, chunk 4 the high bits. Row 1, step 9 (columns 36..39) =
  // (0, 1, 0, 2) = idx 17: nibble 1 at bits 4..7 of lane 1 of chunk 1 (byte 16 + 4 + 0), high
  // bit 1 at bit 9 of lane 1 of chunk 4 (byte 64 + 4 + 1, bit 1).
  PackedMatrix<S, PerChannel, Plain> p2(4, 128);
  for (Index r = 0; r < 4; ++r)
    for (Index k = 0; k < 128; ++k) p2.set_code(r, k, k % 4 == 0 ? 1 : 0);  // idx 0 everywhere
  for (Index k = 0; k < 4; ++k) p2.set_code(1, 36 + k, codes[4 + k]);
  const auto t = repack<Sparse34Tiles<4, 128>>(p2);
  REQUIRE(t.codes().size() == 80);
  for (std::size_t b = 0; b < 80; ++b) {
    INFO("byte " << b);
    const int want = b == 20 ? 0x10 : (b == 69 ? 0x02 : 0);
    CHECK(std::to_integer<int>(t.codes()[b]) == want);
  }
}

TEST_CASE("Sparse34 layouts: Sherry round trips, 1.25 bits per code, errors", "[pack][sparse34]") {
  for (Index cols : {4, 8, 12, 124, 128, 132, 252, 256, 260, 1000}) {
    INFO("cols " << cols);
    const Index rows = 21;
    const auto w = test::gaussian(static_cast<std::size_t>(rows * cols),
                                  90 + static_cast<std::uint64_t>(cols));
    const auto plain =
        calib::ternarize_sherry<f16, PerChannel>(MatrixView<const float>(w.data(), rows, cols));
    const auto sp = repack<Sparse34>(plain);
    REQUIRE(sp.codes().size() == static_cast<std::size_t>(rows * ((cols / 4 * 5 + 7) / 8)));
    const auto t = repack<Sparse34Tiles<16, 128>>(plain);
    const auto t2 = repack<Sparse34Tiles<8, 256>>(sp);
    for (Index r = 0; r < rows; ++r)
      for (Index k = 0; k < cols; ++k) {
        REQUIRE(sp.code(r, k) == plain.code(r, k));
        REQUIRE(t.code(r, k) == plain.code(r, k));
        REQUIRE(t2.code(r, k) == plain.code(r, k));
      }
    const auto back = repack<Plain>(t);
    REQUIRE(std::equal(back.codes().begin(), back.codes().end(), plain.codes().begin()));
    const auto back2 = repack<Plain>(sp);
    REQUIRE(std::equal(back2.codes().begin(), back2.codes().end(), plain.codes().begin()));
    CHECK(dequantize(sp) == dequantize(plain));
    CHECK(std::fabs(sp.bits_per_weight() - (plain.bits_per_weight() - 2.0 + 1.25)) < 1e-12);
    CHECK(t.bits_per_weight() == sp.bits_per_weight());
  }
  // Codes that are not 3:4 patterns (plain TWN ternary) and odd column counts.
  const auto w = test::gaussian(64 * 64, 3);
  const auto twn = calib::ternarize<f16, PerChannel>(MatrixView<const float>(w.data(), 64, 64),
                                                     calib::TernaryMethod::kTwn);
  REQUIRE_THROWS_AS(repack<Sparse34>(twn), Error);
  REQUIRE_THROWS_AS((repack<Sparse34Tiles<16, 128>>(twn)), Error);
  REQUIRE_THROWS_AS((PackedMatrix<Ternary<f16>, PerChannel, Sparse34>(3, 6)), Error);
  REQUIRE_THROWS_AS((PackedMatrix<Ternary<f16>, PerChannel, Sparse34Tiles<16, 128>>(3, 10)), Error);
}
