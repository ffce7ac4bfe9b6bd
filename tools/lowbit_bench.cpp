// SPDX-License-Identifier: Apache-2.0
// tools/lowbit_bench.cpp: tokens per second of a Llama GGUF model on lowbit's kernels, measured
// the way llama-bench measures llama.cpp.
//
// usage: lowbit-bench --model FILE.gguf [-p 512] [-n 128] [-t 1,2] [-r 3]
//                     [--act int8|int8-token|f32] [--json]
//
// The file is memory-mapped and each matrix repacked once into its kernel layout (Decoder,
// tools/llama/decoder.hpp); the load time and the peak resident set are printed. Then, for each
// thread count:
//   pp<P>: a prompt of P tokens evaluated as one batch from an empty cache (logits of the last
//          token only), as llama-bench's pp test;
//   tg<N>: N tokens evaluated one at a time from an empty cache, each appended to the KV cache
//          and producing the full logits, as llama-bench's tg test.
// Tokens are drawn uniformly from the vocabulary with a fixed seed (speed does not depend on
// them). Each test runs once untimed (warm-up), then -r times; tokens/s is reported as the mean
// ± standard deviation over the runs (llama-bench's avg_ts/stddev_ts), with the share of the
// time spent in the matrix products and in attention.
//
// --act selects the activations of the products: int8 (default) quantizes them to int8 with one
// scale per weight group (16, 32 or 256 values: as fine as llama.cpp's q8_0 / q8_K blocks, or
// finer); int8-token with one scale per token (cheaper, coarser than llama.cpp's); f32 keeps
// them in fp32 (gemm_f32, more precise than llama.cpp's).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "args.hpp"
#include "llama/decoder.hpp"
#include "lowbit/io/gguf.hpp"

namespace {

constexpr const char* kUsage =
    "usage: lowbit-bench --model FILE.gguf [-p 512] [-n 128] [-t 1,2] [-r 3] "
    "[--act int8|int8-token|f32] [--json]\n"
    "  -p N        prompt tokens evaluated as one batch (pp test; 0 skips it)\n"
    "  -n N        tokens generated one at a time (tg test; 0 skips it)\n"
    "  -t A,B,...  thread counts (default 1)\n"
    "  -r N        timed repetitions of each test (default 3)\n"
    "  --act int8  int8 activations, a scale per weight group (default, llama.cpp's precision);\n"
    "              int8-token: a scale per token; f32: fp32 activations\n"
    "  --json      one JSON object per line instead of the table\n";

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::size_t at = 0;
  while (at <= s.size()) {
    const std::size_t comma = std::min(s.find(',', at), s.size());
    const std::string item = s.substr(at, comma - at);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1 || v > 1024)
      throw lowbit::tools::UsageError{"-t: '" + item + "' is not a thread count 1..1024"};
    out.push_back(static_cast<int>(v));
    at = comma + 1;
  }
  return out;
}

