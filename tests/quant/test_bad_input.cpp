// SPDX-License-Identifier: Apache-2.0
// tests/quant/test_bad_input.cpp: NaN/Inf, all-zero and huge groups, partial groups, empty
// matrices, bad importance: each gives the documented result or lowbit::Error.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/rng.hpp"

using namespace lowbit;

namespace {
using Sym4 = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
using Asym3 = Asymmetric<3, AsymmetricOffset::kIntZero, f16>;

template <class S, class G>
std::string error_of(const std::vector<float>& w, Index rows, Index cols,
                     const QuantizeOptions& o = {}) {
  try {
    (void)quantize<S, G, Plain>(MatrixView<const float>(w.data(), rows, cols), o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("NaN and Inf weights are rejected with their position", "[bad_input]") {
  std::vector<float> w = test::gaussian(4 * 50, 1);
  w[2 * 50 + 17] = std::numeric_limits<float>::quiet_NaN();
  const std::string e1 = error_of<Sym4, PerGroup<32>>(w, 4, 50);
  CHECK(contains(e1, "non-finite"));
  CHECK(contains(e1, "row 2, column 17"));
  w[2 * 50 + 17] = 0.0f;
  w[3 * 50 + 49] = -std::numeric_limits<float>::infinity();
  CHECK(contains(error_of<Asym3, PerChannel>(w, 4, 50), "row 3, column 49"));
  // ref::quantize has the same contract.
  CHECK_THROWS_AS(
      (ref::quantize<Sym4, PerTensor>(MatrixView<const float>(w.data(), 4, 50), QuantizeOptions{})),
      Error);
}

TEST_CASE("NaN and Inf are found on the fused RTN path too (full groups), at any position",
          "[bad_input]") {
  for (Index col : {0, 7, 31, 32, 40, 63}) {
    for (float bad :
         {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
          -std::numeric_limits<float>::infinity()}) {
      std::vector<float> w = test::gaussian(3 * 64, 7);
      w[static_cast<std::size_t>(64 + col)] = bad;
      const std::string e = error_of<Sym4, PerGroup<32>>(w, 3, 64);
      INFO(e);
      CHECK(contains(e, "row 1, column " + std::to_string(col)));
      QuantizeOptions clip;
      clip.fit.range = RangeFit::kClipSearch;
      CHECK(contains(error_of<Asym3, PerGroup<16>>(w, 3, 64, clip),
                     "row 1, column " + std::to_string(col)));
    }
  }
}

TEST_CASE("all-zero groups code to zero", "[bad_input]") {
  std::vector<float> w = test::gaussian(3 * 64, 2);
  for (int k = 32; k < 64; ++k) w[static_cast<std::size_t>(64 + k)] = 0.0f;  // row 1, second group
  QuantizeOptions clip;
  clip.fit.range = RangeFit::kClipSearch;
  clip.fit.refit_iters = 3;
  const auto q =
      quantize<Asym3, PerGroup<32>, Plain>(MatrixView<const float>(w.data(), 3, 64), clip);
  const auto d = dequantize(q);
  for (int k = 32; k < 64; ++k) REQUIRE(d[static_cast<std::size_t>(64 + k)] == 0.0f);
  CHECK(Asym3::scale(q.params()[3]) == 0.0f);
  const std::vector<float> zeros(2 * 40, 0.0f);
  const auto z =
      quantize<Sym4, PerTensor, Plain>(MatrixView<const float>(zeros.data(), 2, 40), clip);
  for (float v : dequantize(z)) REQUIRE(v == 0.0f);
}

TEST_CASE("huge values: a scale the storage cannot hold is an error, wider storage works",
          "[bad_input]") {
  std::vector<float> w = test::gaussian(2 * 32, 3);
  w[40] = 1e38f;
  const std::string e = error_of<Sym4, PerGroup<32>>(w, 2, 32);
  CHECK(contains(e, "group 1"));
  CHECK(contains(e, "cannot store"));
  using Sym4f = Symmetric<4, SymmetricConvention::kSignedMax, float>;
  using Asym8b = Asymmetric<8, AsymmetricOffset::kIntZero, bf16>;
  using AsymF2 = Asymmetric<2, AsymmetricOffset::kFloatMin, float>;
  w[41] = -3e38f;  // range 4e38 > FLT_MAX: fitted in double, the scale itself still fits
  const auto a = quantize<Sym4f, PerGroup<32>, Plain>(MatrixView<const float>(w.data(), 2, 32),
                                                      QuantizeOptions{});
  const auto b = quantize<Asym8b, PerGroup<32>, Plain>(MatrixView<const float>(w.data(), 2, 32),
                                                       QuantizeOptions{});
  const auto c = quantize<AsymF2, PerGroup<32>, Plain>(MatrixView<const float>(w.data(), 2, 32),
                                                       QuantizeOptions{});
  for (const auto& d : {dequantize(a), dequantize(b), dequantize(c)}) {
    for (float v : d) REQUIRE(std::isfinite(v));
    CHECK(std::fabs(d[41] / -3e38f - 1.0f) < 0.35f);
  }
  // Values below fp16's smallest subnormal scale decode to 0 (documented), never NaN.
  std::vector<float> tiny(32, 1e-12f);
  tiny[3] = -2e-12f;
  const auto t = quantize<Sym4, PerGroup<32>, Plain>(MatrixView<const float>(tiny.data(), 1, 32),
                                                     QuantizeOptions{});
  for (float v : dequantize(t)) REQUIRE(v == 0.0f);
}

TEST_CASE("K not a multiple of G: the last group is fitted on its own weights", "[bad_input]") {
  const Index rows = 3, cols = 70;
  std::vector<float> w = test::gaussian(rows * cols, 4);
  for (Index r = 0; r < rows; ++r) {
    for (Index k = 64; k < cols; ++k)
      w[static_cast<std::size_t>(r * cols + k)] *= 100.0f;  // tail is much larger
  }
  const auto q = quantize<Asym3, PerGroup<32>, Plain>(MatrixView<const float>(w.data(), rows, cols),
                                                      QuantizeOptions{});
  REQUIRE(q.params().size() == static_cast<std::size_t>(rows * 3));
  for (Index r = 0; r < rows; ++r) {
    const std::span<const float> tail(w.data() + r * cols + 64, 6);
    const auto expect = Asym3::fit_range(detail::range_stats(tail), 1.0f);
    CHECK(q.params()[static_cast<std::size_t>(r * 3 + 2)].scale == expect.scale);
    CHECK(q.params()[static_cast<std::size_t>(r * 3 + 2)].zero == expect.zero);
    // The tail's large range did not leak into the second group.
    CHECK(Asym3::scale(q.params()[static_cast<std::size_t>(r * 3 + 1)]) < 10.0f);
  }
}

TEST_CASE("empty matrices quantize to empty results", "[bad_input]") {
  for (auto [rows, cols] : {std::pair<Index, Index>{0, 5}, {5, 0}, {0, 0}}) {
    const auto q = quantize<Sym4, PerGroup<32>, Plain>(MatrixView<const float>(nullptr, rows, cols),
                                                       QuantizeOptions{});
    CHECK(q.empty());
    CHECK(q.rows() == rows);
    CHECK(q.cols() == cols);
    CHECK(q.params().empty());
    CHECK(q.codes().empty());
    CHECK(dequantize(q).empty());
    std::vector<float> x(static_cast<std::size_t>(cols), 1.0f),
        y(static_cast<std::size_t>(rows), 7.0f);
    ref::gemv(q, VectorView<const float>(x.data(), cols), VectorView<float>(y.data(), rows));
    for (float v : y) CHECK(v == 0.0f);  // an m x 0 matrix times an empty vector is 0
  }
}

TEST_CASE("bad importance and options are rejected", "[bad_input]") {
  const std::vector<float> w = test::gaussian(2 * 32, 5);
  std::vector<float> imp(2 * 32, 1.0f);
  QuantizeOptions o;
  o.importance = MatrixView<const float>(imp.data(), 2, 31);
  CHECK(contains(error_of<Sym4, PerGroup<32>>(w, 2, 32, o), "importance is 2 x 31"));
  imp[7] = -1.0f;
  o.importance = MatrixView<const float>(imp.data(), 2, 32);
  CHECK(contains(error_of<Sym4, PerGroup<32>>(w, 2, 32, o), "importance -1"));
  imp[7] = std::numeric_limits<float>::quiet_NaN();
  CHECK(contains(error_of<Sym4, PerGroup<32>>(w, 2, 32, o), "row 0, column 7"));
  QuantizeOptions t;
  t.threads = 0;
  CHECK(contains(error_of<Sym4, PerGroup<32>>(w, 2, 32, t), "threads"));
}

TEST_CASE("quantize_into reuses storage and refuses another shape", "[bad_input]") {
  const std::vector<float> w = test::gaussian(4 * 64, 8);
  const MatrixView<const float> v(w.data(), 4, 64);
  PackedMatrix<Sym4, PerGroup<32>, Plain> q(4, 64);
  const std::byte* storage = q.codes().data();
  quantize_into(v, QuantizeOptions{}, q);
  CHECK(q.codes().data() == storage);
  const auto fresh = quantize<Sym4, PerGroup<32>, Plain>(v, QuantizeOptions{});
  CHECK(std::equal(q.codes().begin(), q.codes().end(), fresh.codes().begin(), fresh.codes().end()));
  PackedMatrix<Sym4, PerGroup<32>, Plain> wrong(4, 63);
  CHECK_THROWS_AS(quantize_into(v, QuantizeOptions{}, wrong), Error);
}

TEST_CASE("shape errors in reference kernels and dequantize", "[bad_input]") {
  const std::vector<float> w = test::gaussian(4 * 8, 6);
  const auto q =
      quantize<Sym4, PerChannel, Plain>(MatrixView<const float>(w.data(), 4, 8), QuantizeOptions{});
  std::vector<float> x(7), y(4), out(4 * 9);
  CHECK_THROWS_AS(
      ref::gemv(q, VectorView<const float>(x.data(), 7), VectorView<float>(y.data(), 4)), Error);
  CHECK_THROWS_AS(dequantize(q, MatrixView<float>(out.data(), 4, 9)), Error);
  CHECK_THROWS_AS(
      ref::gemm(q, MatrixView<const float>(x.data(), 1, 7), MatrixView<float>(y.data(), 1, 4)),
      Error);
}
