// SPDX-License-Identifier: Apache-2.0
// tests/pack/test_base3.cpp: the Base3x5 layout (5 trits per byte): golden bytes, the fixed-point
// digit decode on every byte value, round trips through repack on tail sizes, bits per weight.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "lowbit/calib/ternary_threshold.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/rng.hpp"

using namespace lowbit;

TEST_CASE("Base3x5: the fixed-point digits of every base-3 number", "[pack][base3]") {
  for (std::uint32_t v = 0; v < 243; ++v) {
    const std::uint32_t q = Base3x5::byte_of(v);
    REQUIRE(q <= 255);
    REQUIRE(Base3x5::value_of(q) == v);
    std::uint32_t x = v;
    for (int n = 4; n >= 0; --n) {  // d4 is the least significant digit
      REQUIRE(Base3x5::digit_of(q, n) == x % 3);
      x /= 3;
    }
  }
}

TEST_CASE("Base3x5: golden bytes", "[pack][base3]") {
  using S = Ternary<f16>;
  // One row of 7 codes: B = 2 bytes; byte 0 = (c0, c2, c4, c6, 0), byte 1 = (c1, c3, c5, 0, 0).
  PackedMatrix<S, PerChannel, Base3x5> m(1, 7);
  REQUIRE(m.codes().size() == 2);
  const std::uint32_t c[7] = {2, 1, 0, 2, 1, 1, 2};
  for (Index k = 0; k < 7; ++k) m.set_code(0, k, c[k]);
  // byte 0: v = 2·81 + 0·27 + 1·9 + 2·3 + 0 = 177 → ceil(177·256/243) = 187
  // byte 1: v = 1·81 + 2·27 + 1·9 + 0 + 0 = 144 → ceil(144·256/243) = 152
  CHECK(std::to_integer<int>(m.codes()[0]) == 187);
  CHECK(std::to_integer<int>(m.codes()[1]) == 152);
  for (Index k = 0; k < 7; ++k) CHECK(m.code(0, k) == c[k]);
  // A full chunk: byte m holds codes m, m+32, m+64, m+96, m+128.
  PackedMatrix<S, PerChannel, Base3x5> f(1, 165);
  REQUIRE(f.codes().size() == 33);  // 32 + ceil(5/5)
  f.set_code(0, 32 + 3, 1);         // digit 1 of byte 3
  CHECK(std::to_integer<int>(f.codes()[3]) == static_cast<int>(Base3x5::byte_of(27)));
  f.set_code(0, 162, 2);  // tail chunk of 5 codes, B = 1: digit 2 of byte 32
  CHECK(std::to_integer<int>(f.codes()[32]) == static_cast<int>(Base3x5::byte_of(18)));
}

TEST_CASE("Base3x5: repack round trips on tail sizes; 1.6 bits per code", "[pack][base3]") {
  std::mt19937 rng(5);
  for (Index cols : {1,  2,  3,  4,   5,   6,   7,   9,   15,  16,  17,  31,  32,  33,
                     63, 64, 65, 127, 128, 129, 159, 160, 161, 319, 320, 321, 1000}) {
    INFO("cols " << cols);
    const Index rows = 3;
    const auto w = test::gaussian(static_cast<std::size_t>(rows * cols),
                                  40 + static_cast<std::uint64_t>(cols));
    const auto plain = calib::ternarize<f16, PerChannel>(
        MatrixView<const float>(w.data(), rows, cols), calib::TernaryMethod::kTwn);
    const auto b3 = repack<Base3x5>(plain);
    REQUIRE(b3.codes().size() == static_cast<std::size_t>(rows * Base3x5::row_bytes(cols)));
    REQUIRE(static_cast<Index>(b3.codes().size()) <= rows * (cols / 5 + 1));
    for (Index r = 0; r < rows; ++r)
      for (Index k = 0; k < cols; ++k) REQUIRE(b3.code(r, k) == plain.code(r, k));
    const auto back = repack<Plain>(b3);
    REQUIRE(std::equal(back.codes().begin(), back.codes().end(), plain.codes().begin()));
    CHECK(dequantize(b3) == dequantize(plain));
    CHECK(b3.bits_per_weight() == 1.6 + 16.0 / static_cast<double>(cols));
    // Overwriting codes in place keeps the neighbours.
    auto m = repack<Base3x5>(plain);
    const Index k = static_cast<Index>(rng() % static_cast<unsigned>(cols));
    m.set_code(1, k, (plain.code(1, k) + 1) % 3);
    for (Index j = 0; j < cols; ++j)
      REQUIRE(m.code(1, j) == (j == k ? (plain.code(1, k) + 1) % 3 : plain.code(1, j)));
  }
}

