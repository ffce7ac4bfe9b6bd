// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/common.hpp: rounding, range statistics and least-squares helpers shared by schemes.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

#include "lowbit/config.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/types.hpp"

namespace lowbit::detail {

/// clamp(t, lo, hi) then round half to even. The clamp comes first so that the float-to-int
/// conversion is always defined; NaN compares false both times and lands on `lo`.
LOWBIT_INLINE int round_clamp(float t, float lo, float hi) noexcept {
  t = t >= lo ? t : lo;
  t = t <= hi ? t : hi;
  return static_cast<int>(std::nearbyint(t));
}

/// Min, max and first signed value of largest magnitude over x (x must be finite; an empty x
/// gives all zeros). Min and max use eight independent lanes so the loop vectorises without
/// -ffast-math; the signed extreme is then min or max, and only when |min| == |max| (both signs
/// present) does a second scan decide which comes first.
inline RangeStats range_stats(std::span<const float> x) noexcept {
  RangeStats st;
  const std::size_t n = x.size();
  if (n == 0) return st;
  const float* v = x.data();  // raw pointer: GCC 12 misreads span indexing in the tie scan below
  constexpr std::size_t kLanes = 8;
  float lo[kLanes], hi[kLanes];
  for (std::size_t j = 0; j < kLanes; ++j) lo[j] = hi[j] = v[0];
  const std::size_t n_main = n - n % kLanes;
  for (std::size_t i = 0; i < n_main; i += kLanes) {
    for (std::size_t j = 0; j < kLanes; ++j) {
      const float e = v[i + j];
      lo[j] = e < lo[j] ? e : lo[j];
      hi[j] = e > hi[j] ? e : hi[j];
    }
  }
  float mn = lo[0], mx = hi[0];
  for (std::size_t j = 1; j < kLanes; ++j) {
    mn = lo[j] < mn ? lo[j] : mn;
    mx = hi[j] > mx ? hi[j] : mx;
  }
  for (std::size_t i = n_main; i < n; ++i) {
    mn = v[i] < mn ? v[i] : mn;
    mx = v[i] > mx ? v[i] : mx;
  }
  st.min = mn;
  st.max = mx;
  if (-mn > mx) {
    st.signed_absmax = mn;
  } else if (mx > -mn) {
    st.signed_absmax = mx;
  } else {  // |min| == |max|: the first element of that magnitude wins, as in ggml
    st.signed_absmax = mx;
    for (std::size_t k = 0; k < n; ++k) {
      if (v[k] == mn || v[k] == mx) {
        st.signed_absmax = v[k];
        break;
      }
    }
  }
  return st;
}

/// Weighted sums for fitting x ≈ a·q + b over codes q (w empty = all weights 1).
struct LsSums {
  double sw = 0, sq = 0, sqq = 0, sx = 0, sqx = 0;
};
template <class Code>
inline LsSums ls_sums(std::span<const float> x, std::span<const float> w, std::span<const Code> q,
                      int offset) noexcept {
  LsSums s;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double wi = w.empty() ? 1.0 : static_cast<double>(w[i]);
    const double qi = static_cast<double>(static_cast<int>(q[i]) - offset);
    const double xi = static_cast<double>(x[i]);
    s.sw += wi;
    s.sq += wi * qi;
    s.sqq += wi * qi * qi;
    s.sx += wi * xi;
    s.sqx += wi * qi * xi;
  }
  return s;
}

}  // namespace lowbit::detail
