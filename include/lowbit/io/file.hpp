// SPDX-License-Identifier: Apache-2.0
// lowbit/io/file.hpp: whole-file reads and writes, and read-only memory maps: the one place io/
// touches the file system.
//
// Every reader in io/ (lowbit's matrix format, archives, GGUF, safetensors, llama2.c, the
// tokenizer) parses bytes in memory; this header brings them in. What it refuses, with an Error
// that names the path: a path that does not exist, a directory (std::ifstream opens one on Linux
// and reports its size as 2^63 - 1, so a naive reader asks for that many bytes), and any read or
// write error. Non-regular files (pipes, /dev/stdin) are read to their end.
//
// # Mapped files: models larger than memory
// read_file holds a whole file in memory. MappedFile maps it instead (POSIX mmap, read-only): the
// pages are read when first touched and are the page cache's, so a tool that walks a 16 GB model
// tensor by tensor holds only what it is working on. release(bytes) tells the kernel a range is
// done with (madvise MADV_DONTNEED), so even the mapped pages leave the process's resident set;
// touching them again reads them back. Where mmap is unavailable (non-POSIX, or a pipe) the file
// is read with read_file and release does nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "lowbit/core/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define LOWBIT_HAS_MMAP 1
#else
#define LOWBIT_HAS_MMAP 0
#endif

namespace lowbit::io {

/// The bytes of the file at `path`. Throws Error if it does not exist, is a directory or cannot
/// be read.
inline std::vector<std::byte> read_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) lowbit::detail::fail("io: cannot open '", path, "': no such file");
  if (fs::is_directory(st)) lowbit::detail::fail("io: '", path, "' is a directory, not a file");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) lowbit::detail::fail("io: cannot open '", path, "'");
  std::vector<std::byte> bytes;
  if (fs::is_regular_file(st)) {
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec) lowbit::detail::fail("io: cannot size '", path, "'");
    bytes.resize(static_cast<std::size_t>(size));
    if (std::fread(bytes.data(), 1, bytes.size(), f.get()) != bytes.size())
      lowbit::detail::fail("io: '", path, "' ended before its ", size,
                           " bytes (changed while read?)");
    return bytes;
  }
  std::byte buf[1 << 16];
  std::size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof(buf), f.get())) > 0)
    bytes.insert(bytes.end(), buf, buf + got);
  if (std::ferror(f.get())) lowbit::detail::fail("io: read error on '", path, "'");
  return bytes;
}

/// Writes `bytes` to `path` (replacing it). Throws Error if the file cannot be written.
inline void write_file(std::span<const std::byte> bytes, const std::string& path) {
  if (std::filesystem::is_directory(path))
    lowbit::detail::fail("io: '", path, "' is a directory, not a file to write");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) lowbit::detail::fail("io: cannot open '", path, "' for writing");
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size())
    lowbit::detail::fail("io: short write to '", path, "'");
  if (std::fclose(f.release()) != 0) lowbit::detail::fail("io: cannot close '", path, "'");
}

/// A whole file, read-only, memory-mapped (see the top of this file). Movable, not copyable.
class MappedFile {
 public:
  MappedFile() = default;
  /// Maps the file at `path`; the same refusals as read_file.
  explicit MappedFile(const std::string& path) : path_(path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) lowbit::detail::fail("io: cannot open '", path, "': no such file");
    if (fs::is_directory(st)) lowbit::detail::fail("io: '", path, "' is a directory, not a file");
#if LOWBIT_HAS_MMAP
    if (fs::is_regular_file(st)) {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) lowbit::detail::fail("io: cannot open '", path, "'");
      struct stat sb {};
      if (::fstat(fd, &sb) != 0) {
        ::close(fd);
        lowbit::detail::fail("io: cannot size '", path, "'");
      }
      size_ = static_cast<std::size_t>(sb.st_size);
      if (size_ > 0) {
        void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
          ::close(fd);
          lowbit::detail::fail("io: cannot map '", path, "' (", size_, " bytes)");
        }
        map_ = m;
      }
      ::close(fd);  // the mapping keeps the file
      return;
    }
#endif
    owned_ = read_file(path);
    size_ = owned_.size();
  }
  MappedFile(MappedFile&& o) noexcept { swap(o); }
  MappedFile& operator=(MappedFile&& o) noexcept {
    MappedFile t(std::move(o));
    swap(t);
    return *this;
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
#if LOWBIT_HAS_MMAP
    if (map_ != nullptr) ::munmap(map_, size_);
#endif
  }

  std::span<const std::byte> bytes() const noexcept {
    if (map_ != nullptr) return {static_cast<const std::byte*>(map_), size_};
    return {owned_.data(), owned_.size()};
  }
  std::size_t size() const noexcept { return size_; }
  const std::string& path() const noexcept { return path_; }

  /// Drops the whole pages inside `part` (a subspan of bytes()) from the resident set; their
  /// contents stay readable. A no-op for a file that was read rather than mapped.
  void release(std::span<const std::byte> part) const noexcept {
#if LOWBIT_HAS_MMAP
    if (map_ == nullptr || part.empty()) return;
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto lo = reinterpret_cast<std::uintptr_t>(part.data());
    const auto hi = lo + part.size();
    const std::uintptr_t a = (lo + page - 1) / page * page, b = hi / page * page;
    if (b > a) ::madvise(reinterpret_cast<void*>(a), b - a, MADV_DONTNEED);
#else
    (void)part;
#endif
  }

 private:
  void swap(MappedFile& o) noexcept {
    std::swap(path_, o.path_);
    std::swap(map_, o.map_);
    std::swap(size_, o.size_);
    std::swap(owned_, o.owned_);
  }

  std::string path_;
  void* map_ = nullptr;
  std::size_t size_ = 0;
  std::vector<std::byte> owned_;
};

}  // namespace lowbit::io
