// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_gemm_ternary.cpp: the denser ternary kernel layouts, Trit5Tiles (5 trits
// per byte, 1.6 bpw) and Sparse34Tiles (3:4 sparse, 4 weights in 5 bits, 1.25 bpw): the int8
// path bit for bit against ref::gemm_int8 and the float path within its bound, on every compiled
// ISA, several tile shapes and granularities, tail sizes included (Sparse34: k % 4 == 0 only).
#include "gemm_check.hpp"

using namespace lowbit;

TEST_CASE("gemm_int8 == ref: ternary in Trit5Tiles (5 trits per byte)", "[gemm][int8][ternary]") {
  test::check_int8_path<Ternary<f16>, PerChannel, 16, Trit5Tiles<16, 40>>(31);
  test::check_int8_path<Ternary<float>, PerGroup<40>, 8, Trit5Tiles<8, 20>>(32);
}
TEST_CASE("gemm_int8 == ref: Sherry 3:4 ternary in Sparse34Tiles (4 weights in 5 bits)",
          "[gemm][int8][ternary]") {
  test::check_int8_path<Ternary<f16>, PerChannel, 16, Sparse34Tiles<16, 128>,
                        test::SherryFitter<f16>>(34);
  test::check_int8_path<Ternary<f16>, PerGroup<256>, 4, Sparse34Tiles<4, 128>,
                        test::SherryFitter<f16>>(36);
}
TEST_CASE("gemm_f32 ≈ ref: ternary in Trit5Tiles and Sparse34Tiles", "[gemm][f32][ternary]") {
  test::check_float_path<Ternary<f16>, PerChannel, 16, Trit5Tiles<16, 40>>(37);
  test::check_float_path<Ternary<float>, PerGroup<128>, 4, Sparse34Tiles<4, 128>,
                         test::SherryFitter<float>>(40);
}
