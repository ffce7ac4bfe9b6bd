// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/interleaved_tile.hpp: the MR×NR micro-kernels on lane-tiled weights
// (Interleaved<NR, KB>, Trit5Tiles, Sparse34Tiles, BitPlanes), written once over a
// vector-operations struct V (kernels/vec_ops.hpp) and the layout's step codec, which its own
// header specifies (pack/step_codec.hpp).
//
// Requires: whatever V requires; NR a multiple of V::kLanes (NV = NR / kLanes vectors per tile).
// Tile:     NR weight rows × MR activation rows; one dot-4 step (4 columns) per instruction.
// Consumes: PackedMatrix<S, G, Interleaved<NR, KB>>, any AffineDecodeScheme with 1..8-bit codes;
//           activations packed step-major (MR int32 = 4 int8 codes each per step, see
//           gemm/driver.hpp; for MR = 1 that is the activation row itself).
// Reference: ref::gemm_int8 bit for bit (the integer path); ref::gemm within a stated relative
//           bound (the float path).
// Trick:    the layout puts 4 codes of one row in one 32-bit lane, so a broadcast of 4 activation
//           codes times a vector of codes is NR rows' partial dot products with no horizontal
//           reduction (vpmaddubsw → 16-bit sums, widened by vpmaddwd once per up to 8 steps; or
//           vpdpbusd); the group's scale, zero point and float accumulation then run NR rows per
//           vector instruction, in exactly the reference's per-row order.
//
// # Integer exactness
// Codes are unsigned (0 .. 2^B-1), activations signed with |q| <= 127 (never -128), so a
// vpmaddubsw pair sum is at most 2·(2^B-1)·127: for B <= 4 eight steps fit int16 (8·3810 =
// 30480 < 32767), for B = 5, 6, 7 four, two and one step. 8-bit codes would saturate a pair
// (2·255·127 > 32767), so without VNNI they are split into nibbles (Σc·q = 16·Σhi·q + Σlo·q).
// Group sums are int32: |Σ(c - sub)·q| <= 255·127·len, exact for len <= kMaxExactGroup (66,311
// columns; the entry points send longer groups (PerChannel/PerTensor rows) to the int64
// reference instead).
// # Float exactness
// The group's product float(idot)·scale is passed through V::rounded before it is added: GCC
// contracts a multiply and a later add into one FMA under its default -ffp-contract=fast, which
// would skip the reference's rounding of the product. With a scale per block of activations
// (TileArgs::xscale, ggml's q8_0 / q8_K precision) the group's term t is added as fma(t, s, acc),
// the reference's operation, one broadcast and one fma per group and activation row.
#pragma once

#if !defined(LOWBIT_KERNELS_SELECT_INCLUDED)
#error "internal header of lowbit/kernels/select.hpp: include lowbit/gemm/gemm.hpp"
#endif

#include <cstdint>
#include <type_traits>
#include <utility>

#include "lowbit/config.hpp"
#include "lowbit/core/static_for.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/pack/base3.hpp"
#include "lowbit/pack/bitplanes.hpp"
#include "lowbit/pack/interleaved.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/sparse34.hpp"
#include "lowbit/quant/asymmetric.hpp"
#include "lowbit/quant/common.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/quant/symmetric.hpp"
#include "lowbit/quant/ternary.hpp"

