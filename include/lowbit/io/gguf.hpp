// SPDX-License-Identifier: Apache-2.0
// lowbit/io/gguf.hpp: reader and writer for GGUF (llama.cpp's model files), versions 2 and 3,
// little-endian.
//
// # The format (the public GGUF specification, ggml/docs/gguf.md)
//   "GGUF", u32 version, u64 tensor_count, u64 kv_count;
//   kv_count × (string key, u32 value type, value); strings are u64 length + bytes; value types
//   0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array (u32 element type,
//   u64 count, elements), 10 u64, 11 i64, 12 f64;
//   tensor_count × (string name, u32 n_dims, n_dims × u64 ne (ne0 = the row length), u32 ggml
//   type, u64 offset);
//   padding to `general.alignment` (u32, default 32), then the data, each tensor at its offset
//   (a multiple of the alignment) from the data's start.
// # Validation (anything else throws lowbit::Error naming the problem)
// - every count, length and offset is checked against the bytes left before it is used, so a
//   hostile size never allocates more than the file could hold; arrays nest at most 8 deep;
// - keys and tensor names are unique;
// - a tensor has 1..4 dimensions, each >= 1, a type lowbit knows (formats/ggml/blocks.hpp) with ne0
// a
//   multiple of its block, a byte size computed with overflow checks, an aligned offset, and
//   lies inside the data; tensors do not overlap; general.alignment is a power of two.
// Tensors are kept as their bytes; tensor_floats() decodes F32/F16/BF16 and the block types
// with a codec (ggml::dequantize_row).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/formats/ggml/blocks.hpp"
#include "lowbit/io/file.hpp"
#include "lowbit/io/llama2c.hpp"

namespace lowbit::io {

enum class GgufType : std::uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

/// One metadata value. Scalars keep their bits in `bits` (integers zero- or sign-extended to
/// 64 bits, f32/f64 as their IEEE bits), strings in `str`, arrays their element type and
/// elements in `elem_type` / `items`.
struct GgufValue {
  GgufType type = GgufType::U8;
  std::uint64_t bits = 0;
  std::string str;
  GgufType elem_type = GgufType::U8;
  std::vector<GgufValue> items;

  std::int64_t as_int() const noexcept { return static_cast<std::int64_t>(bits); }
  double as_double() const noexcept {
    if (type == GgufType::F32) {
      float f;
      const auto b = static_cast<std::uint32_t>(bits);
      std::memcpy(&f, &b, 4);
      return f;
    }
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
};

struct GgufTensor {
  std::string name;
  std::vector<std::uint64_t> ne;  // ggml order: ne[0] is the row length
  std::uint32_t type = 0;         // ggml::Type
  std::uint64_t offset = 0;       // from the data's start
  std::uint64_t bytes = 0;
  Index numel() const noexcept {
    Index n = 1;
    for (auto d : ne) n *= static_cast<Index>(d);
    return n;
  }
};

struct GgufFile {
  std::uint32_t version = 3;
  std::vector<std::pair<std::string, GgufValue>> kv;  // in file order
  std::vector<GgufTensor> tensors;                    // in file order
  std::uint64_t alignment = 32;
  std::uint64_t data_offset = 0;  // of the data's start in the file
  std::vector<std::byte> data;    // the data section (from data_offset to the end)
  /// The data section in memory owned elsewhere (read_gguf_view, map_gguf), when `data` is
  /// empty; the owner must outlive this file.
  std::span<const std::byte> view;

