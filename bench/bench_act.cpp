// SPDX-License-Identifier: Apache-2.0
// bench/bench_act.cpp: low-bit activations (issue #7): GEMM/GEMV with zero-point activation
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
#include <cstdio>

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
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
