// SPDX-License-Identifier: Apache-2.0
// tests/io/test_ggml_blocks.cpp: llama.cpp's block formats (formats/ggml/blocks.hpp) against ggml's
// own bytes and floats (../shared/data/ggml: every block of every type, byte for byte and bit for
// bit), plus type facts and bad input.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "lowbit/formats/ggml/blocks.hpp"
#include "support/catch.hpp"
#include "support/files.hpp"

using namespace lowbit;

using test::as_floats;
using test::read_all;

TEST_CASE("ggml: type numbers and block sizes", "[io][ggml]") {
  const auto q40 = ggml::type_info(2);
  REQUIRE(q40);
  CHECK(q40->name == "q4_0");
  CHECK(q40->block == 32);
  CHECK(q40->bytes == 18);
  CHECK(ggml::type_info(12)->bytes == 144);  // q4_K
  CHECK(ggml::type_info(34)->bytes == 54);   // tq1_0
  CHECK(!ggml::type_info(4));                // removed Q4_2
  CHECK(!ggml::type_info(1000));
}

TEST_CASE("ggml: rows of a wrong length and types without a codec are errors", "[io][ggml]") {
  std::vector<float> x(64, 1.0f), y(64);
  std::vector<std::byte> b(64 * 2);
  REQUIRE_THROWS_AS(ggml::quantize_row(ggml::Type::Q4_0, x.data(), 33, b.data()), Error);
  REQUIRE_THROWS_AS(ggml::dequantize_row(ggml::Type::Q8_0, b.data(), 31, y.data()), Error);
  REQUIRE_THROWS_AS(ggml::quantize_row(ggml::Type::F16, x.data(), 64, b.data()), Error);
  REQUIRE_THROWS_AS(ggml::dequantize_row(static_cast<ggml::Type>(99), b.data(), 64, y.data()),
                    Error);
}

TEST_CASE("ggml: a block round-trips within half a step", "[io][ggml]") {
  // Independent of the reference files: x = k/8 - 2 over one block of 32.
  std::vector<float> x(32), y(32);
  for (int k = 0; k < 32; ++k) x[static_cast<std::size_t>(k)] = static_cast<float>(k) / 8.0f - 2.0f;
  for (auto [t, levels] : {std::pair{ggml::Type::Q8_0, 255}, std::pair{ggml::Type::Q4_0, 15},
                           std::pair{ggml::Type::Q4_1, 15}, std::pair{ggml::Type::Q5_0, 31},
                           std::pair{ggml::Type::Q5_1, 31}}) {
    std::vector<std::byte> b(
        static_cast<std::size_t>(ggml::type_info(static_cast<std::uint32_t>(t))->bytes));
    ggml::quantize_row(t, x.data(), 32, b.data());
    ggml::dequantize_row(t, b.data(), 32, y.data());
    const float step = 4.0f / static_cast<float>(levels - 1) * 1.01f;  // range ~[-2, 2]
    for (int k = 0; k < 32; ++k) {
      INFO(ggml::type_info(static_cast<std::uint32_t>(t))->name << " k " << k);
      REQUIRE(std::fabs(y[static_cast<std::size_t>(k)] - x[static_cast<std::size_t>(k)]) <= step);
    }
  }
}

#if defined(LOWBIT_SHARED_DATA_DIR)
TEST_CASE("ggml: every block of ggml's reference vectors, byte for byte and bit for bit",
          "[io][ggml][model]") {
  const std::string dir = std::string(LOWBIT_SHARED_DATA_DIR) + "/ggml/";
  for (ggml::Type t :
       {ggml::Type::Q8_0, ggml::Type::Q4_0, ggml::Type::Q4_1, ggml::Type::Q5_0, ggml::Type::Q5_1,
        ggml::Type::Q2_K, ggml::Type::Q3_K, ggml::Type::Q4_K, ggml::Type::Q5_K, ggml::Type::Q6_K,
        ggml::Type::TQ1_0, ggml::Type::TQ2_0, ggml::Type::MXFP4, ggml::Type::IQ4_NL}) {
    const ggml::TypeInfo info = *ggml::type_info(static_cast<std::uint32_t>(t));
    const std::string name(info.name);
    const std::vector<float> x = as_floats(read_all(dir + name + ".input.f32"));
    const std::vector<std::byte> ref = read_all(dir + name + ".blocks.bin");
    const std::vector<float> deq = as_floats(read_all(dir + name + ".dequant.f32"));
    const Index n = static_cast<Index>(x.size());
    REQUIRE(n == 131072);
    REQUIRE(static_cast<Index>(ref.size()) == n / info.block * info.bytes);
    std::vector<std::byte> got(ref.size());
    ggml::quantize_row(t, x.data(), n, got.data());
    Index bad_blocks = 0, first_bad = -1;
    for (Index b = 0; b < n / info.block; ++b) {
      if (std::memcmp(got.data() + b * info.bytes, ref.data() + b * info.bytes,
                      static_cast<std::size_t>(info.bytes)) != 0) {
        if (first_bad < 0) first_bad = b;
        ++bad_blocks;
      }
    }
    INFO(name << ": " << bad_blocks << " blocks differ, the first is " << first_bad);
    CHECK(bad_blocks == 0);
    std::vector<float> y(static_cast<std::size_t>(n));
    ggml::dequantize_row(t, ref.data(), n, y.data());
    Index bad_values = 0;
    for (Index i = 0; i < n; ++i) {
      std::uint32_t a, b;
      std::memcpy(&a, &y[static_cast<std::size_t>(i)], 4);
      std::memcpy(&b, &deq[static_cast<std::size_t>(i)], 4);
      bad_values += a != b;
    }
    INFO(name << ": " << bad_values << " dequantized values differ in their bits");
    CHECK(bad_values == 0);
    if (t == ggml::Type::IQ4_NL) {  // llama-quantize's path (ggml_quantize_chunk), 15 more scales
      const std::vector<std::byte> chunk = read_all(dir + name + ".chunk.blocks.bin");
      REQUIRE(chunk.size() == ref.size());
      ggml::quantize_chunk(t, x.data(), n, got.data());
      Index bad_chunk = 0;
      for (Index b = 0; b < n / info.block; ++b)
        bad_chunk += std::memcmp(got.data() + b * info.bytes, chunk.data() + b * info.bytes,
                                 static_cast<std::size_t>(info.bytes)) != 0;
      INFO(bad_chunk << " of the chunk path's blocks differ");
      CHECK(bad_chunk == 0);
      CHECK(chunk != ref);  // the search does change blocks
    } else {                // every other type: the chunk path is the reference quantizer
      ggml::quantize_chunk(t, x.data(), n, got.data());
      CHECK(got == ref);
    }
  }
}
#endif