TEST_CASE("Trit5Tiles: golden bytes, repack round trips, 1.6 bits per code", "[pack][base3]") {
  using S = Ternary<f16>;
  // NR = 4, KB = 20: one chunk of 16 bytes per block; byte 4·r + i holds the codes of row r,
  // columns i, i+4, i+8, i+12, i+16 as digits d0..d4.
  PackedMatrix<S, PerChannel, Trit5Tiles<4, 20>> m(4, 20);
  REQUIRE(m.codes().size() == 16);
  m.set_code(2, 3, 2);   // d0 of byte 11
  m.set_code(2, 11, 1);  // d2 of byte 11
  m.set_code(2, 19, 2);  // d4 of byte 11
  CHECK(std::to_integer<int>(m.codes()[11]) ==
        static_cast<int>(Base3x5::byte_of(2 * 81 + 1 * 9 + 2)));  // v = 173 → 183
  CHECK(std::to_integer<int>(m.codes()[11]) == 183);
  for (int b = 0; b < 16; ++b)
    if (b != 11) CHECK(std::to_integer<int>(m.codes()[static_cast<std::size_t>(b)]) == 0);
  // Two blocks: column 20 starts block 1 (16 bytes further).
  PackedMatrix<S, PerChannel, Trit5Tiles<4, 20>> two(4, 21);
  REQUIRE(two.codes().size() == 32);
  two.set_code(0, 20, 1);
  CHECK(std::to_integer<int>(two.codes()[16]) == static_cast<int>(Base3x5::byte_of(81)));

  for (Index cols : {1, 4, 5, 19, 20, 21, 39, 40, 41, 159, 160, 161, 333}) {
    INFO("cols " << cols);
    const Index rows = 19;
    const auto w = test::gaussian(static_cast<std::size_t>(rows * cols),
                                  70 + static_cast<std::uint64_t>(cols));
    const auto plain = calib::ternarize<f16, PerChannel>(
        MatrixView<const float>(w.data(), rows, cols), calib::TernaryMethod::kTwn);
    const auto t = repack<Trit5Tiles<8, 160>>(plain);
    REQUIRE(t.codes().size() ==
            static_cast<std::size_t>(ceil_div<Index>(rows, 8) * ceil_div<Index>(cols, 160) * 256));
    for (Index r = 0; r < rows; ++r)
      for (Index k = 0; k < cols; ++k) REQUIRE(t.code(r, k) == plain.code(r, k));
    const auto back = repack<Plain>(t);
    REQUIRE(std::equal(back.codes().begin(), back.codes().end(), plain.codes().begin()));
    const auto b3 = repack<Base3x5>(t);  // tile → row layout through the accessors
    for (Index r = 0; r < rows; ++r)
      for (Index k = 0; k < cols; ++k) REQUIRE(b3.code(r, k) == plain.code(r, k));
    CHECK(std::fabs(t.bits_per_weight() - (plain.bits_per_weight() - 2.0 + 1.6)) < 1e-12);
    // The block decode (what the SIMD kernels must match) is the inverse of the block encode.
    std::vector<std::uint8_t> lanes(8 * 160);
    Trit5Tiles<8, 160>::unpack_block(2, t.codes().data(), lanes.data());
    for (Index j = 0; j < 40; ++j)
      for (Index r = 0; r < 8 && r < rows; ++r)
        for (Index i = 0; i < 4; ++i)
          if (4 * j + i < cols)
            REQUIRE(lanes[static_cast<std::size_t>(j * 32 + r * 4 + i)] ==
                    plain.code(r, 4 * j + i));
  }
}