namespace lowbit::kernels {
// Software prefetch of the weight stream: LOWBIT_PREFETCH_BYTES ahead (config.hpp).

/// Whether groups of G are half a block of L (PackedMatrix allows it for Interleaved): the
/// micro-kernels then finish a group in the middle of each block.
template <class G, class L>
inline constexpr bool kHalfBlockGroups = lowbit::detail::half_block_groups<L, G>();

/// Longest group whose int32 dot product is exact for any code width (see the header).
inline constexpr Index kMaxExactGroup = 2147483647 / (255 * 127);

/// Prefetches the `Bytes`-byte block LOWBIT_PREFETCH_BYTES ahead of blk (one hint per line).
template <int Bytes>
LOWBIT_INLINE void prefetch_block(const std::byte* blk) {
  if constexpr (LOWBIT_PREFETCH_BYTES > 0) {
    for (int line = 0; line < Bytes; line += 64)
      __builtin_prefetch(blk + LOWBIT_PREFETCH_BYTES + line, 0, LOWBIT_PREFETCH_LOCALITY);
  }
}

/// Schemes whose parameter set is one scale, decoded as scale·(code - S::kOffset): Symmetric,
/// Ternary (kOffset 1).
template <class S>
struct SymmetricScale : std::false_type {};
template <int B, SymmetricConvention C, class T>
struct SymmetricScale<Symmetric<B, C, T>> : std::true_type {
  using ScaleT = T;
};
template <class T>
struct SymmetricScale<Ternary<T>> : std::true_type {
  using ScaleT = T;
};
/// Schemes whose parameter set is {scale, min}, decoded as scale·code + min (sub 0): Asymmetric
/// with a float min (ggml's Q4_1, Q5_1 and k-quants).
template <class S>
struct FloatMinPair : std::false_type {};
template <int B, class T>
struct FloatMinPair<Asymmetric<B, AsymmetricOffset::kFloatMin, T>> : std::true_type {
  using ScaleT = T;
};

/// NV vectors of V::kLanes scales of type T (float, f16 or bf16) from s.
template <class V, class T, int NV>
LOWBIT_INLINE void load_scales(const T* s, typename V::F* out) {
  LOWBIT_UNROLL
  for (int v = 0; v < NV; ++v) {
    if constexpr (std::is_same_v<T, float>) {
      out[v] = V::fload(s + v * V::kLanes);
    } else if constexpr (std::is_same_v<T, f16>) {
      out[v] = V::load_f16(s + v * V::kLanes);
    } else {
      out[v] = V::load_bf16(s + v * V::kLanes);
    }
  }
}

/// The affine decode constants of NR consecutive parameter sets, as vectors.
template <class V, AffineDecodeScheme S, Granularity G, int NV>
struct TileParams {
  typename V::F scale[NV];
  typename V::I sub[NV];
  typename V::F offset[NV];
  /// Symmetric schemes have no offset and one constant sub; their fma(0, xsum, p) is skipped:
  /// it returns p except for p = -0 with xsum >= 0 (giving +0), and the running sum, which
  /// starts at +0, is the same either way (+0 + -0 = +0), so y is unchanged bit for bit.
  static constexpr bool kSymmetric = SymmetricScale<S>::value;
  /// {scale, min} pairs: sub is 0, so callers skip it (x - 0·y is x, signed zeros included).
  static constexpr bool kNoSub = FloatMinPair<S>::value;

