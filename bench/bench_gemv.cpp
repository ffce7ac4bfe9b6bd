// SPDX-License-Identifier: Apache-2.0
// bench/bench_gemv.cpp: n = 1 GEMV (token generation) on packed weights against Eigen fp32 and a
// stream of the packed bytes, in the same binary and run.
//
// Shape m = 4096 outputs, k = 14336 inputs (a Llama FFN down projection). Weights rotate over
// enough distinct copies (>= 128 MB in total) that every product streams them from DRAM, as
// PERF.md's llama.cpp figures were measured. GFLOP/s-equivalent = 2·m·k / time.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <random>
#include <vector>

#include "lowbit/interop/eigen.hpp"
#include "lowbit/kernels/gemv.hpp"
#include "lowbit/lowbit.hpp"

namespace {

using namespace lowbit;

constexpr Index kM = 4096;
constexpr Index kK = 14336;
constexpr double kMinBytes = 128.0 * 1024 * 1024;

std::vector<float> gaussian(std::size_t n, std::uint64_t seed) {
  std::vector<float> v(n);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& x : v) x = nd(rng);
  return v;
}

const std::vector<float>& weights() {
  static const std::vector<float> w = gaussian(static_cast<std::size_t>(kM * kK), 1);
  return w;
}

void context() {
  static bool done = false;
  if (done) return;
  done = true;
  benchmark::AddCustomContext("isa", std::string(isa::best::name()));
  benchmark::AddCustomContext("shape", "m=4096 k=14336 n=1, weights rotated over >= 128 MB");
}

void set_counters(benchmark::State& state, double packed_bytes, double bpw) {
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(packed_bytes));
  state.counters["GFLOPs"] =
      benchmark::Counter(2.0 * kM * kK * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["bits_per_weight"] = bpw;
}

void BM_EigenFp32Gemv(benchmark::State& state) {
  context();
  const int copies = static_cast<int>(kMinBytes / (4.0 * kM * kK)) + 1;
  std::vector<interop::RowMatrixXf> ws;
  for (int c = 0; c < copies; ++c)
    ws.emplace_back(interop::RowMatrixXf::Map(weights().data(), kM, kK));
  const std::vector<float> x = gaussian(kK, 2);
  std::vector<float> y(kM);
  int i = 0;
  for (auto _ : state) {
    interop::eigen_gemv(interop::view(ws[static_cast<std::size_t>(i)]), x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % copies;
  }
  set_counters(state, 4.0 * kM * kK, 32.0);
}
BENCHMARK(BM_EigenFp32Gemv)->Unit(benchmark::kMillisecond)->UseRealTime();

template <class S, int G>
struct Packed {
  std::vector<PackedMatrix<S, PerGroup<G>, Plain>> copies;
  double bytes = 0.0;
  Packed() {
    const auto q =
        quantize<S, PerGroup<G>, Plain>(MatrixView<const float>(weights().data(), kM, kK), {});
    bytes = static_cast<double>(q.codes().size() + q.params().size_bytes());
    const int n = static_cast<int>(kMinBytes / bytes) + 1;
    for (int c = 0; c < n; ++c) copies.push_back(q.clone());
  }
};

template <class S, int G>
const Packed<S, G>& packed() {
  static const Packed<S, G> p;
  return p;
}

/// Streams the same packed bytes (codes and parameters), summing them: the memory-bound ceiling.
template <class S, int G>
void BM_StreamPacked(benchmark::State& state) {
  context();
  const auto& p = packed<S, G>();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& m = p.copies[i];
    const auto* c = reinterpret_cast<const std::uint64_t*>(m.codes().data());
    std::uint64_t acc[8] = {};
    const std::size_t n = m.codes().size() / 8;
    for (std::size_t j = 0; j + 8 <= n; j += 8) {
      for (int l = 0; l < 8; ++l) acc[l] += c[j + static_cast<std::size_t>(l)];
    }
    const auto* pp = reinterpret_cast<const std::uint64_t*>(m.params().data());
    for (std::size_t j = 0; j < m.params().size_bytes() / 8; ++j) acc[j % 8] += pp[j];
    benchmark::DoNotOptimize(acc);
    i = (i + 1) % p.copies.size();
  }
  set_counters(state, p.bytes, p.copies[0].bits_per_weight());
}

/// Quantizes the fp32 activation row to int8 and runs the fused GEMV (both timed).
template <class S, int G>
void BM_GemvInt8(benchmark::State& state) {
  context();
  const auto& p = packed<S, G>();
  const std::vector<float> x = gaussian(kK, 2);
  std::vector<float> y(kM);
  Int8Activations a;
  std::size_t i = 0;
  for (auto _ : state) {
    quantize_activations(MatrixView<const float>(x.data(), 1, kK), a);
    gemv_int8(p.copies[i], a, VectorView<float>(y.data(), kM));
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % p.copies.size();
  }
  set_counters(state, p.bytes, p.copies[0].bits_per_weight());
}

using Sym4 = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
using Asym4 = Asymmetric<4, AsymmetricOffset::kIntZero, f16>;

BENCHMARK_TEMPLATE(BM_StreamPacked, Sym4, 32)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_GemvInt8, Sym4, 32)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_StreamPacked, Asym4, 128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_GemvInt8, Asym4, 128)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
