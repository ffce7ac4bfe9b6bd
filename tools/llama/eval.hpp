// SPDX-License-Identifier: Apache-2.0
// tools/llama/eval.hpp: documents, quantization policies by name, and the evaluation protocol
// (perplexity, KL divergence to the fp32 model, top-1 agreement) of the tools and tests.
//
// Protocol (per paragraph, as TinyStories' token files are made): the token file holds documents
// back to back, each starting with BOS = 1; each document is scored alone with full causal context,
// truncated to seq_len; every token after BOS is predicted. PPL = exp(Σ NLL / predicted), mean
// KL = mean over predicted positions of KL(p_fp32 ‖ p_quant) in nats, top-1 = fraction of
// predicted positions where both models' argmax agree (llama.cpp's --kl-divergence). All
// reductions in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "args.hpp"
#include "lowbit/calib/gptq.hpp"
#include "lowbit/io/gguf_llama.hpp"
#include "lowbit/lowbit.hpp"
#include "model.hpp"
#include "policy.hpp"
#include "quantized.hpp"

namespace lowbit::llama {

/// Documents of a back-to-back int32 token file (split before every BOS = 1). Throws Error if the
/// file is not whole int32s, does not start with BOS, or holds no document with a token to
/// predict (an empty or BOS-only file would otherwise score nothing and print PPL nan).
inline std::vector<std::vector<int>> load_documents(const std::string& path) {
  const std::vector<std::byte> bytes = io::read_file(path);
  if (bytes.size() % 4 != 0) lowbit::fail("tokens: '", path, "' is not whole int32s");
  std::vector<std::vector<int>> docs;
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    std::int32_t v;
    std::memcpy(&v, bytes.data() + i, 4);
    if (v == 1 || docs.empty()) {
      if (v != 1) lowbit::fail("tokens: '", path, "' does not start with BOS (1)");
      docs.emplace_back();
    }
    docs.back().push_back(v);
  }
  if (std::none_of(docs.begin(), docs.end(), [](const auto& d) { return d.size() >= 2; }))
    lowbit::fail("tokens: '", path, "' holds no document with a token to predict (", docs.size(),
                 " documents, ", bytes.size() / 4, " tokens)");
  return docs;
}

/// The first field in which two configurations differ where the weights' shapes or the forward
/// pass depend on it ("hidden_dim 172 vs 256"), or "" when none does. seq_len is not compared:
/// it bounds the context, and a model runs at any length its documents need.
inline std::string config_mismatch(const io::Llama2cConfig& a, const io::Llama2cConfig& b) {
  const std::pair<const char*, std::pair<long long, long long>> ints[] = {
      {"dim", {a.dim, b.dim}},
      {"hidden_dim", {a.hidden_dim, b.hidden_dim}},
      {"n_layers", {a.n_layers, b.n_layers}},
      {"n_heads", {a.n_heads, b.n_heads}},
      {"n_kv_heads", {a.n_kv_heads, b.n_kv_heads}},
      {"vocab_size", {a.vocab_size, b.vocab_size}}};
  for (const auto& [name, v] : ints)
    if (v.first != v.second)
      return std::string(name) + " " + std::to_string(v.first) + " vs " + std::to_string(v.second);
  if (a.rope_theta != b.rope_theta)
    return "rope_theta " + std::to_string(a.rope_theta) + " vs " + std::to_string(b.rope_theta);
  return "";
}

/// A llama model file as the tools take it: a GGUF (.gguf, llama architecture, any block type
/// decoded to fp32; seq_len at least min_seq_len) or a llama2.c checkpoint (anything else).
/// safetensors files hold tensors without a model's configuration: refused by name.
inline io::Llama2cModel load_checkpoint(const std::string& path, int min_seq_len = 0) {
  if (tools::ends_with(path, ".safetensors"))
    lowbit::fail("'", path,
                 "' is a safetensors file: it holds tensors but no model configuration; "
                 "this tool runs llama2.c (.bin) and GGUF (.gguf) models");
  if (tools::ends_with(path, ".gguf")) return io::llama_from_gguf(io::load_gguf(path), min_seq_len);
  return io::load_llama2c(path);
}

