// SPDX-License-Identifier: Apache-2.0
// lowbit/io/archive.hpp: lowbit's model file: named tensors (fp32 arrays, int32 arrays, text,
// packed matrices in the packed-matrix format of format.hpp) in one checksummed file.
//
// # lowbit archive, version 1 (all integers little-endian)
//
//   offset  bytes  field
//   0       8      magic "LOWBITAR"
//   8       4      format version = 1
//   12      4      entry count E (0..2^20)
//   16      8      table bytes T (the entry table that follows)
//   24      T      E entries, each:
//                    2  name length L (1..1024)
//                    L  name (bytes 0x21..0x7e: printable ASCII, no spaces), unique in the file
//                    1  kind (1 f32 array, 2 int32 array, 3 packed matrix, 4 text)
//                    8  rows, 8 cols  (shape; int32 arrays and text: 1 × count)
//                    8  offset of the data (from the start of the file, a multiple of 64)
//                    8  size of the data in bytes
//   ...            data, each entry's at its offset; gaps are zero bytes
//   end-4   4      CRC-32 (IEEE, as in format.hpp) of every byte before it
//
// Sizes by kind: f32 rows·cols·4, int32 cols·4, text cols (UTF-8), packed matrix: a whole
// packed-matrix file image (format.hpp: its own header, parameters, codes and CRC), whose
// rows × cols must equal the entry's shape. A reader checks everything before using it: magic,
// version, counts, the table inside the file, every name, kind, shape/size relation (overflow
// checked), every offset aligned, inside the data area and not overlapping another entry, the
// checksum; packed images are validated again, fully, when they are decoded. Any failure throws
// lowbit::Error naming the entry and the field. Entries are kept in file order.
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
#include "lowbit/core/view.hpp"
#include "lowbit/io/format.hpp"
#include "lowbit/io/serialize.hpp"

namespace lowbit::io {

inline constexpr std::array<char, 8> kArchiveMagic = {'L', 'O', 'W', 'B', 'I', 'T', 'A', 'R'};
inline constexpr std::uint32_t kArchiveVersion = 1;
inline constexpr std::size_t kArchiveAlign = 64;

enum class EntryKind : std::uint8_t { kF32 = 1, kI32 = 2, kPacked = 3, kText = 4 };

/// One named tensor of an archive; `data` holds its bytes exactly as stored.
struct ArchiveEntry {
  std::string name;
  EntryKind kind = EntryKind::kF32;
  std::uint64_t rows = 0, cols = 0;
  std::vector<std::byte> data;
};

/// A set of named tensors, written and read as one lowbit archive file (see the top of this file).
class Archive {
 public:
  void add_f32(const std::string& name, MatrixView<const float> m) {
    ArchiveEntry e = start(name, EntryKind::kF32, m.rows(), m.cols());
    e.data.resize(static_cast<std::size_t>(m.rows() * m.cols()) * 4);
    for (Index r = 0; r < m.rows(); ++r)
      for (Index c = 0; c < m.cols(); ++c)
        lowbit::detail::store_le<float>(
            e.data.data() + 4 * static_cast<std::size_t>(r * m.cols() + c), m(r, c));
    push(std::move(e));
  }
  void add_f32(const std::string& name, std::span<const float> v) {
    add_f32(name, MatrixView<const float>(v.data(), 1, static_cast<Index>(v.size())));
  }
  void add_i32(const std::string& name, std::span<const std::int32_t> v) {
    ArchiveEntry e = start(name, EntryKind::kI32, 1, static_cast<Index>(v.size()));
    e.data.resize(v.size() * 4);
    for (std::size_t i = 0; i < v.size(); ++i)
      lowbit::detail::store_le<std::int32_t>(e.data.data() + 4 * i, v[i]);
    push(std::move(e));
  }
  void add_text(const std::string& name, std::string_view text) {
    ArchiveEntry e = start(name, EntryKind::kText, 1, static_cast<Index>(text.size()));
    e.data.resize(text.size());
    if (!text.empty()) std::memcpy(e.data.data(), text.data(), text.size());
    push(std::move(e));
  }
  /// A packed-matrix file image (io::serialize of a Plain PackedMatrix).
  void add_packed(const std::string& name, std::vector<std::byte> image) {
    const FileInfo info = read_header(image);
    ArchiveEntry e = start(name, EntryKind::kPacked, static_cast<Index>(info.rows),
                           static_cast<Index>(info.cols));
    e.data = std::move(image);
    push(std::move(e));
  }
  template <PersistableMatrix M>
  void add_packed(const std::string& name, const M& m) {
    add_packed(name, io::serialize(m));
  }

