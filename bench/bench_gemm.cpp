// SPDX-License-Identifier: Apache-2.0
// bench/bench_gemm.cpp: n > 1 (prefill) GEMM on packed weights against Eigen fp32 GEMM of the
// same shape, in the same binary and run.
//
// Cases: shapes 0-2 of support/common.hpp × n ∈ {8, 32, 512} × 1 and 2 threads; 2, 3, 4 and
// 8-bit signed-max g32 (f16 scales) in the Interleaved layout of each ISA compiled in. The time
// includes quantizing the fp32 activations to int8 (lowbit::gemm). Also the float-activation
// path (gemm_f32) for 4-bit. Weights rotate over >= 128 MB of copies for n <= 32 (DRAM
// resident); n = 512 is compute-bound and uses one copy. Names:
//   Eigen/<shape>/<n>                          fp32 GEMM (1 thread)
//   Gemm/<isa>/<scheme>/<shape>/<n>/<threads>
#include "support/common.hpp"

namespace {

using namespace lowbit;
using namespace lowbit::bench;

template <class Isa, int NR, class S, bool kFloat = false>
void register_scheme(const char* scheme) {
  using W = PackedMatrix<S, PerGroup<32>, Interleaved<NR, 32>>;
  for (Index shape = 0; shape < 3; ++shape)
    for (Index n : {8, 32, 512})
      for (int threads : thread_counts()) {
        const std::string name = "Gemm/" + std::string(Isa::name()) + "/" + scheme +
                                 (kFloat ? "_f32act/" : "/") + std::to_string(shape) + "/" +
                                 std::to_string(n) + "/" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), gemm_bench<Isa, W, kFloat>, shape, n, threads)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
}

template <class Isa, int NR>
void register_isa() {
  register_scheme<Isa, NR, Symmetric<4, SymmetricConvention::kSignedMax, f16>>("sym4_g32");
  register_scheme<Isa, NR, Symmetric<2, SymmetricConvention::kFullRange, f16>>("sym2_g32");
  register_scheme<Isa, NR, Symmetric<3, SymmetricConvention::kSignedMax, f16>>("sym3_g32");
  register_scheme<Isa, NR, Symmetric<8, SymmetricConvention::kRestricted, f16>>("sym8_g32");
  register_scheme<Isa, NR, Symmetric<4, SymmetricConvention::kSignedMax, f16>, true>("sym4_g32");
}

}  // namespace

int main(int argc, char** argv) {
  for (Index shape = 0; shape < 3; ++shape)
    for (Index n : {8, 32, 512})
      benchmark::RegisterBenchmark(
          ("Eigen/" + std::to_string(shape) + "/" + std::to_string(n)).c_str(), eigen_gemm, shape,
          n)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
#if LOWBIT_HAS_AVX512BW
  register_isa<isa::avx512bw, 16>();
#endif
#if LOWBIT_HAS_AVX2
  register_isa<isa::avx2, 8>();
#else
  register_isa<isa::scalar, 8>();
#endif
  return lowbit::bench::run_registered(argc, argv);
}
