// SPDX-License-Identifier: Apache-2.0
// lowbit/formats/ggml/schemes.hpp: llama.cpp's block types as lowbit schemes, so lowbit's kernels
// run on the weights of people's GGUF files without requantizing them.
//
// Every ggml block type is, per group of 16, 32 or 256 values, scale·level (+ offset) with an
// integer level (ggml::detail::BlockFields). That is exactly one of lowbit's schemes with the
// level as its code (minus the scheme's constant), the group's scale, and its offset:
//
//   ggml type  lowbit scheme                          group  code          lossless because
//   Q8_0       Symmetric<8, kSignedMax, f16>          32     q + 128       d is fp16
//   Q4_0       Symmetric<4, kSignedMax, f16>          32     q (level q-8)
//   Q5_0       Symmetric<5, kSignedMax, f16>          32     q
//   Q4_1       Asymmetric<4, kFloatMin, f16>          32     q             d and m are fp16
//   Q5_1       Asymmetric<5, kFloatMin, f16>          32     q
//   IQ4_NL     Symmetric<8, kSignedMax, f16>          32     K[q] + 128    K ⊂ [-127, 113]
//   MXFP4      Symmetric<5, kSignedMax, float>        32     F[q] + 16     2^(e-128) is a float
//   Q4_K       Asymmetric<4, kFloatMin, float>        32     q             d·sc, dmin·m exact
//   Q5_K       Asymmetric<5, kFloatMin, float>        32     q             in fp32 (≤ 17 bits)
//   Q2_K       Asymmetric<2, kFloatMin, float>        16     q
//   Q3_K       Symmetric<3, kSignedMax, float>        16     q3 (level q3-4)
//   Q6_K       Symmetric<6, kSignedMax, float>        16     q (level q-32)  d·sc: ≤ 19 bits
//   TQ1_0      Ternary<f16>                           256    t
//   TQ2_0      Ternary<f16>                           256    c (c = 3, 2·d, is not ternary:
//                                                            an Error)
//
// Decoding is bit-identical to ggml's dequantize_row_<type>, signed zeros included: lowbit's
// symmetric and ternary decode is s·(code - constant), one product, as ggml's; its float-min
// decode is fma(s, q, m), and s·q is exact here (≤ 11 + 8 + 6 significant bits < 24), so the fma
// rounds once where ggml rounds an exact product and then the sum: the same float.
// (tests/io/test_ggml_schemes.cpp checks every value of blocks that ggml itself made.)
//
// Kernels: every type repacks to Interleaved<NR, 32> and runs every kernel (gemm, gemm_f32,
// gemm_zp; int8 or float activations) at the speeds of lowbit's own schemes of the same width
// and group; the 16-value sub-blocks of Q2_K, Q3_K and Q6_K are groups of half a kernel block,
// which Interleaved's kernels finish in the middle of the block.
//
// to_ggml writes a Plain matrix of the scheme of Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, TQ1_0 or TQ2_0
// back as ggml blocks (from any lowbit quantizer: clip search, GPTQ, …), so llama.cpp runs
// lowbit's fits; ternarize_to_ggml puts lowbit's ternarization in front of the TQ formats.
#pragma once

#include <cstring>
#include <span>
#include <vector>

#include "lowbit/calib/ternary_threshold.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/formats/ggml/blocks.hpp"
#include "lowbit/pack/interleaved.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/plain.hpp"
#include "lowbit/quant/asymmetric.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/quant/symmetric.hpp"
#include "lowbit/quant/ternary.hpp"