  const std::vector<ArchiveEntry>& entries() const noexcept { return entries_; }
  /// The entry called `name`, or nullptr.
  const ArchiveEntry* find(const std::string& name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second];
  }
  /// The entry called `name` of kind `kind`; throws Error if missing or of another kind.
  const ArchiveEntry& get(const std::string& name, EntryKind kind) const {
    const ArchiveEntry* e = find(name);
    if (e == nullptr) lowbit::detail::fail("archive: no entry '", name, "'");
    if (e->kind != kind)
      lowbit::detail::fail("archive: entry '", name, "' is of kind ", int(e->kind), ", expected ",
                           int(kind));
    return *e;
  }
  std::vector<float> f32(const std::string& name) const {
    const ArchiveEntry& e = get(name, EntryKind::kF32);
    std::vector<float> out(e.data.size() / 4);
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = lowbit::detail::load_le<float>(e.data.data() + 4 * i);
    return out;
  }
  std::vector<std::int32_t> i32(const std::string& name) const {
    const ArchiveEntry& e = get(name, EntryKind::kI32);
    std::vector<std::int32_t> out(e.data.size() / 4);
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = lowbit::detail::load_le<std::int32_t>(e.data.data() + 4 * i);
    return out;
  }
  std::string text(const std::string& name) const {
    const ArchiveEntry& e = get(name, EntryKind::kText);
    return std::string(reinterpret_cast<const char*>(e.data.data()), e.data.size());
  }
  /// Decodes a packed entry as M (validating the image fully; deserialize's errors, prefixed).
  template <PersistableMatrix M>
  M packed(const std::string& name) const {
    const ArchiveEntry& e = get(name, EntryKind::kPacked);
    try {
      return deserialize<M>(e.data);
    } catch (const Error& err) {
      lowbit::detail::fail("archive: entry '", name, "': ", err.what());
    }
  }

