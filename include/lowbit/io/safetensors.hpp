// SPDX-License-Identifier: Apache-2.0
// lowbit/io/safetensors.hpp: reader for safetensors files (F32, F16 and BF16 tensors).
//
// # The format
//   u64 (little-endian) N, then N bytes of JSON: an object mapping each tensor name to
//   {"dtype": "F32" | "F16" | "BF16" | …, "shape": [d0, d1, …], "data_offsets": [begin, end]}
//   plus an optional "__metadata__" object of string values; then the data region, where a
//   tensor occupies bytes [begin, end) relative to its start, row-major, little-endian.
// # Validation (strict; anything else throws lowbit::Error naming the problem)
// - N fits the file and is at most 100 MB; the JSON is one object, parsed by a strict parser
//   (no trailing commas, no comments, escapes checked, nesting bounded, nothing after it);
// - names are unique; every tensor has exactly dtype, shape and data_offsets; dtype is one of
//   F32/F16/BF16 (other dtypes are rejected by name); dimensions are non-negative integers;
//   the byte size is computed with overflow checks and equals end - begin;
// - the tensors tile the data region exactly: sorted by offset they start at 0, do not overlap
//   or leave holes, and end at the end of the file.
// Values are converted to fp32 on load (F16/BF16 exactly); non-finite values are kept (the
// format allows them; quantizers reject them with their own error).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/io/llama2c.hpp"

namespace lowbit::io {

struct SafeTensor {
  std::string dtype;         // "F32", "F16" or "BF16" as stored
  std::vector<Index> shape;  // row-major
  std::vector<float> data;   // converted to fp32
  Index numel() const noexcept {
    Index n = 1;
    for (Index d : shape) n *= d;
    return n;
  }
};

namespace detail {

/// A strict JSON reader for the safetensors header (objects, arrays, strings, integers).
class JsonCursor {
 public:
  explicit JsonCursor(std::string_view s) : s_(s) {}

  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool peek(char c) {
    ws();
    return i_ < s_.size() && s_[i_] == c;
  }
  void expect(char c) {
    ws();
    if (i_ >= s_.size() || s_[i_] != c) fail("expected '", std::string(1, c), "'");
    ++i_;
  }
  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (s_.size() - i_ < 4) fail("short \\u escape");
          unsigned v = 0;
          for (int k = 0; k < 4; ++k) {
            const char h = s_[i_++];
            v <<= 4;
            if (h >= '0' && h <= '9')
              v |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f')
              v |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
              v |= static_cast<unsigned>(h - 'A' + 10);
            else
              fail("bad hex digit in \\u escape");
          }
          if (v < 0x80) {  // names are ASCII in practice; keep others as UTF-8
            out += static_cast<char>(v);
          } else if (v < 0x800) {
            out += static_cast<char>(0xC0 | (v >> 6));
            out += static_cast<char>(0x80 | (v & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (v >> 12));
            out += static_cast<char>(0x80 | ((v >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (v & 0x3F));
          }
          break;
        }
        default:
          fail("bad escape \\", std::string(1, e));
      }
    }
  }
  /// A non-negative integer below 2^62 (no sign, fraction or exponent).
  Index integer() {
    ws();
    const std::size_t start = i_;
    Index v = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      if (v > (Index{1} << 58)) fail("integer too large");
      v = v * 10 + (s_[i_++] - '0');
    }
    if (i_ == start) fail("expected a non-negative integer");
    if (i_ - start > 1 && s_[start] == '0') fail("leading zero in an integer");
    if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E'))
      fail("expected an integer, found a fraction or exponent");
    return v;
  }
  std::vector<Index> integer_array() {
    std::vector<Index> out;
    expect('[');
    if (peek(']')) {
      ++i_;
      return out;
    }
    while (true) {
      out.push_back(integer());
      if (out.size() > 64) fail("array longer than 64 entries");
      if (peek(',')) {
        ++i_;
        continue;
      }
      expect(']');
      return out;
    }
  }
  void end() {
    ws();
    if (i_ != s_.size()) fail("unexpected characters after the header object");
  }