namespace lowbit::ggml {

/// The lowbit scheme and group of ggml type T (the table above); no specialization for the
/// types without blocks (F32, F16, BF16).
template <Type T>
struct SchemeOf;

namespace detail {
template <int B, class ScaleT>
using SignedMax = Symmetric<B, SymmetricConvention::kSignedMax, ScaleT>;
template <int B, class ScaleT>
using FloatMin = Asymmetric<B, AsymmetricOffset::kFloatMin, ScaleT>;
template <class S, int G>
struct SchemeFacts {
  using Scheme = S;
  static constexpr int kGroup = G;
};
}  // namespace detail

template <>
struct SchemeOf<Type::Q8_0> : detail::SchemeFacts<detail::SignedMax<8, f16>, 32> {};
template <>
struct SchemeOf<Type::Q4_0> : detail::SchemeFacts<detail::SignedMax<4, f16>, 32> {};
template <>
struct SchemeOf<Type::Q5_0> : detail::SchemeFacts<detail::SignedMax<5, f16>, 32> {};
template <>
struct SchemeOf<Type::Q4_1> : detail::SchemeFacts<detail::FloatMin<4, f16>, 32> {};
template <>
struct SchemeOf<Type::Q5_1> : detail::SchemeFacts<detail::FloatMin<5, f16>, 32> {};
template <>
struct SchemeOf<Type::IQ4_NL> : detail::SchemeFacts<detail::SignedMax<8, f16>, 32> {};
template <>
struct SchemeOf<Type::MXFP4> : detail::SchemeFacts<detail::SignedMax<5, float>, 32> {};
template <>
struct SchemeOf<Type::Q2_K> : detail::SchemeFacts<detail::FloatMin<2, float>, 16> {};
template <>
struct SchemeOf<Type::Q3_K> : detail::SchemeFacts<detail::SignedMax<3, float>, 16> {};
template <>
struct SchemeOf<Type::Q4_K> : detail::SchemeFacts<detail::FloatMin<4, float>, 32> {};
template <>
struct SchemeOf<Type::Q5_K> : detail::SchemeFacts<detail::FloatMin<5, float>, 32> {};
template <>
struct SchemeOf<Type::Q6_K> : detail::SchemeFacts<detail::SignedMax<6, float>, 16> {};
template <>
struct SchemeOf<Type::TQ1_0> : detail::SchemeFacts<Ternary<f16>, 256> {};
template <>
struct SchemeOf<Type::TQ2_0> : detail::SchemeFacts<Ternary<f16>, 256> {};

/// The canonical (Plain) matrix of ggml type T.
template <Type T>
using PackedOf = PackedMatrix<typename SchemeOf<T>::Scheme, PerGroup<SchemeOf<T>::kGroup>, Plain>;

/// The kernel matrix of ggml type T: Interleaved<NR, 32> tiles (NR 16 for AVX-512, 8 for AVX2).
template <Type T, int NR = 16>
using KernelOf =
    PackedMatrix<typename SchemeOf<T>::Scheme, PerGroup<SchemeOf<T>::kGroup>, Interleaved<NR, 32>>;

namespace detail {

/// code = level + the scheme's constant (the code of level 0).
template <class S>
constexpr int level_bias() {
  if constexpr (requires { S::kOffset; }) {
    return S::kOffset;  // Symmetric, Ternary
  } else {
    return 0;  // Asymmetric with a float min
  }
}

/// The bytes of a rows × cols tensor of type t (checked against size), per row.
inline Index checked_row_bytes(Type t, Index rows, Index cols, std::size_t size, const char* what) {
  const TypeInfo info = checked_codec(t, cols, what).info;
  if (rows < 0 || cols <= 0)
    lowbit::detail::fail(what, ": shape ", rows, " x ", cols, " is not a matrix");
  const Index row_bytes = cols / info.block * info.bytes;
  const Index total = lowbit::detail::checked_mul(rows, row_bytes, what);
  if (static_cast<std::size_t>(total) != size)
    lowbit::detail::fail(what, ": ", rows, " x ", cols, " ", info.name, " takes ", total,
                         " bytes, got ", size);
  return row_bytes;
}

}  // namespace detail

/// ggml blocks of type T (rows × cols values, row-major, as a GGUF tensor with ne0 = cols stores
/// them) as the lowbit matrix of the table above; every value decodes to ggml's, bit for bit.
/// Throws Error for a size or shape that does not match, a scale or min that is not finite
/// (named by row and block), and TQ2_0's code 3.
template <Type T>
PackedOf<T> to_packed(std::span<const std::byte> data, Index rows, Index cols) {
  using S = typename SchemeOf<T>::Scheme;
  using Scale = typename S::Scale;
  const Codec& codec = *find_codec(static_cast<std::uint32_t>(T));
  const TypeInfo info = codec.info;
  const Index row_bytes = detail::checked_row_bytes(T, rows, cols, data.size(), "ggml::to_packed");
  constexpr int kBias = detail::level_bias<S>();
  PackedOf<T> m(rows, cols);
  detail::BlockFields f;
  for (Index r = 0; r < rows; ++r) {
    for (Index b = 0; b < cols / info.block; ++b) {
      codec.fields(data.data() + r * row_bytes + b * info.bytes, f);
      const Index k0 = b * info.block;
      for (int g = 0; g < info.block / f.group; ++g) {
        if (!std::isfinite(f.scale[g]) || !std::isfinite(f.offset[g]))
          lowbit::detail::fail("ggml::to_packed: ", info.name, " block ", b, " of row ", r,
                               " has a scale or min that is not finite");
        typename S::Params p;
        if constexpr (requires { p.alpha; }) {
          p.alpha = ScaleStorage<Scale>::store(f.scale[g]);
        } else {
          p.scale = ScaleStorage<Scale>::store(f.scale[g]);
        }
        if constexpr (requires { p.min; }) p.min = ScaleStorage<Scale>::store(f.offset[g]);
        m.params()[static_cast<std::size_t>(m.param_slot(r, k0 + g * f.group))] = p;
      }
      for (int j = 0; j < info.block; ++j) {
        const int code = f.level[j] + kBias;
        if (code < static_cast<int>(S::kMinCode) || code > static_cast<int>(S::kMaxCode))
          lowbit::detail::fail("ggml::to_packed: ", info.name, " block ", b, " of row ", r,
                               " holds level ", f.level[j], ", which ", S::name(),
                               " cannot hold (codes ", S::kMinCode, "..", S::kMaxCode, ")");
        m.set_code(r, k0 + j, static_cast<std::uint32_t>(code));
      }
    }
  }
  return m;
}

/// The ggml blocks of a Plain matrix of type T's scheme and group, for T in Q8_0, Q4_0, Q5_0,
/// Q4_1, Q5_1, TQ1_0, TQ2_0 (rows × cols / block blocks, row-major): to_packed's inverse, byte
/// for byte. Any lowbit fit of that scheme is a valid block (codes and fp16 parameters are what
/// the block stores), so llama.cpp runs it. Throws Error if cols is not a multiple of the block.
template <Type T>
requires(T == Type::Q8_0 || T == Type::Q4_0 || T == Type::Q5_0 || T == Type::Q4_1 ||
         T == Type::Q5_1 || T == Type::TQ1_0 ||
         T == Type::TQ2_0) std::vector<std::byte> to_ggml(const PackedOf<T>& m) {
  using S = typename SchemeOf<T>::Scheme;
  const TypeInfo info = *type_info(static_cast<std::uint32_t>(T));
  const Index qk = info.block;
  if (m.cols() % qk != 0)
    lowbit::detail::fail("ggml::to_ggml: ", m.cols(), " columns are not whole ", info.name,
                         " blocks of ", qk);
  const Index blocks = m.cols() / qk;
  std::vector<std::byte> out(static_cast<std::size_t>(
      lowbit::detail::checked_mul(m.rows() * blocks, info.bytes, "ggml::to_ggml")));
  for (Index r = 0; r < m.rows(); ++r)
    for (Index b = 0; b < blocks; ++b) {
      std::byte* y = out.data() + (r * blocks + b) * info.bytes;
      const typename S::Params& p = m.params_at(r, qk * b);
      int q[256];
      for (Index j = 0; j < qk; ++j) q[j] = static_cast<int>(m.code(r, qk * b + j));
      if constexpr (T == Type::TQ1_0 || T == Type::TQ2_0) {
        detail::put_tq(T, q, p.alpha, y);  // code = trit
      } else if constexpr (T == Type::Q8_0) {
        detail::put_f16_bits(y, p.scale);
        for (int j = 0; j < 32; ++j) y[2 + j] = static_cast<std::byte>(q[j] ^ 0x80);  // code - 128
      } else {
        constexpr bool kMin = T == Type::Q4_1 || T == Type::Q5_1;
        detail::put_f16_bits(y, p.scale);
        if constexpr (kMin) detail::put_f16_bits(y + 2, p.min);
        detail::put_nibbles(q, y + (kMin ? 4 : 2), T == Type::Q5_0 || T == Type::Q5_1);
      }
    }
  return out;
}

/// TQ1_0 / TQ2_0 blocks of w (rows × cols, cols a multiple of 256) ternarized by lowbit first:
/// calib::ternarize<f16, PerGroup<256>>(w, method), then to_ggml. ggml's own TQ quantizer
/// (d = absmax, trits rint(x/d)) expects weights that are already ternary; on continuous ones
/// it zeroes almost everything (NMSE 0.65 on N(0,1), where TWN or the
/// optimal threshold give 0.19).
template <Type T>
requires(T == Type::TQ1_0 || T == Type::TQ2_0) std::vector<std::byte> ternarize_to_ggml(
    MatrixView<const float> w, calib::TernaryMethod method = calib::TernaryMethod::kOptimal) {
  if (w.cols() % 256 != 0)
    lowbit::detail::fail("ggml::ternarize_to_ggml: ", w.cols(),
                         " columns are not whole blocks of 256");
  return to_ggml<T>(calib::ternarize<f16, PerGroup<256>>(w, method));
}

}  // namespace lowbit::ggml
