// SPDX-License-Identifier: Apache-2.0
// tools/lowbit_synth.cpp: writes a Llama-architecture model of a real shape with seeded random
// weights, in Hugging Face's layout (config.json, model.safetensors.index.json and bf16
// model-0000i-of-0000n.safetensors shards), without ever holding more than one chunk of rows.
//
// usage: lowbit-synth --shape NAME --out DIR [--seed N] [--shard-kb N] [--layers N]
// Shapes: llama-3.2-1b (dim 2048, 16 layers, MLP 8192, 32/8 heads, vocab 128256, tied
// classifier, RoPE θ 500000), llama-3-8b (4096, 32, 14336, 32/8, 128256, separate classifier,
// θ 500000) and tiny (64, 2, 172, 8/4, 512, separate; for tests). --layers overrides the depth.
//
// Speed and memory of quantization and inference do not depend on trained weights, so these
// models are what the real-size figures are measured on; accuracy is measured on real models.
// Weights are Gaussian-like (a sum of four uniforms) with standard deviation 0.02, norms 1; each
// value is a hash of (seed, tensor, index), so a tensor is the same whatever the sharding.
// The output directory is created if needed; existing files of the same names are replaced.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "args.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/io/safetensors.hpp"

namespace {

using lowbit::Index;

constexpr const char* kUsage =
    "usage: lowbit-synth --shape llama-3.2-1b|llama-3-8b|tiny --out DIR [--seed N] "
    "[--shard-kb N] [--layers N]\n";

struct Shape {
  const char* name;
  Index dim, layers, hidden, heads, kv_heads, vocab;
  bool tied;
  double rope_theta;
  Index context;
};
constexpr Shape kShapes[] = {
    {"llama-3.2-1b", 2048, 16, 8192, 32, 8, 128256, true, 500000.0, 131072},
    {"llama-3-8b", 4096, 32, 14336, 32, 8, 128256, false, 500000.0, 8192},
    {"tiny", 64, 2, 172, 8, 4, 512, false, 10000.0, 256},
};

/// One tensor to generate: its spec, and whether it is a norm (all ones) or weights.
struct Planned {
  lowbit::io::SafeTensorSpec spec;
  bool norm = false;
  std::size_t shard = 0;
};

std::vector<Planned> plan(const Shape& s) {
  const Index head = s.dim / s.heads, kv = s.kv_heads * head;
  std::vector<Planned> t;
  auto add = [&](const std::string& name, std::vector<Index> shape, bool norm = false) {
    t.push_back({{name, "BF16", std::move(shape)}, norm, 0});
  };
  add("model.embed_tokens.weight", {s.vocab, s.dim});
  for (Index l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {s.dim}, true);
    add(p + "self_attn.q_proj.weight", {s.heads * head, s.dim});
    add(p + "self_attn.k_proj.weight", {kv, s.dim});
    add(p + "self_attn.v_proj.weight", {kv, s.dim});
    add(p + "self_attn.o_proj.weight", {s.dim, s.heads * head});
    add(p + "post_attention_layernorm.weight", {s.dim}, true);
    add(p + "mlp.gate_proj.weight", {s.hidden, s.dim});
    add(p + "mlp.up_proj.weight", {s.hidden, s.dim});
    add(p + "mlp.down_proj.weight", {s.dim, s.hidden});
  }
  add("model.norm.weight", {s.dim}, true);
  if (!s.tied) add("lm_head.weight", {s.vocab, s.dim});
  return t;
}

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// Value i of tensor t: 0.02·(a sum of four uniforms, centred and scaled to unit variance).
float value(std::uint64_t seed, std::uint64_t t, std::uint64_t i) {
  const std::uint64_t h = splitmix(seed ^ splitmix(t * 0x100000001B3ull + 1) ^ i);
  const double u =
      static_cast<double>((h & 0xffff) + ((h >> 16) & 0xffff) + ((h >> 32) & 0xffff) + (h >> 48));
  // Four uniforms on 0..65535: mean 131070, variance 4·(65536² - 1)/12.
  return static_cast<float>(0.02 * (u - 131070.0) / 37837.2);
}

void write_all(std::FILE* f, const void* p, std::size_t n, const std::string& path) {
  if (n > 0 && std::fwrite(p, 1, n, f) != n)
    lowbit::fail("lowbit-synth: short write to '", path, "'");
}

