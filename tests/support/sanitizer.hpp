// SPDX-License-Identifier: Apache-2.0
// tests/support/sanitizer.hpp: whether this test binary runs under AddressSanitizer.
#pragma once

namespace lowbit::test {
/// True in a build under AddressSanitizer (the sanitize preset), where code runs about ten times
/// slower: the slowest model tests then calibrate on fewer documents; what they check is the same.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif
}  // namespace lowbit::test