  LOWBIT_INLINE void load(const typename S::Params* p) {
    if constexpr (G::kKind == GranularityKind::kPerTensor) {
      const DecodeAffine d = S::decode_affine(p[0]);
      LOWBIT_UNROLL
      for (int v = 0; v < NV; ++v) {
        scale[v] = V::fset1(d.scale);
        sub[v] = V::set1_32(d.sub);
        offset[v] = V::fset1(d.offset);
      }
    } else if constexpr (kSymmetric) {
      using T = typename SymmetricScale<S>::ScaleT;
      static_assert(sizeof(typename S::Params) == sizeof(T));
      load_scales<V, T, NV>(reinterpret_cast<const T*>(p), scale);
    } else if constexpr (kNoSub) {
      using T = typename FloatMinPair<S>::ScaleT;
      static_assert(sizeof(typename S::Params) == 2 * sizeof(T));
      LOWBIT_UNROLL
      for (int v = 0; v < NV; ++v) {  // whole vectors of pairs, split in registers
        if constexpr (std::is_same_v<T, f16>) {
          V::load_f16_pairs(reinterpret_cast<const f16*>(p + v * V::kLanes), scale[v], offset[v]);
        } else if constexpr (std::is_same_v<T, float>) {
          V::load_f32_pairs(reinterpret_cast<const float*>(p + v * V::kLanes), scale[v], offset[v]);
        } else {
          alignas(64) T sc[V::kLanes], mn[V::kLanes];
          for (int i = 0; i < V::kLanes; ++i) {
            sc[i] = p[v * V::kLanes + i].scale;
            mn[i] = p[v * V::kLanes + i].min;
          }
          scale[v] = V::load_bf16(sc);
          offset[v] = V::load_bf16(mn);
        }
      }
    } else {
      alignas(64) float sc[NV * V::kLanes], of[NV * V::kLanes];
      alignas(64) std::int32_t sb[NV * V::kLanes];
      for (int i = 0; i < NV * V::kLanes; ++i) {
        const DecodeAffine d = S::decode_affine(p[i]);
        sc[i] = d.scale;
        sb[i] = d.sub;
        of[i] = d.offset;
      }
      LOWBIT_UNROLL
      for (int v = 0; v < NV; ++v) {
        scale[v] = V::fload(sc + v * V::kLanes);
        sub[v] = V::load(sb + v * V::kLanes);
        offset[v] = V::fload(of + v * V::kLanes);
      }
    }
  }
};

/// The unpack kernel: one (tile, block) of `Bits`-bit codes to bytes in lane order
/// (lanes[j·NR·4 + 4r + i] = code (r, 4j + i)), as the micro-kernels see them. Equal to
/// Interleaved<NR, KB>::unpack_block, its scalar reference.
template <class V, int Bits, int NR, int KB>
struct UnpackBlock {
  static_assert(NR % V::kLanes == 0, "UnpackBlock: NR must be a multiple of the vector's lanes");
  static void run(const std::byte* block, std::uint8_t* lanes) {
    static_for<KB / 4>([&](auto jj) {
      constexpr int J = jj.value;
      for (int v = 0; v < NR / V::kLanes; ++v)
        V::store(lanes + J * NR * 4 + v * V::kLanes * 4,
                 StepCodec<Interleaved<NR, KB>>::template decode<V, Bits, J>(block, v));
    });
  }
};

/// The "no mid-block call" of the micro-kernels' block loops (whole-block groups); a callable
/// rather than nullptr so the discarded call still parses under clang 14's nested lambdas.
struct NoMid {
  void operator()() const noexcept {}
};

/// Arguments of one micro-kernel call: one weight tile × one activation panel × a group range.
struct TileArgs {
  const std::byte* codes = nullptr;    // the tile's first block
  const void* params = nullptr;        // the tile's first parameter set
  const void* xs = nullptr;            // panel activations, step-major (int32 or float, see below)
  const std::int32_t* xsum = nullptr;  // int path: Σq per (group, m): xsum[g·MR + m]
  const float* xscale = nullptr;       // int path, per-block activation scales: xscale[g·MR + m]
                                       // (null: one scale per row, applied by the caller)
  Index g_begin = 0, g_end = 0;        // groups to process, in order
  Index group_blocks = 0;              // blocks per group (PerChannel/PerTensor: all)
  Index nblocks = 0;                   // blocks per tile row
  float* acc = nullptr;                // MR × NR running sums, acc[m·NR + r], read and written
};

/// The integer micro-kernel: int8 activations (xs: MR int32 per step; step s of the panel is
/// xs[s·MR + m]), exact integer group sums, the reference's float operations per group.
template <class V, AffineDecodeScheme S, Granularity G, HasCodec L, int MR>
struct IntTile {
  // The micro-kernel interface: scheme, layout, tile shape and run() (the vector struct stands
  // for the ISA).
  using Scheme = S;
  using Layout = L;
  using Codec = StepCodec<L>;
  static constexpr int NR = static_cast<int>(L::kTileRows);
  static constexpr int KB = static_cast<int>(L::kTileDepth);
  static constexpr int kMR = MR;
  static constexpr int kNR = NR;
  static constexpr int NV = NR / V::kLanes;
  static constexpr int kBits = S::kCodeBits;
  static constexpr int kSteps = KB / 4;
  static_assert(NR % V::kLanes == 0, "IntTile: NR must be a multiple of the vector's lanes");
  // Steps per int16 flush (see the header): a power of two dividing 8; a block's last step also
  // flushes (Trit5Tiles<NR, 20> blocks have 5 steps).
  static constexpr int kFlush = kBits <= 4   ? 8
                                : kBits == 5 ? 4
                                : kBits == 6 ? 2
                                : kBits == 7 ? 1
                                             : 8;
  static constexpr bool kSplit8 = kBits == 8 && !V::kVnni;
  // Groups of half a block (PerGroup<KB / 2>: ggml's 16-value sub-blocks, Interleaved only).
  static constexpr bool kHalfGroups = kernels::kHalfBlockGroups<G, L>;
  // Shift-free slices (GEMV, VNNI, one plane of width w = 2 or 4): step t of a chunk is used
  // in place, masked but not shifted down, so its byte holds c·2^(t·w) (at most 240, still an
  // unsigned byte); each t gets its own accumulator, exactly 2^(t·w)·Σc·q, and the group's sum
  // is Σ_t (acc_t >> t·w) (arithmetic shifts of exact multiples). That saves one shift per step
  // (+4-6 % on an L2-resident GEMV, Zen 4). Each byte is at most 255, so |acc_t| stays under
  // 255·127·len < 2^31 for len <= kMaxExactGroup, as for the plain path.
  static constexpr bool kSlices = V::kVnni && MR == 1 && (kBits == 2 || kBits == 4) &&
                                  std::is_same_v<L, Interleaved<NR, KB>> && !kHalfGroups;
  static constexpr int kPerChunk = 8 / kBits;
  static constexpr int kBlockBytes = static_cast<int>(L::block_bytes(kBits));
  static constexpr int kUnit = Codec::kUnit;
  static_assert(kSteps % kUnit == 0);

