// SPDX-License-Identifier: Apache-2.0
// bench/support/common.hpp: what bench_gemv and bench_gemm share: shapes, weights, the rotating
// DRAM-resident copies, the streaming baseline, counters.
//
// Method: weights rotate over enough distinct copies (>= 128 MB packed in total, 4×
// the L3) that every product streams them from DRAM, as the llama.cpp figures were measured.
// Only one weight set is alive at a time (a single global slot), so memory stays bounded.
#pragma once

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <typeinfo>
#include <vector>

#include "lowbit/interop/eigen.hpp"
#include "lowbit/lowbit.hpp"
#include "main.hpp"

namespace lowbit::bench {

struct Shape {
  Index m, k;
};
/// 0: FFN down (m 4096, k 14336), 1: FFN up/gate (m 14336, k 4096), 2: attention (4096²).
inline constexpr Shape kShapes[] = {{4096, 14336}, {14336, 4096}, {4096, 4096}};
inline constexpr double kMinBytes = 128.0 * 1024 * 1024;

inline std::vector<float> gaussian(std::size_t n, std::uint64_t seed) {
  std::vector<float> v(n);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& x : v) x = nd(rng);
  return v;
}

/// Thread counts to register: LOWBIT_BENCH_THREADS="1,2,16" (default 1 and 2).
inline std::vector<int> thread_counts() {
  std::vector<int> t;
  const char* env = std::getenv("LOWBIT_BENCH_THREADS");
  std::string s = env != nullptr ? env : "1,2";
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t end = s.find(',', pos);
    const int v = std::atoi(s.substr(pos, end - pos).c_str());
    if (v > 0) t.push_back(v);
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return t;
}

inline void context() {
  static bool done = false;
  if (done) return;
  done = true;
  benchmark::AddCustomContext("isa_best", std::string(isa::best::name()));
  benchmark::AddCustomContext("method",
                              "weights rotated over >= 128 MB of copies (DRAM resident); "
                              "GFLOPs = 2·m·n·k / time; args: shape index, threads[, n]");
}

/// The one live benchmark fixture (weights of one type and shape); replaced on type change.
inline std::shared_ptr<void>& slot() {
  static std::shared_ptr<void> p;
  return p;
}
inline std::string& slot_key() {
  static std::string k;
  return k;
}
template <class T, class Make>
T& cached(const std::string& key, Make&& make) {
  if (slot_key() != key) {
    slot().reset();
    slot() = std::make_shared<T>(make());
    slot_key() = key;
  }
  return *static_cast<T*>(slot().get());
}

/// The default fitter: lowbit::quantize (round to nearest over the range fit).
struct QuantizeFit {
  template <class S, class G>
  static PackedMatrix<S, G, Plain> fit(MatrixView<const float> w) {
    return quantize<S, G, Plain>(w, {});
  }
};

/// Rotating copies of W (PackedMatrix in a kernel layout) fitted by Fit to N(0,1) weights.
template <class W>
struct Copies {
  std::vector<W> w;
  double bytes = 0.0;  // packed bytes of one copy (codes + parameters)
  double bpw = 0.0;
};

template <class W, class Fit = QuantizeFit>
Copies<W>& copies(Index shape, bool dram) {
  using S = typename W::scheme_type;
  using G = typename W::granularity_type;
  const Shape sh = kShapes[shape];
  const std::string key = std::string(typeid(W).name()) + typeid(Fit).name() + "/" +
                          std::to_string(shape) + (dram ? "/dram" : "/one");
  return cached<Copies<W>>(key, [&] {
    Copies<W> c;
    const auto wf = gaussian(static_cast<std::size_t>(sh.m * sh.k), 1);
    const auto plain = Fit::template fit<S, G>(MatrixView<const float>(wf.data(), sh.m, sh.k));
    W first = repack<typename W::layout_type>(plain, 2);
    c.bytes = static_cast<double>(first.codes().size() + first.params().size_bytes());
    c.bpw = first.bits_per_weight();
    const int n = dram ? static_cast<int>(kMinBytes / c.bytes) + 1 : 1;
    for (int i = 1; i < n; ++i) c.w.push_back(first.clone());
    c.w.push_back(std::move(first));
    return c;
  });
}

inline void set_counters(benchmark::State& state, Shape sh, Index n, double packed_bytes,
                         double bpw) {
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(packed_bytes));
  state.counters["GFLOPs"] =
      benchmark::Counter(2.0 * static_cast<double>(sh.m) * static_cast<double>(sh.k) *
                             static_cast<double>(n) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["bits_per_weight"] = bpw;
}

