// SPDX-License-Identifier: Apache-2.0
// lowbit/core/error.hpp: lowbit::Error, the one exception type for bad runtime input.
//
// Misuse of types is a static_assert; anything a caller or a file can supply that lowbit cannot
// honour throws Error with a message that names the offending value.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace lowbit {

/// Thrown for bad runtime input: wrong shapes, non-finite values, malformed files.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {

/// Concatenates any streamable values into one string (no <format> in libstdc++ 12).
template <class... Parts>
std::string str(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}

/// Throws Error with the concatenated message; kept out of line of hot loops by [[noreturn]].
template <class... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  throw Error(str(std::forward<Parts>(parts)...));
}

}  // namespace detail

/// Throws lowbit::Error whose message is the parts written one after another (operator<<), the
/// one way lowbit, its tools and the code around them report a bad input, e.g.
/// `fail("tensor '", name, "' has ", rows, " rows, expected ", want)`.
using detail::fail;

}  // namespace lowbit
