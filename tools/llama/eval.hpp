// SPDX-License-Identifier: Apache-2.0
// tools/llama/eval.hpp: documents, quantization policies by name, and the evaluation protocol
// (perplexity, KL divergence to the fp32 model, top-1 agreement) of the tools and tests.
//
// Protocol (../shared/data/README.md, per-paragraph): the token file holds documents back to
// back, each starting with BOS = 1; each document is scored alone with full causal context,
// truncated to seq_len; every token after BOS is predicted. PPL = exp(Σ NLL / predicted), mean
// KL = mean over predicted positions of KL(p_fp32 ‖ p_quant) in nats, top-1 = fraction of
// predicted positions where both models' argmax agree (llama.cpp's --kl-divergence). All
// reductions in double.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "lowbit/calib/gptq.hpp"
#include "lowbit/lowbit.hpp"
#include "model.hpp"
#include "policy.hpp"
#include "quantized.hpp"

namespace lowbit::llama {

/// Documents of a back-to-back int32 token file (split before every BOS = 1).
inline std::vector<std::vector<int>> load_documents(const std::string& path) {
  const std::vector<std::byte> bytes = io::detail::read_whole_file(path);
  if (bytes.size() % 4 != 0) lowbit::detail::fail("tokens: '", path, "' is not whole int32s");
  std::vector<std::vector<int>> docs;
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    std::int32_t v;
    std::memcpy(&v, bytes.data() + i, 4);
    if (v == 1 || docs.empty()) {
      if (v != 1) lowbit::detail::fail("tokens: '", path, "' does not start with BOS (1)");
      docs.emplace_back();
    }
    docs.back().push_back(v);
  }
  return docs;
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