struct Stats {
  double mean = 0.0, sd = 0.0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lowbit;
  using Clock = std::chrono::steady_clock;
  try {
    const tools::Args args(argc, argv, {"--model", "-p", "-n", "-t", "-r", "--act"},
                           {"--json", "--help", "-h"});
    if (args.has("--help") || args.has("-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (!args.has("--model")) throw tools::UsageError{"--model is required"};
    const int n_prompt = static_cast<int>(args.num("-p", 512, 0, 1 << 16));
    const int n_gen = static_cast<int>(args.num("-n", 128, 0, 1 << 16));
    const int reps = static_cast<int>(args.num("-r", 3, 1, 1000));
    const std::vector<int> threads = parse_list(args.has("-t") ? args.str("-t") : "1");
    const std::string act = args.has("--act") ? args.str("--act") : "int8";
    if (act != "f32" && act != "int8" && act != "int8-token")
      throw tools::UsageError{"--act is int8, int8-token or f32"};
    if (n_prompt == 0 && n_gen == 0) throw tools::UsageError{"-p and -n are both 0"};
    const bool json = args.has("--json");
    const std::string path = args.str("--model");
    try {
      const auto t0 = Clock::now();
      const io::MappedGguf m = io::map_gguf(path);
      llama::DecoderOptions o;
      o.context = std::max(n_prompt, n_gen);
      o.float_activations = act == "f32";
      o.load_threads = *std::max_element(threads.begin(), threads.end());
      llama::Decoder dec(m.gguf, o, &m.file);
      const double load_s = std::chrono::duration<double>(Clock::now() - t0).count();
      const io::Llama2cConfig& c = dec.config();
      // The model's description: its types by weight count, and its size.
      std::map<std::string, double> by_type;
      double params = 0.0;
      for (const auto& t : m.gguf.tensors) {
        params += static_cast<double>(t.numel());
        if (t.ne.size() == 2)
          by_type[std::string(ggml::type_info(t.type)->name)] += static_cast<double>(t.numel());
      }
      std::string types;
      for (const auto& [name, n] : by_type) {
        char b[64];
        std::snprintf(b, sizeof(b), "%s%s %.0f%%", types.empty() ? "" : ", ", name.c_str(),
                      100.0 * n / params);
        types += b;
      }
      const double file_gib = static_cast<double>(m.file.size()) / (1 << 30);
      if (!json) {
        std::printf(
            "model: %s\n  llama, dim %d, %d layers, MLP %d, heads %d/%d, vocab %d; %.2f B "
            "params, %.2f GiB; matrices: %s\n  loaded and repacked in %.2f s: kernel layouts "
            "%.2f GiB; activations %s\n\n",
            path.c_str(), c.dim, c.n_layers, c.hidden_dim, c.n_heads, c.n_kv_heads, c.vocab_size,
            params / 1e9, file_gib, types.c_str(), load_s, dec.weight_bytes() / (1 << 30),
            act == "f32"    ? "fp32"
            : act == "int8" ? "int8, a scale per weight group"
                            : "int8, a scale per token");
        std::printf("| threads | test   |              t/s | matmul | attention |\n");
        std::printf("| ------: | :----- | ---------------: | -----: | --------: |\n");
      }
      std::mt19937 rng(1234);
      std::uniform_int_distribution<int> tok(0, c.vocab_size - 1);
      std::vector<float> logits(static_cast<std::size_t>(c.vocab_size));
      for (const int nt : threads) {
        Context ctx(nt);
        if (act == "int8") ctx.set_activation_scales(ActivationScales::kPerGroup);
        for (int test = 0; test < 2; ++test) {
          const int n = test == 0 ? n_prompt : n_gen;
          if (n == 0) continue;
          std::vector<double> ts;
          double mm = 0.0, att = 0.0, tot = 0.0;
          for (int r = 0; r <= reps; ++r) {  // r = 0: warm-up
            std::vector<int> tokens(static_cast<std::size_t>(n));
            for (int& t : tokens) t = tok(rng);
            dec.reset();
            dec.reset_timers();
            const auto s0 = Clock::now();
            if (test == 0) {
              dec.eval(tokens, logits, ctx);
            } else {
              for (const int t : tokens) dec.eval(std::span<const int>(&t, 1), logits, ctx);
            }
            const double s = std::chrono::duration<double>(Clock::now() - s0).count();
            if (r == 0) continue;
            ts.push_back(n / s);
            mm += dec.timers().matmul;
            att += dec.timers().attention;
            tot += dec.timers().total;
          }
          const Stats st = stats(ts);
          const std::string name = (test == 0 ? "pp" : "tg") + std::to_string(n);
          if (json) {
            std::string samples;
            for (double v : ts) samples += (samples.empty() ? "" : ", ") + std::to_string(v);
            std::printf(
                "{\"model\": \"%s\", \"dim\": %d, \"layers\": %d, \"params\": %.0f, "
                "\"file_bytes\": %zu, \"kernel_bytes\": %.0f, \"activations\": \"%s\", "
                "\"load_s\": %.3f, \"threads\": %d, \"test\": \"%s\", \"n_prompt\": %d, "
                "\"n_gen\": %d, \"avg_ts\": %.4f, \"stddev_ts\": %.4f, \"samples_ts\": [%s], "
                "\"matmul_share\": %.4f, \"attention_share\": %.4f, \"peak_rss_mb\": %.0f}\n",
                path.c_str(), c.dim, c.n_layers, params, m.file.size(), dec.weight_bytes(),
                act.c_str(), load_s, nt, name.c_str(), test == 0 ? n : 0, test == 1 ? n : 0,
                st.mean, st.sd, samples.c_str(), mm / tot, att / tot, tools::peak_rss_mb());
          } else {
            std::printf("| %7d | %-6s | %8.2f ± %5.2f | %5.1f%% | %8.1f%% |\n", nt, name.c_str(),
                        st.mean, st.sd, 100.0 * mm / tot, 100.0 * att / tot);
          }
          std::fflush(stdout);
        }
      }
      if (!json) std::printf("\npeak RSS %.0f MB\n", tools::peak_rss_mb());
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lowbit-bench: %s\n", e.what());
      return 1;
    }
  } catch (const tools::UsageError& e) {
    std::fprintf(stderr, "lowbit-bench: %s\n%s", e.what.c_str(), kUsage);
    return 2;
  }
}
