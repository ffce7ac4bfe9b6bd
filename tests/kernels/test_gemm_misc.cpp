// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_gemm_misc.cpp: thread-count invariance, the int32 exactness bound at its
// limit, the int64 fallback beyond it, empty shapes, errors.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/isa_list.hpp"
#include "support/rng.hpp"

using namespace lowbit;

TEST_CASE("gemm results do not depend on the thread count", "[gemm][threads]") {
  using S = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  const Index m = 203, k = 1000, n = 37;
  const auto wf = test::gaussian(static_cast<std::size_t>(m * k), 5);
  const auto xf = test::gaussian(static_cast<std::size_t>(n * k), 6);
  const auto w = repack<Interleaved<16, 32>>(
      quantize<S, PerGroup<32>, Plain>(MatrixView<const float>(wf.data(), m, k), {}));
  test::for_each_isa([&](auto tag) {
    using Isa = decltype(tag);
    std::vector<float> y1(static_cast<std::size_t>(n * m)), yt(y1.size()), f1(y1.size()),
        ft(y1.size());
    Context c1(1);
    gemm<Isa>(w, MatrixView<const float>(xf.data(), n, k), MatrixView<float>(y1.data(), n, m), c1);
    gemm_f32<Isa>(w, MatrixView<const float>(xf.data(), n, k), MatrixView<float>(f1.data(), n, m),
                  c1);
    for (int threads : {2, 3, 5, 8}) {
      Context ct(threads);
      for (int rep = 0; rep < 2; ++rep) {  // the pool is reused across calls
        gemm<Isa>(w, MatrixView<const float>(xf.data(), n, k), MatrixView<float>(yt.data(), n, m),
                  ct);
        gemm_f32<Isa>(w, MatrixView<const float>(xf.data(), n, k),
                      MatrixView<float>(ft.data(), n, m), ct);
        INFO(std::string(Isa::name()) << " threads " << threads);
        REQUIRE(std::memcmp(y1.data(), yt.data(), y1.size() * sizeof(float)) == 0);
        REQUIRE(std::memcmp(f1.data(), ft.data(), f1.size() * sizeof(float)) == 0);
      }
    }
  });
}

namespace {
/// All codes 255, zero point 0, scale 1, activations all 127: the largest |Σ c·q| of a row.
template <class G>
void check_extreme(Index k) {
  using S = Asymmetric<8, AsymmetricOffset::kIntZero, float>;
  PackedMatrix<S, G, Plain> p(2, k);
  for (auto& prm : p.params()) prm = {1.0f, 0};
  for (Index r = 0; r < 2; ++r)
    for (Index c = 0; c < k; ++c) p.set_code(r, c, 255);
  const auto w = repack<Interleaved<16, 32>>(p);
  std::vector<float> x(static_cast<std::size_t>(k), 1.0f);
  Int8Activations a;
  quantize_activations(MatrixView<const float>(x.data(), 1, k), a);
  REQUIRE(a.row(0)[k - 1] == 127);
  float want[2], got[2];
  ref::gemv_int8(p, a, VectorView<float>(want, 2));
  CHECK(want[0] == static_cast<float>(255.0 * 127.0 * static_cast<double>(k)) * a.scale(0));
  test::for_each_isa([&](auto tag) {
    using Isa = decltype(tag);
    Context ctx(1);
    gemv_int8<Isa>(w, a, VectorView<float>(got, 2), ctx);
    INFO(std::string(Isa::name()) << " k " << k);
    REQUIRE(std::memcmp(got, want, sizeof(got)) == 0);
  });
}
}  // namespace

TEST_CASE("int32 group sums: exact at the bound, int64 reference beyond it", "[gemm][overflow]") {
  check_extreme<PerChannel>(kernels::kMaxExactGroup);       // the longest int32 group
  check_extreme<PerChannel>(kernels::kMaxExactGroup + 40);  // falls back to the reference
  check_extreme<PerTensor>(70000);
}

TEST_CASE("gemm on empty shapes and k = 0", "[gemm]") {
  using S = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  Context ctx(2);
  PackedMatrix<S, PerGroup<32>, Interleaved<8, 32>> w(5, 0);
  Int8Activations a(3, 0);
  std::vector<float> y(15, -1.0f), bias(5, 0.5f);
  gemm_int8(w, a, MatrixView<float>(y.data(), 3, 5), OutputPipeline<AddBias>(AddBias{bias}), ctx);
  for (float v : y) CHECK(v == 0.5f);
  PackedMatrix<S, PerGroup<32>, Interleaved<8, 32>> w0(0, 64);
  Int8Activations a0(2, 64);
  gemm_int8(w0, a0, MatrixView<float>(y.data(), 2, 0), ctx);
}

