// SPDX-License-Identifier: Apache-2.0
// bench/support/common.hpp: what bench_gemv and bench_gemm share: shapes, weights, the rotating
// DRAM-resident copies, the streaming baseline, counters.
//
// Method (PERF.md §5): weights rotate over enough distinct copies (>= 128 MB packed in total, 4×
// the L3) that every product streams them from DRAM, as the llama.cpp figures were measured.
// Only one weight set is alive at a time (a single global slot), so memory stays bounded.
#pragma once

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <typeinfo>
#include <vector>

#include "lowbit/interop/eigen.hpp"
#include "lowbit/lowbit.hpp"

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

/// Rotating copies of W (PackedMatrix in a kernel layout) quantized from N(0,1) weights.
template <class W>
struct Copies {
  std::vector<W> w;
  double bytes = 0.0;  // packed bytes of one copy (codes + parameters)
  double bpw = 0.0;
};

template <class W>
Copies<W>& copies(Index shape, bool dram) {
  using S = typename W::scheme_type;
  using G = typename W::granularity_type;
  const Shape sh = kShapes[shape];
  const std::string key =
      std::string(typeid(W).name()) + "/" + std::to_string(shape) + (dram ? "/dram" : "/one");
  return cached<Copies<W>>(key, [&] {
    Copies<W> c;
    const auto wf = gaussian(static_cast<std::size_t>(sh.m * sh.k), 1);
    const auto plain = quantize<S, G, Plain>(MatrixView<const float>(wf.data(), sh.m, sh.k), {});
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
          __builtin_prefetch(c + (j + LOWBIT_PREFETCH_BYTES / 64) * 8, 0, 0);
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

}  // namespace lowbit::bench