  /// Σ c·q of blocks [b0, b1) for one activation row, by shift-free slices (kSlices above).
  static LOWBIT_INLINE void run_slices(const TileArgs& a, const std::int32_t* xs, Index b0,
                                       Index b1, typename V::I* iacc) {
    using I = typename V::I;
    I acc[kPerChunk][NV];
    LOWBIT_UNROLL
    for (int t = 0; t < kPerChunk; ++t) LOWBIT_UNROLL
    for (int v = 0; v < NV; ++v) acc[t][v] = V::zero();
    for (Index b = b0; b < b1; ++b) {
      const std::byte* blk = a.codes + b * kBlockBytes;
      const std::int32_t* xb = xs + b * kSteps;
      prefetch_block<kBlockBytes>(blk);
      static_for<kSteps / kPerChunk>([&](auto cc) {
        constexpr int C = cc.value;
        LOWBIT_UNROLL
        for (int v = 0; v < NV; ++v) {
          const I raw = V::load(blk + C * L::kLaneBytes + v * V::kLanes * 4);
          static_for<kPerChunk>([&](auto tt) {
            constexpr int T = tt.value;
            constexpr unsigned mask = ((1u << kBits) - 1u) << (T * kBits);
            const I x = V::bcast32(xb + C * kPerChunk + T);
            acc[T][v] = V::dpbusd(acc[T][v], V::and_(raw, V::set1_8(static_cast<int>(mask))), x);
          });
        }
      });
    }
    LOWBIT_UNROLL
    for (int v = 0; v < NV; ++v) {
      I sum = acc[0][v];
      static_for<kPerChunk - 1>([&](auto tt) {
        constexpr int T = tt.value + 1;
        sum = V::add32(sum, V::template srai32<T * kBits>(acc[T][v]));
      });
      iacc[v] = sum;
    }
  }

