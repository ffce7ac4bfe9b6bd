// SPDX-License-Identifier: Apache-2.0
// lowbit/gemm/output.hpp: the output pipeline: what happens to a block of accumulators between
// the micro-kernel and Y.
//
// The kernels hand over, for each activation row t, the running sums acc of the reference
// (ref::gemm_int8: y = acc·s_x, or the float path's sums). A pipeline is a list of stages, each
// a small struct with `apply(float* row, Index col0, Index ncols)` acting on a row segment of an
// output block (columns col0 .. col0+ncols of Y), evaluated in order (gemmlowp's
// OutputPipeline as a std::tuple, not FBGEMM's chain of references). The dequantization by the
// activation scale is always the first step and is not a stage; StoreF32 is implicit and last.
// Stages:
//   AddBias{bias}     y += bias[col]                 (bias: a span of Y's column count)
//   Clamp{lo, hi}     y = min(max(y, lo), hi)        (NaN stays NaN)
// A stage's result is defined per element, so a pipeline's output equals applying the stages to
// the reference's y (tests do exactly that). Every entry point calls the pipeline's
// check(columns) before running, so a bias shorter than Y's rows is an Error, not a read past it.
#pragma once

#include <span>
#include <tuple>

#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"

namespace lowbit {

struct AddBias {
  std::span<const float> bias;
  void check(Index cols) const {
    if (static_cast<Index>(bias.size()) != cols)
      detail::fail("AddBias: bias has ", bias.size(), " values, the output has ", cols, " columns");
  }
  void apply(float* y, Index col0, Index n) const noexcept {
    for (Index i = 0; i < n; ++i) y[i] = y[i] + bias[static_cast<std::size_t>(col0 + i)];
  }
};

struct Clamp {
  float lo = 0.0f;
  float hi = 0.0f;
  void check(Index) const {
    if (!(lo <= hi)) detail::fail("Clamp: lo ", lo, " is not <= hi ", hi);
  }
  void apply(float* y, Index, Index n) const noexcept {
    for (Index i = 0; i < n; ++i) {
      const float v = y[i];
      y[i] = v < lo ? lo : (v > hi ? hi : v);
    }
  }
};

template <class... Stages>
struct OutputPipeline {
  std::tuple<Stages...> stages;
  OutputPipeline() = default;
  template <class... T>
  requires(sizeof...(T) == sizeof...(Stages) && sizeof...(T) > 0) explicit OutputPipeline(T... s)
      : stages(s...) {}
  /// Throws Error if a stage does not fit an output of `cols` columns.
  void check(Index cols) const {
    std::apply([&](const auto&... st) { (st.check(cols), ...); }, stages);
  }
  void apply(float* y, Index col0, Index n) const noexcept {
    std::apply([&](const auto&... st) { (st.apply(y, col0, n), ...); }, stages);
  }
};

/// The empty pipeline: Y = the dequantized accumulators.
using NoOutputStages = OutputPipeline<>;

}  // namespace lowbit
