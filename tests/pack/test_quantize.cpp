// SPDX-License-Identifier: Apache-2.0
// tests/pack/test_quantize.cpp: lowbit::quantize equals ref::quantize bit for bit (codes and
// parameters) on tail sizes, every granularity, every thread count; dequantize equals ref.
#include <cstring>
#include <vector>

#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/rng.hpp"

using namespace lowbit;

namespace {

// Parameters compared through their serialized bytes (structs may have padding).
template <class S>
bool same_bits(const typename S::Params& a, const typename S::Params& b) {
  std::byte x[64], y[64];
  S::write_params(a, x);
  S::write_params(b, y);
  return std::memcmp(x, y, S::kParamBytes) == 0;
}

template <class S, class G>
void check_against_ref(Index rows, Index cols, const QuantizeOptions& opt, std::uint64_t seed) {
  const std::vector<float> w = test::student_t4(static_cast<std::size_t>(rows * cols), seed);
  const MatrixView<const float> v(w.data(), rows, cols);
  const auto ref = ref::quantize<S, G>(v, opt);
  const auto refd = ref::dequantize(ref);
  for (int threads : {1, 2, 3}) {
    QuantizeOptions o = opt;
    o.threads = threads;
    const auto q = quantize<S, G, Plain>(v, o);
    REQUIRE(q.params().size() == ref.params.size());
    for (std::size_t i = 0; i < ref.params.size(); ++i)
      REQUIRE(same_bits<S>(q.params()[i], ref.params[i]));
    for (Index r = 0; r < rows; ++r) {
      for (Index k = 0; k < cols; ++k)
        REQUIRE(q.code(r, k) == ref.codes[static_cast<std::size_t>(r * cols + k)]);
    }
    const auto d = dequantize(q);
    REQUIRE(std::memcmp(d.data(), refd.data(), d.size() * sizeof(float)) == 0);
  }
}

template <class S>
void check_scheme() {
  QuantizeOptions rtn, ls;
  ls.fit.range = RangeFit::kClipSearch;
  ls.fit.refit_iters = 2;
  std::uint64_t seed = 100;
  for (Index cols : {1, 2, 3, 5, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129}) {
    for (Index rows : {1, 3, 5}) {
      check_against_ref<S, PerGroup<32>>(rows, cols, rtn, ++seed);
      check_against_ref<S, PerGroup<16>>(rows, cols, ls, ++seed);
      check_against_ref<S, PerChannel>(rows, cols, rtn, ++seed);
      check_against_ref<S, PerTensor>(rows, cols, ls, ++seed);
    }
  }
}

}  // namespace

TEST_CASE("quantize == ref::quantize: symmetric", "[quantize]") {
  check_scheme<Symmetric<4, SymmetricConvention::kSignedMax, f16>>();
  check_scheme<Symmetric<3, SymmetricConvention::kRestricted, bf16>>();
  check_scheme<Symmetric<2, SymmetricConvention::kFullRange, float>>();
  check_scheme<Symmetric<8, SymmetricConvention::kSignedMax, f16>>();
}

TEST_CASE("quantize == ref::quantize: asymmetric", "[quantize]") {
  check_scheme<Asymmetric<2, AsymmetricOffset::kIntZero, f16>>();
  check_scheme<Asymmetric<3, AsymmetricOffset::kFloatMin, f16>>();
  check_scheme<Asymmetric<5, AsymmetricOffset::kIntZero, bf16>>();
  check_scheme<Asymmetric<7, AsymmetricOffset::kFloatMin, float>>();
}

TEST_CASE("quantize reads strided views", "[quantize]") {
  using S = Asymmetric<4, AsymmetricOffset::kIntZero, f16>;
  const std::vector<float> w = test::gaussian(5 * 48, 77);
  std::vector<float> padded(5 * 50, 1e30f);  // padding would wreck the ranges if it were read
  for (Index r = 0; r < 5; ++r) {
    for (Index k = 0; k < 48; ++k)
      padded[static_cast<std::size_t>(r * 50 + k)] = w[static_cast<std::size_t>(r * 48 + k)];
  }
  const auto a =
      quantize<S, PerGroup<32>, Plain>(MatrixView<const float>(w.data(), 5, 48), QuantizeOptions{});
  const auto b = quantize<S, PerTensor, Plain>(MatrixView<const float>(padded.data(), 5, 48, 50),
                                               QuantizeOptions{});
  const auto c = quantize<S, PerGroup<32>, Plain>(MatrixView<const float>(padded.data(), 5, 48, 50),
                                                  QuantizeOptions{});
  CHECK(std::memcmp(a.codes().data(), c.codes().data(), a.codes().size()) == 0);
  CHECK(S::scale(b.params()[0]) < 1.0f);
}