std::string shard_name(std::size_t i, std::size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "model-%05zu-of-%05zu.safetensors", i + 1, n);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lowbit;
  try {
    const tools::Args args(argc, argv, {"--shape", "--out", "--seed", "--shard-kb", "--layers"},
                           {"--help", "-h"});
    if (args.has("--help") || args.has("-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (!args.has("--shape") || !args.has("--out"))
      throw tools::UsageError{"--shape and --out are required"};
    const Shape* found = nullptr;
    for (const Shape& s : kShapes)
      if (args.str("--shape") == s.name) found = &s;
    if (found == nullptr) throw tools::UsageError{"unknown shape '" + args.str("--shape") + "'"};
    Shape shape = *found;
    shape.layers = args.num("--layers", shape.layers, 1, 1024);
    const auto seed = static_cast<std::uint64_t>(args.num("--seed", 1, 0, 1LL << 62));
    const long long shard_kb = args.num("--shard-kb", 2000000, 1, 1LL << 40);
    const std::string dir = args.str("--out");
    try {
      std::filesystem::create_directories(dir);
      std::vector<Planned> tensors = plan(shape);
      // Shards in model order, each up to --shard-kb (a larger tensor gets one of its own).
      std::size_t n_shards = 1;
      Index in_shard = 0, total = 0;
      for (Planned& t : tensors) {
        const Index b = t.spec.bytes();
        if (in_shard > 0 && in_shard + b > shard_kb * Index{1024}) {
          ++n_shards;
          in_shard = 0;
        }
        t.shard = n_shards - 1;
        in_shard += b;
        total += b;
      }
      std::vector<std::uint16_t> chunk;
      for (std::size_t s = 0; s < n_shards; ++s) {
        std::vector<io::SafeTensorSpec> specs;
        for (const Planned& t : tensors)
          if (t.shard == s) specs.push_back(t.spec);
        const std::string path = dir + "/" + shard_name(s, n_shards);
        std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"),
                                                          &std::fclose);
        if (!f) fail("lowbit-synth: cannot open '", path, "' for writing");
        const std::vector<std::byte> head = io::safetensors_header(specs, {{"format", "pt"}});
        write_all(f.get(), head.data(), head.size(), path);
        for (std::size_t ti = 0; ti < tensors.size(); ++ti) {
          const Planned& t = tensors[ti];
          if (t.shard != s) continue;
          const Index n = t.spec.bytes() / 2;
          constexpr Index kChunk = Index{1} << 20;
          for (Index at = 0; at < n; at += kChunk) {
            const Index m = std::min(kChunk, n - at);
            chunk.resize(static_cast<std::size_t>(m));
            for (Index i = 0; i < m; ++i) {
              const float v = t.norm ? 1.0f : value(seed, ti, static_cast<std::uint64_t>(at + i));
              chunk[static_cast<std::size_t>(i)] = bf16(v).bits;
            }
            write_all(f.get(), chunk.data(), chunk.size() * 2, path);
          }
        }
        if (std::fclose(f.release()) != 0) fail("lowbit-synth: cannot close '", path, "'");
      }
      // The index and the configuration, as transformers writes them.
      std::string index = "{\n  \"metadata\": {\"total_size\": " + std::to_string(total) +
                          "},\n  \"weight_map\": {";
      for (std::size_t i = 0; i < tensors.size(); ++i)
        index += std::string(i ? "," : "") + "\n    \"" + tensors[i].spec.name + "\": \"" +
                 shard_name(tensors[i].shard, n_shards) + "\"";
      index += "\n  }\n}\n";
      const Index head_dim = shape.dim / shape.heads;
      char config[1024];
      std::snprintf(
          config, sizeof(config),
          "{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"model_type\": \"llama\",\n"
          "  \"hidden_size\": %td,\n  \"intermediate_size\": %td,\n  \"num_hidden_layers\": %td,\n"
          "  \"num_attention_heads\": %td,\n  \"num_key_value_heads\": %td,\n  \"head_dim\": %td,\n"
          "  \"vocab_size\": %td,\n  \"max_position_embeddings\": %td,\n"
          "  \"rms_norm_eps\": 1e-05,\n  \"rope_theta\": %.1f,\n  \"tie_word_embeddings\": %s,\n"
          "  \"hidden_act\": \"silu\",\n  \"torch_dtype\": \"bfloat16\"\n}\n",
          shape.dim, shape.hidden, shape.layers, shape.heads, shape.kv_heads, head_dim, shape.vocab,
          shape.context, shape.rope_theta, shape.tied ? "true" : "false");
      const std::string cfg = config;
      io::write_file(std::as_bytes(std::span<const char>(index.data(), index.size())),
                     dir + "/model.safetensors.index.json");
      io::write_file(std::as_bytes(std::span<const char>(cfg.data(), cfg.size())),
                     dir + "/config.json");
      std::printf("%s: %s, %zu tensors, %td bytes of bf16 in %zu shard(s), seed %llu\n",
                  dir.c_str(), shape.name, tensors.size(), total, n_shards,
                  static_cast<unsigned long long>(seed));
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lowbit-synth: %s\n", e.what());
      return 1;
    }
  } catch (const tools::UsageError& e) {
    std::fprintf(stderr, "lowbit-synth: %s\n%s", e.what.c_str(), kUsage);
    return 2;
  }
}
