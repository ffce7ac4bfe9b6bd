// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/select.hpp: the one place that includes ISA-specific kernel headers and the one
// place that decides which kernel runs: the vector width for an ISA tag (VecFor), the kernel
// family of each entry point for a weight type (int8_path, f32_path, zp_path), the kernel layout
// of an ISA (KernelLayout) and the popcount of the XNOR kernels (kernels/popcount.hpp).
//
// Selection is by overload on the ISA tag: the most derived declaration that exists (and whose
// constraint on the tile height NR holds) wins, and the chosen operations struct is instantiated
// with the *actual* tag, so avx512bw+vnni code never leaks into an avx2 TU (different tags,
// different symbols). `VecFor<Isa, NR>` is void where no vector family applies (isa::scalar, or an
// NR the widths cannot tile); callers then run the reference.
//   Interleaved<NR, KB>:  avx512bw (NR % 16 == 0)  Vec512 (vpdpbusd with VNNI)
//                         avx2     (NR % 8 == 0)   Vec256 (vpdpbusd on ymm with AVX512-VNNI+VL)
//                         sse4_2   (NR % 4 == 0)   Vec128
//                         neon64   (NR % 4 == 0)   VecNeon (SDOT with +dotprod)
//   Plain, 4-bit, PerGroup<32·j>: avx2             GemvPlain4Avx2 (GEMV only)
// KernelLayout<Isa> names the Interleaved shape each ISA's vectors tile (16, 8 or 4 rows).
#pragma once

#include <type_traits>

#include "lowbit/config.hpp"
#include "lowbit/simd/isa.hpp"

// A TU compiled for baseline x86-64 (no -m flag: SSE2 only) gets the scalar reference kernels,
// 50-150x slower than AVX2's (SSE4.2's 128-bit kernels sit between). lowbit::lowbit's CMake target
// adds -march=native unless told otherwise, so this fires for builds outside CMake, or ones that
// chose `baseline` without meaning it. LOWBIT_FORCE_SCALAR (the oracle builds) and
// LOWBIT_NO_ISA_WARNING (runtime- dispatch TUs, which are baseline on purpose) silence it.
#if (defined(__x86_64__) || defined(__i386__)) && !LOWBIT_HAS_AVX2 && \
    !defined(LOWBIT_FORCE_SCALAR) && !defined(LOWBIT_NO_ISA_WARNING)
#pragma GCC warning \
    "lowbit: this translation unit has no AVX2, so lowbit's kernels fall back to SSE4.2 or the scalar reference (up to 150x slower). Fix: link lowbit::lowbit from CMake (it adds -march=native), or compile with -march=native (or -march=x86-64-v3 / x86-64-v4), or use lowbit/dispatch/entry.hpp for run-time dispatch; define LOWBIT_NO_ISA_WARNING to keep a baseline build on purpose."
#endif

#if !LOWBIT_USE_XSIMD && !defined(LOWBIT_FORCE_SCALAR) && !defined(LOWBIT_NO_ISA_WARNING) && \
    (defined(__AVX2__) || defined(__aarch64__))
#pragma GCC warning \
    "lowbit: xsimd was not found (or LOWBIT_HAS_XSIMD=0), so lowbit's kernels are the scalar reference. Fix: install xsimd (Debian: libxsimd-dev) and link lowbit::lowbit, or put xsimd's include directory on the path."
#endif

#define LOWBIT_KERNELS_SELECT_INCLUDED 1
#if LOWBIT_HAS_SSE4_2
#include "lowbit/kernels/x86/vec_x86.hpp"
#endif
#include "lowbit/kernels/seq_tile.hpp"
#if LOWBIT_HAS_AVX2
#include "lowbit/kernels/x86/gemv_plain4_avx2.hpp"
#include "lowbit/kernels/x86/seq_tile_x86.hpp"
#endif
#if LOWBIT_HAS_NEON64
#include "lowbit/kernels/arm/vec_neon.hpp"
#endif
#include "lowbit/kernels/interleaved_tile.hpp"
#include "lowbit/kernels/popcount.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/plain.hpp"
#include "lowbit/pack/seq_tiles.hpp"
#include "lowbit/quant/common.hpp"
#include "lowbit/quant/granularity.hpp"

