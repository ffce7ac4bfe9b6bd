// SPDX-License-Identifier: Apache-2.0
// tests/io/test_gguf.cpp: the GGUF reader and writer (io/gguf.hpp): llama.cpp's stories260K
// files (../shared/data/gguf: header facts, the tensor table, F32 tensors equal to the
// llama2.c checkpoint, Q8_0/Q4_0/Q5_0 tensors equal to lowbit's ggml quantizers on the F32
// weights, a byte-for-byte round trip through the writer), and malformed files.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "lowbit/io/gguf.hpp"
#include "lowbit/io/gguf_llama.hpp"
#include "lowbit/io/llama2c.hpp"
#include "support/catch.hpp"

using namespace lowbit;

namespace {

/// A small valid file: two key/values (one array) and one Q8_0 tensor of 2 × 32 values.
io::GgufFile small_file() {
  io::GgufFile f;
  io::GgufValue name;
  name.type = io::GgufType::String;
  name.str = "tiny";
  f.kv.emplace_back("general.name", name);
  io::GgufValue arr;
  arr.type = io::GgufType::Array;
  arr.elem_type = io::GgufType::I32;
  for (int i = 0; i < 3; ++i) {
    io::GgufValue v;
    v.type = io::GgufType::I32;
    v.bits = static_cast<std::uint64_t>(std::int64_t{-i});
    arr.items.push_back(v);
  }
  f.kv.emplace_back("tiny.values", arr);
  io::GgufTensor t;
  t.name = "w";
  t.ne = {32, 2};
  t.type = static_cast<std::uint32_t>(ggml::Type::Q8_0);
  t.bytes = 68;
  f.tensors.push_back(t);
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[static_cast<std::size_t>(i)] = static_cast<float>(i % 7) - 3.0f;
  f.data.resize(68);
  ggml::quantize_row(ggml::Type::Q8_0, x.data(), 64, f.data.data());
  return f;
}

}  // namespace

TEST_CASE("gguf: a written file reads back, and writing it again gives the same bytes",
          "[io][gguf]") {
  const std::vector<std::byte> bytes = io::write_gguf(small_file());
  const io::GgufFile g = io::read_gguf(bytes);
  REQUIRE(g.kv.size() == 2);
  CHECK(g.find("general.name")->str == "tiny");
  REQUIRE(g.find("tiny.values")->items.size() == 3);
  CHECK(g.find("tiny.values")->items[2].as_int() == -2);
  REQUIRE(g.tensors.size() == 1);
  CHECK(g.data_offset % 32 == 0);
  const std::vector<float> w = io::tensor_floats(g, g.tensors[0]);
  REQUIRE(w.size() == 64);
  for (int i = 0; i < 64; ++i)  // Q8_0 of values in [-3, 3]: within half a step, 3 / 127 / 2
    REQUIRE(std::fabs(w[static_cast<std::size_t>(i)] - static_cast<float>(i % 7 - 3)) <= 0.0119f);
  CHECK(io::write_gguf(g) == bytes);
}

