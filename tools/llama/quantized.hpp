// SPDX-License-Identifier: Apache-2.0
// tools/llama/quantized.hpp: quantizing matrices and whole llama2.c models by policy, the
// quantized model as a lowbit archive (io/archive.hpp), and running it on lowbit's kernels.
//
// A quantized matrix is kept in its persisted form, a packed-matrix file image (Plain layout,
// io/format.hpp) plus the rotation's stored integers, and is turned into a kernel layout
// (Interleaved<16, 32>) only by make_linear. Quantizing in memory and loading a file therefore
// run the very same code, and lowbit-eval on a file gives what it gives on the policy.
//
// Archive entries of a quantized llama2.c model:
//   lowbit.policy (text), lowbit.source (text "llama2c"),
//   llama.config (int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len),
//   tok_embeddings, rms_att, rms_ffn, rms_final, classifier (f32, kept in full precision),
//   layers.<l>.<wq|wk|wv|wo|w1|w2|w3> (packed), and layers.<l>.<m>.rotation (int32) if rotated.
// Models from safetensors keep their tensor names (quantize_safetensors in lowbit_quantize.cpp).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lowbit/io/archive.hpp"
#include "lowbit/io/llama2c.hpp"
#include "model.hpp"
#include "policy.hpp"

namespace lowbit::llama {

/// One matrix quantized by a policy, in its persisted form.
struct QuantizedTensor {
  std::vector<std::byte> image;        // packed-matrix file image (io::serialize, Plain)
  std::vector<std::int32_t> rotation;  // HadamardRotation::to_ints(); empty = not rotated
  double bpw = 0.0;                    // storage bits per weight (codes and parameters)
  double nmse = 0.0;                   // ‖W - Ŵ‖² / ‖W‖² (Ŵ rotated back; Q is orthogonal)
  double out_err = -1.0;  // tr(ΔW·H·ΔWᵀ) / tr(W·H·Wᵀ) with the calibration Hessian, else -1
};

/// Quantizes w (rows × cols) by policy p. `hessian` is the calibration Hessian of the layer's
/// (unrotated) inputs: needed for -imp and -gptq, and used for out_err when given; `seed`
/// draws the rotation of -rot. Throws Error on bad weights, shapes or a missing Hessian.
QuantizedTensor quantize_tensor(MatrixView<const float> w, const Policy& p,
                                const Eigen::MatrixXd* hessian, std::uint64_t seed);

/// A Linear running t on lowbit's kernels (int8 activations, or float with float_activations),
/// rotating its inputs first when t is rotated. Throws Error if the image or rotation is
/// malformed or holds a scheme/group the tools do not run (sym/asym f16, 2/3/4/8 bits, g32/g64).
std::unique_ptr<Linear> make_linear(const QuantizedTensor& t, bool float_activations);

/// A llama2.c model with its 7·n_layers matrices quantized (embedding, norms, classifier fp32).
struct QuantizedModel {
  io::Llama2cConfig config;
  std::string policy;
  std::vector<float> embedding, rms_att, rms_ffn, rms_final, classifier;
  std::vector<QuantizedTensor> tensors;  // 7·l + j is kMatrixNames[j] of layer l
};

/// Called after each matrix: (index, count, name, the result).
using Progress = std::function<void(std::size_t, std::size_t, const std::string&,
                                    const QuantizedTensor&)>;

/// Quantizes every layer matrix of m by p; `hessians` (record_hessians) are required by -imp
/// and -gptq. Matrix i's rotation is drawn from seed + i.
QuantizedModel quantize_checkpoint(const io::Llama2cModel& m, const Policy& p,
                                   const std::vector<Eigen::MatrixXd>* hessians,
                                   std::uint64_t seed = 0x10b17, const Progress& progress = {});

/// The runnable model.
Model build_model(const QuantizedModel& q, bool float_activations);

/// The archive of q (see the top of this file), and back; from_archive validates everything
/// (shapes against llama.config, every packed image and rotation) and throws Error.
io::Archive to_archive(const QuantizedModel& q);
QuantizedModel from_archive(const io::Archive& a);

/// Bits per weight over all quantized matrices (parameters included).
double model_bpw(const QuantizedModel& q);

/// Convenience: the runnable model of quantize_checkpoint(m, p, hessians).
inline Model quantize_model(const io::Llama2cModel& m, const Policy& p,
                            const std::vector<Eigen::MatrixXd>* hessians = nullptr,
                            bool float_activations = false) {
  return build_model(quantize_checkpoint(m, p, hessians), float_activations);
}

}  // namespace lowbit::llama
