// SPDX-License-Identifier: Apache-2.0
// bench/bench_ggml.cpp: llama.cpp's block types run on lowbit's kernels in their own format
// (formats/ggml/schemes.hpp: the blocks converted, not requantized), against Eigen fp32 in the
// same binary. llama.cpp's own kernels on the very same blocks are timed side by side by a
// harness that links ggml (bench/RESULTS.md, "Side by side with llama.cpp").
//
// Weights: N(0,1) quantized by ggml's reference quantizer of the type (ggml::quantize_row),
// converted by ggml::to_packed, repacked to Interleaved<NR, 32> (NR: 16 with AVX-512, 8 with
// AVX2; Q2_K, Q3_K and Q6_K's 16-value sub-blocks are groups of half a block). Names (shape 0 =
// m 4096, k 14336; 2 = 4096²; threads:
// LOWBIT_BENCH_THREADS):
//   Eigen/<shape>, EigenGemm/<shape>/512       fp32 baselines (1 thread)
//   Gemv/<isa>/<type>/<shape>/<threads>        n = 1, weights rotated over >= 128 MB (DRAM)
//   Gemm/<isa>/<type>/<shape>/<n>/<threads>    n = 32 (rotated copies) and 512 (one copy)
// The bits_per_weight counter is lowbit's in memory (Q4_K's per-32 float scale and min: 6.0,
// against ggml's 4.5; IQ4_NL's levels as 8-bit codes: 8.5; MXFP4's as 5-bit: 6.0).
#include "lowbit/formats/ggml/schemes.hpp"
#include "support/common.hpp"

namespace {

using namespace lowbit;
using namespace lowbit::bench;

/// ggml's reference quantizer of type T, row by row, then the lossless conversion.
template <ggml::Type T>
struct GgmlFit {
  template <class S, class G>
  static PackedMatrix<S, G, Plain> fit(MatrixView<const float> w) {
    const ggml::TypeInfo info = *ggml::type_info(static_cast<std::uint32_t>(T));
    const Index row_bytes = w.cols() / info.block * info.bytes;
    std::vector<std::byte> blocks(static_cast<std::size_t>(w.rows() * row_bytes));
    for (Index r = 0; r < w.rows(); ++r)
      ggml::quantize_row(T, w.row(r).data(), w.cols(), blocks.data() + r * row_bytes);
    return ggml::to_packed<T>(blocks, w.rows(), w.cols());
  }
};

template <class Isa, int NR, ggml::Type T>
void register_type() {
  using S = typename ggml::SchemeOf<T>::Scheme;
  using G = PerGroup<ggml::SchemeOf<T>::kGroup>;
  using W = PackedMatrix<S, G, Interleaved<NR, 32>>;
  const std::string name(ggml::type_info(static_cast<std::uint32_t>(T))->name);
  for (Index shape : {0, 2})
    for (int threads : thread_counts()) {
      const std::string tail = name + "/" + std::to_string(shape) + "/";
      benchmark::RegisterBenchmark(
          ("Gemv/" + std::string(Isa::name()) + "/" + tail + std::to_string(threads)).c_str(),
          gemv_bench<Isa, W, GgmlFit<T>>, shape, threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
      for (Index n : {Index{32}, Index{512}})
        benchmark::RegisterBenchmark(("Gemm/" + std::string(Isa::name()) + "/" + tail +
                                      std::to_string(n) + "/" + std::to_string(threads))
                                         .c_str(),
                                     gemm_bench<Isa, W, false, GgmlFit<T>>, shape, n, threads)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    }
}

template <class Isa, int NR>
void register_isa() {
  register_type<Isa, NR, ggml::Type::Q8_0>();
  register_type<Isa, NR, ggml::Type::Q4_0>();
  register_type<Isa, NR, ggml::Type::Q4_1>();
  register_type<Isa, NR, ggml::Type::Q5_0>();
  register_type<Isa, NR, ggml::Type::Q5_1>();
  register_type<Isa, NR, ggml::Type::IQ4_NL>();
  register_type<Isa, NR, ggml::Type::MXFP4>();
  register_type<Isa, NR, ggml::Type::Q4_K>();
  register_type<Isa, NR, ggml::Type::Q5_K>();
  register_type<Isa, NR, ggml::Type::TQ1_0>();
  register_type<Isa, NR, ggml::Type::TQ2_0>();
  register_type<Isa, NR, ggml::Type::Q2_K>();
  register_type<Isa, NR, ggml::Type::Q3_K>();
  register_type<Isa, NR, ggml::Type::Q6_K>();
}

}  // namespace

int main(int argc, char** argv) {
  register_eigen({0, 2}, 512);
#if LOWBIT_HAS_AVX512BW
  register_isa<isa::avx512bw, 16>();
#elif LOWBIT_HAS_AVX2
  register_isa<isa::avx2, 8>();
#else
  register_isa<isa::scalar, 8>();
#endif
  return lowbit::bench::run_registered(argc, argv);
}
