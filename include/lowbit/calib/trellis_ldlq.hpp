// SPDX-License-Identifier: Apache-2.0
// lowbit/calib/trellis_ldlq.hpp: the trellis with error feedback (QTIP's BlockLDLQ,
// lib/algo/ldlq.py), needs Eigen.
//
// A trellis group is coded jointly (Viterbi over its g weights), so GPTQ's column-by-column
// feedback (calib/gptq.hpp) becomes a block one: with H the damped Hessian of the layer's inputs
// and U = chol(H⁻¹)ᵀ (upper), the groups of columns B = [k0, k1) run left to right, and
//   Q_B = trellis codes of every row of W_B (the compensated weights, rows in parallel),
//   E   = (W_B - Q_B) · U_BB⁻¹                  (a triangular solve),
//   W[:, k1..) -= E · U[B, k1..),
// which is GPTQ's update for a block quantized without intra-block feedback (for one column it
// is GPTQ's e = (w - q)/U_jj). Dead inputs (H_jj = 0) get H_jj = 1 and a zero column, and
// H += damp·mean(diag H)·I, as in gptq. Columns stay in order (groups are contiguous sequences).
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "lowbit/calib/gptq.hpp"
#include "lowbit/calib/trellis_viterbi.hpp"

namespace lowbit::calib {

/// Trellis quantization of w (S a ConvCode, G = PerGroup<g>) with block LDLQ feedback under the
/// Hessian h (cols × cols). Throws Error on shapes, NaN/Inf, a Hessian that is not positive
/// definite after damping, groups S cannot code, or a scale f16 cannot hold.
template <class S, Granularity G>
PackedMatrix<S, G, Plain> trellis_quantize_ldlq(MatrixView<const float> w, const Eigen::MatrixXd& h,
                                                const TrellisOptions& opt = {},
                                                double damp = 0.01) {
  static_assert(G::kKind == GranularityKind::kPerGroup,
                "trellis_quantize_ldlq: feedback runs between groups; use PerGroup");
  using lowbit::detail::fail;
  if (opt.threads < 1 || opt.passes < 1 || opt.passes > 2)
    fail("trellis_quantize_ldlq: threads must be >= 1 and passes 1 or 2");
  check_trellis_input<S, G>(w, "trellis_quantize_ldlq");
  const Index rows = w.rows(), cols = w.cols(), gc = G::group_cols(cols);
  if (h.rows() != cols || h.cols() != cols)
    fail("trellis_quantize_ldlq: Hessian is ", h.rows(), " x ", h.cols(), ", W has ", cols,
         " columns");
  if (!h.allFinite()) fail("trellis_quantize_ldlq: the Hessian has non-finite entries");
  PackedMatrix<S, G, Plain> out(rows, cols);
  if (out.empty()) return out;
  Eigen::MatrixXd W = to_eigen(w, "trellis_quantize_ldlq");
  Eigen::MatrixXd H = h;
  for (Index j = 0; j < cols; ++j)
    if (H(j, j) == 0.0) {
      H(j, j) = 1.0;
      W.col(j).setZero();
    }
  H.diagonal().array() += damp * H.diagonal().mean();
  Eigen::LLT<Eigen::MatrixXd> llt(H);
  if (llt.info() != Eigen::Success)
    fail("trellis_quantize_ldlq: the damped Hessian is not positive definite");
  const Eigen::MatrixXd Hinv = llt.solve(Eigen::MatrixXd::Identity(cols, cols));
  Eigen::LLT<Eigen::MatrixXd> llt_inv(Hinv);
  if (llt_inv.info() != Eigen::Success)
    fail("trellis_quantize_ldlq: the inverse Hessian is not positive definite");
  const Eigen::MatrixXd U = llt_inv.matrixU();

  const std::vector<float> table = conv_code_table<S>();
  const double rms_code = conv_code_rms<S>(table);
  std::vector<std::uint8_t> syms(static_cast<std::size_t>(rows * cols));
  std::vector<float> wb, qb;
  std::vector<Index> bad(static_cast<std::size_t>(rows), -1);
  for (Index k0 = 0; k0 < cols; k0 += gc) {
    const Index n = std::min(gc, cols - k0), k1 = k0 + n;
    wb.resize(static_cast<std::size_t>(rows * n));
    qb.resize(wb.size());
    for (Index r = 0; r < rows; ++r)
      for (Index i = 0; i < n; ++i)
        wb[static_cast<std::size_t>(r * n + i)] = static_cast<float>(W(r, k0 + i));
    // A group is coded jointly, so GPTQ's in-order feedback cannot run inside it; its weights
    // count by their share of the output error instead: 1/U_ii², GPTQ's weight of column i.
    std::vector<float> cw(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i)
      cw[static_cast<std::size_t>(i)] =
          static_cast<float>(1.0 / (U(k0 + i, k0 + i) * U(k0 + i, k0 + i)));
    lowbit::detail::parallel_for(rows, opt.threads, [&](Index r0, Index r1) {
      TrellisGroupEncoder<S> enc(table, rms_code, opt.passes);
      for (Index r = r0; r < r1; ++r) {
        auto& p = out.params()[static_cast<std::size_t>(out.param_slot(r, k0))];
        if (!enc.encode(wb.data() + r * n, n, syms.data() + r * cols + k0, &p, qb.data() + r * n,
                        opt.hessian_weights ? cw.data() : nullptr))
          bad[static_cast<std::size_t>(r)] = k0;
      }
    });
    for (Index r = 0; r < rows; ++r)
      if (bad[static_cast<std::size_t>(r)] >= 0)
        fail("trellis_quantize_ldlq: the scale of row ", r, ", column ", k0, " overflows f16");
    if (k1 >= cols) break;
    Eigen::MatrixXd E(rows, n);
    for (Index r = 0; r < rows; ++r)
      for (Index i = 0; i < n; ++i)
        E(r, i) = W(r, k0 + i) - static_cast<double>(qb[static_cast<std::size_t>(r * n + i)]);
    // E ← E·U_BB⁻¹: U_BBᵀ·Eᵀ = Eᵀ(old), a lower-triangular solve.
    const Eigen::MatrixXd Et =
        U.block(k0, k0, n, n).transpose().triangularView<Eigen::Lower>().solve(E.transpose());
    W.block(0, k1, rows, cols - k1).noalias() -= Et.transpose() * U.block(k0, k1, n, cols - k1);
  }
  for (Index r = 0; r < rows; ++r)
    for (Index k = 0; k < cols; ++k)
      out.set_code(r, k, syms[static_cast<std::size_t>(r * cols + k)]);
  return out;
}

}  // namespace lowbit::calib
