// SPDX-License-Identifier: Apache-2.0
// tests/llama/test_layerwise.cpp: calibration one layer at a time on a Hugging Face directory
// (llama/layerwise.hpp) against the whole-model calibration of the same weights as a llama2.c
// model (quantized.hpp): Hugging Face's split-half RoPE on its row order must give the very
// Hessians the interleaved-pair forward pass gives on llama.cpp's row order; -seq must reach the
// same output errors; tensors come out in model order; -e2e and bad tokens are errors.
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "llama/layerwise.hpp"
#include "lowbit/io/gguf_llama.hpp"
#include "lowbit/io/safetensors.hpp"
#include "support/catch.hpp"

using namespace lowbit;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  io::Llama2cConfig c;
  io::Llama2cModel m;  // the same model, llama.cpp's q/k row order
  fs::path dir;
  std::vector<std::vector<int>> calib;
};

/// A Llama of dim 64 (8 heads of 8 sharing 4 KV heads), MLP 96, 2 layers, vocab 300, θ 500000,
/// separate classifier, written as an F32 Hugging Face directory; seeded weights.
Fixture make_fixture() {
  Fixture f;
  io::Llama2cConfig& c = f.c;
  c.dim = 64, c.hidden_dim = 96, c.n_layers = 2, c.n_heads = 8, c.n_kv_heads = 4;
  c.vocab_size = 300, c.seq_len = 64, c.shared_classifier = false, c.rope_theta = 500000.0;
  std::uint32_t s = 99;
  auto rnd = [&](std::size_t n, float amp) {
    std::vector<float> v(n);
    for (float& x : v) {
      s = s * 1664525u + 1013904223u;
      x = amp * (static_cast<float>(s >> 8) / 16777216.0f - 0.5f);
    }
    return v;
  };
  const Index D = c.dim, F = c.hidden_dim, KV = c.kv_dim(), V = c.vocab_size, hs = c.head_size();
  std::vector<io::SafeTensorSpec> specs;
  std::vector<std::vector<float>> data;
  auto add = [&](const std::string& name, std::vector<Index> shape, std::vector<float> v) {
    specs.push_back({name, "F32", shape});
    data.push_back(std::move(v));
  };
  io::Llama2cModel& m = f.m;
  m.config = c;
  m.tok_embeddings = rnd(static_cast<std::size_t>(V * D), 2.0f);
  add("model.embed_tokens.weight", {V, D}, m.tok_embeddings);
  auto permuted = [&](const std::vector<float>& hf, Index rows) {
    std::vector<float> out(hf.size());
    for (Index g = 0; g < rows; ++g)
      std::copy_n(hf.begin() + io::hf_row_of_gguf_row(g, hs) * D, D, out.begin() + g * D);
    return out;
  };
  auto append = [](std::vector<float>& dst, const std::vector<float>& v) {
    dst.insert(dst.end(), v.begin(), v.end());
  };
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const auto ga = rnd(static_cast<std::size_t>(D), 0.5f),
               gf = rnd(static_cast<std::size_t>(D), 0.5f);
    std::vector<float> na(ga), nf(gf);
    for (float& x : na) x += 1.0f;
    for (float& x : nf) x += 1.0f;
    const auto q = rnd(static_cast<std::size_t>(D * D), 0.4f),
               k = rnd(static_cast<std::size_t>(KV * D), 0.4f),
               v = rnd(static_cast<std::size_t>(KV * D), 0.4f),
               o = rnd(static_cast<std::size_t>(D * D), 0.4f),
               g = rnd(static_cast<std::size_t>(F * D), 0.4f),
               u = rnd(static_cast<std::size_t>(F * D), 0.4f),
               dn = rnd(static_cast<std::size_t>(D * F), 0.4f);
    add(p + "input_layernorm.weight", {D}, na);
    add(p + "self_attn.q_proj.weight", {D, D}, q);
    add(p + "self_attn.k_proj.weight", {KV, D}, k);
    add(p + "self_attn.v_proj.weight", {KV, D}, v);
    add(p + "self_attn.o_proj.weight", {D, D}, o);
    add(p + "post_attention_layernorm.weight", {D}, nf);
    add(p + "mlp.gate_proj.weight", {F, D}, g);
    add(p + "mlp.up_proj.weight", {F, D}, u);
    add(p + "mlp.down_proj.weight", {D, F}, dn);
    append(m.rms_att, na);
    append(m.rms_ffn, nf);
    append(m.wq, permuted(q, D));
    append(m.wk, permuted(k, KV));
    append(m.wv, v);
    append(m.wo, o);
    append(m.w1, g);
    append(m.w2, dn);
    append(m.w3, u);
  }
  m.rms_final = rnd(static_cast<std::size_t>(D), 0.5f);
  for (float& x : m.rms_final) x += 1.0f;
  add("model.norm.weight", {D}, m.rms_final);
  m.wcls = rnd(static_cast<std::size_t>(V * D), 0.4f);
  add("lm_head.weight", {V, D}, m.wcls);
  f.dir = fs::temp_directory_path() / "lowbit_test_layerwise";
  fs::remove_all(f.dir);
  fs::create_directories(f.dir);
  std::vector<std::byte> file = io::safetensors_header(specs, {});
  for (const auto& v : data) {
    const auto b = std::as_bytes(std::span<const float>(v));
    file.insert(file.end(), b.begin(), b.end());
  }
  io::write_file(file, (f.dir / "model.safetensors").string());
  const std::string cfg =
      "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 96,"
      " \"num_hidden_layers\": 2, \"num_attention_heads\": 8, \"num_key_value_heads\": 4,"
      " \"vocab_size\": 300, \"max_position_embeddings\": 64, \"rope_theta\": 500000.0,"
      " \"tie_word_embeddings\": false}";
  io::write_file(std::as_bytes(std::span<const char>(cfg.data(), cfg.size())),
                 (f.dir / "config.json").string());
  for (int d = 0; d < 6; ++d) {  // documents of 20..70 tokens (70 is cut to the context, 64)
    std::vector<int> doc(static_cast<std::size_t>(20 + 10 * d));
    for (int& t : doc) {
      s = s * 1664525u + 1013904223u;
      t = static_cast<int>((s >> 8) % 300);
    }
    f.calib.push_back(doc);
  }
  return f;
}

