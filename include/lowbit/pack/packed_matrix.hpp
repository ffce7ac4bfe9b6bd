// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/packed_matrix.hpp: PackedMatrix<Scheme, Granularity, Layout>, codes + parameters.
//
// A PackedMatrix owns a rows × cols weight matrix in packed form: the codes in Layout's bytes
// and one Scheme::Params per parameter set of Granularity, indexed as Granularity::param_index.
// It is the one type kernels are chosen from. Parameters are stored as an array of structs:
// a kernel reads all parameters of a group together (scale and zero or min), so keeping them
// adjacent costs one cache line per group instead of two (a structure of arrays, scales apart
// from offsets, would cost two).
#pragma once

#include <span>
#include <string>
#include <type_traits>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/buffer.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"

namespace lowbit {

namespace detail {
/// A scheme with parameters per row besides its per-group ones (CCQ's code scale, code zero point
/// and super scale): PackedMatrix then holds one RowParams per row too.
template <class S>
concept HasRowParams = requires {
  typename S::RowParams;
  { S::kRowParamBits } -> std::convertible_to<int>;
  { S::kRowParamBytes } -> std::convertible_to<int>;
};
struct NoRowParams {};
template <class S>
struct RowParamsOf {
  using type = NoRowParams;
};
template <HasRowParams S>
struct RowParamsOf<S> {
  using type = typename S::RowParams;
};

/// Where parameter sets live: a layout may place them itself (Interleaved keeps a tile's
/// parameters adjacent); otherwise the granularity's row-major order is used (Plain).
template <class L, class G>
concept LayoutPlacesParams = requires(Index i) {
  { L::template param_count<G>(i, i) } -> std::same_as<Index>;
  { L::template param_index<G>(i, i, i) } -> std::same_as<Index>;
};
template <class L, class G>
constexpr Index layout_param_count(Index rows, Index cols) noexcept {
  if constexpr (LayoutPlacesParams<L, G>) {
    return L::template param_count<G>(rows, cols);
  } else {
    return G::param_count(rows, cols);
  }
}
template <class L, class G>
constexpr Index layout_param_index(Index r, Index k, Index cols) noexcept {
  if constexpr (LayoutPlacesParams<L, G>) {
    return L::template param_index<G>(r, k, cols);
  } else {
    return G::param_index(r, k, cols);
  }
}
/// PerGroup<G> with G half of L's tile depth, for a layout whose kernels finish a group in the
/// middle of a block (Interleaved: kHalfBlockGroups; ggml's 16-value sub-blocks).
template <class L, class G>
constexpr bool half_block_groups() noexcept {
  if constexpr (requires { L::kHalfBlockGroups; }) {
    return L::kHalfBlockGroups && G::kKind == GranularityKind::kPerGroup &&
           2 * G::kGroupSize == L::kTileDepth;
  } else {
    return false;
  }
}
}  // namespace detail

template <QuantScheme Scheme, Granularity Gran, class Layout>
requires PackLayoutFor<Layout, Scheme>
class PackedMatrix {
  static_assert(Gran::kKind != GranularityKind::kPerGroup ||
                    Gran::kGroupSize % Layout::kTileDepth == 0 ||
                    detail::half_block_groups<Layout, Gran>(),
                "PackedMatrix: PerGroup<G>: G must be a multiple of Layout::kTileDepth (or, for "
                "Interleaved, half of it)");

 public:
  using scheme_type = Scheme;
  using granularity_type = Gran;
  using layout_type = Layout;
  using Params = typename Scheme::Params;
  using RowParams = typename detail::RowParamsOf<Scheme>::type;
  static constexpr bool kHasRowParams = detail::HasRowParams<Scheme>;

  PackedMatrix() = default;
  /// Zero-filled codes and value-initialised parameters for a rows × cols matrix.
  PackedMatrix(Index rows, Index cols)
      : rows_(rows),
        cols_(cols),
        codes_(check_shape(rows, cols) ? Layout::template packed_bytes<Scheme>(rows, cols) : 0),
        params_(detail::layout_param_count<Layout, Gran>(rows, cols)),
        row_params_(kHasRowParams ? rows : 0) {}
  PackedMatrix(PackedMatrix&&) noexcept = default;
  PackedMatrix& operator=(PackedMatrix&&) noexcept = default;

