// SPDX-License-Identifier: Apache-2.0
// tools/lowbit_eval.cpp: perplexity, KL divergence to fp32 and top-1 agreement of a quantized
// llama2.c model run on lowbit's kernels, against the fp32 model.
//
// usage: lowbit-eval --model M(.bin|.gguf) --tokens T.i32 [--quantized Q.lowbit | --policy NAME]
//                    [--docs N] [--threads N] [--calib-tokens C.i32] [--calib-docs N]
//                    [--float-activations] [--act NAME] [--act-gate-fraction F] [--json]
// --quantized scores a file written by lowbit-quantize; --policy quantizes M in memory first
// (-imp/-gptq/-seq/-e2e policies calibrate on the last --calib-docs (1000) documents of
// --calib-tokens).
// With neither it scores the fp32 model (KL 0, top-1 1). A .gguf model (llama architecture,
// any block types formats/ggml/blocks.hpp decodes: io/gguf_llama.hpp) is decoded to fp32 and scored
// as that fp32 model, so llama.cpp's quantized files are scored by the same code as lowbit's;
// --ref R (.bin or .gguf) names the fp32 model KL and top-1 compare with (default: M).
// --kernels runs a .gguf model's block-typed matrices on lowbit's kernels in their own format
// instead (llama/gguf_model.hpp: Q4_0 … TQ2_0 as lowbit schemes, values bit-identical).
// Quantized layers take int8 per-token activations (lowbit::gemm) unless --float-activations
// (lowbit::gemm_f32).
// --act NAME quantizes the inputs of every linear layer (fp32 or quantized weights) by an
// activation policy a<bits>-<method> (llama/activations.hpp: absmax, absmax-static, minmax,
// minmax-static, db, db-grid, dbgate), calibrated on the fp32 model's inputs over the calibration
// documents; the layers then take the dequantized activations in float (gemm_f32), so no int8
// requantization is added. --act-gate-fraction (percent, default 30): dbgate's gated layers.
// Exit status 0 on success, 2 on a usage error, 1 on any other error (message on stderr).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "args.hpp"
#include "llama/activations.hpp"
#include "llama/eval.hpp"
#include "llama/gguf_model.hpp"
#include "lowbit/io/gguf_llama.hpp"

