// SPDX-License-Identifier: Apache-2.0
// tools/llama/decoder.hpp: a Llama decoder with a KV cache over a GGUF file, the inference loop
// lowbit-bench times (prefill of a prompt as one batch, then one token at a time).
//
// Loading: every matrix (7 per layer and the classifier) is read once from the file (normally a
// memory map, io::map_gguf) and repacked into its kernel layout (linear_from_gguf: a ggml block
// type keeps its blocks' values bit for bit); the mapped pages of a repacked matrix are then
// released, so the resident set holds the kernel layouts once, not the file beside them. The
// embedding stays in the file and one row is decoded per token (ggml::dequantize_row); norms are
// fp32.
//
// The forward pass is model.hpp's (llama2.c's architecture with grouped-query attention and
// RoPE on interleaved pairs, as llama.cpp stores Llama weights), computed for `n` new tokens at
// positions pos()..pos()+n-1: their keys and values are appended to the cache (fp32,
// context × kv_dim per layer), and each attends to every cached position up to its own
// (attention.hpp: Eigen GEMMs per head and block of queries, over the Context's threads); the
// linear layers run on lowbit's kernels through the same Context, and for a batch the
// element-wise steps (embedding rows, norms, RoPE, SwiGLU, residuals) split its rows over the
// threads too. For one token after a prompt of T, the logits equal those of Model::forward on the
// T + 1 tokens, up to float summation order (tests/llama/test_decoder.cpp: ≤ 1e-4 relative).
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <vector>

#include "lowbit/io/file.hpp"
#include "lowbit/io/gguf.hpp"
#include "model.hpp"

namespace lowbit::llama {

struct DecoderOptions {
  int context = 4096;              // KV-cache positions (prompt + generated tokens)
  bool float_activations = false;  // gemm_f32 (fp32 activations) instead of gemm (int8; per
                                   // row or per group: the Context's activation_scales())
  int load_threads = 1;            // threads repacking the matrices at load
};

class Decoder {
 public:
  /// The model in f (a llama-architecture GGUF; shapes checked, errors name the tensor). With
  /// `mapping` (the MappedFile f's data lives in), the pages of each repacked matrix are
  /// released after its repack (the embedding's too: a token's row is read back on use). f must
  /// outlive the decoder (the embedding is read from it).
  Decoder(const io::GgufFile& f, const DecoderOptions& o, const io::MappedFile* mapping = nullptr);

  const io::Llama2cConfig& config() const noexcept { return config_; }
  /// Positions in the cache.
  int pos() const noexcept { return pos_; }
  /// Empties the cache.
  void reset() noexcept { pos_ = 0; }

  /// Runs `tokens` at positions pos()..pos()+n-1 as one batch and appends them to the cache;
  /// if `logits` is not empty (vocab floats) it receives the last token's. Throws Error for a
  /// token out of range or a cache that would overflow (state unchanged).
  void eval(std::span<const int> tokens, std::span<float> logits, Context& ctx);

  /// Seconds spent since construction (or reset_timers) in the matrix products (layers and
  /// classifier), in attention, and in all of eval.
  struct Timers {
    double matmul = 0.0, attention = 0.0, total = 0.0;
  };
  const Timers& timers() const noexcept { return timers_; }
  void reset_timers() noexcept { timers_ = {}; }

  /// Bytes of the matrices in their kernel layouts, and weights they hold.
  double weight_bytes() const noexcept { return weight_bytes_; }
  double weight_count() const noexcept { return weight_count_; }

 private:
  void embed(int token, float* out) const;
  void matmul(const Linear& l, const float* x, float* y, Index n, Context& ctx);

  io::Llama2cConfig config_;
  const io::GgufFile* file_;
  const io::GgufTensor* embedding_;
  std::vector<std::unique_ptr<Linear>> linear_;  // 7·l + j: kMatrixNames[j] of layer l
  std::unique_ptr<Linear> classifier_;
  std::vector<float> rms_att_, rms_ffn_, rms_final_;
  std::vector<float> cos_, sin_;        // context × head/2
  std::vector<float> kcache_, vcache_;  // layers × context × kv_dim
  int context_;
  int pos_ = 0;
  Timers timers_;
  double weight_bytes_ = 0.0, weight_count_ = 0.0;
  // Scratch of the last batch size.
  std::vector<float> x_, xb_, q_, k_, v_, o_, tmp_, h1_, h3_;
};

}  // namespace lowbit::llama
