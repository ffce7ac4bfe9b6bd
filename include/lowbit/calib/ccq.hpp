// SPDX-License-Identifier: Apache-2.0
// lowbit/calib/ccq.hpp: encoders for the CCQ formats (quant/ccq.hpp). CCQ's own encoder is not
// public; this one follows the format's structure.
//
// # WINT2 (ccq_wint2_quantize), row by row
// A row's (code scale, code zero point) pick its codebook: the 256 four-weight codewords
// (v_0..v_3)(b) of the words of bytes b = 0..255. For a candidate codebook:
//   1. group scales a_g (64 inputs) start at rms(x_g)/rms(codebook) and alternate `iters` times
//      between the nearest codeword of every 4 weights (exhaustive over the 256: the byte
//      minimising Σ_i (x_i - a_g·v_i(b))²) and the least-squares a_g = Σ x·v / Σ v²;
//   2. the scales are quantized to fl(local·super): super (bf16) = max_g a_g / 15 · f for
//      f ∈ {1, 0.96, 0.92, 0.88} (larger a_g clamp to local 15), local_g = round(a_g / super) in
//      0..15, each local also tried ±1; every choice is scored by re-encoding its group;
//   3. the error of the row is that of the final codes and stored scales.
// The codebook search ("code cluster", lowbit's reading of the CCQ paper) scores the default
// (cs, zp) = (120.0, 778.4) and `search` candidates
// around it (cs ± 4 %, zp across the range the words allow; golden-ratio sequences) by step 1's
// error, then runs steps
// 2–3 on the best. The default is the best pair of a grid search on N(0, 1) rows (cs 100..140
// by 0.25, zp by 97.3; step 1's error 0.1074 against 0.1092 for a numpy emulation's
// (123.07, 553.7)). Rows run in parallel (opt.threads); the result does not depend on the count.
//
// # WINT2.5 (ccq_wint25_quantize), row by row
// Per group of 64 and a scale a, every chain (3, 4 or 1 weights) is coded by Viterbi over its 8
// window values (a window's top bit is the previous one's low bit; cost Σ (x - a·(c - 4))²).
// The scale starts as the best of a grid a₀·(0.70 + 0.02·j), j = 0..30, a₀ = rms(x)/2.3, then
// alternates `iters` times with the least-squares refit a = Σ x·v / Σ v², keeping the best.
// The row's scales are then stored as fl(local·super): super (bf16) = max |a_g| / 8191 with the
// row's sign, local = round(a_g / super), and the codes re-chosen at the stored scale. The
// levels are asymmetric (-4..3), so the row is fitted with positive and with negative scales
// and keeps the better.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/parallel.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/pack/layouts.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/quant/ccq.hpp"
#include "lowbit/quant/granularity.hpp"

namespace lowbit::calib {

/// Options of the CCQ encoders.
struct CcqOptions {
  int threads = 1;
  int iters = 3;    // alternations of codeword choice and scale refit
  int search = 24;  // codebook candidates per row besides the default
};

namespace detail {

/// The 256 codewords of a WINT2 row: cb[b] = (v_0, v_1, v_2, v_3) of byte b's word.
struct Wint2Codebook {
  std::array<std::array<float, 4>, 256> v{};
  double rms = 0.0;

  Wint2Codebook(float cs, float zp) {
    CcqWint2::RowParams p;
    p.code_scale = cs;
    p.code_zp = zp;
    double ss = 0.0;
    for (int b = 0; b < 256; ++b) {
      const std::int32_t w = CcqWint2::word(static_cast<std::uint8_t>(b), p);
      for (int i = 0; i < 4; ++i) {
        v[static_cast<std::size_t>(b)][static_cast<std::size_t>(i)] =
            static_cast<float>(CcqWint2::value(w, i));
        ss += static_cast<double>(CcqWint2::value(w, i)) * CcqWint2::value(w, i);
      }
    }
    rms = std::sqrt(ss / 1024.0);
  }

