// SPDX-License-Identifier: Apache-2.0
// lowbit/io/hf.hpp: a Hugging Face model directory as transformers writes it: config.json, and
// the weights either in one model.safetensors or in shards named by
// model.safetensors.index.json ({"metadata": …, "weight_map": {tensor: shard file}}).
//
// open_hf_model reads and checks the two JSON files (every shard a plain file name inside the
// directory, no tensor listed twice) and lists the shards in file-name order, the order
// transformers numbers them. Tensors are then read shard by shard through index_safetensors
// over a MappedFile (io/safetensors.hpp), never the whole model at once; hf_shard_tensors
// checks each shard against the weight map (every tensor listed, under this shard).
// llama_config reads a Llama configuration (model_type "llama": dimensions, grouped-query heads,
// RoPE θ, tied or separate classifier); any missing or impossible field is an Error naming it.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/io/file.hpp"
#include "lowbit/io/json.hpp"
#include "lowbit/io/llama2c.hpp"
#include "lowbit/io/safetensors.hpp"

namespace lowbit::io {

/// A model directory: its configuration and its safetensors files, in order.
struct HfModel {
  std::string dir;
  JsonValue config;
  std::vector<std::string> shards;                // paths
  std::map<std::string, std::string> weight_map;  // tensor → shard file name; empty: one file
};

/// Whether `path` looks like a Hugging Face model directory (a directory with config.json).
inline bool is_hf_model_dir(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec) &&
         std::filesystem::is_regular_file(std::filesystem::path(path) / "config.json", ec);
}

inline JsonValue read_json_file(const std::string& path) {
  const std::vector<std::byte> bytes = read_file(path);
  if (bytes.size() > (std::size_t{64} << 20))
    lowbit::detail::fail("hf: '", path, "' is ", bytes.size(), " bytes, more than 64 MB of JSON");
  return parse_json(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                    path);
}

/// Opens the model directory `dir` (see the top of this file).
inline HfModel open_hf_model(const std::string& dir) {
  namespace fs = std::filesystem;
  using lowbit::detail::fail;
  if (!fs::is_directory(dir)) fail("hf: '", dir, "' is not a directory");
  HfModel m;
  m.dir = dir;
  m.config = read_json_file((fs::path(dir) / "config.json").string());
  if (m.config.kind != JsonValue::Kind::kObject) fail("hf: '", dir, "/config.json' is no object");
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(index)) {
    const JsonValue j = read_json_file(index.string());
    const JsonValue* map = j.find("weight_map");
    if (map == nullptr || map->kind != JsonValue::Kind::kObject)
      fail("hf: '", index.string(), "' has no \"weight_map\" object");
    std::set<std::string> files;
    for (const auto& [tensor, file] : map->members) {  // JsonMember{key, value}
      if (file.kind != JsonValue::Kind::kString)
        fail("hf: '", index.string(), "': tensor '", tensor, "' maps to no file name");
      const std::string& f = file.string;
      if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..")
        fail("hf: '", index.string(), "': tensor '", tensor, "' maps to '", f,
             "', not a file name inside the directory");
      m.weight_map[tensor] = f;
      files.insert(f);
    }
    if (files.empty()) fail("hf: '", index.string(), "' lists no tensors");
    for (const std::string& f : files) m.shards.push_back((fs::path(dir) / f).string());
  } else if (fs::exists(fs::path(dir) / "model.safetensors")) {
    m.shards.push_back((fs::path(dir) / "model.safetensors").string());
  } else {
    fail("hf: '", dir, "' has neither model.safetensors.index.json nor model.safetensors");
  }
  return m;
}