  /// The file image.
  std::vector<std::byte> serialize() const {
    using lowbit::detail::store_le;
    std::size_t table = 0;
    for (const auto& e : entries_) table += 2 + e.name.size() + 1 + 32;
    std::size_t at = align(24 + table);
    std::vector<std::size_t> offsets;
    for (const auto& e : entries_) {
      offsets.push_back(at);
      at = align(at + e.data.size());
    }
    std::vector<std::byte> out(at + kChecksumBytes);
    std::byte* p = out.data();
    std::memcpy(p, kArchiveMagic.data(), kArchiveMagic.size());
    store_le<std::uint32_t>(p + 8, kArchiveVersion);
    store_le<std::uint32_t>(p + 12, static_cast<std::uint32_t>(entries_.size()));
    store_le<std::uint64_t>(p + 16, static_cast<std::uint64_t>(table));
    std::byte* t = p + 24;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      const ArchiveEntry& e = entries_[i];
      store_le<std::uint16_t>(t, static_cast<std::uint16_t>(e.name.size()));
      std::memcpy(t + 2, e.name.data(), e.name.size());
      t += 2 + e.name.size();
      store_le<std::uint8_t>(t, static_cast<std::uint8_t>(e.kind));
      store_le<std::uint64_t>(t + 1, e.rows);
      store_le<std::uint64_t>(t + 9, e.cols);
      store_le<std::uint64_t>(t + 17, static_cast<std::uint64_t>(offsets[i]));
      store_le<std::uint64_t>(t + 25, static_cast<std::uint64_t>(e.data.size()));
      t += 33;
      if (!e.data.empty()) std::memcpy(p + offsets[i], e.data.data(), e.data.size());
    }
    store_le<std::uint32_t>(p + at, crc32(std::span<const std::byte>(p, at)));
    return out;
  }
  void save(const std::string& path) const { write_file(serialize(), path); }

  /// Parses and validates a file image (see the top of this file); throws Error.
  static Archive parse(std::span<const std::byte> file) {
    using lowbit::detail::fail;
    using lowbit::detail::load_le;
    if (file.size() < 24 + kChecksumBytes)
      fail("archive: file is truncated: ", file.size(), " bytes, smaller than the 28-byte minimum");
    const std::byte* p = file.data();
    if (std::memcmp(p, kArchiveMagic.data(), kArchiveMagic.size()) != 0)
      fail("archive: bad magic: not a lowbit archive");
    const auto version = load_le<std::uint32_t>(p + 8);
    if (version != kArchiveVersion)
      fail("archive: unsupported version ", version, " (this reader reads 1)");
    const auto count = load_le<std::uint32_t>(p + 12);
    if (count > (1u << 20)) fail("archive: entry count ", count, " exceeds 2^20");
    const auto table = load_le<std::uint64_t>(p + 16);
    const std::size_t body = file.size() - kChecksumBytes;
    if (table > body - 24) fail("archive: entry table of ", table, " bytes runs past the end");
    const auto stored_crc = load_le<std::uint32_t>(p + body);
    if (crc32(file.first(body)) != stored_crc)
      fail("archive: checksum mismatch (file is corrupted)");
    const std::size_t data_start = 24 + static_cast<std::size_t>(table);
    Archive a;
    std::size_t t = 24;
    const std::size_t t_end = data_start;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
    for (std::uint32_t i = 0; i < count; ++i) {
      if (t_end - t < 2) fail("archive: entry ", i, ": the table ends inside its name length");
      const auto len = load_le<std::uint16_t>(p + t);
      if (len < 1 || len > 1024)
        fail("archive: entry ", i, ": name length ", len, " outside 1..1024");
      if (t_end - t - 2 < static_cast<std::size_t>(len) + 33)
        fail("archive: entry ", i, ": the table ends inside the entry");
      ArchiveEntry e;
      e.name.assign(reinterpret_cast<const char*>(p + t + 2), len);
      for (char c : e.name)
        if (c < 0x21 || c > 0x7e)
          fail("archive: entry ", i, ": name has a byte outside 0x21..0x7e");
      t += 2 + len;
      const auto kind = load_le<std::uint8_t>(p + t);
      if (kind < 1 || kind > 4) fail("archive: entry '", e.name, "': unknown kind ", int{kind});
      e.kind = static_cast<EntryKind>(kind);
      e.rows = load_le<std::uint64_t>(p + t + 1);
      e.cols = load_le<std::uint64_t>(p + t + 9);
      const auto off = load_le<std::uint64_t>(p + t + 17);
      const auto size = load_le<std::uint64_t>(p + t + 25);
      t += 33;
      if (e.rows > kMaxDim || e.cols > kMaxDim)
        fail("archive: entry '", e.name, "': shape ", e.rows, " x ", e.cols, " exceeds 2^40");
      std::uint64_t want = 0;
      switch (e.kind) {
        case EntryKind::kF32:
          if (__builtin_mul_overflow(e.rows, e.cols, &want) ||
              __builtin_mul_overflow(want, std::uint64_t{4}, &want))
            fail("archive: entry '", e.name, "': size overflows");
          break;
        case EntryKind::kI32:
        case EntryKind::kText:
          if (e.rows != 1) fail("archive: entry '", e.name, "': ", e.rows, " rows, must be 1");
          want = e.kind == EntryKind::kI32 ? e.cols * 4 : e.cols;
          break;
        case EntryKind::kPacked:
          want = size;  // checked by read_header below
          break;
      }
      if (size != want)
        fail("archive: entry '", e.name, "': ", size, " bytes, its shape needs ", want);
      if (off % kArchiveAlign != 0)
        fail("archive: entry '", e.name, "': offset ", off, " is not a multiple of 64");
      if (off < data_start || off > body || size > body - off)
        fail("archive: entry '", e.name, "': data [", off, ", +", size, ") outside the data area");
      e.data.assign(p + off, p + off + size);
      if (e.kind == EntryKind::kPacked) {
        FileInfo info;
        try {
          info = read_header(e.data);
        } catch (const Error& err) {
          fail("archive: entry '", e.name, "': ", err.what());
        }
        if (info.rows != e.rows || info.cols != e.cols)
          fail("archive: entry '", e.name, "': the packed matrix is ", info.rows, " x ", info.cols,
               ", the entry says ", e.rows, " x ", e.cols);
      }
      if (size > 0) spans.emplace_back(off, off + size);
      if (a.index_.count(e.name) != 0) fail("archive: duplicate entry '", e.name, "'");
      a.index_[e.name] = a.entries_.size();
      a.entries_.push_back(std::move(e));
    }
    if (t != t_end) fail("archive: ", t_end - t, " unused bytes at the end of the entry table");
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i)
      if (spans[i].first < spans[i - 1].second) fail("archive: two entries' data overlap");
    return a;
  }
  static Archive load(const std::string& path) { return parse(read_file(path)); }

 private:
  static std::size_t align(std::size_t n) {
    return (n + kArchiveAlign - 1) / kArchiveAlign * kArchiveAlign;
  }
  static ArchiveEntry start(const std::string& name, EntryKind kind, Index rows, Index cols) {
    if (name.empty() || name.size() > 1024)
      lowbit::detail::fail("archive: name '", name, "' must have 1..1024 characters");
    for (char c : name)
      if (c < 0x21 || c > 0x7e)
        lowbit::detail::fail("archive: name '", name, "' has a character outside 0x21..0x7e");
    ArchiveEntry e;
    e.name = name;
    e.kind = kind;
    e.rows = static_cast<std::uint64_t>(rows);
    e.cols = static_cast<std::uint64_t>(cols);
    return e;
  }
  void push(ArchiveEntry e) {
    if (index_.count(e.name) != 0) lowbit::detail::fail("archive: duplicate entry '", e.name, "'");
    if (entries_.size() >= (1u << 20)) lowbit::detail::fail("archive: more than 2^20 entries");
    index_[e.name] = entries_.size();
    entries_.push_back(std::move(e));
  }

  std::vector<ArchiveEntry> entries_;
  std::map<std::string, std::size_t> index_;
};

}  // namespace lowbit::io