TEST_CASE("gguf: malformed files get an error, never a crash", "[io][gguf][bad_input]") {
  const std::vector<std::byte> good = io::write_gguf(small_file());
  // Every truncation.
  for (std::size_t n = 0; n < good.size(); ++n)
    REQUIRE_THROWS_AS(io::read_gguf(std::span<const std::byte>(good.data(), n)), Error);
  auto patch = [&](std::size_t off, std::uint64_t v, int width) {
    std::vector<std::byte> b = good;
    std::memcpy(b.data() + off, &v, static_cast<std::size_t>(width));
    return b;
  };
  REQUIRE_THROWS_AS(io::read_gguf(patch(0, 0x46554748u, 4)), Error);              // magic
  REQUIRE_THROWS_AS(io::read_gguf(patch(4, 1, 4)), Error);                        // version 1
  REQUIRE_THROWS_AS(io::read_gguf(patch(4, 0x03000000u, 4)), Error);              // big-endian
  REQUIRE_THROWS_AS(io::read_gguf(patch(8, std::uint64_t{1} << 60, 8)), Error);   // tensors
  REQUIRE_THROWS_AS(io::read_gguf(patch(16, std::uint64_t{1} << 62, 8)), Error);  // key/values
  // The first key's length (at 24) made huge; the value type of the first key (after the key).
  REQUIRE_THROWS_AS(io::read_gguf(patch(24, ~std::uint64_t{0}, 8)), Error);
  const std::size_t vt = 24 + 8 + std::string("general.name").size();
  REQUIRE_THROWS_AS(io::read_gguf(patch(vt, 13, 4)), Error);
  // The array's length (key "tiny.values": after the first key/value).
  const std::size_t kv2 = vt + 4 + 8 + 4;  // type, string length, "tiny"
  const std::size_t alen = kv2 + 8 + std::string("tiny.values").size() + 4 + 4;
  REQUIRE_THROWS_AS(io::read_gguf(patch(alen, std::uint64_t{1} << 61, 8)), Error);
  // Tensor info: dims count, a dimension, the type, the offset.
  const std::size_t ti = alen + 8 + 3 * 4 + 8 + 1;  // name "w"
  REQUIRE_THROWS_AS(io::read_gguf(patch(ti, 5, 4)), Error);
  REQUIRE_THROWS_AS(io::read_gguf(patch(ti + 4, 31, 8)), Error);  // not whole blocks
  REQUIRE_THROWS_AS(io::read_gguf(patch(ti + 4, 0, 8)), Error);   // empty
  REQUIRE_THROWS_AS(io::read_gguf(patch(ti + 12, std::uint64_t{1} << 40, 8)), Error);  // huge
  REQUIRE_THROWS_AS(io::read_gguf(patch(ti + 20, 4, 4)), Error);   // removed type
  REQUIRE_THROWS_AS(io::read_gguf(patch(ti + 24, 16, 8)), Error);  // misaligned
  REQUIRE_THROWS_AS(io::read_gguf(patch(ti + 24, 64, 8)), Error);  // past the end
  REQUIRE(io::read_gguf(good).tensors.size() == 1);                // the original
}

