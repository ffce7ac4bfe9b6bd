// SPDX-License-Identifier: Apache-2.0
// tools/llama/gguf_model.cpp: model_from_gguf (gguf_model.hpp); one translation unit, so the
// eleven block schemes' kernels instantiate beside the others in parallel.
#include "gguf_model.hpp"

#include <memory>
#include <string>

#include "lowbit/io/gguf_llama.hpp"
#include "lowbit/lowbit.hpp"
#include "lowbit/quant/ggml_schemes.hpp"

namespace lowbit::llama {

namespace {

template <ggml::Type T>
std::unique_ptr<Linear> block_linear(std::span<const std::byte> data, Index rows, Index cols,
                                     bool float_activations) {
  using W = ggml::KernelOf<T>;
  return std::make_unique<PackedLinear<W>>(
      repack<typename W::layout_type>(ggml::to_packed<T>(data, rows, cols)), float_activations);
}

/// The Linear of tensor t (rows × cols, checked by llama_from_gguf before), or an fp32 one of
/// the decoded weights w for a type without blocks.
std::unique_ptr<Linear> linear_of(const io::GgufFile& f, const io::GgufTensor& t,
                                  MatrixView<const float> w, bool fa) {
  const auto data = f.tensor_bytes(t);
  const Index rows = w.rows(), cols = w.cols();
  switch (static_cast<ggml::Type>(t.type)) {
    case ggml::Type::Q8_0:
      return block_linear<ggml::Type::Q8_0>(data, rows, cols, fa);
    case ggml::Type::Q4_0:
      return block_linear<ggml::Type::Q4_0>(data, rows, cols, fa);
    case ggml::Type::Q4_1:
      return block_linear<ggml::Type::Q4_1>(data, rows, cols, fa);
    case ggml::Type::Q5_0:
      return block_linear<ggml::Type::Q5_0>(data, rows, cols, fa);
    case ggml::Type::Q5_1:
      return block_linear<ggml::Type::Q5_1>(data, rows, cols, fa);
    case ggml::Type::IQ4_NL:
      return block_linear<ggml::Type::IQ4_NL>(data, rows, cols, fa);
    case ggml::Type::MXFP4:
      return block_linear<ggml::Type::MXFP4>(data, rows, cols, fa);
    case ggml::Type::Q2_K:
      return block_linear<ggml::Type::Q2_K>(data, rows, cols, fa);
    case ggml::Type::Q3_K:
      return block_linear<ggml::Type::Q3_K>(data, rows, cols, fa);
    case ggml::Type::Q4_K:
      return block_linear<ggml::Type::Q4_K>(data, rows, cols, fa);
    case ggml::Type::Q5_K:
      return block_linear<ggml::Type::Q5_K>(data, rows, cols, fa);
    case ggml::Type::Q6_K:
      return block_linear<ggml::Type::Q6_K>(data, rows, cols, fa);
    case ggml::Type::TQ1_0:
      return block_linear<ggml::Type::TQ1_0>(data, rows, cols, fa);
    case ggml::Type::TQ2_0:
      return block_linear<ggml::Type::TQ2_0>(data, rows, cols, fa);
    default:
      return std::make_unique<F32Linear>(w);  // F32, F16, BF16 (decoded by llama_from_gguf)
  }
}

}  // namespace

Model model_from_gguf(const io::GgufFile& f, int min_seq_len, bool float_activations) {
  const io::Llama2cModel m = io::llama_from_gguf(f, min_seq_len);
  Model out;
  static_cast<FloatParts&>(out) = FloatParts::from_llama2c(m);
  static constexpr const char* kNames[7] = {"attn_q",   "attn_k",   "attn_v", "attn_output",
                                            "ffn_gate", "ffn_down", "ffn_up"};
  for (int l = 0; l < m.config.n_layers; ++l) {
    const MatrixView<const float> w[7] = {m.wq_at(l), m.wk_at(l), m.wv_at(l), m.wo_at(l),
                                          m.w1_at(l), m.w2_at(l), m.w3_at(l)};
    for (int j = 0; j < 7; ++j) {
      const std::string name = "blk." + std::to_string(l) + "." + kNames[j] + ".weight";
      out.linear.push_back(linear_of(f, *f.tensor(name), w[j], float_activations));
    }
  }
  return out;
}

}  // namespace lowbit::llama