  const GgufValue* find(std::string_view key) const noexcept {
    for (const auto& [k, v] : kv)
      if (k == key) return &v;
    return nullptr;
  }
  const GgufTensor* tensor(std::string_view name) const noexcept {
    for (const auto& t : tensors)
      if (t.name == name) return &t;
    return nullptr;
  }
  std::span<const std::byte> tensor_bytes(const GgufTensor& t) const noexcept {
    const std::byte* base = data.empty() ? view.data() : data.data();
    return {base + t.offset, static_cast<std::size_t>(t.bytes)};
  }
};

namespace detail {

inline constexpr int kGgufMaxDepth = 8;

class GgufCursor {
 public:
  explicit GgufCursor(std::span<const std::byte> in) : in_(in) {}
  std::size_t pos() const noexcept { return pos_; }
  std::size_t left() const noexcept { return in_.size() - pos_; }
  void need(std::uint64_t n, const char* what) const {
    if (n > left())
      lowbit::detail::fail("GGUF: truncated ", what, " at byte ", pos_, ": needs ", n, " bytes, ",
                           left(), " left");
  }
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    const T v = lowbit::detail::load_le<T>(in_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  std::string string(const char* what) {
    const auto n = get<std::uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }

 private:
  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
};

/// The fewest bytes a value of type t takes (bounds hostile array counts).
inline std::uint64_t gguf_min_size(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::Bool:
      return 1;
    case GgufType::U16:
    case GgufType::I16:
      return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
      return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
    case GgufType::String:
      return 8;
    case GgufType::Array:
      return 12;
  }
  lowbit::detail::fail("GGUF: value type ", static_cast<std::uint32_t>(t), " is not one of 0..12");
}

inline GgufValue gguf_value(GgufCursor& c, GgufType t, int depth) {
  GgufValue v;
  v.type = t;
  switch (t) {
    case GgufType::U8:
      v.bits = c.get<std::uint8_t>("u8 value");
      break;
    case GgufType::I8:
      v.bits = static_cast<std::uint64_t>(std::int64_t{c.get<std::int8_t>("i8 value")});
      break;
    case GgufType::U16:
      v.bits = c.get<std::uint16_t>("u16 value");
      break;
    case GgufType::I16:
      v.bits = static_cast<std::uint64_t>(std::int64_t{c.get<std::int16_t>("i16 value")});
      break;
    case GgufType::U32:
    case GgufType::F32:
      v.bits = c.get<std::uint32_t>("32-bit value");
      break;
    case GgufType::I32:
      v.bits = static_cast<std::uint64_t>(std::int64_t{c.get<std::int32_t>("i32 value")});
      break;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
      v.bits = c.get<std::uint64_t>("64-bit value");
      break;
    case GgufType::Bool: {
      const auto b = c.get<std::uint8_t>("bool value");
      if (b > 1)
        lowbit::detail::fail("GGUF: bool value ", int{b}, " at byte ", c.pos() - 1,
                             " is not 0 or 1");
      v.bits = b;
      break;
    }
    case GgufType::String:
      v.str = c.string("string value");
      break;
    case GgufType::Array: {
      if (depth >= kGgufMaxDepth)
        lowbit::detail::fail("GGUF: arrays nested deeper than ", kGgufMaxDepth);
      v.elem_type = static_cast<GgufType>(c.get<std::uint32_t>("array element type"));
      const std::uint64_t per = gguf_min_size(v.elem_type);
      const auto n = c.get<std::uint64_t>("array length");
      if (n > c.left() / per)
        lowbit::detail::fail("GGUF: array of ", n, " elements at byte ", c.pos(),
                             " cannot fit the ", c.left(), " bytes left");
      v.items.reserve(static_cast<std::size_t>(n));
      for (std::uint64_t i = 0; i < n; ++i)
        v.items.push_back(gguf_value(c, v.elem_type, depth + 1));
      break;
    }
    default:
      gguf_min_size(t);  // throws
  }
  return v;
}

}  // namespace detail

/// Parses a GGUF file's metadata and tensor table with every check of read_gguf, without
/// copying its data: `view` is the data section inside `in`, which must outlive the result.
inline GgufFile read_gguf_view(std::span<const std::byte> in) {
  detail::GgufCursor c(in);
  const auto magic = c.get<std::uint32_t>("magic");
  if (magic != 0x46554747u) lowbit::detail::fail("GGUF: bad magic (not a GGUF file)");
  GgufFile f;
  f.version = c.get<std::uint32_t>("version");
  if (f.version != 2 && f.version != 3) {
    if (f.version == 0x03000000u || f.version == 0x02000000u)
      lowbit::detail::fail("GGUF: big-endian files are not supported");
    lowbit::detail::fail("GGUF: version ", f.version, " (lowbit reads versions 2 and 3)");
  }
  const auto ntensors = c.get<std::uint64_t>("tensor count");
  const auto nkv = c.get<std::uint64_t>("key/value count");
  // Each key/value takes at least 8 + 4 + 1 bytes, each tensor info 8 + 4 + 8 + 4 + 8.
  if (nkv > c.left() / 13) lowbit::detail::fail("GGUF: ", nkv, " key/values cannot fit the file");
  if (ntensors > c.left() / 32)
    lowbit::detail::fail("GGUF: ", ntensors, " tensors cannot fit the file");
  std::map<std::string, int> seen;
  for (std::uint64_t i = 0; i < nkv; ++i) {
    std::string key = c.string("key");
    if (!seen.emplace(key, 0).second) lowbit::detail::fail("GGUF: key '", key, "' appears twice");
    const auto type = static_cast<GgufType>(c.get<std::uint32_t>("value type"));
    detail::gguf_min_size(type);  // checks the number
    GgufValue v = detail::gguf_value(c, type, 0);
    if (key == "general.alignment") {
      if (type != GgufType::U32) lowbit::detail::fail("GGUF: general.alignment is not a u32");
      if (v.bits == 0 || (v.bits & (v.bits - 1)) != 0)
        lowbit::detail::fail("GGUF: general.alignment ", v.bits, " is not a power of two");
      f.alignment = v.bits;
    }
    f.kv.emplace_back(std::move(key), std::move(v));
  }
  seen.clear();
  for (std::uint64_t i = 0; i < ntensors; ++i) {
    GgufTensor t;
    t.name = c.string("tensor name");
    if (!seen.emplace(t.name, 0).second)
      lowbit::detail::fail("GGUF: tensor '", t.name, "' appears twice");
    const auto nd = c.get<std::uint32_t>("tensor dimension count");
    if (nd < 1 || nd > 4)
      lowbit::detail::fail("GGUF: tensor '", t.name, "' has ", nd, " dimensions (1..4)");
    for (std::uint32_t d = 0; d < nd; ++d) {
      const auto ne = c.get<std::uint64_t>("tensor dimension");
      if (ne < 1 || ne > (std::uint64_t{1} << 40))
        lowbit::detail::fail("GGUF: tensor '", t.name, "' dimension ", d, " is ", ne);
      t.ne.push_back(ne);
    }
    t.type = c.get<std::uint32_t>("tensor type");
    t.offset = c.get<std::uint64_t>("tensor offset");
    const auto info = ggml::type_info(t.type);
    if (!info)
      lowbit::detail::fail("GGUF: tensor '", t.name, "' has ggml type ", t.type,
                           ", unknown to lowbit");
    if (t.ne[0] % static_cast<std::uint64_t>(info->block) != 0)
      lowbit::detail::fail("GGUF: tensor '", t.name, "' rows of ", t.ne[0], " are not whole ",
                           info->name, " blocks of ", info->block);
    Index n = 1;
    for (auto d : t.ne)
      n = lowbit::detail::checked_mul(n, static_cast<Index>(d), "GGUF tensor size");
    t.bytes = static_cast<std::uint64_t>(
        lowbit::detail::checked_mul(n / info->block, info->bytes, "GGUF tensor size"));
    f.tensors.push_back(std::move(t));
  }
  const std::uint64_t end = c.pos();
  f.data_offset = (end + f.alignment - 1) / f.alignment * f.alignment;
  if (f.data_offset > in.size())
    lowbit::detail::fail("GGUF: the data section would start at byte ", f.data_offset,
                         ", past the end (", in.size(), ")");
  const std::uint64_t data_size = in.size() - f.data_offset;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
  for (const auto& t : f.tensors) {
    if (t.offset % f.alignment != 0)
      lowbit::detail::fail("GGUF: tensor '", t.name, "' offset ", t.offset,
                           " is not a multiple of the alignment ", f.alignment);
    if (t.offset > data_size || t.bytes > data_size - t.offset)
      lowbit::detail::fail("GGUF: tensor '", t.name, "' (", t.bytes, " bytes at ", t.offset,
                           ") runs past the end of the data (", data_size, " bytes)");
    spans.emplace_back(t.offset, t.offset + t.bytes);
  }
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second)
      lowbit::detail::fail("GGUF: two tensors overlap in the data");
  f.view = in.subspan(static_cast<std::size_t>(f.data_offset));
  return f;
}

/// Parses a whole GGUF file (see the header for what is checked), copying its data.
inline GgufFile read_gguf(std::span<const std::byte> in) {
  GgufFile f = read_gguf_view(in);
  f.data.assign(f.view.begin(), f.view.end());
  f.view = {};
  return f;
}

/// A GGUF file memory-mapped (io::MappedFile): the tensors are read from the page cache as
/// they are used, so a model of any size opens in constant memory. Movable; `gguf` stays valid
/// while this object lives.
struct MappedGguf {
  MappedFile file;
  GgufFile gguf;
};

/// Maps and parses the GGUF file at `path`; errors name the file.
inline MappedGguf map_gguf(const std::string& path) {
  MappedGguf m{MappedFile(path), {}};
  try {
    m.gguf = read_gguf_view(m.file.bytes());
  } catch (const Error& e) {
    lowbit::detail::fail(path, ": ", e.what());
  }
  return m;
}

inline GgufFile load_gguf(const std::string& path) {
  const std::vector<std::byte> bytes = read_file(path);
  try {
    return read_gguf(bytes);
  } catch (const Error& e) {
    lowbit::detail::fail(path, ": ", e.what());
  }
}

/// A tensor as floats, row-major (ne0 fastest): F32, F16, BF16 and the block types with a
/// codec in formats/ggml/blocks.hpp; others throw.
inline std::vector<float> tensor_floats(const GgufFile& f, const GgufTensor& t) {
  const std::span<const std::byte> b = f.tensor_bytes(t);
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  switch (static_cast<ggml::Type>(t.type)) {
    case ggml::Type::F32:
      std::memcpy(out.data(), b.data(), out.size() * 4);
      break;
    case ggml::Type::F16:
    case ggml::Type::BF16:
      for (std::size_t i = 0; i < out.size(); ++i) {
        std::uint16_t h;
        std::memcpy(&h, b.data() + 2 * i, 2);
        out[i] = t.type == static_cast<std::uint32_t>(ggml::Type::F16)
                     ? static_cast<float>(f16::from_bits(h))
                     : static_cast<float>(bf16::from_bits(h));
      }
      break;
    default:
      ggml::dequantize_row(static_cast<ggml::Type>(t.type), b.data(), t.numel(), out.data());
  }
  // A NaN/Inf weight, or a block whose scale is one, is an error here, naming the tensor (and
  // the row and column in ggml's order: ne[0] values a row), never a NaN downstream.
  const Index row_len = t.ne.empty() ? 1 : static_cast<Index>(t.ne[0]);
  if (row_len > 0)
    check_finite(MatrixView<const float>(out.data(), t.numel() / row_len, row_len),
                 "GGUF: tensor '" + t.name + "'");
  return out;
}

namespace detail {
class GgufWriter {
 public:
  template <class T>
  void put(T v) {
    out.resize(out.size() + sizeof(T));
    lowbit::detail::store_le<T>(out.data() + out.size() - sizeof(T), v);
  }
  void string(const std::string& s) {
    put<std::uint64_t>(s.size());
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out.insert(out.end(), p, p + s.size());
  }
  void value(const GgufValue& v) {
    switch (v.type) {
      case GgufType::U8:
      case GgufType::I8:
      case GgufType::Bool:
        put<std::uint8_t>(static_cast<std::uint8_t>(v.bits));
        break;
      case GgufType::U16:
      case GgufType::I16:
        put<std::uint16_t>(static_cast<std::uint16_t>(v.bits));
        break;
      case GgufType::U32:
      case GgufType::I32:
      case GgufType::F32:
        put<std::uint32_t>(static_cast<std::uint32_t>(v.bits));
        break;
      case GgufType::U64:
      case GgufType::I64:
      case GgufType::F64:
        put<std::uint64_t>(v.bits);
        break;
      case GgufType::String:
        string(v.str);
        break;
      case GgufType::Array:
        put<std::uint32_t>(static_cast<std::uint32_t>(v.elem_type));
        put<std::uint64_t>(v.items.size());
        for (const auto& it : v.items) {
          if (it.type != v.elem_type)
            lowbit::detail::fail("GGUF writer: an array mixes element types");
          value(it);
        }
        break;
    }
  }
  std::vector<std::byte> out;
};
}  // namespace detail

namespace detail {
/// The bytes of f before its data: header, key/values, tensor infos, zero padding to the
/// alignment.
inline std::vector<std::byte> gguf_head_bytes(const GgufFile& f) {
  GgufWriter w;
  w.put<std::uint32_t>(0x46554747u);
  w.put<std::uint32_t>(f.version);
  w.put<std::uint64_t>(f.tensors.size());
  w.put<std::uint64_t>(f.kv.size());
  for (const auto& [k, v] : f.kv) {
    w.string(k);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(v.type));
    w.value(v);
  }
  for (const auto& t : f.tensors) {
    w.string(t.name);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(t.ne.size()));
    for (auto d : t.ne) w.put<std::uint64_t>(d);
    w.put<std::uint32_t>(t.type);
    w.put<std::uint64_t>(t.offset);
  }
  w.out.resize((w.out.size() + f.alignment - 1) / f.alignment * f.alignment, std::byte{0});
  return std::move(w.out);
}
}  // namespace detail

