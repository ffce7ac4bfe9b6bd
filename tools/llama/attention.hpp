// SPDX-License-Identifier: Apache-2.0
// tools/llama/attention.hpp: causal grouped-query attention over fp32 keys and values, the part
// of a Llama layer between the q/k/v products and the output product, shared by the KV-cache
// decoder (decoder.hpp) and the layer-wise calibration (layerwise.hpp).
//
// T queries at positions p0..p0+T-1 attend to keys/values 0..S-1 (S = p0 + T: a cache whose
// first p0 positions were filled before), query t to positions 0..p0+t. Query head h reads
// key/value head h / (heads / kv_heads). The work is cut into (head, block of 64 queries) items:
// a block's queries see at most the first p0 + (its last query) + 1 positions, so its scores
// Q·Kᵀ / √head and the product P·V are Eigen GEMMs over those keys only (a prompt of T tokens
// costs about half of the T × T products), softmax in between (vectorised). The items go to the
// Context's threads as they finish, longest first; each writes its own output rows, so the
// result does not depend on the schedule.
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
  constexpr Index kBlock = 64;
  const Index nb = (T + kBlock - 1) / kBlock;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  ctx.parallel_for_dynamic(heads * nb, 1, [&](Index i0, Index i1) {
    RowMat sc;
    for (Index i = i0; i < i1; ++i) {
      const Index b = nb - 1 - i / heads, h = i % heads;  // the last (longest) blocks first
      const Index t0 = b * kBlock, tb = T - t0 < kBlock ? T - t0 : kBlock;
      const Index S = p0 + t0 + tb;  // keys the block's last query sees
      const Index kh = h / (heads / kv_heads);
      const CMap Q(q + t0 * q_stride + h * hs, tb, hs, Eigen::OuterStride<>(q_stride));
      const CMap K(k + kh * hs, S, hs, Eigen::OuterStride<>(kv_stride));
      const CMap V(v + kh * hs, S, hs, Eigen::OuterStride<>(kv_stride));
      sc.noalias() = Q * K.transpose();
      for (Index t = 0; t < tb; ++t) {
        const Index n = p0 + t0 + t + 1;
        auto row = sc.row(t);
        auto live = row.head(n).array();
        live *= scale;
        const float mx = live.maxCoeff();
        live = (live - mx).exp();
        live /= live.sum();
        if (n < S) row.tail(S - n).setZero();
      }
      MMap O(o + t0 * o_stride + h * hs, tb, hs, Eigen::OuterStride<>(o_stride));
      O.noalias() = sc * V;
    }
  });
}

}  // namespace lowbit::llama
