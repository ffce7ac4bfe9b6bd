// SPDX-License-Identifier: Apache-2.0
// lowbit/gemm/blocking.hpp: the blocking constants of the GEMM driver, with their derivation.
//
// Loop nest of gemm/gemm.hpp (Y = X·Wᵀ, W m × k in NR-row tiles, X n × k in MR-row panels):
//
//   parallel over chunks of weight tiles (NR rows × k each; threads take chunks as they
//   finish; a chunk's weights fit half the L2)       (disjoint outputs: bit-identical results)
//     for each block of MC activation rows            (the block streams from L3/L2)
//       for each tile of the chunk                    (the chunk's weights stay in L2)
//         for each MR-row panel of the block
//         micro-kernel over all of k, group by group  (NR×MR accumulators in registers)
//         output pipeline on the MR × NR block of Y
//
// Why there is no KC (depth) blocking: a micro-kernel call streams one weight tile
// (NR·k·B/8 bytes: 8 × 14336 × 4/8 = 56 KiB, plus scales) and one panel (MR·k bytes of int8:
// 4 × 14336 = 56 KiB); the tile is reused by every panel of the block from L2, and the panel's
// 4-byte broadcasts hit L1/L2 at one 64-byte line per 16 steps. Per step the kernel does
// MR·NR·4 MACs for MR·4 + NR·B/2 bytes read, ≥ 8 MACs per byte even from L3, well above what
// the int8 units can consume per byte of L3 bandwidth (≈ 30 MAC/cycle vs ≈ 20 B/cycle), so
// depth blocking would only add accumulator spills to Y (and a second definition of the
// summation order). The float path reads 4× the activation bytes and is bounded the same way.
//
// MC: a block of activation panels must stay in L2 while every weight tile passes by once:
//   MC · k · (1 byte int8 | 4 bytes fp32) ≤ L2 / 2 (the other half for the current weight tile
//   and the panel being streamed), with L2 the per-core L2 size the C library reports
//   (sysconf(_SC_LEVEL2_CACHE_SIZE): 1 MiB on Zen 3/4, 2 MiB on Sapphire Rapids), 1 MiB when it
//   reports none. A larger L2 halves how often each thread re-streams its slice of W, which is
//   what 16 threads contend for in L3 (measured: 16-thread scaling 11.5× → see RESULTS.md).
// W is then read n / MC times: for n = 512, k = 14336 (int8) MC = 32, so 16 passes over a
// 4096 × 14336 4-bit matrix (16 × 33 MB at ≈ 19 GB/s ≈ 28 ms) against ≈ 30 G MACs of work
// (≈ 500 ms at 60 GMAC/s): under 6 %. MC is at least one panel and a multiple of MR.
#pragma once

#include "lowbit/core/types.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace lowbit {

struct Blocking {
  static constexpr Index kDefaultL2Bytes = Index{1} << 20;
  /// Per-core L2 bytes (read once).
  static Index l2_bytes() noexcept {
    static const Index bytes = [] {
#if defined(_SC_LEVEL2_CACHE_SIZE)
      const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
      if (v >= (64L << 10) && v <= (64L << 20)) return static_cast<Index>(v);
#endif
      return kDefaultL2Bytes;
    }();
    return bytes;
  }
  /// Activation rows per L2 block for depth k, `bytes_per_act` bytes per activation.
  static Index mc(Index k, Index bytes_per_act, Index mr) noexcept {
    const Index budget = l2_bytes() / 2;
    const Index per_row = (k > 0 ? k : 1) * bytes_per_act;
    Index rows = budget / per_row;
    rows -= rows % mr;
    return rows < mr ? mr : rows;
  }
};

}  // namespace lowbit