namespace lowbit::kernels {

template <class Isa, int NR>
void pick_vec(isa::scalar);
#if LOWBIT_HAS_SSE4_2
template <class Isa, int NR>
requires(NR % 4 == 0) Vec128<Isa> pick_vec(isa::sse4_2);
#endif
#if LOWBIT_HAS_AVX2
template <class Isa, int NR>
requires(NR % 8 == 0) Vec256<Isa> pick_vec(isa::avx2);
#endif
#if LOWBIT_HAS_AVX512BW
template <class Isa, int NR>
requires(NR % 16 == 0) Vec512<Isa> pick_vec(isa::avx512bw);
#endif
#if LOWBIT_HAS_NEON64
template <class Isa, int NR>
requires(NR % 4 == 0) VecNeon<Isa> pick_vec(isa::neon64);
#endif

/// The vector operations for tiles of NR rows on Isa, or void.
template <class Isa, int NR>
using VecFor = decltype(pick_vec<Isa, NR>(Isa{}));

/// Activation rows per micro-kernel call (MR), from the register budget: each of the MR×NV
/// int32 accumulators needs one register, plus one int16 partial sum without VNNI, plus the
/// decoded codes, the broadcast activations and two constants. 16 ymm/xmm registers hold 4×1
/// (4 + 4 + 4 + 4 = 16 with the float sums spilled per group); 32 zmm registers hold 8×1.
template <class V, int NR>
inline constexpr int kMicroRows = [] {
  const int nv = NR / V::kLanes;
  const int budget = V::kLanes == 16 ? 8 : 4;
  return budget / nv > 0 ? budget / nv : 1;
}();

/// Weights in a lane-tiled layout whose step codec the micro-kernels decode (Interleaved,
/// Trit5Tiles, Sparse34Tiles, BitPlanes), with the tile height kNR.
template <class W>
struct LaneTiled : std::false_type {};
template <class S, class G, HasCodec L>
struct LaneTiled<PackedMatrix<S, G, L>> : std::true_type {
  static constexpr int kNR = static_cast<int>(L::kTileRows);
};

/// The kernel families an entry point can run. Each entry point asks its function below at
/// compile time; two run-time conditions can still send a call to the reference (int32 group
/// sums past their exact length, the plain 4-bit GEMV for n > 1), which gemm/gemm.hpp checks.
enum class Path { kReference, kLaneTiles, kSequence, kPlain4Gemv };

/// int8 activations (gemm_int8, gemm, gemv): sequence kernels for the trellis and CCQ layouts
/// they were written for, lane-tiled micro-kernels where Isa's vectors tile NR, the AVX2 plain
/// 4-bit GEMV for PerGroup<32·j> in Plain, else the reference.
template <class Isa, class W>
consteval Path int8_path() {
  using S [[maybe_unused]] = typename W::scheme_type;
  using G [[maybe_unused]] = typename W::granularity_type;
  using L [[maybe_unused]] = typename W::layout_type;
  if constexpr (lowbit::detail::kSeqTiled<L>) {
    using K = SeqKernel<Isa, S, G>;
    if constexpr (K::kAvailable) {
      if constexpr (std::is_same_v<typename K::Layout, L>) return Path::kSequence;
    }
  }
  if constexpr (LaneTiled<W>::value) {
    if constexpr (!std::is_void_v<VecFor<Isa, LaneTiled<W>::kNR>>) return Path::kLaneTiles;
  }
#if LOWBIT_HAS_AVX2
  if constexpr (std::is_same_v<L, Plain> && S::kCodeBits == 4 &&
                G::kKind == GranularityKind::kPerGroup && std::is_base_of_v<isa::avx2, Isa>) {
    if constexpr (G::kGroupSize % 32 == 0) return Path::kPlain4Gemv;
  }
#endif
  return Path::kReference;
}

/// float activations (gemm_f32): lane tiles of schemes that decode as scale·(code - sub) + offset
/// (plane schemes, whose planes carry their own scales, run the reference).
template <class Isa, class W>
consteval Path f32_path() {
  if constexpr (LaneTiled<W>::value && AffineDecodeScheme<typename W::scheme_type>) {
    if constexpr (!std::is_void_v<VecFor<Isa, LaneTiled<W>::kNR>>) return Path::kLaneTiles;
  }
  return Path::kReference;
}

/// zero-point activations (gemm_zp): lane tiles of any non-plane scheme.
template <class Isa, class W>
consteval Path zp_path() {
  if constexpr (LaneTiled<W>::value && !PlaneDecodeScheme<typename W::scheme_type>) {
    if constexpr (!std::is_void_v<VecFor<Isa, LaneTiled<W>::kNR>>) return Path::kLaneTiles;
  }
  return Path::kReference;
}

/// Tile rows of the kernel layout for Isa: one vector of int32 accumulators per tile.
template <class Isa>
constexpr int kernel_tile_rows() noexcept {
  if constexpr (std::is_base_of_v<isa::avx512bw, Isa>) {
    return 16;
  } else if constexpr (std::is_base_of_v<isa::avx2, Isa>) {
    return 8;
  } else if constexpr (std::is_base_of_v<isa::sse4_2, Isa> || std::is_base_of_v<isa::neon64, Isa>) {
    return 4;
  } else {
    return 8;  // the scalar reference runs any tile shape
  }
}

}  // namespace lowbit::kernels

namespace lowbit {

/// The layout to repack affine weights (Symmetric, Asymmetric, DualBound, ggml's types) to for
/// the kernels of Isa: Interleaved<16, 32> on AVX-512, <8, 32> on AVX2, <4, 32> on SSE4.2 and
/// NEON. A matrix repacked for one ISA runs correctly on every other, just not at its best.
///   auto w = repack<KernelLayout<>>(quantize<Scheme, PerGroup<32>>(weights));
template <class Isa = isa::best>
using KernelLayout = Interleaved<kernels::kernel_tile_rows<Isa>(), 32>;

/// Unpacks one (tile, block) of an Interleaved<NR, KB> code stream of `Bits`-bit codes into
/// NR·KB bytes in lane order, with the widest vectors Isa has (the scalar reference otherwise).
template <class Isa, int Bits, int NR, int KB>
void unpack_block(const std::byte* block, std::uint8_t* lanes) {
  using V = kernels::VecFor<Isa, NR>;
  if constexpr (std::is_void_v<V>) {
    Interleaved<NR, KB>::unpack_block(Bits, block, lanes);
  } else {
    kernels::UnpackBlock<V, Bits, NR, KB>::run(block, lanes);
  }
}

}  // namespace lowbit
