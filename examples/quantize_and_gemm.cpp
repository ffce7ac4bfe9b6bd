// SPDX-License-Identifier: Apache-2.0
// examples/quantize_and_gemm.cpp: the demo. Quantizes a 4096 x 4096 matrix of N(0, 1) weights
// with lowbit's policies and prints a short summary: the ISA and kernel in use, the best policy
// found at each code width (2, 3, 4, 8 bits, and binary/ternary) with its bits per weight, its
// signal-to-noise ratio and its distance above Shannon's D(R) = 2^-2R at that rate, and the
// 4-bit GEMV's speed against fp32 on this machine.
//
// --full prints the whole table instead: a Student-t(4) matrix too, every integer convention
// at 2, 3, 4, 8 bits and groups of 32/64/128 with min/max, clip search and least-squares fits,
// every binary and ternary fitter, and the trellis and CCQ encoders (minutes: the trellis's
// Viterbi search dominates).
//
//   quantize_and_gemm [--full] [--json] [--rows N] [--cols N] [--threads T]
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
  bool full = false;
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

/// One quantized matrix's figures.
struct Row {
  std::string dist, policy, fit;
  int bits = 0, group = 0;
  double bpw = 0, nmse = 0, snr = 0, gap = 0, gemv_rel = 0, secs = 0;
};

void print_row(const Setup& s, const Row& r) {
  if (s.json) {
    std::printf(
        "{\"dist\":\"%s\",\"policy\":\"%s\",\"fit\":\"%s\",\"bits\":%d,\"group\":%d,\"bpw\":%.4f,"
        "\"nmse\":%.6g,"
        "\"snr_db\":%.3f,\"gap_db\":%.3f,\"gemv_rel_err\":%.6g,\"quantize_s\":%.4f}\n",
        r.dist.c_str(), r.policy.c_str(), r.fit.c_str(), r.bits, r.group, r.bpw, r.nmse, r.snr,
        r.gap, r.gemv_rel, r.secs);
  } else {
    std::printf("%-6s %-15s %-11s %4d %5d %7.4f %11.6f %8.2f %7.2f %12.6f %8.3f\n", r.dist.c_str(),
                r.policy.c_str(), r.fit.c_str(), r.bits, r.group, r.bpw, r.nmse, r.snr, r.gap,
                r.gemv_rel, r.secs);
  }
  std::fflush(stdout);
}

/// Every row measured (the summary picks from them); --full prints each as it comes.
std::vector<Row> g_rows;

/// Measures one fit from the dequantized weights wd and the quantized GEMV y (W·x through the
/// reference kernel) of a fit that stores `bpw` bits per weight with `bits`-bit codes.
void report(const Data& d, const Setup& s, const char* policy, const char* fit, int bits, int group,
            double bpw, const std::vector<float>& wd, const std::vector<float>& y, double secs) {
  double err = 0.0;
  for (std::size_t i = 0; i < wd.size(); ++i) {
    const double e = static_cast<double>(wd[i]) - d.w[i];
    err += e * e;
  }
  Row r{d.dist, policy, fit, bits, group, bpw};
  r.nmse = err / d.energy;
  double ey = 0.0, ny = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double e = static_cast<double>(y[i]) - d.y[i];
    ey += e * e;
    ny += static_cast<double>(d.y[i]) * d.y[i];
  }
  r.snr = -10.0 * std::log10(r.nmse);
  r.gap = 10.0 * std::log10(r.nmse / std::pow(2.0, -2.0 * bpw));  // dB above D(R) = 2^-2R
  r.gemv_rel = std::sqrt(ey / ny);
  r.secs = secs;
  if (s.full) print_row(s, r);
  g_rows.push_back(std::move(r));
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

/// The trellis and CCQ encoders on the first min(rows, 256) rows (a whole 4096 x 4096
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

/// The summary's candidates at one code width: the two conventions most used (ggml's signed-max
/// symmetric scale and the float-minimum asymmetric pair), min/max and clip search + least
/// squares, groups of 32 and 128: eight fits.
template <int Bits>
void summary_bits(const Data& d, const Setup& s, const Fit& mm, const Fit& ls) {
  using SM = Symmetric<Bits, SymmetricConvention::kSignedMax, f16>;
  using AF = Asymmetric<Bits, AsymmetricOffset::kFloatMin, f16>;
  for (const Fit* f : {&mm, &ls}) {
    run_one<SM, PerGroup<32>>(d, s, "sym_signed_max", *f, 32);
    run_one<AF, PerGroup<32>>(d, s, "asym_float_min", *f, 32);
    run_one<SM, PerGroup<128>>(d, s, "sym_signed_max", *f, 128);
    run_one<AF, PerGroup<128>>(d, s, "asym_float_min", *f, 128);
  }
}

