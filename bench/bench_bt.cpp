// SPDX-License-Identifier: Apache-2.0
// bench/bench_bt.cpp: binary and ternary weights against Eigen fp32 and a stream of
// the same packed bytes, in the same binary and run.
//
// Cases (shape 0 = m 4096, k 14336 and shape 2 = 4096², 1 and 2 threads; LOWBIT_BENCH_THREADS):
//   ter2     Ternary, per-row f16 scale, Interleaved 2-bit codes          (2.0 bpw)
//   ter16    Ternary, per-row f16 scale, Trit5Tiles, 5 trits per byte     (1.6 bpw)
//   sherry   Sherry 3:4 Ternary, per-row f16 scale, Sparse34Tiles         (1.25 bpw)
//   bin      Binary sign·α, per-row f16 α, Interleaved 1-bit codes        (1.0 bpw)
//   binm     Binary μ + α·sign, f16 (α, μ) per 128 columns                (1.25 bpw)
//   bin2     Binary2 (ARB order 2: μ ± α1 ± α2), per-row f16, BitPlanes    (2.0 bpw)
// in the tiles of the widest ISA compiled in (avx512bw: 16 rows; avx2: 8). Per-row scales make
// the bpw the code width (+ 16/k). Names:
//   Eigen/<shape>, EigenGemm/<shape>/<n>         fp32 baselines (1 thread)
//   Stream/<case>/<shape>/<threads>              read every packed byte (the DRAM roofline)
//   Gemv/<isa>/<case>/<shape>/<threads>          n = 1, weights rotated over >= 128 MB (DRAM)
//   Gemm/<isa>/<case>/<shape>/<n>/<threads>      n = 512, one copy (compute-bound)
//   Xnor/<isa>/bin/<shape>/<threads>             bin weights in Plain rows × binarized activations
//                                                (gemv_xnor, XNOR + popcount), rotated copies
#include "lowbit/calib/binary_refine.hpp"
#include "lowbit/calib/ternary_threshold.hpp"
#include "support/common.hpp"

namespace {

using namespace lowbit;
using namespace lowbit::bench;

struct TwnFit {
  template <class S, class G>
  static PackedMatrix<S, G, Plain> fit(MatrixView<const float> w) {
    return calib::ternarize<typename S::Scale, G>(w, calib::TernaryMethod::kTwn);
  }
};
struct SherryFit {
  template <class S, class G>
  static PackedMatrix<S, G, Plain> fit(MatrixView<const float> w) {
    return calib::ternarize_sherry<typename S::Scale, G>(w);
  }
};
struct XnorFit {
  template <class S, class G>
  static PackedMatrix<S, G, Plain> fit(MatrixView<const float> w) {
    return calib::binarize<BinaryOffset::kNone, typename S::Scale, G>(w,
                                                                      calib::BinaryMethod::kXnor);
  }
};
struct Arb2Fit {
  template <class S, class G>
  static PackedMatrix<S, G, Plain> fit(MatrixView<const float> w) {
    return calib::binarize2<typename S::Scale, G>(w, calib::Binary2Method::kArb);
  }
};
struct MeanFit {
  template <class S, class G>
  static PackedMatrix<S, G, Plain> fit(MatrixView<const float> w) {
    return calib::binarize<BinaryOffset::kMean, typename S::Scale, G>(w,
                                                                      calib::BinaryMethod::kMean);
  }
};

/// XNOR-popcount GEMV: binary weights (Plain rows = bit streams) × binarized activations (the
/// time includes binarizing the fp32 row).
template <class Isa>
void xnor_bench(benchmark::State& state, Index shape, int threads) {
  using W = PackedMatrix<Binary<BinaryOffset::kNone, f16>, PerChannel, Plain>;
  context();
  auto& c = copies<W, XnorFit>(shape, true);
  const Shape sh = kShapes[shape];
  Context ctx(threads);
  const auto x = gaussian(static_cast<std::size_t>(sh.k), 2);
  std::vector<float> y(static_cast<std::size_t>(sh.m));
  BinaryActivations xb;
  std::size_t i = 0;
  for (auto _ : state) {
    quantize_binary_activations(MatrixView<const float>(x.data(), 1, sh.k), xb);
    gemv_xnor<Isa>(c.w[i], xb, VectorView<float>(y.data(), sh.m), ctx);
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % c.w.size();
  }
  set_counters(state, sh, 1, c.bytes, c.bpw);
}

template <class Isa, class S, class G, class L, class Fit>
void register_case(const char* name, bool with_stream) {
  using W = PackedMatrix<S, G, L>;
  for (Index shape : {0, 2})
    for (int threads : thread_counts()) {
      const std::string tail =
          std::string(name) + "/" + std::to_string(shape) + "/" + std::to_string(threads);
      if (with_stream)
        benchmark::RegisterBenchmark(("Stream/" + tail).c_str(), stream_bench<W, Fit>, shape,
                                     threads)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      benchmark::RegisterBenchmark(("Gemv/" + std::string(Isa::name()) + "/" + tail).c_str(),
                                   gemv_bench<Isa, W, Fit>, shape, threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  for (Index shape : {0, 2})
    for (int threads : thread_counts()) {
      const std::string n = "Gemm/" + std::string(Isa::name()) + "/" + name + "/" +
                            std::to_string(shape) + "/512/" + std::to_string(threads);
      benchmark::RegisterBenchmark(n.c_str(), gemm_bench<Isa, W, false, Fit>, shape, Index{512},
                                   threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
}

template <class Isa, int NR>
void register_isa(bool with_stream) {
  register_case<Isa, Ternary<f16>, PerChannel, Interleaved<NR, 32>, TwnFit>("ter2", with_stream);
  register_case<Isa, Ternary<f16>, PerChannel, Trit5Tiles<NR, 160>, TwnFit>("ter16", with_stream);
  register_case<Isa, Ternary<f16>, PerChannel, Sparse34Tiles<NR, 128>, SherryFit>("sherry",
                                                                                  with_stream);
  register_case<Isa, Binary<BinaryOffset::kNone, f16>, PerChannel, Interleaved<NR, 32>, XnorFit>(
      "bin", with_stream);
  register_case<Isa, Binary<BinaryOffset::kMean, f16>, PerGroup<128>, Interleaved<NR, 32>, MeanFit>(
      "binm", with_stream);
  register_case<Isa, Binary2<f16>, PerChannel, BitPlanes<NR, 32>, Arb2Fit>("bin2", with_stream);
  for (Index shape : {0, 2})
    for (int threads : thread_counts())
      benchmark::RegisterBenchmark(("Xnor/" + std::string(Isa::name()) + "/bin/" +
                                    std::to_string(shape) + "/" + std::to_string(threads))
                                       .c_str(),
                                   xnor_bench<Isa>, shape, threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  register_eigen({0, 2}, 512);
#if LOWBIT_HAS_AVX512BW
  register_isa<isa::avx512bw, 32>(true);
#endif
#if LOWBIT_HAS_AVX2
  register_isa<isa::avx2, 8>(!LOWBIT_HAS_AVX512BW);
#else
  register_isa<isa::scalar, 8>(true);
#endif
  return lowbit::bench::run_registered(argc, argv);
}
