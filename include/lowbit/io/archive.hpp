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
//                    1  kind (1 f32 array, 2 int32 array, 3 packed matrix, 4 text,
//                       5 bf16 array, 6 f16 array)
//                    8  rows, 8 cols  (shape; int32 arrays and text: 1 × count)
//                    8  offset of the data (from the start of the file, a multiple of 64)
//                    8  size of the data in bytes
//   ...            data, each entry's at its offset; gaps are zero bytes
//   end-4   4      CRC-32 (IEEE, as in format.hpp) of every byte before it
//
// Sizes by kind: f32 rows·cols·4, bf16 and f16 rows·cols·2 (a tensor kept in the dtype it came
// in), int32 cols·4, text cols (UTF-8), packed matrix: a whole
// packed-matrix file image (format.hpp: its own header, parameters, codes and CRC), whose
// rows × cols must equal the entry's shape. A reader checks everything before using it: magic,
// version, counts, the table inside the file, every name, kind, shape/size relation (overflow
// checked), every offset aligned, inside the data area and not overlapping another entry, the
// checksum; packed images are validated again, fully, when they are decoded. Any failure throws
// lowbit::Error naming the entry and the field. Entries are kept in file order.
//
// # Streaming
// Archive holds every entry in memory. ArchiveWriter writes the same bytes entry by entry,
// holding only the table. The table comes first in the file; given the entries' names up front
// its size is known (35 + name bytes each), so the data go to their final offsets as they come
// and finish() fills the table in front, the checksum combined from the table's and the data's
// (crc32_combine); otherwise the data are copied behind the table at the end. A model
// larger than memory is quantized through it one tensor at a time; a file written by
// ArchiveWriter is byte for byte Archive::serialize() of the same entries in the same order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/io/format.hpp"
#include "lowbit/io/serialize.hpp"

