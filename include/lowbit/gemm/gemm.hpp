// SPDX-License-Identifier: Apache-2.0
// lowbit/gemm/gemm.hpp: the public GEMM/GEMV entry points on packed weights and the blocked
// driver behind them.
//
// Convention (as ref::gemm): W is m × k (rows = outputs), X is n × k (rows = tokens), Y = X·Wᵀ
// is n × m. Four activation kinds:
//   gemm_int8(W, Int8Activations, Y, …)   pre-quantized int8 rows (quant/activation.hpp), one
//                                         scale per row or per weight group;
//                                         bit-identical to ref::gemm_int8 on every ISA
//   gemm(W, X float, Y, …)                quantizes X to int8 (into the Context's scratch; per
//                                         row, or per group: Context::set_activation_scales)
//                                         and runs gemm_int8: llama.cpp's decode path
//   gemm_f32(W, X float, Y, …)            float activations, weights decoded to float in
//                                         registers; within a relative bound of ref::gemm
//   gemm_zp(W, ZeroPointRowSums, ZeroPointActivations, Y, …)
//                                         unsigned 2..8-bit activation codes with a zero point
//                                         (static dual bounds, per-token min/max: W4A4, W4A8,
//                                         W2A8); bit-identical to ref::gemm_zp
// and gemv / gemv_int8 / gemv_f32 for one activation vector. Each takes an optional output
// pipeline (gemm/output.hpp) and a Context (threads and scratch; gemm/context.hpp). Results
// never depend on the thread count.
//
// Kernels (chosen in kernels/select.hpp, the one place that decides): lane-tiled weights
// (Interleaved<NR, KB>, Trit5Tiles<NR, KB>, Sparse34Tiles<NR, KB>) run the micro-kernels of
// kernels/interleaved_tile.hpp on the widest vectors the ISA tag allows; Plain 4-bit weights have
// an AVX2 GEMV; sequence-coded weights in SeqTiles<16> (the trellis with CodeMix7 / CodeMx2, CCQ
// WINT2), SeqTiles<16, 64> (the lookup trellis codes) and Wint25Words<16> (CCQ WINT2.5) run the
// fused kernels of kernels/seq_tile.hpp on AVX2 and AVX-512; anything else (isa::scalar, neon64,
// other layouts) runs the scalar reference, so every combination is correct and the fast ones are
// fast. Blocking: gemm/blocking.hpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/gemm/blocking.hpp"
#include "lowbit/gemm/context.hpp"
#include "lowbit/gemm/output.hpp"
#include "lowbit/kernels/reference/gemv.hpp"
#include "lowbit/kernels/reference/gemv_int8.hpp"
#include "lowbit/kernels/reference/sequence.hpp"
#include "lowbit/kernels/select.hpp"
#include "lowbit/pack/interleaved.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/seq_tiles.hpp"
#include "lowbit/pack/sequence.hpp"
#include "lowbit/quant/activation.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/simd/isa.hpp"