#if defined(LOWBIT_SHARED_DATA_DIR)
TEST_CASE("gguf: llama.cpp's stories260K files", "[io][gguf][model]") {
  const std::string dir = std::string(LOWBIT_SHARED_DATA_DIR) + "/gguf/";
  const io::Llama2cModel m =
      io::load_llama2c(std::string(LOWBIT_SHARED_DATA_DIR) + "/stories260K.bin");
  const io::GgufFile f32 = io::load_gguf(dir + "stories260K-f32.gguf");
  CHECK(f32.version == 3);
  CHECK(f32.alignment == 32);
  CHECK(f32.data_offset == 14176);
  CHECK(f32.find("general.architecture")->str == "llama");
  CHECK(f32.find("llama.embedding_length")->as_int() == 64);
  CHECK(f32.find("llama.feed_forward_length")->as_int() == 172);
  CHECK(f32.find("llama.attention.head_count_kv")->as_int() == 4);
  CHECK(f32.find("llama.block_count")->as_int() == 5);
  CHECK(f32.find("llama.attention.layer_norm_rms_epsilon")->as_double() == 1e-5f);
  CHECK(f32.find("tokenizer.ggml.tokens")->items.size() == 512);
  CHECK(f32.find("tokenizer.ggml.tokens")->items[1].str == "<s>");
  REQUIRE(f32.tensors.size() == 48);
  // F32 weights are the checkpoint's arrays, bit for bit (ne0 = the llama2.c "in" dimension).
  const io::GgufTensor* emb = f32.tensor("token_embd.weight");
  REQUIRE(emb);
  CHECK(emb->ne == std::vector<std::uint64_t>{64, 512});
  const std::vector<float> e = io::tensor_floats(f32, *emb);
  REQUIRE(e.size() == m.tok_embeddings.size());
  CHECK(std::memcmp(e.data(), m.tok_embeddings.data(), e.size() * 4) == 0);

  // Quantized files: every Q8_0 / Q4_0 / Q5_0 tensor is lowbit's ggml quantizer of the F32
  // tensor, byte for byte; F16 ffn_down decodes within half an fp16 step of F32.
  for (const char* file : {"stories260K-q8_0.gguf", "stories260K-q4_0.gguf",
                           "stories260K-q4_k.gguf", "stories260K-tq2_0.gguf"}) {
    const io::GgufFile q = io::load_gguf(dir + file);
    CHECK(q.data_offset == 14240);
    REQUIRE(q.tensors.size() == 48);
    int same = 0;
    for (const auto& t : q.tensors) {
      const io::GgufTensor* src = f32.tensor(t.name);
      REQUIRE(src);
      REQUIRE(src->ne == t.ne);
      const std::vector<float> x = io::tensor_floats(f32, *src);
      const auto type = static_cast<ggml::Type>(t.type);
      INFO(file << " " << t.name << " type " << t.type);
      if (type == ggml::Type::F32) {
        CHECK(std::memcmp(q.tensor_bytes(t).data(), f32.tensor_bytes(*src).data(), t.bytes) == 0);
      } else if (type == ggml::Type::F16) {
        const std::vector<float> y = io::tensor_floats(q, t);
        for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(y[i] == static_cast<float>(f16(x[i])));
      } else {
        std::vector<std::byte> mine(t.bytes);
        ggml::quantize_row(type, x.data(), t.numel(), mine.data());
        REQUIRE(std::memcmp(mine.data(), q.tensor_bytes(t).data(), t.bytes) == 0);
      }
      ++same;
    }
    CHECK(same == 48);
    // Round trip: read, write, same bytes.
    CHECK(io::write_gguf(q) == io::read_file(dir + file));
  }
}
#endif

#if defined(LOWBIT_SHARED_DATA_DIR)
TEST_CASE("gguf: llama.cpp's quantization of the F32 file, byte for byte; the model it holds",
          "[io][gguf][model]") {
  const std::string dir = std::string(LOWBIT_SHARED_DATA_DIR) + "/gguf/";
  const io::GgufFile f32 = io::load_gguf(dir + "stories260K-f32.gguf");
  // lowbit's own Q8_0 / Q4_0 quantization of the F32 file is llama.cpp's file, every byte.
  CHECK(io::write_gguf(io::quantize_like_llama_cpp(f32, ggml::Type::Q4_0)) ==
        io::read_file(dir + "stories260K-q4_0.gguf"));
  CHECK(io::write_gguf(io::quantize_like_llama_cpp(f32, ggml::Type::Q8_0)) ==
        io::read_file(dir + "stories260K-q8_0.gguf"));
  // The F32 file is the llama2.c checkpoint: every weight bit for bit, the classifier unshared
  // (a copy of the embedding), RoPE within the checkpoint's own rounding of its tables.
  const io::Llama2cModel a =
      io::load_llama2c(std::string(LOWBIT_SHARED_DATA_DIR) + "/stories260K.bin");
  const io::Llama2cModel b = io::llama_from_gguf(f32, 512);
  CHECK(b.config.dim == a.config.dim);
  CHECK(b.config.hidden_dim == a.config.hidden_dim);
  CHECK(b.config.n_layers == a.config.n_layers);
  CHECK(b.config.n_kv_heads == a.config.n_kv_heads);
  CHECK(b.config.vocab_size == a.config.vocab_size);
  CHECK(b.config.seq_len == 512);
  CHECK(!b.config.shared_classifier);
  CHECK(b.wcls == a.tok_embeddings);
  for (auto [x, y] : {std::pair{&a.tok_embeddings, &b.tok_embeddings}, std::pair{&a.wq, &b.wq},
                      std::pair{&a.wk, &b.wk}, std::pair{&a.wv, &b.wv}, std::pair{&a.wo, &b.wo},
                      std::pair{&a.w1, &b.w1}, std::pair{&a.w2, &b.w2}, std::pair{&a.w3, &b.w3},
                      std::pair{&a.rms_att, &b.rms_att}, std::pair{&a.rms_ffn, &b.rms_ffn},
                      std::pair{&a.rms_final, &b.rms_final}})
    CHECK(*x == *y);
  REQUIRE(b.freq_cos.size() == a.freq_cos.size());
  for (std::size_t i = 0; i < a.freq_cos.size(); ++i) {
    REQUIRE(std::fabs(a.freq_cos[i] - b.freq_cos[i]) < 3e-6f);
    REQUIRE(std::fabs(a.freq_sin[i] - b.freq_sin[i]) < 3e-6f);
  }
  CHECK(b.config.rope_theta == 10000.0);
}

