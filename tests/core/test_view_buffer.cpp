// SPDX-License-Identifier: Apache-2.0
// tests/core/test_view_buffer.cpp: MatrixView, VectorView, AlignedBuffer, Error, bit helpers.
#include <bit>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/buffer.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/parallel.hpp"
#include "lowbit/core/view.hpp"
#include "support/catch.hpp"

using lowbit::bf16;
using lowbit::Error;
using lowbit::f16;
using lowbit::Index;
using lowbit::MatrixView;
using lowbit::to_float;
using lowbit::VectorView;

TEST_CASE("MatrixView strides, rows and const conversion", "[view]") {
  std::vector<float> d(3 * 5);
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<float>(i);
  MatrixView<float> v(d.data(), 3, 4, 5);  // padded rows
  CHECK(v(2, 3) == 13.0f);
  CHECK(v.row(1)[0] == 5.0f);
  CHECK(v.row(1).size() == 4);
  MatrixView<const float> c = v;
  CHECK(c(1, 2) == 7.0f);
  const auto b = v.block_rows(1, 2);
  CHECK(b(0, 0) == 5.0f);
  CHECK(b.rows() == 2);
  CHECK_THROWS_AS(v.block_rows(2, 2), lowbit::Error);
  // Broadcast rows are allowed for read-only views only.
  MatrixView<const float> bc(d.data(), 3, 4, 0);
  CHECK(bc(2, 1) == 1.0f);
  CHECK_THROWS_AS(MatrixView<float>(d.data(), 3, 4, 0), lowbit::Error);
  CHECK_THROWS_AS(MatrixView<float>(d.data(), 3, 4, 3), lowbit::Error);
  CHECK_THROWS_AS(MatrixView<float>(d.data(), -1, 4), lowbit::Error);
  CHECK_THROWS_AS(MatrixView<float>(nullptr, 2, 2), lowbit::Error);
  CHECK_NOTHROW(MatrixView<float>(nullptr, 0, 0));
  CHECK(MatrixView<float>(nullptr, 0, 5).empty());
}

TEST_CASE("VectorView increments", "[view]") {
  std::vector<float> d{0, 1, 2, 3, 4, 5};
  VectorView<float> v(d.data(), 3, 2);
  CHECK(v[2] == 4.0f);
  VectorView<const float> c = v;
  CHECK(c[1] == 2.0f);
  CHECK_THROWS_AS(VectorView<float>(d.data(), 3, 0), lowbit::Error);
  CHECK_THROWS_AS(VectorView<float>(d.data(), -2), lowbit::Error);
}

TEST_CASE("AlignedBuffer is aligned, zeroed, move-only", "[buffer]") {
  lowbit::AlignedBuffer<std::uint8_t> b(1000);
  CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0);
  for (Index i = 0; i < b.size(); ++i) REQUIRE(b[i] == 0);
  b[3] = 7;
  auto c = b.clone();
  lowbit::AlignedBuffer<std::uint8_t> m = std::move(b);
  CHECK(m[3] == 7);
  CHECK(c[3] == 7);
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  CHECK_THROWS_AS(lowbit::AlignedBuffer<float>(-1), lowbit::Error);
  CHECK_THROWS_AS(lowbit::AlignedBuffer<double>(Index{1} << 62), lowbit::Error);  // bytes overflow
  STATIC_REQUIRE(!std::is_copy_constructible_v<lowbit::AlignedBuffer<float>>);
}

TEST_CASE("checked sizes and ceil_div", "[bits]") {
  CHECK(lowbit::ceil_div<Index>(7, 4) == 2);
  CHECK(lowbit::round_up<Index>(7, 4) == 8);
  CHECK(lowbit::detail::checked_mul(3, 4, "t") == 12);
  CHECK_THROWS_AS(lowbit::detail::checked_mul(Index{1} << 40, Index{1} << 40, "t"), lowbit::Error);
  CHECK_THROWS_AS(lowbit::detail::checked_add(PTRDIFF_MAX, 1, "t"), lowbit::Error);
  try {
    lowbit::detail::fail("value ", 42, " is bad");
  } catch (const lowbit::Error& e) {
    CHECK(std::string(e.what()) == "value 42 is bad");
  }
}

TEST_CASE("parallel_for covers every index once and rethrows the first chunk's error",
          "[parallel]") {
  for (int threads : {1, 2, 3, 7}) {
    std::vector<int> hits(101, 0);
    lowbit::detail::parallel_for(101, threads, [&](Index b, Index e) {
      for (Index i = b; i < e; ++i) ++hits[static_cast<std::size_t>(i)];
    });
    for (int h : hits) REQUIRE(h == 1);
  }
  try {
    lowbit::detail::parallel_for(100, 4,
                                 [&](Index b, Index) { lowbit::detail::fail("chunk ", b); });
    FAIL("no exception");
  } catch (const lowbit::Error& e) {
    CHECK(std::string(e.what()) == "chunk 0");
  }
}

TEST_CASE("to_float widens every bf16 and f16 pattern as the scalar conversion does", "[types]") {
  // Every one of the 65,536 patterns, in spans whose lengths leave every tail of the 16- and
  // 8-wide blocks; the result's bits equal the scalar to_float's (NaN payloads included).
  std::vector<bf16> b(65536);
  std::vector<f16> h(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) {
    b[i] = bf16::from_bits(static_cast<std::uint16_t>(i));
    h[i] = f16::from_bits(static_cast<std::uint16_t>(i));
  }
  for (std::size_t n : {std::size_t{65536}, std::size_t{1}, std::size_t{15}, std::size_t{17},
                        std::size_t{33}, std::size_t{65531}}) {
    std::vector<float> fb(n), fh(n);
    to_float(std::span<const bf16>(b.data(), n), std::span<float>(fb));
    to_float(std::span<const f16>(h.data(), n), std::span<float>(fh));
    for (std::size_t i = 0; i < n; ++i) {
      REQUIRE(std::bit_cast<std::uint32_t>(fb[i]) == std::bit_cast<std::uint32_t>(b[i].to_float()));
      REQUIRE(std::bit_cast<std::uint32_t>(fh[i]) == std::bit_cast<std::uint32_t>(h[i].to_float()));
    }
  }
  std::vector<float> short_out(3);
  CHECK_THROWS_AS(to_float(std::span<const bf16>(b.data(), 4), std::span<float>(short_out)), Error);
}
