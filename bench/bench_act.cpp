// SPDX-License-Identifier: Apache-2.0
// bench/bench_act.cpp: low-bit activations: GEMM/GEMV with zero-point activation
// codes (gemm_zp: W4A4, W4A8, W2A8) against the symmetric int8 path (gemm_int8: W4A8, W2A8) on
// the same weights, in the same binary and run, with Eigen fp32 as the common baseline.
//
// Weights: Symmetric<4 | 2> g32 f16 in the Interleaved layout of the best ISA compiled in.
// Activations are quantized once before the timed loop (per-token symmetric int8, or per-token
// min/max zero-point codes at 4 or 8 bits), so the kernels alone are timed; the group sums of
// gemm_zp are computed once (load time). n = 1 rotates the weights over >= 128 MB of copies
// (DRAM resident); n = 512 uses one copy (compute-bound). Names:
//   Eigen/<shape>/<n>
//   Act/<W?A?_kind>/<shape>/<n>/<threads>       kind: sym (gemm_int8) or zp (gemm_zp)
//   Probe/<vnniN|lut|mixE|kernel_vnni|kernel_lut> throughput probes (AVX-512 VNNI+VBMI)
//
// The probes back the W4A4 speed finding (bench/RESULTS.md, "bench_act"). vpdpbusd multiplies
// bytes, 64 products per zmm instruction whether the codes are 4- or 8-bit, so W4A4 on the int8
// micro-kernels runs at W4A8's speed. The one route that exploits 4-bit activations is a
// T-MAC-style lookup: a 64-entry table of the sums of 6 activations (<= 90, a byte only because
// they are 4-bit), indexed by one weight bit plane of 16 rows (vpermb), two units added as bytes
// and the 4 planes folded by one vpdpbusd with weights 1, 2, 4, 8: 192 products per 2 vpermb +
// vpaddb + vpdpbusd. It pays only where vpermb runs beside vpdpbusd. `vnniN`: N independent
// vpdpbusd chains (the peak); `lut`: lookup units only; `mixE`: 4 lookup units + E vpdpbusd;
// `kernel_vnni` / `kernel_lut`: an 8 × 16 micro-kernel over 256 tiles × 4 groups of 32 columns
// with its float epilogue, all-vpdpbusd vs 24 columns by lookup + 8 by vpdpbusd. Counter `GMAC`:
// 4-bit multiply-accumulates per second (the asm statements keep operands opaque: equal chains
// would otherwise be merged).
#include <cstdio>
#include <cstring>
#include <vector>
#if LOWBIT_HAS_AVX512VNNI && LOWBIT_HAS_AVX512VBMI
#include <immintrin.h>
#endif

#include "support/common.hpp"

