// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_gemm_int_b.cpp: int8 path, 5..8-bit schemes and whole-row granularities.
#include "gemm_check.hpp"

using namespace lowbit;

TEST_CASE("gemm_int8 == ref: 8-bit (nibble split without VNNI), per channel / g32",
          "[gemm][int8]") {
  test::check_int8_path<Symmetric<8, SymmetricConvention::kRestricted, float>, PerChannel, 16>(11);
  test::check_int8_path<Asymmetric<8, AsymmetricOffset::kIntZero, f16>, PerGroup<32>, 8>(12);
}
TEST_CASE("gemm_int8 == ref: 5, 6, 7-bit (shorter int16 runs)", "[gemm][int8]") {
  test::check_int8_path<Asymmetric<5, AsymmetricOffset::kIntZero, f16>, PerGroup<64>, 8>(13);
  test::check_int8_path<Symmetric<6, SymmetricConvention::kSignedMax, f16>, PerGroup<32>, 16>(14);
  test::check_int8_path<Asymmetric<7, AsymmetricOffset::kFloatMin, float>, PerTensor, 8>(15);
}
TEST_CASE("gemm_int8 == ref: binary (1 bit, with and without a mean) and ternary",
          "[gemm][int8][binary][ternary]") {
  test::check_int8_path<Binary<BinaryOffset::kMean, f16>, PerGroup<32>, 8>(16);
  test::check_int8_path<Binary<BinaryOffset::kNone, bf16>, PerChannel, 16>(17);
  test::check_int8_path<Ternary<f16>, PerGroup<64>, 16>(18);
  test::check_int8_path<Ternary<float>, PerTensor, 4>(19);
}
TEST_CASE("gemm_int8 == ref: blocks deeper than the activation padding (KB = 96)", "[gemm][int8]") {
  // A single activation row is read in place only while its 64-code zero padding covers the
  // last block; KB = 96 reads a padded copy (k = 1 .. 129 covers both sides).
  test::check_int8_path<Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerChannel, 16,
                        Interleaved<16, 96>>(20);
}
TEST_CASE("gemm_int8 == ref: groups of half a block (PerGroup<16>: ggml's sub-blocks)",
          "[gemm][int8]") {
  // The kernels finish a group after half a block's steps: 2 bits (the slice path's width), 3
  // (planes 2 + 1), 6 (two steps per int16 flush), an odd number of groups (k tails).
  test::check_int8_path<Asymmetric<2, AsymmetricOffset::kFloatMin, float>, PerGroup<16>, 16>(31);
  test::check_int8_path<Symmetric<3, SymmetricConvention::kSignedMax, float>, PerGroup<16>, 8>(32);
  test::check_int8_path<Symmetric<6, SymmetricConvention::kSignedMax, float>, PerGroup<16>, 16>(33);
  test::check_int8_path<Asymmetric<8, AsymmetricOffset::kIntZero, f16>, PerGroup<32>, 16,
                        Interleaved<16, 64>>(34);
}
