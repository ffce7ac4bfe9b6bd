// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_gemm_sequence.cpp: GEMM/GEMV on sequence-coded weights (the trellis and the
// CCQ formats): the float path against the dense product of the dequantized matrix, the integer
// path against Σ ŵ·q·s_x, and gemm_int8 bit for bit against ref::gemm_int8 on every compiled ISA
// and thread count, with tail shapes.
#include <cmath>
#include <vector>

#include "lowbit/calib/ccq.hpp"
#include "lowbit/calib/trellis_viterbi.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/isa_list.hpp"
#include "support/rng.hpp"

using namespace lowbit;

namespace {

template <class M>
void check_paths(const M& w, Index n, std::uint64_t seed) {
  const Index rows = w.rows(), cols = w.cols();
  const auto x = test::gaussian(static_cast<std::size_t>(n * cols), seed);
  const MatrixView<const float> xv(x.data(), n, cols);
  const std::vector<float> d = dequantize(w);
  // Float path: the dense double product of the dequantized weights.
  std::vector<float> y(static_cast<std::size_t>(n * rows));
  const MatrixView<float> yv(y.data(), n, rows);
  ref::gemm(w, xv, yv);
  for (Index t = 0; t < n; ++t)
    for (Index r = 0; r < rows; ++r) {
      double acc = 0.0, mag = 0.0;
      for (Index k = 0; k < cols; ++k) {
        acc += static_cast<double>(d[static_cast<std::size_t>(r * cols + k)]) *
               x[static_cast<std::size_t>(t * cols + k)];
        mag += std::fabs(static_cast<double>(d[static_cast<std::size_t>(r * cols + k)]) *
                         x[static_cast<std::size_t>(t * cols + k)]);
      }
      REQUIRE(std::fabs(yv(t, r) - acc) <= 1e-6 * mag + 1e-30);
    }
  // Integer path: Σ ŵ·q·s_x up to fp32 rounding of its partial sums.
  Int8Activations xq;
  quantize_activations(xv, xq);
  std::vector<float> yi(y.size());
  const MatrixView<float> yiv(yi.data(), n, rows);
  ref::gemm_int8(w, xq, yiv);
  for (Index t = 0; t < n; ++t)
    for (Index r = 0; r < rows; ++r) {
      double acc = 0.0, mag = 0.0;
      for (Index k = 0; k < cols; ++k) {
        const double p =
            static_cast<double>(d[static_cast<std::size_t>(r * cols + k)]) * xq.row(t)[k];
        acc += p;
        mag += std::fabs(p);
      }
      REQUIRE(std::fabs(yiv(t, r) - acc * xq.scale(t)) <= 1e-5 * mag * xq.scale(t) + 1e-30);
    }
  // The entry points on every ISA and thread count: bit for bit the reference.
  test::for_each_isa([&](auto isa) {
    using Isa = decltype(isa);
    for (int threads : {1, 3}) {
      Context ctx(threads);
      std::vector<float> g(y.size());
      gemm_int8<Isa>(w, xq, MatrixView<float>(g.data(), n, rows), ctx);
      REQUIRE(g == yi);
      gemm_f32<Isa>(w, xv, MatrixView<float>(g.data(), n, rows), ctx);
      for (std::size_t i = 0; i < g.size(); ++i)
        REQUIRE(std::fabs(g[i] - y[i]) <= 1e-5f * (std::fabs(y[i]) + 1e-3f));
    }
  });
}

}  // namespace

TEST_CASE("sequence-coded GEMM: trellis codes", "[gemm][trellis]") {
  for (Index cols : {Index{64}, Index{136}, Index{200}}) {  // last groups of 64, 8 and 8 weights
    const Index rows = 17;
    const auto w = test::gaussian(static_cast<std::size_t>(rows * cols), 400 + cols);
    const MatrixView<const float> wv(w.data(), rows, cols);
    check_paths(calib::trellis_quantize<ConvCode<16, 2, 1, CodeMix7>, PerGroup<64>>(wv), 3, 1);
    check_paths(calib::trellis_quantize<ConvCode<12, 3, 1, Code1Mad>, PerGroup<64>>(wv), 1, 2);
    check_paths(calib::trellis_quantize<ConvCode<10, 2, 1, Code3Inst>, PerGroup<64>>(wv), 2, 3);
  }
}

TEST_CASE("sequence-coded GEMM: CCQ WINT2 and WINT2.5", "[gemm][ccq]") {
  for (Index cols : {Index{64}, Index{192}}) {
    const Index rows = 33;
    const auto w = test::gaussian(static_cast<std::size_t>(rows * cols), 500 + cols);
    const MatrixView<const float> wv(w.data(), rows, cols);
    calib::CcqOptions o;
    o.search = 2;
    check_paths(calib::ccq_wint2_quantize(wv, o), 3, 4);
    check_paths(calib::ccq_wint25_quantize(wv, o), 2, 5);
  }
}
