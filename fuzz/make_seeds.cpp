// SPDX-License-Identifier: Apache-2.0
// fuzz/make_seeds.cpp: writes the small valid files the fuzz corpora start from
// (fuzz/corpus/<target>/seed*); run once, its output is committed. Usage: make_seeds <dir>.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "lowbit/io/archive.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/io/serialize.hpp"
#include "lowbit/pack/quantize.hpp"
#include "lowbit/quant/symmetric.hpp"

using namespace lowbit;

namespace {

void put(const std::string& path, const std::vector<std::byte>& b) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(b.data(), 1, b.size(), f) != b.size()) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::fclose(f);
}
template <class T>
void append(std::vector<std::byte>& b, T v) {
  const auto* p = reinterpret_cast<const std::byte*>(&v);
  b.insert(b.end(), p, p + sizeof v);
}
void append_str(std::vector<std::byte>& b, const std::string& s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  b.insert(b.end(), p, p + s.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  std::vector<float> w(3 * 64);
  for (std::size_t i = 0; i < w.size(); ++i)
    w[i] = static_cast<float>(static_cast<int>(i % 13) - 6) / 4.0f;
  const MatrixView<const float> wv(w.data(), 3, 64);
  using S4 = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  const auto m = quantize<S4, PerGroup<32>, Plain>(wv, {});
  put(dir + "/format/seed", io::serialize(m));

  io::Archive a;
  a.add_f32("norm.weight", MatrixView<const float>(w.data(), 2, 3));
  a.add_text("policy", "sym4-g32");
  a.add_packed("w", m);
  put(dir + "/archive/seed", a.serialize());

  io::GgufFile g;
  io::GgufValue name;
  name.type = io::GgufType::String;
  name.str = "seed";
  g.kv.emplace_back("general.name", name);
  io::GgufValue arr;
  arr.type = io::GgufType::Array;
  arr.elem_type = io::GgufType::F32;
  for (int i = 0; i < 2; ++i) {
    io::GgufValue v;
    v.type = io::GgufType::F32;
    v.bits = 0x3f800000u;
    arr.items.push_back(v);
  }
  g.kv.emplace_back("seed.values", arr);
  std::uint64_t off = 0;
  for (ggml::Type t : {ggml::Type::Q4_0, ggml::Type::Q4_K, ggml::Type::F16, ggml::Type::TQ1_0}) {
    io::GgufTensor ti;
    ti.name = "t" + std::to_string(static_cast<int>(t));
    const Index n = ggml::type_info(static_cast<std::uint32_t>(t))->block == 256 ? 256 : 64;
    ti.ne = {static_cast<std::uint64_t>(n)};
    ti.type = static_cast<std::uint32_t>(t);
    ti.offset = off;
    ti.bytes = static_cast<std::uint64_t>(n / ggml::type_info(ti.type)->block *
                                          ggml::type_info(ti.type)->bytes);
    std::vector<std::byte> bytes(ti.bytes);
    std::vector<float> x(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) x[static_cast<std::size_t>(i)] = static_cast<float>(i % 9) - 4.0f;
    if (t == ggml::Type::F16) {
      for (Index i = 0; i < n; ++i) {
        const std::uint16_t h = f16(x[static_cast<std::size_t>(i)]).bits;
        std::memcpy(bytes.data() + 2 * i, &h, 2);
      }
    } else {
      ggml::quantize_row(t, x.data(), n, bytes.data());
    }
    g.data.insert(g.data.end(), bytes.begin(), bytes.end());
    g.data.resize((g.data.size() + 31) / 32 * 32, std::byte{0});
    off = g.data.size();
    g.tensors.push_back(ti);
  }
  put(dir + "/gguf/seed", io::write_gguf(g));

  // safetensors: one F32 and one F16 tensor.
  {
    const std::string hdr =
        R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},"__metadata__":{"k":"v"}})";
    std::vector<std::byte> b;
    append<std::uint64_t>(b, hdr.size());
    append_str(b, hdr);
    for (float v : {1.0f, -2.0f, 0.5f, 3.0f}) append(b, v);
    append<std::uint16_t>(b, 0x3c00);
    append<std::uint16_t>(b, 0xc000);
    put(dir + "/safetensors/seed", b);
  }
  // llama2c: dim 8, hidden 16, 1 layer, 2 heads, 1 kv head, vocab 6 (shared), seq_len 4.
  {
    const int dim = 8, hid = 16, L = 1, H = 2, KV = 1, V = 6, T = 4;
    const int kv = dim / H * KV, half = dim / H / 2;
    std::vector<std::byte> b;
    for (int v : {dim, hid, L, H, KV, V, T}) append<std::int32_t>(b, v);
    const int floats = V * dim + L * dim + L * dim * dim + 2 * L * kv * dim + L * dim * dim +
                       L * dim + 3 * L * hid * dim + dim + 2 * T * half;
    for (int i = 0; i < floats; ++i) append(b, static_cast<float>(i % 7) * 0.125f);
    put(dir + "/llama2c/seed", b);
  }
  // tokenizer: selector byte 3 (vocab 4), max length 3, records {score, len, bytes}.
  {
    std::vector<std::byte> b;
    b.push_back(std::byte{3});
    append<std::int32_t>(b, 3);
    const char* pieces[4] = {"<u>", "a", "b", "ab"};
    for (int i = 0; i < 4; ++i) {
      append(b, static_cast<float>(i));
      append<std::int32_t>(b, static_cast<std::int32_t>(std::strlen(pieces[i])));
      append_str(b, pieces[i]);
    }
    put(dir + "/tokenizer/seed", b);
  }
  return 0;
}