namespace {

// bf16 / f16 weights quantize to exactly the codes and parameters of their float widening, and
// the measured error is the one computed from dequantize in double (within the last bit of x̂
// per weight), the same doubles on 1, 2 and 3 threads.
template <class S, class G, class T>
void check_storage_input(Index rows, Index cols, const QuantizeOptions& opt, std::uint64_t seed) {
  const std::vector<float> w = test::student_t4(static_cast<std::size_t>(rows * cols), seed);
  std::vector<T> stored(w.size());
  std::vector<float> wide(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) {
    stored[i] = T(w[i]);
    wide[i] = stored[i].to_float();
  }
  const auto ref = quantize<S, G, Plain>(MatrixView<const float>(wide.data(), rows, cols), opt);
  const auto deq = dequantize(ref);
  double w2 = 0.0, e2 = 0.0;
  for (std::size_t i = 0; i < wide.size(); ++i) {
    w2 += static_cast<double>(wide[i]) * wide[i];
    const double e = static_cast<double>(deq[i]) - wide[i];
    e2 += e * e;
  }
  QuantizeError first;
  for (int threads : {1, 2, 3}) {
    QuantizeOptions o = opt;
    o.threads = threads;
    o.measure_error = true;
    PackedMatrix<S, G, Plain> q(rows, cols);
    const QuantizeError err = quantize_into(MatrixView<const T>(stored.data(), rows, cols), o, q);
    REQUIRE(q.codes().size() == ref.codes().size());
    REQUIRE(std::memcmp(q.codes().data(), ref.codes().data(), q.codes().size()) == 0);
    for (std::size_t i = 0; i < ref.params().size(); ++i)
      REQUIRE(same_bits<S>(q.params()[i], ref.params()[i]));
    // Σx² is exact up to summation order; Σ(x̂ - x)² within a few float ulps of x̂ per weight.
    REQUIRE(std::abs(err.weight_sq - w2) <= 1e-6 * w2);
    REQUIRE(std::abs(err.error_sq - e2) <= 1e-5 * e2 + 1e-30);
    if (threads == 1) first = err;
    REQUIRE(err.weight_sq == first.weight_sq);
    REQUIRE(err.error_sq == first.error_sq);
  }
  // Without measure_error nothing is measured.
  PackedMatrix<S, G, Plain> q(rows, cols);
  const QuantizeError none = quantize_into(MatrixView<const T>(stored.data(), rows, cols), opt, q);
  REQUIRE(none.weight_sq == 0.0);
  REQUIRE(none.error_sq == 0.0);
}

template <class S>
void check_storage_scheme() {
  QuantizeOptions rtn, clip;
  clip.fit.range = RangeFit::kClipSearch;
  std::uint64_t seed = 900;
  for (Index cols : {1, 7, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129}) {
    check_storage_input<S, PerGroup<32>, bf16>(3, cols, rtn, ++seed);
    check_storage_input<S, PerGroup<32>, f16>(2, cols, rtn, ++seed);
    check_storage_input<S, PerGroup<16>, bf16>(3, cols, clip, ++seed);
    check_storage_input<S, PerChannel, bf16>(2, cols, rtn, ++seed);
  }
}

}  // namespace

TEST_CASE("quantize reads bf16 and f16 weights and measures its error", "[quantize]") {
  check_storage_scheme<Symmetric<4, SymmetricConvention::kSignedMax, f16>>();
  check_storage_scheme<Symmetric<2, SymmetricConvention::kFullRange, float>>();
  check_storage_scheme<Asymmetric<3, AsymmetricOffset::kFloatMin, f16>>();
  check_storage_scheme<Asymmetric<4, AsymmetricOffset::kIntZero, f16>>();
}

TEST_CASE("quantize names the row and column of a non-finite bf16 weight", "[quantize]") {
  using S = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  for (Index cols : {40, 64}) {  // a tail group, and full groups only (the fused check)
    std::vector<bf16> w(static_cast<std::size_t>(3 * cols), bf16(0.5f));
    w[static_cast<std::size_t>(2 * cols + 37)] = bf16::from_bits(0x7f80);  // +Inf
    try {
      (void)quantize<S, PerGroup<32>, Plain>(MatrixView<const bf16>(w.data(), 3, cols));
      FAIL("no error");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), LOWBIT_CONTAINS("row 2, column 37"));
    }
  }
}
