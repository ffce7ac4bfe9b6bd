// SPDX-License-Identifier: Apache-2.0
// lowbit/io/json.hpp: a strict, bounded JSON reader for the files that come with models: the
// safetensors header, and Hugging Face's config.json and model.safetensors.index.json.
//
// JsonCursor reads tokens (strings with every escape checked, integers, numbers, literals);
// parse_json builds a JsonValue tree from it with nesting bounded at 64, so a hostile file can
// neither recurse without bound nor be misread: every error is lowbit::Error naming the file's
// role and the byte ("config.json at byte 17: expected ':'").
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"

namespace lowbit::io {

namespace detail {

/// A strict JSON reader (RFC 8259: no trailing commas, no comments, escapes checked): the
/// safetensors header reads its fields with it directly, parse_json builds a JsonValue.
class JsonCursor {
 public:
  /// `what` opens every error message ("safetensors: header JSON").
  explicit JsonCursor(std::string_view s, std::string what = "safetensors: header JSON")
      : s_(s), what_(std::move(what)) {}

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
  /// A JSON number (sign, fraction and exponent allowed), as a double.
  double number() {
    ws();
    const std::size_t start = i_;
    auto digits = [&] {
      const std::size_t d = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ - d;
    };
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    const std::size_t int_start = i_;
    const std::size_t n_int = digits();
    if (n_int == 0) fail("expected a number");
    if (n_int > 1 && s_[int_start] == '0') fail("leading zero in a number");
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (digits() == 0) fail("expected digits after '.'");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (digits() == 0) fail("expected digits in an exponent");
    }
    const std::string text(s_.substr(start, i_ - start));
    return std::strtod(text.c_str(), nullptr);  // the grammar above is a subset of strtod's
  }
  /// Whether the next characters are the literal `word` (true, false, null); consumes it if so.
  bool literal(std::string_view word) {
    ws();
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  /// The next non-space character, or '\0' at the end.
  char next() {
    ws();
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  void end() {
    ws();
    if (i_ != s_.size()) fail("unexpected characters after the top-level value");
  }

  template <class... A>
  [[noreturn]] void fail(const A&... a) const {
    lowbit::detail::fail(what_, " at byte ", i_, ": ", a...);
  }

 private:
  std::string_view s_;
  std::string what_;
  std::size_t i_ = 0;
};

}  // namespace detail

struct JsonMember;

/// A parsed JSON value. Objects keep their members in file order; a repeated key is an error.
struct JsonValue {
  enum class Kind : std::uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0.0;
  std::string string;
  std::vector<JsonValue> items;     // kArray
  std::vector<JsonMember> members;  // kObject

  /// The member called `key` of an object, or nullptr (also for a value that is no object).
  const JsonValue* find(std::string_view key) const;
};

/// One member of an object (a struct, not std::pair: a pair of an incomplete JsonValue trips
/// clang 14 with libstdc++).
struct JsonMember {
  std::string key;
  JsonValue value;
};

inline const JsonValue* JsonValue::find(std::string_view key) const {
  if (kind != Kind::kObject) return nullptr;
  for (const auto& m : members)
    if (m.key == key) return &m.value;
  return nullptr;
}

namespace detail {
inline JsonValue parse_json_value(JsonCursor& j, int depth) {
  if (depth > 64) j.fail("nesting deeper than 64");
  JsonValue v;
  const char c = j.next();
  if (c == '{') {
    v.kind = JsonValue::Kind::kObject;
    j.expect('{');
    if (j.peek('}')) {
      j.expect('}');
      return v;
    }
    while (true) {
      std::string key = j.string();
      for (const auto& m : v.members)
        if (m.key == key) j.fail("repeated key '", key, "'");
      j.expect(':');
      JsonValue member = parse_json_value(j, depth + 1);
      v.members.push_back(JsonMember{std::move(key), std::move(member)});
      if (j.peek(',')) {
        j.expect(',');
        continue;
      }
      j.expect('}');
      return v;
    }
  }
  if (c == '[') {
    v.kind = JsonValue::Kind::kArray;
    j.expect('[');
    if (j.peek(']')) {
      j.expect(']');
      return v;
    }
    while (true) {
      v.items.push_back(parse_json_value(j, depth + 1));
      if (j.peek(',')) {
        j.expect(',');
        continue;
      }
      j.expect(']');
      return v;
    }
  }
  if (c == '"') {
    v.kind = JsonValue::Kind::kString;
    v.string = j.string();
    return v;
  }
  if (j.literal("true") || j.literal("false")) {
    v.kind = JsonValue::Kind::kBool;
    v.boolean = c == 't';
    return v;
  }
  if (j.literal("null")) return v;
  v.kind = JsonValue::Kind::kNumber;
  v.number = j.number();
  return v;
}
}  // namespace detail

/// Parses `text` as one JSON value; errors name `what` and the byte.
inline JsonValue parse_json(std::string_view text, const std::string& what) {
  detail::JsonCursor j(text, what);
  JsonValue v = detail::parse_json_value(j, 0);
  j.end();
  return v;
}

}  // namespace lowbit::io
