// SPDX-License-Identifier: Apache-2.0
// examples/quantize_and_gemm.cpp: the demo. Quantizes a 4096 x 4096 matrix of N(0,1) weights
// and one of Student-t(4) weights (unit variance, fixed seeds) with every integer policy and
// convention at 2, 3, 4 and 8 bits and groups of 32/64/128, and every binary and ternary fitter
// (XNOR, BiLLM, ARB orders 1 and 2, ARB-RC, BitNet absmean, absmean + LS, TWN, the optimal
// threshold, Sherry 3:4) at groups of 128, and prints per row: bits per weight including
// parameters, normalized MSE, SNR, the gap to Shannon's D(R) = 2^-2R at that bpw, and the relative
// error of the quantized GEMV (reference kernel) against the fp32 GEMV.
//
//   quantize_and_gemm [--json] [--rows N] [--cols N] [--threads T]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "lowbit/calib/binary_refine.hpp"
#include "lowbit/calib/ccq.hpp"
#include "lowbit/calib/ternary_threshold.hpp"
#include "lowbit/calib/trellis_viterbi.hpp"
#include "lowbit/lowbit.hpp"
#if LOWBIT_DEMO_EIGEN
#include "lowbit/interop/eigen.hpp"
#endif

namespace {

using namespace lowbit;

struct Setup {
  Index rows = 4096;
  Index cols = 4096;
  int threads = 1;
  bool json = false;
};

struct Data {
  std::string dist;
  std::vector<float> w;
  std::vector<float> x;
  std::vector<float> y;  // fp32 W·x
  double energy = 0.0;   // Σw²
};

Data make_data(const std::string& dist, const Setup& s, std::uint64_t seed) {
  Data d;
  d.dist = dist;
  const auto n = static_cast<std::size_t>(s.rows * s.cols);
  d.w.resize(n);
  std::mt19937_64 rng(seed);
  if (dist == "gauss") {
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& v : d.w) v = nd(rng);
  } else {  // Student-t, 4 degrees of freedom, scaled to unit variance
    std::student_t_distribution<float> td(4.0f);
    const float k = 1.0f / std::sqrt(2.0f);
    for (auto& v : d.w) v = td(rng) * k;
  }
  for (float v : d.w) d.energy += static_cast<double>(v) * v;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  d.x.resize(static_cast<std::size_t>(s.cols));
  for (auto& v : d.x) v = nd(rng);
  d.y.resize(static_cast<std::size_t>(s.rows));
#if LOWBIT_DEMO_EIGEN
  interop::eigen_gemv(MatrixView<const float>(d.w.data(), s.rows, s.cols), d.x.data(), d.y.data());
#else
  for (Index r = 0; r < s.rows; ++r) {
    double acc = 0.0;
    for (Index k = 0; k < s.cols; ++k)
      acc += static_cast<double>(d.w[static_cast<std::size_t>(r * s.cols + k)]) *
             d.x[static_cast<std::size_t>(k)];
    d.y[static_cast<std::size_t>(r)] = static_cast<float>(acc);
  }
#endif
  return d;
}

struct Fit {
  const char* name;
  QuantizeOptions opt;
};

/// Prints one row from the dequantized weights wd and the quantized GEMV y (W·x through the
/// reference kernel) of a fit that stores `bpw` bits per weight with `bits`-bit codes.
void report(const Data& d, const Setup& s, const char* policy, const char* fit, int bits, int group,
            double bpw, const std::vector<float>& wd, const std::vector<float>& y, double secs) {
  double err = 0.0;
  for (std::size_t i = 0; i < wd.size(); ++i) {
    const double e = static_cast<double>(wd[i]) - d.w[i];
    err += e * e;
  }
  const double nmse = err / d.energy;
  double ey = 0.0, ny = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double e = static_cast<double>(y[i]) - d.y[i];
    ey += e * e;
    ny += static_cast<double>(d.y[i]) * d.y[i];
  }
  const double snr = -10.0 * std::log10(nmse);
  const double gap = 10.0 * std::log10(nmse / std::pow(2.0, -2.0 * bpw));  // dB above D(R) = 2^-2R
  const double gemv_rel = std::sqrt(ey / ny);
  if (s.json) {
    std::printf(
        "{\"dist\":\"%s\",\"policy\":\"%s\",\"fit\":\"%s\",\"bits\":%d,\"group\":%d,\"bpw\":%.4f,"
        "\"nmse\":%.6g,"
        "\"snr_db\":%.3f,\"gap_db\":%.3f,\"gemv_rel_err\":%.6g,\"quantize_s\":%.4f}\n",
        d.dist.c_str(), policy, fit, bits, group, bpw, nmse, snr, gap, gemv_rel, secs);
  } else {
    std::printf("%-6s %-15s %-11s %4d %5d %7.4f %11.6f %8.2f %7.2f %12.6f %8.3f\n", d.dist.c_str(),
                policy, fit, bits, group, bpw, nmse, snr, gap, gemv_rel, secs);
  }
  std::fflush(stdout);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// One row: `make()` quantizes d.w (timed) to a Plain matrix; `fit` names how.
