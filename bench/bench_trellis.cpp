// SPDX-License-Identifier: Apache-2.0
// bench/bench_trellis.cpp: the trellis and convolutional codes of issue #6 — accuracy on 2^20
// i.i.d. N(0, 1) samples (fixed seed) and encoding speed.
//
//   Nmse/<code>/<threads>     4096 × 256 samples, L = 16, K = 2, groups of 256 (one f16 scale
//                             each: 2.0625 bpw); counters: nmse, weights_per_s (encoding)
//   Encode4096/<code>/<threads>  a whole 4096 × 4096 matrix (the issue's ≤ 10 minute goal)
//   Small/<threads>           64 × 256 (the CI smoke run)
//   Wint2/<threads>, Wint25/<threads>   CCQ WINT2 / WINT2.5 (calib/ccq.hpp, default options) on
//                             256 × 4096 samples; bpw counts what lowbit stores (WINT2: the
//                             format's 2.0625 + 80 bits a row; WINT2.5: Plain's 3-bit windows)
// Each case runs once (an encode is deterministic; its time is seconds to minutes).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "lowbit/calib/ccq.hpp"
#include "lowbit/calib/trellis_viterbi.hpp"
#include "lowbit/lowbit.hpp"
#include "support/common.hpp"

namespace {

using namespace lowbit;

/// Quantizes `rows` × `cols` N(0, 1) weights by quantize(view, threads) once; counters: NMSE,
/// bits per weight and encoding rate.
template <class Quantize>
void quantize_case(benchmark::State& state, Index rows, Index cols, Quantize&& quantize) {
  const auto w = bench::gaussian(static_cast<std::size_t>(rows * cols), 20261123);
  const MatrixView<const float> wv(w.data(), rows, cols);
  const int threads = static_cast<int>(state.range(0));
  double nmse = 0.0, bpw = 0.0;
  for (auto _ : state) {
    const auto q = quantize(wv, threads);
    state.PauseTiming();
    const auto d = dequantize(q);
    double e = 0.0, s = 0.0;
    for (std::size_t i = 0; i < d.size(); ++i) {
      e += (static_cast<double>(d[i]) - w[i]) * (static_cast<double>(d[i]) - w[i]);
      s += static_cast<double>(w[i]) * w[i];
    }
    nmse = e / s;
    bpw = q.bits_per_weight();
    state.ResumeTiming();
  }
  state.counters["nmse"] = nmse;
  state.counters["bpw"] = bpw;
  state.counters["weights_per_s"] = benchmark::Counter(
      static_cast<double>(rows * cols), benchmark::Counter::kIsIterationInvariantRate);
}

template <class S>
auto trellis_fn() {
  return [](MatrixView<const float> w, int threads) {
    calib::TrellisOptions o;
    o.threads = threads;
    return calib::trellis_quantize<S, PerGroup<256>>(w, o);
  };
}

template <class S>
void nmse_case(benchmark::State& state) {
  quantize_case(state, 4096, 256, trellis_fn<S>());
}
template <class S>
void encode4096_case(benchmark::State& state) {
  quantize_case(state, 4096, 4096, trellis_fn<S>());
}
void small_case(benchmark::State& state) {
  quantize_case(state, 64, 256, trellis_fn<ConvCode<16, 2, 1, CodeMix7>>());
}
void wint2_case(benchmark::State& state) {
  quantize_case(state, 256, 4096, [](MatrixView<const float> w, int threads) {
    calib::CcqOptions o;
    o.threads = threads;
    return calib::ccq_wint2_quantize(w, o);
  });
}
void wint25_case(benchmark::State& state) {
  quantize_case(state, 256, 4096, [](MatrixView<const float> w, int threads) {
    calib::CcqOptions o;
    o.threads = threads;
    return calib::ccq_wint25_quantize(w, o);
  });
}

template <class F>
void reg(const std::string& name, F f) {
  auto* b = benchmark::RegisterBenchmark(name.c_str(), f);
  for (int t : bench::thread_counts()) b->Arg(t);
  b->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  reg("Nmse/mix7", nmse_case<ConvCode<16, 2, 1, CodeMix7>>);
  reg("Nmse/1mad", nmse_case<ConvCode<16, 2, 1, Code1Mad>>);
  reg("Nmse/3inst", nmse_case<ConvCode<16, 2, 1, Code3Inst>>);
  reg("Encode4096/mix7", encode4096_case<ConvCode<16, 2, 1, CodeMix7>>);
  reg("Small", small_case);
  reg("Wint2", wint2_case);
  reg("Wint25", wint25_case);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bench::context();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