  static void run(const TileArgs& a) {
    using I = typename V::I;
    using F = typename V::F;
    using Acc = I[MR][NV];
    const auto* xs = static_cast<const std::int32_t*>(a.xs);
    const auto* params = static_cast<const typename S::Params*>(a.params);
    const I ones = V::set1_16(1);
    const I sixteen = V::set1_16(16);
    const I low4 = V::set1_8(0x0f);
    F facc[MR][NV];
    LOWBIT_UNROLL
    for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
    for (int v = 0; v < NV; ++v) facc[m][v] = V::fload(a.acc + m * NR + v * V::kLanes);
    TileParams<V, S, G, NV> tp;
    auto zero = [](Acc& iacc) {
      LOWBIT_UNROLL
      for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
      for (int v = 0; v < NV; ++v) iacc[m][v] = V::zero();
    };
    // Σ c·q of block b into iacc; with kMid, mid() runs after the first half of its steps
    // (groups of half a block: the int16 partial sums are flushed there first).
    auto block = [&](Index b, Acc& iacc, auto&& mid) {
      constexpr bool kMid = !std::is_same_v<std::decay_t<decltype(mid)>, NoMid>;
      const std::byte* blk = a.codes + b * kBlockBytes;
      const std::int32_t* xb = xs + b * kSteps * MR;
      prefetch_block<kBlockBytes>(blk);
      I s16[MR][NV], h16[MR][NV];
      static_for<kSteps / kUnit>([&](auto uu) {
        constexpr int U = uu.value;
        typename Codec::template State<V> st[NV];
        LOWBIT_UNROLL
        for (int v = 0; v < NV; ++v) st[v] = Codec::template begin<V, kBits, U>(blk, v);
        static_for<kUnit>([&](auto tt) {
          constexpr int J = U * Codec::kUnit + tt.value;
          if constexpr (!V::kVnni && (J % kFlush == 0 || (kMid && J == kSteps / 2))) {
            LOWBIT_UNROLL
            for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
            for (int v = 0; v < NV; ++v) {
              s16[m][v] = V::zero();
              if constexpr (kSplit8) h16[m][v] = V::zero();
            }
          }
          I c[NV];
          LOWBIT_UNROLL
          for (int v = 0; v < NV; ++v) c[v] = Codec::template step<V, kBits, U, tt.value>(st[v]);
          LOWBIT_UNROLL
          for (int m = 0; m < MR; ++m) {
            const I x = V::bcast32(xb + J * MR + m);
            LOWBIT_UNROLL
            for (int v = 0; v < NV; ++v) {
              if constexpr (V::kVnni) {
                iacc[m][v] = V::dpbusd(iacc[m][v], c[v], x);
              } else if constexpr (kSplit8) {
                s16[m][v] = V::add16(s16[m][v], V::maddubs(V::and_(c[v], low4), x));
                h16[m][v] =
                    V::add16(h16[m][v], V::maddubs(V::and_(V::template srli16<4>(c[v]), low4), x));
              } else {
                s16[m][v] = V::add16(s16[m][v], V::maddubs(c[v], x));
              }
            }
          }
          if constexpr (!V::kVnni && ((J + 1) % kFlush == 0 || J + 1 == kSteps ||
                                      (kMid && J + 1 == kSteps / 2))) {
            LOWBIT_UNROLL
            for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
            for (int v = 0; v < NV; ++v) {
              iacc[m][v] = V::add32(iacc[m][v], V::madd16(s16[m][v], ones));
              if constexpr (kSplit8)
                iacc[m][v] = V::add32(iacc[m][v], V::madd16(h16[m][v], sixteen));
            }
          }
          if constexpr (kMid && J + 1 == kSteps / 2) mid();
        });
      });
    };
    // The group's float operations: the reference's, NR rows per vector.
    auto finish = [&](Index g, const Acc& iacc) {
      const Index pslot = G::kKind == GranularityKind::kPerGroup ? g * NR : 0;
      tp.load(params + pslot);
      LOWBIT_UNROLL
      for (int m = 0; m < MR; ++m) {
        const std::int32_t xsum = a.xsum[g * MR + m];
        const F xsf = V::fset1(static_cast<float>(xsum));
        LOWBIT_UNROLL
        for (int v = 0; v < NV; ++v) {
          I idot;
          if constexpr (TileParams<V, S, G, NV>::kSymmetric) {
            idot = V::sub32(iacc[m][v], V::set1_32(xsum * S::kOffset));
          } else if constexpr (TileParams<V, S, G, NV>::kNoSub) {
            idot = iacc[m][v];
          } else {
            idot = V::sub32(iacc[m][v], V::mullo32(tp.sub[v], V::set1_32(xsum)));
          }
          const F p = V::rounded(V::fmul(V::cvt(idot), tp.scale[v]));
          F t = p;
          if constexpr (!TileParams<V, S, G, NV>::kSymmetric) t = V::fmadd(tp.offset[v], xsf, p);
          facc[m][v] = a.xscale != nullptr ? V::fmadd(t, V::fset1(a.xscale[g * MR + m]), facc[m][v])
                                           : V::fadd(facc[m][v], t);
        }
      }
    };
    if constexpr (kHalfGroups) {
      // Groups 2b and 2b + 1 share block b (a.g_begin is even; a last, odd group leaves the
      // block's second half zero-padded, its codes and activations both zero).
      for (Index b = a.g_begin / 2; 2 * b < a.g_end; ++b) {
        Acc iacc;
        zero(iacc);
        block(b, iacc, [&] {
          finish(2 * b, iacc);
          zero(iacc);
        });
        if (2 * b + 1 < a.g_end) finish(2 * b + 1, iacc);
      }
    } else {
      for (Index g = a.g_begin; g < a.g_end; ++g) {
        const Index b0 = g * a.group_blocks;
        const Index b1 = b0 + a.group_blocks < a.nblocks ? b0 + a.group_blocks : a.nblocks;
        Acc iacc;
        zero(iacc);
        if constexpr (kSlices) {
          run_slices(a, xs, b0, b1, iacc[0]);
        } else {
          for (Index b = b0; b < b1; ++b) block(b, iacc, NoMid{});
        }
        finish(g, iacc);
      }
    }
    LOWBIT_UNROLL
    for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
    for (int v = 0; v < NV; ++v) V::fstore(a.acc + m * NR + v * V::kLanes, facc[m][v]);
  }
};

/// The integer micro-kernel of multi-plane schemes (PlaneDecodeScheme: Binary2) on BitPlanes:
/// one exact int32 dot product per plane and row, then the reference's float operations
/// (ref::gemm_int8 for plane schemes: t = fma(offset, Σq, float(idot_0)·scale_0), then
/// t = fma(scale_p, float(idot_p), t) for p >= 1, acc += t), NR rows per vector.
template <class V, PlaneDecodeScheme S, Granularity G, class L, int MR>
struct PlaneTile {
  static constexpr int NR = static_cast<int>(L::kTileRows);
  static constexpr int KB = static_cast<int>(L::kTileDepth);
  static constexpr int NV = NR / V::kLanes;
  static constexpr int P = S::kPlanes;
  static constexpr int kSteps = KB / 4;
  static constexpr int kBlockBytes = static_cast<int>(L::block_bytes(P));
  using Codec = StepCodec<L>;
  static_assert(std::is_same_v<L, BitPlanes<NR, KB>>, "PlaneTile: plane schemes need BitPlanes");
  static_assert(NR % V::kLanes == 0, "PlaneTile: NR must be a multiple of the vector's lanes");

