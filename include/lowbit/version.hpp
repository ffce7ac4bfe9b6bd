// SPDX-License-Identifier: Apache-2.0
// lowbit/version.hpp: the library version; CMakeLists.txt reads it from here.
#pragma once

#define LOWBIT_VERSION_MAJOR 0
#define LOWBIT_VERSION_MINOR 1
#define LOWBIT_VERSION_PATCH 0

namespace lowbit {
inline constexpr int kVersionMajor = LOWBIT_VERSION_MAJOR;
inline constexpr int kVersionMinor = LOWBIT_VERSION_MINOR;
inline constexpr int kVersionPatch = LOWBIT_VERSION_PATCH;
}  // namespace lowbit
