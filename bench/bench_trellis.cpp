// SPDX-License-Identifier: Apache-2.0
// bench/bench_trellis.cpp: the trellis and convolutional codes — accuracy on 2^20
// i.i.d. N(0, 1) samples (fixed seed) and encoding speed.
//
//   Nmse/<code>/<threads>     4096 × 256 samples, L = 16, K = 2, groups of 256 (one f16 scale
//                             each: 2.0625 bpw); counters: nmse, weights_per_s (encoding)
//   Encode4096/<code>/<threads>  a whole 4096 × 4096 matrix (the offline encode time)
//   Small/<threads>           64 × 256 (the CI smoke run)
//   Wint2/<threads>, Wint25/<threads>   CCQ WINT2 / WINT2.5 (calib/ccq.hpp, default options) on
//                             256 × 4096 samples; bpw counts what lowbit stores (WINT2: the
//                             format's 2.0625 + 80 bits a row; WINT2.5: Plain's 3-bit windows)
// Each case runs once (an encode is deterministic; its time is seconds to minutes).
//
// Decoding speed (m 4096, k 14336 = shape 0; LOWBIT_BENCH_THREADS), in the same binary and run:
//   Gemv/<isa>/<case>/0/<threads>      n = 1, weights rotated over >= 128 MB of copies (DRAM)
//   Gemm/<isa>/<case>/0/512/<threads>  n = 512, one copy
//   Stream/<case>/0/<threads>, Eigen/0, EigenGemm/0/512   the byte stream and fp32 baselines
// cases: trellis-g64 (ConvCode<16, 2, 1, CodeMix7>, PerGroup<64>, SeqTiles<16>: 2.25 bpw),
// trellis-mx2-g64 (ConvCode<16, 2, 2, CodeMx2>: two weights a state, 2.25 bpw),
// trellis-tap7-g64 / trellis-lut7-g64 (ConvCode<16, 2, 1, CodeTap7> / ConvCode<8, 2, 1,
// CodeLut7>, SeqTiles<16, 64>: the lookup codes, 2.25 bpw),
// wint2 (CcqWint2, SeqTiles<16>: 2.0625 bpw + 80 bits a row), wint25 (CcqWint25,
// Wint25Words<16>: FastDeploy's 2.5-bit words) and lowbit's plain 2-bit GEMV
// (Symmetric<2> full range, f16 scale per 64 / 128, Interleaved tiles: 2.25 / 2.125 bpw). The
// sequence-coded weights hold random codes and parameters (every code sequence is a valid
// stream; the kernels have no data-dependent branches, so their time does not depend on the
// values, and a Viterbi encode of 58.7 M weights would take 10 minutes).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>

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

/// Random codes and plausible parameters in the Plain layout (see the top of this file).
struct RandomCodes {
  template <class S, class G>
  static PackedMatrix<S, G, Plain> fit(MatrixView<const float> w) {
    PackedMatrix<S, G, Plain> q(w.rows(), w.cols());
    std::uint64_t x = 0x9E3779B97F4A7C15ull;
    for (auto& b : q.codes()) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      b = std::byte(static_cast<std::uint8_t>(x >> 24));
    }
    if constexpr (std::is_same_v<S, CcqWint25>) {  // chain-consistent windows
      for (Index r = 0; r < q.rows(); ++r)
        for (Index k = 0; k < q.cols(); ++k)
          if (!CcqWint25::chain_start(static_cast<int>(k % 64)))
            q.set_code(r, k, (q.code(r, k) & 3u) | ((q.code(r, k - 1) & 1u) << 2));
    }
    for (auto& p : q.params()) {
      if constexpr (std::is_same_v<S, CcqWint2>) {
        p.local = 0xBC;
      } else if constexpr (std::is_same_v<S, CcqWint25>) {
        p.local = 0x1234;
      } else {
        p = S::make(1.0f / 47.0f);
      }
    }
    if constexpr (std::is_same_v<S, CcqWint2>)
      for (auto& rp : q.row_params()) rp = {120.0f, 778.4f, bf16(0.01f)};
    if constexpr (std::is_same_v<S, CcqWint25>)
      for (auto& rp : q.row_params()) rp = {bf16(1e-4f)};
    return q;
  }
};

