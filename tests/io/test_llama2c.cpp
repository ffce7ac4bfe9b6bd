// SPDX-License-Identifier: Apache-2.0
// tests/io/test_llama2c.cpp: the llama2.c checkpoint and tokenizer readers on synthetic golden
// files (both classifier variants), on malformed files, and on the real stories260K files when
// the shared data folder is there (LOWBIT_SHARED_DATA_DIR, registered by CMake only then).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "lowbit/io/llama2c.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "support/catch.hpp"

using namespace lowbit;

namespace {

void put_i32(std::vector<std::byte>& b, std::int32_t v) {
  const auto* p = reinterpret_cast<const std::byte*>(&v);
  b.insert(b.end(), p, p + 4);
}
void put_f32(std::vector<std::byte>& b, float v) {
  const auto* p = reinterpret_cast<const std::byte*>(&v);
  b.insert(b.end(), p, p + 4);
}

// dim 8, hidden 12, 2 layers, 4 heads (head 2), 2 kv heads (kv_dim 4), vocab 10, seq_len 3.
// Floats are numbered 0, 1, 2, ... across the whole file (value = 0.5 · index).
std::vector<std::byte> synthetic(bool shared, std::int64_t* floats_out = nullptr) {
  std::vector<std::byte> b;
  for (std::int32_t v : {8, 12, 2, 4, 2, shared ? 10 : -10, 3}) put_i32(b, v);
  const std::int64_t floats = 10 * 8 + 2 * 8 + 2 * 8 * 8 + 2 * 4 * 8 * 2 + 2 * 8 * 8 + 2 * 8 +
                              3 * 2 * 12 * 8 + 8 + 2 * 3 * 1 + (shared ? 0 : 10 * 8);
  for (std::int64_t i = 0; i < floats; ++i) put_f32(b, 0.5f * static_cast<float>(i));
  if (floats_out != nullptr) *floats_out = floats;
  return b;
}

}  // namespace

TEST_CASE("llama2c: synthetic golden files, shared and separate classifier", "[io][llama2c]") {
  for (bool shared : {true, false}) {
    std::int64_t floats = 0;
    const auto bytes = synthetic(shared, &floats);
    const io::Llama2cModel m = io::read_llama2c(bytes);
    const io::Llama2cConfig& c = m.config;
    CHECK(c.dim == 8);
    CHECK(c.hidden_dim == 12);
    CHECK(c.n_layers == 2);
    CHECK(c.n_heads == 4);
    CHECK(c.n_kv_heads == 2);
    CHECK(c.vocab_size == 10);
    CHECK(c.seq_len == 3);
    CHECK(c.shared_classifier == shared);
    CHECK(c.kv_dim() == 4);
    // Offsets in floats, by hand: emb 0..79, rms_att 80..95, wq 96..223, wk 224..287,
    // wv 288..351, wo 352..479, rms_ffn 480..495, w1 496..687, w2 688..879, w3 880..1071,
    // rms_final 1072..1079, cos 1080..1082, sin 1083..1085, wcls 1086..1165.
    CHECK(m.tok_embeddings.front() == 0.0f);
    CHECK(m.rms_att.front() == 0.5f * 80);
    CHECK(m.wq_at(1)(0, 0) == 0.5f * (96 + 64));
    CHECK(m.wk_at(1)(3, 7) == 0.5f * (224 + 32 + 31));
    CHECK(m.wv_at(0)(0, 1) == 0.5f * (288 + 1));
    CHECK(m.wo_at(0)(1, 0) == 0.5f * (352 + 8));
    CHECK(m.w1_at(1)(11, 7) == 0.5f * (496 + 96 + 95));
    CHECK(m.w2_at(0)(1, 0) == 0.5f * (688 + 12));
    CHECK(m.w3_at(0)(0, 0) == 0.5f * 880);
    CHECK(m.rms_final.back() == 0.5f * 1079);
    CHECK(m.freq_cos.front() == 0.5f * 1080);
    CHECK(m.freq_sin.back() == 0.5f * 1085);
    if (shared) {
      CHECK(floats == 1086);
      CHECK(m.classifier()(9, 7) == m.tok_embeddings.back());
    } else {
      CHECK(floats == 1166);
      CHECK(m.classifier()(0, 0) == 0.5f * 1086);
    }
  }
}

TEST_CASE("llama2c: malformed files throw Error", "[io][llama2c][errors]") {
  const auto good = synthetic(true);
  // Every truncation (a sample of lengths), and one byte too many.
  for (std::size_t n : {std::size_t{0}, std::size_t{3}, std::size_t{27}, std::size_t{28},
                        std::size_t{100}, good.size() - 1}) {
    INFO("length " << n);
    REQUIRE_THROWS_AS(io::read_llama2c(std::span<const std::byte>(good.data(), n)), Error);
  }
  auto longer = good;
  longer.push_back(std::byte{0});
  REQUIRE_THROWS_AS(io::read_llama2c(longer), Error);
  // Header fields: zero, negative, not divisible, odd head size, too large (size overflow).
  auto with = [&](int field, std::int32_t v) {
    auto b = good;
    std::memcpy(b.data() + 4 * field, &v, 4);
    return b;
  };
  for (auto [field, v] : std::vector<std::pair<int, std::int32_t>>{{0, 0},
                                                                   {0, -8},
                                                                   {1, 0},
                                                                   {2, -1},
                                                                   {3, 3},
                                                                   {3, 8},
                                                                   {4, 3},
                                                                   {4, 8},
                                                                   {5, 0},
                                                                   {6, 0},
                                                                   {0, 1 << 24},
                                                                   {2, 1 << 24},
                                                                   {0, 0x7fffffff}}) {
    INFO("field " << field << " = " << v);
    REQUIRE_THROWS_AS(io::read_llama2c(with(field, v)), Error);
  }
  // A NaN weight.
  auto nan = good;
  const float q = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan.data() + 28 + 4 * 500, &q, 4);
  REQUIRE_THROWS_AS(io::read_llama2c(nan), Error);
  REQUIRE_THROWS_AS(io::load_llama2c("/nonexistent/model.bin"), Error);
}

