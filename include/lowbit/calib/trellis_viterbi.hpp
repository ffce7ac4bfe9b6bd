// SPDX-License-Identifier: Apache-2.0
// lowbit/calib/trellis_viterbi.hpp: the Viterbi encoder of the bit-shift trellis (QTIP,
// Tseng et al. 2024), tail-biting, for any code given as a table of its values.
//
// # The trellis
// A sequence of T steps (V weights each) is a stream of T·KV bits, KV = K·V: step t brings KV new
// bits, and its state is the L-bit window of the stream ending with them,
//   s_t = ((s_{t-1} << KV) | new_t) mod 2^L,
// so the predecessors of s are (s >> KV) | j << (L - KV), j < 2^KV. The stream is circular
// (tail-biting): the window of the first steps wraps to the end of the stream, so the stream is
// exactly T·KV bits and s_0's top L - KV bits equal s_{T-1}'s low L - KV bits. Needs T·KV ≥ L.
// The reconstruction of step t's weight v is table[v·2^L + s_t] (times the group's scale, which
// the caller divides out of x beforehand).
//
// # The encoder
// Viterbi over the 2^L states minimises Σ_t Σ_v (x_{t,v} - table_v[s_t])². The circular
// constraint is met as QTIP does it (lib/codebook/bitshift.py): one unconstrained pass over the
// sequence rotated by T/2 steps gives the overlap o = the top L - KV bits of the state at
// original step 0; a second pass starts only in the 2^KV states whose top bits are o and ends
// only in states whose low bits are o. The result is exact for that o (not over all o: a full
// tail-biting search would need 2^(L-KV) passes). Sequences shorter than 128 steps get up to
// three more passes that cut the circle elsewhere (see encode).
//
// # Quantizing a matrix (trellis_quantize)
// Per group x: scale₀ = rms(x)/rms(code values); Viterbi on x/scale₀; then the scale is refitted
// by least squares to the chosen code values (Σ x·v / Σ v²) and stored in f16 — with the codes
// fixed this can only lower the error. Groups run in parallel over rows (opt.threads), each
// thread with its own workspace; the result does not depend on the thread count. An all-zero
// group gets scale 0 and symbols 0. NaN/Inf weights and scales that overflow f16 throw Error.
//
// Per step: m[q] = min_j D[q + j·2^(L-KV)] (the best predecessor of the states q·2^KV + b, with
// its j kept as a backpointer: 2^(L-KV) bytes a step), then D[q·2^KV + b] = m[q] + cost(q·2^KV
// + b). Both loops run over compile-time powers of two, so the compiler vectorises them over
// states. Work: ≈ 2^L·(V + 2) operations per step; memory: 2^(L-KV)·(T + 4) bytes + 2^L floats.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "lowbit/config.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/parallel.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/pack/layouts.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/quant/conv_code.hpp"

namespace lowbit::calib {

/// Viterbi workspace and passes for states of L bits, KV new bits a step, V weights a step.
template <int L, int KV, int V>
class TrellisViterbi {
  static_assert(L >= 2 && L <= 20, "TrellisViterbi: L must be in [2, 20]");
  static_assert(KV >= 1 && KV < L && KV <= 8, "TrellisViterbi: KV must be in [1, min(8, L-1)]");
  static_assert(V >= 1 && V <= 4, "TrellisViterbi: V must be in [1, 4]");

 public:
  static constexpr std::uint32_t kStates = 1u << L;
  static constexpr std::uint32_t kPreds = 1u << KV;    // predecessors of a state
  static constexpr std::uint32_t kQ = 1u << (L - KV);  // states / predecessors
  static constexpr int kMinSteps = (L + KV - 1) / KV;  // the window must fit in the stream