namespace lowbit {

namespace detail {

inline void check_gemm_shapes(const char* what, Index wrows, Index wcols, Index xrows, Index xcols,
                              MatrixView<float> y) {
  if (xcols != wcols) fail(what, ": activations have ", xcols, " columns, W has ", wcols);
  if (y.rows() != xrows || y.cols() != wrows) {
    fail(what, ": Y is ", y.rows(), " x ", y.cols(), ", expected ", xrows, " x ", wrows);
  }
}

/// The columns of W's groups for a row of `cols` (1 for an empty row).
template <class W>
Index weight_group_cols(Index cols) {
  return cols > 0 ? W::granularity_type::group_cols(cols) : 1;
}

/// Whether W's integer path takes a scale per block of activations (affine and plane schemes:
/// blocks = groups); the sequence-code schemes take one per row.
template <class W>
inline constexpr bool kBlockActivations =
    AffineDecodeScheme<typename W::scheme_type> || PlaneDecodeScheme<typename W::scheme_type>;

template <class P>
void apply_rows(const P& pipe, MatrixView<float> y) {
  for (Index t = 0; t < y.rows(); ++t) pipe.apply(y.row_ptr(t), 0, y.cols());
}

/// The blocked driver for Interleaved weights on vector operations V (see gemm/blocking.hpp).
/// kInt: integer activations `xi` (exact path): Int8Activations, or ZeroPointActivations packed
/// as signed codes a - o (ref::gemm_zp) with the zero-point row sums `rsums` (one per row of W);
/// otherwise float activations `xf`.
template <class V, bool kInt, QuantScheme S, Granularity G, HasCodec L, class P,
          class XA = Int8Activations>
void run_interleaved(const PackedMatrix<S, G, L>& w, const XA* xi, MatrixView<const float> xf,
                     MatrixView<float> y, const P& pipe, Context& ctx,
                     const float* rsums = nullptr) {
  constexpr bool kZp = std::is_same_v<XA, ZeroPointActivations>;
  constexpr Index NR = L::kTileRows, KB = L::kTileDepth;
  constexpr int MR = kernels::kMicroRows<V, NR>;
  constexpr Index kSteps = KB / 4;
  const Index n = kInt ? xi->rows() : xf.rows();
  const Index m = w.rows(), cols = w.cols();
  if (n == 0 || m == 0) return;
  if (cols == 0) {  // empty sums: Y = pipeline(0)
    for (Index t = 0; t < n; ++t) {
      std::fill(y.row_ptr(t), y.row_ptr(t) + m, 0.0f);
      pipe.apply(y.row_ptr(t), 0, m);
    }
    return;
  }
  const Index nblocks = L::blocks(cols), ntiles = L::tiles(m);
  const Index nsteps = nblocks * kSteps;
  const Index group_blocks = G::kKind == GranularityKind::kPerGroup ? G::kGroupSize / KB : nblocks;
  const Index groups =
      G::kKind == GranularityKind::kPerGroup ? ceil_div<Index>(cols, G::kGroupSize) : 1;
  const Index gcols = G::group_cols(cols);
  // Panels: full MR-row panels, then single rows (the MR = 1 kernel) so no work is wasted on
  // padding rows; a single activation row (GEMV) is used in place, unpacked.
  const Index np = n == 1 ? 0 : n / MR;
  const Index rem0 = np * MR;
  const Index act_bytes = kInt ? 1 : 4;
  // Scratch: packed panels, single rows (float path only: padded copies), group sums.
  const std::size_t panel_elems = static_cast<std::size_t>(nsteps * MR * 4);  // codes / floats
  const std::size_t row_elems = static_cast<std::size_t>(nsteps * 4);
  const std::size_t xs_bytes =
      static_cast<std::size_t>(np) * panel_elems * static_cast<std::size_t>(act_bytes);
  // Single int8 rows are used in place when their zero padding (kActivationPad) covers the
  // last block; deeper blocks (KB > 64) read a zero-padded copy instead.
  // Zero-point codes of 8 bits are shifted to signed bytes while packing (o = 128).
  std::int32_t zp_shift = 0;
  if constexpr (kZp) zp_shift = ref::zero_point_shift(xi->bits());
  const bool int_in_place = kInt && nsteps * 4 <= xi->stride() && zp_shift == 0;
  const std::size_t rows_bytes =
      kInt ? (int_in_place ? 0 : static_cast<std::size_t>(n - rem0) * row_elems)
           : static_cast<std::size_t>(n - rem0) * row_elems * sizeof(float);
  const std::size_t xsum_bytes =
      kInt ? static_cast<std::size_t>(n * groups) * sizeof(std::int32_t) : 0;
  // Per-block activation scales (one per group): panels' in [panel][g][m] order (single rows
  // read theirs in place).
  bool blocked = false;
  if constexpr (kInt && !kZp) blocked = xi->block() > 0;
  const std::size_t xscale_bytes =
      blocked ? static_cast<std::size_t>(np * MR * groups) * sizeof(float) : 0;
  std::byte* scratch = ctx.scratch(xs_bytes + rows_bytes + xsum_bytes + xscale_bytes + 64);
  std::byte* xs_base = scratch;
  std::byte* rows_base = scratch + xs_bytes;
  auto* xsum = reinterpret_cast<std::int32_t*>(scratch + xs_bytes + rows_bytes);
  auto* xscale = reinterpret_cast<float*>(scratch + xs_bytes + rows_bytes + xsum_bytes);

  // Activation packing (step-major panels: [step][m][4]) and group sums ([panel][g][m], then
  // one [g] array per single row), on the context's threads: panels first, then single rows.
  auto pack_row = [&](Index t) {
    const bool in_panel = t < rem0;
    const Index p = in_panel ? t / MR : 0;
    const int r = in_panel ? static_cast<int>(t % MR) : 0;
    if constexpr (kInt) {
      const auto* q = xi->row(t);  // int8_t, or uint8_t (zero-point codes)
      if (in_panel) {
        auto* dst = reinterpret_cast<std::int8_t*>(xs_base) + static_cast<Index>(panel_elems) * p;
        const Index have = xi->stride() / 4;  // steps inside the row's zero padding
        for (Index s = 0; s < nsteps; ++s) {
          std::int8_t* d = dst + (s * MR + r) * 4;
          if (zp_shift != 0) {
            for (Index i = 0; i < 4; ++i)
              d[i] = s * 4 + i < cols ? static_cast<std::int8_t>(q[s * 4 + i] - zp_shift) : 0;
          } else if (s < have) {
            std::memcpy(d, q + s * 4, 4);
          } else {
            std::memset(d, 0, 4);
          }
        }
      } else if (!int_in_place) {
        auto* dst =
            reinterpret_cast<std::int8_t*>(rows_base) + static_cast<Index>(row_elems) * (t - rem0);
        if (zp_shift != 0) {
          for (Index k = 0; k < cols; ++k) dst[k] = static_cast<std::int8_t>(q[k] - zp_shift);
        } else {
          std::memcpy(dst, q, static_cast<std::size_t>(cols));
        }
        std::memset(dst + cols, 0, row_elems - static_cast<std::size_t>(cols));
      }
      std::int32_t* sums =
          in_panel ? xsum + p * groups * MR + r : xsum + np * MR * groups + (t - rem0) * groups;
      const Index stride = in_panel ? MR : 1;
      for (Index g = 0; g < groups; ++g) {
        std::int32_t sum = 0;
        const Index k1 = (g + 1) * gcols < cols ? (g + 1) * gcols : cols;
        for (Index k = g * gcols; k < k1; ++k) sum += q[k];
        sums[g * stride] = sum - static_cast<std::int32_t>(k1 - g * gcols) * zp_shift;  // Σa'
      }
      if constexpr (!kZp) {
        if (blocked && in_panel)
          for (Index g = 0; g < groups; ++g) xscale[(p * groups + g) * MR + r] = xi->scale(t, g);
      }
    } else {
      const float* xr = xf.row_ptr(t);
      if (in_panel) {
        auto* dst = reinterpret_cast<float*>(xs_base) + static_cast<Index>(panel_elems) * p;
        for (Index s = 0; s < nsteps; ++s)
          for (int i = 0; i < 4; ++i) {
            const Index k = s * 4 + i;
            dst[(s * MR + r) * 4 + i] = k < cols ? xr[k] : 0.0f;
          }
      } else {
        float* dst =
            reinterpret_cast<float*>(rows_base) + static_cast<Index>(row_elems) * (t - rem0);
        for (Index k = 0; k < static_cast<Index>(row_elems); ++k) dst[k] = k < cols ? xr[k] : 0.0f;
      }
    }
  };
  ctx.parallel_for(n, [&](Index t0, Index t1) {
    for (Index t = t0; t < t1; ++t) pack_row(t);
  });

  const Index tile_bytes = nblocks * L::block_bytes(S::kCodeBits);
  const Index tile_params = G::kKind == GranularityKind::kPerGroup     ? groups * NR
                            : G::kKind == GranularityKind::kPerChannel ? NR
                                                                       : 0;
  auto epilogue = [&](const float* acc, Index t, Index tile) {
    const Index c0 = tile * NR;
    const Index valid = m - c0 < NR ? m - c0 : NR;
    float* yr = y.row_ptr(t) + c0;
    if constexpr (kZp) {
      const float zs = static_cast<float>(xi->zero(t) - zp_shift), s = xi->step(t);
      for (Index r = 0; r < valid; ++r) yr[r] = std::fma(-zs, rsums[c0 + r], acc[r]) * s;
    } else {
      const float s = kInt && !blocked ? xi->scale(t) : 1.0f;
      for (Index r = 0; r < valid; ++r) yr[r] = kInt && !blocked ? acc[r] * s : acc[r];
    }
    pipe.apply(yr, c0, valid);
  };
  const Index mc = Blocking::mc(cols, act_bytes, MR);
  // Work items are (activation block, chunk of tiles) pairs, block-major, taken by the threads
  // as they finish (dynamic balancing: vCPUs and cores do not all run at one speed). Within an
  // item the block stays in L2 while the chunk's weights stream past once; at least ~4 chunks
  // per thread keep the balance fine. Each output element is still computed by one thread with
  // the same operations, so results are bit-identical for any thread count and schedule.
  const Index nblocks_mc = ceil_div<Index>(n, mc);
  Index chunk = ntiles / (4 * ctx.threads());
  chunk = chunk < 1 ? 1 : chunk;
  const Index nchunks = ceil_div<Index>(ntiles, chunk);
  ctx.parallel_for_dynamic(nblocks_mc * nchunks, 1, [&](Index item_begin, Index item_end) {
    alignas(64) float acc[MR * NR];
    for (Index item = item_begin; item < item_end; ++item) {
      const Index t0 = (item / nchunks) * mc;
      const Index t1 = t0 + mc < n ? t0 + mc : n;
      const Index tile_begin = (item % nchunks) * chunk;
      const Index tile_end = tile_begin + chunk < ntiles ? tile_begin + chunk : ntiles;
      for (Index tile = tile_begin; tile < tile_end; ++tile) {
        kernels::TileArgs a;
        a.codes = w.codes().data() + tile * tile_bytes;
        a.params = w.params().data() + tile * tile_params;
        a.g_begin = 0;
        a.g_end = groups;
        a.group_blocks = group_blocks;
        a.nblocks = nblocks;
        a.acc = acc;
        // Full panels of this activation block.
        for (Index p = t0 / MR; p < np && p * MR < t1; ++p) {
          std::fill(acc, acc + MR * NR, 0.0f);
          a.xs = xs_base + static_cast<std::size_t>(p) * panel_elems * act_bytes;
          a.xsum = xsum + p * groups * MR;
          a.xscale = blocked ? xscale + p * groups * MR : nullptr;
          if constexpr (kInt && PlaneDecodeScheme<S>) {
            kernels::PlaneTile<V, S, G, L, MR>::run(a);
          } else if constexpr (kInt) {
            kernels::IntTile<V, S, G, L, MR>::run(a);
          } else {
            kernels::FloatTile<V, S, G, L, MR>::run(a);
          }
          for (int r = 0; r < MR; ++r) epilogue(acc + r * NR, p * MR + r, tile);
        }
        // Single rows.
        for (Index t = t0 > rem0 ? t0 : rem0; t < t1; ++t) {
          std::fill(acc, acc + NR, 0.0f);
          if constexpr (kInt) {
            a.xs = int_in_place ? static_cast<const void*>(xi->row(t))
                                : rows_base + static_cast<Index>(row_elems) * (t - rem0);
            a.xsum = xsum + np * MR * groups + (t - rem0) * groups;
            if constexpr (!kZp) a.xscale = blocked ? xi->scales(t) : nullptr;
            if constexpr (PlaneDecodeScheme<S>) {
              kernels::PlaneTile<V, S, G, L, 1>::run(a);
            } else {
              kernels::IntTile<V, S, G, L, 1>::run(a);
            }
          } else {
            a.xs = reinterpret_cast<float*>(rows_base) + static_cast<Index>(row_elems) * (t - rem0);
            kernels::FloatTile<V, S, G, L, 1>::run(a);
          }
          epilogue(acc, t, tile);
        }
      }
    }
  });
}

/// The driver of the fused sequence-code kernels (kernels/seq_tile.hpp) on SeqTiles<16> and
/// Wint25Words<16> weights (the kernel's K::Layout):
/// tiles of 16 rows in chunks over the context's threads (dynamic: results never depend on the
/// schedule), activation rows K::kMR at a time (then one), the kernel over the whole subgroups and
/// the scalar reference decode over a row's last, shorter group (the trellis: a tail of fewer
/// than the group's weights), with the same float operations as ref::gemm_int8.
template <class K, class S, class G, class L, class P>
void run_seq_tiles(const PackedMatrix<S, G, L>& w, const Int8Activations& x, MatrixView<float> y,
                   const P& pipe, Context& ctx) {
  constexpr Index NR = 16;
  const Index n = x.rows(), m = w.rows(), cols = w.cols();
  const Index nsub = cols / K::kSub, kcols = nsub * K::kSub;
  if (kcols < cols) S::check_group(cols - kcols);  // the reference's error for a bad tail
  if (n == 0 || m == 0) return;
  // Activation sums per kernel subgroup.
  auto* xsum = reinterpret_cast<std::int32_t*>(
      ctx.scratch(static_cast<std::size_t>(n * nsub + 1) * sizeof(std::int32_t)));
  ctx.parallel_for(n, [&](Index t0, Index t1) {
    for (Index t = t0; t < t1; ++t)
      for (Index j = 0; j < nsub; ++j) {
        std::int32_t sum = 0;
        for (Index k = j * K::kSub; k < (j + 1) * K::kSub; ++k) sum += x.row(t)[k];
        xsum[t * nsub + j] = sum;
      }
  });
  const Index ntiles = L::tiles(m);
  const Index tile_words = L::row_words(S::kCodeBits, cols) * NR;
  const Index tile_params = G::param_count(1, cols) * NR;
  const auto* words = reinterpret_cast<const std::uint16_t*>(w.codes().data());
  const auto* params = reinterpret_cast<const std::byte*>(w.params().data());
  Index chunk = ntiles / (4 * ctx.threads());
  chunk = chunk < 1 ? 1 : chunk;
  ctx.parallel_for_dynamic(ceil_div<Index>(ntiles, chunk), 1, [&](Index c0, Index c1) {
    alignas(64) float acc[8 * NR];
    [[maybe_unused]] alignas(64) float rowf[3][NR];
    const Index tail = cols - kcols;
    std::vector<std::uint8_t> codes(static_cast<std::size_t>(tail));
    std::vector<std::int32_t> vals(static_cast<std::size_t>(tail * NR));
    float tail_scale[NR] = {};
    for (Index tile = c0 * chunk; tile < c1 * chunk && tile < ntiles; ++tile) {
      const Index r0 = tile * NR, valid = m - r0 < NR ? m - r0 : NR;
      kernels::SeqTileArgs a;
      a.words = words + tile * tile_words;
      a.params = params + tile * tile_params * static_cast<Index>(sizeof(typename S::Params));
      a.nsub = nsub;
      a.acc = acc;
      if constexpr (K::kRowFloats == 3) {  // CCQ WINT2: code scale, zero point, super scale
        for (Index r = 0; r < NR; ++r) {
          const bool real = r < valid;
          const auto& rp = w.row_params()[static_cast<std::size_t>(real ? r0 + r : 0)];
          rowf[0][r] = real ? rp.code_scale : 0.0f;
          rowf[1][r] = real ? rp.code_zp : 0.0f;
          rowf[2][r] = real ? static_cast<float>(rp.super) : 0.0f;
        }
        a.row_a = rowf[0];
        a.row_b = rowf[1];
        a.row_c = rowf[2];
      } else if constexpr (K::kRowFloats == 1) {  // CCQ WINT2.5: super scale
        for (Index r = 0; r < NR; ++r)
          rowf[0][r] =
              r < valid ? static_cast<float>(w.row_params()[static_cast<std::size_t>(r0 + r)].super)
                        : 0.0f;
        a.row_a = rowf[0];
      }
      // The rows' last, shorter group (the trellis's tail): the reference's decode.
      for (Index r = 0; r < valid && tail > 0; ++r) {
        for (Index k = kcols; k < cols; ++k)
          codes[static_cast<std::size_t>(k - kcols)] = static_cast<std::uint8_t>(w.code(r0 + r, k));
        detail::sequence_decode_int(
            w, r0 + r, kcols, std::span<const std::uint8_t>(codes),
            std::span<std::int32_t>(vals.data() + r * tail, static_cast<std::size_t>(tail)),
            std::span<float>(tail_scale + r, 1));
      }
      for (Index t0 = 0; t0 < n;) {
        const int mr = n - t0 >= K::kMR ? K::kMR : 1;
        for (int i = 0; i < mr; ++i) {
          a.x[i] = x.row(t0 + i);
          a.xsum[i] = xsum + (t0 + i) * nsub;
        }
        std::fill(acc, acc + mr * NR, 0.0f);
        if (mr == K::kMR) {
          K::template run<K::kMR>(a);
        } else {
          K::template run<1>(a);
        }
        for (Index r = 0; r < valid; ++r) {
          for (int i = 0; tail > 0 && i < mr; ++i) {
            const std::int8_t* q = x.row(t0 + i);
            std::int64_t idot = 0;
            for (Index k = kcols; k < cols; ++k)
              idot +=
                  static_cast<std::int64_t>(vals[static_cast<std::size_t>(r * tail + k - kcols)]) *
                  q[k];
            float& c = acc[i * NR + r];
            c = std::fma(static_cast<float>(idot), tail_scale[r], c);
          }
          for (int i = 0; i < mr; ++i) y(t0 + i, r0 + r) = acc[i * NR + r] * x.scale(t0 + i);
        }
        for (int i = 0; i < mr; ++i) pipe.apply(y.row_ptr(t0 + i) + r0, r0, valid);
        t0 += mr;
      }
    }
  });
}

/// Whether the int32 group sums of W are exact (kernels/interleaved_tile.hpp); if not, the
/// int64 reference runs instead (PerChannel/PerTensor rows longer than 66,311 columns).
template <class G>
bool int32_groups_exact(Index cols) {
  return G::group_cols(cols) <= kernels::kMaxExactGroup;
}

template <class Isa, class W, class P>
void gemm_int8_impl(const W& w, const Int8Activations& x, MatrixView<float> y, const P& pipe,
                    Context& ctx) {
  constexpr kernels::Path kPath = kernels::int8_path<Isa, W>();
  if constexpr (kPath == kernels::Path::kSequence) {
    detail::check_per_row_activations("gemm_int8", x);
    run_seq_tiles<kernels::SeqKernel<Isa, typename W::scheme_type, typename W::granularity_type>>(
        w, x, y, pipe, ctx);
    return;
  } else if constexpr (kPath == kernels::Path::kLaneTiles) {
    if (int32_groups_exact<typename W::granularity_type>(w.cols())) {
      using V = kernels::VecFor<Isa, kernels::LaneTiled<W>::kNR>;
      run_interleaved<V, true>(w, &x, MatrixView<const float>(), y, pipe, ctx);
      return;
    }
  }
#if LOWBIT_HAS_AVX2
  else if constexpr (kPath == kernels::Path::kPlain4Gemv) {
    if (x.rows() == 1 && y.stride() >= 1 && x.block() == 0) {
      kernels::GemvPlain4Avx2<Isa, typename W::scheme_type, W::granularity_type::kGroupSize>::run(
          w, x, VectorView<float>(y.row_ptr(0), y.cols()));
      apply_rows(pipe, y);
      return;
    }
  }
#endif
  ref::gemm_int8(w, x, y);
  apply_rows(pipe, y);
}

template <class Isa, class W, class P>
void gemm_f32_impl(const W& w, MatrixView<const float> x, MatrixView<float> y, const P& pipe,
                   Context& ctx) {
  if constexpr (kernels::f32_path<Isa, W>() == kernels::Path::kLaneTiles) {
    using V = kernels::VecFor<Isa, kernels::LaneTiled<W>::kNR>;
    run_interleaved<V, false>(w, static_cast<const Int8Activations*>(nullptr), x, y, pipe, ctx);
    return;
  }
  ref::gemm(w, x, y);
  apply_rows(pipe, y);
}

}  // namespace detail

/// Y (n × m) = X̂·Ŵᵀ for int8 activation rows X̂, then `pipe`. Bit-identical to ref::gemm_int8
/// (followed by the pipeline's stages) on every ISA and thread count. Throws Error on shapes.
template <class Isa = isa::best, PackedWeights W, class P>
void gemm_int8(const W& w, const Int8Activations& x, MatrixView<float> y, const P& pipe,
               Context& ctx) {
  detail::check_gemm_shapes("gemm_int8", w.rows(), w.cols(), x.rows(), x.cols(), y);
  detail::check_activation_blocks("gemm_int8", x, detail::weight_group_cols<W>(w.cols()), w.cols());
  pipe.check(y.cols());
  detail::gemm_int8_impl<Isa>(w, x, y, pipe, ctx);
}
template <class Isa = isa::best, PackedWeights W>
void gemm_int8(const W& w, const Int8Activations& x, MatrixView<float> y, Context& ctx) {
  gemm_int8<Isa>(w, x, y, NoOutputStages{}, ctx);
}

/// Y = X·Ŵᵀ with X quantized to int8 first, one scale per row (token) or, when the context asks
/// for ActivationScales::kPerGroup, one per weight group of each row (ggml's precision; weights of
/// the sequence-code schemes keep one per row): the inference path. Throws Error on shapes and
/// on NaN/Inf in X.
template <class Isa = isa::best, PackedWeights W, class P>
void gemm(const W& w, MatrixView<const float> x, MatrixView<float> y, const P& pipe, Context& ctx) {
  detail::check_gemm_shapes("gemm", w.rows(), w.cols(), x.rows(), x.cols(), y);
  pipe.check(y.cols());
  Int8Activations& xq = ctx.activations();
  Index block = 0;
  if constexpr (detail::kBlockActivations<W>)
    if (ctx.activation_scales() == ActivationScales::kPerGroup)
      block = detail::weight_group_cols<W>(w.cols());
  if (xq.rows() != x.rows() || xq.cols() != x.cols() || xq.block() != block)
    xq.reshape(x.rows(), x.cols(), block);  // buffers kept: no allocation once large enough
  // Rows are independent: quantize them on the context's threads (an exception from any row is
  // rethrown, the lowest row's first).
  ctx.parallel_for(x.rows(), [&](Index r0, Index r1) { quantize_activation_rows(x, xq, r0, r1); });
  detail::gemm_int8_impl<Isa>(w, ctx.activations(), y, pipe, ctx);
}
template <class Isa = isa::best, PackedWeights W>
void gemm(const W& w, MatrixView<const float> x, MatrixView<float> y, Context& ctx) {
  gemm<Isa>(w, x, y, NoOutputStages{}, ctx);
}

/// Y = X·Ŵᵀ with float activations (weights decoded to float in registers). Agrees with
/// ref::gemm within the float path's bound (tests/support/tolerances.hpp). Throws Error on shapes
/// and on NaN/Inf in X, as gemm does (one NaN policy for every entry point: an error where the
/// NaN enters, never a NaN output).
template <class Isa = isa::best, PackedWeights W, class P>
void gemm_f32(const W& w, MatrixView<const float> x, MatrixView<float> y, const P& pipe,
              Context& ctx) {
  detail::check_gemm_shapes("gemm_f32", w.rows(), w.cols(), x.rows(), x.cols(), y);
  pipe.check(y.cols());
  check_finite(x, "gemm_f32: activations");
  detail::gemm_f32_impl<Isa>(w, x, y, pipe, ctx);
}
template <class Isa = isa::best, PackedWeights W>
void gemm_f32(const W& w, MatrixView<const float> x, MatrixView<float> y, Context& ctx) {
  gemm_f32<Isa>(w, x, y, NoOutputStages{}, ctx);
}

/// The zero-point row sums C_r = Σ_k ŵ(r, k) of W (ref::gemm_zp's definition), gemm_zp's
/// correction: computed once per weight matrix (at load time, like the repack).
class ZeroPointRowSums {
 public:
  ZeroPointRowSums() = default;
  template <PackedWeights W>
  explicit ZeroPointRowSums(const W& w)
      : rows_(w.rows()), cols_(w.cols()), sums_(ref::zero_point_row_sums(w)) {}
  Index rows() const noexcept { return rows_; }
  Index cols() const noexcept { return cols_; }
  const float* data() const noexcept { return sums_.data(); }

