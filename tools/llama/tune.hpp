// SPDX-License-Identifier: Apache-2.0
// tools/llama/tune.hpp: end-to-end tuning of the group parameters of a quantized model
// (policy option -e2e): codes fixed, every group's scale (and offset, where the scheme has one)
// follows the gradient of the mean KL(p_fp32 ‖ p_model) over the calibration documents.
//
// Parameterisation: s = s₀·(1 + α), o = o₀ + s₀·β per group (α, β start at 0, so the step size
// is relative to each group's own scale), Adam (β₁ 0.9, β₂ 0.999) on minibatches of documents,
// gradients from backward.hpp on the dense weights (rows of rotated tensors mapped back through
// Q), the weights the kernels run rebuilt from the stored fp16 parameters only at the end.
// The KL is that of the float-activation model; the int8 activations of the kernels are not in
// the loop. Documents are split over the Context's threads; results depend on the thread count
// only through the order of floating-point sums.
#pragma once

#include <vector>

#include "lowbit/io/llama2c.hpp"
#include "quantized.hpp"

namespace lowbit::llama {

struct TuneOptions {
  int epochs = 3;
  int batch = 16;    // documents per Adam step
  double lr = 2e-3;  // Adam step on α and β
};

/// Tunes q's parameters against the fp32 model m on `calib`; returns the mean KL of each epoch
/// (measured during it, on the calibration documents).
std::vector<double> tune_parameters(QuantizedModel& q, const io::Llama2cModel& m,
                                    const std::vector<std::vector<int>>& calib,
                                    const TuneOptions& opt, Context& ctx);

}  // namespace lowbit::llama
