// SPDX-License-Identifier: Apache-2.0
// tests/io/test_safetensors.cpp: the safetensors reader on a golden file built here (F32, F16,
// BF16, metadata, escapes) and on malformed headers and data regions.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "lowbit/io/file.hpp"
#include "lowbit/io/json.hpp"
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

TEST_CASE("safetensors: the index views each tensor in data order, unconverted",
          "[io][safetensors]") {
  // The golden file's JSON lists b before c; a file whose JSON order differs from the data's.
  const std::string json =
      "{\"c\": {\"dtype\": \"BF16\", \"data_offsets\": [32, 36], \"shape\": [2, 1]},"
      " \"__metadata__\": {\"format\": \"pt\"},"
      " \"a.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]},"
      " \"b\": {\"shape\": [4], \"dtype\": \"F16\", \"data_offsets\": [24, 32]}}";
  const std::vector<std::byte> f = file(json, golden_data());
  const io::SafetensorsIndex idx = io::index_safetensors(f);
  REQUIRE(idx.tensors.size() == 3);
  CHECK(idx.tensors[0].name == "a.weight");
  CHECK(idx.tensors[1].name == "b");
  CHECK(idx.tensors[2].name == "c");
  CHECK(idx.metadata.at("format") == "pt");
  // Views into the file's bytes: the data region starts after the 8-byte length and the JSON.
  CHECK(idx.tensors[1].bytes.data() == f.data() + 8 + json.size() + 24);
  CHECK(idx.tensors[1].bytes.size() == 8);
  CHECK(idx.tensors[1].element_bytes() == 2);
  CHECK(io::to_f32(*idx.find("b")) == std::vector<float>{1.0f, -2.0f, 0.5f, 0x1p-24f});
  CHECK(io::to_f32(*idx.find("c")) == std::vector<float>{1.0f, 3.0f});
  CHECK(idx.find("d") == nullptr);
  std::vector<float> wrong(5);
  REQUIRE_THROWS_WITH(io::to_f32(*idx.find("b"), wrong),
                      LOWBIT_CONTAINS("tensor 'b' has 4 values, the output 5"));
}

TEST_CASE("safetensors: a mapped file reads as the file read whole", "[io][safetensors]") {
  const std::vector<std::byte> f = file(kGolden, golden_data());
  const std::string path = "lowbit_test_mapped.safetensors";
  io::write_file(f, path);
  {
    const io::MappedFile m(path);
    REQUIRE(m.size() == f.size());
    CHECK(std::equal(m.bytes().begin(), m.bytes().end(), f.begin(), f.end()));
    const io::SafetensorsIndex idx = io::index_safetensors(m.bytes());
    const std::vector<float> a = io::to_f32(idx.tensors[0]);
    m.release(m.bytes());  // the pages go; the contents stay readable
    CHECK(io::to_f32(idx.tensors[0]) == a);
    io::MappedFile moved = io::MappedFile(path);
    CHECK(moved.size() == f.size());
  }
  std::remove(path.c_str());
  io::write_file({}, path);
  CHECK(io::MappedFile(path).bytes().empty());
  std::remove(path.c_str());
  REQUIRE_THROWS_WITH(io::MappedFile("."), LOWBIT_CONTAINS("is a directory"));
  REQUIRE_THROWS_WITH(io::MappedFile("/nonexistent/x"), LOWBIT_CONTAINS("no such file"));
}

TEST_CASE("json: Hugging Face's config files parse; malformed ones name the byte", "[io][json]") {
  const io::JsonValue v = io::parse_json(
      "{\"hidden_size\": 2048, \"rms_norm_eps\": 1e-05, \"rope_theta\": 500000.0,"
      " \"tie_word_embeddings\": true, \"rope_scaling\": null, \"neg\": -0.5,"
      " \"architectures\": [\"LlamaForCausalLM\"], \"nested\": {\"a\": [1, [2, {}]]}}",
      "config.json");
  REQUIRE(v.kind == io::JsonValue::Kind::kObject);
  CHECK(v.find("hidden_size")->number == 2048.0);
  CHECK(v.find("rms_norm_eps")->number == 1e-05);
  CHECK(v.find("rope_theta")->number == 500000.0);
  CHECK(v.find("tie_word_embeddings")->boolean);
  CHECK(v.find("rope_scaling")->kind == io::JsonValue::Kind::kNull);
  CHECK(v.find("neg")->number == -0.5);
  CHECK(v.find("architectures")->items.at(0).string == "LlamaForCausalLM");
  CHECK(v.find("nested")->find("a")->items.at(1).items.at(1).kind == io::JsonValue::Kind::kObject);
  CHECK(v.find("missing") == nullptr);
  CHECK(v.members.front().key == "hidden_size");  // file order
  auto error = [](const std::string& text) {
    try {
      (void)io::parse_json(text, "config.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error("{\"a\": 1,}").find("config.json at byte 8") != std::string::npos);
  CHECK(error("{\"a\": 01}").find("leading zero") != std::string::npos);
  CHECK(error("{\"a\": 1.}").find("digits after '.'") != std::string::npos);
  CHECK(error("{\"a\": 1e}").find("exponent") != std::string::npos);
  CHECK(error("{\"a\": 1, \"a\": 2}").find("repeated key 'a'") != std::string::npos);
  CHECK(error("{\"a\": tru}").find("expected a number") != std::string::npos);
  CHECK(error("[1] 2").find("after the top-level value") != std::string::npos);
  CHECK(error(std::string(70, '[') + std::string(70, ']')).find("deeper than 64") !=
        std::string::npos);
  CHECK(error("").find("expected a number") != std::string::npos);
}

TEST_CASE("safetensors: a written header reads back with its tensors", "[io][safetensors]") {
  const std::vector<io::SafeTensorSpec> specs = {{"model.embed_tokens.weight", "BF16", {3, 2}},
                                                 {"we\"ird\\name", "F32", {2}},
                                                 {"e", "F16", {0}}};
  std::vector<std::byte> f = io::safetensors_header(specs, {{"format", "pt"}});
  CHECK(f.size() % 8 == 0);
  const std::size_t header = f.size();
  for (const auto& s : specs)
    for (Index i = 0; i < s.bytes(); ++i) f.push_back(static_cast<std::byte>(i + 1));
  const io::SafetensorsIndex idx = io::index_safetensors(f);
  REQUIRE(idx.tensors.size() == 3);
  CHECK(idx.metadata.at("format") == "pt");
  CHECK(idx.tensors[0].name == "model.embed_tokens.weight");
  CHECK(idx.tensors[0].shape == std::vector<Index>{3, 2});
  CHECK(idx.tensors[0].bytes.data() == f.data() + header);
  CHECK(idx.tensors[1].name == "we\"ird\\name");
  CHECK(idx.tensors[1].dtype == "F32");
  CHECK(idx.tensors[2].bytes.empty());
  REQUIRE_THROWS_WITH(io::safetensors_header(std::vector<io::SafeTensorSpec>{{"x", "I8", {1}}}, {}),
                      LOWBIT_CONTAINS("cannot write dtype I8"));
}
