// SPDX-License-Identifier: Apache-2.0
// tests/pack/test_interleaved.cpp: the Interleaved<NR, KB> layout: the diagram's example bit by
// bit, accessor round trips, pack_block/unpack_block, repack both ways, the SIMD unpack kernels
// against the scalar unpack on every compiled ISA.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/isa_list.hpp"
#include "support/rng.hpp"

using namespace lowbit;

namespace {

template <int Bits>
using Sym = Symmetric<Bits, SymmetricConvention::kFullRange, f16>;
template <int Bits>
using Asym = Asymmetric<Bits, AsymmetricOffset::kIntZero, float>;

}  // namespace

TEST_CASE("Interleaved: the header's example, bit for bit", "[interleaved]") {
  // NR = 2, KB = 32, B = 3: code (1, 22) = 0b101 lives in the 2-bit plane (bits c2 c1 = 0b10)
  // at chunk 1, byte 6, bits 3-2, and in the 1-bit plane (c0 = 1) at chunk 0, byte 6, bit 5.
  using L = Interleaved<2, 32>;
  using S = Asym<3>;
  PackedMatrix<S, PerChannel, L> w(2, 32);
  REQUIRE(w.codes().size() == 2 * 32 * 3 / 8);
  w.set_code(1, 22, 5);
  const auto b = w.codes();
  for (std::size_t i = 0; i < b.size(); ++i) {
    const unsigned v = std::to_integer<unsigned>(b[i]);
    if (i == 8 + 6) {
      CHECK(v == (0b10u << 2));
    } else if (i == 16 + 6) {
      CHECK(v == (1u << 5));
    } else {
      CHECK(v == 0u);
    }
  }
  CHECK(w.code(1, 22) == 5u);
  CHECK(w.code(0, 22) == 0u);
  CHECK(w.code(1, 21) == 0u);
}

TEST_CASE("Interleaved: byte order of 4-bit and 8-bit planes", "[interleaved]") {
  // 4 bits: one plane, 2 steps per chunk: step j of row r, column i at chunk j/2, byte 4r+i,
  // nibble j%2. 8 bits: one byte per code, chunk j = step j.
  PackedMatrix<Asym<4>, PerChannel, Interleaved<4, 32>> w4(4, 32);
  w4.set_code(2, 13, 0xA);  // step 3 (columns 12..15), i = 1: chunk 1, byte 9, high nibble
  CHECK(std::to_integer<unsigned>(w4.codes()[16 + 9]) == 0xA0u);
  PackedMatrix<Asym<8>, PerChannel, Interleaved<4, 32>> w8(4, 32);
  w8.set_code(3, 30, 0xC5);  // step 7, i = 2: chunk 7, byte 14
  CHECK(std::to_integer<unsigned>(w8.codes()[7 * 16 + 14]) == 0xC5u);
}

