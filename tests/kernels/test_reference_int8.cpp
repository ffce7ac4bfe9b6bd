// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_reference_int8.cpp: int8 activations and the integer-path reference GEMM.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lowbit/kernels/reference/gemv_int8.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/metrics.hpp"
#include "support/rng.hpp"

using namespace lowbit;

TEST_CASE("int8 activations: per-row scale, range, padding, zero rows, errors", "[activation]") {
  const Index n = 3, k = 70;
  std::vector<float> x = test::gaussian(static_cast<std::size_t>(n * k), 1);
  for (Index c = 0; c < k; ++c) x[static_cast<std::size_t>(2 * k + c)] = 0.0f;  // row 2 all zero
  x[5] = -9.0f;                                                                 // row 0 amax
  Int8Activations a;
  quantize_activations(MatrixView<const float>(x.data(), n, k), a);
  CHECK(a.stride() == 128);
  CHECK(a.scale(0) == 9.0f / 127.0f);
  CHECK(a.row(0)[5] == -127);
  CHECK(a.scale(2) == 0.0f);
  for (Index r = 0; r < n; ++r) {
    for (Index c = 0; c < a.stride(); ++c) {
      const int q = a.row(r)[c];
      REQUIRE(q >= -127);
      REQUIRE(q <= 127);
      if (c >= k || r == 2) REQUIRE(q == 0);  // padding and zero rows
      if (c < k && r < 2) {
        const float xv = x[static_cast<std::size_t>(r * k + c)];
        REQUIRE(std::fabs(a.scale(r) * static_cast<float>(q) - xv) <= 0.5f * a.scale(r) * 1.0001f);
      }
    }
  }
  x[7] = std::numeric_limits<float>::infinity();
  try {
    quantize_activations(MatrixView<const float>(x.data(), n, k), a);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("activation inf at row 0, column 7") != std::string::npos);
  }
}

TEST_CASE("int8 activations per block: each block quantized as a row of its own", "[activation]") {
  const Index n = 3, k = 70, block = 32;  // blocks of 32, 32 and 6 columns
  std::vector<float> x = test::gaussian(static_cast<std::size_t>(n * k), 2);
  for (Index c = 32; c < 64; ++c) x[static_cast<std::size_t>(k + c)] = 0.0f;  // row 1, block 1: 0
  x[3] = 100.0f;                                                              // an outlier channel
  Int8Activations a;
  quantize_activations(MatrixView<const float>(x.data(), n, k), block, a);
  REQUIRE(a.block() == block);
  REQUIRE(a.scales_per_row() == 3);
  CHECK(a.scale(0, 0) == 100.0f / 127.0f);
  CHECK(a.scale(1, 1) == 0.0f);
  for (Index r = 0; r < n; ++r)
    for (Index b = 0; b < 3; ++b) {
      const Index k0 = b * block, len = b < 2 ? block : k - 64;
      std::vector<float> part(x.begin() + r * k + k0, x.begin() + r * k + k0 + len);
      Int8Activations one;
      quantize_activations(MatrixView<const float>(part.data(), 1, len), one);
      REQUIRE(a.scale(r, b) == one.scale(0));
      REQUIRE(a.scales(r)[b] == one.scale(0));
      for (Index c = 0; c < len; ++c) REQUIRE(a.row(r)[k0 + c] == one.row(0)[c]);
    }
  for (Index c = k; c < a.stride(); ++c) REQUIRE(a.row(0)[c] == 0);
  // The outlier costs only its own block: the other blocks of row 0 keep their resolution.
  Int8Activations per_row;
  quantize_activations(MatrixView<const float>(x.data(), n, k), per_row);
  double e_row = 0.0, e_block = 0.0;
  for (Index c = 32; c < k; ++c) {
    e_row += std::fabs(per_row.scale(0) * per_row.row(0)[c] - x[static_cast<std::size_t>(c)]);
    e_block += std::fabs(a.scale(0, c / block) * a.row(0)[c] - x[static_cast<std::size_t>(c)]);
  }
  CHECK(e_block < 0.05 * e_row);
  CHECK_THROWS_AS(Int8Activations(1, 4, -1), Error);
  // Quantizing into an object that held wider rows (junk in the old padding) reuses its buffers
  // and gives what a fresh object gives, padding zero included.
  std::vector<float> wide = test::gaussian(static_cast<std::size_t>(4 * 300), 3);
  Int8Activations reused;
  quantize_activations(MatrixView<const float>(wide.data(), 4, 300), 32, reused);
  const std::int8_t* buffer = reused.row(0);
  quantize_activations(MatrixView<const float>(x.data(), n, k), block, reused);
  CHECK(reused.row(0) == buffer);
  REQUIRE(reused.stride() == a.stride());
  REQUIRE(reused.scales_per_row() == a.scales_per_row());
  for (Index r = 0; r < n; ++r) {
    for (Index c = 0; c < a.stride(); ++c) REQUIRE(reused.row(r)[c] == a.row(r)[c]);
    for (Index b = 0; b < a.scales_per_row(); ++b) REQUIRE(reused.scale(r, b) == a.scale(r, b));
  }
}