  /// The tail-biting encoding of x (T·V values, T = x.size() / V ≥ kMinSteps steps) against
  /// `table` (V·2^L values: table[v·2^L + s]); writes the state of every step to `states` (size
  /// T) and returns the squared error, weighted by `wts` (one weight per value; empty: all 1).
  /// Throws Error on sizes.
  double encode(std::span<const float> x, const float* table, std::span<std::uint32_t> states,
                std::span<const float> wts = {}) {
    if (!wts.empty() && wts.size() != x.size())
      lowbit::detail::fail("trellis: ", wts.size(), " weights for ", x.size(), " values");
    if (x.size() % V != 0)
      lowbit::detail::fail("trellis: ", x.size(), " values are not whole steps of ", V);
    const std::size_t T = x.size() / V;
    if (T < static_cast<std::size_t>(kMinSteps))
      lowbit::detail::fail("trellis: ", T, " steps of ", KV, " bits are fewer than the ", L,
                           "-bit window needs");
    if (states.size() != T)
      lowbit::detail::fail("trellis: ", states.size(), " states for ", T, " steps");
    // Pass 1: the sequence rotated by T/2 steps, unconstrained; its state at original step 0
    // gives the overlap. Pass 2: the constrained pass.
    states2_.resize(T);
    run(rotated(x, T / 2, rot_), wts.empty() ? wts : rotated(wts, T / 2, wrot_), table, states2_,
        kNoOverlap);
    double cost = run(x, wts, table, states, states2_[T - T / 2] >> KV);
    // Short sequences (T < kRefineBelow steps): the fixed overlap is a large share of the
    // stream, so cut the circle elsewhere (T/2, T/4, 3T/4) and re-solve with the overlap the
    // current path has there; the current path is admissible for that problem, so the cost never
    // rises (T = 32: 0.0997 → 0.0934 MSE on N(0, 1); T = 256: no change, so not run).
    if (T < kRefineBelow) {
      for (std::size_t cut : {T / 2, T / 4, 3 * T / 4}) {
        if (cut == 0 || cut >= T) continue;
        const double c = run(rotated(x, cut, rot_), wts.empty() ? wts : rotated(wts, cut, wrot_),
                             table, states2_, states[cut] >> KV);
        if (c < cost) {
          cost = c;
          for (std::size_t t = 0; t < T; ++t) states[(t + cut) % T] = states2_[t];
        }
      }
    }
    return cost;
  }

 private:
  static constexpr std::uint32_t kNoOverlap = 0xFFFFFFFFu;
  static constexpr std::size_t kRefineBelow = 128;

  /// x rotated to start at step `cut` (into buf).
  static std::span<const float> rotated(std::span<const float> x, std::size_t cut,
                                        std::vector<float>& buf) {
    buf.resize(x.size());
    std::copy(x.begin() + static_cast<std::ptrdiff_t>(cut * V), x.end(), buf.begin());
    std::copy(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(cut * V),
              buf.begin() + static_cast<std::ptrdiff_t>(x.size() - cut * V));
    return buf;
  }

  /// One Viterbi pass; with `overlap` != kNoOverlap the first state's top bits and the last
  /// state's low bits are that value.
  double run(std::span<const float> x, std::span<const float> wts, const float* table,
             std::span<std::uint32_t> states, std::uint32_t overlap) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    const std::size_t T = states.size();
    d_.resize(kStates);
    n_.resize(kStates);
    bp_.resize(T * kQ);
    // Step 0.
    const float* w0 = wts.empty() ? nullptr : wts.data();
    for (std::uint32_t s = 0; s < kStates; ++s) d_[s] = cost(x.data(), w0, table, s);
    if (overlap != kNoOverlap)
      for (std::uint32_t s = 0; s < kStates; ++s)
        if ((s >> KV) != overlap) d_[s] = kInf;
    float* D = d_.data();
    float* N = n_.data();
    for (std::size_t t = 1; t < T; ++t) {
      const float* xt = x.data() + t * V;
      const float* wt = wts.empty() ? nullptr : wts.data() + t * V;
      step(D, N, bp_.data() + t * kQ, xt, wt, table);
      std::swap(D, N);
    }
    // The best admissible last state, then back along the pointers.
    std::uint32_t best_s = 0;
    float best = kInf;
    for (std::uint32_t s = 0; s < kStates; ++s) {
      if (overlap != kNoOverlap && (s & (kQ - 1)) != overlap) continue;
      if (D[s] < best) {
        best = D[s];
        best_s = s;
      }
    }
    std::uint32_t s = best_s;
    for (std::size_t t = T; t-- > 0;) {
      states[t] = s;
      if (t > 0) s = (s >> KV) | (static_cast<std::uint32_t>(bp_[t * kQ + (s >> KV)]) << (L - KV));
    }
    return static_cast<double>(best);
  }