TEST_CASE("gguf: metadata cannot make the reader allocate, and bad values name their tensor",
          "[io][gguf][bad_input]") {
  const std::string dir = std::string(LOWBIT_SHARED_DATA_DIR) + "/gguf/";
  const io::GgufFile f32 = io::load_gguf(dir + "stories260K-f32.gguf");
  auto with_kv = [&](const std::string& key, io::GgufValue v) {
    io::GgufFile f = f32;
    bool found = false;
    for (auto& [k, old] : f.kv)
      if (k == key) old = v, found = true;
    if (!found) f.kv.emplace_back(key, v);
    return io::read_gguf(io::write_gguf(f));
  };
  // A context of 2^24 positions: seq_len says so, but the RoPE tables stop at what is asked.
  io::GgufValue ctx;
  ctx.type = io::GgufType::U32;
  ctx.bits = std::uint64_t{1} << 24;
  const io::Llama2cModel m = io::llama_from_gguf(with_kv("llama.context_length", ctx), 300);
  CHECK(m.config.seq_len == (1 << 24));
  const std::size_t half = static_cast<std::size_t>(m.config.head_size() / 2);
  CHECK(m.freq_cos.size() == static_cast<std::size_t>(io::kRopeTablePositions) * half);
  // RoPE's base is read, and a base that is not a number above 1 is refused.
  io::GgufValue base;
  base.type = io::GgufType::F32;
  const float theta = 500000.0f;
  std::uint32_t tb;
  std::memcpy(&tb, &theta, 4);
  base.bits = tb;
  CHECK(io::llama_from_gguf(with_kv("llama.rope.freq_base", base)).config.rope_theta == 500000.0);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&tb, &nan, 4);
  base.bits = tb;
  CHECK_THROWS_WITH(io::llama_from_gguf(with_kv("llama.rope.freq_base", base)),
                    LOWBIT_CONTAINS("llama.rope.freq_base"));
  // A NaN weight is an error that names the tensor, the row and the column.
  io::GgufFile bad = f32;
  for (const auto& t : bad.tensors)
    if (t.name == "blk.1.ffn_down.weight") {
      std::memcpy(bad.data.data() + t.offset + 4 * (2 * t.ne[0] + 5), &nan, 4);
      CHECK_THROWS_WITH(io::tensor_floats(bad, t),
                        LOWBIT_CONTAINS("GGUF: tensor 'blk.1.ffn_down.weight': value nan at row 2, "
                                        "column 5 is not finite"));
    }
  CHECK_THROWS_WITH(io::llama_from_gguf(bad), LOWBIT_CONTAINS("blk.1.ffn_down.weight"));
}
#endif

