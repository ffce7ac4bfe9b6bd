// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/quantize.hpp: quantize() a float matrix into a PackedMatrix, and dequantize().
//
// lowbit::quantize computes exactly what ref::quantize specifies (same fit_group, same encode,
// so the same codes and parameters bit for bit; tests check it) but packs straight into the
// Plain layout, keeps per-row groups in place without copies, and splits rows over threads.
// Kernel layouts are made from Plain by repack, so quantize only produces Plain.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/core/concepts.hpp"
#include "lowbit/core/parallel.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/plain.hpp"
#include "lowbit/pack/sequence.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/quant/options.hpp"
#include "lowbit/quant/range_fit.hpp"

namespace lowbit {

namespace detail {

template <RangeFitScheme S>
typename S::Params fit_or_explain(std::span<const float> x, std::span<const float> w,
                                  const FitOptions& fit, std::vector<typename S::Code>& scratch,
                                  const GroupExtent& g) {
  try {
    return fit_group<S>(x, w, fit, scratch);
  } catch (const Error& e) {
    fail("quantize: group ", g.param, " (rows ", g.r0, "..", g.r1 - 1, ", columns ", g.k0, "..",
         g.k1 - 1, "): ", e.what());
  }
}

/// Min/max fit and encode of one full group of compile-time size G: the same arithmetic as
/// fit_group (kMinMax, no refit) followed by S::encode, with fixed trip counts so the compiler
/// unrolls and vectorises it. This is the hot loop of load-time RTN quantization. With `lanes`
/// the group's Σx² and Σ(x̂ - x)² are added to them in the same pass.
/// Throws the non-finite error for row g.r0 (`row`, `cols` long) when this group is non-finite.
template <AffineEncodeScheme S, Index G>
LOWBIT_INLINE typename S::Params rtn_full_group(const float* row, Index cols, const float* x,
                                                typename S::Code* codes, const GroupExtent& g,
                                                CodingLanes* lanes) {
  const RangeStats st = range_stats(
      std::span<const float, static_cast<std::size_t>(G)>(x, static_cast<std::size_t>(G)));
  if (!st.finite) check_row_finite(row, cols, g.r0);  // throws, naming the column
  const typename S::Params p = S::fit_range(st, 1.0f);
  if (!S::params_finite(p)) {
    fail("quantize: group ", g.param, " (rows ", g.r0, "..", g.r1 - 1, ", columns ", g.k0, "..",
         g.k1 - 1, "): the range [", st.min, ", ", st.max, "] needs a scale that ", S::name(),
         " cannot store (overflow); use a wider scale type");
  }
  if (lanes != nullptr)
    detail::encode_n_measured(S::encode_affine(p), S::decode_affine(p), x,
                              static_cast<std::size_t>(G), codes, *lanes);
  else
    detail::encode_n(S::encode_affine(p), x, static_cast<std::size_t>(G), codes);
  return p;
}

/// Σx² and Σ(x̂ - x)² of one coded group, for the paths other than rtn_full_group.
template <ElementwiseScheme S>
CodingSums group_sums(std::span<const float> x, const typename S::Params& p) noexcept {
  CodingSums s;
  s.error_sq = group_error<S>(x, {}, p);
  for (const float v : x) s.weight_sq += static_cast<double>(v) * static_cast<double>(v);
  return s;
}

}  // namespace detail

/// What quantize_into measured when QuantizeOptions::measure_error is set: Σx² and Σ(x̂ - x)²
/// over every weight. Each row is summed on its own (float lanes across the row on the RTN path,
/// doubles per group elsewhere) and the rows are added in row order, so the doubles are the same
/// whatever the thread count. x̂ is the affine decode of the vector loops (quant/common.hpp),
/// within the last bit of S::decode.
struct QuantizeError {
  double weight_sq = 0.0;
  double error_sq = 0.0;
  /// ‖x - x̂‖² / ‖x‖² (0 for an all-zero matrix).
  double nmse() const noexcept { return weight_sq > 0.0 ? error_sq / weight_sq : 0.0; }
};

namespace detail {

/// quantize_into for every WeightElement (the public overloads below name each type, so a
/// writable view still converts to its read-only one).
template <RangeFitScheme S, Granularity G, class L, WeightElement T>
QuantizeError quantize_rows(MatrixView<const T> x, const QuantizeOptions& opt,
                            PackedMatrix<S, G, L>& out) {
  static_assert(std::is_same_v<L, Plain>,
                "quantize: produces the canonical Plain layout; repack it for kernels");
  static_assert(std::is_same_v<T, float> || G::kKind != GranularityKind::kPerTensor,
                "quantize: a per-tensor fit reads every weight at once; widen bf16/f16 first");
  using Code = typename S::Code;
  if (out.rows() != x.rows() || out.cols() != x.cols()) {
    detail::fail("quantize_into: output is ", out.rows(), " x ", out.cols(),
                 " but the weights are ", x.rows(), " x ", x.cols());
  }
  // PerTensor fits one group over everything first, so it needs every weight checked up front.
  const bool per_tensor = G::kKind == GranularityKind::kPerTensor;
  detail::check_quantize_options(x.rows(), x.cols(), opt);
  if constexpr (std::is_same_v<T, float>)
    if (per_tensor) detail::check_quantize_input(x, opt, true);
  QuantizeError total;
  if (out.empty()) return total;
  const Index cols = x.cols();
  const Index row_bytes = Plain::row_bytes<S>(cols);
  std::span<typename S::Params> params = out.params();

  if constexpr (G::kKind == GranularityKind::kPerTensor) {  // one group over every row
    std::vector<float> xs, ws;
    std::vector<Code> scratch;
    const detail::GroupExtent g{0, 0, x.rows(), 0, cols};
    params[0] = detail::fit_or_explain<S>(
        detail::gather(x, g, xs), detail::gather(opt.importance, g, ws), opt.fit, scratch, g);
  }

  // Per-row sums, added in row order at the end: the result does not depend on the threads.
  std::vector<detail::CodingSums> row_sums(opt.measure_error ? static_cast<std::size_t>(x.rows())
                                                             : 0);
  std::byte* codes = out.codes().data();
  detail::parallel_for(x.rows(), opt.threads, [&](Index r_begin, Index r_end) {
    std::vector<Code> row_codes(static_cast<std::size_t>(cols));
    std::vector<float> wide(std::is_same_v<T, float> ? 0 : static_cast<std::size_t>(cols));
    std::vector<Code> scratch;
    const Index gc = G::group_cols(cols);
    const bool rtn = opt.fit.range == RangeFit::kMinMax && opt.fit.refit_iters == 0;
    const bool rtn_fast = rtn && G::kKind == GranularityKind::kPerGroup && AffineEncodeScheme<S>;
    for (Index r = r_begin; r < r_end; ++r) {
      const float* xr = nullptr;
      if constexpr (std::is_same_v<T, float>) {
        xr = x.row_ptr(r);
      } else {
        detail::widen(x.row_ptr(r), cols, wide.data());
        xr = wide.data();
      }
      // The RTN path of full groups checks finiteness inside its range pass (one read of the
      // row instead of two); every other path checks the row first.
      if (!per_tensor && !(rtn_fast && cols % gc == 0)) detail::check_row_finite(xr, cols, r);
      detail::CodingLanes row_lanes;  // the RTN path's sums, float lanes across the row
      detail::CodingLanes* lanes = opt.measure_error ? &row_lanes : nullptr;
      for (Index k0 = 0; k0 < cols; k0 += gc) {
        const Index k1 = k0 + gc < cols ? k0 + gc : cols;
        const Index pi = G::param_index(r, k0, cols);
        const std::span<const float> xv(xr + k0, static_cast<std::size_t>(k1 - k0));
        if constexpr (G::kKind == GranularityKind::kPerGroup && AffineEncodeScheme<S>) {
          if (rtn && k1 - k0 == G::kGroupSize) {
            params[static_cast<std::size_t>(pi)] = detail::rtn_full_group<S, G::kGroupSize>(
                xr, cols, xr + k0, row_codes.data() + k0, detail::GroupExtent{pi, r, r + 1, k0, k1},
                lanes);
            continue;
          }
        }
        if constexpr (G::kKind != GranularityKind::kPerTensor) {
          std::span<const float> wv;
          if (opt.importance.data() != nullptr) wv = {opt.importance.row_ptr(r) + k0, xv.size()};
          params[static_cast<std::size_t>(pi)] = detail::fit_or_explain<S>(
              xv, wv, opt.fit, scratch, detail::GroupExtent{pi, r, r + 1, k0, k1});
        }
        const typename S::Params p = params[static_cast<std::size_t>(pi)];
        if constexpr (AffineEncodeScheme<S>) {
          detail::encode_n(S::encode_affine(p), xr + k0, static_cast<std::size_t>(k1 - k0),
                           row_codes.data() + k0);
        } else {
          for (Index k = k0; k < k1; ++k)
            row_codes[static_cast<std::size_t>(k)] = S::encode(xr[k], p);
        }
        if (lanes != nullptr) row_lanes.tail += detail::group_sums<S>(xv, p);
      }
      Plain::pack_row<S::kCodeBits>(row_codes.data(), cols, codes + r * row_bytes);
      if (lanes != nullptr) row_sums[static_cast<std::size_t>(r)] = row_lanes.sums();
    }
  });
  for (const detail::CodingSums& s : row_sums) {
    total.weight_sq += s.weight_sq;
    total.error_sq += s.error_sq;
  }
  return total;
}

}  // namespace detail

/// Quantizes x (rows × cols) into `out`, which must already have that shape; its storage is
/// reused, so repeated load-time quantization allocates nothing. x may be float, or bf16 / f16 as
/// checkpoints store them: those are widened exactly a row at a time into a per-thread buffer,
/// so a bf16 tensor is never copied whole (the codes are those of its float widening). Returns
/// the error when `opt.measure_error` (else zeros). Same errors as quantize(). If it throws,
/// `out` holds a partial result.
template <RangeFitScheme S, Granularity G, class L>
QuantizeError quantize_into(MatrixView<const float> x, const QuantizeOptions& opt,
                            PackedMatrix<S, G, L>& out) {
  return detail::quantize_rows(x, opt, out);
}
template <RangeFitScheme S, Granularity G, class L>
QuantizeError quantize_into(MatrixView<const bf16> x, const QuantizeOptions& opt,
                            PackedMatrix<S, G, L>& out) {
  return detail::quantize_rows(x, opt, out);
}
template <RangeFitScheme S, Granularity G, class L>
QuantizeError quantize_into(MatrixView<const f16> x, const QuantizeOptions& opt,
                            PackedMatrix<S, G, L>& out) {
  return detail::quantize_rows(x, opt, out);
}

/// Quantizes x (rows × cols, row-major view) into a new PackedMatrix<S, G, L> (L = Plain, the
/// canonical bytes; repack<KernelLayout<>>() turns it into the kernels' layout).
/// Throws Error on NaN/Inf weights (naming row and column), a bad importance view or options, or
/// a group range whose scale S cannot store. An empty x gives an empty matrix.
template <RangeFitScheme S, Granularity G, class L = Plain>
PackedMatrix<S, G, L> quantize(MatrixView<const float> x, const QuantizeOptions& opt = {}) {
  PackedMatrix<S, G, L> out(x.rows(), x.cols());
  quantize_into(x, opt, out);
  return out;
}
/// The same from bf16 or f16 weights (widened exactly, a row at a time).
template <RangeFitScheme S, Granularity G, class L = Plain>
PackedMatrix<S, G, L> quantize(MatrixView<const bf16> x, const QuantizeOptions& opt = {}) {
  PackedMatrix<S, G, L> out(x.rows(), x.cols());
  quantize_into(x, opt, out);
  return out;
}
template <RangeFitScheme S, Granularity G, class L = Plain>
PackedMatrix<S, G, L> quantize(MatrixView<const f16> x, const QuantizeOptions& opt = {}) {
  PackedMatrix<S, G, L> out(x.rows(), x.cols());
  quantize_into(x, opt, out);
  return out;
}

/// Decodes every weight of w into out (rows × cols). Throws Error on a shape mismatch.
template <ElementwiseScheme S, Granularity G, class L>
void dequantize(const PackedMatrix<S, G, L>& w, MatrixView<float> out) {
  if (out.rows() != w.rows() || out.cols() != w.cols()) {
    detail::fail("dequantize: output is ", out.rows(), " x ", out.cols(), " but the matrix is ",
                 w.rows(), " x ", w.cols());
  }
  const Index cols = w.cols();
  std::vector<typename S::Code> row_codes(static_cast<std::size_t>(cols));
  for (Index r = 0; r < w.rows(); ++r) {
    if constexpr (std::is_same_v<L, Plain>) {
      Plain::unpack_row<S::kCodeBits>(w.codes().data() + r * Plain::row_bytes<S>(cols), cols,
                                      row_codes.data());
    } else {
      for (Index k = 0; k < cols; ++k)
        row_codes[static_cast<std::size_t>(k)] = static_cast<typename S::Code>(w.code(r, k));
    }
    float* o = out.row_ptr(r);
    for (Index k = 0; k < cols; ++k)
      o[k] = S::decode(row_codes[static_cast<std::size_t>(k)], w.params_at(r, k));
  }
}

/// Decodes every weight of a sequence-coded w (group by group) into out (rows × cols). Throws
/// Error on a shape mismatch or a group the scheme cannot decode.
template <SequenceScheme S, Granularity G, class L>
void dequantize(const PackedMatrix<S, G, L>& w, MatrixView<float> out) {
  static_assert(G::kKind != GranularityKind::kPerTensor,
                "dequantize: a sequence scheme's groups lie within one row");
  if (out.rows() != w.rows() || out.cols() != w.cols()) {
    detail::fail("dequantize: output is ", out.rows(), " x ", out.cols(), " but the matrix is ",
                 w.rows(), " x ", w.cols());
  }
  const Index cols = w.cols(), gc = G::group_cols(cols);
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(cols));
  for (Index r = 0; r < w.rows(); ++r) {
    for (Index k = 0; k < cols; ++k)
      codes[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(w.code(r, k));
    for (Index k0 = 0; k0 < cols; k0 += gc) {
      const Index n = std::min(gc, cols - k0);
      S::check_group(n);
      detail::sequence_decode(
          w, r, k0, std::span<const std::uint8_t>(codes.data() + k0, static_cast<std::size_t>(n)),
          std::span<float>(out.row_ptr(r) + k0, static_cast<std::size_t>(n)));
    }
  }
}

/// Decodes every weight of w into a new row-major rows × cols vector.
template <class S, Granularity G, class L>
requires ElementwiseScheme<S> || SequenceScheme<S> std::vector<float> dequantize(
    const PackedMatrix<S, G, L>& w) {
  std::vector<float> out(
      static_cast<std::size_t>(detail::checked_mul(w.rows(), w.cols(), "dequantize")));
  dequantize(w, MatrixView<float>(out.data(), w.rows(), w.cols()));
  return out;
}

}  // namespace lowbit
