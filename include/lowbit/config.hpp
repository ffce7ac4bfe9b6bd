// SPDX-License-Identifier: Apache-2.0
// lowbit/config.hpp: the only header that reads compiler and ISA macros.
//
// Everything else asks these LOWBIT_* macros. LOWBIT_FORCE_SCALAR (set by
// lowbit_target_isa(<t> scalar)) turns every LOWBIT_HAS_<ISA> off, so isa::best is the scalar
// reference path whatever the compiler flags allow.
#pragma once

// xsimd carries the vector loops of the quantizers, activation quantization and the Hadamard
// rotation (simd/f32x8.hpp), the kernels' float operations (kernels/float_ops.hpp), and each ISA
// tag's `arch`: the kernels are compiled for an ISA only with it. lowbit::lowbit defines
// LOWBIT_HAS_XSIMD (1, or 0 when configured without); elsewhere the header's presence decides.
#if !defined(LOWBIT_HAS_XSIMD) && defined(__has_include)
#if __has_include(<xsimd/xsimd.hpp>)
#define LOWBIT_HAS_XSIMD 1
#endif
#endif
#if defined(LOWBIT_HAS_XSIMD) && LOWBIT_HAS_XSIMD && !defined(LOWBIT_FORCE_SCALAR)
#define LOWBIT_USE_XSIMD 1
#else
#define LOWBIT_USE_XSIMD 0
#endif

#if LOWBIT_USE_XSIMD && defined(__SSE4_2__)
#define LOWBIT_HAS_SSE4_2 1
#else
#define LOWBIT_HAS_SSE4_2 0
#endif
#if LOWBIT_USE_XSIMD && defined(__AVX2__) && defined(__FMA__)
#define LOWBIT_HAS_AVX2 1
#else
#define LOWBIT_HAS_AVX2 0
#endif
// xsimd 8.1's avx512bw architecture needs F, CD, DQ and BW for integer batches.
#if LOWBIT_USE_XSIMD && defined(__AVX512F__) && defined(__AVX512CD__) && defined(__AVX512DQ__) && \
    defined(__AVX512BW__)
