// SPDX-License-Identifier: Apache-2.0
// tools/llama/layerwise.hpp: calibrated quantization of a Llama model one layer at a time, for
// models that do not fit in memory (a Hugging Face directory of any size).
//
// The calibration documents' hidden states (tokens × dim floats) are carried from layer to
// layer. For layer l: its 7 matrices and 2 norms are read (fp32, from the mapped shards), the
// layer runs over every document once while the statistics of its 4 distinct inputs are summed
// (q/k/v share one, gate/up one: H = Σ x·xᵀ, and for -seq the cross terms against the fp32
// model's inputs, as record_layer does for llama2.c models), its matrices are quantized
// (quantize_tensor: -imp, -gptq, -seq, with any fit), then the hidden states advance through the
// layer (fp32 without -seq: the Hessians are the fp32 model's, as record_hessians gives them;
// with -seq the stream of the model quantized so far advances through the quantized layer and a
// second, fp32 stream through the fp32 one). The layer is then dropped: memory holds the hidden
// states (two streams with -seq), one layer's weights and statistics, and what quantize_tensor
// needs for one matrix; layerwise_memory says how much before anything runs.
//
// Hugging Face stores attn_q/attn_k rows for RoPE on split halves (rotate_half: pair (i, i +
// head/2)), so the forward pass here rotates those pairs and the matrices keep Hugging Face's
// row order. Token ids come from token-id files as for llama2.c models; documents longer than
// the model's context are cut. -e2e (end-to-end tuning of the whole model) is not layer-wise and
// is refused.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lowbit/io/hf.hpp"
#include "policy.hpp"
#include "quantized.hpp"

namespace lowbit::llama {

/// Bytes layerwise_quantize will hold at most (hidden states, one layer's fp32 weights and
/// statistics, quantize_tensor's working set for the largest matrix, the forward pass's buffers
/// and the process's own), itemised.
struct LayerwiseMemory {
  double hidden = 0.0, weights = 0.0, statistics = 0.0, quantizer = 0.0, runtime = 0.0;
  double total() const noexcept { return hidden + weights + statistics + quantizer + runtime; }
};
LayerwiseMemory layerwise_memory(const io::Llama2cConfig& c, const Policy& p, Index tokens);

/// One finished tensor, in Hugging Face's name: quantized (q set) or kept (raw dtype bytes of
/// the source, in `kept`).
struct LayerwiseTensor {
  std::string name;
  const QuantizedTensor* q = nullptr;
  const io::SafeTensorView* kept = nullptr;
};

/// Quantizes every layer matrix of the Hugging Face Llama model in `dir` by p (which may need
/// calibration: -imp, -gptq, -seq) on `calib` documents, layer by layer (see above), calling
/// `emit` with each tensor as it is finished (embedding first, then each layer's norms and 7
/// matrices, the final norm, the classifier if not tied). Matrix i (7·l + j in model order) is
/// quantized with seed + i. With `hessians`, the statistics recorded for each matrix are also
/// handed out (for tests). Throws Error for -e2e, a bad model or a token out of range.
void layerwise_quantize(const std::string& dir, const Policy& p,
                        const std::vector<std::vector<int>>& calib, Context& ctx,
                        std::uint64_t seed, const std::function<void(const LayerwiseTensor&)>& emit,
                        std::vector<Eigen::MatrixXd>* hessians = nullptr);

}  // namespace lowbit::llama
