// SPDX-License-Identifier: Apache-2.0
// bench/bench_quantize.cpp: encode cost of lowbit::quantize (the offline / load-time path).
//
// Throughput is GB/s of fp32 input (SetBytesProcessed = 4 bytes per weight), 1 thread, on a
// 4096 x 4096 matrix (64 MiB of fp32, larger than the last-level cache). The in-run baseline is
// a loop that only streams the same fp32 bytes (sums them), i.e. the memory-bound ceiling.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "lowbit/lowbit.hpp"

namespace {

using namespace lowbit;

constexpr Index kRows = 4096;
constexpr Index kCols = 4096;

const std::vector<float>& weights() {
  static const std::vector<float> w = [] {
    std::vector<float> v(static_cast<std::size_t>(kRows * kCols));
    std::mt19937_64 rng(42);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& x : v) x = nd(rng);
    return v;
  }();
  return w;
}

void add_context() {
  static bool done = false;
  if (done) return;
  done = true;
#if LOWBIT_HAS_AVX512BW
  benchmark::AddCustomContext("isa", "avx512bw (compiler-vectorised scalar code)");
#elif LOWBIT_HAS_AVX2
  benchmark::AddCustomContext("isa", "avx2 (compiler-vectorised scalar code)");
#else
  benchmark::AddCustomContext("isa", "scalar");
#endif
  benchmark::AddCustomContext("shape", "4096x4096 fp32 input");
}

void BM_StreamFp32(benchmark::State& state) {
  add_context();
  const auto& w = weights();
  for (auto _ : state) {
    float acc[16] = {};
    for (std::size_t i = 0; i + 16 <= w.size(); i += 16) {
      for (int j = 0; j < 16; ++j) acc[j] += w[i + static_cast<std::size_t>(j)];
    }
    benchmark::DoNotOptimize(acc);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(w.size() * sizeof(float)));
}
BENCHMARK(BM_StreamFp32)->Unit(benchmark::kMillisecond);

// Into a preallocated matrix (quantize_into), as llama.cpp's quantize_row_* writes into a given
// buffer; BM_QuantizeAlloc also allocates and first-touches the output every time.
template <class S, class G, int Fit>
void BM_QuantizeAlloc(benchmark::State& state) {
  add_context();
  const auto& w = weights();
  QuantizeOptions opt;
  opt.threads = static_cast<int>(state.range(0));
  const MatrixView<const float> v(w.data(), kRows, kCols);
  for (auto _ : state) {
    auto q = quantize<S, G, Plain>(v, opt);
    benchmark::DoNotOptimize(q.codes().data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(w.size() * sizeof(float)));
}

template <class S, class G, int Fit>
void BM_Quantize(benchmark::State& state) {
  add_context();
  const auto& w = weights();
  QuantizeOptions opt;
  opt.threads = static_cast<int>(state.range(0));
  if (Fit >= 1) opt.fit.range = RangeFit::kClipSearch;
  if (Fit >= 2) opt.fit.refit_iters = 4;
  const MatrixView<const float> v(w.data(), kRows, kCols);
  PackedMatrix<S, G, Plain> q(kRows, kCols);
  for (auto _ : state) {
    quantize_into(v, opt, q);
    benchmark::DoNotOptimize(q.codes().data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(w.size() * sizeof(float)));
  state.counters["bits_per_weight"] =
      S::kCodeBits + static_cast<double>(S::kParamBits) / static_cast<double>(G::group_cols(kCols));
}

using SignedMax4 = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
using SignedMax2 = Symmetric<2, SymmetricConvention::kSignedMax, f16>;
using AsymInt3 = Asymmetric<3, AsymmetricOffset::kIntZero, f16>;
using AsymFp4 = Asymmetric<4, AsymmetricOffset::kFloatMin, f16>;
using AsymFp2 = Asymmetric<2, AsymmetricOffset::kFloatMin, f16>;

constexpr int kRtn = 0, kClip = 1, kClipLs = 2;

BENCHMARK_TEMPLATE(BM_Quantize, SignedMax4, PerGroup<32>, kRtn)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_QuantizeAlloc, SignedMax4, PerGroup<32>, kRtn)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Quantize, SignedMax2, PerGroup<32>, kRtn)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Quantize, AsymInt3, PerGroup<64>, kRtn)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Quantize, AsymFp4, PerGroup<128>, kRtn)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Quantize, SignedMax4, PerGroup<32>, kClip)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Quantize, AsymInt3, PerGroup<64>, kClip)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Quantize, AsymFp4, PerGroup<128>, kClipLs)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Quantize, AsymFp2, PerGroup<128>, kClipLs)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
