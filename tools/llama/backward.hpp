// SPDX-License-Identifier: Apache-2.0
// tools/llama/backward.hpp: the gradient of the KL divergence to reference log-probabilities
// with respect to the dense weights of every linear layer of the Llama forward pass
// (model.hpp), for end-to-end tuning of quantization parameters (tune.hpp).
//
// The forward pass is model.hpp's, in float with dense weights and every intermediate kept;
// the backward pass is written out by hand, layer by layer in reverse:
//   logits = C·rmsnorm(x)                     dlogits_t = (p_t - p_ref_t) / N
//   rmsnorm: y = g ⊙ x·ρ, ρ = (mean x² + ε)^-½  dx = ρ·(g ⊙ dy) - x·ρ³/D·Σ(g ⊙ dy ⊙ x)
//   y = x·Wᵀ                                  dW += dyᵀ·x,  dx = dy·W
//   SwiGLU h = silu(a) ⊙ b                     da = dh ⊙ b ⊙ σ(a)(1 + a(1 - σ(a))), db = dh ⊙
//   silu(a) attention o = P·v, P = softmax(q·kᵀ/√hs)   dP = do·vᵀ, dS = P ⊙ (dP - rowsum(dP ⊙ P)),
//                                              dq = dS·k/√hs, dk += dSᵀ·q/√hs, dv += Pᵀ·do
//   RoPE (a rotation per pair)                 the inverse rotation of the gradient
// The KL is summed over the predicted positions t < T-1 of each document (evaluate()'s
// protocol) and divided by `norm`. tests/llama/test_backward.cpp checks every layer's gradient
// against central differences.
#pragma once

#include <span>
#include <vector>

#include "model.hpp"

namespace lowbit::llama {

/// A Llama model with dense fp32 linear weights (row-major rows × cols), 7 per layer.
struct DenseModel : FloatParts {
  std::vector<std::vector<float>> w;
  std::vector<std::pair<Index, Index>> shape;  // (rows, cols) of w[i]
};

/// The dense fp32 model of a checkpoint.
DenseModel dense_from_llama2c(const io::Llama2cModel& m);

/// Log-probabilities (T × vocab) of the dense model for one document.
void dense_log_probs(const DenseModel& m, std::span<const int> doc, std::vector<float>& out);

/// Adds d(Σ_t KL(p_ref,t ‖ p_t) / norm)/dW to grad[i] (same shapes as m.w) for one document and
/// returns Σ_t KL / norm. ref_logp: the reference log-probabilities (T × vocab), t < T - 1 used.
double kl_backward(const DenseModel& m, std::span<const int> doc, std::span<const float> ref_logp,
                   double norm, std::vector<std::vector<float>>& grad);

}  // namespace lowbit::llama
