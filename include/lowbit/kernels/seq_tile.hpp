// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/seq_tile.hpp: the interface of the fused kernels of sequence-coded weights in
// the SeqTiles<16> layout (pack/seq_tiles.hpp), portable part: the call arguments and the trait
// SeqKernel<Isa, Scheme, Granularity> that says whether a kernel exists and for which layout (x86
// kernels: kernels/x86/seq_tile_x86.hpp; the driver: gemm/gemm.hpp's run_seq_tiles).
//
// A kernel with kAvailable provides Layout (SeqTiles<16> or Wint25Words<16>), kSub (weights per
// float scale: its subgroup), kBias (the unsigned offset of its values in the dot products, taken
// back with the activation sums), kRowFloats (per-row float parameters it reads: 0, 1 or 3), kMR
// (activation rows per call, ≤ 8) and run<MR>(SeqTileArgs) for MR = kMR and 1, which adds
// fma(float(idot_j), scale_rj, acc) for the tile's subgroups j = 0 .. nsub − 1 in order, for MR
// activation rows, exactly as ref::gemm_int8 (kernels/reference/sequence.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "lowbit/core/types.hpp"

namespace lowbit::kernels {

/// One call of a sequence tile kernel: 16 weight rows (a SeqTiles<16> tile) × MR activation rows.
struct SeqTileArgs {
  const std::uint16_t* words = nullptr;  // the tile's first word ([u][16])
  const std::byte* params = nullptr;     // the tile's parameters ([group][16], Params each)
  const float* row_a = nullptr;  // per-row floats, 16 each (WINT2: cs, zp, super; WINT2.5: super)
  const float* row_b = nullptr;
  const float* row_c = nullptr;
  const std::int8_t* x[8] = {};      // MR activation rows
  const std::int32_t* xsum[8] = {};  // their sums per subgroup
  Index nsub = 0;                    // subgroups to run (the kernel's whole ones)
  float* acc = nullptr;              // [MR][16] accumulators, continued in place
};

/// Which (ISA, scheme, granularity) has a fused kernel; the primary template: none.
template <class Isa, class S, class G>
struct SeqKernel {
  static constexpr bool kAvailable = false;
};

}  // namespace lowbit::kernels
