// SPDX-License-Identifier: Apache-2.0
// tests/llama/test_decoder.cpp: the KV-cache decoder (llama/decoder.hpp) against the whole-
// document forward pass (llama/model.hpp) on llama.cpp's own GGUF files and on a generated
// Llama-3-style file (GQA, RoPE θ 500000, a Q6_K classifier): a prompt as one batch, then one
// token at a time, each step's logits equal to the forward pass's row at that position; bad
// tokens and a full cache are errors that leave the state as it was.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "llama/decoder.hpp"
#include "llama/gguf_model.hpp"
#include "lowbit/io/gguf_llama.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"

using namespace lowbit;

namespace {
const std::string kGguf = std::string(LOWBIT_SHARED_DATA_DIR) + "/gguf/";

std::vector<int> doc_of(int n, int vocab) {
  std::vector<int> d(static_cast<std::size_t>(n));
  std::uint32_t s = 12345;
  for (int& t : d) {
    s = s * 1664525u + 1013904223u;
    t = 3 + static_cast<int>((s >> 8) % static_cast<std::uint32_t>(vocab - 3));
  }
  return d;
}

/// Decodes `doc` (a prompt of `prompt` tokens, then one at a time) and compares every step's
/// logits with the forward pass of the same weights; returns max |Δ| / max |logit|.
float decode_error(const io::GgufFile& f, const llama::Model& ref, const std::vector<int>& doc,
                   int prompt, Context& ctx) {
  const int V = ref.config.vocab_size, T = static_cast<int>(doc.size());
  std::vector<float> want(static_cast<std::size_t>(T) * V);
  ref.forward(doc, MatrixView<float>(want.data(), T, V), ctx);
  llama::DecoderOptions o;
  o.context = T;
  o.float_activations = true;
  llama::Decoder d(f, o);
  REQUIRE(d.config().vocab_size == V);
  std::vector<float> got(static_cast<std::size_t>(V));
  float err = 0.0f, scale = 0.0f;
  auto compare = [&](int pos) {
    for (int i = 0; i < V; ++i) {
      const float w = want[static_cast<std::size_t>(pos) * V + i];
      scale = std::max(scale, std::fabs(w));
      err = std::max(err, std::fabs(w - got[static_cast<std::size_t>(i)]));
    }
  };
  d.eval(std::span<const int>(doc.data(), static_cast<std::size_t>(prompt)), got, ctx);
  compare(prompt - 1);
  for (int t = prompt; t < T; ++t) {
    d.eval(std::span<const int>(&doc[static_cast<std::size_t>(t)], 1), got, ctx);
    compare(t);
  }
  CHECK(d.pos() == T);
  CHECK(d.timers().matmul > 0.0);
  CHECK(d.timers().total >= d.timers().matmul + d.timers().attention);
  return err / scale;
}
}  // namespace

TEST_CASE("decoder: prompt then one token at a time equals the forward pass (llama.cpp files)",
          "[llama][decoder]") {
  for (int threads : {1, 3}) {
    Context ctx(threads);
    for (const char* name : {"stories260K-q4_0.gguf", "stories260K-q4_k.gguf",
                             "stories260K-tq2_0.gguf", "stories260K-f32.gguf"}) {
      const io::GgufFile f = io::load_gguf(kGguf + name);
      const llama::Model ref = llama::model_from_gguf(f, 64, true);
      const float e = decode_error(f, ref, doc_of(40, 512), 17, ctx);
      INFO(name << " on " << threads << " threads: " << e);
      CHECK(e <= 1e-4f);
    }
  }
}

TEST_CASE("decoder: a prompt of several 64-query attention blocks, rows split over threads",
          "[llama][decoder]") {
  // 130 prompt tokens: attention blocks of 64, 64 and 2 queries (each over its own key prefix),
  // the element-wise steps over 3 threads' row ranges; then 20 single tokens.
  Context ctx(3);
  const io::GgufFile f = io::load_gguf(kGguf + "stories260K-q4_0.gguf");
  const llama::Model ref = llama::model_from_gguf(f, 160, true);
  const float e = decode_error(f, ref, doc_of(150, 512), 130, ctx);
  INFO("relative error " << e);
  CHECK(e <= 1e-4f);
}

