// SPDX-License-Identifier: Apache-2.0
// tools/lowbit_quantize.cpp: quantizes a model file by a named policy into a lowbit archive
// (io/archive.hpp), printing each tensor's bpw and error.
//
// usage: lowbit-quantize --model IN --policy NAME --out OUT.lowbit [--calib-tokens C.i32]
//                        [--calib-docs N] [--threads N] [--seed N] [--keep A,B,...]
// IN is a llama2.c checkpoint, a .safetensors file (F32/F16/BF16), or a Hugging Face model
// directory (config.json with model.safetensors or shards, io/hf.hpp), read as its shards in
// order. From llama2.c, the 7
// matrices of every layer are quantized and everything else is kept in fp32 (the archive then
// runs in lowbit-eval --quantized). From safetensors, every 2-D tensor whose name contains none
// of the --keep substrings (default embed,norm,lm_head) is quantized and the rest kept in the
// dtype they came in (F32, F16 or BF16); names are kept, order is the file's. Safetensors input
// is streamed: the file is mapped and each tensor is read, quantized, written and released in
// turn (io::ArchiveWriter), so memory holds about one tensor, whatever the model's size. -imp,
// -gptq, -seq and -e2e policies record calibration activations from the forward pass over the last
// --calib-docs (1000) documents of --calib-tokens: for llama2.c and GGUF models in memory, for a
// Hugging Face directory one layer at a time (llama/layerwise.hpp: the memory it needs is printed
// before it starts; -e2e is not layer-wise and is refused there). GGUF: --out X.gguf with --policy
// ggml-<q4_0|q4_1|q5_0|q5_1|q8_0> writes what llama-quantize writes for that file type
// (io/gguf_llama.hpp: its per-tensor rules and tensor order, ggml's reference quantizers;
// byte-identical on stories260K) from an F32/F16 llama GGUF --model; with a lowbit policy of ggml's
// schemes (sym4-g32…: Q4_0, asym4-g32…: Q4_1, sym8-g32…: Q8_0; no -rot) it writes the same file
// with lowbit's fits in place of ggml's in every tensor of that type (llama/gguf_model.hpp:
// gguf_with_fits), a file llama.cpp runs. A .gguf --model also takes every lowbit policy into a
// .lowbit archive.
// Fan-out (safetensors or HF input): --tensors REGEX takes only the tensors whose whole name
// matches; --part I/N --parts-dir DIR does every N-th tensor from the I-th (in input order) and
// writes each to DIR as its own small archive, renamed into place only when whole, so a rerun
// skips what is done (checksum verified) and any scheduler can run the parts (GNU parallel, a
// Slurm job array); lowbit-quantize --merge DIR --out X.lowbit joins them, byte for byte the
// archive one process writes. DIR/plan.txt (policy, seed, the tensors in order) makes parts of
// different runs refuse to mix.
// Per tensor it prints shape, bpw, NMSE ‖W-Ŵ‖²/‖W‖² and, with calibration, the output error
// tr(ΔW·H·ΔWᵀ)/tr(W·H·Wᵀ). On a terminal a progress bar runs on stderr. Exit status 0 on
// success, 2 on a usage error, 1 on any other error.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "args.hpp"
#include "llama/eval.hpp"
#include "llama/gguf_model.hpp"
#include "llama/layerwise.hpp"
#include "lowbit/io/gguf_llama.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/io/hf_gguf.hpp"
#include "lowbit/io/safetensors.hpp"

