// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_gemm_int_a.cpp: int8 path, 2/3/4-bit schemes (see gemm_check.hpp).
#include "gemm_check.hpp"

using namespace lowbit;

TEST_CASE("gemm_int8 == ref: 4-bit symmetric f16, g32, NR 8 and 16", "[gemm][int8]") {
  test::check_int8_path<Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerGroup<32>, 8>(1);
  test::check_int8_path<Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerGroup<32>, 16>(2);
}
TEST_CASE("gemm_int8 == ref: 4-bit asymmetric (int zero, float min), g128/g64", "[gemm][int8]") {
  test::check_int8_path<Asymmetric<4, AsymmetricOffset::kIntZero, f16>, PerGroup<128>, 8>(3);
  test::check_int8_path<Asymmetric<4, AsymmetricOffset::kFloatMin, bf16>, PerGroup<64>, 16>(4);
}
TEST_CASE("gemm_int8 == ref: 3-bit, g32 / g64", "[gemm][int8]") {
  test::check_int8_path<Symmetric<3, SymmetricConvention::kFullRange, f16>, PerGroup<32>, 16>(5);
  test::check_int8_path<Asymmetric<3, AsymmetricOffset::kIntZero, float>, PerGroup<64>, 8>(6);
}
TEST_CASE("gemm_int8 == ref: 2-bit, g32 / g64, NR 4", "[gemm][int8]") {
  test::check_int8_path<Symmetric<2, SymmetricConvention::kFullRange, f16>, PerGroup<32>, 16>(7);
  test::check_int8_path<Asymmetric<2, AsymmetricOffset::kFloatMin, f16>, PerGroup<64>, 4>(8);
}
