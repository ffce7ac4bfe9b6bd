// SPDX-License-Identifier: Apache-2.0
// tests/support/files.hpp: file helpers for the readers' tests (whole files, hostile patches).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "lowbit/core/bits.hpp"
#include "lowbit/io/format.hpp"

namespace lowbit::test {

/// The whole file at path (throws std::runtime_error if it cannot be opened).
inline std::vector<std::byte> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f.good()) throw std::runtime_error("cannot open " + path);
  std::vector<char> c((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  std::memcpy(out.data(), c.data(), c.size());
  return out;
}

/// Little-endian float32 bytes as floats (a trailing partial value is dropped).
inline std::vector<float> as_floats(const std::vector<std::byte>& b) {
  std::vector<float> out(b.size() / 4);
  std::memcpy(out.data(), b.data(), out.size() * 4);
  return out;
}

/// b with the little-endian value v written at byte `at` and the trailing CRC-32 recomputed
/// (lowbit's packed-matrix files and archives both end in one), so only a reader's structural
/// checks can catch the change.
template <class T>
std::vector<std::byte> patched(std::vector<std::byte> b, std::size_t at, T v) {
  lowbit::detail::store_le<T>(b.data() + at, v);
  const std::size_t body = b.size() - 4;
  lowbit::detail::store_le<std::uint32_t>(b.data() + body,
                                          io::crc32(std::span<const std::byte>(b.data(), body)));
  return b;
}

}  // namespace lowbit::test
