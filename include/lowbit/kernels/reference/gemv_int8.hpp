// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/reference/gemv_int8.hpp: the integer-path reference: GEMV/GEMM of packed
// weights with int8 activations (quant/activation.hpp). The oracle of every integer kernel.
//
// For weight row r, activation row t (codes q, scale s_x) and each group g of r (in order of k),
// with the scheme's affine decode ŵ = d.scale·(c - d.sub) + d.offset (DecodeAffine):
//   idot_g = Σ_{k∈g} (c_k - d.sub)·q_k        exact integer (int64 here; kernels may use int32
//                                             per block of k and widen, the value is the same)
//   xsum_g = Σ_{k∈g} q_k                       exact integer
//   t_g    = fma(d.offset, float(xsum_g), float(idot_g) · d.scale)     (fp32, this order)
//   acc    = acc + t_g                         (fp32, groups in increasing k)
//   y[t, r] = acc · s_x
// With a scale per block of activations (Int8Activations::block() > 0, ggml's q8_0 / q8_K), the
// blocks are the weight groups (block = the group's columns; error otherwise) and each group's
// term is scaled as it is added:
//   acc    = fma(t_g, s_{t,g}, acc)            (fp32, groups in increasing k)
//   y[t, r] = acc
// Every float operation is spelled out (std::fma, no contraction left to the compiler), so a SIMD
// kernel that performs the same operations per output row reproduces y bit for bit, whatever it
// does inside the integer dot products. Integer conversions to float round to nearest even.
// Shapes as in gemv.hpp: W is m × k; X has n rows of k activations; Y is n × m.
//
// Zero-point activations (ZeroPointActivations: unsigned b-bit codes a, step Δ_t, zero point
// z_t per row; gemm_zp). The codes are shifted to signed bytes, a' = a - o and z' = z_t - o with
// o = 128 for b = 8 (else 0), so the integer products are the int8 path's; then per group
//   idot_g = Σ_{k∈g} (c_k - d.sub)·a'_k,  xsum_g = Σ_{k∈g} a'_k                exact integers
//   t_g = fma(d.offset, float(xsum_g), float(idot_g)·d.scale);  acc = acc + t_g
// and the zero point once per row, through the weight row sum
//   C_r = Σ_g (d.scale·Σ_{k∈g}(c_k - d.sub) + d.offset·|g|)     in double, rounded once to fp32
//   y[t, r] = fma(-float(z'), C_r, acc) · Δ_t
// (Σ_k ŵ_k·(a_k - z) = Σ_k ŵ_k·a'_k - z'·Σ_k ŵ_k.) The kernels thus run the int8 micro-kernels
// unchanged, at the int8 path's speed, and add one fma per output.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/quant/activation.hpp"
#include "lowbit/quant/common.hpp"

namespace lowbit::detail {
/// The shape checks of the integer-path references: X̂ has W's columns, Y is X̂'s rows × W's rows.
inline void check_int8_ref_shapes(Index wrows, Index wcols, const Int8Activations& x,
                                  MatrixView<float> y) {
  if (x.cols() != wcols)
    fail("ref::gemm_int8: activations have ", x.cols(), " columns, W has ", wcols);
  if (y.rows() != x.rows() || y.cols() != wrows)
    fail("ref::gemm_int8: Y is ", y.rows(), " x ", y.cols(), ", expected ", x.rows(), " x ", wrows);
}
/// Whether x's scales fit W's groups of gc columns (cols columns): per row, or one block per
/// group (a single group when both cover the row).
inline bool activation_blocks_fit(const Int8Activations& x, Index gc, Index cols) noexcept {
  return x.block() == 0 || x.block() == gc || (x.block() >= cols && gc >= cols);
}
/// Throws Error unless x's scales fit W's groups (activation_blocks_fit).
inline void check_activation_blocks(const char* what, const Int8Activations& x, Index gc,
                                    Index cols) {
  if (!activation_blocks_fit(x, gc, cols))
    fail(what, ": activation scales per ", x.block(), " columns need weight groups of ", x.block(),
         ", W has groups of ", gc);
}
/// Throws Error unless x has one scale per row (the sequence-code schemes' integer path, whose
/// subgroups are not the activation blocks).
inline void check_per_row_activations(const char* what, const Int8Activations& x) {
  if (x.block() != 0)
    fail(what, ": sequence-code weights take one activation scale per row, not per ", x.block(),
         " columns");
}
/// acc of weight row r (its codes in `codes`) against one activation row a, whose codes enter as
/// a[k] - shift: Σ_g fma(d.offset, float(xsum_g), float(idot_g)·d.scale) in increasing k, each
/// term times its group's activation scale xs[g] first when xs is not null (per-block scales).
template <AffineDecodeScheme S, Granularity G, class L, class A>
float int_row_acc(const PackedMatrix<S, G, L>& w, Index r, const std::int32_t* codes, const A* a,
                  std::int32_t shift, const float* xs = nullptr) {
  const Index cols = w.cols();
  const Index gc = cols > 0 ? G::group_cols(cols) : 1;
  float acc = 0.0f;
  for (Index k0 = 0, g = 0; k0 < cols; k0 += gc, ++g) {
    const Index k1 = k0 + gc < cols ? k0 + gc : cols;
    const DecodeAffine d = S::decode_affine(w.params_at(r, k0));
    std::int64_t idot = 0, xsum = 0;
    for (Index k = k0; k < k1; ++k) {
      const std::int64_t q = static_cast<std::int64_t>(a[k]) - shift;
      idot += static_cast<std::int64_t>(codes[k] - d.sub) * q;
      xsum += q;
    }
    const float tg =
        std::fma(d.offset, static_cast<float>(xsum), static_cast<float>(idot) * d.scale);
    acc = xs != nullptr ? std::fma(tg, xs[g], acc) : acc + tg;
  }
  return acc;
}
}  // namespace lowbit::detail