  /// The byte whose codeword times `a` is nearest to x[0..3]; its squared error in *err.
  std::uint8_t nearest(const float* x, float a, float* err) const noexcept {
    float best = std::numeric_limits<float>::infinity();
    int arg = 0;
    for (int b = 0; b < 256; ++b) {
      const auto& c = v[static_cast<std::size_t>(b)];
      float e = 0.0f;
      for (int i = 0; i < 4; ++i) {
        const float d = x[i] - a * c[static_cast<std::size_t>(i)];
        e += d * d;
      }
      if (e < best) {
        best = e;
        arg = b;
      }
    }
    *err = best;
    return static_cast<std::uint8_t>(arg);
  }

  /// Encodes n weights (n % 4 == 0) at scale a into bytes; returns the squared error.
  double encode(const float* x, Index n, float a, std::uint8_t* bytes) const noexcept {
    double e = 0.0;
    for (Index j = 0; 4 * j < n; ++j) {
      float ej;
      bytes[j] = nearest(x + 4 * j, a, &ej);
      e += ej;
    }
    return e;
  }

  /// Least-squares scale of x for the codewords `bytes` (0 if they are all zero).
  double ls_scale(const float* x, Index n, const std::uint8_t* bytes) const noexcept {
    double xv = 0.0, vv = 0.0;
    for (Index j = 0; 4 * j < n; ++j)
      for (int i = 0; i < 4; ++i) {
        const double c = v[bytes[j]][static_cast<std::size_t>(i)];
        xv += static_cast<double>(x[4 * j + i]) * c;
        vv += c * c;
      }
    return vv > 0.0 ? xv / vv : 0.0;
  }
};

/// Step 1 for a whole row: continuous group scales (64 inputs) and bytes; returns the error.
inline double wint2_fit_continuous(const Wint2Codebook& cb, const float* x, Index cols, int iters,
                                   std::vector<double>& a, std::vector<std::uint8_t>& bytes) {
  const Index groups = cols / CcqWint2::kLocalGroup;
  a.assign(static_cast<std::size_t>(groups), 0.0);
  bytes.assign(static_cast<std::size_t>(cols / 4), 0);
  double total = 0.0;
  for (Index g = 0; g < groups; ++g) {
    const float* xg = x + g * CcqWint2::kLocalGroup;
    std::uint8_t* bg = bytes.data() + g * CcqWint2::kLocalGroup / 4;
    double ss = 0.0;
    for (Index i = 0; i < CcqWint2::kLocalGroup; ++i) ss += static_cast<double>(xg[i]) * xg[i];
    double& ag = a[static_cast<std::size_t>(g)];
    ag = cb.rms > 0.0 ? std::sqrt(ss / CcqWint2::kLocalGroup) / cb.rms : 0.0;
    double e = cb.encode(xg, CcqWint2::kLocalGroup, static_cast<float>(ag), bg);
    for (int it = 1; it < iters && ag > 0.0; ++it) {
      const double na = cb.ls_scale(xg, CcqWint2::kLocalGroup, bg);
      if (!(na > 0.0)) break;
      std::array<std::uint8_t, CcqWint2::kLocalGroup / 4> nb;
      const double ne = cb.encode(xg, CcqWint2::kLocalGroup, static_cast<float>(na), nb.data());
      if (!(ne < e)) break;
      e = ne;
      ag = na;
      std::copy(nb.begin(), nb.end(), bg);
    }
    total += e;
  }
  return total;
}

}  // namespace detail

/// Quantizes w to CCQ WINT2 (see the top of this file). Throws Error on NaN/Inf, a column count
/// that is not whole 64-input groups, or bad options.
inline PackedMatrix<CcqWint2, PerGroup<128>, Plain> ccq_wint2_quantize(MatrixView<const float> w,
                                                                       const CcqOptions& opt = {}) {
  using S = CcqWint2;
  if (opt.threads < 1 || opt.iters < 1 || opt.search < 0)
    lowbit::detail::fail("ccq_wint2_quantize: threads and iters must be >= 1, search >= 0");
  const Index rows = w.rows(), cols = w.cols();
  if (cols % S::kLocalGroup != 0)
    lowbit::detail::fail("ccq_wint2_quantize: ", cols,
                         " columns are not whole 64-input groups (WINT2's local-scale group)");
  lowbit::detail::check_finite(w, "ccq_wint2_quantize");
  PackedMatrix<S, PerGroup<128>, Plain> out(rows, cols);
  if (out.empty()) return out;
  constexpr float kCs = 120.0f, kZp = 778.4f;
  // Candidate codebooks: the default, then `search` low-discrepancy points (golden-ratio
  // sequences) with cs in ±4 % of the default and zp anywhere the words stay in 15 bits.
  std::vector<std::pair<float, float>> cand = {{kCs, kZp}};
  for (int i = 1; i <= opt.search; ++i) {
    const double u1 = std::fmod(0.6180339887 * i, 1.0), u2 = std::fmod(0.7548776662 * i, 1.0);
    const float cs = kCs * static_cast<float>(0.96 + 0.08 * u1);
    const float zmax = 32767.0f - 255.0f * cs - 1.0f;
    cand.emplace_back(cs, static_cast<float>(u2) * zmax);
  }
  std::vector<detail::Wint2Codebook> books;
  books.reserve(cand.size());
  for (const auto& [cs, zp] : cand) books.emplace_back(cs, zp);
  std::vector<std::vector<std::uint8_t>> row_bytes(static_cast<std::size_t>(rows));
  lowbit::detail::parallel_for(rows, opt.threads, [&](Index r0, Index r1) {
    std::vector<double> a, best_a;
    std::vector<std::uint8_t> bytes, best_bytes;
    for (Index r = r0; r < r1; ++r) {
      const float* x = w.row_ptr(r);
      std::size_t best_c = 0;
      double best_e = std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < books.size(); ++c) {
        const double e = detail::wint2_fit_continuous(books[c], x, cols, opt.iters, a, bytes);
        if (e < best_e) {
          best_e = e;
          best_c = c;
          best_a = a;
          best_bytes = bytes;
        }
      }
      const detail::Wint2Codebook& cb = books[best_c];
      S::RowParams rp;
      rp.code_scale = cand[best_c].first;
      rp.code_zp = cand[best_c].second;
      // Step 2: the scales on the local·super grid.
      const double amax = *std::max_element(best_a.begin(), best_a.end());
      const Index groups = cols / S::kLocalGroup;
      std::vector<int> locals(static_cast<std::size_t>(groups), 0), best_locals;
      std::vector<std::uint8_t> gb(S::kLocalGroup / 4);
      double best_row = std::numeric_limits<double>::infinity();
      bf16 best_super;
      for (double f : {1.0, 0.96, 0.92, 0.88}) {
        const bf16 super(static_cast<float>(amax / 15.0 * f));
        const float sup = static_cast<float>(super);
        if (!(amax > 0.0) || !(sup > 0.0) || !std::isfinite(sup)) {
          // An all-zero row (or a scale bf16 cannot hold): every local 0.
          if (!std::isfinite(sup))
            lowbit::detail::fail("ccq_wint2_quantize: the super scale of row ", r,
                                 " overflows bf16");
          best_super = bf16(0.0f);
          std::fill(locals.begin(), locals.end(), 0);
          best_locals = locals;
          std::fill(bytes.begin(), bytes.end(), 0);
          best_bytes = bytes;
          break;
        }
        rp.super = super;
        double total = 0.0;
        for (Index g = 0; g < groups; ++g) {
          const float* xg = x + g * S::kLocalGroup;
          std::uint8_t* bg = bytes.data() + g * S::kLocalGroup / 4;
          const int l0 = static_cast<int>(
              std::lround(std::clamp(best_a[static_cast<std::size_t>(g)] / sup, 0.0, 15.0)));
          double ge = std::numeric_limits<double>::infinity();
          for (int l = std::max(l0 - 1, 0); l <= std::min(l0 + 1, 15); ++l) {
            const double e = cb.encode(xg, S::kLocalGroup, S::group_scale(l, rp), gb.data());
            if (e < ge) {
              ge = e;
              locals[static_cast<std::size_t>(g)] = l;
              std::copy(gb.begin(), gb.end(), bg);
            }
          }
          total += ge;
        }
        if (total < best_row) {
          best_row = total;
          best_super = super;
          best_locals = locals;
          best_bytes = bytes;
        }
      }
      rp.super = best_super;
      out.row_params()[static_cast<std::size_t>(r)] = rp;
      for (Index g = 0; g < groups; g += 2) {
        const int hi = best_locals[static_cast<std::size_t>(g)];
        const int lo = g + 1 < groups ? best_locals[static_cast<std::size_t>(g + 1)] : 0;
        out.params()[static_cast<std::size_t>(out.param_slot(r, g * S::kLocalGroup))] =
            S::Params{static_cast<std::uint8_t>(hi << 4 | lo)};
      }
      row_bytes[static_cast<std::size_t>(r)] = best_bytes;
    }
  });
  for (Index r = 0; r < rows; ++r)
    for (Index j = 0; 4 * j < cols; ++j) {
      const std::uint8_t b = row_bytes[static_cast<std::size_t>(r)][static_cast<std::size_t>(j)];
      for (int i = 0; i < 4; ++i) out.set_code(r, 4 * j + i, (b >> (2 * i)) & 3u);
    }
  return out;
}

