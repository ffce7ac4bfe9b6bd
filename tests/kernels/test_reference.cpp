// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_reference.cpp: the reference GEMV/GEMM against Eigen fp32 on the same
// dequantized weights (tail sizes), and quantized GEMV against the fp32 product.
#include <cmath>
#include <vector>

#include "lowbit/interop/eigen.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/metrics.hpp"
#include "support/rng.hpp"
#include "support/tolerances.hpp"

using namespace lowbit;

namespace {

template <class S, class G>
void check_shapes() {
  std::uint64_t seed = 1;
  for (Index m : {1, 2, 3, 5, 8, 9, 15, 16, 17, 31, 33, 64}) {
    for (Index k : {1, 3, 7, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129}) {
      const std::vector<float> w = test::gaussian(static_cast<std::size_t>(m * k), ++seed);
      const auto q =
          quantize<S, G, Plain>(MatrixView<const float>(w.data(), m, k), QuantizeOptions{});
      std::vector<float> wd = dequantize(q);
      for (Index n : {1, 2, 5}) {
        const std::vector<float> x = test::gaussian(static_cast<std::size_t>(n * k), ++seed);
        std::vector<float> y(static_cast<std::size_t>(n * m)), ye(y.size());
        ref::gemm(q, MatrixView<const float>(x.data(), n, k), MatrixView<float>(y.data(), n, m));
        interop::eigen_gemm(MatrixView<const float>(wd.data(), m, k),
                            MatrixView<const float>(x.data(), n, k),
                            MatrixView<float>(ye.data(), n, m));
        for (std::size_t i = 0; i < y.size(); ++i) {
          // Both are fp32 products of the same numbers; Eigen rounds every partial sum in float.
          double mag = 0.0;
          const Index t = static_cast<Index>(i) / m, r = static_cast<Index>(i) % m;
          for (Index c = 0; c < k; ++c)
            mag += std::fabs(static_cast<double>(wd[static_cast<std::size_t>(r * k + c)]) *
                             x[static_cast<std::size_t>(t * k + c)]);
          REQUIRE(std::fabs(static_cast<double>(y[i]) - ye[i]) <= 1e-6 * mag + 1e-30);
        }
        // GEMV equals the first GEMM row exactly (same accumulation).
        std::vector<float> yv(static_cast<std::size_t>(m));
        ref::gemv(q, VectorView<const float>(x.data(), k), VectorView<float>(yv.data(), m));
        for (Index r = 0; r < m; ++r)
          REQUIRE(yv[static_cast<std::size_t>(r)] == y[static_cast<std::size_t>(r)]);
      }
    }
  }
}

}  // namespace

TEST_CASE("reference GEMM/GEMV match Eigen on the dequantized weights", "[reference]") {
  check_shapes<Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerGroup<32>>();
  check_shapes<Asymmetric<3, AsymmetricOffset::kIntZero, bf16>, PerGroup<16>>();
  check_shapes<Asymmetric<2, AsymmetricOffset::kFloatMin, float>, PerChannel>();
  check_shapes<Symmetric<8, SymmetricConvention::kRestricted, f16>, PerTensor>();
}

TEST_CASE("quantized GEMV error shrinks with bits (strided vectors and views)", "[reference]") {
  const Index m = 64, k = 512;
  const std::vector<float> w = test::gaussian(static_cast<std::size_t>(m * k), 99);
  std::vector<float> x2(static_cast<std::size_t>(2 * k));
  const std::vector<float> xs = test::gaussian(static_cast<std::size_t>(k), 98);
  for (Index i = 0; i < k; ++i)
    x2[static_cast<std::size_t>(2 * i)] = xs[static_cast<std::size_t>(i)];
  std::vector<float> exact(static_cast<std::size_t>(m));
  interop::eigen_gemv(MatrixView<const float>(w.data(), m, k), xs.data(), exact.data());
  double prev = 1e9;
  auto err = [&](const auto& q) {
    std::vector<float> y(static_cast<std::size_t>(2 * m), -1.0f);
    ref::gemv(q, VectorView<const float>(x2.data(), k, 2), VectorView<float>(y.data(), m, 2));
    std::vector<float> yc(static_cast<std::size_t>(m));
    for (Index r = 0; r < m; ++r) {
      yc[static_cast<std::size_t>(r)] = y[static_cast<std::size_t>(2 * r)];
      REQUIRE(y[static_cast<std::size_t>(2 * r + 1)] ==
              -1.0f);  // untouched between strided outputs
    }
    return test::rel_l2(yc, exact);
  };
  const MatrixView<const float> v(w.data(), m, k);
  for (double e :
       {err(quantize<Symmetric<2, SymmetricConvention::kSignedMax, f16>, PerGroup<32>, Plain>(v,
                                                                                              {})),
        err(quantize<Symmetric<3, SymmetricConvention::kSignedMax, f16>, PerGroup<32>, Plain>(v,
                                                                                              {})),
        err(quantize<Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerGroup<32>, Plain>(v,
                                                                                              {})),
        err(quantize<Symmetric<8, SymmetricConvention::kSignedMax, f16>, PerGroup<32>, Plain>(
            v, {}))}) {
    CHECK(e < prev);
    prev = e;
  }
  CHECK(prev < 0.01);
}

TEST_CASE("Eigen views round-trip through interop", "[interop]") {
  interop::RowMatrixXf a = interop::RowMatrixXf::Random(5, 7);
  const auto v = interop::view(a);
  CHECK(v.rows() == 5);
  CHECK(v(3, 4) == a(3, 4));
  const auto blk = interop::view(a.block(1, 2, 3, 4));
  CHECK(blk.stride() == 7);
  CHECK(blk(2, 3) == a(3, 5));
  auto m = interop::map(v);
  CHECK(m(4, 6) == a(4, 6));
  auto wv = interop::view_mut(a);
  wv(0, 0) = 42.0f;
  CHECK(a(0, 0) == 42.0f);
}