/// Serializes f: its key/values and tensor infos in order, each tensor's bytes at its offset
/// (offsets and sizes as in f.tensors, checked as the reader checks them), zero padding. A file
/// read by read_gguf and written back gives the same bytes when its padding was zeros.
inline std::vector<std::byte> write_gguf(const GgufFile& f) {
  detail::GgufWriter w;
  w.out = detail::gguf_head_bytes(f);
  w.out.insert(w.out.end(), f.data.begin(), f.data.end());
  // Whatever was written must read back (sizes, offsets, alignment, overlaps).
  read_gguf(w.out);
  return w.out;
}

/// Writes a GGUF file one tensor at a time with only its metadata in memory, so a model of any
/// size is written in constant memory. The tensor table is fixed up front (names, shapes, types):
/// each tensor's size follows from its type, and its offset is the next multiple of the
/// alignment in table order, so the header is written first and the data streamed after it.
/// The bytes are those write_gguf writes for the same table and data. Everything goes to
/// `path` + ".tmp", renamed to `path` by finish(); a writer destroyed before finish() removes it.
class GgufStreamWriter {
 public:
  /// `head`: version, alignment, key/values and tensors (name, ne, type); offsets and sizes are
  /// assigned here, `data` is ignored. Throws Error for a type lowbit does not know or rows that
  /// are not whole blocks (naming the tensor), or a file that cannot be opened.
  GgufStreamWriter(std::string path, GgufFile head)
      : path_(std::move(path)), tmp_path_(path_ + ".tmp"), head_(std::move(head)) {
    using lowbit::detail::fail;
    if (std::filesystem::is_directory(path_))
      fail("GGUF: '", path_, "' is a directory, not a file to write");
    if (head_.alignment == 0 || (head_.alignment & (head_.alignment - 1)) != 0)
      fail("GGUF: alignment ", head_.alignment, " is not a power of two");
    std::uint64_t at = 0;
    for (GgufTensor& t : head_.tensors) {
      const auto info = ggml::type_info(t.type);
      if (!info) fail("GGUF: tensor '", t.name, "' has ggml type ", t.type, ", unknown to lowbit");
      if (t.ne.empty() || t.ne.size() > 4 || t.ne[0] % static_cast<std::uint64_t>(info->block))
        fail("GGUF: tensor '", t.name, "' is not 1..4 dimensions of whole ", info->name, " blocks");
      t.bytes = static_cast<std::uint64_t>(t.numel() / info->block * info->bytes);
      t.offset = at;
      at = (at + t.bytes + head_.alignment - 1) / head_.alignment * head_.alignment;
    }
    head_.data.clear();
    head_.view = {};
    file_.reset(std::fopen(tmp_path_.c_str(), "wb"));
    if (!file_) fail("GGUF: cannot open '", tmp_path_, "' for writing");
    const std::vector<std::byte> h = detail::gguf_head_bytes(head_);
    put(h);
  }
  GgufStreamWriter(const GgufStreamWriter&) = delete;
  GgufStreamWriter& operator=(const GgufStreamWriter&) = delete;
  ~GgufStreamWriter() {
    if (file_) {
      file_.reset();
      std::remove(tmp_path_.c_str());
    }
  }

