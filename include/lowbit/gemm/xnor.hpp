// SPDX-License-Identifier: Apache-2.0
// lowbit/gemm/xnor.hpp: binary weights × binary activations by XNOR and popcount (XNOR-Net).
//
// # The math
// Activations are binarized per row (token): bit = [x >= 0] (sign(0) = +1, as the binary weight
// schemes), x̂ = β·s with s = ±1 and β = mean|x| over the row (XNOR-Net's scaling; it minimises
// ||x - β·s||² for s = sign(x)). Weights are a Binary scheme: ŵ = μ + α·s_w per group (μ = 0 for
// BinaryOffset::kNone). Over a group of L columns, with b_w, b_x the bit vectors,
//     Σ s_w·s_x = L - 2·popcount(b_w XOR b_x),    Σ s_x = 2·popcount(b_x) - L,
// so  y = β · Σ_g (α_g·(L_g - 2·popcount(b_w ⊕ b_x)_g) + μ_g·(2·popcount(b_x)_g - L_g)).
// The integer counts are exact; the float part runs in one defined order (per group:
// acc = fma(α, dot, acc), then acc = fma(μ, sx, acc) for kMean; finally y = acc·β), identical
// in ref::gemm_xnor and the SIMD path, so every ISA agrees bit for bit.
//
// # Storage
// Weights: PackedMatrix<Binary<·>, G, Plain> (1-bit Plain rows are bit streams, code k at bit
// k mod 8 of byte k/8, unused high bits zero). BinaryActivations: one bit stream per row with
// the same convention, rows padded with zero bits to 64 bytes. Zero pad bits on both sides XOR
// to 0 and add nothing to any popcount. Groups whose width is not a multiple of 8 (PerGroup<G>,
// G % 8 != 0) are counted bit by bit (correct, not fast).
//
// # Kernels
// The popcounts: AVX-512 VPOPCNTDQ (vpopcntq on 64-byte blocks, masked loads for the tail) when
// the flags enable it; AVX2 (and AVX-512 without VPOPCNTDQ): the nibble table (vpshufb) + vpsadbw
// popcount on 32-byte blocks; otherwise 64-bit std::popcount. The scalar reference
// (ref::gemm_xnor) decodes every code and sign instead. Rows of W run on the Context's threads.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "lowbit/config.hpp"
#include "lowbit/core/buffer.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/gemm/context.hpp"
#include "lowbit/kernels/select.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/plain.hpp"
#include "lowbit/quant/binary.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/quant/options.hpp"
#include "lowbit/simd/isa.hpp"

namespace lowbit {

/// Row padding of binary activations, in bytes (one 512-bit vector).
inline constexpr Index kBinaryActivationPad = 64;

/// n rows of k sign bits (bit k of a row = [x_k >= 0], zero padded) + a scale β per row.
class BinaryActivations {
 public:
  BinaryActivations() = default;
  BinaryActivations(Index rows, Index cols)
      : rows_(rows),
        cols_(cols),
        stride_(round_up<Index>(ceil_div<Index>(cols, 8), kBinaryActivationPad)),
        bits_(detail::checked_mul(rows, stride_, "BinaryActivations")),
        scales_(rows) {}

  Index rows() const noexcept { return rows_; }
  Index cols() const noexcept { return cols_; }
  Index stride() const noexcept { return stride_; }
  const std::byte* row(Index r) const noexcept { return bits_.data() + r * stride_; }
  std::byte* row(Index r) noexcept { return bits_.data() + r * stride_; }
  float scale(Index r) const noexcept { return scales_[r]; }
  float& scale(Index r) noexcept { return scales_[r]; }
  /// Sign of x(r, k): +1 or -1.
  int sign(Index r, Index k) const noexcept {
    return (std::to_integer<unsigned>(row(r)[k / 8]) >> (k % 8) & 1u) != 0 ? 1 : -1;
  }