TEST_CASE("gemm errors name the problem", "[gemm][errors]") {
  using S = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  Context ctx(1);
  PackedMatrix<S, PerGroup<32>, Interleaved<8, 32>> w(8, 64);
  Int8Activations a(2, 63);
  std::vector<float> y(16);
  REQUIRE_THROWS_AS(gemm_int8(w, a, MatrixView<float>(y.data(), 2, 8), ctx), Error);
  Int8Activations b(2, 64);
  REQUIRE_THROWS_AS(gemm_int8(w, b, MatrixView<float>(y.data(), 2, 7), ctx), Error);
  REQUIRE_THROWS_AS(Context(0), Error);
  std::vector<float> x(64, 0.0f);
  x[5] = std::numeric_limits<float>::quiet_NaN();
  REQUIRE_THROWS_AS(
      gemv(w, VectorView<const float>(x.data(), 64), VectorView<float>(y.data(), 8), ctx), Error);
  REQUIRE_THROWS_AS(
      gemv_f32(w, VectorView<const float>(x.data(), 64), VectorView<float>(y.data(), 8, 2), ctx),
      Error);
  // A strided vector is named, whichever of x and y it is.
  std::vector<float> x2(128, 0.0f), y2(16);
  REQUIRE_THROWS_WITH(
      gemv(w, VectorView<const float>(x2.data(), 64, 2), VectorView<float>(y.data(), 8), ctx),
      LOWBIT_CONTAINS("gemv: x must be contiguous (inc 1), got inc 2"));
  REQUIRE_THROWS_WITH(
      gemv(w, VectorView<const float>(x2.data(), 64), VectorView<float>(y2.data(), 8, 2), ctx),
      LOWBIT_CONTAINS("gemv: y must be contiguous (inc 1), got inc 2"));
  REQUIRE_THROWS_WITH(
      gemv_f32(w, VectorView<const float>(x2.data(), 64, 2), VectorView<float>(y.data(), 8), ctx),
      LOWBIT_CONTAINS("gemv_f32: x must be contiguous"));
  Int8Activations one(1, 64);
  REQUIRE_THROWS_WITH(gemv_int8(w, one, VectorView<float>(y2.data(), 8, 2), ctx),
                      LOWBIT_CONTAINS("gemv_int8: y must be contiguous"));
}

TEST_CASE("one NaN policy: every entry point rejects non-finite activations", "[gemm][errors]") {
  using S = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  Context ctx(1);
  PackedMatrix<S, PerGroup<32>, Interleaved<8, 32>> w(8, 64);
  std::vector<float> y(16, 0.0f);
  for (const float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
        -std::numeric_limits<float>::infinity()}) {
    std::vector<float> x(128, 0.25f);
    x[64 + 9] = bad;  // row 1, column 9
    const MatrixView<const float> xv(x.data(), 2, 64);
    const MatrixView<float> yv(y.data(), 2, 8);
    REQUIRE_THROWS_WITH(gemm(w, xv, yv, ctx), LOWBIT_CONTAINS("column 9"));
    REQUIRE_THROWS_WITH(gemm_f32(w, xv, yv, ctx),
                        LOWBIT_CONTAINS("gemm_f32: activations: value") &&
                            LOWBIT_CONTAINS("at row 1, column 9 is not finite"));
    REQUIRE_THROWS_AS(gemv_f32(w, VectorView<const float>(x.data() + 64, 64),
                               VectorView<float>(y.data(), 8), ctx),
                      Error);
  }
}

TEST_CASE("output stages are checked against Y before the kernels run", "[gemm][errors]") {
  using S = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  Context ctx(1);
  PackedMatrix<S, PerGroup<32>, Interleaved<8, 32>> w(8, 64);
  Int8Activations a(2, 64);
  std::vector<float> x(128, 0.5f), y(16, 0.0f), short_bias(7, 1.0f), bias(8, 1.0f);
  const MatrixView<float> yv(y.data(), 2, 8);
  // A bias of 7 values for 8 outputs was a read past its end; now it is an Error.
  REQUIRE_THROWS_WITH(gemm_int8(w, a, yv, OutputPipeline<AddBias>(AddBias{short_bias}), ctx),
                      LOWBIT_CONTAINS("AddBias: bias has 7 values, the output has 8 columns"));
  REQUIRE_THROWS_AS(gemm(w, MatrixView<const float>(x.data(), 2, 64), yv,
                         OutputPipeline<AddBias>(AddBias{short_bias}), ctx),
                    Error);
  REQUIRE_THROWS_AS(gemm_f32(w, MatrixView<const float>(x.data(), 2, 64), yv,
                             OutputPipeline<AddBias>(AddBias{short_bias}), ctx),
                    Error);
  REQUIRE_THROWS_WITH(gemm_int8(w, a, yv, OutputPipeline<Clamp>(Clamp{2.0f, 1.0f}), ctx),
                      LOWBIT_CONTAINS("Clamp: lo 2 is not <= hi 1"));
  gemm_int8(w, a, yv, OutputPipeline<AddBias>(AddBias{bias}), ctx);
  for (float v : y) CHECK(v == 1.0f);  // zero weights: the bias alone
}

