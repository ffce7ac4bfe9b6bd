// SPDX-License-Identifier: Apache-2.0
// lowbit/core/view.hpp: MatrixView and VectorView, non-owning strided views (gemmlowp MatrixMap).
//
// A MatrixView<T> is `rows × cols` elements, row-major, with a runtime row stride in elements.
// Rows may be padded (stride > cols). A read-only view (T const) may also use stride 0, which
// repeats one row for every row: that is how a per-column vector (an imatrix, say) is passed
// where a per-element matrix is expected. Writable views require stride >= cols, so no two
// elements alias. VectorView<T> is `size` elements with a runtime element increment.
#pragma once

#include <bit>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"

namespace lowbit {

template <class T>
class MatrixView {
 public:
  using element_type = T;

  constexpr MatrixView() = default;
  /// Views `rows × cols` elements at `data`, row r starting at data + r * stride.
  MatrixView(T* data, Index rows, Index cols, Index stride)
      : data_(data), rows_(rows), cols_(cols), stride_(stride) {
    if (rows < 0 || cols < 0) detail::fail("MatrixView: negative shape ", rows, " x ", cols);
    const bool broadcast_ok = std::is_const_v<T> && stride == 0;
    if (rows > 1 && stride < cols && !broadcast_ok) {
      detail::fail("MatrixView: stride ", stride, " is smaller than cols ", cols);
    }
    if (data == nullptr && rows > 0 && cols > 0)
      detail::fail("MatrixView: null data for a non-empty view");
  }
  /// A dense view (stride = cols).
  MatrixView(T* data, Index rows, Index cols) : MatrixView(data, rows, cols, cols) {}

  /// Read-only views convert implicitly from writable ones.
  template <class U>
  requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>) constexpr MatrixView(
      const MatrixView<U>& other) noexcept  // NOLINT(google-explicit-constructor)
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()), stride_(other.stride()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr Index rows() const noexcept { return rows_; }
  constexpr Index cols() const noexcept { return cols_; }
  constexpr Index stride() const noexcept { return stride_; }
  constexpr bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }
  constexpr T* row_ptr(Index r) const noexcept { return data_ + r * stride_; }
  constexpr std::span<T> row(Index r) const noexcept {
    return std::span<T>(row_ptr(r), static_cast<std::size_t>(cols_));
  }
  constexpr T& operator()(Index r, Index c) const noexcept { return data_[r * stride_ + c]; }
  /// Rows [r0, r0 + n) as a view sharing this view's stride.
  MatrixView block_rows(Index r0, Index n) const {
    if (r0 < 0 || n < 0 || r0 + n > rows_)
      detail::fail("MatrixView: rows [", r0, ", ", r0 + n, ") outside ", rows_);
    return MatrixView(n == 0 ? data_ : row_ptr(r0), n, cols_, stride_);
  }

 private:
  T* data_ = nullptr;
  Index rows_ = 0;
  Index cols_ = 0;
  Index stride_ = 0;
};

template <class T>
class VectorView {
 public:
  using element_type = T;

  constexpr VectorView() = default;
  /// Views `size` elements at data, data + inc, data + 2 * inc, ... (inc >= 1).
  VectorView(T* data, Index size, Index inc = 1) : data_(data), size_(size), inc_(inc) {
    if (size < 0) detail::fail("VectorView: negative size ", size);
    if (inc < 1) detail::fail("VectorView: increment ", inc, " must be >= 1");
    if (data == nullptr && size > 0) detail::fail("VectorView: null data for a non-empty view");
  }
  template <class U>
  requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>) constexpr VectorView(
      const VectorView<U>& other) noexcept  // NOLINT(google-explicit-constructor)
      : data_(other.data()), size_(other.size()), inc_(other.inc()) {}
  /// A contiguous span is a vector with increment 1.
  VectorView(std::span<T> s) : VectorView(s.data(), static_cast<Index>(s.size()), 1) {}  // NOLINT

  constexpr T* data() const noexcept { return data_; }
  constexpr Index size() const noexcept { return size_; }
  constexpr Index inc() const noexcept { return inc_; }
  constexpr bool contiguous() const noexcept { return inc_ == 1; }
  constexpr T& operator[](Index i) const noexcept { return data_[i * inc_]; }

 private:
  T* data_ = nullptr;
  Index size_ = 0;
  Index inc_ = 1;
};