template <class Make>
void run_one(const Data& d, const Setup& s, const char* policy, const char* fit, int group,
             Make&& make) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto q = make();
  using S = typename std::decay_t<decltype(q)>::scheme_type;
  const double secs = seconds_since(t0);
  std::vector<float> y(static_cast<std::size_t>(s.rows));
  ref::gemv(q, VectorView<const float>(d.x.data(), s.cols), VectorView<float>(y.data(), s.rows));
  report(d, s, policy, fit, S::kCodeBits, group, q.bits_per_weight(), dequantize(q), y, secs);
}

/// ARB-RC: signs with row scales per group of 128, and column scales applied to x before the
/// GEMV of the signs (calib::BinaryRC::scale_inputs).
void run_arb_rc(const Data& d, const Setup& s) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto rc =
      calib::fit_binary_rc<f16, PerGroup<128>>(MatrixView<const float>(d.w.data(), s.rows, s.cols));
  const double secs = seconds_since(t0);
  std::vector<float> wd = dequantize(rc.w), xs = d.x, y(static_cast<std::size_t>(s.rows));
  for (Index r = 0; r < s.rows; ++r)
    for (Index k = 0; k < s.cols; ++k)
      wd[static_cast<std::size_t>(r * s.cols + k)] *= rc.col_scale[static_cast<std::size_t>(k)];
  rc.scale_inputs(MatrixView<float>(xs.data(), 1, s.cols));
  ref::gemv(rc.w, VectorView<const float>(xs.data(), s.cols), VectorView<float>(y.data(), s.rows));
  report(d, s, "binary_rc", "arb_rc", 1, 128, rc.bits_per_weight(), wd, y, secs);
}

/// An integer scheme through lowbit::quantize with the fit's options.
template <class S, class G>
void run_one(const Data& d, const Setup& s, const char* policy, const Fit& fit, int group) {
  QuantizeOptions opt = fit.opt;
  opt.threads = s.threads;
  const MatrixView<const float> wv(d.w.data(), s.rows, s.cols);
  run_one(d, s, policy, fit.name, group, [&] { return quantize<S, G, Plain>(wv, opt); });
}

/// The binary and ternary fitters (calib/binary_refine.hpp, calib/ternary_threshold.hpp), g128.
void run_binary_ternary(const Data& d, const Setup& s) {
  using G = PerGroup<128>;
  const MatrixView<const float> wv(d.w.data(), s.rows, s.cols);
  using calib::BinaryMethod, calib::Binary2Method, calib::TernaryMethod;
  run_one(d, s, "binary", "xnor", 128,
          [&] { return calib::binarize<BinaryOffset::kNone, f16, G>(wv, BinaryMethod::kXnor); });
  run_one(d, s, "binary_mean", "billm", 128,
          [&] { return calib::binarize<BinaryOffset::kMean, f16, G>(wv, BinaryMethod::kMean); });
  run_one(d, s, "binary_mean", "arb", 128,
          [&] { return calib::binarize<BinaryOffset::kMean, f16, G>(wv, BinaryMethod::kArb); });
  run_arb_rc(d, s);
  run_one(d, s, "binary_2plane", "billm_resid", 128,
          [&] { return calib::binarize2<f16, G>(wv, Binary2Method::kResidual); });
  run_one(d, s, "binary_2plane", "arb2", 128,
          [&] { return calib::binarize2<f16, G>(wv, Binary2Method::kArb); });
  run_one(d, s, "ternary", "absmean", 128,
          [&] { return calib::ternarize<f16, G>(wv, TernaryMethod::kAbsmean); });
  run_one(d, s, "ternary", "absmean+ls", 128,
          [&] { return calib::ternarize<f16, G>(wv, TernaryMethod::kAbsmeanLs); });
  run_one(d, s, "ternary", "twn", 128,
          [&] { return calib::ternarize<f16, G>(wv, TernaryMethod::kTwn); });
  run_one(d, s, "ternary", "optimal", 128,
          [&] { return calib::ternarize<f16, G>(wv, TernaryMethod::kOptimal); });
  if (s.cols % 4 == 0)
    run_one(d, s, "ternary_3:4", "sherry", 128,
            [&] { return calib::ternarize_sherry<f16, G>(wv); });
}

/// A sequence-coded matrix (trellis, CCQ): its dequantized weights and reference GEMV.
template <class Make>
void run_sequence(const Data& d, const Setup& s, const char* policy, const char* fit, int bits,
                  int group, Make&& make) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto q = make();
  const double secs = seconds_since(t0);
  std::vector<float> y(static_cast<std::size_t>(s.rows));
  ref::gemm(q, MatrixView<const float>(d.x.data(), 1, s.cols),
            MatrixView<float>(y.data(), 1, s.rows));
  report(d, s, policy, fit, bits, group, q.bits_per_weight(), dequantize(q), y, secs);
}

