// SPDX-License-Identifier: Apache-2.0
// lowbit/io/file.hpp: whole-file reads and writes, the one place io/ touches the file system.
//
// Every reader in io/ (lowbit's matrix format, archives, GGUF, safetensors, llama2.c, the
// tokenizer) parses bytes in memory; this header brings them in. What it refuses, with an Error
// that names the path: a path that does not exist, a directory (std::ifstream opens one on Linux
// and reports its size as 2^63 - 1, so a naive reader asks for that many bytes), and any read or
// write error. Non-regular files (pipes, /dev/stdin) are read to their end.
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "lowbit/core/error.hpp"

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

}  // namespace lowbit::io