double rel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) { return (a - b).norm() / b.norm(); }

}  // namespace

TEST_CASE("layerwise: the Hessians of the whole-model forward pass, from a HF directory",
          "[llama][layerwise]") {
  const Fixture f = make_fixture();
  Context ctx(2);
  const std::vector<Eigen::MatrixXd> want = llama::record_hessians(f.m, f.calib, ctx);
  const llama::Policy p = llama::parse_policy("sym4-g32-gptq");
  std::vector<Eigen::MatrixXd> got;
  std::vector<std::string> names;
  llama::layerwise_quantize(
      f.dir.string(), p, f.calib, ctx, 7,
      [&](const llama::LayerwiseTensor& t) {
        names.push_back(t.name);
        CHECK((t.q == nullptr) != (t.kept == nullptr));
      },
      &got);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("matrix " << i);
    CHECK(rel(got[i], want[i]) < 1e-5);
  }
  REQUIRE(names.size() == 1 + 2 * 9 + 2);
  CHECK(names.front() == "model.embed_tokens.weight");
  CHECK(names[1] == "model.layers.0.input_layernorm.weight");
  CHECK(names[3] == "model.layers.0.self_attn.q_proj.weight");
  CHECK(names[8] == "model.layers.0.mlp.down_proj.weight");
  CHECK(names.back() == "lm_head.weight");
  fs::remove_all(f.dir);
}

TEST_CASE("layerwise: -seq reaches the output errors of the whole-model -seq",
          "[llama][layerwise]") {
  const Fixture f = make_fixture();
  Context ctx(1);
  const llama::Policy p = llama::parse_policy("sym4-g32-gptq-seq");
  const llama::QuantizedModel want = llama::quantize_checkpoint(f.m, p, f.calib, ctx, 7);
  std::vector<double> out_err, nmse;
  llama::layerwise_quantize(f.dir.string(), p, f.calib, ctx, 7,
                            [&](const llama::LayerwiseTensor& t) {
                              if (t.q == nullptr) return;
                              out_err.push_back(t.q->out_err);
                              nmse.push_back(t.q->nmse);
                            });
  REQUIRE(out_err.size() == want.tensors.size());
  for (std::size_t i = 0; i < out_err.size(); ++i) {
    INFO("matrix " << i << ": " << out_err[i] << " vs " << want.tensors[i].out_err);
    CHECK(out_err[i] > 0.0);
    CHECK(std::abs(out_err[i] - want.tensors[i].out_err) <= 0.02 * want.tensors[i].out_err);
    CHECK(std::abs(nmse[i] - want.tensors[i].nmse) <= 0.02 * want.tensors[i].nmse);
  }
  fs::remove_all(f.dir);
}

TEST_CASE("layerwise: -e2e, bad tokens and missing documents are errors", "[llama][layerwise]") {
  const Fixture f = make_fixture();
  Context ctx(1);
  auto none = [](const llama::LayerwiseTensor&) {};
  CHECK_THROWS_WITH(llama::layerwise_quantize(f.dir.string(), llama::parse_policy("sym4-g32-e2e"),
                                              f.calib, ctx, 0, none),
                    LOWBIT_CONTAINS("not layer-wise"));
  CHECK_THROWS_WITH(llama::layerwise_quantize(f.dir.string(), llama::parse_policy("sym4-g32-gptq"),
                                              {{1, 2, 300}}, ctx, 0, none),
                    LOWBIT_CONTAINS("token 300 out of range"));
  CHECK_THROWS_WITH(llama::layerwise_quantize(f.dir.string(), llama::parse_policy("sym4-g32-gptq"),
                                              {}, ctx, 0, none),
                    LOWBIT_CONTAINS("need calibration documents"));
  // The memory it says up front: hidden states of every token, twice with -seq.
  const auto m1 = llama::layerwise_memory(f.c, llama::parse_policy("sym4-g32-gptq"), 1000);
  const auto m2 = llama::layerwise_memory(f.c, llama::parse_policy("sym4-g32-gptq-seq"), 1000);
  CHECK(m1.hidden == 1000.0 * 64 * 4);
  CHECK(m2.hidden == 2 * m1.hidden);
  CHECK(m2.statistics == 3 * m1.statistics);
  CHECK(m1.total() == m1.hidden + m1.weights + m1.statistics + m1.quantizer + m1.runtime);
  CHECK(m1.runtime > 120e6);
  fs::remove_all(f.dir);
}