namespace detail {

/// WINT2.5: Viterbi codes of one chain x[0..n) at scale a (8 window states); returns the error.
inline double wint25_chain(const float* x, int n, float a, std::uint8_t* codes) noexcept {
  double d[8], nd[8];
  std::uint8_t from[4][8];
  for (int c = 0; c < 8; ++c) {
    const double e = x[0] - static_cast<double>(a) * (c - 4);
    d[c] = e * e;
  }
  for (int t = 1; t < n; ++t) {
    for (int c = 0; c < 8; ++c) {
      const int bit = c >> 2;  // the previous window's low bit
      double best = d[bit];
      int arg = bit;
      for (int p = bit + 2; p < 8; p += 2)
        if (d[p] < best) {
          best = d[p];
          arg = p;
        }
      const double e = x[t] - static_cast<double>(a) * (c - 4);
      nd[c] = best + e * e;
      from[t][c] = static_cast<std::uint8_t>(arg);
    }
    std::copy(nd, nd + 8, d);
  }
  int c = static_cast<int>(std::min_element(d, d + 8) - d);
  const double err = d[c];
  for (int t = n - 1; t >= 0; --t) {
    codes[t] = static_cast<std::uint8_t>(c);
    if (t > 0) c = from[t][c];
  }
  return err;
}

/// WINT2.5: codes of a 64-input group at scale a; returns the error.
inline double wint25_group(const float* x, float a, std::uint8_t* codes) noexcept {
  double e = 0.0;
  for (int w = 0; w < 9; ++w) {
    e += wint25_chain(x + 7 * w, 3, a, codes + 7 * w);
    e += wint25_chain(x + 7 * w + 3, 4, a, codes + 7 * w + 3);
  }
  return e + wint25_chain(x + 63, 1, a, codes + 63);
}

/// WINT2.5: the best scale of a group with sign `sign` (±1) and its codes; returns the error.
inline double wint25_fit_group(const float* x, int sign, int iters, double* a_out,
                               std::uint8_t* codes) noexcept {
  double ss = 0.0;
  for (int i = 0; i < 64; ++i) ss += static_cast<double>(x[i]) * x[i];
  if (!(ss > 0.0)) {
    std::fill(codes, codes + 64, std::uint8_t{4});
    *a_out = 0.0;
    return 0.0;
  }
  const double a0 = sign * std::sqrt(ss / 64.0) / 2.3;
  std::uint8_t c[64];
  double best = std::numeric_limits<double>::infinity(), best_a = a0;
  for (int j = 0; j <= 30; ++j) {
    const double a = a0 * (0.70 + 0.02 * j);
    const double e = wint25_group(x, static_cast<float>(a), c);
    if (e < best) {
      best = e;
      best_a = a;
      std::copy(c, c + 64, codes);
    }
  }
  for (int it = 0; it < iters; ++it) {
    double xv = 0.0, vv = 0.0;
    for (int i = 0; i < 64; ++i) {
      const double v = static_cast<int>(codes[i]) - 4;
      xv += static_cast<double>(x[i]) * v;
      vv += v * v;
    }
    if (!(vv > 0.0)) break;
    const double a = xv / vv;
    const double e = wint25_group(x, static_cast<float>(a), c);
    if (!(e < best)) break;
    best = e;
    best_a = a;
    std::copy(c, c + 64, codes);
  }
  *a_out = best_a;
  return best;
}

}  // namespace detail