#if defined(LOWBIT_SHARED_DATA_DIR)
TEST_CASE("gguf: streamed writing gives write_gguf's bytes; a mapped file reads as a loaded one",
          "[io][gguf][stream]") {
  // llama.cpp's Q4_0 file: its table and tensors streamed in pieces, byte for byte the file.
  const std::string src = std::string(LOWBIT_SHARED_DATA_DIR) + "/gguf/stories260K-q4_0.gguf";
  const std::vector<std::byte> want = io::read_file(src);
  const io::GgufFile f = io::read_gguf(want);
  const std::string out =
      (std::filesystem::temp_directory_path() / "lowbit_test_stream.gguf").string();
  {
    io::GgufStreamWriter w(out, f);
    REQUIRE(w.head().tensors.size() == f.tensors.size());
    for (std::size_t i = 0; i < f.tensors.size(); ++i) {
      CHECK(w.head().tensors[i].offset == f.tensors[i].offset);
      CHECK(w.head().tensors[i].bytes == f.tensors[i].bytes);
      const auto b = f.tensor_bytes(f.tensors[i]);
      const std::size_t cut = b.size() / 3;  // in two pieces
      w.append(b.first(cut));
      CHECK(w.next() == i);
      w.append(b.subspan(cut));
    }
    CHECK(w.next() == f.tensors.size());
    CHECK_THROWS_WITH(w.append(want), LOWBIT_CONTAINS("past the last tensor"));
    w.finish();
  }
  CHECK(io::read_file(out) == want);
  // Mapped: the same table, tensors read in place.
  const io::MappedGguf m = io::map_gguf(out);
  CHECK(m.gguf.data.empty());
  REQUIRE(m.gguf.tensors.size() == f.tensors.size());
  for (std::size_t i = 0; i < f.tensors.size(); ++i) {
    const auto a = m.gguf.tensor_bytes(m.gguf.tensors[i]), b = f.tensor_bytes(f.tensors[i]);
    CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  }
  CHECK(io::tensor_floats(m.gguf, *m.gguf.tensor("output_norm.weight")) ==
        io::tensor_floats(f, *f.tensor("output_norm.weight")));
  // A writer left unfinished leaves nothing; finishing early, directories and bad types are
  // errors naming what is wrong.
  const std::string partial = out + ".partial";
  {
    io::GgufStreamWriter w(partial, f);
    w.append(f.tensor_bytes(f.tensors[0]));
    CHECK_THROWS_WITH(w.finish(), LOWBIT_CONTAINS("finished after 1 of"));
  }
  CHECK_FALSE(std::filesystem::exists(partial));
  CHECK_FALSE(std::filesystem::exists(partial + ".tmp"));
  CHECK_THROWS_WITH(io::GgufStreamWriter(std::filesystem::temp_directory_path().string(), f),
                    LOWBIT_CONTAINS("is a directory"));
  io::GgufFile bad = f;
  const auto q4 = std::find_if(bad.tensors.begin(), bad.tensors.end(), [](const io::GgufTensor& t) {
    return t.type == static_cast<std::uint32_t>(ggml::Type::Q4_0);
  });
  REQUIRE(q4 != bad.tensors.end());
  q4->ne[0] = 33;
  CHECK_THROWS_WITH(io::GgufStreamWriter(partial, bad),
                    LOWBIT_CONTAINS("tensor '" + q4->name + "' is not 1..4 dimensions of whole"));
  CHECK_THROWS_WITH(io::map_gguf(partial), LOWBIT_CONTAINS("no such file"));
  std::filesystem::remove(out);
}
#endif

