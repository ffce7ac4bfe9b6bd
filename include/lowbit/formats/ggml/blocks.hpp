// SPDX-License-Identifier: Apache-2.0
// lowbit/formats/ggml/blocks.hpp: llama.cpp's (ggml's) block formats, byte for byte: the type
// numbers GGUF files use, each block type's size, and reference quantizers and dequantizers that
// give exactly the bytes and floats of ggml's `quantize_row_<type>_ref` and
// `dequantize_row_<type>` (tests/io/test_ggml_blocks.cpp checks every block of vectors that ggml
// itself quantized and dequantized; the exactness rules are in common.hpp).
//
// One table, kCodecs, says for every type lowbit knows its name, block size and bytes, and the
// functions of its family file that quantize a block and read a block's fields (legacy.hpp,
// kquants.hpp, ternary.hpp, nonlinear.hpp); quantize_row, quantize_chunk, dequantize_row and
// type_info look the type up there once. Adding a type is one row and its family's two
// functions.
#pragma once

#include <cstring>
#include <optional>
#include <string>

#include "lowbit/core/error.hpp"
#include "lowbit/formats/ggml/common.hpp"
#include "lowbit/formats/ggml/kquants.hpp"
#include "lowbit/formats/ggml/legacy.hpp"
#include "lowbit/formats/ggml/nonlinear.hpp"
#include "lowbit/formats/ggml/ternary.hpp"

