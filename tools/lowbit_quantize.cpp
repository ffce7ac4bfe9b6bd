// SPDX-License-Identifier: Apache-2.0
// tools/lowbit_quantize.cpp: quantizes a model file by a named policy into a lowbit archive
// (io/archive.hpp), printing each tensor's bpw and error.
//
// usage: lowbit-quantize --model IN --policy NAME --out OUT.lowbit [--calib-tokens C.i32]
//                        [--calib-docs N] [--threads N] [--seed N] [--keep A,B,...]
// IN is a llama2.c checkpoint, or a .safetensors file (F32/F16/BF16). From llama2.c, the 7
// matrices of every layer are quantized and everything else is kept in fp32 (the archive then
// runs in lowbit-eval --quantized). From safetensors, every 2-D tensor whose name contains none
// of the --keep substrings (default embed,norm,lm_head) is quantized and the rest kept in fp32;
// its names are kept. -imp, -gptq, -seq and -e2e policies record calibration activations from
// the forward pass over the last --calib-docs (1000) documents of --calib-tokens (llama2.c only).
// GGUF: --out X.gguf with --policy ggml-<q4_0|q4_1|q5_0|q5_1|q8_0> writes what llama-quantize
// writes for that file type (io/gguf_llama.hpp: its per-tensor rules and tensor order, ggml's
// reference quantizers; byte-identical on stories260K) from an F32/F16 llama GGUF --model; with
// a lowbit policy of ggml's schemes (sym4-g32…: Q4_0, asym4-g32…: Q4_1, sym8-g32…: Q8_0; no
// -rot) it writes the same file with lowbit's fits in place of ggml's in every tensor of that
// type (llama/gguf_model.hpp: gguf_with_fits), a file llama.cpp runs. A .gguf --model also
// takes every lowbit policy into a .lowbit archive.
// Per tensor it prints shape, bpw, NMSE ‖W-Ŵ‖²/‖W‖² and, with calibration, the output error
// tr(ΔW·H·ΔWᵀ)/tr(W·H·Wᵀ). On a terminal a progress bar runs on stderr. Exit status 0 on
// success, 2 on a usage error, 1 on any other error.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "args.hpp"
#include "llama/eval.hpp"
#include "llama/gguf_model.hpp"
#include "lowbit/io/gguf_llama.hpp"
#include "lowbit/io/safetensors.hpp"

