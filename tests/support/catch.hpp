// SPDX-License-Identifier: Apache-2.0
// tests/support/catch.hpp: the only Catch2 include; works with Catch2 v2 (Debian 12) and v3.
#pragma once

#ifndef LOWBIT_CATCH2_MAJOR  // normally set by CMake from Catch2_VERSION_MAJOR
#if __has_include(<catch2/catch_test_macros.hpp>)
#define LOWBIT_CATCH2_MAJOR 3
#else
#define LOWBIT_CATCH2_MAJOR 2
#endif
#endif
#if LOWBIT_CATCH2_MAJOR >= 3
#include <catch2/catch_template_test_macros.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#else
#include <catch2/catch.hpp>
#endif

/// A matcher for an exception message containing s (v3 renamed Contains to ContainsSubstring).
#if LOWBIT_CATCH2_MAJOR >= 3
#define LOWBIT_CONTAINS(s) Catch::Matchers::ContainsSubstring(s)
#else
#define LOWBIT_CONTAINS(s) Catch::Matchers::Contains(s)
#endif
