// SPDX-License-Identifier: Apache-2.0
// tools/lowbit_eval.cpp: perplexity, KL divergence to fp32 and top-1 agreement of a llama2.c
// model whose layer matrices are quantized by a named policy and run on lowbit's kernels.
//
// usage: lowbit-eval --model M.bin --tokens T.i32 [--policy NAME] [--docs N] [--threads N]
//                    [--calib-tokens C.i32] [--calib-docs N] [--float-activations] [--json]
// -gptq policies calibrate on the last --calib-docs (1000) documents of --calib-tokens.
// Without --policy it scores the fp32 model (KL 0, top-1 1). Quantized layers take int8
// per-token activations (lowbit::gemm) unless --float-activations (lowbit::gemm_f32). Exit status 0
// on success, 2 on a usage error, 1 on any other error (message on stderr).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "llama/eval.hpp"

namespace {

int usage(const char* why) {
  std::fprintf(
      stderr,
      "lowbit-eval: %s\nusage: lowbit-eval --model M.bin --tokens T.i32 [--policy NAME] "
      "[--docs N] [--threads N] [--calib-tokens C.i32] [--calib-docs N] [--float-activations] "
      "[--json]\n  NAME: "
      "<sym|asym><2|3|4|8>-g<32|64>[-clip][-gptq], "
      "e.g. sym4-g32, asym2-g64-clip\n",
      why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lowbit;
  std::string model_path, tokens_path, policy, calib_path;
  long calib_docs = 1000;
  long docs_limit = 0;
  int threads = 1;
  bool json = false;
  bool float_acts = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--model") {
      const char* v = value();
      if (!v) return usage("--model needs a path");
      model_path = v;
    } else if (a == "--tokens") {
      const char* v = value();
      if (!v) return usage("--tokens needs a path");
      tokens_path = v;
    } else if (a == "--policy") {
      const char* v = value();
      if (!v) return usage("--policy needs a name");
      policy = v;
    } else if (a == "--calib-tokens") {
      const char* v = value();
      if (!v) return usage("--calib-tokens needs a path");
      calib_path = v;
    } else if (a == "--docs" || a == "--threads" || a == "--calib-docs") {
      const char* v = value();
      char* end = nullptr;
      const long n = v ? std::strtol(v, &end, 10) : 0;
      if (!v || *end != '\0' || n < 1 || n > 100000000)
        return usage("--docs/--threads need a positive number");
      if (a == "--docs") {
        docs_limit = n;
      } else if (a == "--calib-docs") {
        calib_docs = n;
      } else {
        threads = n > 1024 ? 1024 : static_cast<int>(n);
      }
    } else if (a == "--float-activations") {
      float_acts = true;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--help" || a == "-h") {
      usage("help");
      return 0;
    } else {
      return usage(("unknown argument '" + a + "'").c_str());
    }
  }
  if (model_path.empty() || tokens_path.empty()) return usage("--model and --tokens are required");
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const io::Llama2cModel ckpt = io::load_llama2c(model_path);
    auto docs = llama::load_documents(tokens_path);
    if (docs_limit > 0 && static_cast<std::size_t>(docs_limit) < docs.size())
      docs.resize(static_cast<std::size_t>(docs_limit));
    const llama::Model ref = llama::Model::from_llama2c(ckpt);
    Context ctx(threads);
    llama::EvalResult r;
    double bpw = 32.0;
    if (policy.empty()) {
      r = llama::evaluate(ref, ref, docs, ctx);
    } else {
      llama::Policy p = llama::parse_policy(policy);
      p.float_activations = float_acts;
      std::vector<Eigen::MatrixXd> hessians;
      if (p.gptq) {
        // Calibration: the last --calib-docs documents of --calib-tokens (default: the token
        // file itself when it is not the evaluated subset's source of overlap; see README).
        auto calib = llama::load_documents(calib_path.empty() ? tokens_path : calib_path);
        if (static_cast<std::size_t>(calib_docs) < calib.size())
          calib.erase(calib.begin(), calib.end() - calib_docs);
        hessians = llama::record_hessians(ckpt, calib, ctx);
      }
      const llama::Model q = llama::quantize_model(ckpt, p, &hessians);
      bpw = llama::model_bpw(q);
      r = llama::evaluate(ref, q, docs, ctx);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string name = policy.empty() ? "fp32" : policy;
    if (json) {
      std::printf(
          "{\"policy\": \"%s\", \"bpw\": %.4f, \"ppl\": %.6f, \"kl\": %.6f, \"top1\": %.6f, "
          "\"docs\": %lld, \"tokens\": %lld, \"seconds\": %.2f}\n",
          name.c_str(), bpw, r.ppl(), r.mean_kl(), r.top1(), static_cast<long long>(r.docs),
          static_cast<long long>(r.tokens), secs);
    } else {
      std::printf(
          "policy %s  bpw %.3f  PPL %.4f  mean KL %.5f  top-1 %.2f %%  (%lld docs, %lld "
          "tokens, %.1f s)\n",
          name.c_str(), bpw, r.ppl(), r.mean_kl(), 100.0 * r.top1(), static_cast<long long>(r.docs),
          static_cast<long long>(r.tokens), secs);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lowbit-eval: %s\n", e.what());
    return 1;
  }
}
