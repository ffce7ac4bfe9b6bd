// SPDX-License-Identifier: Apache-2.0
// tools/llama/tune.hpp: end-to-end tuning of a quantized model (policy option -e2e): every
// group's scale (and offset, where the scheme has one) and every weight's code follow the
// gradient of the mean KL(p_fp32 ‖ p_model) over the calibration documents.
//
// Parameterisation: s = s₀·(1 + α), o = o₀ + s₀·β per group (α, β start at 0, so the step size
// is relative to each group's own scale); each code is round(u), clamped to the scheme's range,
// of a latent real u that starts at the quantizer's code and takes the gradient through the
// rounding unchanged (the straight-through estimator of quantization-aware training): u moves
// by Adam steps of about code_lr while the gradient keeps its sign, so a code changes only after
// ~0.5/code_lr consistent steps. Adam (β₁ 0.9, β₂ 0.999) on minibatches of documents, both step
// sizes decaying on a half cosine; gradients from backward.hpp on the dense weights (rows of
// rotated tensors mapped back through Q); the weights the kernels run are rebuilt from the
// stored fp16 parameters only at the end.
// The KL is that of the float-activation model; the int8 activations of the kernels are not in
// the loop. Documents are split over the Context's threads; results depend on the thread count
// only through the order of floating-point sums.
#pragma once

#include <vector>

#include "lowbit/io/llama2c.hpp"
#include "quantized.hpp"

namespace lowbit::llama {

/// The defaults are -e2e's (chosen on stories260K, sym4-g32 and asym2-g64, README table).
struct TuneOptions {
  int epochs = 3;
  int batch = 16;    // documents per Adam step
  double lr = 2e-3;  // Adam step on α and β
  // Adam step on every weight's latent code u, in code units (0: the codes stay fixed).
  double code_lr = 1.5e-2;
  // Both steps decay over the run as ½(1 + cos(π·step/steps)) (false: constant).
  bool cosine = true;
};

/// Tunes q's parameters and codes against the fp32 model m on `calib`; returns the mean KL of each
/// epoch (measured during it, on the calibration documents).
std::vector<double> tune_parameters(QuantizedModel& q, const io::Llama2cModel& m,
                                    const std::vector<std::vector<int>>& calib,
                                    const TuneOptions& opt, Context& ctx);

}  // namespace lowbit::llama