/// The element types a weight matrix may come in: float, or the 16-bit storage types that
/// checkpoints hold (bf16, f16), widened exactly to float where they are read.
template <class T>
concept WeightElement = std::same_as<T, float> || std::same_as<T, bf16> || std::same_as<T, f16>;

namespace detail {
/// out[0, n) = in[0, n) widened to float, exactly. bf16 is the top half of a float (a shift, in
/// blocks of 16 with a fixed trip count, which GCC vectorises at -O2 as well as -O3); f16 goes
/// through vcvtph2ps, 8 at a time, where the target has F16C.
inline void widen(const float* in, Index n, float* out) noexcept {
  for (Index i = 0; i < n; ++i) out[i] = in[i];
}
inline void widen(const bf16* in, Index n, float* out) noexcept {
  Index i = 0;
  for (; i + 16 <= n; i += 16) {
    LOWBIT_UNROLL
    for (Index j = 0; j < 16; ++j)
      out[i + j] = std::bit_cast<float>(static_cast<std::uint32_t>(in[i + j].bits) << 16);
  }
  for (; i < n; ++i) out[i] = in[i].to_float();
}
inline void widen(const f16* in, Index n, float* out) noexcept {
  Index i = 0;
#if LOWBIT_HAS_F16C
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
#endif
  for (; i < n; ++i) out[i] = in[i].to_float();
}
}  // namespace detail

/// Widens every value of `in` to float into `out` (exact for f16 and bf16, NaN stays NaN).
/// Throws Error when the spans' lengths differ.
template <WeightElement T>
void to_float(std::span<const T> in, std::span<float> out) {
  if (in.size() != out.size())
    detail::fail("to_float: ", in.size(), " values in, room for ", out.size());
  detail::widen(in.data(), static_cast<Index>(in.size()), out.data());
}

namespace detail {
/// The first index of row[0, n) holding a NaN or ±Inf, or n. NaN and ±Inf are exactly the floats
/// whose exponent bits are all ones; an integer OR reduction over that test vectorises (a float
/// probe sum would be a serial dependency chain), and only a row that has one is searched.
inline Index first_non_finite(const float* row, Index n) noexcept {
  std::uint32_t bad = 0;
  for (Index k = 0; k < n; ++k)
    bad |= static_cast<std::uint32_t>((std::bit_cast<std::uint32_t>(row[k]) & 0x7f800000u) ==
                                      0x7f800000u);
  if (bad == 0) return n;
  Index k = 0;
  while (k < n && std::isfinite(row[k])) ++k;
  return k;
}
}  // namespace detail

/// Throws Error if x holds a NaN or ±Inf: "<what>: value nan at row 3, column 17 is not
/// finite" (`what` names the tensor or the argument, e.g. "tensor 'blk.0.attn_q.weight'").
/// Every entry point that takes floats from outside (quantizers, gemm_f32, the file readers'
/// callers) uses it, so a NaN is an error where it enters, never a NaN result. `first_row` is
/// added to the row it names, for callers that check a large tensor a slice at a time.
inline void check_finite(MatrixView<const float> x, std::string_view what, Index first_row = 0) {
  for (Index r = 0; r < x.rows(); ++r) {
    const float* row = x.row_ptr(r);
    const Index k = detail::first_non_finite(row, x.cols());
    if (k < x.cols())
      detail::fail(what, ": value ", row[k], " at row ", first_row + r, ", column ", k,
                   " is not finite");
  }
}

namespace detail {
/// check_finite for callers that name themselves: "<who>: weight (r, k) is nan, not finite".
inline void check_finite(MatrixView<const float> w, const char* who) {
  for (Index r = 0; r < w.rows(); ++r) {
    const Index k = first_non_finite(w.row_ptr(r), w.cols());
    if (k < w.cols()) fail(who, ": weight (", r, ", ", k, ") is ", w(r, k), ", not finite");
  }
}

/// A vector as a 1 × size matrix, for the GEMV entry points, which run the GEMM on one row:
/// "<who>: <name> must be contiguous (inc 1), got inc 2" for a strided one.
template <class T>
MatrixView<T> vector_as_row(VectorView<T> v, const char* who, const char* name) {
  if (!v.contiguous()) fail(who, ": ", name, " must be contiguous (inc 1), got inc ", v.inc());
  return MatrixView<T>(v.data(), 1, v.size());
}
}  // namespace detail

}  // namespace lowbit