/// fp32 GEMV baseline (1 thread: Eigen is built without OpenMP), over rotating copies.
inline void eigen_gemv(benchmark::State& state, Index shape) {
  context();
  const Shape sh = kShapes[shape];
  auto& ws = cached<std::vector<interop::RowMatrixXf>>("eigen_gemv/" + std::to_string(shape), [&] {
    const auto wf = gaussian(static_cast<std::size_t>(sh.m * sh.k), 1);
    std::vector<interop::RowMatrixXf> v;
    const int n = static_cast<int>(kMinBytes / (4.0 * static_cast<double>(sh.m * sh.k))) + 1;
    for (int i = 0; i < n; ++i) v.emplace_back(interop::RowMatrixXf::Map(wf.data(), sh.m, sh.k));
    return v;
  });
  const auto x = gaussian(static_cast<std::size_t>(sh.k), 2);
  std::vector<float> y(static_cast<std::size_t>(sh.m));
  std::size_t i = 0;
  for (auto _ : state) {
    interop::eigen_gemv(interop::view(ws[i]), x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % ws.size();
  }
  set_counters(state, sh, 1, 4.0 * static_cast<double>(sh.m * sh.k), 32.0);
}

/// fp32 GEMM baseline (1 thread), one copy (compute-bound).
inline void eigen_gemm(benchmark::State& state, Index shape, Index n) {
  context();
  const Shape sh = kShapes[shape];
  auto& w = cached<interop::RowMatrixXf>("eigen_gemm/" + std::to_string(shape), [&] {
    const auto wf = gaussian(static_cast<std::size_t>(sh.m * sh.k), 1);
    return interop::RowMatrixXf(interop::RowMatrixXf::Map(wf.data(), sh.m, sh.k));
  });
  const auto x = gaussian(static_cast<std::size_t>(n * sh.k), 2);
  std::vector<float> y(static_cast<std::size_t>(n * sh.m));
  for (auto _ : state) {
    interop::eigen_gemm(interop::view(w), MatrixView<const float>(x.data(), n, sh.k),
                        MatrixView<float>(y.data(), n, sh.m));
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, sh, n, 4.0 * static_cast<double>(sh.m * sh.k), 32.0);
}

/// Sums every packed byte (codes and parameters) with the widest vectors the compiler has, on
/// ctx's threads, with the kernels' software prefetch distance: the memory-bound ceiling.
template <class W>
void stream(const W& w, Context& ctx, std::uint64_t* sink) {
  const std::uint64_t* part[2] = {reinterpret_cast<const std::uint64_t*>(w.codes().data()),
                                  reinterpret_cast<const std::uint64_t*>(w.params().data())};
  const Index lines[2] = {static_cast<Index>(w.codes().size() / 64),
                          static_cast<Index>(w.params().size_bytes() / 64)};
  const int nt = ctx.threads();
  std::vector<std::uint64_t> partial(static_cast<std::size_t>(nt) * 8, 0);
  ctx.parallel_for(nt, [&](Index t0, Index t1) {
    for (Index t = t0; t < t1; ++t) {
      std::uint64_t acc[8] = {};
      for (int p = 0; p < 2; ++p) {
        const std::uint64_t* c = part[p];
        const Index b = lines[p] * t / nt, e = lines[p] * (t + 1) / nt;
        for (Index j = b; j < e; ++j) {
          __builtin_prefetch(c + (j + LOWBIT_PREFETCH_BYTES / 64) * 8, 0, LOWBIT_PREFETCH_LOCALITY);
          for (int l = 0; l < 8; ++l) acc[l] += c[j * 8 + l];
        }
      }
      for (int l = 0; l < 8; ++l) partial[static_cast<std::size_t>(t * 8 + l)] = acc[l];
    }
  });
  std::uint64_t s = 0;
  for (auto v : partial) s += v;
  *sink += s;
}

/// The streaming baseline over the same rotating copies.
template <class W, class Fit = QuantizeFit>
void stream_bench(benchmark::State& state, Index shape, int threads) {
  context();
  auto& c = copies<W, Fit>(shape, true);
  Context ctx(threads);
  std::uint64_t sink = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    stream(c.w[i], ctx, &sink);
    i = (i + 1) % c.w.size();
  }
  benchmark::DoNotOptimize(sink);
  set_counters(state, kShapes[shape], 1, c.bytes, c.bpw);
}

/// lowbit::gemv (float activations quantized to int8 per call) over rotating copies.
template <class Isa, class W, class Fit = QuantizeFit>
void gemv_bench(benchmark::State& state, Index shape, int threads) {
  context();
  auto& c = copies<W, Fit>(shape, true);
  const Shape sh = kShapes[shape];
  Context ctx(threads);
  const auto x = gaussian(static_cast<std::size_t>(sh.k), 2);
  std::vector<float> y(static_cast<std::size_t>(sh.m));
  std::size_t i = 0;
  for (auto _ : state) {
    gemv<Isa>(c.w[i], VectorView<const float>(x.data(), sh.k), VectorView<float>(y.data(), sh.m),
              ctx);
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % c.w.size();
  }
  set_counters(state, sh, 1, c.bytes, c.bpw);
}

/// Registers Eigen's fp32 GEMV (Eigen/<shape>) for each shape, and its GEMM (EigenGemm/<shape>/
/// <gemm_n>) too when gemm_n > 0: the baselines every ratio is taken against.
inline void register_eigen(std::initializer_list<Index> shapes, Index gemm_n) {
  for (Index shape : shapes) {
    register_ms("Eigen/" + std::to_string(shape), eigen_gemv, shape);
    if (gemm_n > 0)
      register_ms("EigenGemm/" + std::to_string(shape) + "/" + std::to_string(gemm_n), eigen_gemm,
                  shape, gemm_n);
  }
}

/// lowbit::gemm (or gemm_f32) on n activation rows; rotating copies for n <= 32.
template <class Isa, class W, bool kFloat, class Fit = QuantizeFit>
void gemm_bench(benchmark::State& state, Index shape, Index n, int threads) {
  context();
  auto& c = copies<W, Fit>(shape, n <= 32);
  const Shape sh = kShapes[shape];
  Context ctx(threads);
  const auto x = gaussian(static_cast<std::size_t>(n * sh.k), 2);
  std::vector<float> y(static_cast<std::size_t>(n * sh.m));
  std::size_t i = 0;
  for (auto _ : state) {
    if constexpr (kFloat) {
      gemm_f32<Isa>(c.w[i], MatrixView<const float>(x.data(), n, sh.k),
                    MatrixView<float>(y.data(), n, sh.m), ctx);
    } else {
      gemm<Isa>(c.w[i], MatrixView<const float>(x.data(), n, sh.k),
                MatrixView<float>(y.data(), n, sh.m), ctx);
    }
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % c.w.size();
  }
  set_counters(state, sh, n, c.bytes, c.bpw);
}

}  // namespace lowbit::bench
