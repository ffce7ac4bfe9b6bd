// SPDX-License-Identifier: Apache-2.0
// lowbit/io/tokenizer.hpp: the llama2.c tokenizer format (tokenizer.bin / tok512.bin) and its
// encoder and decoder.
//
// # The format (little-endian)
//   int32 max_token_length, then vocab_size records { float32 score, int32 len, len bytes }.
// The vocabulary size is not stored: the model's header gives it. The reader checks every
// length against max_token_length and the remaining bytes, rejects trailing bytes, and throws
// lowbit::Error naming the record.
// # Encoding (llama2.c's rules)
// A dummy-prefix " " piece, then one piece per UTF-8 code point (a code point without a piece
// becomes its bytes, as ids byte + 3, the <0xXX> pieces), then repeatedly merge the adjacent
// pair whose concatenation is a piece with the highest score, the leftmost on ties, until no
// pair merges. BOS (id 1) is not added: callers prepend it. Decoding drops the leading space of
// a piece that follows BOS and turns <0xXX> into that byte.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/io/llama2c.hpp"

namespace lowbit::io {

class Tokenizer {
 public:
  Tokenizer() = default;

  /// Parses a tokenizer of `vocab_size` pieces from memory. Throws Error if malformed.
  static Tokenizer read(std::span<const std::byte> in, int vocab_size) {
    using lowbit::detail::fail;
    if (vocab_size <= 0) fail("tokenizer: vocab_size ", vocab_size, " must be positive");
    if (in.size() < 4) fail("tokenizer: file of ", in.size(), " bytes has no header");
    Tokenizer t;
    t.max_len_ = detail::read_i32(in, 0);
    if (t.max_len_ <= 0 || t.max_len_ > (1 << 16))
      fail("tokenizer: max_token_length ", t.max_len_, " is not in 1..65536");
    std::size_t off = 4;
    t.pieces_.reserve(static_cast<std::size_t>(vocab_size));
    t.scores_.reserve(static_cast<std::size_t>(vocab_size));
    for (int id = 0; id < vocab_size; ++id) {
      if (in.size() - off < 8) fail("tokenizer: record ", id, " is truncated (offset ", off, ")");
      float score;
      std::memcpy(&score, in.data() + off, 4);
      const std::int32_t len = detail::read_i32(in, off + 4);
      off += 8;
      if (len < 0 || len > t.max_len_)
        fail("tokenizer: record ", id, " has length ", len, ", not in 0..", t.max_len_);
      if (in.size() - off < static_cast<std::size_t>(len))
        fail("tokenizer: record ", id, " needs ", len, " bytes, ", in.size() - off, " left");
      t.pieces_.emplace_back(reinterpret_cast<const char*>(in.data() + off),
                             static_cast<std::size_t>(len));
      t.scores_.push_back(score);
      off += static_cast<std::size_t>(len);
    }
    if (off != in.size())
      fail("tokenizer: ", in.size() - off, " trailing bytes after ", vocab_size, " records");
    for (int id = 0; id < vocab_size; ++id)
      t.lookup_.emplace(t.pieces_[static_cast<std::size_t>(id)], id);  // first id of a piece
    return t;
  }
  static Tokenizer load(const std::string& path, int vocab_size) {
    const std::vector<std::byte> bytes = read_file(path);
    return read(bytes, vocab_size);
  }

  int vocab_size() const noexcept { return static_cast<int>(pieces_.size()); }
  const std::string& piece(int id) const { return pieces_.at(static_cast<std::size_t>(id)); }
  float score(int id) const { return scores_.at(static_cast<std::size_t>(id)); }

  /// Token ids of `text` (no BOS). Throws Error if a byte has no piece (byte fallback missing).
  std::vector<int> encode(std::string_view text) const {
    std::vector<int> ids;
    if (text.empty()) return ids;
    ids.push_back(id_of(" "));
    for (std::size_t i = 0; i < text.size();) {
      std::size_t n = 1;  // bytes of this UTF-8 code point (continuation bytes 10xxxxxx)
      while (i + n < text.size() && n < 4 &&
             (static_cast<unsigned char>(text[i + n]) & 0xC0u) == 0x80u)
        ++n;
      const auto it = lookup_.find(std::string(text.substr(i, n)));
      if (it != lookup_.end()) {
        ids.push_back(it->second);
      } else {
        for (std::size_t b = 0; b < n; ++b) {
          const int id = static_cast<unsigned char>(text[i + b]) + 3;
          if (id >= vocab_size())
            lowbit::detail::fail("tokenizer: no byte-fallback piece for byte ", id - 3);
          ids.push_back(id);
        }
      }
      i += n;
    }
    // Best-score merges, leftmost on ties (O(n²), as llama2.c; documents are short).
    for (;;) {
      float best = -1e30f;
      int best_id = -1;
      std::size_t best_at = 0;
      for (std::size_t i = 0; i + 1 < ids.size(); ++i) {
        const auto it = lookup_.find(pieces_[static_cast<std::size_t>(ids[i])] +
                                     pieces_[static_cast<std::size_t>(ids[i + 1])]);
        if (it != lookup_.end() && scores_[static_cast<std::size_t>(it->second)] > best) {
          best = scores_[static_cast<std::size_t>(it->second)];
          best_id = it->second;
          best_at = i;
        }
      }
      if (best_id < 0) break;
      ids[best_at] = best_id;
      ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(best_at) + 1);
    }
    return ids;
  }

  /// The bytes of token `id` following token `prev` (llama2.c's decode).
  std::string decode(int prev, int id) const {
    std::string p = piece(id);
    if (prev == 1 && !p.empty() && p[0] == ' ') p.erase(0, 1);
    if (p.size() == 6 && p.compare(0, 3, "<0x") == 0 && p[5] == '>') {
      const auto hex = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
      return std::string(1, static_cast<char>(hex(p[3]) * 16 + hex(p[4])));
    }
    return p;
  }

 private:
  int id_of(const std::string& piece) const {
    const auto it = lookup_.find(piece);
    if (it == lookup_.end()) lowbit::detail::fail("tokenizer: no piece for '", piece, "'");
    return it->second;
  }

  std::int32_t max_len_ = 0;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int> lookup_;
};

}  // namespace lowbit::io
