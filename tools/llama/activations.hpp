// SPDX-License-Identifier: Apache-2.0
// tools/llama/activations.hpp: quantizing the inputs of every linear layer of a llama2.c model
// (DDTB's dual bounds and the usual absmax / min-max): the activation policies, their calibration
// on recorded inputs, and the layer wrapper that applies them.
//
// Activation policy names: a<bits>-<method>, bits 2..8:
//   absmax        dynamic per-token symmetric: s = max|x_t|/(2^(b-1) - 1), codes -(2^(b-1)-1) ..
//                 2^(b-1) - 1 (the int8 path's convention at b = 8)
//   absmax-static one symmetric scale per layer from the calibration inputs' max |x|
//   minmax        dynamic per-token asymmetric min/max (zero point, [min(x,0), max(x,0)])
//   minmax-static one asymmetric range per layer: the calibration inputs' min and max
//   db            static dual bound per layer: percentile init (1st/99th), then Adam with the STE
//                 on the layer's output error ‖W(x̂ - x)‖² (calib/dual_bound.hpp)
//   db-grid       static dual bound by grid search on the same error
//   dbgate        db plus DDTB's dynamic gate on the layers of highest dynamic intensity
//                 (the top `gate_fraction`, default 0.3 as DDTB's EDSR), trained the same way;
//                 the other layers keep their static db range
// Calibration records the fp32 model's layer inputs over the calibration documents (at most
// `max_tokens` rows per layer, spread evenly over the documents, for the searches) and each
// document's extremes (the batches of the dynamic-intensity score).
// The wrapper quantizes a layer's input rows. Layers with packed affine weights take the
// zero-point codes on the integer kernels (lowbit::gemm_zp: W4A4, W4A8, ...); fp32 and rotated
// layers, and the symmetric methods, take the dequantized values (the values an integer kernel
// on those codes multiplies) in float.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lowbit/calib/dual_bound.hpp"
#include "model.hpp"

namespace lowbit::llama {

enum class ActMethod { kAbsmax, kAbsmaxStatic, kMinmax, kMinmaxStatic, kDb, kDbGrid, kDbGate };

struct ActPolicy {
  ActMethod method = ActMethod::kDb;
  int bits = 4;
  double gate_fraction = 0.3;
  std::string name;
  bool is_static() const noexcept {
    return method != ActMethod::kAbsmax && method != ActMethod::kMinmax;
  }
};

/// Parses a<bits>-<method> (see the top of the file). Throws Error naming the problem.
ActPolicy parse_act_policy(const std::string& s);

/// One layer's calibrated activation quantizer.
struct ActQuantizer {
  ActMethod method = ActMethod::kAbsmax;
  int bits = 8;
  DualBoundRange range;                              // static ranges (absmax-static: [-a, a])
  std::shared_ptr<const calib::DualBoundGate> gate;  // dbgate layers that got a gate
  double intensity = 0.0;                            // dynamic intensity (dbgate)

  /// x̂ for every row of x (n × cols, written to out). Throws Error on NaN/Inf.
  void apply(MatrixView<const float> x, MatrixView<float> out) const;
  /// Whether the codes are zero-point codes (every method but the symmetric absmax ones).
  bool zero_point() const noexcept {
    return method != ActMethod::kAbsmax && method != ActMethod::kAbsmaxStatic;
  }
  /// The zero-point codes of x (zero_point() methods; their values are apply()'s).
  void encode(MatrixView<const float> x, ZeroPointActivations& out) const;
};

/// The recorded inputs of every linear layer of the fp32 model.
struct ActRecording {
  std::vector<std::vector<float>> rows;                // per layer: tokens × cols, row-major
  std::vector<Index> cols;                             // per layer
  std::vector<std::vector<DualBoundRange>> doc_range;  // per layer: each document's min, max
  Index tokens(std::size_t layer) const {
    return static_cast<Index>(rows[layer].size()) / cols[layer];
  }
  MatrixView<const float> view(std::size_t layer) const {
    return {rows[layer].data(), tokens(layer), cols[layer]};
  }
};

/// Records the inputs of every linear layer of `fp` over `docs`, keeping every `stride`-th token
/// (stride >= 1) and every document's extremes.
ActRecording record_activations(const Model& fp, const std::vector<std::vector<int>>& docs,
                                Index stride, Context& ctx);

/// Calibrates one quantizer per linear layer of `fp` (weights taken from its F32Linear layers)
/// on `rec` (record_activations of the calibration documents; unused, and may be empty, for the
/// dynamic absmax and minmax).
std::vector<ActQuantizer> calibrate_activations(const Model& fp, const ActRecording& rec,
                                                const ActPolicy& p);

/// A layer whose inputs are quantized by q before `inner` runs.
class ActQuantLinear final : public Linear {
 public:
  ActQuantLinear(std::unique_ptr<Linear> inner, ActQuantizer q)
      : inner_(std::move(inner)), q_(std::move(q)) {}
  Index rows() const override { return inner_->rows(); }
  Index cols() const override { return inner_->cols(); }
  /// Zero-point codes go to the layer's integer kernels (gemm_zp) when it has them; otherwise
  /// (fp32 layers, rotated layers, symmetric codes) the layer gets the dequantized values.
  void forward(MatrixView<const float> x, MatrixView<float> y, Context& ctx) const override {
    if (q_.zero_point()) {
      ZeroPointActivations codes;
      q_.encode(x, codes);
      if (inner_->forward_zp(codes, y, ctx)) return;
    }
    std::vector<float> xq(static_cast<std::size_t>(x.rows() * x.cols()));
    const MatrixView<float> xv(xq.data(), x.rows(), x.cols());
    q_.apply(x, xv);
    inner_->forward(xv, y, ctx);
  }
  double bits_per_weight() const override { return inner_->bits_per_weight(); }
  const ActQuantizer& quantizer() const { return q_; }

 private:
  std::unique_ptr<Linear> inner_;
  ActQuantizer q_;
};

/// Wraps every linear layer of m with its quantizer (qs[i] for m.linear[i]).
void quantize_inputs(Model& m, const std::vector<ActQuantizer>& qs);

}  // namespace lowbit::llama