  static void run(const TileArgs& a) {
    using I = typename V::I;
    using F = typename V::F;
    const auto* xs = static_cast<const std::int32_t*>(a.xs);
    const auto* params = static_cast<const typename S::Params*>(a.params);
    const I ones = V::set1_16(1);
    F facc[MR][NV];
    LOWBIT_UNROLL
    for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
    for (int v = 0; v < NV; ++v) facc[m][v] = V::fload(a.acc + m * NR + v * V::kLanes);
    for (Index g = a.g_begin; g < a.g_end; ++g) {
      const Index b0 = g * a.group_blocks;
      const Index b1 = b0 + a.group_blocks < a.nblocks ? b0 + a.group_blocks : a.nblocks;
      I iacc[P][MR][NV];
      LOWBIT_UNROLL
      for (int p = 0; p < P; ++p) LOWBIT_UNROLL
      for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
      for (int v = 0; v < NV; ++v) iacc[p][m][v] = V::zero();
      for (Index b = b0; b < b1; ++b) {
        const std::byte* blk = a.codes + b * kBlockBytes;
        const std::int32_t* xb = xs + b * kSteps * MR;
        prefetch_block<kBlockBytes>(blk);
        static_for<kSteps / 8>([&](auto uu) {
          constexpr int U = uu.value;
          typename Codec::template State<V> st[NV];
          LOWBIT_UNROLL
          for (int v = 0; v < NV; ++v) st[v] = Codec::template begin<V, P, U>(blk, v);
          I s16[P][MR][NV];
          if constexpr (!V::kVnni) {
            LOWBIT_UNROLL
            for (int p = 0; p < P; ++p) LOWBIT_UNROLL
            for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
            for (int v = 0; v < NV; ++v) s16[p][m][v] = V::zero();
          }
          static_for<8>([&](auto tt) {
            constexpr int T = tt.value;
            I c[P][NV];
            static_for<P>([&](auto pp) {
              LOWBIT_UNROLL
              for (int v = 0; v < NV; ++v)
                c[pp.value][v] = Codec::template plane<V, T, pp.value>(st[v]);
            });
            LOWBIT_UNROLL
            for (int m = 0; m < MR; ++m) {
              const I x = V::bcast32(xb + (U * 8 + T) * MR + m);
              LOWBIT_UNROLL
              for (int p = 0; p < P; ++p) LOWBIT_UNROLL
              for (int v = 0; v < NV; ++v) {
                if constexpr (V::kVnni) {
                  iacc[p][m][v] = V::dpbusd(iacc[p][m][v], c[p][v], x);
                } else {  // |pair sum| <= 254: eight steps fit int16
                  s16[p][m][v] = V::add16(s16[p][m][v], V::maddubs(c[p][v], x));
                }
              }
            }
          });
          if constexpr (!V::kVnni) {
            LOWBIT_UNROLL
            for (int p = 0; p < P; ++p) LOWBIT_UNROLL
            for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
            for (int v = 0; v < NV; ++v)
              iacc[p][m][v] = V::add32(iacc[p][m][v], V::madd16(s16[p][m][v], ones));
          }
        });
      }
      // The group's float operations: the reference's, NR rows per vector.
      const Index pslot = G::kKind == GranularityKind::kPerGroup ? g * NR : 0;
      alignas(64) float sc[P][NV * V::kLanes], of[NV * V::kLanes];
      for (int i = 0; i < NV * V::kLanes; ++i) {
        const PlaneAffine d =
            S::plane_affine(params[G::kKind == GranularityKind::kPerTensor ? 0 : pslot + i]);
        LOWBIT_UNROLL
        for (int p = 0; p < P; ++p) sc[p][i] = d.scale[p];
        of[i] = d.offset;
      }
      LOWBIT_UNROLL
      for (int m = 0; m < MR; ++m) {
        const F xsf = V::fset1(static_cast<float>(a.xsum[g * MR + m]));
        LOWBIT_UNROLL
        for (int v = 0; v < NV; ++v) {
          F t = V::rounded(V::fmul(V::cvt(iacc[0][m][v]), V::fload(sc[0] + v * V::kLanes)));
          t = V::fmadd(V::fload(of + v * V::kLanes), xsf, t);
          for (int p = 1; p < P; ++p)
            t = V::fmadd(V::fload(sc[p] + v * V::kLanes), V::cvt(iacc[p][m][v]), t);
          facc[m][v] = a.xscale != nullptr ? V::fmadd(t, V::fset1(a.xscale[g * MR + m]), facc[m][v])
                                           : V::fadd(facc[m][v], t);
        }
      }
    }
    LOWBIT_UNROLL
    for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
    for (int v = 0; v < NV; ++v) V::fstore(a.acc + m * NR + v * V::kLanes, facc[m][v]);
  }
};

/// The float micro-kernel: float activations (xs: 4·MR floats per step, step s of the panel at
/// xs[(s·MR + m)·4 + i]); weights decoded to float in registers. Per group and row it forms
/// Σ c·x and Σ x in fp32 and adds scale·(Σc·x - sub·Σx) + offset·Σx; compared with ref::gemm
/// (double accumulation) within a relative bound.
template <class V, AffineDecodeScheme S, Granularity G, HasCodec L, int MR>
struct FloatTile {
  using Scheme = S;
  using Layout = L;
  using Codec = StepCodec<L>;
  static constexpr int NR = static_cast<int>(L::kTileRows);
  static constexpr int KB = static_cast<int>(L::kTileDepth);
  static constexpr int kMR = MR;
  static constexpr int kNR = NR;
  static constexpr int NV = NR / V::kLanes;
  static constexpr int kBits = S::kCodeBits;
  static constexpr int kSteps = KB / 4;

