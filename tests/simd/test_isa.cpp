// SPDX-License-Identifier: Apache-2.0
// tests/simd/test_isa.cpp: ISA tags, isa::best and the xsimd compatibility shims.
#include <cstdint>
#include <type_traits>

#include "lowbit/simd/compat.hpp"
#include "lowbit/simd/isa.hpp"
#include "support/catch.hpp"

using namespace lowbit;

namespace {
// Overload resolution on tags picks the most derived family, as kernel selection does.
constexpr int family(isa::scalar) { return 0; }
constexpr int family(isa::sse4_2) { return 1; }
constexpr int family(isa::avx2) { return 2; }
}  // namespace

TEST_CASE("ISA tags inherit in the documented order", "[isa]") {
  STATIC_REQUIRE(std::is_base_of_v<isa::scalar, isa::simd>);
  STATIC_REQUIRE(std::is_base_of_v<isa::simd, isa::sse4_2>);
  STATIC_REQUIRE(std::is_base_of_v<isa::sse4_2, isa::avx2>);
  STATIC_REQUIRE(std::is_base_of_v<isa::avx2, isa::avx512bw>);
  STATIC_REQUIRE(std::is_base_of_v<isa::simd, isa::neon64>);
  STATIC_REQUIRE(!std::is_base_of_v<isa::avx2, isa::neon64>);
  STATIC_REQUIRE(family(isa::avx512bw{}) == 2);  // reuses the AVX2 family until it has its own
  STATIC_REQUIRE(family(isa::neon64{}) == 0);
  STATIC_REQUIRE(family(isa::sse4_2{}) == 1);
}

TEST_CASE("isa::best follows the compiler flags and runs here", "[isa]") {
  CHECK(isa::best::available());  // this binary runs, so its best ISA is present
  CHECK(isa::scalar::available());
#if defined(LOWBIT_FORCE_SCALAR)
  STATIC_REQUIRE(std::is_same_v<isa::best, isa::scalar>);
#elif defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512CD__)
  STATIC_REQUIRE(std::is_same_v<isa::best, isa::avx512bw>);
  CHECK(isa::avx2::available());
#elif defined(__AVX2__) && defined(__FMA__)
  STATIC_REQUIRE(std::is_same_v<isa::best, isa::avx2>);
#endif
  CHECK(!isa::best::name().empty());
}

#if LOWBIT_USE_XSIMD
TEST_CASE("compat shims work with this xsimd", "[isa]") {
  using A = xsimd::default_arch;
  using B = xsimd::batch<std::int32_t, A>;
  B v(3);
  CHECK(simd::reduce_add(v) == 3 * static_cast<std::int32_t>(B::size));
  const auto f = simd::bitcast<float>(B(0x3f800000));
  CHECK(simd::reduce_add(f) == static_cast<float>(B::size));
}
#endif
