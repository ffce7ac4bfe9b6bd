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
//   layers.<l>.<wq|wk|wv|wo|w1|w2|w3> (packed), layers.<l>.<m>.rotation (int32) if rotated, and
//   layers.<l>.<m>.col_scale (f32, one per input) if the policy scales columns (arbrc).
// A layer runs x → rotation → column scales → the packed matrix's GEMM.
// Models from safetensors keep their tensor names (quantize_safetensors in lowbit_quantize.cpp).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
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
  std::vector<float> col_scale;  // ARB-RC's α_c, one per column (inputs scaled by it); empty = none
  Index cols =
      0;  // the layer's inputs when the packed matrix is wider (CCQ's zero padding); 0: same
  double bpw = 0.0;   // storage bits per weight (codes and parameters)
  double nmse = 0.0;  // ‖W - Ŵ‖² / ‖W‖² (Ŵ rotated back; Q is orthogonal)
  // With calibration: Σ‖W·x̃ - Ŵ·x‖² / Σ‖W·x̃‖² over the calibration tokens (x̃ = x unless
  // -seq), the relative output error of the layer; else -1.
  double out_err = -1.0;
};

/// What calibration recorded for one matrix (all normalised by 2/tokens, unrotated).
struct TensorCalibration {
  Eigen::MatrixXd h;      // Σ x·xᵀ of the layer's inputs x in the model being quantized
  Eigen::MatrixXd cross;  // -seq: Σ x̃·xᵀ, x̃ the fp32 model's inputs at the same tokens
  Eigen::MatrixXd h_ref;  // -seq: Σ x̃·x̃ᵀ
};

/// Quantizes w (rows × cols) by policy p. `cal` (needed by -imp, -gptq and -seq; used for
/// out_err when given) holds the statistics of the layer's inputs; with `cross` the target
/// becomes W' = W·(C + λI)·(H + λI)⁻¹, the weights that best map the quantized model's inputs
/// onto the fp32 layer's outputs, ridge-regularised toward W (λ = 0.01·mean diag H). `seed` draws
/// the rotation of -rot. Throws Error on bad weights, shapes or missing statistics.
QuantizedTensor quantize_tensor(MatrixView<const float> w, const Policy& p,
                                const TensorCalibration* cal, std::uint64_t seed);

/// Weights as a checkpoint stores them, not widened: float, bf16 or f16.
using StoredWeights =
    std::variant<MatrixView<const float>, MatrixView<const bf16>, MatrixView<const f16>>;

/// Whether quantize_stored takes policy p: round-to-nearest integer policies (no clip search,
/// least squares, importance, GPTQ, rotation or -seq), which need nothing but each row's groups.
bool quantizes_stored(const Policy& p) noexcept;

/// quantize_tensor without calibration for a policy quantizes_stored takes, reading the
/// stored weights directly: each row is widened in a small buffer and the error is summed in the
/// encode pass (lowbit::quantize_into with measure_error), so a tensor is never copied whole in
/// fp32. The codes, parameters and bpw are quantize_tensor's on the widened matrix; nmse differs
/// only in the last bits of x̂ (the vector decode). `threads` split the rows. Throws Error as
/// quantize_tensor does, or when p is not a policy quantizes_stored takes.
QuantizedTensor quantize_stored(StoredWeights w, const Policy& p, int threads = 1);
/// The same into `out`, reusing its buffers (a tool quantizing tensor after tensor).
void quantize_stored(StoredWeights w, const Policy& p, int threads, QuantizedTensor& out);

/// A Linear running t on lowbit's kernels (int8 activations, or float with float_activations),
/// rotating its inputs first when t is rotated. Throws Error if the image or rotation is
/// malformed or holds a scheme/group the tools do not run (sym/asym f16, 2/3/4/8 bits, g32/g64).
std::unique_ptr<Linear> make_linear(const QuantizedTensor& t, bool float_activations);

/// A quantized tensor as an affine map of its codes (for tuning): in the stored (rotated)
/// basis ŵ'(r, c) = scale[slot(r, c)]·cs(r, c) + offset[slot(r, c)], cs = code - sub.
struct AffineTensor {
  Index rows = 0, cols = 0;
  std::vector<float> cs;               // rows × cols
  std::vector<std::int32_t> slot;      // rows × cols: the parameter set of each weight
  std::vector<float> scale, offset;    // per parameter set, as decoded
  int dof = 1;                         // 1: only the scale is free (offset fixed), 2: both
  float cs_min = 0.0f, cs_max = 0.0f;  // the range of cs (the scheme's codes minus sub)
};

/// The affine view of t, and t with its parameters and codes replaced by a's (parameters
/// stored in the scheme's scale type, a parameter set that would not be finite there kept;
/// cs rounded, and checked to lie in [cs_min, cs_max]). Throw Error for images the tools do not
/// run.
AffineTensor affine_of(const QuantizedTensor& t);
void set_affine(QuantizedTensor& t, const AffineTensor& a);

/// A llama2.c model with its 7·n_layers matrices quantized (embedding, norms, classifier fp32).
struct QuantizedModel : FloatParts {
  std::string policy;
  std::vector<QuantizedTensor> tensors;  // 7·l + j is kMatrixNames[j] of layer l
};

/// Called after each matrix: (index, count, name, the result).
using Progress =
    std::function<void(std::size_t, std::size_t, const std::string&, const QuantizedTensor&)>;

/// Quantizes every layer matrix of m by p, calibrating on `calib` documents (may be empty for
/// policies without -imp/-gptq/-seq; when given, out_err is reported). Without -seq the
/// Hessians come from one fp32 forward pass; with -seq layer l is calibrated on the inputs of
/// the model whose layers < l are already quantized, against the fp32 model's (GPTAQ-style
/// asymmetric calibration). Matrix i's rotation is drawn from seed + i.
QuantizedModel quantize_checkpoint(const io::Llama2cModel& m, const Policy& p,
                                   const std::vector<std::vector<int>>& calib, Context& ctx,
                                   std::uint64_t seed = 0x10b17, const Progress& progress = {});

/// The same with precomputed fp32 Hessians (record_hessians; nullptr = none; not for -seq).
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

/// Hessians (2/n)·Σ x xᵀ of the inputs of every linear layer, recorded from the fp32 forward
/// pass over `calib` documents (the calibration set; disjoint from the evaluated documents).
std::vector<Eigen::MatrixXd> record_hessians(const io::Llama2cModel& m,
                                             const std::vector<std::vector<int>>& calib,
                                             Context& ctx);

/// Convenience: the runnable model of quantize_checkpoint(m, p, hessians).
inline Model quantize_model(const io::Llama2cModel& m, const Policy& p,
                            const std::vector<Eigen::MatrixXd>* hessians = nullptr,
                            bool float_activations = false) {
  return build_model(quantize_checkpoint(m, p, hessians), float_activations);
}

}  // namespace lowbit::llama
