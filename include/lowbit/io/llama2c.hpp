// SPDX-License-Identifier: Apache-2.0
// lowbit/io/llama2c.hpp: reader for llama2.c checkpoints (the "legacy" version-0 export).
//
// # The format (all little-endian)
//   header   7 × int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
//            vocab_size > 0 means the classifier shares the token embedding (no wcls tensor),
//            vocab_size < 0 means a separate classifier of |vocab_size| rows follows at the end
//   tensors  fp32, no padding, in this order, matrices row-major [out, in] (y = W·x), the layer
//            the leading index:
//              tok_embeddings [vocab, dim]        rms_att [L, dim]
//              wq [L, dim, dim]   wk [L, kv_dim, dim]   wv [L, kv_dim, dim]   wo [L, dim, dim]
//              rms_ffn [L, dim]   w1 [L, hidden, dim]   w2 [L, dim, hidden]   w3 [L, hidden, dim]
//              rms_final [dim]    freq_cis_real [seq_len, head/2]   freq_cis_imag [same]
//              wcls [vocab, dim]  (only when vocab_size < 0)
//            with head = dim / n_heads and kv_dim = n_kv_heads · head.
// # Validation
// Every header field is checked (positive, bounded by kMaxDim, dim divisible by n_heads, an even
// head size, n_heads divisible by n_kv_heads) before any size is computed; sizes are computed
// with overflow checks; the file must be exactly header + tensors long; every weight must be
// finite. Anything else throws lowbit::Error naming the field, the expected and the actual value.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/io/file.hpp"

namespace lowbit::io {

struct Llama2cConfig {
  int dim = 0;
  int hidden_dim = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int vocab_size = 0;  // always positive here; see shared_classifier
  int seq_len = 0;
  bool shared_classifier = true;
  /// RoPE base θ: angle(pos, i) = pos / θ^(2i/head_size). llama2.c models use 10000; GGUF
  /// files say theirs (llama.rope.freq_base).
  double rope_theta = 10000.0;
  int head_size() const noexcept { return dim / n_heads; }
  int kv_dim() const noexcept { return n_kv_heads * head_size(); }
};

/// A llama2.c model: its configuration and every tensor as fp32 (owning, row-major).
class Llama2cModel {
 public:
  /// Largest accepted dimension of any header field (a sanity bound: 2^24).
  static constexpr int kMaxDim = 1 << 24;

  Llama2cConfig config;
  std::vector<float> tok_embeddings, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
      freq_cos, freq_sin, wcls;

  /// The weight matrices of layer l ([out, in] views into the tensors above).
  MatrixView<const float> wq_at(int l) const { return layer(wq, l, config.dim, config.dim); }
  MatrixView<const float> wk_at(int l) const { return layer(wk, l, config.kv_dim(), config.dim); }
  MatrixView<const float> wv_at(int l) const { return layer(wv, l, config.kv_dim(), config.dim); }
  MatrixView<const float> wo_at(int l) const { return layer(wo, l, config.dim, config.dim); }
  MatrixView<const float> w1_at(int l) const { return layer(w1, l, config.hidden_dim, config.dim); }
  MatrixView<const float> w2_at(int l) const { return layer(w2, l, config.dim, config.hidden_dim); }
  MatrixView<const float> w3_at(int l) const { return layer(w3, l, config.hidden_dim, config.dim); }
  /// The output classifier ([vocab, dim]): wcls, or the token embedding when shared.
  MatrixView<const float> classifier() const {
    const std::vector<float>& c = config.shared_classifier ? tok_embeddings : wcls;
    return {c.data(), config.vocab_size, config.dim};
  }

