// SPDX-License-Identifier: Apache-2.0
// tests/support/rng.hpp: seeded generators for test data (fixed seeds: results are repeatable).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace lowbit::test {

/// n samples of N(0, 1).
inline std::vector<float> gaussian(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

/// n samples of Student-t with 4 degrees of freedom, scaled to unit variance (var = 2).
inline std::vector<float> student_t4(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::student_t_distribution<float> d(4.0f);
  std::vector<float> v(n);
  const float s = 1.0f / std::sqrt(2.0f);
  for (auto& x : v) x = d(rng) * s;
  return v;
}

/// n samples uniform in [lo, hi).
inline std::vector<float> uniform(std::size_t n, float lo, float hi, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

/// Gaussian with a fraction of outliers multiplied by `factor`.
inline std::vector<float> with_outliers(std::size_t n, double fraction, float factor,
                                        std::uint64_t seed) {
  std::vector<float> v = gaussian(n, seed);
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ull);
  std::bernoulli_distribution pick(fraction);
  for (auto& x : v) {
    if (pick(rng)) x *= factor;
  }
  return v;
}

}  // namespace lowbit::test