namespace lowbit::io {

inline constexpr std::array<char, 8> kArchiveMagic = {'L', 'O', 'W', 'B', 'I', 'T', 'A', 'R'};
inline constexpr std::uint32_t kArchiveVersion = 1;
inline constexpr std::size_t kArchiveAlign = 64;

enum class EntryKind : std::uint8_t {
  kF32 = 1,
  kI32 = 2,
  kPacked = 3,
  kText = 4,
  kBf16 = 5,
  kF16 = 6
};

/// One named tensor of an archive; `data` holds its bytes exactly as stored.
struct ArchiveEntry {
  std::string name;
  EntryKind kind = EntryKind::kF32;
  std::uint64_t rows = 0, cols = 0;
  std::vector<std::byte> data;
};

namespace detail {

inline std::size_t archive_align(std::size_t n) {
  return (n + kArchiveAlign - 1) / kArchiveAlign * kArchiveAlign;
}

/// The bytes an entry of `kind` and shape must hold (size for a packed image, which carries its
/// own shape); throws Error naming the entry when the shape is impossible.
inline std::uint64_t archive_entry_bytes(const std::string& name, EntryKind kind,
                                         std::uint64_t rows, std::uint64_t cols,
                                         std::uint64_t size) {
  using lowbit::detail::fail;
  if (rows > kMaxDim || cols > kMaxDim)
    fail("archive: entry '", name, "': shape ", rows, " x ", cols, " exceeds 2^40");
  std::uint64_t want = 0;
  switch (kind) {
    case EntryKind::kF32:
    case EntryKind::kBf16:
    case EntryKind::kF16:
      if (__builtin_mul_overflow(rows, cols, &want) ||
          __builtin_mul_overflow(want, std::uint64_t{kind == EntryKind::kF32 ? 4u : 2u}, &want))
        fail("archive: entry '", name, "': size overflows");
      return want;
    case EntryKind::kI32:
    case EntryKind::kText:
      if (rows != 1) fail("archive: entry '", name, "': ", rows, " rows, must be 1");
      return kind == EntryKind::kI32 ? cols * 4 : cols;
    case EntryKind::kPacked:
      return size;  // the image's own header is checked by read_header
  }
  fail("archive: entry '", name, "': unknown kind ", int(kind));
}

/// The stored bytes of an f32 entry (little-endian, row-major) and of an int32 entry.
inline std::vector<std::byte> archive_f32_bytes(MatrixView<const float> m) {
  std::vector<std::byte> bytes(static_cast<std::size_t>(m.rows() * m.cols()) * 4);
  for (Index r = 0; r < m.rows(); ++r)
    for (Index c = 0; c < m.cols(); ++c)
      lowbit::detail::store_le<float>(bytes.data() + 4 * static_cast<std::size_t>(r * m.cols() + c),
                                      m(r, c));
  return bytes;
}
inline std::vector<std::byte> archive_i32_bytes(std::span<const std::int32_t> v) {
  std::vector<std::byte> bytes(v.size() * 4);
  for (std::size_t i = 0; i < v.size(); ++i)
    lowbit::detail::store_le<std::int32_t>(bytes.data() + 4 * i, v[i]);
  return bytes;
}

/// Checks a name for the table: 1..1024 bytes of printable ASCII without spaces.
inline void check_archive_name(const std::string& name) {
  if (name.empty() || name.size() > 1024)
    lowbit::detail::fail("archive: name '", name, "' must have 1..1024 characters");
  for (char c : name)
    if (c < 0x21 || c > 0x7e)
      lowbit::detail::fail("archive: name '", name, "' has a character outside 0x21..0x7e");
}

/// The file's first bytes: header, entry table and the zero padding up to the first entry's data.
/// `entries` give name, kind, shape and data size; their data follow, each aligned to 64.
inline std::vector<std::byte> archive_head(const std::vector<ArchiveEntry>& entries,
                                           const std::vector<std::uint64_t>& sizes) {
  using lowbit::detail::store_le;
  std::size_t table = 0;
  for (const auto& e : entries) table += 2 + e.name.size() + 1 + 32;
  const std::size_t data_start = archive_align(24 + table);
  std::vector<std::byte> out(data_start);
  std::byte* p = out.data();
  std::memcpy(p, kArchiveMagic.data(), kArchiveMagic.size());
  store_le<std::uint32_t>(p + 8, kArchiveVersion);
  store_le<std::uint32_t>(p + 12, static_cast<std::uint32_t>(entries.size()));
  store_le<std::uint64_t>(p + 16, static_cast<std::uint64_t>(table));
  std::byte* t = p + 24;
  std::size_t at = data_start;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const ArchiveEntry& e = entries[i];
    store_le<std::uint16_t>(t, static_cast<std::uint16_t>(e.name.size()));
    std::memcpy(t + 2, e.name.data(), e.name.size());
    t += 2 + e.name.size();
    store_le<std::uint8_t>(t, static_cast<std::uint8_t>(e.kind));
    store_le<std::uint64_t>(t + 1, e.rows);
    store_le<std::uint64_t>(t + 9, e.cols);
    store_le<std::uint64_t>(t + 17, static_cast<std::uint64_t>(at));
    store_le<std::uint64_t>(t + 25, sizes[i]);
    t += 33;
    at = archive_align(at + static_cast<std::size_t>(sizes[i]));
  }
  return out;
}

}  // namespace detail

