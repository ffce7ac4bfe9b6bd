// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/vec_ops.hpp: VectorOps, the operations a vector struct must provide for the
// lane-tiled micro-kernels (kernels/interleaved_tile.hpp), so a port to a new ISA is told what
// is missing by name, at its definition, not by an error deep inside a kernel template.
//
// A vector struct is a set of static functions on one integer register type I (kLanes int32
// lanes: one tile row each) and one float register type F (kLanes floats). The kernels decode
// codes with byte and 16-bit shifts and masks, multiply unsigned bytes by signed bytes into
// int32 (dpbusd when kVnni, maddubs + madd16 otherwise), convert to float and fold scales in with
// fmadd, in the reference's order of roundings (`rounded` keeps a product from being fused).
// Each struct in kernels/x86/vec_x86.hpp (Vec128, Vec256, Vec512) and kernels/arm/vec_neon.hpp
// (VecNeon) is checked against this concept beside its definition.
#pragma once

#include <concepts>
#include <cstdint>

#include "lowbit/core/types.hpp"

namespace lowbit::kernels {

/// Byte products without a dot-product instruction (kVnni false): u8·s8 pairs into int16
/// (maddubs), int16 sums (add16), int16 pairs into int32 (madd16).
template <class V>
concept PairwiseProducts = requires(typename V::I a, typename V::I b) {
  { V::maddubs(a, b) } -> std::same_as<typename V::I>;
  { V::add16(a, b) } -> std::same_as<typename V::I>;
  { V::madd16(a, b) } -> std::same_as<typename V::I>;
};

template <class V>
concept VectorOps = (V::kVnni || PairwiseProducts<V>)&&requires(
    typename V::I a, typename V::I b, typename V::I c, typename V::F x, typename V::F y,
    typename V::F z, typename V::F& xr, typename V::F& yr, const void* p, void* q, float* fp,
    const float* cfp, const f16* hp, const bf16* bp, const std::uint32_t* table, int n,
    std::int32_t v, float f) {
  { V::kLanes } -> std::convertible_to<int>;
  { V::kVnni } -> std::convertible_to<bool>;
  // integer registers: memory and constants
  { V::load(p) } -> std::same_as<typename V::I>;
  V::store(q, a);
  { V::bcast32(p) } -> std::same_as<typename V::I>;
  { V::set1_8(n) } -> std::same_as<typename V::I>;
  { V::set1_16(n) } -> std::same_as<typename V::I>;
  { V::set1_32(v) } -> std::same_as<typename V::I>;
  { V::zero() } -> std::same_as<typename V::I>;
  // bits and bytes
  { V::and_(a, b) } -> std::same_as<typename V::I>;
  { V::or_(a, b) } -> std::same_as<typename V::I>;
  { V::bitselect(a, b, c) } -> std::same_as<typename V::I>;
  { V::template srli16<4>(a) } -> std::same_as<typename V::I>;
  { V::template slli16<4>(a) } -> std::same_as<typename V::I>;
  { V::template srli32<4>(a) } -> std::same_as<typename V::I>;
  { V::template srai32<4>(a) } -> std::same_as<typename V::I>;
  { V::template slli32<4>(a) } -> std::same_as<typename V::I>;
  { V::add8(a, b) } -> std::same_as<typename V::I>;
  { V::subs_u8(a, b) } -> std::same_as<typename V::I>;
  { V::min_u8(a, b) } -> std::same_as<typename V::I>;
  { V::lut32(a, table) } -> std::same_as<typename V::I>;
  // integer products and sums (dpbusd: four u8·s8 products into each int32 lane, the whole
  // product when kVnni; PairwiseProducts otherwise)
  { V::add32(a, b) } -> std::same_as<typename V::I>;
  { V::sub32(a, b) } -> std::same_as<typename V::I>;
  { V::mullo32(a, b) } -> std::same_as<typename V::I>;
  { V::dpbusd(a, b, c) } -> std::same_as<typename V::I>;
  // floats
  { V::cvt(a) } -> std::same_as<typename V::F>;
  { V::fzero() } -> std::same_as<typename V::F>;
  { V::fset1(f) } -> std::same_as<typename V::F>;
  { V::fload(cfp) } -> std::same_as<typename V::F>;
  V::fstore(fp, x);
  { V::fadd(x, y) } -> std::same_as<typename V::F>;
  { V::fsub(x, y) } -> std::same_as<typename V::F>;
  { V::fmul(x, y) } -> std::same_as<typename V::F>;
  { V::fmadd(x, y, z) } -> std::same_as<typename V::F>;
  { V::rounded(x) } -> std::same_as<typename V::F>;
  // scales and offsets in their storage types
  { V::load_f16(hp) } -> std::same_as<typename V::F>;
  { V::load_bf16(bp) } -> std::same_as<typename V::F>;
  V::load_f16_pairs(hp, xr, yr);
  V::load_f32_pairs(cfp, xr, yr);
};

}  // namespace lowbit::kernels
