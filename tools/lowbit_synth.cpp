// SPDX-License-Identifier: Apache-2.0
// tools/lowbit_synth.cpp: writes a Llama-architecture model of a real shape with seeded random
// weights, in Hugging Face's layout (config.json, model.safetensors.index.json and bf16
// model-0000i-of-0000n.safetensors shards), or as one GGUF file in one of llama.cpp's types,
// without ever holding more than one chunk of rows.
//
// usage: lowbit-synth --shape NAME --out DIR [--seed N] [--shard-kb N] [--layers N]
//        lowbit-synth --shape NAME --gguf TYPE --out FILE [--seed N] [--layers N] [--threads N]
// Shapes: llama-3.2-1b (dim 2048, 16 layers, MLP 8192, 32/8 heads, vocab 128256, tied
// classifier, RoPE θ 500000), llama-3-8b (4096, 32, 14336, 32/8, 128256, separate classifier,
// θ 500000) and tiny (64, 2, 172, 8/4, 512, separate; for tests). --layers overrides the depth.
//
// Speed and memory of quantization and inference do not depend on trained weights, so these
// models are what the real-size figures are measured on; accuracy is measured on real models.
// Weights are Gaussian-like (a sum of four uniforms) with standard deviation 0.02, norms 1; each
// value is a hash of (seed, tensor, index), so a tensor is the same whatever the sharding.
// The output directory is created if needed; existing files of the same names are replaced.
//
// With --gguf TYPE (f16, q8_0, q4_0, q4_K, q2_K, tq2_0 or any block type lowbit writes) the
// model is the one llama.cpp's converter would make of the Hugging Face directory with the same
// seed (the bf16 values; attn_q/attn_k rows permuted for llama.cpp's RoPE), quantized as
// llama-quantize --pure TYPE quantizes it (io::llama_gguf_head: the classifier Q6_K, norms F32),
// with a synthetic vocabulary (io::synthetic_tokenizer) so llama.cpp loads it. Rows are
// quantized on --threads threads (default: all), and written as they are made
// (io::GgufStreamWriter).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "args.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/formats/ggml/blocks.hpp"
#include "lowbit/io/gguf_llama.hpp"
#include "lowbit/io/safetensors.hpp"