  template <class... A>
  [[noreturn]] void fail(const A&... a) const {
    lowbit::detail::fail("safetensors: header JSON at byte ", i_, ": ", a...);
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace detail

/// Parses a safetensors file held in memory. Throws Error on any malformed part.
inline std::map<std::string, SafeTensor> read_safetensors(std::span<const std::byte> in) {
  using lowbit::detail::fail;
  if (in.size() < 8) fail("safetensors: file of ", in.size(), " bytes has no header length");
  std::uint64_t n = 0;
  std::memcpy(&n, in.data(), 8);
  if (n > in.size() - 8)
    fail("safetensors: header length ", n, " exceeds the file (", in.size(), " bytes)");
  if (n > (std::uint64_t{100} << 20)) fail("safetensors: header length ", n, " exceeds 100 MB");
  const std::string_view json(reinterpret_cast<const char*>(in.data() + 8),
                              static_cast<std::size_t>(n));
  const std::span<const std::byte> data = in.subspan(8 + static_cast<std::size_t>(n));

  struct Entry {
    std::string name, dtype;
    std::vector<Index> shape;
    Index begin = 0, end = 0;
  };
  std::vector<Entry> entries;
  detail::JsonCursor j(json);
  j.expect('{');
  std::map<std::string, bool> seen;
  if (!j.peek('}')) {
    while (true) {
      const std::string name = j.string();
      if (seen.count(name)) j.fail("duplicate name '", name, "'");
      seen[name] = true;
      j.expect(':');
      j.expect('{');
      if (name == "__metadata__") {  // string → string
        if (!j.peek('}')) {
          while (true) {
            (void)j.string();
            j.expect(':');
            (void)j.string();
            if (j.peek(',')) {
              j.expect(',');
              continue;
            }
            break;
          }
        }
        j.expect('}');
      } else {
        Entry e;
        e.name = name;
        bool has_dtype = false, has_shape = false, has_offsets = false;
        while (true) {
          const std::string key = j.string();
          j.expect(':');
          if (key == "dtype" && !has_dtype) {
            e.dtype = j.string();
            has_dtype = true;
          } else if (key == "shape" && !has_shape) {
            e.shape = j.integer_array();
            has_shape = true;
          } else if (key == "data_offsets" && !has_offsets) {
            const std::vector<Index> o = j.integer_array();
            if (o.size() != 2) j.fail("tensor '", name, "': data_offsets needs 2 entries");
            e.begin = o[0];
            e.end = o[1];
            has_offsets = true;
          } else {
            j.fail("tensor '", name, "': unexpected or repeated key '", key, "'");
          }
          if (j.peek(',')) {
            j.expect(',');
            continue;
          }
          break;
        }
        j.expect('}');
        if (!has_dtype || !has_shape || !has_offsets)
          j.fail("tensor '", name, "' lacks dtype, shape or data_offsets");
        entries.push_back(std::move(e));
      }
      if (j.peek(',')) {
        j.expect(',');
        continue;
      }
      break;
    }
  }
  j.expect('}');
  j.end();

  std::map<std::string, SafeTensor> out;
  std::vector<std::pair<Index, Index>> ranges;
  for (const Entry& e : entries) {
    Index elem = 0;
    if (e.dtype == "F32") {
      elem = 4;
    } else if (e.dtype == "F16" || e.dtype == "BF16") {
      elem = 2;
    } else {
      fail("safetensors: tensor '", e.name, "' has dtype ", e.dtype,
           " (supported: F32, F16, BF16)");
    }
    Index count = 1;
    for (Index d : e.shape) count = lowbit::detail::checked_mul(count, d, "safetensors shape");
    const Index bytes = lowbit::detail::checked_mul(count, elem, "safetensors size");
    if (e.end < e.begin || e.end - e.begin != bytes) {
      fail("safetensors: tensor '", e.name, "' has data_offsets [", e.begin, ", ", e.end,
           "] but its dtype and shape need ", bytes, " bytes");
    }
    if (static_cast<std::uint64_t>(e.end) > data.size()) {
      fail("safetensors: tensor '", e.name, "' ends at ", e.end, ", past the data region (",
           data.size(), " bytes)");
    }
    ranges.emplace_back(e.begin, e.end);
    SafeTensor t;
    t.dtype = e.dtype;
    t.shape = e.shape;
    t.data.resize(static_cast<std::size_t>(count));
    const std::byte* p = data.data() + e.begin;
    for (Index i = 0; i < count; ++i) {
      if (elem == 4) {
        std::memcpy(&t.data[static_cast<std::size_t>(i)], p + 4 * i, 4);
      } else {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        t.data[static_cast<std::size_t>(i)] =
            e.dtype == "F16" ? f16::from_bits(h).to_float() : bf16::from_bits(h).to_float();
      }
    }
    out.emplace(e.name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  Index pos = 0;
  for (const auto& [b, e] : ranges) {
    if (b != pos)
      fail("safetensors: the data region has a ", b < pos ? "overlap" : "hole", " at byte ", pos);
    pos = e;
  }
  if (static_cast<std::uint64_t>(pos) != data.size())
    fail("safetensors: tensors cover ", pos, " bytes of a ", data.size(), "-byte data region");
  return out;
}

inline std::map<std::string, SafeTensor> load_safetensors(const std::string& path) {
  const std::vector<std::byte> bytes = read_file(path);
  return read_safetensors(bytes);
}

}  // namespace lowbit::io
