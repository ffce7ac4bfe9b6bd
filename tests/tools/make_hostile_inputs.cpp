// SPDX-License-Identifier: Apache-2.0
// tests/tools/make_hostile_inputs.cpp: writes the bad inputs the tools' CTests feed them, each
// one defect in an otherwise valid file, made with lowbit's own GGUF reader and writer (which
// round-trip llama.cpp's files byte for byte) from ../shared/data's stories260K GGUFs:
//   nan_weight.gguf      F32, blk.0.attn_q.weight (row 3, column 17) = NaN
//   inf_scale.gguf       Q4_0, the first block of blk.0.attn_q.weight has scale +Inf (f16 0x7c00)
//   huge_context.gguf    F32, llama.context_length = 2^24
//   no_tensors.gguf      F32's metadata, no tensor
//   nan_kept.safetensors tests/data/tiny.safetensors with its last value (embed.weight, kept in
//                        fp32: row 9, column 7) = NaN
//   inf_bf16.safetensors one BF16 matrix 'w.weight' (3 x 64) with +Inf at row 2, column 17
//   nan_bf16_kept.safetensors  one BF16 'embed.weight' (4 x 6, kept) with NaN at row 3, column 5
//   empty.i32            no token;  bos_only.i32: one BOS
//   long_doc.i32         one document of 601 tokens (BOS, then 600), longer than stories260K's
//                        512-token context
//
//   make_hostile_inputs <shared/data/gguf> <tests/data/tiny.safetensors> <out dir>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "lowbit/io/file.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/io/safetensors.hpp"

namespace {

using namespace lowbit;

io::GgufTensor& tensor(io::GgufFile& f, const std::string& name) {
  for (auto& t : f.tensors)
    if (t.name == name) return t;
  detail::fail("make_hostile_inputs: no tensor ", name);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fputs("usage: make_hostile_inputs <gguf dir> <tiny.safetensors> <out dir>\n", stderr);
    return 2;
  }
  try {
    const std::string gdir = std::string(argv[1]) + "/", out = std::string(argv[3]) + "/";
    const io::GgufFile f32 = io::load_gguf(gdir + "stories260K-f32.gguf");
    {
      io::GgufFile f = f32;
      io::GgufTensor& t = tensor(f, "blk.0.attn_q.weight");
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(f.data.data() + t.offset + 4 * (3 * t.ne[0] + 17), &nan, 4);
      io::write_file(io::write_gguf(f), out + "nan_weight.gguf");
    }
    {
      io::GgufFile f = io::load_gguf(gdir + "stories260K-q4_0.gguf");
      io::GgufTensor& t = tensor(f, "blk.0.attn_q.weight");
      const std::uint16_t inf = 0x7c00;  // a Q4_0 block starts with its f16 scale
      std::memcpy(f.data.data() + t.offset, &inf, 2);
      io::write_file(io::write_gguf(f), out + "inf_scale.gguf");
    }
    {
      io::GgufFile f = f32;
      bool found = false;
      for (auto& [k, v] : f.kv)
        if (k == "llama.context_length") v.bits = std::uint64_t{1} << 24, found = true;
      if (!found) detail::fail("make_hostile_inputs: no llama.context_length");
      io::write_file(io::write_gguf(f), out + "huge_context.gguf");
    }
    {
      io::GgufFile f = f32;
      f.tensors.clear();
      f.data.clear();
      io::write_file(io::write_gguf(f), out + "no_tensors.gguf");
    }
    {
      std::vector<std::byte> st = io::read_file(argv[2]);
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(st.data() + st.size() - 4, &nan, 4);
      io::write_file(st, out + "nan_kept.safetensors");
    }
    // bf16 files: a quantized matrix (read straight from bf16 by round-to-nearest policies)
    // with +Inf at row 2, column 17, and a kept one with NaN at row 3, column 5.
    for (const bool kept : {false, true}) {
      const std::string name = kept ? "embed.weight" : "w.weight";
      const Index rows = kept ? 4 : 3, cols = kept ? 6 : 64;
      std::vector<std::uint16_t> v(static_cast<std::size_t>(rows * cols));
      for (std::size_t i = 0; i < v.size(); ++i)
        v[i] = bf16(0.01f * static_cast<float>(i % 17) - 0.05f).bits;
      v[static_cast<std::size_t>(kept ? 3 * cols + 5 : 2 * cols + 17)] = kept ? 0x7fc0 : 0x7f80;
      const io::SafeTensorSpec spec{name, "BF16", {rows, cols}};
      std::vector<std::byte> st = io::safetensors_header(std::span(&spec, 1), {});
      const auto* b = reinterpret_cast<const std::byte*>(v.data());
      st.insert(st.end(), b, b + v.size() * 2);
      io::write_file(st, out + (kept ? "nan_bf16_kept.safetensors" : "inf_bf16.safetensors"));
    }
    io::write_file({}, out + "empty.i32");
    const std::int32_t bos = 1;
    io::write_file(std::span<const std::byte>(reinterpret_cast<const std::byte*>(&bos), 4),
                   out + "bos_only.i32");
    std::vector<std::int32_t> doc(601);
    for (std::size_t i = 0; i < doc.size(); ++i)
      doc[i] = i == 0 ? 1 : static_cast<std::int32_t>(2 + i % 400);
    io::write_file(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(doc.data()), doc.size() * 4),
        out + "long_doc.i32");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_hostile_inputs: %s\n", e.what());
    return 1;
  }
}