  static void run(const TileArgs& a) {
    using I = typename V::I;
    using F = typename V::F;
    const auto* xs = static_cast<const float*>(a.xs);
    const auto* params = static_cast<const typename S::Params*>(a.params);
    const I byte_mask = V::set1_32(0xff);
    F facc[MR][NV];
    LOWBIT_UNROLL
    for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
    for (int v = 0; v < NV; ++v) facc[m][v] = V::fload(a.acc + m * NR + v * V::kLanes);
    TileParams<V, S, G, NV> tp;
    F cx[MR][NV];
    F xsum[MR];
    auto zero = [&] {
      LOWBIT_UNROLL
      for (int m = 0; m < MR; ++m) {
        xsum[m] = V::fzero();
        LOWBIT_UNROLL
        for (int v = 0; v < NV; ++v) cx[m][v] = V::fzero();
      }
    };
    // Σ c·x and Σ x of block b; with kMid, mid() runs after the first half of its steps.
    auto block = [&](Index b, auto&& mid) {
      constexpr bool kMid = !std::is_same_v<std::decay_t<decltype(mid)>, NoMid>;
      const std::byte* blk = a.codes + b * L::block_bytes(kBits);
      const float* xb = xs + b * kSteps * MR * 4;
      static_for<kSteps / Codec::kUnit>([&](auto uu) {
        constexpr int U = uu.value;
        typename Codec::template State<V> st[NV];
        LOWBIT_UNROLL
        for (int v = 0; v < NV; ++v) st[v] = Codec::template begin<V, kBits, U>(blk, v);
        static_for<Codec::kUnit>([&](auto tt) {
          constexpr int J = U * Codec::kUnit + tt.value;
          I c[NV];
          LOWBIT_UNROLL
          for (int v = 0; v < NV; ++v) c[v] = Codec::template step<V, kBits, U, tt.value>(st[v]);
          static_for<4>([&](auto ii) {
            constexpr int i = ii.value;
            F cf[NV];
            LOWBIT_UNROLL
            for (int v = 0; v < NV; ++v)
              cf[v] = V::cvt(V::and_(V::template srli32<8 * i>(c[v]), byte_mask));
            LOWBIT_UNROLL
            for (int m = 0; m < MR; ++m) {
              const F x = V::fset1(xb[(J * MR + m) * 4 + i]);
              xsum[m] = V::fadd(xsum[m], x);
              LOWBIT_UNROLL
              for (int v = 0; v < NV; ++v) cx[m][v] = V::fmadd(cf[v], x, cx[m][v]);
            }
          });
          if constexpr (kMid && J + 1 == kSteps / 2) mid();
        });
      });
    };
    auto finish = [&](Index g) {
      const Index pslot = G::kKind == GranularityKind::kPerGroup ? g * NR : 0;
      tp.load(params + pslot);
      LOWBIT_UNROLL
      for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
      for (int v = 0; v < NV; ++v) {
        F centred = cx[m][v];
        if constexpr (TileParams<V, S, G, NV>::kSymmetric) {
          centred = V::fsub(centred, V::fmul(V::fset1(static_cast<float>(S::kOffset)), xsum[m]));
        } else if constexpr (!TileParams<V, S, G, NV>::kNoSub) {
          centred = V::fsub(centred, V::fmul(V::cvt(tp.sub[v]), xsum[m]));
        }
        F t = V::fmul(tp.scale[v], centred);
        if constexpr (!TileParams<V, S, G, NV>::kSymmetric) t = V::fmadd(tp.offset[v], xsum[m], t);
        facc[m][v] = V::fadd(facc[m][v], t);
      }
    };
    if constexpr (kernels::kHalfBlockGroups<G, L>) {  // groups 2b, 2b + 1 share block b
      for (Index b = a.g_begin / 2; 2 * b < a.g_end; ++b) {
        zero();
        block(b, [&] {
          finish(2 * b);
          zero();
        });
        if (2 * b + 1 < a.g_end) finish(2 * b + 1);
      }
    } else {
      for (Index g = a.g_begin; g < a.g_end; ++g) {
        const Index b0 = g * a.group_blocks;
        const Index b1 = b0 + a.group_blocks < a.nblocks ? b0 + a.group_blocks : a.nblocks;
        zero();
        for (Index b = b0; b < b1; ++b) block(b, NoMid{});
        finish(g);
      }
    }
    LOWBIT_UNROLL
    for (int m = 0; m < MR; ++m) LOWBIT_UNROLL
    for (int v = 0; v < NV; ++v) V::fstore(a.acc + m * NR + v * V::kLanes, facc[m][v]);
  }
};

}  // namespace lowbit::kernels
