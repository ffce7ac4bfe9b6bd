// SPDX-License-Identifier: Apache-2.0
// tools/llama/gguf_model.hpp: a llama-architecture GGUF file as a Model whose matrices run on
// lowbit's kernels in the file's own block format, not requantized.
//
// Each of the 7 matrices per layer that is a ggml block type becomes the lowbit matrix of its
// type (quant/ggml_schemes.hpp: every value bit-identical to ggml's dequantizer), repacked to
// Interleaved<16, 32> (groups of 16, 32 or 256 values); F32, F16 and BF16 matrices run in fp32. The
// embedding, the norms and the classifier stay fp32, decoded as io::llama_from_gguf decodes them
// (as lowbit's own quantized models keep them).
#pragma once

#include "lowbit/io/gguf.hpp"
#include "model.hpp"

namespace lowbit::llama {

/// The model of f on lowbit's kernels (int8 per-token activations, or float ones); RoPE tables
/// for at least min_seq_len positions (io::llama_from_gguf).
Model model_from_gguf(const io::GgufFile& f, int min_seq_len, bool float_activations);

}  // namespace lowbit::llama