#define LOWBIT_HAS_AVX512BW 1
#else
#define LOWBIT_HAS_AVX512BW 0
#endif
#if LOWBIT_HAS_AVX512BW && defined(__AVX512VNNI__)
#define LOWBIT_HAS_AVX512VNNI 1
#else
#define LOWBIT_HAS_AVX512VNNI 0
#endif
// VBMI (vpermi2b, vpmultishiftqb) and VBMI2 (vpshrdw): the sequence-code kernels
// (kernels/x86/seq_tile_x86.hpp), which also need VNNI.
#if LOWBIT_HAS_AVX512VNNI && defined(__AVX512VBMI__) && defined(__AVX512VBMI2__)
#define LOWBIT_HAS_AVX512VBMI 1
#else
#define LOWBIT_HAS_AVX512VBMI 0
#endif
#if LOWBIT_HAS_AVX512BW && defined(__AVX512VPOPCNTDQ__)
#define LOWBIT_HAS_AVX512VPOPCNTDQ 1
#else
#define LOWBIT_HAS_AVX512VPOPCNTDQ 0
#endif
#if LOWBIT_USE_XSIMD && defined(__aarch64__) && defined(__ARM_NEON)
#define LOWBIT_HAS_NEON64 1
#else
#define LOWBIT_HAS_NEON64 0
#endif
#if !defined(LOWBIT_FORCE_SCALAR) && defined(__F16C__)
#define LOWBIT_HAS_F16C 1
#else
#define LOWBIT_HAS_F16C 0
#endif
// Floats in the widest vector register the target has, for loops written in GCC/clang vector
// extensions whose shuffles must stay inside one register (calib/trellis_viterbi.hpp): a wider
// vector is split into several registers and a shuffle across them is compiled lane by lane.
#if defined(__AVX512F__)
#define LOWBIT_FLOAT_LANES 16
#elif defined(__AVX__)
#define LOWBIT_FLOAT_LANES 8
#else
#define LOWBIT_FLOAT_LANES 4
#endif
// Carry-less multiply (io::crc32 folds 64 bytes a step with it): every AVX2 machine has it.
#if !defined(LOWBIT_FORCE_SCALAR) && defined(__PCLMUL__) && defined(__SSE4_1__)
#define LOWBIT_HAS_PCLMUL 1
#else
#define LOWBIT_HAS_PCLMUL 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LOWBIT_INLINE inline __attribute__((always_inline))
// Always inlined, and every call inside it inlined too (for thin wrappers around a library
// whose own functions are only `inline`, as xsimd 8.1's are).
#define LOWBIT_FLAT_INLINE inline __attribute__((always_inline, flatten))
#define LOWBIT_LAMBDA_INLINE __attribute__((always_inline))  // after a lambda's parameters
#define LOWBIT_RESTRICT __restrict__
#define LOWBIT_LIKELY(x) __builtin_expect(!!(x), 1)
#define LOWBIT_UNLIKELY(x) __builtin_expect(!!(x), 0)
// Unrolls the next loop completely: the micro-kernels' loops over their accumulator rows and
// vectors (trip counts known at compile time). GCC unrolls these at -O3 but not at -O2, where
// the accumulators would stay in memory and a GEMM tile run at half speed.
#define LOWBIT_UNROLL _Pragma("GCC unroll 16")
#else
#define LOWBIT_INLINE inline
#define LOWBIT_FLAT_INLINE inline
#define LOWBIT_LAMBDA_INLINE
#define LOWBIT_RESTRICT
#define LOWBIT_LIKELY(x) (x)
#define LOWBIT_UNLIKELY(x) (x)
#define LOWBIT_UNROLL
#endif

// x86 intrinsics, included here first where AVX-512 is enabled. GCC 12's own avx512fintrin.h
// raises false -Wmaybe-uninitialized / -Wuninitialized warnings once its _mm512_undefined_*
// helpers are inlined (GCC bug 105593, fixed in GCC 13); they are located in GCC's header, so
// ignoring them while it is read keeps a consumer's -Wall -Werror build clean without touching
// the consumer's own warnings (when lowbit is the first to include <immintrin.h>). Other builds
// leave <immintrin.h> to the headers that use it (a quarter of a second of parsing saved for
// code that only names weight types, lowbit/weights.hpp).
#if (defined(__x86_64__) || defined(__i386__)) && defined(__AVX512F__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lowbit: big-endian targets are not supported (io/ reads little-endian files in place)"
#endif

// Software prefetch distance for the weight stream, in bytes ahead of the block being decoded.
// Little's law: ≈ 100 ns DRAM latency × ≈ 20-25 GB/s per core ≈ 2-2.5 KB must be in flight; the
// hardware prefetchers alone kept one core at ≈ 15-17 GB/s on the 4-bit GEMV (Zen 4), 4 KB ahead
// gives 20-23 GB/s (measured 512 B … 16 KB: 4-8 KB best). Override with -DLOWBIT_PREFETCH_BYTES=N
// (0 disables). The hint: prefetcht2 (locality 1, into L2) 8 KB ahead beat prefetchnta 4 KB
// ahead on the DRAM-resident 2-bit ternary GEMV (0.63-0.71 ms vs 0.74-0.85 over five alternating
// runs, m 4096, k 14336, Zen 4), and matched or beat it on the 4-bit and 2-bit g32 GEMVs: the L2
// has more outstanding-miss slots than the L1 that prefetchnta fills.
#ifndef LOWBIT_PREFETCH_BYTES
#define LOWBIT_PREFETCH_BYTES 8192
#endif
#ifndef LOWBIT_PREFETCH_LOCALITY
#define LOWBIT_PREFETCH_LOCALITY 1
#endif
