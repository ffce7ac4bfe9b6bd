// SPDX-License-Identifier: Apache-2.0
// tools/llama/gguf_model.cpp: model_from_gguf (gguf_model.hpp); one translation unit, so the
// eleven block schemes' kernels instantiate beside the others in parallel.
#include "gguf_model.hpp"

#include <memory>
#include <string>

#include "lowbit/formats/ggml/schemes.hpp"
#include "lowbit/io/gguf_llama.hpp"
#include "lowbit/io/serialize.hpp"
#include "lowbit/lowbit.hpp"

namespace lowbit::llama {

namespace {

/// llama.cpp's names of the 7 matrices of a layer, in Model::linear's order (kMatrixNames).
constexpr const char* kGgufNames[7] = {"attn_q",   "attn_k",   "attn_v", "attn_output",
                                       "ffn_gate", "ffn_down", "ffn_up"};
std::string gguf_name(int layer, int j) {
  return "blk." + std::to_string(layer) + "." + kGgufNames[j] + ".weight";
}

/// The ggml blocks of a lowbit fit (a Plain matrix image of type T's scheme and group).
template <ggml::Type T>
std::vector<std::byte> fit_blocks(const std::vector<std::byte>& image) {
  return ggml::to_ggml<T>(io::deserialize<ggml::PackedOf<T>>(image));
}

template <ggml::Type T>
std::unique_ptr<Linear> block_linear(std::span<const std::byte> data, Index rows, Index cols,
                                     bool float_activations, int threads) {
  using W = ggml::KernelOf<T>;
  return std::make_unique<PackedLinear<W>>(
      repack<typename W::layout_type>(ggml::to_packed<T>(data, rows, cols), threads),
      float_activations);
}

}  // namespace

std::unique_ptr<Linear> linear_from_gguf(const io::GgufFile& f, const io::GgufTensor& t, bool fa,
                                         int threads) {
  if (t.ne.size() != 2) lowbit::fail("GGUF: tensor '", t.name, "' is not a matrix");
  const auto data = f.tensor_bytes(t);
  const auto rows = static_cast<Index>(t.ne[1]), cols = static_cast<Index>(t.ne[0]);
  switch (static_cast<ggml::Type>(t.type)) {
    case ggml::Type::Q8_0:
      return block_linear<ggml::Type::Q8_0>(data, rows, cols, fa, threads);
    case ggml::Type::Q4_0:
      return block_linear<ggml::Type::Q4_0>(data, rows, cols, fa, threads);
    case ggml::Type::Q4_1:
      return block_linear<ggml::Type::Q4_1>(data, rows, cols, fa, threads);
    case ggml::Type::Q5_0:
      return block_linear<ggml::Type::Q5_0>(data, rows, cols, fa, threads);
    case ggml::Type::Q5_1:
      return block_linear<ggml::Type::Q5_1>(data, rows, cols, fa, threads);
    case ggml::Type::IQ4_NL:
      return block_linear<ggml::Type::IQ4_NL>(data, rows, cols, fa, threads);
    case ggml::Type::MXFP4:
      return block_linear<ggml::Type::MXFP4>(data, rows, cols, fa, threads);
    case ggml::Type::Q2_K:
      return block_linear<ggml::Type::Q2_K>(data, rows, cols, fa, threads);
    case ggml::Type::Q3_K:
      return block_linear<ggml::Type::Q3_K>(data, rows, cols, fa, threads);
    case ggml::Type::Q4_K:
      return block_linear<ggml::Type::Q4_K>(data, rows, cols, fa, threads);
    case ggml::Type::Q5_K:
      return block_linear<ggml::Type::Q5_K>(data, rows, cols, fa, threads);
    case ggml::Type::Q6_K:
      return block_linear<ggml::Type::Q6_K>(data, rows, cols, fa, threads);
    case ggml::Type::TQ1_0:
      return block_linear<ggml::Type::TQ1_0>(data, rows, cols, fa, threads);
    case ggml::Type::TQ2_0:
      return block_linear<ggml::Type::TQ2_0>(data, rows, cols, fa, threads);
    default: {  // F32, F16, BF16
      const std::vector<float> w = io::tensor_floats(f, t);
      return std::make_unique<F32Linear>(MatrixView<const float>(w.data(), rows, cols));
    }
  }
}

Model model_from_gguf(const io::GgufFile& f, int min_seq_len, bool float_activations) {
  const io::Llama2cModel m = io::llama_from_gguf(f, min_seq_len);
  Model out;
  static_cast<FloatParts&>(out) = FloatParts::from_llama2c(m);
  for (int l = 0; l < m.config.n_layers; ++l)  // shapes checked by llama_from_gguf
    for (int j = 0; j < 7; ++j)
      out.linear.push_back(linear_from_gguf(f, *f.tensor(gguf_name(l, j)), float_activations));
  return out;
}

io::GgufFile gguf_with_fits(const io::GgufFile& in, const Policy& p, const QuantizedModel& q) {
  using lowbit::fail;
  if (p.family != Family::kInteger || p.group != 32 || p.rot ||
      !((p.bits == 4) || (p.bits == 8 && p.symmetric)))
    fail("gguf_with_fits: policy '", p.name,
         "' is not one of ggml's schemes (sym4-g32: Q4_0, asym4-g32: Q4_1, sym8-g32: Q8_0; no "
         "-rot)");
  const ggml::Type base = p.bits == 8   ? ggml::Type::Q8_0
                          : p.symmetric ? ggml::Type::Q4_0
                                        : ggml::Type::Q4_1;
  io::GgufFile out = io::quantize_like_llama_cpp(in, base);
  if (q.tensors.size() != static_cast<std::size_t>(7 * q.config.n_layers))
    fail("gguf_with_fits: ", q.tensors.size(), " quantized matrices for ", q.config.n_layers,
         " layers");
  for (int l = 0; l < q.config.n_layers; ++l)
    for (int j = 0; j < 7; ++j) {
      const io::GgufTensor* t = out.tensor(gguf_name(l, j));
      if (t == nullptr) fail("gguf_with_fits: no tensor ", gguf_name(l, j));
      if (static_cast<ggml::Type>(t->type) != base) continue;  // llama-quantize's fallback type
      const QuantizedTensor& qt = q.tensors[static_cast<std::size_t>(7 * l + j)];
      const std::vector<std::byte> b =
          base == ggml::Type::Q4_0   ? fit_blocks<ggml::Type::Q4_0>(qt.image)
          : base == ggml::Type::Q4_1 ? fit_blocks<ggml::Type::Q4_1>(qt.image)
                                     : fit_blocks<ggml::Type::Q8_0>(qt.image);
      if (b.size() != t->bytes)
        fail("gguf_with_fits: ", gguf_name(l, j), " has ", t->bytes, " bytes, the fit ", b.size());
      std::copy(b.begin(), b.end(), out.data.begin() + static_cast<std::ptrdiff_t>(t->offset));
    }
  return out;
}

}  // namespace lowbit::llama