TEST_CASE("decoder: a generated Llama-3-style GGUF (GQA, θ 500000, Q6_K classifier, mapped)",
          "[llama][decoder]") {
  // dim 256, 2 layers, 4 query heads of 64 sharing 2 KV heads, vocab 300, tied classifier:
  // Q4_K layer matrices and a Q6_K embedding/classifier, written by GgufStreamWriter.
  io::Llama2cConfig c;
  c.dim = 256, c.hidden_dim = 512, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2;
  c.vocab_size = 300, c.seq_len = 64, c.shared_classifier = true, c.rope_theta = 500000.0;
  const std::string path =
      (std::filesystem::temp_directory_path() / "lowbit_test_decoder.gguf").string();
  {
    io::GgufStreamWriter w(path, io::llama_gguf_head(c, ggml::Type::Q4_K, "test",
                                                     io::synthetic_tokenizer(c.vocab_size)));
    std::uint32_t s = 7;
    for (const io::GgufTensor& t : w.head().tensors) {
      std::vector<float> x(static_cast<std::size_t>(t.numel()));
      for (float& v : x) {
        s = s * 1664525u + 1013904223u;
        v = t.ne.size() == 1 ? 1.0f : 0.05f * (static_cast<float>(s >> 8) / 16777216.0f - 0.5f);
      }
      std::vector<std::byte> b(static_cast<std::size_t>(t.bytes));
      if (t.type == static_cast<std::uint32_t>(ggml::Type::F32)) {
        std::memcpy(b.data(), x.data(), b.size());
      } else {
        ggml::quantize_chunk(static_cast<ggml::Type>(t.type), x.data(), t.numel(), b.data());
      }
      w.append(b);
    }
    w.finish();
  }
  const io::MappedGguf m = io::map_gguf(path);
  CHECK(m.gguf.tensor("token_embd.weight")->type == static_cast<std::uint32_t>(ggml::Type::Q6_K));
  CHECK(m.gguf.tensor("blk.1.ffn_down.weight")->type ==
        static_cast<std::uint32_t>(ggml::Type::Q4_K));
  CHECK(m.gguf.tensor("output.weight") == nullptr);
  const llama::Model ref = llama::model_from_gguf(m.gguf, 64, true);
  CHECK(ref.config.n_kv_heads == 2);
  CHECK(ref.config.rope_theta == 500000.0);
  Context ctx(2);
  const float e = decode_error(m.gguf, ref, doc_of(33, 300), 9, ctx);
  INFO("relative error " << e);
  CHECK(e <= 1e-4f);
  std::filesystem::remove(path);
}

TEST_CASE("decoder: bad tokens, a full cache and wrong logits are errors; the state is kept",
          "[llama][decoder]") {
  const io::GgufFile f = io::load_gguf(kGguf + "stories260K-q4_0.gguf");
  llama::DecoderOptions o;
  o.context = 8;
  llama::Decoder d(f, o);
  Context ctx(1);
  std::vector<float> logits(512);
  const std::vector<int> five = {1, 2, 3, 4, 5}, bad = {1, 512}, neg = {-1};
  d.eval(five, logits, ctx);
  CHECK(d.pos() == 5);
  CHECK_THROWS_WITH(d.eval(five, logits, ctx), LOWBIT_CONTAINS("overflow"));
  CHECK_THROWS_WITH(d.eval(bad, logits, ctx), LOWBIT_CONTAINS("token 512"));
  CHECK_THROWS_WITH(d.eval(neg, logits, ctx), LOWBIT_CONTAINS("token -1"));
  std::vector<float> short_logits(10);
  CHECK_THROWS_WITH(d.eval(std::span<const int>(five.data(), 1), short_logits, ctx),
                    LOWBIT_CONTAINS("10 logits"));
  CHECK(d.pos() == 5);
  d.reset();
  CHECK(d.pos() == 0);
  o.context = 0;
  CHECK_THROWS_WITH(llama::Decoder(f, o), LOWBIT_CONTAINS("context of 0"));
}