namespace {

using namespace lowbit;
using namespace lowbit::bench;

#if LOWBIT_HAS_AVX512BW
constexpr int kNR = 16;
#else
constexpr int kNR = 8;
#endif

template <class S>
void act_bench(benchmark::State& state, Index shape, Index n, int threads, int abits) {
  using W = PackedMatrix<S, PerGroup<32>, Interleaved<kNR, 32>>;
  context();
  const Shape sh = kShapes[shape];
  Copies<W>& c = copies<W>(shape, n <= 32);
  const auto xf = gaussian(static_cast<std::size_t>(n * sh.k), 2);
  const MatrixView<const float> xv(xf.data(), n, sh.k);
  std::vector<float> y(static_cast<std::size_t>(n * sh.m));
  const MatrixView<float> yv(y.data(), n, sh.m);
  Context ctx(threads);
  std::size_t i = 0;
  if (abits == 0) {
    Int8Activations xq;
    quantize_activations(xv, xq);
    for (auto _ : state) {
      gemm_int8(c.w[i], xq, yv, ctx);
      benchmark::DoNotOptimize(y.data());
      i = (i + 1) % c.w.size();
    }
  } else {
    ZeroPointActivations xq;
    quantize_activations_minmax(xv, abits, xq);
    std::vector<ZeroPointRowSums> sums;
    for (const W& w : c.w) sums.emplace_back(w);
    for (auto _ : state) {
      gemm_zp(c.w[i], sums[i], xq, yv, ctx);
      benchmark::DoNotOptimize(y.data());
      i = (i + 1) % c.w.size();
    }
  }
  set_counters(state, sh, n, c.bytes, c.bpw);
}

template <class S>
void register_case(const char* wname, int abits) {
  for (Index shape : {0, 2})
    for (Index n : {1, 512})
      for (int threads : thread_counts()) {
        // snprintf: GCC 12's -Wrestrict misreads "/" + std::to_string(…) here (PR 105329).
        char name[96];
        std::snprintf(name, sizeof name, "Act/%s%s/%lld/%lld/%d", wname,
                      abits == 0 ? "A8_sym" : (abits == 4 ? "A4_zp" : "A8_zp"),
                      static_cast<long long>(shape), static_cast<long long>(n), threads);
        benchmark::RegisterBenchmark(name, act_bench<S>, shape, n, threads, abits)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
}

#if LOWBIT_HAS_AVX512VNNI && LOWBIT_HAS_AVX512VBMI
// One lookup unit: two 6-activation lookups per (row, plane) byte, summed (|.| <= 96 < 128), then
// the planes weighted 1, 2, 4, 8 by vpdpbusd: 2 · 16 rows · 6 columns = 192 products.
LOWBIT_INLINE __m512i lut_unit(__m512i acc, __m512i i0, __m512i i1, __m512i table, __m512i planes) {
  return _mm512_dpbusd_epi32(
      acc, planes,
      _mm512_add_epi8(_mm512_permutexvar_epi8(i0, table), _mm512_permutexvar_epi8(i1, table)));
}

// kind 0: 8 vpdpbusd chains (512 products per iteration); 1: 4 lookup units (768); 2: 4 lookup
// units and `extra` vpdpbusd (768 + 64·extra). The empty asm keeps the operands opaque.
template <int Extra>
void probe(benchmark::State& state, int kind) {
  constexpr long kIters = 1 << 20;
  const long products[] = {512 + 64 * Extra, 768, 768 + 64 * Extra};
  __m512i w = _mm512_set1_epi8(3), t = _mm512_set1_epi8(5);
  const __m512i pw = _mm512_set1_epi32(0x08040201);
  __m512i r = _mm512_setzero_si512();
  for (auto _ : state) {
    __m512i a[8], b[Extra > 0 ? Extra : 1];
    // Opaque starting values: otherwise equal chains would be merged into one.
    for (auto& v : a) {
      v = w;
      asm volatile("" : "+v"(v));
    }
    for (auto& v : b) {
      v = t;
      asm volatile("" : "+v"(v));
    }
    // Eight distinct (opaque) index vectors: no two lookups share operands, so none is merged.
    __m512i ix[8] = {w, t, pw, w, t, pw, w, t};
    for (long i = 0; i < kIters; ++i) {
      asm volatile("" : "+v"(w), "+v"(t), "+v"(ix[0]), "+v"(ix[1]), "+v"(ix[2]), "+v"(ix[3]));
      asm volatile("" : "+v"(ix[4]), "+v"(ix[5]), "+v"(ix[6]), "+v"(ix[7]));
      if (kind == 0) {
        for (auto& v : a) v = _mm512_dpbusd_epi32(v, w, t);
        for (int e = 0; e < Extra; ++e) b[e] = _mm512_dpbusd_epi32(b[e], w, t);
      } else {
        for (int u = 0; u < 4; ++u) a[u] = lut_unit(a[u], ix[2 * u], ix[2 * u + 1], t, pw);
        if (kind == 2)
          for (int e = 0; e < Extra; ++e) b[e] = _mm512_dpbusd_epi32(b[e], w, t);
      }
    }
    for (const auto& v : a) r = _mm512_add_epi32(r, v);
    for (const auto& v : b) r = _mm512_add_epi32(r, v);
    benchmark::DoNotOptimize(r);
  }
  state.counters["GMAC"] =
      benchmark::Counter(static_cast<double>(kIters) * static_cast<double>(products[kind]) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}
// Kernel-shaped probe: 8 activation columns × 16 weight rows per call, K-slices of 128 columns
// (4 groups of 32, a float epilogue per group, the float sums loaded and stored per call), over
// 256 tiles whose weights (L2-resident) stream past tables/codes that stay in L1. kind 0: the
// VNNI route (nibble codes, 8 vpdpbusd per column and group); kind 1: the lookup route (24 of
// each group's 32 columns by 4 vpermb over 64-entry tables of 6 activations, the other 8 by 2
// vpdpbusd). Counter GMAC as above. Values are arbitrary: only the instruction stream matters.
void probe_kernel(benchmark::State& state, int kind) {
  constexpr int MR = 8, kTiles = 256, kChunks = 4;
  const int wbytes = kind == 0 ? 256 : 320;  // per tile and group
  std::vector<std::uint8_t> wbuf(static_cast<std::size_t>(kTiles * kChunks * wbytes) + 64, 0x5a);
  alignas(64) static std::uint8_t tables[kChunks][4][MR][64];
  alignas(64) static std::int32_t xw[kChunks][8][MR];
  alignas(64) static float facc[kTiles][MR][16];
  std::memset(tables, 3, sizeof tables);
  std::memset(xw, 2, sizeof xw);
  std::memset(facc, 0, sizeof facc);
  const __m512i pw = _mm512_set1_epi32(0x08040201), low = _mm512_set1_epi8(0x0f);
  const __m512 scale = _mm512_set1_ps(1e-9f);
  for (auto _ : state) {
    for (int tile = 0; tile < kTiles; ++tile) {
      const std::uint8_t* wt = wbuf.data() + static_cast<std::size_t>(tile * kChunks * wbytes);
      // Opaque activation pointers: nothing may be hoisted out of the tile loop.
      const std::uint8_t(*tab)[4][MR][64] = tables;
      const std::int32_t(*xv)[8][MR] = xw;
      asm volatile("" : "+r"(tab), "+r"(xv));
      __m512 f[MR];
      for (int m = 0; m < MR; ++m) f[m] = _mm512_load_ps(facc[tile][m]);
      for (int c = 0; c < kChunks; ++c) {
        const std::uint8_t* wc = wt + c * wbytes;
        __m512i acc[MR];
        for (auto& a : acc) a = _mm512_setzero_si512();
        if (kind == 0) {
          for (int s2 = 0; s2 < 4; ++s2) {
            const __m512i raw = _mm512_loadu_si512(wc + 64 * s2);
            const __m512i c0 = _mm512_and_si512(raw, low);
            const __m512i c1 = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low);
            for (int m = 0; m < MR; ++m) {
              acc[m] = _mm512_dpbusd_epi32(acc[m], c0, _mm512_set1_epi32(xv[c][2 * s2][m]));
              acc[m] = _mm512_dpbusd_epi32(acc[m], c1, _mm512_set1_epi32(xv[c][2 * s2 + 1][m]));
            }
          }
        } else {
          const __m512i i0 = _mm512_loadu_si512(wc), i1 = _mm512_loadu_si512(wc + 64);
          const __m512i i2 = _mm512_loadu_si512(wc + 128), i3 = _mm512_loadu_si512(wc + 192);
          const __m512i raw = _mm512_loadu_si512(wc + 256);
          const __m512i c6 = _mm512_and_si512(raw, low);
          const __m512i c7 = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low);
          for (int m = 0; m < MR; ++m) {
            const __m512i lo =
                _mm512_add_epi8(_mm512_permutexvar_epi8(i0, _mm512_load_si512(tab[c][0][m])),
                                _mm512_permutexvar_epi8(i1, _mm512_load_si512(tab[c][1][m])));
            const __m512i hi =
                _mm512_add_epi8(_mm512_permutexvar_epi8(i2, _mm512_load_si512(tab[c][2][m])),
                                _mm512_permutexvar_epi8(i3, _mm512_load_si512(tab[c][3][m])));
            acc[m] = _mm512_dpbusd_epi32(acc[m], lo, pw);
            acc[m] = _mm512_dpbusd_epi32(acc[m], hi, pw);
            acc[m] = _mm512_dpbusd_epi32(acc[m], c6, _mm512_set1_epi32(xv[c][6][m]));
            acc[m] = _mm512_dpbusd_epi32(acc[m], c7, _mm512_set1_epi32(xv[c][7][m]));
          }
        }
        for (int m = 0; m < MR; ++m)
          f[m] = _mm512_add_ps(f[m], _mm512_mul_ps(_mm512_cvtepi32_ps(acc[m]), scale));
      }
      for (int m = 0; m < MR; ++m) _mm512_store_ps(facc[tile][m], f[m]);
    }
    benchmark::DoNotOptimize(facc);
  }
  state.counters["GMAC"] = benchmark::Counter(kTiles * kChunks * MR * 16 * 32 * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

#endif

}  // namespace

int main(int argc, char** argv) {
  for (Index shape : {0, 2}) {
    benchmark::RegisterBenchmark(("Eigen/" + std::to_string(shape) + "/512").c_str(), eigen_gemm,
                                 shape, Index{512})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Eigen/" + std::to_string(shape) + "/1").c_str(), eigen_gemv,
                                 shape)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  using S4 = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  using S2 = Symmetric<2, SymmetricConvention::kFullRange, f16>;
  register_case<S4>("W4", 0);
  register_case<S4>("W4", 8);
  register_case<S4>("W4", 4);
  register_case<S2>("W2", 0);
  register_case<S2>("W2", 8);
#if LOWBIT_HAS_AVX512VNNI && LOWBIT_HAS_AVX512VBMI
  benchmark::RegisterBenchmark("Probe/vnni8", probe<0>, 0)->UseRealTime();
  benchmark::RegisterBenchmark("Probe/vnni12", probe<4>, 0)->UseRealTime();
  benchmark::RegisterBenchmark("Probe/vnni16", probe<8>, 0)->UseRealTime();
  benchmark::RegisterBenchmark("Probe/vnni20", probe<12>, 0)->UseRealTime();
  benchmark::RegisterBenchmark("Probe/lut", probe<0>, 1)->UseRealTime();
  benchmark::RegisterBenchmark("Probe/mix4", probe<4>, 2)->UseRealTime();
  benchmark::RegisterBenchmark("Probe/mix8", probe<8>, 2)->UseRealTime();
  benchmark::RegisterBenchmark("Probe/mix12", probe<12>, 2)->UseRealTime();
  benchmark::RegisterBenchmark("Probe/kernel_vnni", probe_kernel, 0)->UseRealTime();
  benchmark::RegisterBenchmark("Probe/kernel_lut", probe_kernel, 1)->UseRealTime();
#endif
  return lowbit::bench::run_registered(argc, argv);
}