namespace {

using lowbit::Index;

constexpr const char* kUsage =
    "usage: lowbit-synth --shape llama-3.2-1b|llama-3-8b|tiny --out DIR [--seed N] "
    "[--shard-kb N] [--layers N]\n"
    "       lowbit-synth --shape NAME --gguf TYPE --out FILE [--seed N] [--layers N] "
    "[--threads N]\n";

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

/// The ggml type named `name` (as ggml spells it, any case).
lowbit::ggml::Type parse_type(const std::string& name) {
  auto lower = [](std::string_view v) {
    std::string o(v);
    for (char& ch : o) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return o;
  };
  for (const auto& c : lowbit::ggml::kCodecs)
    if (lower(c.info.name) == lower(name) && c.type != lowbit::ggml::Type::BF16) return c.type;
  throw lowbit::tools::UsageError{"unknown GGUF type '" + name + "'"};
}

/// The model of `shape` as a GGUF file of base type `base` (see the top of this file).
void write_gguf_model(const Shape& shape, std::uint64_t seed, lowbit::ggml::Type base,
                      const std::string& path, int threads) {
  using namespace lowbit;
  io::Llama2cConfig c;
  c.dim = static_cast<int>(shape.dim);
  c.hidden_dim = static_cast<int>(shape.hidden);
  c.n_layers = static_cast<int>(shape.layers);
  c.n_heads = static_cast<int>(shape.heads);
  c.n_kv_heads = static_cast<int>(shape.kv_heads);
  c.vocab_size = static_cast<int>(shape.vocab);
  c.seq_len = static_cast<int>(shape.context);
  c.shared_classifier = shape.tied;
  c.rope_theta = shape.rope_theta;
  io::GgufStreamWriter w(path,
                         io::llama_gguf_head(c, base, std::string("lowbit-synth ") + shape.name,
                                             io::synthetic_tokenizer(c.vocab_size)));
  const std::vector<Planned> hf = plan(shape);
  const Index head = shape.dim / shape.heads;
  std::vector<float> rows;
  std::vector<std::byte> out;
  for (const io::GgufTensor& t : w.head().tensors) {
    std::size_t ti = hf.size();
    for (std::size_t i = 0; i < hf.size(); ++i)
      if (io::gguf_name_of_hf(hf[i].spec.name) == t.name) ti = i;
    if (ti == hf.size()) fail("lowbit-synth: no Hugging Face tensor for '", t.name, "'");
    const bool permute = t.name.find(".attn_q.") != std::string::npos ||
                         t.name.find(".attn_k.") != std::string::npos;
    const Index cols = static_cast<Index>(t.ne[0]), n_rows = t.numel() / cols;
    const auto type = static_cast<ggml::Type>(t.type);
    const auto info = *ggml::type_info(t.type);
    const Index row_bytes = cols / info.block * info.bytes;
    // About 4 M values a step, split over the threads by rows.
    const Index step = std::max<Index>(1, (Index{1} << 22) / cols);
    for (Index r0 = 0; r0 < n_rows; r0 += step) {
      const Index nr = std::min(step, n_rows - r0);
      rows.resize(static_cast<std::size_t>(nr * cols));
      out.resize(static_cast<std::size_t>(nr * row_bytes));
      tools::parallel_rows(nr, threads, [&](Index a, Index b) {
        for (Index r = a; r < b; ++r) {
          const Index src = permute ? io::hf_row_of_gguf_row(r0 + r, head) : r0 + r;
          float* x = rows.data() + r * cols;
          for (Index j = 0; j < cols; ++j)
            x[j] = hf[ti].norm ? 1.0f
                               : static_cast<float>(bf16(
                                     value(seed, ti, static_cast<std::uint64_t>(src * cols + j))));
          ggml::encode_row(type, x, cols, out.data() + r * row_bytes);
        }
      });
      w.append(out);
    }
  }
  w.finish();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lowbit;
  try {
    const tools::Args args(
        argc, argv, {"--shape", "--out", "--seed", "--shard-kb", "--layers", "--gguf", "--threads"},
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
    if (args.has("--gguf")) {
      const ggml::Type type = parse_type(args.str("--gguf"));
      const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      const int threads = static_cast<int>(args.num("--threads", hw, 1, 1024));
      try {
        write_gguf_model(shape, seed, type, dir, threads);
        std::printf("%s: %s as GGUF %s, seed %llu, peak RSS %.0f MB\n", dir.c_str(), shape.name,
                    args.str("--gguf").c_str(), static_cast<unsigned long long>(seed),
                    tools::peak_rss_mb());
        return 0;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "lowbit-synth: %s\n", e.what());
        return 1;
      }
    }
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
          "{\n  \"_name_or_path\": \"lowbit-synth %s\",\n"
          "  \"architectures\": [\"LlamaForCausalLM\"],\n  \"model_type\": \"llama\",\n"
          "  \"hidden_size\": %td,\n  \"intermediate_size\": %td,\n  \"num_hidden_layers\": %td,\n"
          "  \"num_attention_heads\": %td,\n  \"num_key_value_heads\": %td,\n  \"head_dim\": %td,\n"
          "  \"vocab_size\": %td,\n  \"max_position_embeddings\": %td,\n"
          "  \"rms_norm_eps\": 1e-05,\n  \"rope_theta\": %.1f,\n  \"tie_word_embeddings\": %s,\n"
          "  \"hidden_act\": \"silu\",\n  \"torch_dtype\": \"bfloat16\"\n}\n",
          shape.name, shape.dim, shape.hidden, shape.layers, shape.heads, shape.kv_heads, head_dim,
          shape.vocab, shape.context, shape.rope_theta, shape.tied ? "true" : "false");
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