/// Rows [from, to) of g_rows: the fits tried at one code width.
struct Width {
  std::string name;
  std::size_t from = 0, to = 0;
};

/// The best row of a width: the least distance above D(R) at its own rate.
const Row& best_of(const Width& w) {
  return *std::min_element(g_rows.begin() + static_cast<std::ptrdiff_t>(w.from),
                           g_rows.begin() + static_cast<std::ptrdiff_t>(w.to),
                           [](const Row& a, const Row& b) { return a.gap < b.gap; });
}

/// Median milliseconds of `reps` calls of f(copy) over `copies` rotating copies, per copy.
template <class F>
double median_ms(int copies, int reps, F&& f) {
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int c = 0; c < copies; ++c) f(c);
    ms.push_back(1e3 * seconds_since(t0) / copies);
  }
  std::nth_element(ms.begin(), ms.begin() + reps / 2, ms.end());
  return ms[static_cast<std::size_t>(reps / 2)];
}

/// The GEMV speed of lowbit's kernels against fp32 on this machine, one thread, each operand
/// read from memory (copies rotating through at least 128 MiB, as bench/bench_gemv.cpp).
template <int Bits>
double gemv_ms(const Data& d, const Setup& s) {
  using Scheme = Symmetric<Bits, SymmetricConvention::kSignedMax, f16>;
  const auto plain =
      quantize<Scheme, PerGroup<32>>(MatrixView<const float>(d.w.data(), s.rows, s.cols));
  const auto fast = repack<KernelLayout<>>(plain);
  using W = std::remove_cvref_t<decltype(fast)>;
  const double bytes = static_cast<double>(fast.codes().size() + fast.params().size_bytes());
  const int copies = static_cast<int>(128.0 * 1024 * 1024 / bytes) + 1;
  std::vector<W> ws;
  for (int c = 0; c < copies; ++c) ws.push_back(fast.clone());
  Context ctx(1);
  std::vector<float> y(static_cast<std::size_t>(s.rows));
  return median_ms(copies, 21, [&](int c) {
    gemv(ws[static_cast<std::size_t>(c)], VectorView<const float>(d.x.data(), s.cols),
         VectorView<float>(y.data(), s.rows), ctx);
  });
}

double fp32_gemv_ms(const Data& d, const Setup& s) {
  const double bytes = 4.0 * static_cast<double>(s.rows) * static_cast<double>(s.cols);
  const int copies = static_cast<int>(128.0 * 1024 * 1024 / bytes) + 1;
  std::vector<std::vector<float>> ws(static_cast<std::size_t>(copies), d.w);
  std::vector<float> y(static_cast<std::size_t>(s.rows));
  return median_ms(copies, 21, [&](int c) {
    const float* w = ws[static_cast<std::size_t>(c)].data();
#if LOWBIT_DEMO_EIGEN
    interop::eigen_gemv(MatrixView<const float>(w, s.rows, s.cols), d.x.data(), y.data());
#else
    for (Index r = 0; r < s.rows; ++r) {
      float acc = 0.0f;
      for (Index k = 0; k < s.cols; ++k) acc += w[r * s.cols + k] * d.x[static_cast<std::size_t>(k)];
      y[static_cast<std::size_t>(r)] = acc;
    }
#endif
  });
}