 private:
  static MatrixView<const float> layer(const std::vector<float>& t, int l, int rows, int cols) {
    return {t.data() + static_cast<Index>(l) * rows * cols, rows, cols};
  }
};

namespace detail {

inline std::int32_t read_i32(std::span<const std::byte> in, std::size_t off) {
  std::int32_t v;
  std::memcpy(&v, in.data() + off, 4);  // little-endian host (config.hpp)
  return v;
}

}  // namespace detail

/// Parses a llama2.c checkpoint held in memory. Throws Error on any malformed field or size.
inline Llama2cModel read_llama2c(std::span<const std::byte> in) {
  using lowbit::detail::fail;
  constexpr std::size_t kHeader = 28;
  if (in.size() < kHeader)
    fail("llama2c: file of ", in.size(), " bytes is shorter than the 28-byte header");
  const char* names[7] = {"dim",        "hidden_dim", "n_layers", "n_heads",
                          "n_kv_heads", "vocab_size", "seq_len"};
  std::int32_t h[7];
  for (int i = 0; i < 7; ++i) h[i] = detail::read_i32(in, static_cast<std::size_t>(4 * i));
  for (int i = 0; i < 7; ++i) {
    const std::int64_t v = i == 5 && h[i] < 0 ? -static_cast<std::int64_t>(h[i]) : h[i];
    if (v <= 0 || v > Llama2cModel::kMaxDim)
      fail("llama2c: header field ", names[i], " = ", h[i], " is not in 1..",
           Llama2cModel::kMaxDim);
  }
  Llama2cModel m;
  Llama2cConfig& c = m.config;
  c.dim = h[0];
  c.hidden_dim = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  c.shared_classifier = h[5] > 0;
  c.vocab_size = h[5] > 0 ? h[5] : -h[5];
  c.seq_len = h[6];
  if (c.dim % c.n_heads != 0)
    fail("llama2c: dim ", c.dim, " is not a multiple of n_heads ", c.n_heads);
  if (c.head_size() % 2 != 0) fail("llama2c: head size ", c.head_size(), " is odd (RoPE pairs)");
  if (c.n_kv_heads > c.n_heads || c.n_heads % c.n_kv_heads != 0)
    fail("llama2c: n_heads ", c.n_heads, " is not a multiple of n_kv_heads ", c.n_kv_heads);

  using lowbit::detail::checked_add;
  using lowbit::detail::checked_mul;
  const Index L = c.n_layers, D = c.dim, Hd = c.hidden_dim, V = c.vocab_size, KV = c.kv_dim();
  const Index half = c.head_size() / 2;
  struct Part {
    std::vector<float>* dst;
    Index count;
    const char* name;
  };
  const Part parts[] = {
      {&m.tok_embeddings, checked_mul(V, D, "llama2c"), "tok_embeddings"},
      {&m.rms_att, checked_mul(L, D, "llama2c"), "rms_att_weight"},
      {&m.wq, checked_mul(checked_mul(L, D, "llama2c"), D, "llama2c"), "wq"},
      {&m.wk, checked_mul(checked_mul(L, KV, "llama2c"), D, "llama2c"), "wk"},
      {&m.wv, checked_mul(checked_mul(L, KV, "llama2c"), D, "llama2c"), "wv"},
      {&m.wo, checked_mul(checked_mul(L, D, "llama2c"), D, "llama2c"), "wo"},
      {&m.rms_ffn, checked_mul(L, D, "llama2c"), "rms_ffn_weight"},
      {&m.w1, checked_mul(checked_mul(L, Hd, "llama2c"), D, "llama2c"), "w1"},
      {&m.w2, checked_mul(checked_mul(L, D, "llama2c"), Hd, "llama2c"), "w2"},
      {&m.w3, checked_mul(checked_mul(L, Hd, "llama2c"), D, "llama2c"), "w3"},
      {&m.rms_final, D, "rms_final_weight"},
      {&m.freq_cos, checked_mul(c.seq_len, half, "llama2c"), "freq_cis_real"},
      {&m.freq_sin, checked_mul(c.seq_len, half, "llama2c"), "freq_cis_imag"},
      {&m.wcls, c.shared_classifier ? 0 : checked_mul(V, D, "llama2c"), "wcls"},
  };
  Index floats = 0;
  for (const Part& p : parts) floats = checked_add(floats, p.count, "llama2c");
  const Index expect =
      checked_add(static_cast<Index>(kHeader), checked_mul(floats, 4, "llama2c"), "llama2c");
  if (static_cast<Index>(in.size()) != expect) {
    fail("llama2c: file is ", in.size(), " bytes, the header (dim ", c.dim, ", hidden ",
         c.hidden_dim, ", layers ", c.n_layers, ", vocab ", h[5], ", seq_len ", c.seq_len,
         ") needs exactly ", expect);
  }
  std::size_t off = kHeader;
  for (const Part& p : parts) {
    p.dst->resize(static_cast<std::size_t>(p.count));
    if (p.count == 0) continue;  // wcls of a shared classifier (memcpy of null is UB)
    std::memcpy(p.dst->data(), in.data() + off, static_cast<std::size_t>(p.count) * 4);
    for (Index i = 0; i < p.count; ++i) {
      if (!std::isfinite((*p.dst)[static_cast<std::size_t>(i)]))
        fail("llama2c: tensor ", p.name, " element ", i, " is not finite");
    }
    off += static_cast<std::size_t>(p.count) * 4;
  }
  return m;
}

/// Reads and parses a llama2.c checkpoint file. Throws Error on I/O or format problems.
inline Llama2cModel load_llama2c(const std::string& path) {
  const std::vector<std::byte> bytes = read_file(path);
  return read_llama2c(bytes);
}

}  // namespace lowbit::io