  /// An explicit deep copy (copies are never implicit: weights are large).
  PackedMatrix clone() const {
    PackedMatrix m;
    m.rows_ = rows_;
    m.cols_ = cols_;
    m.codes_ = codes_.clone();
    m.params_ = params_.clone();
    m.row_params_ = row_params_.clone();
    return m;
  }

  Index rows() const noexcept { return rows_; }
  Index cols() const noexcept { return cols_; }
  bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }

  std::span<std::byte> codes() noexcept { return codes_.span(); }
  std::span<const std::byte> codes() const noexcept { return codes_.span(); }
  std::span<Params> params() noexcept { return params_.span(); }
  std::span<const Params> params() const noexcept { return params_.span(); }

  /// The per-row parameters (schemes with RowParams; empty otherwise).
  std::span<RowParams> row_params() noexcept { return row_params_.span(); }
  std::span<const RowParams> row_params() const noexcept { return row_params_.span(); }

  /// Index into params() of the group holding weight (r, k) (the layout decides the order).
  Index param_slot(Index r, Index k) const noexcept {
    return detail::layout_param_index<Layout, Gran>(r, k, cols_);
  }
  /// Parameters of the group holding weight (r, k).
  const Params& params_at(Index r, Index k) const noexcept {
    return params_[detail::layout_param_index<Layout, Gran>(r, k, cols_)];
  }
  /// Code of weight (r, k), through the layout's scalar accessor.
  std::uint32_t code(Index r, Index k) const noexcept {
    return Layout::template load_code<Scheme>(codes(), rows_, cols_, r, k);
  }
  /// Sets the code of (r, k). Throws only where the layout cannot hold the result (Sparse34:
  /// a group of 4 that would stop being a 3:4 pattern).
  void set_code(Index r, Index k, std::uint32_t c) {
    Layout::template store_code<Scheme>(codes(), rows_, cols_, r, k, c);
  }

  /// Storage in bits per weight, parameters included (their information bits, Scheme::kParamBits).
  double bits_per_weight() const noexcept {
    if (empty()) return 0.0;
    const double n = static_cast<double>(rows_) * static_cast<double>(cols_);
    // Code bits per weight: the scheme's width, unless the layout packs codes more densely
    // (Base3x5: 8/5); row padding is not counted, in either case.
    double code_bits = Scheme::kCodeBits;
    if constexpr (requires { Layout::kCodeBitsPerWeight; }) code_bits = Layout::kCodeBitsPerWeight;
    double row_bits = 0.0;
    if constexpr (kHasRowParams) row_bits = static_cast<double>(rows_) * Scheme::kRowParamBits / n;
    return code_bits +
           static_cast<double>(Gran::param_count(rows_, cols_)) * Scheme::kParamBits / n + row_bits;
  }

  static std::string type_name() {
    return Scheme::name() + "/" + Gran::name() + "/" + std::string(Layout::name());
  }

 private:
  static bool check_shape(Index rows, Index cols) {
    if (rows < 0 || cols < 0) detail::fail("PackedMatrix: negative shape ", rows, " x ", cols);
    detail::checked_mul(rows, cols, "PackedMatrix");
    return true;
  }

  Index rows_ = 0;
  Index cols_ = 0;
  AlignedBuffer<std::byte> codes_;
  AlignedBuffer<Params> params_;
  AlignedBuffer<RowParams> row_params_;
};

namespace detail {
template <class T>
struct IsPackedMatrix : std::false_type {};
template <class S, class G, class L>
struct IsPackedMatrix<PackedMatrix<S, G, L>> : std::true_type {};
}  // namespace detail

/// A quantized weight matrix: some PackedMatrix<Scheme, Granularity, Layout>. The GEMM/GEMV entry
/// points take only these, so passing a std::vector or an Eigen matrix fails with this name.
template <class W>
concept PackedWeights = detail::IsPackedMatrix<std::remove_cvref_t<W>>::value;

}  // namespace lowbit