 private:
  Index rows_ = 0, cols_ = 0, stride_ = 0;
  AlignedBuffer<std::byte> bits_;
  AlignedBuffer<float> scales_;
};

/// Binarizes every row of x: bits [x >= 0], β = mean|x| (0 for an all-zero row, whose bits are
/// all 1 and contribute β·… = 0). Throws Error naming the position of a NaN/Inf.
inline void quantize_binary_activations(MatrixView<const float> x, BinaryActivations& out) {
  if (out.rows() != x.rows() || out.cols() != x.cols()) out = BinaryActivations(x.rows(), x.cols());
  for (Index r = 0; r < x.rows(); ++r) {
    detail::check_row_finite(x, r, "binary activation");
    std::byte* bits = out.row(r);
    std::memset(bits, 0, static_cast<std::size_t>(out.stride()));
    double abs_sum = 0.0;
    for (Index k = 0; k < x.cols(); ++k) {
      const float v = x(r, k);
      abs_sum += std::fabs(static_cast<double>(v));
      if (v >= 0.0f) bits[k / 8] |= std::byte(static_cast<std::uint8_t>(1u << (k % 8)));
    }
    out.scale(r) =
        x.cols() > 0 ? static_cast<float>(abs_sum / static_cast<double>(x.cols())) : 0.0f;
  }
}

namespace detail {

template <class W>
struct XnorWeights : std::false_type {};
template <BinaryOffset O, class T, class G>
struct XnorWeights<PackedMatrix<Binary<O, T>, G, Plain>> : std::true_type {
  static constexpr BinaryOffset kOffset = O;
};

inline void check_xnor_shapes(const char* what, Index wrows, Index wcols,
                              const BinaryActivations& x, MatrixView<float> y) {
  if (x.cols() != wcols) fail(what, ": activations have ", x.cols(), " columns, W has ", wcols);
  if (y.rows() != x.rows() || y.cols() != wrows)
    fail(what, ": Y is ", y.rows(), " x ", y.cols(), ", expected ", x.rows(), " x ", wrows);
}

/// The float part shared by the reference and the kernels (see the header): one group.
template <BinaryOffset O, class T>
inline float xnor_group(float acc, const typename Binary<O, T>::Params& p, std::int64_t dot,
                        std::int64_t sx) noexcept {
  acc = std::fma(Binary<O, T>::alpha(p), static_cast<float>(dot), acc);
  if constexpr (O == BinaryOffset::kMean)
    acc = std::fma(Binary<O, T>::mean(p), static_cast<float>(sx), acc);
  return acc;
}

}  // namespace detail

namespace ref {

/// The scalar reference: decodes every weight code and activation sign.
template <class W>
requires detail::XnorWeights<W>::value void gemm_xnor(const W& w, const BinaryActivations& x,
                                                      MatrixView<float> y) {
  detail::check_xnor_shapes("ref::gemm_xnor", w.rows(), w.cols(), x, y);
  using S = typename W::scheme_type;
  using G = typename W::granularity_type;
  const Index cols = w.cols(), gc = cols > 0 ? G::group_cols(cols) : 1;
  for (Index t = 0; t < x.rows(); ++t)
    for (Index r = 0; r < w.rows(); ++r) {
      float acc = 0.0f;
      for (Index k0 = 0; k0 < cols; k0 += gc) {
        const Index k1 = k0 + gc < cols ? k0 + gc : cols;
        std::int64_t dot = 0, sx = 0;
        for (Index k = k0; k < k1; ++k) {
          const int sw = w.code(r, k) != 0 ? 1 : -1, s = x.sign(t, k);
          dot += sw * s;
          sx += s;
        }
        acc =
            detail::xnor_group<S::kOffsetKind, typename S::Scale>(acc, w.params_at(r, k0), dot, sx);
      }
      y(t, r) = acc * x.scale(t);
    }
}

}  // namespace ref

/// Y (n × m) = X̂·Ŵᵀ for binary weights and binary activations, by XNOR + popcount. Bit-identical
/// to ref::gemm_xnor on every ISA and thread count. Throws Error on shapes.
template <class Isa = isa::best, class W>
requires detail::XnorWeights<W>::value void gemm_xnor(const W& w, const BinaryActivations& x,
                                                      MatrixView<float> y, Context& ctx) {
  detail::check_xnor_shapes("gemm_xnor", w.rows(), w.cols(), x, y);
  using S = typename W::scheme_type;
  using G = typename W::granularity_type;
  const Index cols = w.cols();
  if (cols == 0 || w.rows() == 0 || x.rows() == 0) {
    for (Index t = 0; t < x.rows(); ++t)
      for (Index r = 0; r < w.rows(); ++r) y(t, r) = 0.0f;
    return;
  }
  const Index gc = G::group_cols(cols);
  if (gc % 8 != 0 && gc < cols) {  // groups start inside bytes: the bit-by-bit reference
    ref::gemm_xnor(w, x, y);
    return;
  }
  const Index row_bytes = Plain::row_bytes<S>(cols);
  ctx.parallel_for(w.rows(), [&](Index r0, Index r1) {
    for (Index r = r0; r < r1; ++r) {
      const std::byte* wr = w.codes().data() + r * row_bytes;
      for (Index t = 0; t < x.rows(); ++t) {
        const std::byte* xr = x.row(t);
        float acc = 0.0f;
        for (Index k0 = 0; k0 < cols; k0 += gc) {
          const Index k1 = k0 + gc < cols ? k0 + gc : cols;
          const Index len = k1 - k0, b0 = k0 / 8, nb = ceil_div<Index>(len, 8);
          const std::int64_t dot = len - 2 * kernels::popcount_xor<Isa>(wr + b0, xr + b0, nb);
          std::int64_t sx = 0;
          if constexpr (S::kOffsetKind == BinaryOffset::kMean)
            sx = 2 * kernels::popcount_xor<Isa>(xr + b0, nullptr, nb) - len;
          acc = detail::xnor_group<S::kOffsetKind, typename S::Scale>(acc, w.params_at(r, k0), dot,
                                                                      sx);
        }
        y(t, r) = acc * x.scale(t);
      }
    }
  });
}

/// y (m) = Ŵ·x̂ for one row of binary activations.
template <class Isa = isa::best, class W>
requires detail::XnorWeights<W>::value void gemv_xnor(const W& w, const BinaryActivations& x,
                                                      VectorView<float> y, Context& ctx) {
  if (x.rows() != 1) detail::fail("gemv_xnor: expects one activation row, got ", x.rows());
  if (!y.contiguous()) detail::fail("gemv_xnor: y must be contiguous (inc 1), got inc ", y.inc());
  gemm_xnor<Isa>(w, x, MatrixView<float>(y.data(), 1, y.size()), ctx);
}

}  // namespace lowbit