namespace lowbit::ggml {

/// A type's facts and, for a block type, its codec.
struct Codec {
  Type type;
  TypeInfo info;
  /// One block of info.block values into info.bytes bytes (nullptr: F32/F16/BF16, no blocks).
  void (*quantize)(const float* x, std::byte* y, detail::RowState& row) = nullptr;
  /// The block's scales, levels and offsets as the dequantizer reads them.
  void (*fields)(const std::byte* b, detail::BlockFields& f) noexcept = nullptr;
  /// llama-quantize's chunk path where it differs from quantize (IQ4_NL's scale search).
  void (*chunk)(const float* x, std::byte* y) = nullptr;
};

namespace detail {
inline void q8_0(const float* x, std::byte* y, RowState&) { quantize_q8_0(x, y); }
template <int Bits>
void q45_0(const float* x, std::byte* y, RowState&) {
  quantize_sym<Bits>(x, y);
}
template <int Bits>
void q45_1(const float* x, std::byte* y, RowState&) {
  quantize_asym<Bits>(x, y);
}
inline void q2_k(const float* x, std::byte* y, RowState&) { quantize_q2_k(x, y); }
inline void q3_k(const float* x, std::byte* y, RowState&) { quantize_q3_k(x, y); }
template <int Bits>
void q45_k(const float* x, std::byte* y, RowState&) {
  quantize_q45_k<Bits>(x, y);
}
inline void q6_k(const float* x, std::byte* y, RowState&) { quantize_q6_k(x, y); }
template <Type T>
void tq(const float* x, std::byte* y, RowState&) {
  quantize_tq(T, x, y);
}
inline void mxfp4(const float* x, std::byte* y, RowState&) { quantize_mxfp4(x, y); }
inline void iq4_nl(const float* x, std::byte* y, RowState& row) {
  quantize_iq4_nl(x, y, row.iq4_codes);
}
}  // namespace detail

/// Every type lowbit reads or writes.
inline constexpr Codec kCodecs[] = {
    {Type::F32, {"f32", 1, 4}},
    {Type::F16, {"f16", 1, 2}},
    {Type::BF16, {"bf16", 1, 2}},
    {Type::Q4_0, {"q4_0", 32, 18}, detail::q45_0<4>, detail::fields_q45<4, false>},
    {Type::Q4_1, {"q4_1", 32, 20}, detail::q45_1<4>, detail::fields_q45<4, true>},
    {Type::Q5_0, {"q5_0", 32, 22}, detail::q45_0<5>, detail::fields_q45<5, false>},
    {Type::Q5_1, {"q5_1", 32, 24}, detail::q45_1<5>, detail::fields_q45<5, true>},
    {Type::Q8_0, {"q8_0", 32, 34}, detail::q8_0, detail::fields_q8_0},
    {Type::Q2_K, {"q2_K", 256, 84}, detail::q2_k, detail::fields_q2_k},
    {Type::Q3_K, {"q3_K", 256, 110}, detail::q3_k, detail::fields_q3_k},
    {Type::Q4_K, {"q4_K", 256, 144}, detail::q45_k<4>, detail::fields_q45_k<4>},
    {Type::Q5_K, {"q5_K", 256, 176}, detail::q45_k<5>, detail::fields_q45_k<5>},
    {Type::Q6_K, {"q6_K", 256, 210}, detail::q6_k, detail::fields_q6_k},
    {Type::IQ4_NL,
     {"iq4_nl", 32, 18},
     detail::iq4_nl,
     detail::fields_nl<false>,
     detail::quantize_iq4_nl_search},
    {Type::TQ1_0, {"tq1_0", 256, 54}, detail::tq<Type::TQ1_0>, detail::fields_tq1_0},
    {Type::TQ2_0, {"tq2_0", 256, 66}, detail::tq<Type::TQ2_0>, detail::fields_tq2_0},
    {Type::MXFP4, {"mxfp4", 32, 17}, detail::mxfp4, detail::fields_nl<true>},
};

/// The row of type number t, or nullptr for a number lowbit does not know.
inline const Codec* find_codec(std::uint32_t t) noexcept {
  for (const Codec& c : kCodecs)
    if (static_cast<std::uint32_t>(c.type) == t) return &c;
  return nullptr;
}

/// The facts of type number t, or nothing for a number lowbit does not know.
inline std::optional<TypeInfo> type_info(std::uint32_t t) noexcept {
  const Codec* c = find_codec(t);
  if (c == nullptr) return std::nullopt;
  return c->info;
}

namespace detail {

/// The codec of t for n values; throws Error for a type without blocks here or a bad n.
inline const Codec& checked_codec(Type t, Index n, const char* what) {
  const Codec* c = find_codec(static_cast<std::uint32_t>(t));
  if (c == nullptr || c->quantize == nullptr)
    lowbit::detail::fail(what, ": ggml type ", static_cast<std::uint32_t>(t),
                         c ? " (" + std::string(c->info.name) + ")" : std::string(),
                         " has no block codec in lowbit");
  if (n < 0 || n % c->info.block != 0)
    lowbit::detail::fail(what, ": ", n, " values are not a whole number of ", c->info.name,
                         " blocks of ", c->info.block);
  return *c;
}

}  // namespace detail

/// ggml's quantize_row_<t>_ref: n values (a multiple of the block) into n / block blocks at
/// out (n / block · bytes bytes). Throws Error for a type without a codec here or a bad n.
inline void quantize_row(Type t, const float* x, Index n, std::byte* out) {
  const Codec& c = detail::checked_codec(t, n, "ggml::quantize_row");
  detail::RowState row;
  for (Index b = 0; b < n / c.info.block; ++b)
    c.quantize(x + b * c.info.block, out + b * c.info.bytes, row);
}

/// What llama-quantize writes without an importance matrix (ggml_quantize_chunk): quantize_row's
/// bytes for every type but IQ4_NL, whose chunk path searches 15 more scales per block
/// (detail::quantize_iq4_nl_search). n values (a multiple of the block) into n / block blocks.
inline void quantize_chunk(Type t, const float* x, Index n, std::byte* out) {
  const Codec& c = detail::checked_codec(t, n, "ggml::quantize_chunk");
  if (c.chunk == nullptr) {
    quantize_row(t, x, n, out);
    return;
  }
  for (Index b = 0; b < n / c.info.block; ++b)
    c.chunk(x + b * c.info.block, out + b * c.info.bytes);
}

/// A row of n floats as ggml stores it in type t: F32 as is, F16 and BF16 rounded to nearest
/// even, a block type as quantize_chunk writes it (what llama-quantize writes for that type).
inline void encode_row(Type t, const float* x, Index n, std::byte* out) {
  switch (t) {
    case Type::F32:
      std::memcpy(out, x, static_cast<std::size_t>(n) * 4);
      return;
    case Type::F16:
      for (Index j = 0; j < n; ++j) detail::put_f16(out + 2 * j, x[j]);
      return;
    case Type::BF16:
      for (Index j = 0; j < n; ++j) {
        const std::uint16_t b = bf16(x[j]).bits;
        std::memcpy(out + 2 * j, &b, 2);
      }
      return;
    default:
      quantize_chunk(t, x, n, out);
  }
}

/// ggml's dequantize_row_<t>: n / block blocks at in → n floats.
inline void dequantize_row(Type t, const std::byte* in, Index n, float* y) {
  const Codec& c = detail::checked_codec(t, n, "ggml::dequantize_row");
  detail::BlockFields f;
  for (Index b = 0; b < n / c.info.block; ++b) {
    c.fields(in + b * c.info.bytes, f);
    float* yb = y + b * c.info.block;
    for (Index j = 0; j < c.info.block; ++j) {
      const float p = f.scale[j / f.group] * static_cast<float>(f.level[j]);
      yb[j] = f.has_offset ? lowbit::detail::no_contract(p) + f.offset[j / f.group] : p;
    }
  }
}

}  // namespace lowbit::ggml