namespace {

constexpr const char* kUsage =
    "usage: lowbit-quantize --model IN(.bin|.safetensors|.gguf|HF dir) --policy NAME --out "
    "OUT(.lowbit|.gguf)\n"
    "                       [--calib-tokens C.i32] [--calib-docs N] [--threads N] [--seed N]\n"
    "                       [--keep A,B,...] [--allow-requantize]\n"
    "  safetensors or HF dir input, to fan out: [--tensors REGEX] [--part I/N --parts-dir DIR];\n"
    "  then: lowbit-quantize --merge DIR --out OUT.lowbit (byte for byte one process's output)\n"
    "  --out X.gguf from a GGUF: ggml-<q4_0|q4_1|q5_0|q5_1|q8_0> (llama-quantize's own file),\n"
    "  or sym4-g32..., asym4-g32..., sym8-g32... (lowbit's fits as Q4_0, Q4_1, Q8_0 blocks)\n"
    "  --out X.gguf from an HF dir: ggml-<type> for any ggml type (q4_0, q4_K, q2_K, tq2_0, f16,\n"
    "  ...), llama-quantize --pure's layout, streamed on --threads threads\n";

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
  /// A tensor kept unquantized, in `dtype`.
  void kept(const std::string& name, long long rows, long long cols, const std::string& dtype) {
    if (tty_) std::fprintf(stderr, "\r\033[K");
    const std::string shape = std::to_string(rows) + "x" + std::to_string(cols);
    std::printf("%-28s %11s %8s %12s\n", name.c_str(), shape.c_str(), "kept", dtype.c_str());
    std::fflush(stdout);
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

/// "I/N" with 0 <= I < N.
void parse_part(const std::string& s, int& part, int& parts) {
  const std::size_t slash = s.find('/');
  char* end = nullptr;
  const long i = slash == std::string::npos ? -1 : std::strtol(s.c_str(), &end, 10);
  const long n = slash == std::string::npos ? -1 : std::strtol(s.c_str() + slash + 1, nullptr, 10);
  if (slash == std::string::npos || end != s.c_str() + slash || n < 1 || n > 1000000 || i < 0 ||
      i >= n)
    throw lowbit::tools::UsageError{"--part needs I/N with 0 <= I < N, got '" + s + "'"};
  part = static_cast<int>(i);
  parts = static_cast<int>(n);
}

struct StreamOptions {
  std::string in;  // a .safetensors file or a Hugging Face directory
  bool hf = false;
  lowbit::llama::Policy policy;
  std::vector<std::string> keep;
  std::uint64_t seed = 0;
  std::optional<std::string> filter;  // --tensors: an ECMAScript regex over whole names
  std::string parts_dir;              // --parts-dir: one file per finished tensor
  int part = 0, parts = 1;
  int threads = 1;  // split each tensor's rows (round-to-nearest policies)
};
struct StreamResult {
  double bits = 0.0, weights = 0.0;
  std::uint64_t bytes = 0;
  std::size_t quantized = 0, kept = 0, skipped = 0;
};

/// The parts directory's plan: what every part and the merge agree on (policy, source, and the
/// tensors in order). Written by the first part to start, checked by every other.
std::string parts_plan(const StreamOptions& o, const std::vector<std::string>& names) {
  std::string plan = "lowbit parts 1\npolicy " + o.policy.name + "\nsource " +
                     (o.hf ? "hf" : "safetensors") + "\nseed " + std::to_string(o.seed) +
                     "\ntensors " + std::to_string(names.size()) + "\n";
  for (const std::string& n : names) plan += n + "\n";
  return plan;
}
std::string part_file(const std::string& dir, std::size_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "/t%07zu.lowbit", seq);
  return dir + buf;
}

/// Whether `path` is a finished tensor file for `name`: a valid archive (checksum included)
/// whose first entry is that tensor.
bool finished(const std::string& path, const std::string& name) {
  if (!std::filesystem::exists(path)) return false;
  try {
    const lowbit::io::Archive a = lowbit::io::Archive::load(path);
    return !a.entries().empty() && a.entries().front().name == name;
  } catch (const lowbit::Error&) {
    return false;  // a torn or corrupted file is done again
  }
}

/// A quantized tensor's archive entries: its packed image, and its rotation and column scales
/// when the policy has them.
void add_quantized(lowbit::io::ArchiveWriter& out, const std::string& name,
                   const QuantizedTensor& q) {
  out.add_packed(name, q.image);
  if (!q.rotation.empty()) out.add_i32(name + ".rotation", q.rotation);
  if (!q.col_scale.empty()) out.add_f32(name + ".col_scale", q.col_scale);
}

/// The names of the archive entries a tensor gets under policy p: add_quantized's when it is
/// quantized, add_kept's otherwise (so a writer can leave the table's space in front of the data
/// and write every byte once).
void add_entry_names(const lowbit::llama::Policy& p, const std::string& name, bool quantized,
                     std::vector<std::string>& out) {
  out.push_back(name);
  if (!quantized) return;
  if (p.rot) out.push_back(name + ".rotation");
  if (p.family == lowbit::llama::Family::kArbrc) out.push_back(name + ".col_scale");
}

/// Throws the error check_finite gives (naming the tensor, row and column) if t holds a NaN or
/// ±Inf. The test runs on the stored bits, 64 at a time: a value is non-finite exactly when its
/// magnitude bits are at least the all-ones exponent, and adding (2^15 or 2^31) minus that
/// threshold to every field at once sets the field's top bit exactly then (no field carries into
/// the next). Only a tensor that has one is widened, row by row, to find it.
void check_stored_finite(const lowbit::io::SafeTensorView& t, const std::string& what) {
  using namespace lowbit;
  const Index rows = t.shape.empty() ? 1 : t.shape[0];
  const Index cols = rows > 0 ? t.numel() / rows : 0;
  const auto width = static_cast<std::size_t>(t.element_bytes());
  // Per 64-bit word: the magnitude mask, what lifts the exponent's all-ones to the top bit, and
  // the top bits.
  std::uint64_t magnitude = 0x7fffffff7fffffffull, lift = 0x0080000000800000ull,
                top = 0x8000000080000000ull;  // F32
  if (width == 2) {
    magnitude = 0x7fff7fff7fff7fffull;
    top = 0x8000800080008000ull;
    lift = t.dtype == "BF16" ? 0x0080008000800080ull : 0x0400040004000400ull;  // BF16, F16
  }
  auto bad_in = [&](std::size_t byte0, std::size_t byte1) {  // whole values
    const std::byte* p = t.bytes.data();
    std::uint64_t bad = 0;
    std::size_t b = byte0;
    for (; b + 8 <= byte1; b += 8) {
      std::uint64_t w;
      std::memcpy(&w, p + b, 8);
      bad |= ((w & magnitude) + lift) & top;
    }
    if (b < byte1) {  // the last 2, 4 or 6 bytes, zero-padded (zero is finite)
      std::uint64_t w = 0;
      std::memcpy(&w, p + b, byte1 - b);
      bad |= ((w & magnitude) + lift) & top;
    }
    return bad != 0;
  };
  const auto row_bytes = static_cast<std::size_t>(cols) * width;
  if (!bad_in(0, t.bytes.size())) return;
  std::vector<float> row(static_cast<std::size_t>(cols));
  for (Index i = 0; i < rows; ++i) {
    const std::size_t b0 = static_cast<std::size_t>(i) * row_bytes;
    if (!bad_in(b0, b0 + row_bytes)) continue;
    io::SafeTensorView slice = t;
    slice.shape = {cols};
    slice.bytes = t.bytes.subspan(b0, row_bytes);
    io::to_f32(slice, row);
    check_finite(MatrixView<const float>(row.data(), 1, cols), what, i);
  }
}

/// A tensor kept in the dtype it came in, after a check for NaN and ±Inf.
void add_kept(lowbit::io::ArchiveWriter& out, const lowbit::io::SafeTensorView& t) {
  using namespace lowbit;
  const Index rows = t.shape.empty() ? 1 : t.shape[0];
  const Index cols = rows > 0 ? t.numel() / rows : 0;
  check_stored_finite(t, "safetensors: tensor '" + t.name + "'");
  const io::EntryKind kind = t.dtype == "F32"    ? io::EntryKind::kF32
                             : t.dtype == "BF16" ? io::EntryKind::kBf16
                                                 : io::EntryKind::kF16;
  out.add_raw(t.name, kind, static_cast<std::uint64_t>(rows), static_cast<std::uint64_t>(cols),
              t.bytes);
}

/// Tensor t quantized by policy p into q (its buffers reused): straight from its stored dtype
/// when the policy allows (llama::quantize_stored: no fp32 copy of the tensor), else widened and
/// quantized.
void quantize_view(const lowbit::io::SafeTensorView& t, const lowbit::llama::Policy& p,
                   std::uint64_t seed, int threads, QuantizedTensor& q) {
  using namespace lowbit;
  const Index rows = t.shape[0], cols = t.shape[1];
  const std::string what = "safetensors: tensor '" + t.name + "'";
  const void* data = t.bytes.data();
  // The format does not promise aligned data (writers pad the header to 8 bytes, most do).
  const bool aligned = reinterpret_cast<std::uintptr_t>(data) % t.element_bytes() == 0;
  if (llama::quantizes_stored(p) && aligned) {
    try {
      if (t.dtype == "BF16")
        llama::quantize_stored(MatrixView<const bf16>(static_cast<const bf16*>(data), rows, cols),
                               p, threads, q);
      else if (t.dtype == "F16")
        llama::quantize_stored(MatrixView<const f16>(static_cast<const f16*>(data), rows, cols), p,
                               threads, q);
      else
        llama::quantize_stored(MatrixView<const float>(static_cast<const float*>(data), rows, cols),
                               p, threads, q);
      return;
    } catch (const Error&) {
      // The quantizer checks finiteness as it reads; a NaN or ±Inf gets the message that names
      // the tensor, row and column, any other error its own.
      check_stored_finite(t, what);
      throw;
    }
  }
  const std::vector<float> w = io::to_f32(t);
  const MatrixView<const float> wv(w.data(), rows, cols);
  check_finite(wv, what);  // names the tensor, row and column
  q = llama::quantize_tensor(wv, p, nullptr, seed);
}

/// Streams safetensors input into the archive `out` (or, with a parts directory, one file per
/// tensor of this part): the file is mapped, and each tensor is converted, quantized or kept,
/// written and released before the next, so memory holds one tensor whatever the model's size.
/// A Hugging Face directory is its shards in order; only headers are read up front. The archive
/// holds lowbit.policy, lowbit.source, then each tensor's entries in input order, whichever
/// process made them, so parts merged are byte for byte one process's output.
StreamResult stream_quantize(const StreamOptions& o, const std::string& out_path) {
  using namespace lowbit;
  std::vector<io::MappedFile> files;
  std::vector<io::SafetensorsIndex> indexes;
  if (o.hf) {
    const io::HfModel hf = io::open_hf_model(o.in);
    for (const std::string& shard : hf.shards) {
      files.emplace_back(shard);
      indexes.push_back(io::hf_shard_tensors(hf, files.back()));
    }
  } else {
    files.emplace_back(o.in);
    indexes.push_back(io::index_safetensors(files.back().bytes()));
  }
  std::optional<std::regex> filter;
  if (o.filter) {
    try {
      filter.emplace(*o.filter, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw tools::UsageError{"--tensors: bad regular expression '" + *o.filter + "': " + e.what()};
    }
  }
  auto quantized = [&](const io::SafeTensorView& t) {
    if (t.shape.size() != 2 || t.numel() == 0) return false;
    for (const std::string& k : o.keep)
      if (t.name.find(k) != std::string::npos) return false;
    return true;
  };
  // Every selected tensor in order; seeds and parts follow this order.
  struct Item {
    std::size_t file;
    const io::SafeTensorView* t;
    std::size_t quant_seq;  // index among quantized tensors (the seed offset)
  };
  std::vector<Item> items;
  std::vector<std::string> names;
  std::size_t n_quant = 0;
  for (std::size_t f = 0; f < files.size(); ++f)
    for (const auto& t : indexes[f].tensors) {
      if (filter && !std::regex_match(t.name, *filter)) continue;
      items.push_back({f, &t, n_quant});
      names.push_back(t.name);
      n_quant += quantized(t);
    }
  if (items.empty())
    fail("'", o.in, "': no tensor matches --tensors '", o.filter.value_or(""), "'");

  std::optional<io::ArchiveWriter> single;
  if (o.parts_dir.empty()) {
    std::vector<std::string> entries = {"lowbit.policy", "lowbit.source"};
    for (const auto& it : items) add_entry_names(o.policy, it.t->name, quantized(*it.t), entries);
    single.emplace(out_path, entries);
    single->add_text("lowbit.policy", o.policy.name);
    single->add_text("lowbit.source", o.hf ? "hf" : "safetensors");
  } else {
    std::filesystem::create_directories(o.parts_dir);
    const std::string plan = parts_plan(o, names), plan_path = o.parts_dir + "/plan.txt";
    if (std::filesystem::exists(plan_path)) {
      const std::vector<std::byte> have = io::read_file(plan_path);
      if (std::string(reinterpret_cast<const char*>(have.data()), have.size()) != plan)
        fail("'", plan_path, "' describes another run (policy, seed, input or --tensors differ)");
    } else {
      const std::string tmp = plan_path + ".tmp" + std::to_string(o.part);
      io::write_file(std::as_bytes(std::span<const char>(plan.data(), plan.size())), tmp);
      std::filesystem::rename(tmp, plan_path);  // atomic: parts racing write the same bytes
    }
  }
  StreamResult r;
  Reporter rep(false);
  std::size_t done_quant = 0;
  QuantizedTensor q;  // one tensor at a time; its image buffer is reused
  for (std::size_t j = 0; j < items.size(); ++j) {
    if (static_cast<int>(j % static_cast<std::size_t>(o.parts)) != o.part) continue;
    const io::SafeTensorView& t = *items[j].t;
    const std::string path = o.parts_dir.empty() ? "" : part_file(o.parts_dir, j);
    if (!path.empty() && finished(path, t.name)) {
      ++r.skipped;
      continue;
    }
    std::optional<io::ArchiveWriter> part;
    if (!path.empty()) {
      std::vector<std::string> entries;
      add_entry_names(o.policy, t.name, quantized(t), entries);
      part.emplace(path + ".tmp", entries);
    }
    io::ArchiveWriter& out = part ? *part : *single;
    const Index rows = t.shape.empty() ? 1 : t.shape[0];
    const Index cols = rows > 0 ? t.numel() / rows : 0;
    if (quantized(t)) {
      quantize_view(t, o.policy, o.seed + items[j].quant_seq, o.threads, q);
      rep.tensor(done_quant++, n_quant, t.name, rows, cols, q);
      add_quantized(out, t.name, q);
      r.bits += q.bpw * static_cast<double>(t.numel());
      r.weights += static_cast<double>(t.numel());
      ++r.quantized;
    } else {
      add_kept(out, t);
      rep.kept(t.name, rows, cols, t.dtype);
      ++r.kept;
    }
    if (part) {
      part->finish();
      std::filesystem::rename(path + ".tmp", path);  // a file is there only when whole
    }
    files[items[j].file].release(t.bytes);
  }
  rep.done();
  if (single) r.bytes = single->finish();
  return r;
}

/// A Hugging Face Llama directory streamed into a GGUF file llama.cpp loads: the layout, names
/// and types of io::llama_gguf_head for base type `base` (llama-quantize --pure's rules), the
/// vocabulary of io::hf_tokenizer_kv, attn_q/attn_k rows permuted for llama.cpp's RoPE, every
/// tensor converted a chunk of rows at a time (checked finite, quantized by ggml's reference
/// quantizers on `threads` threads), written (io::GgufStreamWriter) and released.
std::uint64_t hf_to_gguf(const std::string& dir, const std::string& out_path,
                         lowbit::ggml::Type base, int threads) {
  using namespace lowbit;
  const io::HfModel hf = io::open_hf_model(dir);
  const io::Llama2cConfig c = io::llama_config(hf);
  std::vector<io::MappedFile> files;
  std::vector<io::SafetensorsIndex> indexes;
  files.reserve(hf.shards.size());
  for (const std::string& shard : hf.shards) {
    files.emplace_back(shard);
    indexes.push_back(io::hf_shard_tensors(hf, files.back()));
  }
  std::map<std::string, std::pair<std::size_t, const io::SafeTensorView*>> by_gguf;
  for (std::size_t f = 0; f < files.size(); ++f)
    for (const auto& t : indexes[f].tensors) {
      const std::string g = io::gguf_name_of_hf(t.name);
      if (!g.empty()) by_gguf[g] = {f, &t};
    }
  bool synthetic = false;
  const auto vocab = io::hf_tokenizer_kv(hf, c.vocab_size, synthetic);
  // general.name: config.json's _name_or_path, as transformers writes it, else the folder's name.
  const io::JsonValue* np = hf.config.find("_name_or_path");
  const std::string name = np != nullptr && np->kind == io::JsonValue::Kind::kString
                               ? np->string
                               : std::filesystem::path(dir).filename().string();
  io::GgufStreamWriter w(out_path, io::llama_gguf_head(c, base, name, vocab));
  if (synthetic)
    std::printf(
        "%s: no tokenizer.json: a synthetic vocabulary (token ids run, text is "
        "meaningless)\n",
        dir.c_str());
  std::vector<float> rows;
  std::vector<std::byte> out;
  for (const io::GgufTensor& t : w.head().tensors) {
    const auto it = by_gguf.find(t.name);
    if (it == by_gguf.end()) fail("hf: '", dir, "': no tensor for llama.cpp's '", t.name, "'");
    const io::SafeTensorView& v = *it->second.second;
    const auto cols = static_cast<Index>(t.ne[0]);
    const Index n_rows = t.numel() / cols;
    const bool shape_ok = t.ne.size() == 1
                              ? v.shape.size() == 1 && v.shape[0] == cols
                              : v.shape.size() == 2 && v.shape[0] == n_rows && v.shape[1] == cols;
    if (!shape_ok)
      fail("hf: tensor '", v.name, "' does not have the shape config.json gives ", t.name);
    const bool permute = t.name.find(".attn_q.") != std::string::npos ||
                         t.name.find(".attn_k.") != std::string::npos;
    const auto type = static_cast<ggml::Type>(t.type);
    const auto info = *ggml::type_info(t.type);
    const Index row_bytes = cols / info.block * info.bytes;
    const auto in_row = static_cast<std::size_t>(cols * v.element_bytes());
    const std::string what = "safetensors: tensor '" + v.name + "'";
    const Index step = std::max<Index>(1, (Index{1} << 22) / cols);
    for (Index r0 = 0; r0 < n_rows; r0 += step) {
      const Index nr = std::min(step, n_rows - r0);
      rows.resize(static_cast<std::size_t>(nr * cols));
      out.resize(static_cast<std::size_t>(nr * row_bytes));
      tools::parallel_rows(nr, threads, [&](Index a, Index b) {
        for (Index r = a; r < b; ++r) {
          const Index src = permute ? io::hf_row_of_gguf_row(r0 + r, c.head_size()) : r0 + r;
          io::SafeTensorView slice = v;
          slice.shape = {cols};
          slice.bytes = v.bytes.subspan(static_cast<std::size_t>(src) * in_row, in_row);
          const std::span<float> x(rows.data() + r * cols, static_cast<std::size_t>(cols));
          io::to_f32(slice, x);
          check_finite(MatrixView<const float>(x.data(), 1, cols), what, src);
          ggml::encode_row(type, x.data(), cols, out.data() + r * row_bytes);
        }
      });
      w.append(out);
    }
    files[it->second.first].release(v.bytes);
  }
  w.finish();
  return std::filesystem::file_size(out_path);
}

/// Joins a parts directory's tensor files into one archive, in the plan's order; every tensor
/// must be there. The result is byte for byte what one process writes.
std::uint64_t merge_parts(const std::string& dir, const std::string& out_path) {
  using namespace lowbit;
  const std::vector<std::byte> bytes = io::read_file(dir + "/plan.txt");
  const std::string plan(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < plan.size();) {
    const std::size_t j = plan.find('\n', i);
    if (j == std::string::npos) fail("'", dir, "/plan.txt' is truncated");
    lines.push_back(plan.substr(i, j - i));
    i = j + 1;
  }
  auto field = [&](std::size_t i, const std::string& key) {
    if (i >= lines.size() || lines[i].rfind(key + " ", 0) != 0)
      fail("'", dir, "/plan.txt': line ", i + 1, " should start with '", key, "'");
    return lines[i].substr(key.size() + 1);
  };
  if (lines.empty() || lines[0] != "lowbit parts 1") fail("'", dir, "/plan.txt' is not a plan");
  const std::string policy = field(1, "policy"), source = field(2, "source");
  (void)field(3, "seed");
  const std::string count = field(4, "tensors");
  const std::size_t n = std::strtoull(count.c_str(), nullptr, 10);
  if (lines.size() != 5 + n)
    fail("'", dir, "/plan.txt' lists ", lines.size() - 5, " tensors, says ", n);
  std::size_t missing = 0;
  for (std::size_t j = 0; j < n; ++j) missing += !std::filesystem::exists(part_file(dir, j));
  if (missing > 0)
    fail("'", dir, "': ", missing, " of ", n, " tensors are not done yet (first: '",
         part_file(dir,
                   [&] {
                     std::size_t j = 0;
                     while (std::filesystem::exists(part_file(dir, j))) ++j;
                     return j;
                   }()),
         "')");
  io::ArchiveWriter out(out_path);
  out.add_text("lowbit.policy", policy);
  out.add_text("lowbit.source", source);
  for (std::size_t j = 0; j < n; ++j) {
    const io::Archive a = io::Archive::load(part_file(dir, j));
    if (a.entries().empty() || a.entries().front().name != lines[5 + j])
      fail("'", part_file(dir, j), "' does not hold tensor '", lines[5 + j], "'");
    for (const auto& e : a.entries()) out.add_raw(e.name, e.kind, e.rows, e.cols, e.data);
  }
  return out.finish();
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
    const tools::Args args(
        argc, argv,
        {"--model", "--policy", "--out", "--calib-tokens", "--calib-docs", "--threads", "--seed",
         "--keep", "--tensors", "--part", "--parts-dir", "--merge"},
        {"--help", "-h", "--allow-requantize"});
    if (args.has("--help") || args.has("-h")) {
      std::fputs(kUsage, stdout);
      std::fputs(llama::kPolicyHelp, stdout);
      return 0;
    }
    if (args.has("--merge")) {
      if (!args.has("--out") || args.has("--model") || args.has("--policy"))
        throw tools::UsageError{"--merge DIR takes only --out X.lowbit"};
      try {
        const auto t0 = std::chrono::steady_clock::now();
        const std::uint64_t n = merge_parts(args.str("--merge"), args.str("--out"));
        std::printf("%s: merged %s, %llu bytes, %.1f s\n", args.str("--out").c_str(),
                    args.str("--merge").c_str(), static_cast<unsigned long long>(n),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        return 0;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "lowbit-quantize: %s\n", e.what());
        return 1;
      }
    }
    if (args.has("--part") && !args.has("--parts-dir"))
      throw tools::UsageError{"--part I/N writes its tensors to --parts-dir DIR"};
    if (!args.has("--model") || !args.has("--policy") ||
        (!args.has("--out") && !args.has("--parts-dir")))
      throw tools::UsageError{"--model, --policy and --out (or --parts-dir) are required"};
    if (tools::ends_with(args.str("--out"), ".gguf") && io::is_hf_model_dir(args.str("--model")) &&
        args.str("--policy").rfind("ggml-", 0) == 0) {
      const std::string tname = args.str("--policy").substr(5);
      const ggml::Codec* codec = nullptr;
      for (const ggml::Codec& cd : ggml::kCodecs)
        if (cd.info.name == tname && cd.type != ggml::Type::BF16) codec = &cd;
      if (codec == nullptr)
        throw tools::UsageError{"no ggml type '" + tname +
                                "' (ggml-q4_0, ggml-q4_K, ggml-q2_K, "
                                "ggml-tq2_0, ggml-f16, ...)"};
      const int threads = static_cast<int>(args.num("--threads", 1, 1, 1024));
      try {
        const auto t0 = std::chrono::steady_clock::now();
        const std::uint64_t bytes =
            hf_to_gguf(args.str("--model"), args.str("--out"), codec->type, threads);
        std::printf("%s: %s, %llu bytes, %.1f s, peak RSS %.0f MB\n", args.str("--out").c_str(),
                    args.str("--policy").c_str(), static_cast<unsigned long long>(bytes),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                    tools::peak_rss_mb());
        return 0;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "lowbit-quantize: %s\n", e.what());
        return 1;
      }
    }
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
    const bool hf_dir = io::is_hf_model_dir(in);
    const bool safetensors = hf_dir || tools::ends_with(in, ".safetensors");
    const bool gguf_in = tools::ends_with(in, ".gguf");
    const bool gguf_out = tools::ends_with(args.str("--out"), ".gguf");
    if (args.has("--parts-dir") && args.has("--out"))
      throw tools::UsageError{"with --parts-dir, --out belongs to the --merge step"};
    if (!safetensors && (args.has("--tensors") || args.has("--parts-dir")))
      throw tools::UsageError{
          "--tensors, --part and --parts-dir take safetensors input (a file or an HF directory)"};
    if (safetensors && !hf_dir && p.needs_calibration())
      throw tools::UsageError{"policy " + p.name +
                              " needs calibration, which runs the model's forward pass: give a "
                              "Hugging Face directory (config.json), not a bare safetensors file"};
    if (hf_dir && p.e2e)
      throw tools::UsageError{"policy " + p.name +
                              ": -e2e tunes the whole model end to end, which is not layer-wise; "
                              "a Hugging Face directory is calibrated layer by layer (use -seq)"};
    if (hf_dir && p.needs_calibration() &&
        (args.has("--tensors") || args.has("--parts-dir") || args.has("--part")))
      throw tools::UsageError{"policy " + p.name +
                              " calibrates layer by layer in one process: no --tensors or parts"};
    if (p.needs_calibration() && !args.has("--calib-tokens"))
      throw tools::UsageError{"policy " + p.name + " needs --calib-tokens"};
    try {
      const auto t0 = std::chrono::steady_clock::now();
      io::Archive archive;
      std::vector<std::byte> image;
      std::uint64_t out_bytes = 0;
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
      } else if (hf_dir && p.needs_calibration()) {
        // Layer by layer (llama/layerwise.hpp), with the memory it needs said first.
        const std::vector<std::vector<int>> calib = llama::load_calibration(
            args.str("--calib-tokens"), static_cast<std::size_t>(calib_docs));
        const io::Llama2cConfig cfg = io::llama_config(io::open_hf_model(in));
        Index tokens = 0;
        for (const auto& d : calib)
          tokens += std::min<Index>(static_cast<Index>(d.size()), cfg.seq_len);
        const llama::LayerwiseMemory mem = llama::layerwise_memory(cfg, p, tokens);
        std::printf(
            "calibration: %zu documents, %lld tokens; layer by layer, about %.0f MB (hidden "
            "states %.0f, one layer's weights %.0f, statistics %.0f, quantizer %.0f, buffers "
            "%.0f)\n",
            calib.size(), static_cast<long long>(tokens), mem.total() / 1e6, mem.hidden / 1e6,
            mem.weights / 1e6, mem.statistics / 1e6, mem.quantizer / 1e6, mem.runtime / 1e6);
        std::fflush(stdout);
        io::ArchiveWriter out(args.str("--out"));
        out.add_text("lowbit.policy", p.name);
        out.add_text("lowbit.source", "hf");
        Context ctx(threads);
        Reporter rep(true);
        std::size_t done = 0;
        const auto n_mat = static_cast<std::size_t>(7 * cfg.n_layers);
        llama::layerwise_quantize(in, p, calib, ctx, seed, [&](const llama::LayerwiseTensor& t) {
          if (t.q != nullptr) {
            const io::FileInfo info = io::read_header(t.q->image);
            rep.tensor(done++, n_mat, t.name, static_cast<long long>(info.rows),
                       static_cast<long long>(info.cols), *t.q);
            add_quantized(out, t.name, *t.q);
            const double nw = static_cast<double>(info.rows) * static_cast<double>(info.cols);
            bits += t.q->bpw * nw;
            weights += nw;
          } else {
            add_kept(out, *t.kept);
            const Index rows = t.kept->shape.empty() ? 1 : t.kept->shape[0];
            rep.kept(t.name, rows, rows > 0 ? t.kept->numel() / rows : 0, t.kept->dtype);
          }
        });
        rep.done();
        out_bytes = out.finish();
      } else {
        StreamOptions o;
        o.in = in;
        o.hf = hf_dir;
        o.policy = p;
        o.keep = keep;
        o.seed = seed;
        o.threads = threads;
        if (args.has("--tensors")) o.filter = args.str("--tensors");
        o.parts_dir = args.str("--parts-dir");
        if (args.has("--part")) parse_part(args.str("--part"), o.part, o.parts);
        const StreamResult r = stream_quantize(o, args.str("--out"));
        bits = r.bits;
        weights = r.weights;
        out_bytes = r.bytes;
        if (!o.parts_dir.empty()) {
          std::printf(
              "%s: part %d/%d: %zu tensors quantized, %zu kept, %zu already done, %.0f MB "
              "peak RSS\n",
              o.parts_dir.c_str(), o.part, o.parts, r.quantized, r.kept, r.skipped,
              tools::peak_rss_mb());
          return 0;
        }
      }
      if (!safetensors) {
        if (!gguf_out) image = archive.serialize();
        io::write_file(image, args.str("--out"));
        out_bytes = image.size();
      }
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf(
          "%s: policy %s, %.4f bpw over %.0f quantized weights, %llu bytes, %.1f s, peak RSS %.0f "
          "MB\n",
          args.str("--out").c_str(), p.name.c_str(), weights > 0 ? bits / weights : 0.0, weights,
          static_cast<unsigned long long>(out_bytes), secs, tools::peak_rss_mb());
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