/// The trellis and CCQ encoders (issue #6) on the first min(rows, 256) rows (a whole 4096 x 4096
/// trellis encode takes minutes; bench/bench_trellis.cpp times it).
void run_trellis_ccq(const Data& full, const Setup& full_s) {
  Setup s = full_s;
  s.rows = std::min<Index>(full_s.rows, 256);
  Data d;
  d.dist = full.dist;
  d.w.assign(full.w.begin(), full.w.begin() + s.rows * s.cols);
  d.x = full.x;
  d.y.assign(full.y.begin(), full.y.begin() + s.rows);
  for (float v : d.w) d.energy += static_cast<double>(v) * v;
  const MatrixView<const float> wv(d.w.data(), s.rows, s.cols);
  calib::TrellisOptions to;
  to.threads = s.threads;
  const Index tail = s.cols % 256;
  if (tail == 0 || tail >= 8) {
    run_sequence(d, s, "trellis_l16k2", "mix7", 2, 256, [&] {
      return calib::trellis_quantize<ConvCode<16, 2, 1, CodeMix7>, PerGroup<256>>(wv, to);
    });
  }
  if (s.cols % 64 == 0) {
    calib::CcqOptions co;
    co.threads = s.threads;
    run_sequence(d, s, "ccq_wint2", "codebook", 2, 64,
                 [&] { return calib::ccq_wint2_quantize(wv, co); });
    run_sequence(d, s, "ccq_wint25", "viterbi", 3, 64,
                 [&] { return calib::ccq_wint25_quantize(wv, co); });
  }
}

template <int Bits, class G>
void run_bits_group(const Data& d, const Setup& s, int group, const Fit& mm, const Fit& clip,
                    const Fit& ls) {
  using SR = Symmetric<Bits, SymmetricConvention::kRestricted, f16>;
  using SF = Symmetric<Bits, SymmetricConvention::kFullRange, f16>;
  using SM = Symmetric<Bits, SymmetricConvention::kSignedMax, f16>;
  using AI = Asymmetric<Bits, AsymmetricOffset::kIntZero, f16>;
  using AF = Asymmetric<Bits, AsymmetricOffset::kFloatMin, f16>;
  for (const Fit* f : {&mm, &clip}) {
    run_one<SR, G>(d, s, "sym_restricted", *f, group);
    run_one<SF, G>(d, s, "sym_full_range", *f, group);
    run_one<SM, G>(d, s, "sym_signed_max", *f, group);
    run_one<AI, G>(d, s, "asym_int_zero", *f, group);
    run_one<AF, G>(d, s, "asym_float_min", *f, group);
  }
  run_one<AF, G>(d, s, "asym_float_min", ls, group);
}

template <int Bits>
void run_bits(const Data& d, const Setup& s, const Fit& mm, const Fit& clip, const Fit& ls) {
  run_bits_group<Bits, PerGroup<32>>(d, s, 32, mm, clip, ls);
  run_bits_group<Bits, PerGroup<64>>(d, s, 64, mm, clip, ls);
  run_bits_group<Bits, PerGroup<128>>(d, s, 128, mm, clip, ls);
}

Index parse_dim(const char* v) {
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (end == v || *end != '\0' || n < 1 || n > (1 << 20)) {
    std::fprintf(stderr, "bad size '%s' (1 .. 1048576)\n", v);
    std::exit(2);
  }
  return static_cast<Index>(n);
}

}  // namespace

int main(int argc, char** argv) {
  Setup s;
  s.threads = static_cast<int>(std::thread::hardware_concurrency());
  if (s.threads < 1) s.threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      s.json = true;
    } else if (a == "--rows" && i + 1 < argc) {
      s.rows = parse_dim(argv[++i]);
    } else if (a == "--cols" && i + 1 < argc) {
      s.cols = parse_dim(argv[++i]);
    } else if (a == "--threads" && i + 1 < argc) {
      s.threads = static_cast<int>(parse_dim(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--json] [--rows N] [--cols N] [--threads T]\n", argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  Fit mm{"minmax", {}};
  Fit clip{"clip", {}};
  clip.opt.fit.range = RangeFit::kClipSearch;
  Fit ls{"clip+ls", clip.opt};
  ls.opt.fit.refit_iters = 4;
  if (!s.json) {
    std::printf("lowbit %d.%d.%d demo: %lld x %lld weights, fp16 scales, %d threads\n",
                kVersionMajor, kVersionMinor, kVersionPatch, static_cast<long long>(s.rows),
                static_cast<long long>(s.cols), s.threads);
    std::printf(
        "gap_db = 10 log10(NMSE / 2^(-2 bpw)): distance above Shannon's D(R) at the same "
        "bits/weight\n\n");
    std::printf("%-6s %-15s %-11s %4s %5s %7s %11s %8s %7s %12s %8s\n", "dist", "policy", "fit",
                "bits", "group", "bpw", "nmse", "snr_db", "gap_db", "gemv_rel_err", "quant_s");
  }
  try {
    for (const char* dist : {"gauss", "t4"}) {
      const Data d = make_data(dist, s, std::string(dist) == "gauss" ? 1234 : 5678);
      run_bits<2>(d, s, mm, clip, ls);
      run_bits<3>(d, s, mm, clip, ls);
      run_bits<4>(d, s, mm, clip, ls);
      run_bits<8>(d, s, mm, clip, ls);
      run_binary_ternary(d, s);
      run_trellis_ccq(d, s);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