TEST_CASE("gguf: a Llama model laid out as llama.cpp lays it out", "[io][gguf][llama_head]") {
  // Hugging Face names and the RoPE row permutation of convert_hf_to_gguf.py (head of 4 rows:
  // llama.cpp's pairs (0,1), (2,3) are Hugging Face's rows (0,2), (1,3)).
  CHECK(io::gguf_name_of_hf("model.embed_tokens.weight") == "token_embd.weight");
  CHECK(io::gguf_name_of_hf("model.layers.12.self_attn.k_proj.weight") == "blk.12.attn_k.weight");
  CHECK(io::gguf_name_of_hf("model.layers.3.mlp.down_proj.weight") == "blk.3.ffn_down.weight");
  CHECK(io::gguf_name_of_hf("model.layers.0.post_attention_layernorm.weight") ==
        "blk.0.ffn_norm.weight");
  CHECK(io::gguf_name_of_hf("lm_head.weight") == "output.weight");
  CHECK(io::gguf_name_of_hf("model.layers.x.mlp.down_proj.weight").empty());
  CHECK(io::gguf_name_of_hf("model.layers.1.mlp.act").empty());
  const Index want[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  for (Index g = 0; g < 8; ++g) CHECK(io::hf_row_of_gguf_row(g, 4) == want[g]);
  // llama-quantize --pure's types.
  using ggml::Type;
  CHECK(io::llama_cpp_type("blk.0.attn_q.weight", 2048, 2, Type::Q4_0, true) == Type::Q4_0);
  CHECK(io::llama_cpp_type("blk.0.attn_norm.weight", 2048, 1, Type::Q4_0, true) == Type::F32);
  CHECK(io::llama_cpp_type("token_embd.weight", 2048, 2, Type::Q4_0, true) == Type::Q6_K);
  CHECK(io::llama_cpp_type("token_embd.weight", 2048, 2, Type::Q4_0, false) == Type::Q4_0);
  CHECK(io::llama_cpp_type("token_embd.weight", 2048, 2, Type::TQ2_0, false) == Type::Q4_K);
  CHECK(io::llama_cpp_type("output.weight", 2048, 2, Type::Q2_K, false) == Type::Q6_K);
  CHECK(io::llama_cpp_type("output.weight", 64, 2, Type::Q4_K, false) == Type::Q8_0);
  CHECK(io::llama_cpp_type("output.weight", 2048, 2, Type::Q8_0, false) == Type::Q8_0);
  CHECK(io::llama_cpp_type("blk.0.ffn_down.weight", 172, 2, Type::Q4_K, false) == Type::F16);
  // The head: keys llama.cpp reads, tensors in the converter's order, a synthetic vocabulary.
  io::Llama2cConfig c;
  c.dim = 256, c.hidden_dim = 512, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2;
  c.vocab_size = 300, c.seq_len = 128, c.shared_classifier = false, c.rope_theta = 500000.0;
  const io::GgufFile h =
      io::llama_gguf_head(c, Type::Q2_K, "t", io::synthetic_tokenizer(c.vocab_size));
  CHECK(h.find("llama.attention.head_count_kv")->bits == 2);
  CHECK(h.find("llama.rope.dimension_count")->bits == 64);
  CHECK(h.find("llama.rope.freq_base")->as_double() == 500000.0);
  CHECK(h.find("general.file_type")->bits == 10);
  const io::GgufValue* tokens = h.find("tokenizer.ggml.tokens");
  REQUIRE(tokens->items.size() == 300);
  CHECK(tokens->items[1].str == "<s>");
  CHECK(tokens->items[3 + 0x0A].str == "<0x0A>");
  CHECK(tokens->items[299].str == "\xE2\x96\x81t299");
  REQUIRE(h.tensors.size() == 2 + 9 * 2 + 1);
  CHECK(h.tensors.front().name == "token_embd.weight");
  CHECK(h.tensors[3].name == "blk.0.attn_k.weight");
  CHECK(h.tensors[3].ne == std::vector<std::uint64_t>{256, 128});
  CHECK(h.tensors.back().name == "output.weight");
  CHECK(h.tensors.back().type == static_cast<std::uint32_t>(Type::Q6_K));
  CHECK_THROWS_WITH(io::synthetic_tokenizer(258), LOWBIT_CONTAINS("259.."));
  c.n_kv_heads = 3;
  CHECK_THROWS_WITH(io::llama_gguf_head(c, Type::Q4_0, "t", {}), LOWBIT_CONTAINS("not consistent"));
}
