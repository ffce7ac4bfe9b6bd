// SPDX-License-Identifier: Apache-2.0
// tests/io/test_hf.cpp: Hugging Face model directories (io/hf.hpp): config.json as a Llama
// configuration, the shards of model.safetensors.index.json in order and checked against the
// weight map, and every malformed directory an error naming the file and the field.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "lowbit/io/hf.hpp"
#include "lowbit/io/hf_gguf.hpp"
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

TEST_CASE("hf: tokenizer.json as llama.cpp's GGUF vocabulary; what does not convert is an error",
          "[io][hf][tokenizer]") {
  const fs::path d = fs::temp_directory_path() / "lowbit_test_hf_tok";
  fs::remove_all(d);
  fs::create_directories(d);
  write_text(d / "config.json",
             kConfig.substr(0, kConfig.size() - 1) + ", \"bos_token_id\": 6, \"eos_token_id\": 7}");
  write_shard(d / "model.safetensors", {"a"});
  const io::HfModel m = io::open_hf_model(d.string());
  bool synthetic = false;
  // No tokenizer.json: the synthetic vocabulary, said so.
  auto kv = io::hf_tokenizer_kv(m, 512, synthetic);
  CHECK(synthetic);
  CHECK(kv.front().second.str == "llama");
  // Byte-level BPE with Llama 3's pre-tokenizer, both spellings of merges, added tokens; id 5
  // unnamed (padding).
  const std::string llama3_split =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+)";
  write_text(d / "tokenizer.json",
             R"({"added_tokens": [{"id": 6, "content": "<|begin_of_text|>", "special": true},
                                  {"id": 7, "content": "<|end|>", "special": true},
                                  {"id": 4, "content": "xy", "special": false}],
                 "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split",
                   "pattern": {"Regex": ")" +
                 llama3_split + R"("}}, {"type": "ByteLevel"}]},
                 "model": {"type": "BPE", "byte_fallback": false,
                   "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120a": 3},
                   "merges": ["a b", ["\u0120", "a"]]}})");
  kv = io::hf_tokenizer_kv(m, 8, synthetic);
  CHECK_FALSE(synthetic);
  auto find = [&](const std::string& k) -> const io::GgufValue& {
    for (const auto& [key, v] : kv)
      if (key == k) return v;
    FAIL("no key " << k);
    return kv.front().second;
  };
  CHECK(find("tokenizer.ggml.model").str == "gpt2");
  CHECK(find("tokenizer.ggml.pre").str == "llama-bpe");
  const auto& tokens = find("tokenizer.ggml.tokens").items;
  REQUIRE(tokens.size() == 8);
  CHECK(tokens[2].str == "ab");
  CHECK(tokens[3].str ==
        "\xC4\xA0"
        "a");
  CHECK(tokens[4].str == "xy");
  CHECK(tokens[5].str == "[PAD5]");
  CHECK(tokens[6].str == "<|begin_of_text|>");
  const auto& types = find("tokenizer.ggml.token_type").items;
  CHECK(types[0].bits == 1);
  CHECK(types[4].bits == 4);
  CHECK(types[5].bits == 4);
  CHECK(types[6].bits == 3);
  const auto& merges = find("tokenizer.ggml.merges").items;
  REQUIRE(merges.size() == 2);
  CHECK(merges[0].str == "a b");
  CHECK(merges[1].str == "\xC4\xA0 a");
  CHECK(find("tokenizer.ggml.bos_token_id").bits == 6);
  CHECK(find("tokenizer.ggml.eos_token_id").bits == 7);
  // Not converted: errors naming the file and what is wrong.
  const std::string tj = (d / "tokenizer.json").string();
  write_text(d / "tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})");
  CHECK_THAT(error_of([&] { io::hf_tokenizer_kv(m, 8, synthetic); }),
             LOWBIT_CONTAINS(tj + "': model.type is not \"BPE\""));
  write_text(d / "tokenizer.json",
             R"({"model": {"type": "BPE", "byte_fallback": true, "vocab": {}, "merges": []}})");
  CHECK_THAT(error_of([&] { io::hf_tokenizer_kv(m, 8, synthetic); }),
             LOWBIT_CONTAINS("byte_fallback"));
  write_text(d / "tokenizer.json",
             R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 8}, "merges": []}})");
  CHECK_THAT(error_of([&] { io::hf_tokenizer_kv(m, 8, synthetic); }),
             LOWBIT_CONTAINS("token 'b' has id 8, not in 0..7"));
  write_text(d / "tokenizer.json",
             R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}})");
  CHECK_THAT(error_of([&] { io::hf_tokenizer_kv(m, 8, synthetic); }),
             LOWBIT_CONTAINS("id 0 names two tokens"));
  write_text(d / "tokenizer.json",
             R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}})");
  CHECK_THAT(error_of([&] { io::hf_tokenizer_kv(m, 8, synthetic); }),
             LOWBIT_CONTAINS("a merge is neither"));
  fs::remove_all(d);
}