  static float cost(const float* xt, const float* wt, const float* table,
                    std::uint32_t s) noexcept {
    float c = 0.0f;
    for (int v = 0; v < V; ++v) {
      const float e = xt[v] - table[static_cast<std::size_t>(v) * kStates + s];
      c += wt != nullptr ? wt[v] * (e * e) : e * e;
    }
    return c;
  }

  // kW states at a time in GCC/clang vector extensions, kW = the floats of the target's widest
  // register (config.hpp: 16 with AVX-512, 8 with AVX2, 4 otherwise), so that the expansion of
  // best-predecessor costs to output states is one in-register permutation (vpermps). A wider
  // vector split over registers had its cross-register shuffle compiled lane by lane (AVX2 ran
  // at a twentieth of AVX-512's speed). Vectors never cross a function boundary by value
  // (out-parameters instead): a vector argument or result has a different ABI on different
  // targets (g++'s -Wpsabi).
  static constexpr int kW = LOWBIT_FLOAT_LANES;
  using FV = float __attribute__((vector_size(4 * kW)));
  using IV = std::int32_t __attribute__((vector_size(4 * kW)));
  using UV = std::uint8_t __attribute__((vector_size(kW)));

  static void load(FV& v, const float* p) noexcept { std::memcpy(&v, p, sizeof v); }

  /// The low byte of every lane of a (values < 256) to out[0, kW): one byte shuffle of the
  /// register (vpshufb / vpermb), not a conversion, which without AVX-512 (vpmovdb) is compiled
  /// lane by lane.
  template <std::size_t... I>
  static void store_bytes(const IV& a, std::uint8_t* out, std::index_sequence<I...>) noexcept {
    using BV = std::uint8_t __attribute__((vector_size(4 * kW)));
    BV b;
    std::memcpy(&b, &a, sizeof b);
    const UV lo = __builtin_shufflevector(b, b, static_cast<int>(4 * I)...);
    std::memcpy(out, &lo, sizeof lo);
  }

  /// Lanes (E·kW + i) / P of m: the best-predecessor cost of output states E·kW .. E·kW + kW-1.
  template <int E, std::size_t... I>
  static void expand(FV& out, const FV& m, std::index_sequence<I...>) noexcept {
    out = __builtin_shufflevector(m, m, static_cast<int>((E * kW + I) / kPreds)...);
  }

  /// Output states q0·P .. (q0 + kW)·P: cost to reach them through the best predecessor.
  template <std::size_t... E>
  static void update(const FV& m, std::uint32_t q0, float* out, const float* xt, const float* wt,
                     const float* table, std::index_sequence<E...>) noexcept {
    (
        [&] {
          const std::uint32_t s0 = q0 * kPreds + static_cast<std::uint32_t>(E) * kW;
          FV c, t;
          expand<static_cast<int>(E)>(c, m, std::make_index_sequence<kW>{});
          for (int v = 0; v < V; ++v) {
            load(t, table + static_cast<std::size_t>(v) * kStates + s0);
            const FV e = xt[v] - t;
            if (wt != nullptr) {
              c += wt[v] * (e * e);
            } else {
              c += e * e;
            }
          }
          std::memcpy(out + s0, &c, sizeof c);
        }(),
        ...);
  }

