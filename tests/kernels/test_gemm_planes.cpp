// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_gemm_planes.cpp: the BitPlanes layout and its kernels: two-plane binary
// (Binary2, one exact dot product per plane) bit for bit against ref::gemm_int8 on every compiled
// ISA, 1 and 3 threads, tail sizes; affine schemes on BitPlanes (planes ORed into the code);
// golden bytes and round trips.
#include "gemm_check.hpp"

using namespace lowbit;

TEST_CASE("gemm_int8 == ref: two-plane binary in BitPlanes", "[gemm][int8][binary]") {
  test::check_int8_path<Binary2<f16>, PerChannel, 16, BitPlanes<16, 32>>(61);
  test::check_int8_path<Binary2<float>, PerGroup<64>, 8, BitPlanes<8, 32>>(62);
}
TEST_CASE("gemm_int8 == ref: affine schemes in BitPlanes", "[gemm][int8]") {
  test::check_int8_path<Binary<BinaryOffset::kMean, f16>, PerGroup<32>, 16, BitPlanes<16, 32>>(64);
}

TEST_CASE("BitPlanes: golden bytes and round trips", "[pack][gemm]") {
  using S = Binary2<f16>;
  // The header's example: NR 4, KB 32, code (1, 13) = 0b10: bit 3 of byte 16 + 5.
  PackedMatrix<S, PerChannel, BitPlanes<4, 32>> m(4, 32);
  REQUIRE(m.codes().size() == 32);
  m.set_code(1, 13, 2);
  for (std::size_t b = 0; b < 32; ++b)
    CHECK(std::to_integer<int>(m.codes()[b]) == (b == 21 ? 8 : 0));
  m.set_code(1, 13, 3);
  CHECK(std::to_integer<int>(m.codes()[5]) == 8);
  CHECK(m.code(1, 13) == 3);
  for (Index cols : {1, 31, 32, 33, 100}) {
    const Index rows = 13;
    const auto w = test::gaussian(static_cast<std::size_t>(rows * cols), 80 + cols);
    const auto plain = calib::binarize2<f16, PerChannel>(
        MatrixView<const float>(w.data(), rows, cols), calib::Binary2Method::kArb);
    const auto t = repack<BitPlanes<8, 32>>(plain);
    for (Index r = 0; r < rows; ++r)
      for (Index k = 0; k < cols; ++k) REQUIRE(t.code(r, k) == plain.code(r, k));
    const auto back = repack<Plain>(t);
    REQUIRE(std::equal(back.codes().begin(), back.codes().end(), plain.codes().begin()));
    // 1-bit codes: byte for byte Interleaved.
    const auto b1 = calib::binarize<BinaryOffset::kNone, f16, PerChannel>(
        MatrixView<const float>(w.data(), rows, cols), calib::BinaryMethod::kXnor);
    const auto bp = repack<BitPlanes<8, 32>>(b1);
    const auto il = repack<Interleaved<8, 32>>(b1);
    REQUIRE(std::equal(bp.codes().begin(), bp.codes().end(), il.codes().begin(), il.codes().end()));
  }
}

TEST_CASE("BitPlanes: plane dot products exact at the int32 bound, int64 reference past it",
          "[gemm][binary][overflow]") {
  // Both planes all ones (code 3), α1 = α2 = 1, mean 2 (decode 4, plane offset 0), activations
  // all 127: each plane's dot product is 127·k, the largest a row can reach (planes are 0/1, so
  // the plane kernels' own int32 bound, 2^31 / 127, lies far beyond the 66,311 columns past
  // which the entry points run the int64 reference for every layout).
  using S = Binary2<f16>;
  for (Index k : {kernels::kMaxExactGroup, kernels::kMaxExactGroup + 40}) {
    PackedMatrix<S, PerChannel, Plain> p(16, k);
    for (auto& prm : p.params()) prm = S::make(2.0f, 1.0f, 1.0f);
    for (Index r = 0; r < 16; ++r)
      for (Index c = 0; c < k; ++c) p.set_code(r, c, 3);
    const auto w = repack<BitPlanes<16, 32>>(p);
    std::vector<float> x(static_cast<std::size_t>(k), 1.0f);
    Int8Activations a;
    quantize_activations(MatrixView<const float>(x.data(), 1, k), a);
    REQUIRE(a.row(0)[k - 1] == 127);
    std::vector<float> want(16), got(16);
    ref::gemm_int8(p, a, MatrixView<float>(want.data(), 1, 16));
    // 4·127·k is a multiple of 4 below 2^26: exact in fp32.
    CHECK(want[0] == static_cast<float>(4.0 * 127.0 * static_cast<double>(k)) * a.scale(0));
    test::for_each_isa([&](auto tag) {
      using Isa = decltype(tag);
      Context ctx(1);
      std::fill(got.begin(), got.end(), -7.0f);
      gemv_int8<Isa>(w, a, VectorView<float>(got.data(), 16), ctx);
      INFO(std::string(Isa::name()) << " k " << k);
      REQUIRE(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
    });
  }
}