  /// The table with its offsets and sizes.
  const GgufFile& head() const noexcept { return head_; }
  /// The index of the tensor the next bytes belong to (tensors().size() when all are written).
  std::size_t next() const noexcept { return next_; }

  /// Appends bytes to the current tensor (a tensor may come in several pieces); a tensor that
  /// is complete is padded and the next one begins. Throws Error past the last tensor's end.
  void append(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      if (next_ >= head_.tensors.size())
        lowbit::detail::fail("GGUF: '", path_, "': ", bytes.size(), " bytes past the last tensor");
      const GgufTensor& t = head_.tensors[next_];
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), t.bytes - in_tensor_));
      put(bytes.first(take));
      bytes = bytes.subspan(take);
      in_tensor_ += take;
      if (in_tensor_ == t.bytes) {
        const std::uint64_t pad = (head_.alignment - t.bytes % head_.alignment) % head_.alignment;
        const std::vector<std::byte> zeros(static_cast<std::size_t>(pad), std::byte{0});
        put(zeros);
        ++next_;
        in_tensor_ = 0;
      }
    }
  }

  /// Checks that every tensor was written, closes and renames the file, and reads its table
  /// back (read_gguf_view's checks).
  void finish() {
    if (next_ != head_.tensors.size() || in_tensor_ != 0)
      lowbit::detail::fail("GGUF: '", path_, "': finished after ", next_, " of ",
                           head_.tensors.size(), " tensors");
    if (std::fclose(file_.release()) != 0)
      lowbit::detail::fail("GGUF: cannot close '", tmp_path_, "'");
    std::error_code ec;
    std::filesystem::rename(tmp_path_, path_, ec);
    if (ec) lowbit::detail::fail("GGUF: cannot rename '", tmp_path_, "' to '", path_, "'");
    const MappedFile check(path_);
    (void)read_gguf_view(check.bytes());
  }

 private:
  void put(std::span<const std::byte> b) {
    if (!b.empty() && std::fwrite(b.data(), 1, b.size(), file_.get()) != b.size())
      lowbit::detail::fail("GGUF: short write to '", tmp_path_, "'");
  }

  std::string path_, tmp_path_;
  GgufFile head_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_{nullptr, &std::fclose};
  std::size_t next_ = 0;
  std::uint64_t in_tensor_ = 0;
};

}  // namespace lowbit::io
