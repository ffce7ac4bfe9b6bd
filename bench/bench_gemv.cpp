// SPDX-License-Identifier: Apache-2.0
// bench/bench_gemv.cpp: n = 1 GEMV (token generation) on packed weights against Eigen fp32 and a
// stream of the same packed bytes, in the same binary and run.
//
// Cases: shapes 0-2 of support/common.hpp × 1 and 2 threads; 2, 3, 4 and 8-bit signed-max g32
// with f16 scales (2.5, 3.5, 4.5, 8.5 bpw), asymmetric 4-bit g128 (4.16 bpw) and signed-max
// 4-bit / full-range 2-bit g128 (4.125 / 2.125 bpw, the bit-scaling pair), in the
// Interleaved layout of each ISA compiled in (avx512bw: 16 × 32 tiles, avx2: 8 × 32). The GEMV
// time includes quantizing the fp32 activation row to int8 (lowbit::gemv). Names:
//   Eigen/<shape>                    fp32 baseline (1 thread: Eigen is built without OpenMP)
//   Stream/<scheme>/<shape>/<thr>    read every packed byte (the DRAM roofline)
//   Gemv/<isa>/<scheme>/<shape>/<thr>
#include "support/common.hpp"

namespace {

using namespace lowbit;
using namespace lowbit::bench;

template <class Isa, int NR, class S, class G>
void register_scheme(const char* scheme, bool with_stream) {
  using W = PackedMatrix<S, G, Interleaved<NR, 32>>;
  for (Index shape = 0; shape < 3; ++shape) {
    for (int threads : thread_counts()) {
      const std::string tail =
          std::string(scheme) + "/" + std::to_string(shape) + "/" + std::to_string(threads);
      if (with_stream)
        benchmark::RegisterBenchmark(("Stream/" + tail).c_str(), stream_bench<W>, shape, threads)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      benchmark::RegisterBenchmark(("Gemv/" + std::string(Isa::name()) + "/" + tail).c_str(),
                                   gemv_bench<Isa, W>, shape, threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
}

template <class Isa, int NR>
void register_isa(bool with_stream) {
  register_scheme<Isa, NR, Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerGroup<32>>(
      "sym4_g32", with_stream);
  register_scheme<Isa, NR, Symmetric<3, SymmetricConvention::kSignedMax, f16>, PerGroup<32>>(
      "sym3_g32", with_stream);
  register_scheme<Isa, NR, Symmetric<2, SymmetricConvention::kFullRange, f16>, PerGroup<32>>(
      "sym2_g32", with_stream);
  register_scheme<Isa, NR, Symmetric<8, SymmetricConvention::kRestricted, f16>, PerGroup<32>>(
      "sym8_g32", with_stream);
  register_scheme<Isa, NR, Asymmetric<4, AsymmetricOffset::kIntZero, f16>, PerGroup<128>>(
      "asym4_g128", with_stream);
  // The bit-scaling pair with less scale overhead: at g32 both widths carry 0.5 bpw of f16
  // scales, so a DRAM-bound 2-bit GEMV cannot take less than (2 + 0.5) / (4 + 0.5) = 0.556 of
  // the 4-bit time; at g128 the byte ratio is 2.125 / 4.125 = 0.515.
  register_scheme<Isa, NR, Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerGroup<128>>(
      "sym4_g128", with_stream);
  register_scheme<Isa, NR, Symmetric<2, SymmetricConvention::kFullRange, f16>, PerGroup<128>>(
      "sym2_g128", with_stream);
}

}  // namespace

int main(int argc, char** argv) {
  register_eigen({0, 1, 2}, 0);
#if LOWBIT_HAS_AVX512BW
  register_isa<isa::avx512bw, 16>(true);
#endif
#if LOWBIT_HAS_AVX2
  register_isa<isa::avx2, 8>(!LOWBIT_HAS_AVX512BW);
#else
  register_isa<isa::scalar, 8>(true);
#endif
  return lowbit::bench::run_registered(argc, argv);
}
