// SPDX-License-Identifier: Apache-2.0
// tests/pack/test_plain.cpp: the Plain layout: golden bytes, every width 1..8 on tail sizes,
// bulk pack/unpack against the scalar accessors.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"

using namespace lowbit;

namespace {

// A bare scheme of N-bit codes, enough for the layout (layouts never look at values).
template <int N>
struct CodesOnly {
  static constexpr int kCodeBits = N;
  static constexpr int kParamBits = 0;
  struct Params {};
  static std::string name() { return "codes" + std::to_string(N); }
  static constexpr SchemeDescriptor descriptor() { return {}; }
};

const std::vector<Index> kTailSizes = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,  12,  13,
                                       14, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129};

template <int N>
void check_width() {
  using S = CodesOnly<N>;
  std::mt19937 rng(N);
  for (Index cols : kTailSizes) {
    const Index rows = 3;
    std::vector<std::uint8_t> codes(static_cast<std::size_t>(rows * cols));
    for (auto& c : codes) c = static_cast<std::uint8_t>(rng() & ((1u << N) - 1u));
    const Index rb = Plain::row_bytes<S>(cols);
    REQUIRE(rb == (cols * N + 7) / 8);
    REQUIRE(Plain::packed_bytes<S>(rows, cols) == rows * rb);
    // Scalar accessor path, starting from garbage bytes to prove put_bits keeps other bits.
    std::vector<std::byte> a(static_cast<std::size_t>(rows * rb), std::byte{0});
    for (Index r = 0; r < rows; ++r) {
      for (Index k = 0; k < cols; ++k)
        Plain::store_code<S>(a, rows, cols, r, k, codes[static_cast<std::size_t>(r * cols + k)]);
    }
    // Bulk path.
    std::vector<std::byte> b(a.size(), std::byte{0xff});
    for (Index r = 0; r < rows; ++r)
      Plain::pack_row<N>(codes.data() + r * cols, cols, b.data() + r * rb);
    REQUIRE(a == b);  // identical bytes, padding bits zero in both
    for (Index r = 0; r < rows; ++r) {
      std::vector<std::uint8_t> back(static_cast<std::size_t>(cols));
      Plain::unpack_row<N>(b.data() + r * rb, cols, back.data());
      for (Index k = 0; k < cols; ++k) {
        REQUIRE(back[static_cast<std::size_t>(k)] == codes[static_cast<std::size_t>(r * cols + k)]);
        REQUIRE(Plain::load_code<S>(b, rows, cols, r, k) ==
                codes[static_cast<std::size_t>(r * cols + k)]);
      }
      // The padding bits of the row's last byte are zero.
      const int pad = static_cast<int>(rb * 8 - cols * N);
      if (pad > 0)
        REQUIRE((std::to_integer<unsigned>(b[static_cast<std::size_t>(r * rb + rb - 1)]) >>
                 (8 - pad)) == 0);
    }
    // Overwriting one code changes only its bits.
    std::vector<std::byte> c = b;
    Plain::put_bits(c.data(), N, cols - 1,
                    (codes[static_cast<std::size_t>(cols - 1)] + 1) & ((1u << N) - 1u));
    for (Index k = 0; k + 1 < cols; ++k)
      REQUIRE(Plain::get_bits(c.data(), N, k) == codes[static_cast<std::size_t>(k)]);
  }
}

}  // namespace

TEST_CASE("Plain packs every width 1..8 on tail sizes", "[plain]") {
  check_width<1>();
  check_width<2>();
  check_width<3>();
  check_width<4>();
  check_width<5>();
  check_width<6>();
  check_width<7>();
  check_width<8>();
}

TEST_CASE("Plain golden bytes", "[plain]") {
  // 4 bits: code 2i in the low nibble of byte i.
  {
    std::vector<std::uint8_t> c{0x1, 0x2, 0x3, 0x4, 0xf};
    std::vector<std::byte> out(3);
    Plain::pack_row<4>(c.data(), 5, out.data());
    CHECK(out == std::vector<std::byte>{std::byte{0x21}, std::byte{0x43}, std::byte{0x0f}});
  }
  // 3 bits, the diagram in plain.hpp: c = 1,2,3,4,5 -> bits 101 100 011 010 001 (LSB first).
  {
    std::vector<std::uint8_t> c{1, 2, 3, 4, 5};
    std::vector<std::byte> out(2);
    Plain::pack_row<3>(c.data(), 5, out.data());
    // stream = 1 | 2<<3 | 3<<6 | 4<<9 | 5<<12 = 0x58D1
    CHECK(out == std::vector<std::byte>{std::byte{0xD1}, std::byte{0x58}});
  }
  // 1 bit: code 8i+j at bit j of byte i.
  {
    std::vector<std::uint8_t> c{1, 0, 0, 0, 0, 0, 0, 1, 1};
    std::vector<std::byte> out(2);
    Plain::pack_row<1>(c.data(), 9, out.data());
    CHECK(out == std::vector<std::byte>{std::byte{0x81}, std::byte{0x01}});
  }
  // 2 bits across two rows: rows start on byte boundaries.
  {
    using S = CodesOnly<2>;
    std::vector<std::byte> buf(Plain::packed_bytes<S>(2, 5));
    CHECK(buf.size() == 4);
    for (Index k = 0; k < 5; ++k) {
      Plain::store_code<S>(buf, 2, 5, 0, k, 3);
      Plain::store_code<S>(buf, 2, 5, 1, k, static_cast<std::uint32_t>(k & 3));
    }
    CHECK(buf == std::vector<std::byte>{std::byte{0xff}, std::byte{0x03}, std::byte{0xe4},
                                        std::byte{0x00}});
  }
}
