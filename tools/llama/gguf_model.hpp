// SPDX-License-Identifier: Apache-2.0
// tools/llama/gguf_model.hpp: a llama-architecture GGUF file as a Model whose matrices run on
// lowbit's kernels in the file's own block format, not requantized.
//
// Each of the 7 matrices per layer that is a ggml block type becomes the lowbit matrix of its
// type (formats/ggml/schemes.hpp: every value bit-identical to ggml's dequantizer), repacked to
// Interleaved<16, 32> (groups of 16, 32 or 256 values); F32, F16 and BF16 matrices run in fp32. The
// embedding, the norms and the classifier stay fp32, decoded as io::llama_from_gguf decodes them
// (as lowbit's own quantized models keep them).
#pragma once

#include "lowbit/io/gguf.hpp"
#include "model.hpp"
#include "policy.hpp"
#include "quantized.hpp"

namespace lowbit::llama {

/// The matrix t of f (ne[1] rows of ne[0]) as a Linear: a ggml block type becomes the lowbit
/// matrix of its type repacked to its kernel layout (the bytes of f are read once, here); F32,
/// F16 and BF16 run in fp32. `threads` repack it. Throws Error for a tensor that is not 2-D or a
/// type without a kernel.
std::unique_ptr<Linear> linear_from_gguf(const io::GgufFile& f, const io::GgufTensor& t,
                                         bool float_activations, int threads = 1);

/// The model of f on lowbit's kernels (int8 activations, per row or per group as the Context
/// says, or float ones); RoPE tables for at least min_seq_len positions (io::llama_from_gguf).
Model model_from_gguf(const io::GgufFile& f, int min_seq_len, bool float_activations);

/// llama-quantize's file of the F32/F16 GGUF `in` for the ggml type of policy p (sym4-g32: Q4_0,
/// asym4-g32: Q4_1, sym8-g32: Q8_0, any fit options but -rot), with lowbit's fits q
/// (quantize_checkpoint of in's model under p) in place of ggml's blocks in every matrix of
/// that type (ggml::to_ggml); the tensors llama-quantize's rules give another type (output,
/// rows that are not whole blocks) stay as it writes them. Throws Error for another policy.
io::GgufFile gguf_with_fits(const io::GgufFile& in, const Policy& p, const QuantizedModel& q);

}  // namespace lowbit::llama