TEST_CASE("kernel_name names the kernel gemv runs; KernelLayout is the ISA's tile", "[gemm]") {
  using S = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  using Tiled = PackedMatrix<S, PerGroup<32>, KernelLayout<>>;
  using Flat = PackedMatrix<S, PerGroup<32>, Plain>;
  CHECK(kernel_name<Tiled, isa::scalar>() == "scalar reference");
  CHECK(kernel_name<Flat, isa::scalar>() == "scalar reference");
  CHECK(KernelLayout<isa::scalar>::kTileRows == 8);
#if LOWBIT_HAS_AVX512BW
  CHECK(KernelLayout<isa::avx512bw>::kTileRows == 16);
  CHECK(kernel_name<Tiled, isa::avx512bw>() ==
        std::string(isa::avx512bw::name()) + " lane-tiled micro-kernel");
#endif
#if LOWBIT_HAS_AVX2
  CHECK(KernelLayout<isa::avx2>::kTileRows == 8);
  CHECK(kernel_name<PackedMatrix<S, PerGroup<32>, KernelLayout<isa::avx2>>, isa::avx2>() ==
        "avx2 lane-tiled micro-kernel");
  CHECK(kernel_name<Flat, isa::avx2>() == "avx2 plain 4-bit GEMV");
#endif
#if LOWBIT_HAS_NEON64
  CHECK(KernelLayout<isa::neon64>::kTileRows == 4);
  CHECK(kernel_name<PackedMatrix<S, PerGroup<32>, KernelLayout<isa::neon64>>, isa::neon64>() ==
        "neon64 lane-tiled micro-kernel");
#endif
  // What the name says is what runs: the fast path agrees with the reference bit for bit.
  const Index m = 40, k = 96;
  std::vector<float> wf(static_cast<std::size_t>(m * k)), x(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < wf.size(); ++i) wf[i] = std::sin(0.37f * static_cast<float>(i));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11f * static_cast<float>(i));
  const auto plain = quantize<S, PerGroup<32>>(MatrixView<const float>(wf.data(), m, k));
  const auto fast = repack<KernelLayout<>>(plain);
  Context ctx(1);
  std::vector<float> y(static_cast<std::size_t>(m)), want(y.size());
  gemv(fast, VectorView<const float>(x.data(), k), VectorView<float>(y.data(), m), ctx);
  gemv<isa::scalar>(plain, VectorView<const float>(x.data(), k), VectorView<float>(want.data(), m),
                    ctx);
  CHECK(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) == 0);
}

// The float half of every vector struct (kernels/float_ops.hpp, on xsimd), lane by lane against
// the scalar operations. The worked example of its essay: (1 + 2^-23)·(1 - 2^-23) - 1 is -2^-46
// when rounded once (fused, what the scalar reference's std::fma gives) and 0 when the product is
// rounded first, so an unfused multiply-add fails here.
TEST_CASE("the kernels' float operations round as the scalar reference", "[gemm][float_ops]") {
  test::for_each_isa([&](auto tag) {
    using Isa = decltype(tag);
    using V = kernels::VecFor<Isa, 16>;
    if constexpr (!std::is_void_v<V>) {
      constexpr int L = V::kLanes;
      const float e = std::ldexp(1.0f, -23);
      std::vector<float> a(L, 1.0f + e), b(L, 1.0f - e), c(L, -1.0f), out(L);
      for (int j = 0; j < L; ++j) a[j] += static_cast<float>(j) * 2.0f * e;  // distinct lanes
      V::fstore(out.data(), V::fmadd(V::fload(a.data()), V::fload(b.data()), V::fload(c.data())));
      CHECK(out[0] == -std::ldexp(1.0f, -46));
      for (int j = 0; j < L; ++j) CHECK(out[j] == std::fma(a[j], b[j], c[j]));
      V::fstore(out.data(), V::fadd(V::rounded(V::fmul(V::fload(a.data()), V::fload(b.data()))),
                                    V::fload(c.data())));
      CHECK(out[0] == 0.0f);  // the product rounded on its own, then the add
      V::fstore(out.data(), V::fsub(V::fset1(3.0f), V::fzero()));
      for (int j = 0; j < L; ++j) CHECK(out[j] == 3.0f);
    }
  });
}