namespace {
std::vector<std::byte> tiny_tokenizer() {
  // 0 <unk>, 1 BOS, 2 EOS, then bytes? Use a vocab of 3 + 256 byte pieces + merges "ab", " ab".
  std::vector<std::byte> b;
  put_i32(b, 6);
  auto rec = [&](float score, const std::string& s) {
    put_f32(b, score);
    put_i32(b, static_cast<std::int32_t>(s.size()));
    for (char ch : s) b.push_back(static_cast<std::byte>(ch));
  };
  rec(0, "<unk>");
  rec(0, "\n<s>\n");
  rec(0, "\n</s>\n");
  for (int i = 0; i < 256; ++i) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "<0x%02X>", i);
    rec(0, hex);
  }
  rec(-0.0f, "ab");   // 259
  rec(-1.0f, " ab");  // 260
  rec(-2.0f, "ba");   // 261
  rec(0, " ");        // 262
  rec(0, "a");        // 263
  rec(0, "b");        // 264
  return b;
}
}  // namespace

TEST_CASE("tokenizer: encode/decode rules and malformed files", "[io][tokenizer]") {
  const auto bytes = tiny_tokenizer();
  const io::Tokenizer t = io::Tokenizer::read(bytes, 265);
  // " abab": pieces [' ', a, b, a, b]; best merge "ab" (score 0) leftmost → [' ', ab, a, b],
  // then "ab" again → [' ', ab, ab], then " ab" (-1) → [' ab', ab]; "abab" is no piece.
  CHECK(t.encode("abab") == std::vector<int>{260, 259});
  // A byte without a piece falls back to <0xXX> = byte + 3.
  CHECK(t.encode("z") == std::vector<int>{262, 'z' + 3});
  CHECK(t.decode(1, 260) == "ab");
  CHECK(t.decode(259, 260) == " ab");
  CHECK(t.decode(5, 'z' + 3) == "z");
  CHECK(t.encode("").empty());
  // Malformed: truncated, length beyond max_token_length, trailing bytes, wrong vocab size.
  REQUIRE_THROWS_AS(io::Tokenizer::read(std::span<const std::byte>(bytes.data(), 2), 265), Error);
  REQUIRE_THROWS_AS(
      io::Tokenizer::read(std::span<const std::byte>(bytes.data(), bytes.size() - 1), 265), Error);
  REQUIRE_THROWS_AS(io::Tokenizer::read(bytes, 264), Error);  // trailing bytes
  REQUIRE_THROWS_AS(io::Tokenizer::read(bytes, 266), Error);  // truncated record
  REQUIRE_THROWS_AS(io::Tokenizer::read(bytes, 0), Error);
  auto bad = bytes;
  const std::int32_t two = 2;
  std::memcpy(bad.data(), &two, 4);  // max_token_length 2 < 5 ("<unk>")
  REQUIRE_THROWS_AS(io::Tokenizer::read(bad, 265), Error);
}

#if defined(LOWBIT_SHARED_DATA_DIR)
TEST_CASE("stories260K: the real checkpoint, tokenizer and token files", "[io][model]") {
  const std::string dir = LOWBIT_SHARED_DATA_DIR;
  const io::Llama2cModel m = io::load_llama2c(dir + "/stories260K.bin");
  const io::Llama2cConfig& c = m.config;
  CHECK(c.dim == 64);
  CHECK(c.hidden_dim == 172);
  CHECK(c.n_layers == 5);
  CHECK(c.n_heads == 8);
  CHECK(c.n_kv_heads == 4);
  CHECK(c.vocab_size == 512);
  CHECK(c.seq_len == 512);
  CHECK(c.shared_classifier);
  // The stored RoPE tables match pos / 10000^(2i/8) (data README: within 2.3e-6).
  for (int pos : {0, 1, 100, 511})
    for (int i = 0; i < 4; ++i) {
      const double ang = pos / std::pow(10000.0, 2.0 * i / 8.0);
      REQUIRE(std::fabs(m.freq_cos[static_cast<std::size_t>(pos * 4 + i)] - std::cos(ang)) < 3e-6);
      REQUIRE(std::fabs(m.freq_sin[static_cast<std::size_t>(pos * 4 + i)] - std::sin(ang)) < 3e-6);
    }
  const io::Tokenizer t = io::Tokenizer::load(dir + "/tok512.bin", c.vocab_size);
  CHECK(t.encode("Once upon a time") == std::vector<int>{403, 407, 261, 378});
  // The first document of the token file is [BOS] + encode(first paragraph of the text).
  std::ifstream txt(dir + "/tinystories_val.txt");
  std::string text((std::istreambuf_iterator<char>(txt)), std::istreambuf_iterator<char>());
  const std::string para = text.substr(0, text.find("\n\n"));
  std::ifstream tok(dir + "/tinystories_val.tok512.i32", std::ios::binary);
  std::vector<std::int32_t> ids;
  std::int32_t v;
  while (tok.read(reinterpret_cast<char*>(&v), 4)) {
    if (v == 1 && !ids.empty()) break;
    ids.push_back(v);
  }
  std::vector<int> want{1};
  for (int id : t.encode(para)) want.push_back(id);
  REQUIRE(std::vector<int>(ids.begin(), ids.end()) == want);
  std::string round;
  for (std::size_t i = 1; i < want.size(); ++i) round += t.decode(want[i - 1], want[i]);
  CHECK(round == para);
}
#endif