  /// One step: from the costs D of the previous states to the costs N of this step's, with
  /// the backpointers of the 2^(L-KV) state groups.
  static void step(const float* D, float* N, std::uint8_t* bp, const float* xt, const float* wt,
                   const float* table) noexcept {
    if constexpr (kQ >= static_cast<std::uint32_t>(kW)) {
      for (std::uint32_t q0 = 0; q0 < kQ; q0 += kW) {
        // The minimum and its predecessor in one pass: j = 1, 2, ... keep the first strict
        // minimum, then j = 0 wins only if strictly below it. So a tie goes to the smallest
        // j >= 1 that reaches the minimum, 0 only when no other does (the encoder's rule).
        FV m, v;
        load(m, D + q0 + kQ);
        IV arg = IV{} + 1;
        for (std::uint32_t j = 2; j < kPreds; ++j) {
          load(v, D + q0 + j * kQ);
          const IV lt = v < m;
          m = lt ? v : m;
          arg = lt ? IV{} + static_cast<std::int32_t>(j) : arg;
        }
        load(v, D + q0);
        const IV lt0 = v < m;
        m = lt0 ? v : m;
        arg = lt0 ? IV{} : arg;
        store_bytes(arg, bp + q0, std::make_index_sequence<kW>{});
        update(m, q0, N, xt, wt, table, std::make_index_sequence<kPreds>{});
      }
    } else {
      for (std::uint32_t q = 0; q < kQ; ++q) {
        float best = D[q];
        std::uint8_t arg = 0;
        for (std::uint32_t j = 1; j < kPreds; ++j)
          if (D[q + j * kQ] < best) {
            best = D[q + j * kQ];
            arg = static_cast<std::uint8_t>(j);
          }
        bp[q] = arg;
        for (std::uint32_t b = 0; b < kPreds; ++b)
          N[q * kPreds + b] = best + cost(xt, wt, table, q * kPreds + b);
      }
    }
  }

  std::vector<float> d_, n_, rot_, wrot_;
  std::vector<std::uint32_t> states2_;
  std::vector<std::uint8_t> bp_;
};

/// Options of trellis_quantize.
struct TrellisOptions {
  int threads = 1;
  /// Viterbi passes per group: 1 = encode at the rms scale then refit the scale; 2 = encode once
  /// more at the refitted scale and keep the better of the two.
  int passes = 1;
  /// trellis_quantize_ldlq only: weight each group's Viterbi and scale by GPTQ's per-column
  /// weights 1/U_ii² (the diagonal of the group's output error).
  bool hessian_weights = true;
};

/// The raw code values of S's every state, table[v·2^L + s] (the encoder's cost table).
template <class S>
std::vector<float> conv_code_table() {
  std::vector<float> t(static_cast<std::size_t>(S::kV) << S::kL);
  for (int v = 0; v < S::kV; ++v)
    for (std::uint32_t s = 0; s <= S::kStateMask; ++s)
      t[(static_cast<std::size_t>(v) << S::kL) + s] = static_cast<float>(S::CodeFn::value(s, v));
  return t;
}

/// One thread's trellis encoder for scheme S: a group's symbols and scale (see the top of this
/// file). Holds the Viterbi workspace; the code table is shared.
template <class S>
class TrellisGroupEncoder {
 public:
  TrellisGroupEncoder(const std::vector<float>& table, double rms_code, int passes)
      : table_(table), rms_code_(rms_code), passes_(passes) {}