namespace lowbit::ref {

/// Y (n × m) = X̂ · Ŵᵀ on the integer path (see the definition above). Throws Error on shapes.
template <AffineDecodeScheme S, Granularity G, class L>
void gemm_int8(const PackedMatrix<S, G, L>& w, const Int8Activations& x, MatrixView<float> y) {
  detail::check_int8_ref_shapes(w.rows(), w.cols(), x, y);
  const Index cols = w.cols();
  detail::check_activation_blocks("ref::gemm_int8", x, cols > 0 ? G::group_cols(cols) : 1, cols);
  std::vector<std::int32_t> codes(static_cast<std::size_t>(cols));
  for (Index r = 0; r < w.rows(); ++r) {
    for (Index k = 0; k < cols; ++k)
      codes[static_cast<std::size_t>(k)] = static_cast<std::int32_t>(w.code(r, k));
    for (Index t = 0; t < x.rows(); ++t)
      y(t, r) = x.block() > 0 ? detail::int_row_acc(w, r, codes.data(), x.row(t), 0, x.scales(t))
                              : detail::int_row_acc(w, r, codes.data(), x.row(t), 0) * x.scale(t);
  }
}

/// The integer path of multi-plane schemes (PlaneDecodeScheme: ŵ = offset + Σ_p scale_p·bit_p(c)):
/// per group idot_p = Σ bit_p(c_k)·q_k and xsum = Σ q_k (exact), then in fp32
///   t_g = fma(offset, float(xsum), float(idot_0)·scale_0);  t_g = fma(scale_p, float(idot_p), t_g)
///   for p = 1 .. P-1;  acc = acc + t_g;  y = acc·s_x  (per-block scales: acc = fma(t_g, s_{t,g},
///   acc); y = acc, as for affine schemes).
template <PlaneDecodeScheme S, Granularity G, class L>
void gemm_int8(const PackedMatrix<S, G, L>& w, const Int8Activations& x, MatrixView<float> y) {
  detail::check_int8_ref_shapes(w.rows(), w.cols(), x, y);
  constexpr int P = S::kPlanes;
  const Index cols = w.cols();
  const Index gc = G::group_cols(cols);
  detail::check_activation_blocks("ref::gemm_int8", x, gc, cols);
  for (Index r = 0; r < w.rows(); ++r)
    for (Index t = 0; t < x.rows(); ++t) {
      const std::int8_t* q = x.row(t);
      float acc = 0.0f;
      for (Index k0 = 0, g = 0; k0 < cols; k0 += gc, ++g) {
        const Index k1 = k0 + gc < cols ? k0 + gc : cols;
        const PlaneAffine d = S::plane_affine(w.params_at(r, k0));
        std::int64_t idot[P] = {}, xsum = 0;
        for (Index k = k0; k < k1; ++k) {
          const std::uint32_t c = w.code(r, k);
          for (int p = 0; p < P; ++p) idot[p] += static_cast<std::int64_t>((c >> p) & 1u) * q[k];
          xsum += q[k];
        }
        float tg =
            std::fma(d.offset, static_cast<float>(xsum), static_cast<float>(idot[0]) * d.scale[0]);
        for (int p = 1; p < P; ++p) tg = std::fma(d.scale[p], static_cast<float>(idot[p]), tg);
        acc = x.block() > 0 ? std::fma(tg, x.scale(t, g), acc) : acc + tg;
      }
      y(t, r) = x.block() > 0 ? acc : acc * x.scale(t);
    }
}

/// The shift o of b-bit zero-point codes to signed bytes (128 for b = 8, else 0).
inline constexpr std::int32_t zero_point_shift(int bits) noexcept { return bits == 8 ? 128 : 0; }

/// C_r of every row of W (see the definition above), the zero-point row sums of gemm_zp.
template <AffineDecodeScheme S, Granularity G, class L>
std::vector<float> zero_point_row_sums(const PackedMatrix<S, G, L>& w) {
  const Index cols = w.cols();
  const Index gc = cols > 0 ? G::group_cols(cols) : 1;
  std::vector<float> out(static_cast<std::size_t>(w.rows()));
  for (Index r = 0; r < w.rows(); ++r) {
    double c = 0.0;
    for (Index k0 = 0; k0 < cols; k0 += gc) {
      const Index k1 = k0 + gc < cols ? k0 + gc : cols;
      const DecodeAffine d = S::decode_affine(w.params_at(r, k0));
      std::int64_t sum = 0;
      for (Index k = k0; k < k1; ++k) sum += static_cast<std::int64_t>(w.code(r, k)) - d.sub;
      c += static_cast<double>(d.scale) * static_cast<double>(sum) +
           static_cast<double>(d.offset) * static_cast<double>(k1 - k0);
    }
    out[static_cast<std::size_t>(r)] = static_cast<float>(c);
  }
  return out;
}

/// Y (n × m) = X̂ · Ŵᵀ for zero-point activations (see the definition above). Throws Error on
/// shapes.
template <AffineDecodeScheme S, Granularity G, class L>
void gemm_zp(const PackedMatrix<S, G, L>& w, const ZeroPointActivations& x, MatrixView<float> y) {
  if (x.cols() != w.cols())
    detail::fail("ref::gemm_zp: activations have ", x.cols(), " columns, W has ", w.cols());
  if (y.rows() != x.rows() || y.cols() != w.rows())
    detail::fail("ref::gemm_zp: Y is ", y.rows(), " x ", y.cols(), ", expected ", x.rows(), " x ",
                 w.rows());
  const Index cols = w.cols();
  const std::int32_t o = zero_point_shift(x.bits());
  const std::vector<float> rsum = zero_point_row_sums(w);
  std::vector<std::int32_t> codes(static_cast<std::size_t>(cols));
  for (Index r = 0; r < w.rows(); ++r) {
    for (Index k = 0; k < cols; ++k)
      codes[static_cast<std::size_t>(k)] = static_cast<std::int32_t>(w.code(r, k));
    for (Index t = 0; t < x.rows(); ++t) {
      const float acc = detail::int_row_acc(w, r, codes.data(), x.row(t), o);
      const float zs = static_cast<float>(x.zero(t) - o);
      y(t, r) = std::fma(-zs, rsum[static_cast<std::size_t>(r)], acc) * x.step(t);
    }
  }
}

/// y (m) = Ŵ · x̂ for activation row `t` of x (the n = 1 case of gemm_int8).
template <AffineDecodeScheme S, Granularity G, class L>
void gemv_int8(const PackedMatrix<S, G, L>& w, const Int8Activations& x, VectorView<float> y) {
  if (x.rows() != 1) detail::fail("ref::gemv_int8: expects one activation row, got ", x.rows());
  if (y.size() != w.rows())
    detail::fail("ref::gemv_int8: y has ", y.size(), " elements, W has ", w.rows(), " rows");
  std::vector<float> out(static_cast<std::size_t>(w.rows()));
  gemm_int8(w, x, MatrixView<float>(out.data(), 1, w.rows()));
  for (Index r = 0; r < w.rows(); ++r) y[r] = out[static_cast<std::size_t>(r)];
}

}  // namespace lowbit::ref
