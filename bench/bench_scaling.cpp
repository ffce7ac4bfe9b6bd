// SPDX-License-Identifier: Apache-2.0
// bench/bench_scaling.cpp: how compute-bound work scales with threads on this machine: the
// physical ceiling for the GEMM thread-scaling goal. Each benchmark runs the same work in every
// thread at once (Google Benchmark ->Threads), nothing shared, everything in registers or L1:
//   DpbusdPeak   8 independent vpdpbusd (or vpmaddubsw+vpmaddwd+vpaddd) chains on registers
//   TileL2       lowbit's GEMM (isa::best, 4-bit g32) on an L2-resident 64 × 4096 matrix and
//                8 activation rows, one Context per benchmark thread
// Counters are aggregate rates (all threads). The rate at T threads over the 1-thread rate is the
// scaling any kernel of that kind can reach here (clock drops with more active cores, shared-core
// vCPUs, ...).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "lowbit/lowbit.hpp"

namespace {

using namespace lowbit;

#if LOWBIT_HAS_AVX2
void dpbusd_peak(benchmark::State& state) {
#if LOWBIT_HAS_AVX512BW
  using V = kernels::Vec512<isa::avx512bw>;
#else
  using V = kernels::Vec256<isa::avx2>;
#endif
  using I = typename V::I;
  const I u = V::set1_8(7), s = V::set1_8(-3), ones = V::set1_16(1);
  // Eight independent chains in named registers (an array would live on the stack).
  I a0 = V::zero(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  auto step = [&](I& a) {
    if constexpr (V::kVnni) {
      a = V::dpbusd(a, u, s);
    } else {
      a = V::add32(a, V::madd16(V::maddubs(u, s), ones));
    }
  };
  constexpr int kIters = 1 << 14;
  for (auto _ : state) {
    for (int i = 0; i < kIters; ++i) {
      step(a0), step(a1), step(a2), step(a3), step(a4), step(a5), step(a6), step(a7);
      __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3));
      __asm__ volatile("" : "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7));
    }
  }
  I sum = V::add32(V::add32(V::add32(a0, a1), V::add32(a2, a3)),
                   V::add32(V::add32(a4, a5), V::add32(a6, a7)));
  benchmark::DoNotOptimize(sum);
  state.counters["GMACs"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kIters * 8 * V::kLanes * 4,
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK(dpbusd_peak)->Threads(1)->Threads(2)->Threads(4)->Threads(8)->Threads(16)->UseRealTime();
#endif

void tile_l2(benchmark::State& state) {
  using S = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  constexpr int NR = 16;
  const Index m = 4 * NR, k = 4096, n = 8;
  std::vector<float> wf(static_cast<std::size_t>(m * k)), xf(static_cast<std::size_t>(n * k));
  for (std::size_t i = 0; i < wf.size(); ++i) wf[i] = static_cast<float>((i * 7919) % 13) - 6.0f;
  for (std::size_t i = 0; i < xf.size(); ++i) xf[i] = static_cast<float>((i * 104729) % 11) - 5.0f;
  const auto w = repack<Interleaved<NR, 32>>(
      quantize<S, PerGroup<32>, Plain>(MatrixView<const float>(wf.data(), m, k), {}));
  Int8Activations a;
  quantize_activations(MatrixView<const float>(xf.data(), n, k), a);
  std::vector<float> y(static_cast<std::size_t>(n * m));
  Context ctx(1);  // one per benchmark thread: no sharing
  for (auto _ : state) {
    gemm_int8(w, a, MatrixView<float>(y.data(), n, m), ctx);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 2.0 * static_cast<double>(m * k * n),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK(tile_l2)->Threads(1)->Threads(2)->Threads(4)->Threads(8)->Threads(16)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
