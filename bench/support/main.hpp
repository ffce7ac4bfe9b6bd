// SPDX-License-Identifier: Apache-2.0
// bench/support/main.hpp: what every benchmark binary's main() shares: registration in real-time
// milliseconds, and the run (Google Benchmark's BENCHMARK_MAIN plus a check for unknown flags).
#pragma once

#include <benchmark/benchmark.h>

#include <string>
#include <utility>

namespace lowbit::bench {

/// Registers fn(state, args...) as `name`, timed in real time, reported in milliseconds.
template <class Fn, class... Args>
benchmark::internal::Benchmark* register_ms(const std::string& name, Fn&& fn, Args&&... args) {
  return benchmark::RegisterBenchmark(name.c_str(), std::forward<Fn>(fn),
                                      std::forward<Args>(args)...)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

/// Runs the registered benchmarks under the command line's flags (after `setup`, if given);
/// returns main's exit status: 1 for a flag Google Benchmark does not know.
inline int run_registered(int argc, char** argv, void (*setup)() = nullptr) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (setup != nullptr) setup();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace lowbit::bench
