// SPDX-License-Identifier: Apache-2.0
// tests/support/metrics.hpp: distortion metrics (gemma.cpp distortion.h idea).
#pragma once

#include <cmath>
#include <cstddef>
#include <span>

namespace lowbit::test {

inline double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    m = std::fmax(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

/// Σ(a - b)² / Σb²: the error of a relative to the reference b.
inline double nmse(std::span<const float> a, std::span<const float> b) {
  double e = 0.0, s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    e += d * d;
    s += static_cast<double>(b[i]) * b[i];
  }
  return s > 0.0 ? e / s : e;
}

/// Mean squared error Σ(a - b)² / n.
inline double mse(std::span<const float> a, std::span<const float> b) {
  double e = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    e += d * d;
  }
  return a.empty() ? 0.0 : e / static_cast<double>(a.size());
}

inline double snr_db(std::span<const float> a, std::span<const float> b) {
  return -10.0 * std::log10(nmse(a, b));
}

/// ||a - b|| / ||b||.
inline double rel_l2(std::span<const float> a, std::span<const float> b) {
  return std::sqrt(nmse(a, b));
}

}  // namespace lowbit::test