/// The default output: the best fit per code width and the GEMV speed against fp32.
void summary(const Setup& s, const Fit& mm, const Fit& ls) {
  using Tiled4 = PackedMatrix<Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerGroup<32>,
                              KernelLayout<>>;
  const Data d = make_data("gauss", s, 1234);
  std::vector<Width> widths;
  auto width = [&](const char* name, auto&& run) {
    const std::size_t from = g_rows.size();
    run();
    widths.push_back(Width{name, from, g_rows.size()});
  };
  width("8", [&] { summary_bits<8>(d, s, mm, ls); });
  width("4", [&] { summary_bits<4>(d, s, mm, ls); });
  width("3", [&] { summary_bits<3>(d, s, mm, ls); });
  width("2", [&] { summary_bits<2>(d, s, mm, ls); });
  width("1-2", [&] {
    using G = PerGroup<128>;
    const MatrixView<const float> wv(d.w.data(), s.rows, s.cols);
    run_one(d, s, "ternary", "optimal", 128,
            [&] { return calib::ternarize<f16, G>(wv, calib::TernaryMethod::kOptimal); });
    run_one(d, s, "binary_2plane", "arb2", 128,
            [&] { return calib::binarize2<f16, G>(wv, calib::Binary2Method::kArb); });
    run_one(d, s, "binary", "xnor", 128, [&] {
      return calib::binarize<BinaryOffset::kNone, f16, G>(wv, calib::BinaryMethod::kXnor);
    });
  });
  const double f32 = fp32_gemv_ms(d, s), b4 = gemv_ms<4>(d, s), b2 = gemv_ms<2>(d, s);
  if (s.json) {
    for (const Width& w : widths) print_row(s, best_of(w));
    std::printf(
        "{\"isa\":\"%s\",\"kernel\":\"%s\",\"gemv_fp32_ms\":%.4f,\"gemv_4bit_ms\":%.4f,"
        "\"gemv_2bit_ms\":%.4f}\n",
        std::string(isa::best::name()).c_str(), kernel_name<Tiled4>().c_str(), f32, b4, b2);
    return;
  }
  std::printf("%-5s  %-30s %6s %7s %10s %9s\n", "bits", "best fit here (of the tried)", "bpw",
              "SNR dB", "above D(R)", "GEMV err");
  for (const Width& w : widths) {
    const Row& r = best_of(w);
    const std::string fit = r.policy + " " + r.fit + " g" + std::to_string(r.group);
    std::printf("%-5s  %-30s %6.3f %7.2f %7.2f dB %8.2f%%\n", w.name.c_str(), fit.c_str(), r.bpw,
                r.snr, r.gap, 100.0 * r.gemv_rel);
  }
  std::printf(
      "(best = the least distance above Shannon's D(R) = 2^-2R at its own bits per weight: 0 dB\n"
      " is the limit of any quantizer; 2-bit Lloyd-Max, the best scalar one, is 2.74 dB "
      "above)\n\n");
  std::printf("GEMV %lld x %lld, 1 thread, each matrix read from memory (%s):\n",
              static_cast<long long>(s.rows), static_cast<long long>(s.cols),
              kernel_name<Tiled4>().c_str());
  std::printf("  fp32 %-17s %8.3f ms\n", LOWBIT_DEMO_EIGEN ? "(Eigen)" : "(plain loop)", f32);
  std::printf("  lowbit 4-bit g32     %8.3f ms   %.1fx faster, %.1fx smaller (4.5 bpw)\n", b4,
              f32 / b4, 32.0 / 4.5);
  std::printf("  lowbit 2-bit g32     %8.3f ms   %.1fx faster, %.1fx smaller (2.5 bpw)\n", b2,
              f32 / b2, 32.0 / 2.5);
  std::printf(
      "\nEvery policy, convention, group, a heavy-tailed matrix, trellis and CCQ: --full "
      "(minutes).\n");
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
    } else if (a == "--full") {
      s.full = true;
    } else if (a == "--rows" && i + 1 < argc) {
      s.rows = parse_dim(argv[++i]);
    } else if (a == "--cols" && i + 1 < argc) {
      s.cols = parse_dim(argv[++i]);
    } else if (a == "--threads" && i + 1 < argc) {
      s.threads = static_cast<int>(parse_dim(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--full] [--json] [--rows N] [--cols N] [--threads T]\n",
                   argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  Fit mm{"minmax", {}};
  Fit clip{"clip", {}};
  clip.opt.fit.range = RangeFit::kClipSearch;
  Fit ls{"clip+ls", clip.opt};
  ls.opt.fit.refit_iters = 4;
  if (!s.json) {
    std::printf("lowbit %d.%d.%d demo: %lld x %lld weights, fp16 scales, %d threads, ISA %s\n",
                kVersionMajor, kVersionMinor, kVersionPatch, static_cast<long long>(s.rows),
                static_cast<long long>(s.cols), s.threads, std::string(isa::best::name()).c_str());
    if (s.full) {
      std::printf(
          "gap_db = 10 log10(NMSE / 2^(-2 bpw)): distance above Shannon's D(R) at the same "
          "bits/weight\n\n");
      std::printf("%-6s %-15s %-11s %4s %5s %7s %11s %8s %7s %12s %8s\n", "dist", "policy", "fit",
                  "bits", "group", "bpw", "nmse", "snr_db", "gap_db", "gemv_rel_err", "quant_s");
    } else {
      std::printf("N(0, 1) weights; every fit checked by a GEMV against fp32\n\n");
    }
  }
  try {
    if (!s.full) {
      summary(s, mm, ls);
      return 0;
    }
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
