// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_gemm_f32.cpp: float-activation path within its bound (gemm_check.hpp).
#include "gemm_check.hpp"

using namespace lowbit;

TEST_CASE("gemm_f32 ~ ref::gemm: 2, 3, 4, 8-bit", "[gemm][f32]") {
  test::check_float_path<Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerGroup<32>, 8>(21);
  test::check_float_path<Asymmetric<4, AsymmetricOffset::kFloatMin, f16>, PerGroup<64>, 16>(22);
  test::check_float_path<Symmetric<3, SymmetricConvention::kFullRange, bf16>, PerGroup<32>, 16>(23);
  test::check_float_path<Asymmetric<2, AsymmetricOffset::kIntZero, float>, PerChannel, 4>(24);
  test::check_float_path<Asymmetric<8, AsymmetricOffset::kIntZero, f16>, PerTensor, 8>(25);
}
TEST_CASE("gemm_f32 ~ ref::gemm: binary and ternary", "[gemm][f32][binary][ternary]") {
  test::check_float_path<Binary<BinaryOffset::kMean, f16>, PerGroup<64>, 16>(26);
  test::check_float_path<Binary<BinaryOffset::kNone, f16>, PerTensor, 8>(27);
  test::check_float_path<Ternary<bf16>, PerGroup<32>, 8>(28);
}
TEST_CASE("gemm_f32 ~ ref::gemm: groups of half a block (PerGroup<16>)", "[gemm][f32]") {
  test::check_float_path<Symmetric<6, SymmetricConvention::kSignedMax, float>, PerGroup<16>, 16>(
      29);
  test::check_float_path<Asymmetric<2, AsymmetricOffset::kFloatMin, float>, PerGroup<16>, 8>(30);
}