/// The tensors of one shard of m (an index over `file`'s bytes), checked against the weight map:
/// each is listed, under this shard.
inline SafetensorsIndex hf_shard_tensors(const HfModel& m, const MappedFile& file) {
  SafetensorsIndex idx;
  try {
    idx = index_safetensors(file.bytes());
  } catch (const Error& e) {
    lowbit::detail::fail("hf: '", file.path(), "': ", e.what());
  }
  if (m.weight_map.empty()) return idx;
  const std::string name = std::filesystem::path(file.path()).filename().string();
  for (const SafeTensorView& t : idx.tensors) {
    const auto it = m.weight_map.find(t.name);
    if (it == m.weight_map.end())
      lowbit::detail::fail("hf: '", file.path(), "': tensor '", t.name,
                           "' is not in the index's weight_map");
    if (it->second != name)
      lowbit::detail::fail("hf: '", file.path(), "': tensor '", t.name, "' is listed under '",
                           it->second, "'");
  }
  std::size_t listed = 0;
  for (const auto& [tensor, shard] : m.weight_map) listed += shard == name;
  if (listed != idx.tensors.size())
    lowbit::detail::fail("hf: '", file.path(), "' holds ", idx.tensors.size(),
                         " tensors, the index lists ", listed, " in it");
  return idx;
}

/// The Llama configuration of config.json (architecture fields only; seq_len is
/// max_position_embeddings capped at 2^20).
inline Llama2cConfig llama_config(const HfModel& m) {
  using lowbit::detail::fail;
  const JsonValue& c = m.config;
  const std::string where = m.dir + "/config.json";
  const JsonValue* type = c.find("model_type");
  if (type == nullptr || type->kind != JsonValue::Kind::kString || type->string != "llama")
    fail("hf: '", where, "': model_type is not \"llama\"");
  auto integer = [&](const char* key, double lo, double hi, const JsonValue* fallback = nullptr) {
    const JsonValue* v = c.find(key);
    if (v == nullptr) v = fallback;
    if (v == nullptr || v->kind != JsonValue::Kind::kNumber)
      fail("hf: '", where, "': \"", key, "\" is missing or not a number");
    if (v->number != std::floor(v->number) || v->number < lo || v->number > hi)
      fail("hf: '", where, "': \"", key, "\" is ", v->number, ", expected a whole number in ", lo,
           "..", hi);
    return static_cast<int>(v->number);
  };
  constexpr double kMax = Llama2cModel::kMaxDim;
  Llama2cConfig cfg;
  cfg.dim = integer("hidden_size", 1, kMax);
  cfg.hidden_dim = integer("intermediate_size", 1, kMax);
  cfg.n_layers = integer("num_hidden_layers", 1, 4096);
  cfg.n_heads = integer("num_attention_heads", 1, kMax);
  cfg.n_kv_heads = integer("num_key_value_heads", 1, kMax, c.find("num_attention_heads"));
  cfg.vocab_size = integer("vocab_size", 1, kMax);
  const JsonValue* ctx = c.find("max_position_embeddings");
  cfg.seq_len = ctx != nullptr && ctx->kind == JsonValue::Kind::kNumber
                    ? static_cast<int>(std::min(ctx->number, double{1 << 20}))
                    : 2048;
  if (cfg.seq_len < 1) fail("hf: '", where, "': \"max_position_embeddings\" must be positive");
  if (cfg.dim % cfg.n_heads != 0)
    fail("hf: '", where, "': hidden_size ", cfg.dim, " is not a multiple of ", cfg.n_heads,
         " heads");
  if (cfg.n_heads % cfg.n_kv_heads != 0)
    fail("hf: '", where, "': ", cfg.n_heads, " heads are not a multiple of ", cfg.n_kv_heads,
         " key/value heads");
  if (const JsonValue* hd = c.find("head_dim");
      hd != nullptr && hd->kind == JsonValue::Kind::kNumber && hd->number != cfg.dim / cfg.n_heads)
    fail("hf: '", where, "': head_dim ", hd->number, " is not hidden_size / heads (",
         cfg.dim / cfg.n_heads, ")");
  const JsonValue* tie = c.find("tie_word_embeddings");
  cfg.shared_classifier = tie != nullptr && tie->kind == JsonValue::Kind::kBool && tie->boolean;
  if (const JsonValue* theta = c.find("rope_theta"); theta != nullptr) {
    if (theta->kind != JsonValue::Kind::kNumber || !(theta->number > 0.0))
      fail("hf: '", where, "': \"rope_theta\" must be a positive number");
    cfg.rope_theta = theta->number;
  }
  return cfg;
}

}  // namespace lowbit::io
