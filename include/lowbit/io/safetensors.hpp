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
// # Two ways in
// index_safetensors validates all of the above and returns each tensor's dtype, shape and bytes,
// in file order, without converting anything: over a MappedFile (io/file.hpp) a tool converts and
// releases one tensor at a time, so a model larger than memory can be quantized. to_f32 converts
// one tensor (F16/BF16 exactly); read_safetensors / load_safetensors convert every tensor at
// once. Non-finite values are kept (the format allows them; quantizers reject them with their
// own error, naming the tensor).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/io/json.hpp"
#include "lowbit/io/llama2c.hpp"

namespace lowbit::io {

/// One tensor of a safetensors file, not converted: its bytes are a view of the file's.
struct SafeTensorView {
  std::string name;
  std::string dtype;         // "F32", "F16" or "BF16"
  std::vector<Index> shape;  // row-major
  std::span<const std::byte> bytes;
  Index numel() const noexcept {
    Index n = 1;
    for (Index d : shape) n *= d;
    return n;
  }
  /// Bytes per value (4 for F32, 2 for F16 and BF16).
  Index element_bytes() const noexcept { return dtype == "F32" ? 4 : 2; }
};

/// The tensors of a safetensors file in the order of their data, and its metadata.
struct SafetensorsIndex {
  std::vector<SafeTensorView> tensors;
  std::map<std::string, std::string> metadata;
  /// The tensor called `name`, or nullptr.
  const SafeTensorView* find(std::string_view name) const {
    for (const auto& t : tensors)
      if (t.name == name) return &t;
    return nullptr;
  }
};

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

/// Validates a safetensors file held in memory (or mapped) and indexes its tensors, in the order
/// of their data, without converting them. Throws Error on any malformed part.
inline SafetensorsIndex index_safetensors(std::span<const std::byte> in) {
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
  SafetensorsIndex index;
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
            std::string key = j.string();
            j.expect(':');
            index.metadata[std::move(key)] = j.string();
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
    SafeTensorView t;
    t.name = e.name;
    t.dtype = e.dtype;
    t.shape = e.shape;
    t.bytes = data.subspan(static_cast<std::size_t>(e.begin), static_cast<std::size_t>(bytes));
    index.tensors.push_back(std::move(t));
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
  std::stable_sort(index.tensors.begin(), index.tensors.end(),
                   [](const SafeTensorView& a, const SafeTensorView& b) {
                     return a.bytes.data() < b.bytes.data();
                   });
  return index;
}

/// Converts tensor t to fp32 into out (t.numel() values; F16 and BF16 exactly).
inline void to_f32(const SafeTensorView& t, std::span<float> out) {
  if (static_cast<Index>(out.size()) != t.numel())
    lowbit::detail::fail("safetensors: tensor '", t.name, "' has ", t.numel(),
                         " values, the output ", out.size());
  const std::byte* p = t.bytes.data();
  const std::size_t n = out.size();
  if (t.dtype == "F32") {
    if (n > 0) std::memcpy(out.data(), p, 4 * n);
  } else if (t.dtype == "F16") {
    for (std::size_t i = 0; i < n; ++i)
      out[i] = f16::from_bits(lowbit::detail::load_le<std::uint16_t>(p + 2 * i)).to_float();
  } else {
    for (std::size_t i = 0; i < n; ++i)
      out[i] = bf16::from_bits(lowbit::detail::load_le<std::uint16_t>(p + 2 * i)).to_float();
  }
}
inline std::vector<float> to_f32(const SafeTensorView& t) {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  to_f32(t, out);
  return out;
}

/// Parses a safetensors file held in memory and converts every tensor to fp32. Throws Error on
/// any malformed part.
inline std::map<std::string, SafeTensor> read_safetensors(std::span<const std::byte> in) {
  std::map<std::string, SafeTensor> out;
  for (const SafeTensorView& v : index_safetensors(in).tensors) {
    SafeTensor t;
    t.dtype = v.dtype;
    t.shape = v.shape;
    t.data = to_f32(v);
    out.emplace(v.name, std::move(t));
  }
  return out;
}

/// A tensor to be written: name, dtype ("F32", "F16", "BF16") and shape.
struct SafeTensorSpec {
  std::string name;
  std::string dtype;
  std::vector<Index> shape;
  /// Bytes of its data.
  Index bytes() const {
    Index n = dtype == "F32" ? 4 : 2;
    for (Index d : shape) n = lowbit::detail::checked_mul(n, d, "safetensors size");
    return n;
  }
};

namespace detail {
inline void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}
}  // namespace detail

/// The bytes a safetensors file starts with when it holds `tensors` with their data following in
/// this order: the header length, then the JSON header (metadata first), padded with spaces to a
/// multiple of 8 bytes as Hugging Face's writer pads it. A writer streams each tensor's data
/// after it (SafeTensorSpec::bytes() each, nothing between).
inline std::vector<std::byte> safetensors_header(
    std::span<const SafeTensorSpec> tensors, const std::map<std::string, std::string>& metadata) {
  std::string json = "{";
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) json += ',';
      first = false;
      detail::append_json_string(json, k);
      json += ':';
      detail::append_json_string(json, v);
    }
    json += '}';
  }
  Index at = 0;
  for (const SafeTensorSpec& t : tensors) {
    if (t.dtype != "F32" && t.dtype != "F16" && t.dtype != "BF16")
      lowbit::detail::fail("safetensors: tensor '", t.name, "': cannot write dtype ", t.dtype);
    if (json.size() > 1) json += ',';
    detail::append_json_string(json, t.name);
    // Appended piece by piece (GCC 12 at -O3 warns, falsely, on `"literal" + std::string`).
    json += ":{\"dtype\":\"";
    json += t.dtype;
    json += "\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      if (i) json += ',';
      json += std::to_string(t.shape[i]);
    }
    const Index end = at + t.bytes();
    json += "],\"data_offsets\":[";
    json += std::to_string(at);
    json += ',';
    json += std::to_string(end);
    json += "]}";
    at = end;
  }
  json += '}';
  while ((8 + json.size()) % 8 != 0) json += ' ';
  std::vector<std::byte> out(8 + json.size());
  lowbit::detail::store_le<std::uint64_t>(out.data(), json.size());
  std::memcpy(out.data() + 8, json.data(), json.size());
  return out;
}

inline std::map<std::string, SafeTensor> load_safetensors(const std::string& path) {
  const std::vector<std::byte> bytes = read_file(path);
  return read_safetensors(bytes);
}

}  // namespace lowbit::io
