// SPDX-License-Identifier: Apache-2.0
// tools/llama/attention.hpp: causal grouped-query attention over fp32 keys and values, the part
// of a Llama layer between the q/k/v products and the output product, shared by the KV-cache
// decoder (decoder.hpp) and the layer-wise calibration (layerwise.hpp).
//
// T queries at positions p0..p0+T-1 attend to keys/values 0..S-1 (S = p0 + T: a cache whose
// first p0 positions were filled before), query t to positions 0..p0+t. Query head h reads
// key/value head h / (heads / kv_heads). Per head, the scores Q·Kᵀ / √head and the product P·V
// are Eigen GEMMs (softmax in between, vectorised), and the heads are split over the Context's
// threads.
#pragma once

#include <Eigen/Core>
#include <cmath>

#include "lowbit/gemm/context.hpp"

namespace lowbit::llama {

/// q: T rows of heads·hs (stride q_stride); k, v: S rows of kv_heads·hs (stride kv_stride);
/// o: T rows (stride o_stride) receiving each head's output at h·hs.
inline void causal_attention(const float* q, Index q_stride, const float* k, const float* v,
                             Index kv_stride, float* o, Index o_stride, Index T, Index p0,
                             Index heads, Index kv_heads, Index hs, Context& ctx) {
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using CMap = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;
  using MMap = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;
  const Index S = p0 + T;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  ctx.parallel_for(heads, [&](Index h0, Index h1) {
    RowMat sc;
    for (Index h = h0; h < h1; ++h) {
      const Index kh = h / (heads / kv_heads);
      const CMap Q(q + h * hs, T, hs, Eigen::OuterStride<>(q_stride));
      const CMap K(k + kh * hs, S, hs, Eigen::OuterStride<>(kv_stride));
      const CMap V(v + kh * hs, S, hs, Eigen::OuterStride<>(kv_stride));
      sc.noalias() = Q * K.transpose();
      for (Index t = 0; t < T; ++t) {
        const Index n = p0 + t + 1;
        auto row = sc.row(t);
        auto live = row.head(n).array();
        live *= scale;
        const float mx = live.maxCoeff();
        live = (live - mx).exp();
        live /= live.sum();
        if (n < S) row.tail(S - n).setZero();
      }
      MMap O(o + h * hs, T, hs, Eigen::OuterStride<>(o_stride));
      O.noalias() = sc * V;
    }
  });
}

}  // namespace lowbit::llama