/// A set of named tensors, written and read as one lowbit archive file (see the top of this file).
class Archive {
 public:
  void add_f32(const std::string& name, MatrixView<const float> m) {
    ArchiveEntry e = start(name, EntryKind::kF32, m.rows(), m.cols());
    e.data = detail::archive_f32_bytes(m);
    push(std::move(e));
  }
  void add_f32(const std::string& name, std::span<const float> v) {
    add_f32(name, MatrixView<const float>(v.data(), 1, static_cast<Index>(v.size())));
  }
  void add_i32(const std::string& name, std::span<const std::int32_t> v) {
    ArchiveEntry e = start(name, EntryKind::kI32, 1, static_cast<Index>(v.size()));
    e.data = detail::archive_i32_bytes(v);
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
  /// An entry of any kind from its stored bytes (little-endian values; a packed image), checked
  /// against its kind and shape: how a tensor kept as bf16 or f16 goes in, and how entries are
  /// copied between archives.
  void add_raw(const std::string& name, EntryKind kind, std::uint64_t rows, std::uint64_t cols,
               std::span<const std::byte> bytes) {
    ArchiveEntry e = start(name, kind, 0, 0);
    e.rows = rows;
    e.cols = cols;
    check_raw(e, bytes);
    e.data.assign(bytes.begin(), bytes.end());
    push(std::move(e));
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
  /// The values of a float entry (f32, or bf16/f16 converted exactly).
  std::vector<float> f32(const std::string& name) const {
    const ArchiveEntry* e = find(name);
    if (e != nullptr && (e->kind == EntryKind::kBf16 || e->kind == EntryKind::kF16)) {
      std::vector<float> out(e->data.size() / 2);
      for (std::size_t i = 0; i < out.size(); ++i) {
        const auto h = lowbit::detail::load_le<std::uint16_t>(e->data.data() + 2 * i);
        out[i] = e->kind == EntryKind::kBf16 ? bf16::from_bits(h).to_float()
                                             : f16::from_bits(h).to_float();
      }
      return out;
    }
    const ArchiveEntry& f = get(name, EntryKind::kF32);
    std::vector<float> out(f.data.size() / 4);
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = lowbit::detail::load_le<float>(f.data.data() + 4 * i);
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
    std::vector<std::uint64_t> sizes;
    for (const auto& e : entries_) sizes.push_back(e.data.size());
    std::vector<std::byte> out = detail::archive_head(entries_, sizes);
    for (const auto& e : entries_) {
      out.insert(out.end(), e.data.begin(), e.data.end());
      out.resize(detail::archive_align(out.size()));
    }
    const std::uint32_t crc = crc32(out);
    out.resize(out.size() + kChecksumBytes);
    lowbit::detail::store_le<std::uint32_t>(out.data() + out.size() - kChecksumBytes, crc);
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
      if (kind < 1 || kind > 6) fail("archive: entry '", e.name, "': unknown kind ", int{kind});
      e.kind = static_cast<EntryKind>(kind);
      e.rows = load_le<std::uint64_t>(p + t + 1);
      e.cols = load_le<std::uint64_t>(p + t + 9);
      const auto off = load_le<std::uint64_t>(p + t + 17);
      const auto size = load_le<std::uint64_t>(p + t + 25);
      t += 33;
      const std::uint64_t want = detail::archive_entry_bytes(e.name, e.kind, e.rows, e.cols, size);
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
  static ArchiveEntry start(const std::string& name, EntryKind kind, Index rows, Index cols) {
    detail::check_archive_name(name);
    ArchiveEntry e;
    e.name = name;
    e.kind = kind;
    e.rows = static_cast<std::uint64_t>(rows);
    e.cols = static_cast<std::uint64_t>(cols);
    return e;
  }
  /// Checks bytes against e's kind and shape (a packed image's own header included).
  static void check_raw(const ArchiveEntry& e, std::span<const std::byte> bytes) {
    const std::uint64_t want =
        detail::archive_entry_bytes(e.name, e.kind, e.rows, e.cols, bytes.size());
    if (bytes.size() != want)
      lowbit::detail::fail("archive: entry '", e.name, "': ", bytes.size(),
                           " bytes, its shape needs ", want);
    if (e.kind == EntryKind::kPacked) {
      const FileInfo info = read_header(bytes);
      if (info.rows != e.rows || info.cols != e.cols)
        lowbit::detail::fail("archive: entry '", e.name, "': the packed matrix is ", info.rows,
                             " x ", info.cols, ", the entry says ", e.rows, " x ", e.cols);
    }
  }
  void push(ArchiveEntry e) {
    if (index_.count(e.name) != 0) lowbit::detail::fail("archive: duplicate entry '", e.name, "'");
    if (entries_.size() >= (1u << 20)) lowbit::detail::fail("archive: more than 2^20 entries");
    index_[e.name] = entries_.size();
    entries_.push_back(std::move(e));
  }

  friend class ArchiveWriter;
  std::vector<ArchiveEntry> entries_;
  std::map<std::string, std::size_t> index_;
};

/// Writes an archive entry by entry with only its table in memory (see "Streaming" above). Given
/// the names of the entries to come, the table's size is known (35 + name bytes per entry), so
/// the data go straight to their final offsets in `path` + ".tmp" and finish() writes the header
/// and table in front, combines the checksums and renames the file to `path`: every byte written
/// once, the output's size on disk once. Without the names (or if the entries written need
/// another table size) the data are copied once more behind the table at finish(). A writer
/// destroyed before finish() removes its temporary and leaves no output file.
class ArchiveWriter {
 public:
  explicit ArchiveWriter(std::string path, std::span<const std::string> names = {})
      : path_(std::move(path)), tmp_path_(path_ + ".tmp") {
    if (std::filesystem::is_directory(path_))
      lowbit::detail::fail("archive: '", path_, "' is a directory, not a file to write");
    std::size_t table = 0;
    for (const auto& n : names) table += 35 + n.size();
    data_start_ = names.empty() ? 0 : detail::archive_align(24 + table);
    tmp_.reset(std::fopen(tmp_path_.c_str(), "wb+"));
    if (!tmp_) lowbit::detail::fail("archive: cannot open '", tmp_path_, "' for writing");
    if (data_start_ > 0 && std::fseek(tmp_.get(), static_cast<long>(data_start_), SEEK_SET) != 0)
      lowbit::detail::fail("archive: cannot seek in '", tmp_path_, "'");
  }
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;
  ~ArchiveWriter() {
    if (tmp_) {
      tmp_.reset();
      std::remove(tmp_path_.c_str());
    }
  }

  void add_f32(const std::string& name, MatrixView<const float> m) {
    add_raw(name, EntryKind::kF32, static_cast<std::uint64_t>(m.rows()),
            static_cast<std::uint64_t>(m.cols()), detail::archive_f32_bytes(m));
  }
  void add_f32(const std::string& name, std::span<const float> v) {
    add_f32(name, MatrixView<const float>(v.data(), 1, static_cast<Index>(v.size())));
  }
  void add_i32(const std::string& name, std::span<const std::int32_t> v) {
    add_raw(name, EntryKind::kI32, 1, v.size(), detail::archive_i32_bytes(v));
  }
  void add_text(const std::string& name, std::string_view text) {
    add_raw(name, EntryKind::kText, 1, text.size(),
            std::as_bytes(std::span<const char>(text.data(), text.size())));
  }
  /// A packed-matrix file image (validated once, checksum included).
  void add_packed(const std::string& name, std::span<const std::byte> image) {
    const FileInfo info = read_header(image);
    ArchiveEntry e = Archive::start(name, EntryKind::kPacked, 0, 0);
    e.rows = info.rows;
    e.cols = info.cols;
    // read_header checked the image's own checksum, so the image's CRC is the residue of a
    // message followed by its CRC: no second pass over its bytes.
    append(std::move(e), image, kCrc32Residue);
  }
  /// An entry from its stored bytes, checked as Archive::add_raw checks it.
  void add_raw(const std::string& name, EntryKind kind, std::uint64_t rows, std::uint64_t cols,
               std::span<const std::byte> bytes) {
    ArchiveEntry e = Archive::start(name, kind, 0, 0);
    e.rows = rows;
    e.cols = cols;
    Archive::check_raw(e, bytes);
    append(std::move(e), bytes);
  }
  /// Entries written so far.
  std::size_t size() const noexcept { return entries_.size(); }

  /// Writes the file: header, table, the data, the checksum. Returns its size in bytes.
  std::uint64_t finish() {
    if (!tmp_) lowbit::detail::fail("archive: '", path_, "' is already finished");
    return finish_file();
  }

 private:
  /// `bytes_crc`: crc32(bytes) when the caller knows it, else computed here.
  void append(ArchiveEntry e, std::span<const std::byte> bytes,
              std::optional<std::uint32_t> bytes_crc = std::nullopt) {
    if (!tmp_) lowbit::detail::fail("archive: '", path_, "' is already finished");
    const std::string& name = e.name;
    if (names_.count(name) != 0) lowbit::detail::fail("archive: duplicate entry '", name, "'");
    if (entries_.size() >= (1u << 20)) lowbit::detail::fail("archive: more than 2^20 entries");
    names_[name] = entries_.size();
    entries_.push_back(std::move(e));  // the table keeps name, kind and shape; data go to disk
    sizes_.push_back(bytes.size());
    static constexpr std::byte kZeros[kArchiveAlign] = {};
    const std::span<const std::byte> pad(kZeros,
                                         detail::archive_align(bytes.size()) - bytes.size());
    write(tmp_.get(), bytes, tmp_path_);
    write(tmp_.get(), pad, tmp_path_);
    data_crc_ =
        bytes_crc ? crc32_combine(data_crc_, *bytes_crc, bytes.size()) : crc32(bytes, data_crc_);
    data_crc_ = crc32(pad, data_crc_);
    data_bytes_ += bytes.size() + pad.size();
  }
  std::uint64_t finish_file() {
    const std::vector<std::byte> head = detail::archive_head(entries_, sizes_);
    const std::uint32_t crc = crc32_combine(crc32(head), data_crc_, data_bytes_);
    std::byte tail[kChecksumBytes];
    lowbit::detail::store_le<std::uint32_t>(tail, crc);
    write(tmp_.get(), tail, tmp_path_);
    if (head.size() == data_start_) {  // the table fits the space left for it
      if (std::fseek(tmp_.get(), 0, SEEK_SET) != 0)
        lowbit::detail::fail("archive: cannot seek in '", tmp_path_, "'");
      write(tmp_.get(), head, tmp_path_);
      if (std::fclose(tmp_.release()) != 0) {
        std::remove(tmp_path_.c_str());
        lowbit::detail::fail("archive: cannot close '", tmp_path_, "'");
      }
      std::error_code ec;
      std::filesystem::rename(tmp_path_, path_, ec);
      if (ec) {
        std::remove(tmp_path_.c_str());
        lowbit::detail::fail("archive: cannot rename '", tmp_path_, "' to '", path_, "'");
      }
      return head.size() + data_bytes_ + kChecksumBytes;
    }
    // Another table size: the data and checksum copied behind the table.
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(path_.c_str(), "wb"),
                                                        &std::fclose);
    if (!out) lowbit::detail::fail("archive: cannot open '", path_, "' for writing");
    write(out.get(), head, path_);
    if (std::fflush(tmp_.get()) != 0 ||
        std::fseek(tmp_.get(), static_cast<long>(data_start_), SEEK_SET) != 0)
      lowbit::detail::fail("archive: cannot read back '", tmp_path_, "'");
    std::vector<std::byte> buf(std::size_t{1} << 20);
    std::uint64_t copied = 0;
    for (std::size_t got; (got = std::fread(buf.data(), 1, buf.size(), tmp_.get())) > 0;) {
      write(out.get(), std::span<const std::byte>(buf.data(), got), path_);
      copied += got;
    }
    if (std::ferror(tmp_.get()) || copied != data_bytes_ + kChecksumBytes)
      lowbit::detail::fail("archive: read error on '", tmp_path_, "'");
    if (std::fclose(out.release()) != 0)
      lowbit::detail::fail("archive: cannot close '", path_, "'");
    tmp_.reset();
    std::remove(tmp_path_.c_str());
    return head.size() + copied;
  }

  static void write(std::FILE* f, std::span<const std::byte> bytes, const std::string& path) {
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
      lowbit::detail::fail("archive: short write to '", path, "'");
  }

  std::string path_, tmp_path_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> tmp_{nullptr, &std::fclose};
  std::uint64_t data_start_ = 0;  // where the data begin in the temporary (the table's space)
  std::uint64_t data_bytes_ = 0;  // data written, padding included
  std::uint32_t data_crc_ = 0;    // their CRC-32
  std::vector<ArchiveEntry> entries_;
  std::vector<std::uint64_t> sizes_;
  std::map<std::string, std::size_t> names_;
};

}  // namespace lowbit::io