namespace {

template <int Bits, int NR>
void check_accessors_and_blocks() {
  using L = Interleaved<NR, 32>;
  std::mt19937 rng(Bits * 100 + NR);
  for (Index rows : {1, 3, NR, NR + 1, 2 * NR + 3}) {
    for (Index cols : {1, 5, 31, 32, 33, 64, 65, 100}) {
      PackedMatrix<Asym<Bits>, PerChannel, L> w(rows, cols);
      std::vector<std::uint32_t> ref(static_cast<std::size_t>(rows * cols));
      for (auto& c : ref) c = rng() & ((1u << Bits) - 1u);
      for (Index r = 0; r < rows; ++r)
        for (Index k = 0; k < cols; ++k)
          w.set_code(r, k, ref[static_cast<std::size_t>(r * cols + k)]);
      for (Index r = 0; r < rows; ++r)
        for (Index k = 0; k < cols; ++k)
          REQUIRE(w.code(r, k) == ref[static_cast<std::size_t>(r * cols + k)]);
      // pack_block(unpack_block(block)) reproduces every block; padding codes are zero.
      const Index nb = L::blocks(cols);
      std::vector<std::uint8_t> lanes(static_cast<std::size_t>(NR * 32));
      std::vector<std::byte> again(static_cast<std::size_t>(L::block_bytes(Bits)));
      for (Index t = 0; t < L::tiles(rows); ++t) {
        for (Index b = 0; b < nb; ++b) {
          const std::byte* blk = w.codes().data() + (t * nb + b) * L::block_bytes(Bits);
          L::unpack_block(Bits, blk, lanes.data());
          for (Index j = 0; j < 8; ++j)
            for (Index r = 0; r < NR; ++r)
              for (Index i = 0; i < 4; ++i) {
                const Index row = t * NR + r, col = b * 32 + j * 4 + i;
                const std::uint32_t want = row < rows && col < cols ? w.code(row, col) : 0u;
                REQUIRE(lanes[static_cast<std::size_t>(j * NR * 4 + r * 4 + i)] == want);
              }
          L::pack_block(Bits, lanes.data(), again.data());
          REQUIRE(std::memcmp(again.data(), blk, again.size()) == 0);
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("Interleaved: accessors and block (un)packing, every width", "[interleaved]") {
  check_accessors_and_blocks<2, 4>();
  check_accessors_and_blocks<3, 8>();
  check_accessors_and_blocks<4, 8>();
  check_accessors_and_blocks<5, 16>();
  check_accessors_and_blocks<6, 4>();
  check_accessors_and_blocks<7, 8>();
  check_accessors_and_blocks<8, 16>();
}

namespace {

template <class S, class G, int NR>
void check_repack() {
  std::uint64_t seed = 77;
  for (Index rows : {1, 7, NR + 1, 33}) {
    for (Index cols : {1, 31, 33, 64, 129, 300}) {
      const auto wf = test::student_t4(static_cast<std::size_t>(rows * cols), ++seed);
      const auto p = quantize<S, G, Plain>(MatrixView<const float>(wf.data(), rows, cols), {});
      const auto il = repack<Interleaved<NR, 32>>(p, 2);
      const auto back = repack<Plain>(il, 3);
      INFO("rows " << rows << " cols " << cols);
      REQUIRE(std::memcmp(back.codes().data(), p.codes().data(), p.codes().size()) == 0);
      for (Index r = 0; r < rows; ++r)
        for (Index k = 0; k < cols; ++k) {
          REQUIRE(il.code(r, k) == p.code(r, k));
          REQUIRE(std::memcmp(&il.params_at(r, k), &p.params_at(r, k),
                              sizeof(typename S::Params)) == 0);
        }
      REQUIRE(il.bits_per_weight() == p.bits_per_weight());
    }
  }
}

}  // namespace

TEST_CASE("repack: Plain -> Interleaved -> Plain is the identity", "[interleaved]") {
  check_repack<Sym<4>, PerGroup<32>, 8>();
  check_repack<Sym<3>, PerGroup<64>, 16>();
  check_repack<Asym<2>, PerChannel, 4>();
  check_repack<Asym<8>, PerTensor, 8>();
  check_repack<Asymmetric<5, AsymmetricOffset::kFloatMin, bf16>, PerGroup<128>, 16>();
}

namespace {

template <int Bits, int NR>
void check_unpack_kernels() {
  using L = Interleaved<NR, 32>;
  std::mt19937 rng(Bits);
  std::vector<std::byte> block(static_cast<std::size_t>(L::block_bytes(Bits)));
  for (int trial = 0; trial < 20; ++trial) {
    for (auto& b : block) b = std::byte(static_cast<std::uint8_t>(rng()));
    std::vector<std::uint8_t> want(static_cast<std::size_t>(NR * 32));
    L::unpack_block(Bits, block.data(), want.data());
    test::for_each_isa([&](auto tag) {
      using Isa = decltype(tag);
      std::vector<std::uint8_t> got(want.size(), 0xEE);
      unpack_block<Isa, Bits, NR, 32>(block.data(), got.data());
      INFO(std::string(Isa::name()) << " bits " << Bits << " NR " << NR);
      REQUIRE(got == want);
    });
  }
}

}  // namespace

TEST_CASE("unpack kernels == scalar unpack, every ISA", "[interleaved][unpack]") {
  check_unpack_kernels<2, 8>();
  check_unpack_kernels<3, 8>();
  check_unpack_kernels<4, 8>();
  check_unpack_kernels<8, 8>();
  check_unpack_kernels<2, 16>();
  check_unpack_kernels<3, 16>();
  check_unpack_kernels<4, 16>();
  check_unpack_kernels<5, 16>();
  check_unpack_kernels<6, 16>();
  check_unpack_kernels<7, 16>();
  check_unpack_kernels<8, 16>();
  check_unpack_kernels<4, 4>();
}
