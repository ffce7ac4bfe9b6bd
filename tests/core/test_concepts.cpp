// SPDX-License-Identifier: Apache-2.0
// tests/core/test_concepts.cpp: positive and negative concept checks.
#include <cstdint>
#include <span>
#include <string>

#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"

using namespace lowbit;

namespace {

using Sym4 = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
using Asym3 = Asymmetric<3, AsymmetricOffset::kIntZero, bf16>;
using AsymF2 = Asymmetric<2, AsymmetricOffset::kFloatMin, float>;

// A scheme with 12-bit codes: a valid QuantScheme, but no 1..8-bit layout can hold it.
struct Wide12 {
  static constexpr int kCodeBits = 12;
  static constexpr int kParamBits = 16;
  struct Params {};
  static std::string name() { return "wide12"; }
  static constexpr SchemeDescriptor descriptor() { return {}; }
};
// Has encode but no decode: not elementwise.
struct EncodeOnly {
  static constexpr int kCodeBits = 4;
  static constexpr int kParamBits = 16;
  using Code = std::uint8_t;
  struct Params {};
  static std::string name() { return "encode_only"; }
  static constexpr SchemeDescriptor descriptor() { return {}; }
  static Code encode(float, const Params&) { return 0; }
};
struct NotALayout {};

}  // namespace

TEST_CASE("schemes satisfy their concepts", "[concepts]") {
  STATIC_REQUIRE(QuantScheme<Sym4>);
  STATIC_REQUIRE(ElementwiseScheme<Sym4>);
  STATIC_REQUIRE(RangeFitScheme<Sym4>);
  STATIC_REQUIRE(SerializableScheme<Sym4>);
  STATIC_REQUIRE(RangeFitScheme<Asym3>);
  STATIC_REQUIRE(SerializableScheme<Asym3>);
  STATIC_REQUIRE(RangeFitScheme<AsymF2>);
  STATIC_REQUIRE(QuantScheme<Wide12>);
  STATIC_REQUIRE(QuantScheme<EncodeOnly>);
}

TEST_CASE("negative concept checks", "[concepts]") {
  STATIC_REQUIRE(!QuantScheme<int>);
  STATIC_REQUIRE(!QuantScheme<PerTensor>);
  STATIC_REQUIRE(!ElementwiseScheme<Wide12>);
  STATIC_REQUIRE(!ElementwiseScheme<EncodeOnly>);
  STATIC_REQUIRE(!RangeFitScheme<EncodeOnly>);
  STATIC_REQUIRE(!Granularity<Sym4>);
  STATIC_REQUIRE(!Granularity<int>);
  STATIC_REQUIRE(!PackLayoutFor<Plain, Wide12>);
  STATIC_REQUIRE(!PackLayoutFor<NotALayout, Sym4>);
  STATIC_REQUIRE(!PackLayoutFor<Plain, int>);
}

TEST_CASE("granularities and layouts satisfy their concepts", "[concepts]") {
  STATIC_REQUIRE(Granularity<PerTensor>);
  STATIC_REQUIRE(Granularity<PerChannel>);
  STATIC_REQUIRE(Granularity<PerGroup<32>>);
  STATIC_REQUIRE(PackLayoutFor<Plain, Sym4>);
  STATIC_REQUIRE(PackLayoutFor<Plain, Asym3>);
  STATIC_REQUIRE(PackLayoutFor<Plain, EncodeOnly>);
}

TEST_CASE("granularity indexing, partial last group", "[granularity]") {
  CHECK(PerGroup<32>::param_count(3, 70) == 9);  // 32 + 32 + 6 per row
  CHECK(PerGroup<32>::param_index(2, 69, 70) == 8);
  CHECK(PerGroup<32>::param_index(1, 31, 70) == 3);
  CHECK(PerChannel::param_count(5, 7) == 5);
  CHECK(PerChannel::param_index(4, 6, 7) == 4);
  CHECK(PerTensor::param_count(5, 7) == 1);
  CHECK(PerTensor::param_count(0, 7) == 0);
  CHECK(PerChannel::param_count(5, 0) == 0);
  CHECK(PerGroup<32>::param_count(0, 70) == 0);
}

TEST_CASE("bits per weight counts parameters", "[packed_matrix]") {
  PackedMatrix<Sym4, PerGroup<32>, Plain> a(4, 64);
  CHECK(a.bits_per_weight() == 4.5);
  PackedMatrix<Asym3, PerGroup<64>, Plain> b(2, 128);
  CHECK(b.bits_per_weight() == 3.0 + (16.0 + 3.0) / 64.0);
  PackedMatrix<AsymF2, PerChannel, Plain> c(2, 64);
  CHECK(c.bits_per_weight() == 2.0 + 64.0 / 64.0);
  CHECK(PackedMatrix<Sym4, PerGroup<32>, Plain>::type_name() ==
        "symmetric_b4_signed_max_f16/per_group_32/plain");
}