/// The calibration set of the tools: the last `n` documents of a token file (all if fewer).
inline std::vector<std::vector<int>> load_calibration(const std::string& path, std::size_t n) {
  std::vector<std::vector<int>> docs = load_documents(path);
  if (n < docs.size()) docs.erase(docs.begin(), docs.end() - static_cast<std::ptrdiff_t>(n));
  return docs;
}

struct EvalResult {
  double nll = 0.0;         // Σ NLL of the quantized (or evaluated) model
  double kl = 0.0;          // Σ KL(p_ref ‖ p_model)
  std::int64_t agree = 0;   // positions with equal argmax
  std::int64_t tokens = 0;  // predicted positions
  std::int64_t docs = 0;
  std::int64_t cut_docs = 0;    // documents longer than the model's seq_len
  std::int64_t cut_tokens = 0;  // their tokens past it, not scored
  double ppl() const { return std::exp(nll / static_cast<double>(tokens)); }
  double mean_kl() const { return kl / static_cast<double>(tokens); }
  double top1() const { return static_cast<double>(agree) / static_cast<double>(tokens); }
};

/// Scores `model` on `docs` against `ref` (pass the same model for fp32 alone: KL 0, top-1 1).
inline EvalResult evaluate(const Model& ref, const Model& model,
                           const std::vector<std::vector<int>>& docs, Context& ctx) {
  EvalResult r;
  const Index V = model.config.vocab_size;
  std::vector<float> la, lb;
  for (const auto& doc0 : docs) {
    const std::size_t n = doc0.size() < static_cast<std::size_t>(model.config.seq_len)
                              ? doc0.size()
                              : static_cast<std::size_t>(model.config.seq_len);
    if (n < doc0.size()) {
      ++r.cut_docs;
      r.cut_tokens += static_cast<std::int64_t>(doc0.size() - n);
    }
    if (n < 2) continue;
    const std::span<const int> doc(doc0.data(), n);
    const Index T = static_cast<Index>(n);
    la.resize(static_cast<std::size_t>(T * V));
    lb.resize(la.size());
    model.forward(doc, MatrixView<float>(lb.data(), T, V), ctx);
    if (&ref != &model) ref.forward(doc, MatrixView<float>(la.data(), T, V), ctx);
    for (Index t = 0; t + 1 < T; ++t) {
      const float* b = lb.data() + t * V;
      const float* a = &ref != &model ? la.data() + t * V : b;
      double ma = a[0], mb = b[0];
      Index ia = 0, ib = 0;
      for (Index i = 1; i < V; ++i) {
        if (a[i] > ma) ma = a[i], ia = i;
        if (b[i] > mb) mb = b[i], ib = i;
      }
      double sa = 0.0, sb = 0.0;
      for (Index i = 0; i < V; ++i) {
        sa += std::exp(a[i] - ma);
        sb += std::exp(b[i] - mb);
      }
      const double lsa = ma + std::log(sa), lsb = mb + std::log(sb);
      const int tgt = doc[static_cast<std::size_t>(t + 1)];
      r.nll += lsb - b[tgt];
      double kl = 0.0;
      for (Index i = 0; i < V; ++i) {
        const double lpa = a[i] - lsa, lpb = b[i] - lsb;
        kl += std::exp(lpa) * (lpa - lpb);
      }
      r.kl += kl;
      r.agree += ia == ib;
      ++r.tokens;
    }
    ++r.docs;
  }
  if (r.tokens == 0) lowbit::fail("evaluate: no document has a token to predict");
  if (!std::isfinite(r.nll) || !std::isfinite(r.kl))
    lowbit::fail("evaluate: the model's log-probabilities are not finite (NLL ", r.nll, ", KL ",
                 r.kl, "): a NaN or Inf reached the logits");
  return r;
}

/// Bits per weight over all quantized matrices (parameters included).
inline double model_bpw(const Model& m) {
  double bits = 0.0, n = 0.0;
  for (const auto& l : m.linear) {
    const double w = static_cast<double>(l->rows() * l->cols());
    bits += l->bits_per_weight() * w;
    n += w;
  }
  return bits / n;
}

}  // namespace lowbit::llama