namespace {

constexpr const char* kUsage =
    "usage: lowbit-eval --model M(.bin|.gguf) --tokens T.i32 [--quantized Q.lowbit | --policy "
    "NAME]\n"
    "                   [--docs N] [--threads N] [--calib-tokens C.i32] [--calib-docs N]\n"
    "                   [--float-activations] [--act NAME] [--act-gate-fraction F] [--json]\n"
    "                   [--ref R(.bin|.gguf)] [--kernels]\n"
    "  --act: a<bits>-<absmax|absmax-static|minmax|minmax-static|db|db-grid|dbgate>, e.g. a4-db\n"
    "         (all but absmax and minmax, the per-token ones, need --calib-tokens)\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace lowbit;
  try {
    const tools::Args args(
        argc, argv,
        {"--model", "--ref", "--tokens", "--quantized", "--policy", "--docs", "--threads",
         "--calib-tokens", "--calib-docs", "--act", "--act-gate-fraction"},
        {"--float-activations", "--kernels", "--json", "--help", "-h"});
    if (args.has("--help") || args.has("-h")) {
      std::fputs(kUsage, stdout);
      std::fputs(llama::kPolicyHelp, stdout);
      return 0;
    }
    if (!args.has("--model") || !args.has("--tokens"))
      throw tools::UsageError{"--model and --tokens are required"};
    if (args.has("--quantized") && args.has("--policy"))
      throw tools::UsageError{"--quantized and --policy exclude each other"};
    if (args.has("--kernels") && (!tools::ends_with(args.str("--model"), ".gguf") ||
                                  args.has("--quantized") || args.has("--policy")))
      throw tools::UsageError{
          "--kernels runs a .gguf model's own weights (no --quantized/--policy)"};
    const long long docs_limit = args.num("--docs", 0, 1, 100000000);
    const int threads = static_cast<int>(args.num("--threads", 1, 1, 1024));
    const long long calib_docs = args.num("--calib-docs", 1000, 1, 100000000);
    std::optional<llama::ActPolicy> act;
    if (args.has("--act")) {
      try {
        act = llama::parse_act_policy(args.str("--act"));
      } catch (const Error& e) {
        throw tools::UsageError{e.what()};
      }
      act->gate_fraction = static_cast<double>(args.num("--act-gate-fraction", 30, 0, 100)) / 100.0;
      if (act->is_static() && !args.has("--calib-tokens"))
        throw tools::UsageError{"--act " + act->name + " needs --calib-tokens"};
    }
    // Quantized activations reach the layers dequantized, in float.
    const bool float_acts = args.has("--float-activations") || act.has_value();
    try {
      const auto t0 = std::chrono::steady_clock::now();
      auto docs = llama::load_documents(args.str("--tokens"));
      if (docs_limit > 0 && static_cast<std::size_t>(docs_limit) < docs.size())
        docs.resize(static_cast<std::size_t>(docs_limit));
      std::size_t longest = 0;
      for (const auto& d : docs) longest = std::max(longest, d.size());
      const std::string& mpath = args.str("--model");
      const bool gguf = tools::ends_with(mpath, ".gguf");
      const io::Llama2cModel ckpt = llama::load_checkpoint(mpath, static_cast<int>(longest));
      // --ref: the fp32 model KL and top-1 are measured against (default: --model itself).
      std::optional<io::Llama2cModel> ref_ckpt;
      if (args.has("--ref"))
        ref_ckpt = llama::load_checkpoint(args.str("--ref"), static_cast<int>(longest));
      const llama::Model ref = llama::Model::from_llama2c(ref_ckpt ? *ref_ckpt : ckpt);
      Context ctx(threads);
      // --act: calibrate on the fp32 model's layer inputs, then wrap a model's layers.
      std::vector<llama::ActQuantizer> act_q;
      if (act) {
        std::vector<std::vector<int>> adocs;
        if (args.has("--calib-tokens"))
          adocs = llama::load_calibration(args.str("--calib-tokens"),
                                          static_cast<std::size_t>(calib_docs));
        if (act->is_static()) {
          const llama::ActRecording rec = llama::record_activations(ref, adocs, 40, ctx);
          act_q = llama::calibrate_activations(ref, rec, *act);
        } else {
          act_q = llama::calibrate_activations(ref, llama::ActRecording{}, *act);
        }
      }
      auto quantize_inputs = [&](llama::Model& m) {
        if (act) llama::quantize_inputs(m, act_q);
      };
      llama::EvalResult r;
      double bpw = 32.0;
      std::string name = "fp32";
      if (gguf) {  // the file's own weights: name it, and count the bits of its matrices
        const io::GgufFile g = io::load_gguf(mpath);
        double bits = 0.0, n = 0.0;
        for (const auto& t : g.tensors) {
          if (t.ne.size() < 2) continue;
          bits += 8.0 * static_cast<double>(t.bytes);
          n += static_cast<double>(t.numel());
        }
        bpw = n > 0 ? bits / n : 32.0;
        name = mpath.substr(mpath.find_last_of('/') + 1);
      }
      if (args.has("--quantized")) {
        llama::QuantizedModel q = llama::from_archive(io::Archive::load(args.str("--quantized")));
        const std::string diff = llama::config_mismatch(q.config, ckpt.config);
        if (!diff.empty())
          lowbit::fail("'", args.str("--quantized"), "' is not a quantization of '",
                       args.str("--model"), "' (", diff, ")");
        // The context is the documents', as for the --model itself (a GGUF says 128 for a
        // model trained at 512; its archive keeps that number).
        q.config.seq_len = std::max(q.config.seq_len, ckpt.config.seq_len);
        llama::Model m = llama::build_model(q, float_acts);
        bpw = llama::model_bpw(q);
        name = q.policy;
        quantize_inputs(m);
        r = llama::evaluate(ref, m, docs, ctx);
      } else if (args.has("--policy")) {
        llama::Policy p;
        try {
          p = llama::parse_policy(args.str("--policy"));
        } catch (const Error& e) {
          throw tools::UsageError{e.what()};
        }
        std::vector<std::vector<int>> calib;
        if (p.needs_calibration()) {
          if (!args.has("--calib-tokens"))
            throw tools::UsageError{"policy " + p.name + " needs --calib-tokens"};
          calib = llama::load_calibration(args.str("--calib-tokens"),
                                          static_cast<std::size_t>(calib_docs));
        }
        const llama::QuantizedModel q = llama::quantize_checkpoint(ckpt, p, calib, ctx);
        bpw = llama::model_bpw(q);
        name = p.name;
        llama::Model m = llama::build_model(q, float_acts);
        quantize_inputs(m);
        r = llama::evaluate(ref, m, docs, ctx);
      } else if (args.has("--kernels")) {
        llama::Model m =
            llama::model_from_gguf(io::load_gguf(mpath), static_cast<int>(longest), float_acts);
        name += " (kernels)";
        quantize_inputs(m);
        r = llama::evaluate(ref, m, docs, ctx);
      } else if (act) {
        llama::Model m = llama::Model::from_llama2c(ckpt);
        quantize_inputs(m);
        r = llama::evaluate(ref, m, docs, ctx);
      } else if (ref_ckpt) {
        r = llama::evaluate(ref, llama::Model::from_llama2c(ckpt), docs, ctx);
      } else {
        r = llama::evaluate(ref, ref, docs, ctx);
      }
      if (act) name += " " + act->name;
      if (r.cut_docs > 0)
        std::fprintf(stderr,
                     "lowbit-eval: note: %lld documents are longer than the model's context; "
                     "their %lld tokens past it are not scored\n",
                     static_cast<long long>(r.cut_docs), static_cast<long long>(r.cut_tokens));
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (args.has("--json")) {
        std::printf(
            "{\"policy\": \"%s\", \"bpw\": %.4f, \"ppl\": %.6f, \"kl\": %.6f, \"top1\": %.6f, "
            "\"docs\": %lld, \"tokens\": %lld, \"seconds\": %.2f}\n",
            name.c_str(), bpw, r.ppl(), r.mean_kl(), r.top1(), static_cast<long long>(r.docs),
            static_cast<long long>(r.tokens), secs);
      } else {
        std::printf(
            "policy %s  bpw %.3f  PPL %.4f  mean KL %.5f  top-1 %.2f %%  (%lld docs, %lld "
            "tokens, %.1f s)\n",
            name.c_str(), bpw, r.ppl(), r.mean_kl(), 100.0 * r.top1(),
            static_cast<long long>(r.docs), static_cast<long long>(r.tokens), secs);
      }
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lowbit-eval: %s\n", e.what());
      return 1;
    }
  } catch (const tools::UsageError& e) {
    std::fprintf(stderr, "lowbit-eval: %s\n%s", e.what.c_str(), kUsage);
    return 2;
  }
}