namespace {

constexpr const char* kUsage =
    "usage: lowbit-quantize --model IN(.bin|.safetensors|.gguf) --policy NAME --out "
    "OUT(.lowbit|.gguf)\n"
    "                       [--calib-tokens C.i32] [--calib-docs N] [--threads N] [--seed N]\n"
    "                       [--keep A,B,...] [--allow-requantize]\n"
    "  --out X.gguf: ggml-<q4_0|q4_1|q5_0|q5_1|q8_0> (llama-quantize's own file), or\n"
    "  sym4-g32..., asym4-g32..., sym8-g32... (lowbit's fits as Q4_0, Q4_1, Q8_0 blocks)\n";

using lowbit::llama::QuantizedTensor;

/// Per-tensor lines on stdout; on a terminal, a progress bar on stderr.
class Reporter {
 public:
  explicit Reporter(bool calibrated) : tty_(isatty(STDERR_FILENO) == 1), calibrated_(calibrated) {
    std::printf("%-28s %11s %8s %12s %12s\n", "tensor", "shape", "bpw", "nmse",
                calibrated_ ? "out_err" : "");
  }
  void tensor(std::size_t i, std::size_t n, const std::string& name, long long rows, long long cols,
              const QuantizedTensor& t) {
    if (tty_) std::fprintf(stderr, "\r\033[K");
    const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
    if (calibrated_) {
      std::printf("%-28s %11s %8.4f %12.5g %12.5g\n", name.c_str(), shape.c_str(), t.bpw, t.nmse,
                  t.out_err);
    } else {
      std::printf("%-28s %11s %8.4f %12.5g\n", name.c_str(), shape.c_str(), t.bpw, t.nmse);
    }
    std::fflush(stdout);
    if (tty_) {
      constexpr int kWidth = 30;
      const int done =
          static_cast<int>(static_cast<double>(i + 1) / static_cast<double>(n) * kWidth);
      std::fprintf(stderr, "[%s%s] %zu/%zu %s",
                   std::string(static_cast<std::size_t>(done), '#').c_str(),
                   std::string(static_cast<std::size_t>(kWidth - done), '.').c_str(), i + 1, n,
                   name.c_str());
      std::fflush(stderr);
    }
  }
  void done() {
    if (tty_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool tty_;
  bool calibrated_;
};

/// Refuses a GGUF without tensors, and one whose matrices are already block-quantized unless
/// --allow-requantize says so (llama-quantize's rule: quantizing decoded Q4_0 values again
/// compounds both errors).
void check_gguf_input(const lowbit::io::GgufFile& g, const std::string& path, bool requantize) {
  using lowbit::ggml::Type;
  if (g.tensors.empty()) lowbit::fail("'", path, "' holds no tensors");
  if (requantize) return;
  for (const auto& t : g.tensors) {
    const auto type = static_cast<Type>(t.type);
    if (t.ne.size() >= 2 && type != Type::F32 && type != Type::F16 && type != Type::BF16)
      lowbit::fail(
          "'", path, "': tensor '", t.name, "' is already ",
          lowbit::ggml::type_info(t.type) ? lowbit::ggml::type_info(t.type)->name : "quantized",
          "; quantize an F32/F16/BF16 file, or pass --allow-requantize");
  }
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    const std::size_t j = s.find(',', i);
    const std::string part = s.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (!part.empty()) out.push_back(part);
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lowbit;
  try {
    const tools::Args args(argc, argv,
                           {"--model", "--policy", "--out", "--calib-tokens", "--calib-docs",
                            "--threads", "--seed", "--keep"},
                           {"--help", "-h", "--allow-requantize"});
    if (args.has("--help") || args.has("-h")) {
      std::fputs(kUsage, stdout);
      std::fputs(llama::kPolicyHelp, stdout);
      return 0;
    }
    if (!args.has("--model") || !args.has("--policy") || !args.has("--out"))
      throw tools::UsageError{"--model, --policy and --out are required"};
    if (tools::ends_with(args.str("--out"), ".gguf")) {
      const std::string name = args.str("--policy");
      const std::pair<const char*, ggml::Type> kTypes[] = {{"ggml-q4_0", ggml::Type::Q4_0},
                                                           {"ggml-q4_1", ggml::Type::Q4_1},
                                                           {"ggml-q5_0", ggml::Type::Q5_0},
                                                           {"ggml-q5_1", ggml::Type::Q5_1},
                                                           {"ggml-q8_0", ggml::Type::Q8_0}};
      const auto it = std::find_if(std::begin(kTypes), std::end(kTypes),
                                   [&](const auto& t) { return name == t.first; });
      if (!tools::ends_with(args.str("--model"), ".gguf"))
        throw tools::UsageError{"--out X.gguf needs an F32/F16 GGUF --model"};
      if (it != std::end(kTypes)) {
        try {
          const io::GgufFile gin = io::load_gguf(args.str("--model"));
          check_gguf_input(gin, args.str("--model"), args.has("--allow-requantize"));
          const io::GgufFile q = io::quantize_like_llama_cpp(gin, it->second);
          const std::vector<std::byte> image = io::write_gguf(q);
          io::write_file(image, args.str("--out"));
          std::printf("%s: %s, %zu tensors, %zu bytes\n", args.str("--out").c_str(), name.c_str(),
                      q.tensors.size(), image.size());
          return 0;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "lowbit-quantize: %s\n", e.what());
          return 1;
        }
      }
    }
    llama::Policy p;
    try {
      p = llama::parse_policy(args.str("--policy"));
    } catch (const Error& e) {
      throw tools::UsageError{e.what()};
    }
    const long long calib_docs = args.num("--calib-docs", 1000, 1, 100000000);
    const int threads = static_cast<int>(args.num("--threads", 1, 1, 1024));
    const auto seed = static_cast<std::uint64_t>(args.num("--seed", 0x10b17, 0, 1LL << 62));
    const std::vector<std::string> keep = split(args.str("--keep", "embed,norm,lm_head"));
    const std::string in = args.str("--model");
    const bool safetensors = tools::ends_with(in, ".safetensors");
    const bool gguf_in = tools::ends_with(in, ".gguf");
    const bool gguf_out = tools::ends_with(args.str("--out"), ".gguf");
    if (safetensors && p.needs_calibration())
      throw tools::UsageError{"policy " + p.name +
                              " needs calibration, which runs the llama2.c forward pass; "
                              "safetensors input takes uncalibrated policies"};
    if (p.needs_calibration() && !args.has("--calib-tokens"))
      throw tools::UsageError{"policy " + p.name + " needs --calib-tokens"};
    try {
      const auto t0 = std::chrono::steady_clock::now();
      io::Archive archive;
      std::vector<std::byte> image;
      double bits = 0.0, weights = 0.0;
      if (!safetensors) {
        std::optional<io::GgufFile> gin;
        if (gguf_in) {
          gin = io::load_gguf(in);
          check_gguf_input(*gin, in, args.has("--allow-requantize"));
        }
        const io::Llama2cModel ckpt = gin ? io::llama_from_gguf(*gin) : io::load_llama2c(in);
        std::vector<std::vector<int>> calib;
        if (args.has("--calib-tokens")) {
          calib = llama::load_calibration(args.str("--calib-tokens"),
                                          static_cast<std::size_t>(calib_docs));
        }
        Context ctx(threads);
        Reporter rep(!calib.empty());
        const llama::QuantizedModel q = llama::quantize_checkpoint(
            ckpt, p, calib, ctx, seed,
            [&](std::size_t i, std::size_t n, const std::string& name, const QuantizedTensor& t) {
              const io::FileInfo info = io::read_header(t.image);
              rep.tensor(i, n, name, static_cast<long long>(info.rows),
                         static_cast<long long>(info.cols), t);
            });
        rep.done();
        if (gguf_out) {
          image = io::write_gguf(llama::gguf_with_fits(*gin, p, q));
        } else {
          archive = llama::to_archive(q);
        }
        const double bpw = llama::model_bpw(q);
        for (const auto& t : q.tensors) {
          const io::FileInfo info = io::read_header(t.image);
          weights +=
              static_cast<double>(info.rows) * static_cast<double>(t.cols > 0 ? t.cols : info.cols);
        }
        bits = bpw * weights;
      } else {
        const auto tensors = io::load_safetensors(in);
        archive.add_text("lowbit.policy", p.name);
        archive.add_text("lowbit.source", "safetensors");
        std::size_t n_quant = 0, i = 0;
        auto quantized = [&](const std::string& name, const io::SafeTensor& t) {
          if (t.shape.size() != 2 || t.numel() == 0) return false;
          for (const std::string& k : keep)
            if (name.find(k) != std::string::npos) return false;
          return true;
        };
        for (const auto& [name, t] : tensors) n_quant += quantized(name, t);
        Reporter rep(false);
        for (const auto& [name, t] : tensors) {
          // Every tensor, kept or quantized, is checked here, so an error names it.
          const Index rows = t.shape.empty() ? 1 : t.shape[0];
          const Index cols = rows > 0 ? t.numel() / rows : 0;
          check_finite(MatrixView<const float>(t.data.data(), rows, cols),
                       "safetensors: tensor '" + name + "'");
          if (quantized(name, t)) {
            const MatrixView<const float> w(t.data.data(), t.shape[0], t.shape[1]);
            const QuantizedTensor q = llama::quantize_tensor(w, p, nullptr, seed + i);
            rep.tensor(i++, n_quant, name, t.shape[0], t.shape[1], q);
            archive.add_packed(name, q.image);
            if (!q.rotation.empty()) archive.add_i32(name + ".rotation", q.rotation);
            if (!q.col_scale.empty()) archive.add_f32(name + ".col_scale", q.col_scale);
            bits += q.bpw * static_cast<double>(t.numel());
            weights += static_cast<double>(t.numel());
          } else {
            archive.add_f32(name, MatrixView<const float>(t.data.data(), rows, cols));
          }
        }
        rep.done();
      }
      if (!gguf_out) image = archive.serialize();
      io::write_file(image, args.str("--out"));
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%s: policy %s, %.4f bpw over %.0f quantized weights, %zu bytes, %.1f s\n",
                  args.str("--out").c_str(), p.name.c_str(), weights > 0 ? bits / weights : 0.0,
                  weights, image.size(), secs);
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lowbit-quantize: %s\n", e.what());
      return 1;
    }
  } catch (const tools::UsageError& e) {
    std::fprintf(stderr, "lowbit-quantize: %s\n%s", e.what.c_str(), kUsage);
    return 2;
  }
}
