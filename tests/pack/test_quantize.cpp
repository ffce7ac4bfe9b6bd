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
