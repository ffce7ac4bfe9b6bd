// SPDX-License-Identifier: Apache-2.0
// tests/kernels/test_gemv.cpp: gemv_int8 on every compiled ISA is bit-identical to the
// reference on tail sizes and with k not a multiple of the group.
#include <cstring>
#include <string>
#include <vector>

#include "lowbit/gemm/gemm.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/isa_list.hpp"
#include "support/rng.hpp"

using namespace lowbit;

namespace {

const std::vector<Index> kSizes = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,  12,  13,
                                   14, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129};

template <class S, int G>
void check_scheme() {
  std::uint64_t seed = 1000;
  for (Index m : {1, 2, 3, 7, 16, 17, 33}) {
    for (Index k : kSizes) {
      const std::vector<float> wf = test::student_t4(static_cast<std::size_t>(m * k), ++seed);
      const auto w = quantize<S, PerGroup<G>, Plain>(MatrixView<const float>(wf.data(), m, k), {});
      const std::vector<float> xf = test::gaussian(static_cast<std::size_t>(k), ++seed);
      Int8Activations a;
      quantize_activations(MatrixView<const float>(xf.data(), 1, k), a);
      std::vector<float> expect(static_cast<std::size_t>(m));
      ref::gemv_int8(w, a, VectorView<float>(expect.data(), m));
      test::for_each_isa([&](auto tag) {
        using Isa = decltype(tag);
        std::vector<float> y(static_cast<std::size_t>(m), -7.0f);
        gemv_int8<Isa>(w, a, VectorView<float>(y.data(), m));
        INFO(std::string(Isa::name()) << " m=" << m << " k=" << k);
        REQUIRE(std::memcmp(y.data(), expect.data(), y.size() * sizeof(float)) == 0);
      });
    }
  }
}

}  // namespace

TEST_CASE("gemv_int8 == reference, 4-bit signed max", "[gemv]") {
  check_scheme<Symmetric<4, SymmetricConvention::kSignedMax, f16>, 32>();
  check_scheme<Symmetric<4, SymmetricConvention::kSignedMax, f16>, 64>();
}

TEST_CASE("gemv_int8 == reference, 4-bit asymmetric", "[gemv]") {
  check_scheme<Asymmetric<4, AsymmetricOffset::kIntZero, f16>, 32>();
  check_scheme<Asymmetric<4, AsymmetricOffset::kFloatMin, bf16>, 128>();
}

TEST_CASE("gemv_int8 falls back to the reference for other widths", "[gemv]") {
  check_scheme<Asymmetric<3, AsymmetricOffset::kIntZero, f16>, 32>();
  check_scheme<Symmetric<2, SymmetricConvention::kFullRange, f16>, 16>();
}

TEST_CASE("gemv_int8 shape errors", "[gemv]") {
  using S = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  const std::vector<float> wf = test::gaussian(4 * 64, 3);
  const auto w = quantize<S, PerGroup<32>, Plain>(MatrixView<const float>(wf.data(), 4, 64), {});
  Int8Activations a(1, 63), b(2, 64);
  std::vector<float> y(4);
  CHECK_THROWS_AS(gemv_int8(w, a, VectorView<float>(y.data(), 4)), Error);
  CHECK_THROWS_AS(gemv_int8(w, b, VectorView<float>(y.data(), 4)), Error);
}