 private:
  Index rows_ = 0, cols_ = 0;
  std::vector<float> sums_;
};

namespace detail {

template <class Isa, class W, class P>
void gemm_zp_impl(const W& w, const ZeroPointRowSums& sums, const ZeroPointActivations& x,
                  MatrixView<float> y, const P& pipe, Context& ctx) {
  using S = typename W::scheme_type;
  using G = typename W::granularity_type;
  if constexpr (kernels::zp_path<Isa, W>() == kernels::Path::kLaneTiles) {
    using V = kernels::VecFor<Isa, kernels::LaneTiled<W>::kNR>;
    // |Σ(c - sub)·a'| <= 255·128·len must fit int32 (|a'| reaches 128, one more than int8
    // activations: the int16 flush intervals of interleaved_tile.hpp still hold).
    if (G::group_cols(w.cols()) <= 2147483647 / (255 * 128)) {
      run_interleaved<V, true, S, G, typename W::layout_type, P, ZeroPointActivations>(
          w, &x, MatrixView<const float>(), y, pipe, ctx, sums.data());
      return;
    }
  }
  ref::gemm_zp(w, x, y);
  apply_rows(pipe, y);
}

}  // namespace detail

/// Y (n × m) = X̂·Ŵᵀ for zero-point activations (quant/activation.hpp: static dual bounds,
/// per-token min/max or per-row ranges), then `pipe`, with `sums` = ZeroPointRowSums(w).
/// Bit-identical to ref::gemm_zp on every ISA and thread count. Lane-tiled weights run the int8
/// path's micro-kernels on the codes shifted to signed bytes, plus one fma per output for the
/// zero point; anything else runs the reference. Throws Error on shapes or sums of another
/// matrix.
template <class Isa = isa::best, PackedWeights W, class P>
void gemm_zp(const W& w, const ZeroPointRowSums& sums, const ZeroPointActivations& x,
             MatrixView<float> y, const P& pipe, Context& ctx) {
  detail::check_gemm_shapes("gemm_zp", w.rows(), w.cols(), x.rows(), x.cols(), y);
  if (sums.rows() != w.rows() || sums.cols() != w.cols())
    detail::fail("gemm_zp: row sums of a ", sums.rows(), " x ", sums.cols(), " matrix for W ",
                 w.rows(), " x ", w.cols());
  pipe.check(y.cols());
  detail::gemm_zp_impl<Isa>(w, sums, x, y, pipe, ctx);
}
template <class Isa = isa::best, PackedWeights W>
void gemm_zp(const W& w, const ZeroPointRowSums& sums, const ZeroPointActivations& x,
             MatrixView<float> y, Context& ctx) {
  gemm_zp<Isa>(w, sums, x, y, NoOutputStages{}, ctx);
}

/// y (m) = Ŵ·x̂ for one row of int8 activations. Bit-identical to ref::gemv_int8.
template <class Isa = isa::best, PackedWeights W>
void gemv_int8(const W& w, const Int8Activations& x, VectorView<float> y, Context& ctx) {
  if (x.rows() != 1) detail::fail("gemv_int8: expects one activation row, got ", x.rows());
  if (y.size() != w.rows())
    detail::fail("gemv_int8: y has ", y.size(), " elements, W has ", w.rows(), " rows");
  gemm_int8<Isa>(w, x, detail::vector_as_row(y, "gemv_int8", "y"), ctx);
}
template <class Isa = isa::best, PackedWeights W>
void gemv_int8(const W& w, const Int8Activations& x, VectorView<float> y) {
  Context ctx(1);
  gemv_int8<Isa>(w, x, y, ctx);
}

/// y = Ŵ·x with x quantized to int8 on the fly (one token of decode).
template <class Isa = isa::best, PackedWeights W>
void gemv(const W& w, VectorView<const float> x, VectorView<float> y, Context& ctx) {
  if (y.size() != w.rows())
    detail::fail("gemv: y has ", y.size(), " elements, W has ", w.rows(), " rows");
  gemm<Isa>(w, detail::vector_as_row(x, "gemv", "x"), detail::vector_as_row(y, "gemv", "y"), ctx);
}

/// y = Ŵ·x with float activations.
template <class Isa = isa::best, PackedWeights W>
void gemv_f32(const W& w, VectorView<const float> x, VectorView<float> y, Context& ctx) {
  if (y.size() != w.rows())
    detail::fail("gemv_f32: y has ", y.size(), " elements, W has ", w.rows(), " rows");
  gemm_f32<Isa>(w, detail::vector_as_row(x, "gemv_f32", "x"),
                detail::vector_as_row(y, "gemv_f32", "y"), ctx);
}

/// The kernel gemv/gemm/gemm_int8 run for weights W on Isa, for logs and for tests that must
/// prove the fast path is in use: "<isa> lane-tiled micro-kernel" (Interleaved, Trit5Tiles,
/// Sparse34Tiles), "<isa> sequence-code kernel" (SeqTiles, Wint25Words), "<isa> plain 4-bit GEMV"
/// (Plain 4-bit, n = 1 only), or "scalar reference". Two run-time exceptions fall back to the
/// reference whatever this says: lane tiles whose groups are longer than 66,311 columns, and the
/// plain 4-bit kernel for n > 1 or per-block activation scales.
template <PackedWeights W, class Isa = isa::best>
std::string kernel_name() {
  const std::string isa(Isa::name());
  switch (kernels::int8_path<Isa, W>()) {
    case kernels::Path::kLaneTiles:
      return isa + " lane-tiled micro-kernel";
    case kernels::Path::kSequence:
      return isa + " sequence-code kernel";
    case kernels::Path::kPlain4Gemv:
      return isa + " plain 4-bit GEMV";
    case kernels::Path::kReference:
      break;
  }
  return "scalar reference";
}

}  // namespace lowbit
