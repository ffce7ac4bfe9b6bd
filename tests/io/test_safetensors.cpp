// SPDX-License-Identifier: Apache-2.0
// tests/io/test_safetensors.cpp: the safetensors reader on a golden file built here (F32, F16,
// BF16, metadata, escapes) and on malformed headers and data regions.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "lowbit/io/safetensors.hpp"
#include "support/catch.hpp"

using namespace lowbit;

namespace {

std::vector<std::byte> file(const std::string& json, const std::vector<std::uint8_t>& data) {
  std::vector<std::byte> b(8);
  const std::uint64_t n = json.size();
  std::memcpy(b.data(), &n, 8);
  for (char c : json) b.push_back(static_cast<std::byte>(c));
  for (std::uint8_t d : data) b.push_back(static_cast<std::byte>(d));
  return b;
}

std::vector<std::uint8_t> golden_data() {
  std::vector<std::uint8_t> d;
  auto push = [&](const void* p, std::size_t n) {
    const auto* c = static_cast<const std::uint8_t*>(p);
    d.insert(d.end(), c, c + n);
  };
  for (int i = 0; i < 6; ++i) {
    const float v = 0.25f * static_cast<float>(i) - 0.5f;
    push(&v, 4);
  }
  for (std::uint16_t h : {0x3C00, 0xC000, 0x3800, 0x0001}) push(&h, 2);  // f16 1, -2, 0.5, 2^-24
  for (std::uint16_t h : {0x3F80, 0x4040}) push(&h, 2);                  // bf16 1, 3
  return d;
}

const std::string kGolden =
    "{\"__metadata__\": {\"format\": \"pt\", \"note\": \"a \\\"quoted\\\" \\u00e9\"},\n"
    " \"a.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]},\n"
    " \"b\": {\"shape\": [4], \"dtype\": \"F16\", \"data_offsets\": [24, 32]},\n"
    " \"c\": {\"dtype\": \"BF16\", \"data_offsets\": [32, 36], \"shape\": [2, 1]}}";

}  // namespace

TEST_CASE("safetensors: golden file", "[io][safetensors]") {
  const auto t = io::read_safetensors(file(kGolden, golden_data()));
  REQUIRE(t.size() == 3);
  const auto& a = t.at("a.weight");
  CHECK(a.dtype == "F32");
  CHECK(a.shape == std::vector<Index>{2, 3});
  CHECK(a.data == std::vector<float>{-0.5f, -0.25f, 0.0f, 0.25f, 0.5f, 0.75f});
  CHECK(t.at("b").data == std::vector<float>{1.0f, -2.0f, 0.5f, 0x1p-24f});
  CHECK(t.at("c").data == std::vector<float>{1.0f, 3.0f});
  CHECK(t.at("c").numel() == 2);
  CHECK(io::read_safetensors(file("{}", {})).empty());
}

TEST_CASE("safetensors: malformed files throw Error", "[io][safetensors][errors]") {
  const auto data = golden_data();
  const auto good = file(kGolden, data);
  // Truncations: the length field, the header, the data.
  for (std::size_t n :
       {std::size_t{0}, std::size_t{7}, std::size_t{8}, std::size_t{100}, good.size() - 1}) {
    INFO("length " << n);
    REQUIRE_THROWS_AS(io::read_safetensors(std::span<const std::byte>(good.data(), n)), Error);
  }
  auto longer = good;
  longer.push_back(std::byte{0});  // a hole at the end of the data region
  REQUIRE_THROWS_AS(io::read_safetensors(longer), Error);
  auto huge = good;
  const std::uint64_t big = ~std::uint64_t{0};
  std::memcpy(huge.data(), &big, 8);
  REQUIRE_THROWS_AS(io::read_safetensors(huge), Error);
  const std::string t = R"("dtype": "F32", "shape": [2], "data_offsets": [0, 8])";
  const std::vector<std::uint8_t> eight(8, 0);
  for (const std::string& json : {
           std::string("{\"x\": {") + t + "},}",                          // trailing comma
           std::string("{\"x\": {") + t + "}} x",                         // text after the object
           std::string("{\"x\": {") + t + "}, \"x\": {" + t + "}}",       // duplicate name
           std::string("{\"x\": {\"dtype\": \"F32\", \"shape\": [2]}}"),  // no offsets
           std::string("{\"x\": {") + t + ", \"extra\": 1}}",             // unknown key
           std::string("{\"x\": {\"dtype\": \"I8\", \"shape\": [8], \"data_offsets\": [0, 8]}}"),
           std::string("{\"x\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}"),
           std::string("{\"x\": {\"dtype\": \"F32\", \"shape\": [2.0], \"data_offsets\": [0, 8]}}"),
           std::string("{\"x\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}"),
           std::string("{\"x\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}"),
           std::string("{\"x\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}"),
           std::string("{\"x\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], "
                       "\"data_offsets\": [0, 8]}}"),
           std::string(
               "{\"x\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8, 9]}}"),
           std::string(
               "{\"x\": {\"dtype\": \"F\\q32\", \"shape\": [2], \"data_offsets\": [0, 8]}}"),
           std::string("{\"x\": {\"dtype\": \"F32\", \"shape\": [01], \"data_offsets\": [0, 8]}}"),
           std::string("[") + t + "]",
           std::string("{\"x\": {") + t + "}, \"y\": {" + t + "}}",  // overlap
       }) {
    INFO(json);
    REQUIRE_THROWS_AS(io::read_safetensors(file(json, eight)), Error);
  }
  REQUIRE_THROWS_AS(io::load_safetensors("/nonexistent.safetensors"), Error);
}
