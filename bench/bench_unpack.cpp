// SPDX-License-Identifier: Apache-2.0
// bench/bench_unpack.cpp: decode throughput of the unpack kernels (Interleaved blocks → int8
// lanes) per code width and ISA, L1/L2-resident (256 KiB of packed codes, reused), with the
// scalar reference (Interleaved::unpack_block) as the in-run baseline. Counters: packed GB/s
// (bytes_per_second), weights per second (Gw/s).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "lowbit/lowbit.hpp"
#include "support/main.hpp"

namespace {

using namespace lowbit;

template <class Isa, int Bits, int NR>
void unpack_bench(benchmark::State& state) {
  using L = Interleaved<NR, 32>;
  const Index block = L::block_bytes(Bits);
  const Index nblocks = (Index{256} << 10) / block;
  std::vector<std::byte> src(static_cast<std::size_t>(nblocks * block));
  std::mt19937 rng(Bits);
  for (auto& b : src) b = std::byte(static_cast<std::uint8_t>(rng()));
  std::vector<std::uint8_t> lanes(static_cast<std::size_t>(NR * 32));
  for (auto _ : state) {
    for (Index b = 0; b < nblocks; ++b) {
      unpack_block<Isa, Bits, NR, 32>(src.data() + b * block, lanes.data());
      benchmark::DoNotOptimize(lanes.data());
      benchmark::ClobberMemory();
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(src.size()));
  state.counters["Gw/s"] = benchmark::Counter(
      static_cast<double>(nblocks * NR * 32) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["bits"] = Bits;
}

template <class Isa, int NR>
void register_isa() {
  const std::string isa(Isa::name());
  benchmark::RegisterBenchmark(("Unpack/" + isa + "/2").c_str(), unpack_bench<Isa, 2, NR>);
  benchmark::RegisterBenchmark(("Unpack/" + isa + "/3").c_str(), unpack_bench<Isa, 3, NR>);
  benchmark::RegisterBenchmark(("Unpack/" + isa + "/4").c_str(), unpack_bench<Isa, 4, NR>);
  benchmark::RegisterBenchmark(("Unpack/" + isa + "/8").c_str(), unpack_bench<Isa, 8, NR>);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("isa_best", std::string(isa::best::name()));
  register_isa<isa::scalar, 16>();
#if LOWBIT_HAS_SSE4_2
  register_isa<isa::sse4_2, 16>();
#endif
#if LOWBIT_HAS_AVX2
  register_isa<isa::avx2, 16>();
#endif
#if LOWBIT_HAS_AVX512BW
  register_isa<isa::avx512bw, 16>();
#endif
  return lowbit::bench::run_registered(argc, argv);
}