  /// Encodes x[0..n) into sym[0..n) and *p; returns false if the scale overflows S's storage.
  /// With `decoded`, also writes ŵ. With `wts` (n weights > 0), minimizes Σ wts_i·(x_i − ŵ_i)²
  /// (the Viterbi and the scale's least-squares refit both weighted).
  bool encode(const float* x, Index n, std::uint8_t* sym, typename S::Params* p,
              float* decoded = nullptr, const float* wts = nullptr) {
    const auto wt = [&](std::size_t i) {
      return wts != nullptr ? static_cast<double>(wts[i]) : 1.0;
    };
    double ss = 0.0;
    for (Index i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    if (!(ss > 0.0)) {
      *p = S::make(0.0f);
      std::fill(sym, sym + n, std::uint8_t{0});
      if (decoded != nullptr) std::fill(decoded, decoded + n, 0.0f);
      return true;
    }
    double scale = std::sqrt(ss / static_cast<double>(n)) / rms_code_;
    double best_err = std::numeric_limits<double>::infinity();
    for (int pass = 0; pass < passes_; ++pass) {
      xs_.resize(static_cast<std::size_t>(n));
      for (Index i = 0; i < n; ++i)
        xs_[static_cast<std::size_t>(i)] = static_cast<float>(x[i] / scale);
      states_.resize(static_cast<std::size_t>(n / S::kV));
      vit_.encode(xs_, table_.data(), states_,
                  wts != nullptr ? std::span<const float>(wts, static_cast<std::size_t>(n))
                                 : std::span<const float>());
      double xv = 0.0, vv = 0.0;
      for (std::size_t t = 0; t < states_.size(); ++t)
        for (int v = 0; v < S::kV; ++v) {
          const std::size_t i = t * S::kV + static_cast<std::size_t>(v);
          const double c = S::CodeFn::value(states_[t], v);
          xv += wt(i) * static_cast<double>(x[i]) * c;
          vv += wt(i) * c * c;
        }
      const typename S::Params q = S::make(vv > 0.0 ? static_cast<float>(xv / vv) : 0.0f);
      if (!S::params_finite(q)) return false;
      const double sq = S::scale(q);
      double err = 0.0;
      for (std::size_t t = 0; t < states_.size(); ++t)
        for (int v = 0; v < S::kV; ++v) {
          const std::size_t i = t * S::kV + static_cast<std::size_t>(v);
          const double e = x[i] - sq * S::CodeFn::value(states_[t], v);
          err += wt(i) * e * e;
        }
      if (err < best_err) {
        best_err = err;
        *p = q;
        for (std::size_t t = 0; t < states_.size(); ++t)
          for (int v = 0; v < S::kV; ++v) {
            const std::size_t i = t * S::kV + static_cast<std::size_t>(v);
            sym[i] = S::symbol_of(states_[t], v);
            if (decoded != nullptr)
              decoded[i] =
                  static_cast<float>(sq) * static_cast<float>(S::CodeFn::value(states_[t], v));
          }
      }
      if (sq == 0.0) break;
      scale = sq;
    }
    return true;
  }

 private:
  const std::vector<float>& table_;
  double rms_code_;
  int passes_;
  TrellisViterbi<S::kL, S::kKV, S::kV> vit_;
  std::vector<float> xs_;
  std::vector<std::uint32_t> states_;
};

/// Options of train_lookup_code.
struct LookupTrainOptions {
  int iterations = 120;
  Index sequence = 256;  // steps per tail-biting training sequence
  int threads = 1;
  bool odd = true;  // keep T[n − 1 − i] = −T[i] (flipping every stream bit negates the weights)
};

/// Trains the table of a lookup code (value(s) = table[index(s)], V = 1, L-bit states, K bits a
/// step; CodeTap7) on the samples x by Lloyd iterations: Viterbi-encode every sequence with the
/// current table, then set each entry to the mean of the samples coded by it (entries no sample
/// chose keep their value), and with opt.odd average each entry with its mirror's negative.
/// Each iteration can only lower Σ (x − x̂)² (without `odd`; with it, in practice). Returns the
/// table and writes the NMSE Σ (x − x̂)² / Σ x² of each iteration's encoding to `nmse` (if given).
/// Deterministic for any thread count. Throws Error on sizes.
template <int L, int K, class IndexFn>
std::vector<double> train_lookup_code(IndexFn index, std::vector<double> table,
                                      std::span<const float> x, const LookupTrainOptions& opt,
                                      std::vector<double>* nmse = nullptr) {
  const std::size_t n = table.size(), T = static_cast<std::size_t>(opt.sequence);
  if (n == 0 || opt.iterations < 0 || opt.threads < 1 || T == 0 || x.size() % T != 0)
    lowbit::detail::fail("train_lookup_code: ", x.size(), " samples are not whole sequences of ",
                         opt.sequence, " (or a bad option)");
  const Index nseq = static_cast<Index>(x.size() / T);
  std::vector<float> costs(std::size_t{1} << L);
  std::vector<std::uint32_t> idx(x.size());
  double ss = 0.0;
  for (float v : x) ss += static_cast<double>(v) * v;
  for (int it = 0; it < opt.iterations; ++it) {
    for (std::uint32_t s = 0; s < (1u << L); ++s) {
      const std::uint32_t i = index(s);
      if (i >= n) lowbit::detail::fail("train_lookup_code: index ", i, " outside the table");
      costs[s] = static_cast<float>(table[i]);
    }
    std::vector<double> err(static_cast<std::size_t>(nseq));
    lowbit::detail::parallel_for(nseq, opt.threads, [&](Index q0, Index q1) {
      TrellisViterbi<L, K, 1> vit;
      std::vector<std::uint32_t> st(T);
      for (Index q = q0; q < q1; ++q) {
        const std::size_t o = static_cast<std::size_t>(q) * T;
        err[static_cast<std::size_t>(q)] = vit.encode(x.subspan(o, T), costs.data(), st);
        for (std::size_t t = 0; t < T; ++t) idx[o + t] = index(st[t]);
      }
    });
    double e = 0.0;
    for (double v : err) e += v;
    if (nmse != nullptr) nmse->push_back(ss > 0.0 ? e / ss : 0.0);
    std::vector<double> sum(n, 0.0), cnt(n, 0.0);
    for (std::size_t j = 0; j < x.size(); ++j) {
      sum[idx[j]] += x[j];
      cnt[idx[j]] += 1.0;
    }
    std::vector<double> next(n);
    for (std::size_t i = 0; i < n; ++i) next[i] = cnt[i] > 0.0 ? sum[i] / cnt[i] : table[i];
    for (std::size_t i = 0; i < n; ++i)
      table[i] = opt.odd ? (next[i] - next[n - 1 - i]) / 2.0 : next[i];
  }
  return table;
}

/// A starting table for training a 128-entry odd lookup code: the positive normal quantiles
/// Φ⁻¹((64 + j + ½)/128), j < 64, shuffled into entries 0..63 with random signs (Fisher–Yates and
/// coin flips on a 64-bit LCG seeded by `seed`), entry 127 − i the negative of entry i. Lloyd
/// training ends in seed-dependent local optima (NMSE 0.078 .. 0.086 for CodeLut7), so the codes'
/// tables come from the best of several seeds (quant/conv_code.hpp names them).
inline std::vector<double> lookup_initial_table(std::uint64_t seed) {
  std::vector<double> q(64);
  for (int j = 0; j < 64; ++j) {
    const double p = (64.0 + j + 0.5) / 128.0;
    double lo = 0.0, hi = 8.0;  // Φ⁻¹(p) by bisection on erfc
    for (int k = 0; k < 80; ++k) {
      const double mid = (lo + hi) / 2.0;
      (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
    }
    q[static_cast<std::size_t>(j)] = lo;
  }
  std::uint64_t st = seed * 0x9E3779B97F4A7C15ull + 1;
  const auto next = [&st] {
    st = st * 6364136223846793005ull + 1442695040888963407ull;
    return st >> 33;
  };
  for (std::size_t j = 63; j > 0; --j) std::swap(q[j], q[next() % (j + 1)]);
  std::vector<double> t(128);
  for (std::size_t i = 0; i < 64; ++i) {
    t[i] = (next() & 1u) != 0 ? -q[i] : q[i];
    t[127 - i] = -t[i];
  }
  return t;
}

/// The training samples of the lookup codes' tables: n i.i.d. N(0, 1) floats (Box–Muller on a
/// 64-bit LCG, seed 1, so every platform draws the same numbers).
inline std::vector<float> lookup_training_samples(std::size_t n) {
  std::vector<float> x(n);
  std::uint64_t st = 1;
  const auto uni = [&st] {
    st = st * 6364136223846793005ull + 1442695040888963407ull;
    return (static_cast<double>(st >> 11) + 0.5) * 0x1.0p-53;
  };
  for (std::size_t i = 0; i < n; i += 2) {
    const double r = std::sqrt(-2.0 * std::log(uni())), a = 6.283185307179586 * uni();
    x[i] = static_cast<float>(r * std::cos(a));
    if (i + 1 < n) x[i + 1] = static_cast<float>(r * std::sin(a));
  }
  return x;
}

/// The code table of S and its rms (the encoder's starting scale divides by it).
template <class S>
double conv_code_rms(const std::vector<float>& table) {
  double r = 0.0;
  for (float v : table) r += static_cast<double>(v) * v;
  return std::sqrt(r / static_cast<double>(table.size()));
}

/// Throws Error unless every weight is finite and every group of a row can be coded.
template <class S, Granularity G>
void check_trellis_input(MatrixView<const float> w, const char* who) {
  lowbit::detail::check_finite(w, who);
  const Index gc = G::group_cols(w.cols());
  for (Index k0 = 0; k0 < w.cols(); k0 += gc) S::check_group(std::min(gc, w.cols() - k0));
}

/// Quantizes w with the trellis scheme S (a ConvCode) at granularity G (PerChannel: one sequence
/// per row; PerGroup<g>: sequences of g weights, the last group of a row may be shorter if it
/// still holds whole steps and a window). See the top of this file. Throws Error on NaN/Inf,
/// groups S cannot code, a scale f16 cannot hold, or bad options.
template <class S, Granularity G>
PackedMatrix<S, G, Plain> trellis_quantize(MatrixView<const float> w,
                                           const TrellisOptions& opt = {}) {
  static_assert(G::kKind != GranularityKind::kPerTensor,
                "trellis_quantize: a sequence lies within one row; use PerChannel or PerGroup");
  if (opt.threads < 1 || opt.passes < 1 || opt.passes > 2)
    lowbit::detail::fail("trellis_quantize: threads must be >= 1 and passes 1 or 2");
  check_trellis_input<S, G>(w, "trellis_quantize");
  const Index rows = w.rows(), cols = w.cols(), gc = G::group_cols(cols);
  PackedMatrix<S, G, Plain> out(rows, cols);
  if (out.empty()) return out;
  const std::vector<float> table = conv_code_table<S>();
  const double rms_code = conv_code_rms<S>(table);
  std::vector<std::uint8_t> syms(static_cast<std::size_t>(rows * cols));
  std::vector<Index> bad(static_cast<std::size_t>(rows), -1);
  lowbit::detail::parallel_for(rows, opt.threads, [&](Index r0, Index r1) {
    TrellisGroupEncoder<S> enc(table, rms_code, opt.passes);
    for (Index r = r0; r < r1; ++r)
      for (Index k0 = 0; k0 < cols; k0 += gc) {
        auto& p = out.params()[static_cast<std::size_t>(out.param_slot(r, k0))];
        if (!enc.encode(w.row_ptr(r) + k0, std::min(gc, cols - k0), syms.data() + r * cols + k0,
                        &p)) {
          bad[static_cast<std::size_t>(r)] = k0;
          break;
        }
      }
  });
  for (Index r = 0; r < rows; ++r)
    if (bad[static_cast<std::size_t>(r)] >= 0)
      lowbit::detail::fail("trellis_quantize: the scale of row ", r, ", column ",
                           bad[static_cast<std::size_t>(r)], " overflows f16");
  for (Index r = 0; r < rows; ++r)
    for (Index k = 0; k < cols; ++k)
      out.set_code(r, k, syms[static_cast<std::size_t>(r * cols + k)]);
  return out;
}

}  // namespace lowbit::calib