/// Quantizes w to CCQ WINT2.5 (see the top of this file). Throws Error on NaN/Inf, a column count
/// that is not whole 64-input groups, a super scale bf16 cannot hold, or bad options.
inline PackedMatrix<CcqWint25, PerGroup<64>, Plain> ccq_wint25_quantize(
    MatrixView<const float> w, const CcqOptions& opt = {}) {
  using S = CcqWint25;
  if (opt.threads < 1 || opt.iters < 1)
    lowbit::detail::fail("ccq_wint25_quantize: threads and iters must be >= 1");
  const Index rows = w.rows(), cols = w.cols();
  if (cols % S::kGroup != 0)
    lowbit::detail::fail("ccq_wint25_quantize: ", cols,
                         " columns are not whole 64-input groups (WINT2.5's word group)");
  lowbit::detail::check_finite(w, "ccq_wint25_quantize");
  PackedMatrix<S, PerGroup<64>, Plain> out(rows, cols);
  if (out.empty()) return out;
  const Index groups = cols / S::kGroup;
  std::vector<std::vector<std::uint8_t>> row_codes(static_cast<std::size_t>(rows));
  std::vector<Index> bad(static_cast<std::size_t>(rows), 0);
  lowbit::detail::parallel_for(rows, opt.threads, [&](Index r0, Index r1) {
    std::vector<double> a(static_cast<std::size_t>(groups));
    std::vector<std::uint8_t> codes(static_cast<std::size_t>(cols)), best_codes;
    std::vector<std::uint16_t> locals(static_cast<std::size_t>(groups)), best_locals;
    for (Index r = r0; r < r1; ++r) {
      const float* x = w.row_ptr(r);
      double best = std::numeric_limits<double>::infinity();
      bf16 best_super;
      for (int sign : {1, -1}) {
        double amax = 0.0;
        for (Index g = 0; g < groups; ++g) {
          detail::wint25_fit_group(x + g * S::kGroup, sign, opt.iters,
                                   &a[static_cast<std::size_t>(g)], codes.data() + g * S::kGroup);
          amax = std::max(amax, std::fabs(a[static_cast<std::size_t>(g)]));
        }
        const bf16 super(static_cast<float>(sign * amax / S::kMaxLocal));
        const float sup = static_cast<float>(super);
        if (!std::isfinite(sup)) {
          bad[static_cast<std::size_t>(r)] = 1;
          return;
        }
        double total = 0.0;
        for (Index g = 0; g < groups; ++g) {
          const double l = sup != 0.0f ? std::round(a[static_cast<std::size_t>(g)] / sup) : 0.0;
          const S::Params p{static_cast<std::uint16_t>(std::clamp(l, 0.0, 8191.0))};
          locals[static_cast<std::size_t>(g)] = p.local;
          total += detail::wint25_group(x + g * S::kGroup, S::group_scale(p, S::RowParams{super}),
                                        codes.data() + g * S::kGroup);
        }
        if (total < best) {
          best = total;
          best_super = super;
          best_codes = codes;
          best_locals = locals;
        }
      }
      out.row_params()[static_cast<std::size_t>(r)] = S::RowParams{best_super};
      for (Index g = 0; g < groups; ++g)
        out.params()[static_cast<std::size_t>(out.param_slot(r, g * S::kGroup))] =
            S::Params{best_locals[static_cast<std::size_t>(g)]};
      row_codes[static_cast<std::size_t>(r)] = best_codes;
    }
  });
  for (Index r = 0; r < rows; ++r)
    if (bad[static_cast<std::size_t>(r)])
      lowbit::detail::fail("ccq_wint25_quantize: the super scale of row ", r, " overflows bf16");
  for (Index r = 0; r < rows; ++r)
    for (Index k = 0; k < cols; ++k)
      out.set_code(r, k, row_codes[static_cast<std::size_t>(r)][static_cast<std::size_t>(k)]);
  return out;
}

}  // namespace lowbit::calib
