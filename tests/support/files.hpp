// SPDX-License-Identifier: Apache-2.0
// tests/support/files.hpp: hostile-file helpers for the readers' tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/core/bits.hpp"
#include "lowbit/io/format.hpp"

namespace lowbit::test {

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
