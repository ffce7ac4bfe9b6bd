// SPDX-License-Identifier: Apache-2.0
// lowbit/core/concepts.hpp: every public concept in one file.
//
// # The three axes of a packed weight matrix
// PackedMatrix<Scheme, Granularity, Layout> composes three independent policies:
//   - a *scheme* knows value math only: what a code means given its parameters (`decode`), how
//     to pick a code for a value (`encode`), and how to fit parameters to a group of values;
//   - a *granularity* says which weights share one parameter set (a group): the whole tensor,
//     one output row (channel), or G consecutive inputs of one row;
//   - a *layout* knows bytes only: where the code of weight (r, k) lives.
// Codes are unsigned integers of Scheme::kCodeBits bits; what an unsigned code means (offset,
// zero point, sign) is the scheme's business. Layouts never look at values.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "lowbit/core/types.hpp"

namespace lowbit {

/// How parameters are shared; persisted in io/ files, so the values never change.
enum class GranularityKind : std::uint8_t { kPerTensor = 0, kPerChannel = 1, kPerGroup = 2 };

/// Identity of a scheme in io/ files: family, code bits, variant (convention or offset kind) and
/// the storage type of its float parameters. Values are persisted and never change.
struct SchemeDescriptor {
  std::uint8_t family = 0;
  std::uint8_t bits = 0;
  std::uint8_t variant = 0;
  std::uint8_t scale_storage = 0;
  friend constexpr bool operator==(const SchemeDescriptor&, const SchemeDescriptor&) = default;
};

/// Min, max and the signed value of largest magnitude (first one on ties) of a group, and
/// whether every value was finite (when not, the other fields are meaningless).
struct RangeStats {
  float min = 0.0f;
  float max = 0.0f;
  float signed_absmax = 0.0f;
  bool finite = true;
};

/// Any quantization scheme: code width, a parameter struct, a stable name and io identity.
template <class S>
concept QuantScheme = requires {
  { S::kCodeBits } -> std::convertible_to<int>;
  { S::kParamBits } -> std::convertible_to<int>;  // information bits per parameter set (for bpw)
  typename S::Params;
  { S::name() } -> std::convertible_to<std::string>;
  { S::descriptor() } -> std::same_as<SchemeDescriptor>;
};

/// A scheme that codes each weight on its own: encode one float, decode one code.
template <class S>
concept ElementwiseScheme = QuantScheme<S> &&
    requires(float x, typename S::Code c, const typename S::Params& p) {
  typename S::Code;
  { S::encode(x, p) } -> std::same_as<typename S::Code>;
  { S::decode(c, p) } -> std::same_as<float>;
};

/// A scheme that codes a group as a whole (the bit-shift trellis, quant/conv_code.hpp): a
/// weight's value depends on its neighbours' codes too, so decoding runs group by group.
/// Schemes with per-row parameters (CCQ) take them as decode_group's second argument.
template <class S>
concept SequenceScheme = QuantScheme<S> && requires(Index n) {
  S::check_group(n);
} &&(
    requires(std::span<const std::uint8_t> codes, const typename S::Params& p,
             std::span<float> out) { S::decode_group(codes, p, out); } ||
    requires(std::span<const std::uint8_t> codes, const typename S::RowParams& rp,
             const typename S::Params& p,
             std::span<float> out) { S::decode_group(codes, rp, p, out); });

/// An elementwise scheme whose parameters can be fitted to a group: a one-parameter family of
/// ranges (clip ratio in (0, 1], 1 = min/max) and a least-squares refit for fixed codes.
template <class S>
concept RangeFitScheme = ElementwiseScheme<S> &&
    requires(const RangeStats& st, float clip, std::span<const float> x, std::span<const float> w,
             std::span<const typename S::Code> codes, const typename S::Params& p) {
  { S::fit_range(st, clip) } -> std::same_as<typename S::Params>;
  { S::refit(x, w, codes, p) } -> std::same_as<typename S::Params>;
  { S::params_finite(p) } -> std::same_as<bool>;
};

/// A scheme whose parameters io/ can persist: fixed byte size, explicit little-endian encoding
/// and a validator that names what is wrong (nullptr when the parameters are acceptable).
template <class S>
concept SerializableScheme = QuantScheme<S> &&
    requires(const typename S::Params& p, std::byte* out, const std::byte* in) {
  { S::kParamBytes } -> std::convertible_to<int>;
  S::write_params(p, out);
  { S::read_params(in) } -> std::same_as<typename S::Params>;
  { S::check_params(p) } -> std::same_as<const char*>;
};

/// Which weights share a parameter set. Groups run along k (the input dimension) within a row,
/// except PerTensor, whose one group is the whole matrix.
template <class G>
concept Granularity = requires(Index rows, Index cols, Index r, Index k) {
  { G::kKind } -> std::convertible_to<GranularityKind>;
  { G::kGroupSize } -> std::convertible_to<Index>;  // PerGroup: G; PerTensor/PerChannel: 0
  { G::name() } -> std::convertible_to<std::string>;
  { G::param_count(rows, cols) } -> std::same_as<Index>;
  { G::param_index(r, k, cols) } -> std::same_as<Index>;
  { G::group_cols(cols) } -> std::same_as<Index>;  // columns of one group within one row
};

/// A byte layout able to hold the codes of scheme S: its size, its tile geometry, and the scalar
/// accessors that define it (every SIMD unpacker must agree with them bit for bit).
template <class L, class S>
concept PackLayoutFor = QuantScheme<S> &&
    requires(Index rows, Index cols, Index r, Index k, std::span<std::byte> out,
             std::span<const std::byte> in, std::uint32_t code) {
  { L::template packed_bytes<S>(rows, cols) } -> std::same_as<Index>;
  { L::kTileRows } -> std::convertible_to<Index>;
  { L::kTileDepth } -> std::convertible_to<Index>;
  { L::name() } -> std::convertible_to<std::string_view>;
  { L::template load_code<S>(in, rows, cols, r, k) } -> std::same_as<std::uint32_t>;
  L::template store_code<S>(out, rows, cols, r, k, code);
};

}  // namespace lowbit