template <class Isa, class W, class Fit>
void register_decode(const std::string& name) {
  for (int threads : bench::thread_counts()) {
    const std::string tail = name + "/0/" + std::to_string(threads);
    if (std::is_same_v<Isa, isa::best>)
      benchmark::RegisterBenchmark(("Stream/" + tail).c_str(), bench::stream_bench<W, Fit>,
                                   Index{0}, threads)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    benchmark::RegisterBenchmark(("Gemv/" + std::string(Isa::name()) + "/" + tail).c_str(),
                                 bench::gemv_bench<Isa, W, Fit>, Index{0}, threads)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(
        ("Gemm/" + std::string(Isa::name()) + "/" + name + "/0/512/" + std::to_string(threads))
            .c_str(),
        bench::gemm_bench<Isa, W, false, Fit>, Index{0}, Index{512}, threads)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
}

template <class Isa, int NR>
void register_decode_isa() {
  using Sym2 = Symmetric<2, SymmetricConvention::kFullRange, f16>;
  register_decode<Isa, PackedMatrix<Sym2, PerGroup<64>, Interleaved<NR, 32>>, bench::QuantizeFit>(
      "plain2-g64");
  register_decode<Isa, PackedMatrix<Sym2, PerGroup<128>, Interleaved<NR, 32>>, bench::QuantizeFit>(
      "plain2-g128");
  register_decode<Isa, PackedMatrix<ConvCode<16, 2, 1, CodeMix7>, PerGroup<64>, SeqTiles<16>>,
                  RandomCodes>("trellis-g64");
  register_decode<Isa, PackedMatrix<ConvCode<16, 2, 2, CodeMx2>, PerGroup<64>, SeqTiles<16>>,
                  RandomCodes>("trellis-mx2-g64");
  register_decode<Isa, PackedMatrix<ConvCode<16, 2, 1, CodeTap7>, PerGroup<64>, SeqTiles<16, 64>>,
                  RandomCodes>("trellis-tap7-g64");
  register_decode<Isa, PackedMatrix<ConvCode<8, 2, 1, CodeLut7>, PerGroup<64>, SeqTiles<16, 64>>,
                  RandomCodes>("trellis-lut7-g64");
  register_decode<Isa, PackedMatrix<CcqWint2, PerGroup<128>, SeqTiles<16>>, RandomCodes>("wint2");
  register_decode<Isa, PackedMatrix<CcqWint25, PerGroup<64>, Wint25Words<16>>, RandomCodes>(
      "wint25");
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
  reg("Nmse/mx2", nmse_case<ConvCode<16, 2, 2, CodeMx2>>);
  reg("Nmse/tap7", nmse_case<ConvCode<16, 2, 1, CodeTap7>>);
  reg("Nmse/lut7", nmse_case<ConvCode<8, 2, 1, CodeLut7>>);
  reg("Encode4096/mix7", encode4096_case<ConvCode<16, 2, 1, CodeMix7>>);
  reg("Small", small_case);
  reg("Wint2", wint2_case);
  reg("Wint25", wint25_case);
  benchmark::RegisterBenchmark("Eigen/0", bench::eigen_gemv, Index{0})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("EigenGemm/0/512", bench::eigen_gemm, Index{0}, Index{512})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
#if LOWBIT_HAS_AVX512BW
  register_decode_isa<isa::avx512bw, 16>();
#endif
#if LOWBIT_HAS_AVX2
  register_decode_isa<isa::avx2, 8>();
#endif
  return lowbit::bench::run_registered(argc, argv, [] { lowbit::bench::context(); });
}
