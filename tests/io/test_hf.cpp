// SPDX-License-Identifier: Apache-2.0
// tests/io/test_hf.cpp: Hugging Face model directories (io/hf.hpp): config.json as a Llama
// configuration, the shards of model.safetensors.index.json in order and checked against the
// weight map, and every malformed directory an error naming the file and the field.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "lowbit/io/hf.hpp"
#include "support/catch.hpp"

using namespace lowbit;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& p, const std::string& s) {
  io::write_file(std::as_bytes(std::span<const char>(s.data(), s.size())), p.string());
}

/// A shard holding `names` (F32, 2 values each).
void write_shard(const fs::path& p, const std::vector<std::string>& names) {
  std::vector<io::SafeTensorSpec> specs;
  for (const auto& n : names) specs.push_back({n, "F32", {2}});
  std::vector<std::byte> f = io::safetensors_header(specs, {});
  f.resize(f.size() + 8 * names.size());
  io::write_file(f, p.string());
}

const std::string kConfig =
    "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 172,"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 8, \"num_key_value_heads\": 4,"
    " \"vocab_size\": 512, \"max_position_embeddings\": 131072, \"rope_theta\": 500000.0,"
    " \"tie_word_embeddings\": true, \"head_dim\": 8}";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("hf: a sharded directory opens in shard order, checked against its index", "[io][hf]") {
  const fs::path d = fs::temp_directory_path() / "lowbit_test_hf";
  fs::remove_all(d);
  fs::create_directories(d);
  write_text(d / "config.json", kConfig);
  write_text(d / "model.safetensors.index.json",
             "{\"metadata\": {\"total_size\": 24}, \"weight_map\": {\"a\": "
             "\"model-00002-of-00002.safetensors\", \"b\": \"model-00001-of-00002.safetensors\","
             " \"c\": \"model-00001-of-00002.safetensors\"}}");
  write_shard(d / "model-00001-of-00002.safetensors", {"b", "c"});
  write_shard(d / "model-00002-of-00002.safetensors", {"a"});
  REQUIRE(io::is_hf_model_dir(d.string()));
  CHECK(!io::is_hf_model_dir((d / "config.json").string()));
  const io::HfModel m = io::open_hf_model(d.string());
  REQUIRE(m.shards.size() == 2);
  CHECK(fs::path(m.shards[0]).filename() == "model-00001-of-00002.safetensors");
  const io::MappedFile s0(m.shards[0]);
  const io::SafetensorsIndex i0 = io::hf_shard_tensors(m, s0);
  REQUIRE(i0.tensors.size() == 2);
  CHECK(i0.tensors[0].name == "b");

  const io::Llama2cConfig c = io::llama_config(m);
  CHECK(c.dim == 64);
  CHECK(c.hidden_dim == 172);
  CHECK(c.n_layers == 2);
  CHECK(c.n_heads == 8);
  CHECK(c.n_kv_heads == 4);
  CHECK(c.vocab_size == 512);
  CHECK(c.seq_len == 131072);
  CHECK(c.rope_theta == 500000.0);
  CHECK(c.shared_classifier);

  // A shard whose tensors the index puts elsewhere, or does not list.
  write_shard(d / "model-00002-of-00002.safetensors", {"b"});
  const io::MappedFile s1(m.shards[1]);
  CHECK(error_of([&] {
          (void)io::hf_shard_tensors(m, s1);
        }).find("tensor 'b' is listed under 'model-00001-of-00002.safetensors'") !=
        std::string::npos);
  write_shard(d / "model-00002-of-00002.safetensors", {"z"});
  const io::MappedFile s2(m.shards[1]);
  CHECK(error_of([&] {
          (void)io::hf_shard_tensors(m, s2);
        }).find("tensor 'z' is not in the index's weight_map") != std::string::npos);
  write_shard(d / "model-00001-of-00002.safetensors", {"b"});
  const io::MappedFile s3(m.shards[0]);
  CHECK(error_of([&] {
          (void)io::hf_shard_tensors(m, s3);
        }).find("holds 1 tensors, the index lists 2 in it") != std::string::npos);

  // Index files that point outside the directory or list nothing.
  write_text(d / "model.safetensors.index.json", "{\"weight_map\": {\"a\": \"../x.safetensors\"}}");
  CHECK(error_of([&] {
          (void)io::open_hf_model(d.string());
        }).find("not a file name inside the directory") != std::string::npos);
  write_text(d / "model.safetensors.index.json", "{\"weight_map\": {}}");
  CHECK(error_of([&] { (void)io::open_hf_model(d.string()); }).find("lists no tensors") !=
        std::string::npos);
  write_text(d / "model.safetensors.index.json", "{\"metadata\": {}}");
  CHECK(error_of([&] { (void)io::open_hf_model(d.string()); }).find("no \"weight_map\"") !=
        std::string::npos);
  fs::remove(d / "model.safetensors.index.json");
  CHECK(error_of([&] {
          (void)io::open_hf_model(d.string());
        }).find("neither model.safetensors.index.json nor model.safetensors") != std::string::npos);
  write_shard(d / "model.safetensors", {"x"});
  CHECK(io::open_hf_model(d.string()).shards.size() == 1);
  fs::remove_all(d);
}

TEST_CASE("hf: config.json fields are checked and named", "[io][hf]") {
  io::HfModel m;
  m.dir = "model";
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = kConfig;
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
    m.config = io::parse_json(s, "config.json");
    return error_of([&] { (void)io::llama_config(m); });
  };
  CHECK(with("\"llama\"", "\"mistral\"").find("model_type is not \"llama\"") != std::string::npos);
  CHECK(with("\"hidden_size\": 64", "\"hidden_size\": 64.5").find("\"hidden_size\" is 64.5") !=
        std::string::npos);
  CHECK(with("\"hidden_size\": 64", "\"hidden_size\": 0").find("hidden_size") != std::string::npos);
  CHECK(with("\"vocab_size\": 512", "\"vocab\": 512").find("\"vocab_size\" is missing") !=
        std::string::npos);
  CHECK(with("\"num_key_value_heads\": 4", "\"num_key_value_heads\": 3")
            .find("8 heads are not a multiple of 3 key/value heads") != std::string::npos);
  CHECK(with("\"num_attention_heads\": 8", "\"num_attention_heads\": 6")
            .find("not a multiple of 6 heads") != std::string::npos);
  CHECK(with("\"head_dim\": 8", "\"head_dim\": 16").find("head_dim 16") != std::string::npos);
  CHECK(with("\"rope_theta\": 500000.0", "\"rope_theta\": -1").find("rope_theta") !=
        std::string::npos);
  // Defaults: no key/value head count means as many as heads; no tie means a separate classifier.
  CHECK(with("\"num_key_value_heads\": 4,", "").empty());
  CHECK(io::llama_config(m).n_kv_heads == 8);
  CHECK(with("\"tie_word_embeddings\": true,", "").empty());
  CHECK(!io::llama_config(m).shared_classifier);
}
