// SPDX-License-Identifier: Apache-2.0
// tools/lowbit_actq.cpp: layer-output SNR of activation quantizers on a llama2.c model's
// recorded layer inputs: calibrate on one set of documents, measure on another.
//
// usage: lowbit-actq --model M(.bin|.gguf) --calib-tokens C.i32 --tokens T.i32 [--calib-docs N]
//                    [--docs N] [--bits B] [--stride S] [--gate-fraction F] [--threads N]
// For every linear layer (inputs recorded from the fp32 model, every S-th token) it prints
// SNR = 10·log10(Σ‖W·x‖² / Σ‖W·(x̂ - x)‖²) in dB on the evaluation documents for: static
// absmax, static min/max, dual bound by grid search, dual bound trained (Adam + STE), dual bound
// with the dynamic gate (layers of highest dynamic intensity), and per-token absmax and min/max;
// then the means over layers and the gate's gain on the gated layers. Calibration: the last
// --calib-docs (1000) documents of --calib-tokens; evaluation: the first --docs (1000) of
// --tokens (llama/activations.hpp). Exit status 0, 2 on a usage error, 1 on other errors.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "args.hpp"
#include "llama/activations.hpp"
#include "llama/eval.hpp"

namespace {

constexpr const char* kUsage =
    "usage: lowbit-actq --model M(.bin|.gguf) --calib-tokens C.i32 --tokens T.i32 [--calib-docs "
    "N]\n"
    "                   [--docs N] [--bits B] [--stride S] [--gate-fraction F] [--threads N]\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace lowbit;
  try {
    const tools::Args args(argc, argv,
                           {"--model", "--tokens", "--calib-tokens", "--docs", "--calib-docs",
                            "--bits", "--stride", "--gate-fraction", "--threads"},
                           {"--help", "-h"});
    if (args.has("--help") || args.has("-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (!args.has("--model") || !args.has("--tokens") || !args.has("--calib-tokens"))
      throw tools::UsageError{"--model, --tokens and --calib-tokens are required"};
    const long long docs_limit = args.num("--docs", 1000, 1, 100000000);
    const long long calib_docs = args.num("--calib-docs", 1000, 1, 100000000);
    const int bits = static_cast<int>(args.num("--bits", 4, 2, 8));
    const Index stride = static_cast<Index>(args.num("--stride", 40, 1, 1000000));
    const double gate_pct = static_cast<double>(args.num("--gate-fraction", 30, 0, 100));
    const int threads = static_cast<int>(args.num("--threads", 1, 1, 1024));
    try {
      const auto t0 = std::chrono::steady_clock::now();
      auto docs = llama::load_documents(args.str("--tokens"));
      if (static_cast<std::size_t>(docs_limit) < docs.size())
        docs.resize(static_cast<std::size_t>(docs_limit));
      const auto calib =
          llama::load_calibration(args.str("--calib-tokens"), static_cast<std::size_t>(calib_docs));
      std::size_t longest = 0;
      for (const auto& d : docs) longest = std::max(longest, d.size());
      for (const auto& d : calib) longest = std::max(longest, d.size());
      const io::Llama2cModel ckpt =
          llama::load_checkpoint(args.str("--model"), static_cast<int>(longest));
      const llama::Model fp = llama::Model::from_llama2c(ckpt);
      Context ctx(threads);
      const llama::ActRecording rc = llama::record_activations(fp, calib, stride, ctx);
      const llama::ActRecording re = llama::record_activations(fp, docs, stride, ctx);
      const std::string b = "a" + std::to_string(bits) + "-";
      const char* names[] = {"absmax-static", "minmax-static", "db-grid",
                             "dbgate",        "absmax",        "minmax"};
      constexpr int kM = 6;
      std::vector<std::vector<llama::ActQuantizer>> qs;
      for (const char* n : names) {
        llama::ActPolicy p = llama::parse_act_policy(b + n);
        p.gate_fraction = gate_pct / 100.0;
        qs.push_back(llama::calibrate_activations(fp, rc, p));
      }
      // db: dbgate's static ranges without the gates.
      std::vector<llama::ActQuantizer> db = qs[3];
      for (auto& q : db) {
        q.method = llama::ActMethod::kDb;
        q.gate.reset();
      }
      const std::size_t L = fp.linear.size();
      std::printf(
          "layer-output SNR (dB), %d-bit activations; calibration %zu docs (%lld rows/layer"
          " avg), evaluation %zu docs\n",
          bits, calib.size(), static_cast<long long>(rc.tokens(0)), docs.size());
      std::printf("%-12s %8s %8s %8s %8s %8s %8s %8s  %s\n", "layer", "absmax-s", "minmax-s",
                  "db-grid", "db", "dbgate", "absmax", "minmax", "intensity");
      double sum[kM + 1] = {}, gate_gain = 0.0;
      int gated = 0;
      for (std::size_t i = 0; i < L; ++i) {
        const auto* f = dynamic_cast<const llama::F32Linear*>(fp.linear[i].get());
        const calib::OutputError err(f->weights());
        const MatrixView<const float> x = re.view(i);
        const double sig = err.signal(x);
        auto snr = [&](const llama::ActQuantizer& q) {
          calib::RowMatrixF e(x.rows(), x.cols());
          q.apply(x, MatrixView<float>(e.data(), x.rows(), x.cols()));
          for (Index t = 0; t < x.rows(); ++t)
            for (Index c = 0; c < x.cols(); ++c) e(t, c) -= x(t, c);
          return 10.0 * std::log10(sig / err.form(e));
        };
        double v[kM + 1];
        v[0] = snr(qs[0][i]);
        v[1] = snr(qs[1][i]);
        v[2] = snr(qs[2][i]);
        v[3] = snr(db[i]);
        v[4] = snr(qs[3][i]);
        v[5] = snr(qs[4][i]);
        v[6] = snr(qs[5][i]);
        for (int m = 0; m <= kM; ++m) sum[m] += v[m];
        if (qs[3][i].gate) {
          gate_gain += v[4] - v[3];
          ++gated;
        }
        std::printf("%-12s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f  %.4f%s\n",
                    ("layers." + std::to_string(i / 7) + "." + llama::kMatrixNames[i % 7]).c_str(),
                    v[0], v[1], v[2], v[3], v[4], v[5], v[6], qs[3][i].intensity,
                    qs[3][i].gate ? " gated" : "");
      }
      std::printf("%-12s", "mean");
      for (int m = 0; m <= kM; ++m) std::printf(" %8.2f", sum[m] / static_cast<double>(L));
      std::printf("\n");
      const double mean_db = sum[3] / static_cast<double>(L);
      std::printf("db (static) - minmax-static: %+.2f dB; db - absmax-static: %+.2f dB\n",
                  mean_db - sum[1] / static_cast<double>(L),
                  mean_db - sum[0] / static_cast<double>(L));
      if (gated > 0)
        std::printf("gate on %d layers: %+.2f dB over db on those layers (mean)\n", gated,
                    gate_gain / gated);
      std::printf("(%.1f s)\n",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lowbit-actq: %s\n", e.what());
      return 1;
    }
  } catch (const tools::UsageError& e) {
    std::fprintf(stderr, "lowbit-actq: %s\n%s", e.what.c_str(), kUsage);
    return 2;
  }
}