TEST_CASE("gemm_int8 with a scale per activation block is exact where every value is exact",
          "[reference_int8]") {
  using S = Asymmetric<4, AsymmetricOffset::kIntZero, float>;
  PackedMatrix<S, PerGroup<4>, Plain> w(1, 6);
  const int codes[6] = {0, 1, 2, 3, 15, 7};
  for (Index c = 0; c < 6; ++c) w.set_code(0, c, static_cast<std::uint32_t>(codes[c]));
  w.params()[0] = {0.5f, 3};
  w.params()[1] = {2.0f, 1};
  // Block 0 amax 127 (scale 1), block 1 amax 254 (scale 2): codes 127 and -127.
  const std::vector<float> xf = {127.0f, -1.0f, 2.0f, 0.0f, 254.0f, -254.0f};
  Int8Activations a;
  quantize_activations(MatrixView<const float>(xf.data(), 1, 6), 4, a);
  REQUIRE(a.scale(0, 0) == 1.0f);
  REQUIRE(a.scale(0, 1) == 2.0f);
  std::vector<float> y(1);
  ref::gemv_int8(w, a, VectorView<float>(y.data(), 1));
  // group 0: 0.5*((0-3)*127 + (1-3)*-1 + (2-3)*2 + 0) = -190.5, times 1;
  // group 1: 2*((15-1)*127 + (7-1)*-127) = 2032, times 2
  CHECK(y[0] == -190.5f + 4064.0f);
  // Blocks that are not the weight groups are refused.
  Int8Activations bad;
  quantize_activations(MatrixView<const float>(xf.data(), 1, 6), 2, bad);
  CHECK_THROWS_AS(ref::gemv_int8(w, bad, VectorView<float>(y.data(), 1)), Error);
}

TEST_CASE("gemm_int8 is exact where every value is exact", "[reference_int8]") {
  // f32 power-of-two scales, small integers: every product and sum is exact in fp32, so the
  // result must equal the integer arithmetic done by hand.
  using S = Asymmetric<4, AsymmetricOffset::kIntZero, float>;
  PackedMatrix<S, PerGroup<4>, Plain> w(2, 6);
  const int codes[2][6] = {{0, 1, 2, 3, 15, 7}, {8, 8, 8, 8, 1, 2}};
  for (Index r = 0; r < 2; ++r) {
    for (Index c = 0; c < 6; ++c) w.set_code(r, c, static_cast<std::uint32_t>(codes[r][c]));
  }
  // row 0: groups (s=0.5, z=3) and (s=2, z=1); row 1: (s=0.25, z=8) and (s=1, z=0)
  w.params()[0] = {0.5f, 3};
  w.params()[1] = {2.0f, 1};
  w.params()[2] = {0.25f, 8};
  w.params()[3] = {1.0f, 0};
  const std::vector<float> xf = {127.0f, -1.0f, 2.0f, 0.0f, 3.0f, -4.0f};  // amax 127: s_x = 1
  Int8Activations a;
  quantize_activations(MatrixView<const float>(xf.data(), 1, 6), a);
  REQUIRE(a.scale(0) == 1.0f);
  std::vector<float> y(2);
  ref::gemv_int8(w, a, VectorView<float>(y.data(), 2));
  // row 0: 0.5*((0-3)*127 + (1-3)*-1 + (2-3)*2 + 0) + 2*((15-1)*3 + (7-1)*-4) = 0.5*(-381) + 2*18
  CHECK(y[0] == 0.5f * -381.0f + 36.0f);
  // row 1: 0.25*0 + 1*(1*3 + 2*-4) = -5
  CHECK(y[1] == -5.0f);
}

TEMPLATE_TEST_CASE("gemm_int8 matches the double-precision product of the decoded operands",
                   "[reference_int8]", (Symmetric<4, SymmetricConvention::kSignedMax, f16>),
                   (Asymmetric<3, AsymmetricOffset::kIntZero, bf16>),
                   (Asymmetric<2, AsymmetricOffset::kFloatMin, f16>),
                   (Symmetric<8, SymmetricConvention::kRestricted, float>)) {
  using S = TestType;
  std::uint64_t seed = 10;
  for (Index m : {1, 3, 17, 33}) {
    for (Index k : {1, 7, 31, 32, 33, 65, 129}) {
      const std::vector<float> wf = test::gaussian(static_cast<std::size_t>(m * k), ++seed);
      const auto w = quantize<S, PerGroup<32>, Plain>(MatrixView<const float>(wf.data(), m, k), {});
      const std::vector<float> wd = dequantize(w);
      for (Index n : {1, 4})
        for (Index block : {0, 32}) {
          const std::vector<float> xf = test::gaussian(static_cast<std::size_t>(n * k), ++seed);
          Int8Activations a;
          quantize_activations(MatrixView<const float>(xf.data(), n, k), block, a);
          std::vector<float> y(static_cast<std::size_t>(n * m));
          ref::gemm_int8(w, a, MatrixView<float>(y.data(), n, m));
          for (Index t = 0; t < n; ++t) {
            for (Index r = 0; r < m; ++r) {
              double exact = 0.0, mag = 0.0;
              for (Index c = 0; c < k; ++c) {
                const double p = static_cast<double>(wd[static_cast<std::size_t>(r * k + c)]) *
                                 a.scale(t, block > 0 ? c / block : 0) * a.row(t)[c];
                exact += p;
                mag += std::fabs(p);
              }
              REQUIRE(std::fabs(y[static_cast<std::size_t>(t * m + r)] - exact) <=
                      1e-5 * mag + 1e-30);
            }
          }
        }
    }
  }
}
