// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/conv_code.hpp: ConvCode<L, K, V, Code>, the bit-shift trellis code of QTIP
// (QTIP, Tseng et al.
// 2024): every weight is K bits of a stream, and its value is a fixed function
// (the code) of the L-bit window of the stream that ends with its own bits.
//
// # Stream, steps and states
// A group of G weights (the sequence; PerGroup<G>) is T = G / V steps of V weights. The codes
// PackedMatrix stores are the K-bit *symbols* of the weights in order; step t's KV = K·V new bits
// are its V symbols, the earlier weight in the higher bits, and its state is the window
//   s_t = ((s_{t-1} << KV) | new_t) mod 2^L,
// i.e. the last L/K symbols of the group, oldest in the high bits. The stream is circular within
// the group (tail-biting): the first steps' windows take their older symbols from the end of the
// group, so a group is exactly G·K bits and needs T·KV ≥ L. Weight v of step t decodes to
//   ŵ = scale · Code::value(s_t, v),
// one scale per group (f16): K + 16/G bits per weight.
//
// # Codes (integer values where the int8 kernels need them; `kUnit`·value ≈ N(0, 1))
//   Code1Mad  QTIP's 1MAD: x = s·34038481 + 76625530 mod 2^32, value = Σ bytes(x) - 510, an
//             integer in [-510, 510] (by the central limit theorem ≈ N(0, 147.8²)). V = 1.
//   Code3Inst QTIP's 3INST: x = s·89226354 + 64248484 mod 2^32, x = (x & 0x8FFF8FFF) ^
//             0x3B603B60, value = the sum of x's two IEEE halves. Float values. V = 1.
//   CodeMix7  lowbit's code for the int8 kernels: a 16-bit multiply-xorshift-multiply hash of the
//             state, h = ((((s·0x9E37) mod 2^16) ^ (· >> 8))·0x6A09) mod 2^16, whose top 7 bits
//             index a 128-entry table of normal quantiles, round(47·Φ⁻¹((i + ½)/128)) ∈
//             [-125, 125]: int8 values from 16-bit lane operations and one 128-byte lookup. V = 1.
//   CodeMx2   lowbit's V = 2 code: one multiply and an xorshift of the state give both values'
//             7-bit indices into the same table (half CodeMix7's decode work per weight).
//   CodeTap7  lowbit's lookup code: 7 bits of the 16-bit state (the two newest symbols and three
//             bits 6..7 steps back) index a trained 128-entry int8 table: no arithmetic, two
//             byte picks and a lookup per weight vector; NMSE ≈ 0.071.
//   CodeLut7  the same with 7 contiguous stream bits (L = 8): one pick and a lookup, the speed
//             of plain 2-bit kernels; NMSE ≈ 0.078.
// The hashed codes reach QTIP's L = 16 quality (≈ 0.069 NMSE at K = 2 on N(0, 1);
// the exact figures are in bench/RESULTS.md). The encoder is calib/trellis.hpp.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/quant/affine.hpp"

namespace lowbit {

/// QTIP's 1MAD computed code (integer values in [-510, 510]).
struct Code1Mad {
  static constexpr int kId = 0;
  static constexpr int kV = 1;
  static constexpr bool kIntegerValues = true;
  static constexpr float kUnit = 1.0f / 147.8005f;
  static constexpr const char* name() { return "1mad"; }
  static constexpr std::int32_t value(std::uint32_t s, int = 0) noexcept {
    const std::uint32_t x = s * 34038481u + 76625530u;
    return static_cast<std::int32_t>((x & 255u) + ((x >> 8) & 255u) + ((x >> 16) & 255u) +
                                     (x >> 24)) -
           510;
  }
};

/// QTIP's 3INST computed code (float values: the sum of two IEEE half-precision numbers).
struct Code3Inst {
  static constexpr int kId = 1;
  static constexpr int kV = 1;
  static constexpr bool kIntegerValues = false;
  static constexpr float kUnit = 1.0f;
  static constexpr const char* name() { return "3inst"; }
  static float value(std::uint32_t s, int = 0) noexcept {
    std::uint32_t x = s * 89226354u + 64248484u;
    x = (x & 0x8FFF8FFFu) ^ 0x3B603B60u;
    return half(static_cast<std::uint16_t>(x & 0xFFFFu)) +
           half(static_cast<std::uint16_t>(x >> 16));
  }

 private:
  // After the mask (exponent bits 10..11 kept) and the xor (exponent 0b01110), every half's
  // exponent field is 12..15: a normal number, so the conversion is a re-bias of the exponent.
  static float half(std::uint16_t h) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(h >> 15) << 31;
    const std::uint32_t e = (h >> 10) & 31u, m = h & 1023u;
    return std::bit_cast<float>(sign | ((e + 112u) << 23) | (m << 13));
  }
};

/// lowbit's int8-valued code: a 16-bit hash of the state into a 128-entry normal-quantile table.
struct CodeMix7 {
  static constexpr int kId = 2;
  static constexpr int kV = 1;
  static constexpr bool kIntegerValues = true;
  static constexpr float kUnit = 1.0f / 47.0f;
  static constexpr const char* name() { return "mix7"; }
  /// round(47·Φ⁻¹((i + 0.5) / 128)), i = 0..127 (tests recompute it).
  static constexpr std::array<std::int8_t, 128> kTable = {
      -125, -107, -97, -90, -85, -81, -77, -74, -71, -68, -65, -63, -61, -59, -57, -55,
      -53,  -51,  -50, -48, -47, -45, -44, -42, -41, -40, -38, -37, -36, -35, -33, -32,
      -31,  -30,  -29, -28, -27, -26, -25, -23, -22, -21, -20, -19, -18, -17, -16, -15,
      -14,  -14,  -13, -12, -11, -10, -9,  -8,  -7,  -6,  -5,  -4,  -3,  -2,  -1,  0,
      0,    1,    2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,  14,
      15,   16,   17,  18,  19,  20,  21,  22,  23,  25,  26,  27,  28,  29,  30,  31,
      32,   33,   35,  36,  37,  38,  40,  41,  42,  44,  45,  47,  48,  50,  51,  53,
      55,   57,   59,  61,  63,  65,  68,  71,  74,  77,  81,  85,  90,  97,  107, 125,
  };
  /// The 7-bit table index of state s (the low 16 bits of s are hashed).
  static constexpr std::uint32_t index(std::uint32_t s) noexcept {
    std::uint32_t h = (s * 0x9E37u) & 0xFFFFu;
    h ^= h >> 8;
    h = (h * 0x6A09u) & 0xFFFFu;
    return h >> 9;
  }
  static constexpr std::int32_t value(std::uint32_t s, int = 0) noexcept {
    return kTable[index(s)];
  }
};

/// lowbit's two-values-per-state code for the int8 kernels (V = 2: a step is two weights, 2K
/// bits): one 16-bit multiply and an xorshift of the state, h = (s·0x9E37 mod 2^16), h ^= h >> 7,
/// whose bits 9..15 and 2..8 index CodeMix7's table for the step's first and second weight. Half
/// the hash work of CodeMix7 per weight (one hash per two weights, three lane operations).
struct CodeMx2 {
  static constexpr int kId = 3;
  static constexpr int kV = 2;
  static constexpr bool kIntegerValues = true;
  static constexpr float kUnit = 1.0f / 47.0f;
  static constexpr const char* name() { return "mx2"; }
  /// The 7-bit table index of value v (0, 1) of state s (the low 16 bits of s are hashed).
  static constexpr std::uint32_t index(std::uint32_t s, int v) noexcept {
    std::uint32_t h = (s * 0x9E37u) & 0xFFFFu;
    h ^= h >> 7;
    return v == 0 ? h >> 9 : (h >> 2) & 127u;
  }
  static constexpr std::int32_t value(std::uint32_t s, int v = 0) noexcept {
    return CodeMix7::kTable[index(s, v)];
  }
};

/// lowbit's lookup code with a 16-bit memory (V = 1): the value is a table entry picked by 7 of
/// the state's 16 bits, no arithmetic. With s's symbols sym_{t-d} = (s >> 2d) & 3 (d = 0 newest),
///   index = sym_{t-7} | lo(sym_{t-6}) << 2 | sym_{t-1} << 3 | sym_t << 5,
/// the two newest symbols and three bits 6..7 steps back (taps of the L = 16 window: 7 contiguous
/// bits, CodeLut7, give NMSE 0.078; these taps 0.071). Read in the stream's LSB-first order
/// (kStreamMsbFirst = false: stream bit b is bit b mod 16 of word b / 16, so the 16-bit window w
/// ending with weight t's symbol holds sym_{t-7} in its bits 0..1 and sym_t in 14..15), index =
/// (w & 7) | ((w >> 9) & 0x78): two byte picks and a bit select per vector of weights
/// (kernels/x86/seq_tile_x86.hpp).
/// The table is trained (calib::train_lookup_code: Lloyd iterations of the tail-biting Viterbi,
/// odd, T[127 − i] = −T[i], so flipping every stream bit negates the weights): 150 iterations on
/// 2^16 samples (lookup_training_samples) from lookup_initial_table(3), the best of seeds 1..16
/// after 60 iterations on 2^14; rounded to int8 at 36 per unit.
struct CodeTap7 {
  static constexpr int kId = 4;
  static constexpr int kV = 1;
  static constexpr bool kIntegerValues = true;
  static constexpr bool kStreamMsbFirst = false;
  static constexpr float kUnit = 1.0f / 36.0f;
  static constexpr const char* name() { return "tap7"; }
  // clang-format off
  static constexpr std::array<std::int8_t, 128> kTable = {
      20, -17, -2, 30, -32, 57, 30, 7, 48, 37, 5, 18, 1, 100, -26, -19,
      -45, 47, -21, 8, 32, 15, 63, -10, 2, 10, -37, -22, -72, 27, -5, -45,
      -14, -33, 14, -61, -34, -3, 15, 43, 32, -20, 70, -2, 20, -18, 3, -56,
      2, -51, 41, -24, -9, -38, -75, 24, 32, -87, -15, -58, 24, 54, -39, 0,
      0, 39, -54, -24, 58, 15, 87, -32, -24, 75, 38, 9, 24, -41, 51, -2,
      56, -3, 18, -20, 2, -70, 20, -32, -43, -15, 3, 34, 61, -14, 33, 14,
      45, 5, -27, 72, 22, 37, -10, -2, 10, -63, -15, -32, -8, 21, -47, 45,
      19, 26, -100, -1, -18, -5, -37, -48, -7, -30, -57, 32, -30, 2, 17, -20,
  };
  // clang-format on
  /// The 7-bit table index of state s.
  static constexpr std::uint32_t index(std::uint32_t s) noexcept {
    return ((s >> 14) & 3u) | (((s >> 12) & 1u) << 2) | (((s >> 2) & 3u) << 3) | ((s & 3u) << 5);
  }
  static constexpr std::int32_t value(std::uint32_t s, int = 0) noexcept {
    return kTable[index(s)];
  }
};

/// lowbit's fastest code (V = 1, for ConvCode<8, 2, 1, CodeLut7>): the value is a table entry
/// picked by 7 contiguous bits of the LSB-first stream, the window w = stream bits [2t − 5,
/// 2t + 2) ending with weight t's symbol: hi(sym_{t-3}), sym_{t-2}, sym_{t-1}, sym_t from bit 0
/// up. One byte pick (vpmultishiftqb) and one 128-byte lookup per 64 weights in the kernels, as
/// cheap as unpacking plain 2-bit codes; the state is L = 8 bits (the low bit of sym_{t-3} is
/// not read: the Viterbi sees ties there). NMSE ≈ 0.078 on N(0, 1) (short memory: CodeTap7 and
/// the hashed codes reach 0.071 and 0.068 with L = 16).
/// The table is trained like CodeTap7's (train_lookup_code, odd): 300 Lloyd iterations on 2^18
/// samples (lookup_training_samples) from lookup_initial_table(24), the best of seeds 1..100 after
/// 200 iterations on 2^16; rounded to int8 at 36 per unit.
struct CodeLut7 {
  static constexpr int kId = 5;
  static constexpr int kV = 1;
  static constexpr bool kIntegerValues = true;
  static constexpr bool kStreamMsbFirst = false;
  static constexpr float kUnit = 1.0f / 36.0f;
  static constexpr const char* name() { return "lut7"; }
  // clang-format off
  static constexpr std::array<std::int8_t, 128> kTable = {
      -27, 0, 22, 51, 52, -40, 20, -7, -59, -33, -8, 27, 47, 14, -3, -24,
      -75, 25, -39, -8, 99, 38, 7, -9, -17, 82, 11, 40, -80, 30, -35, 1,
      22, -63, 63, -18, 11, 40, -9, -38, 37, 63, 12, -26, -14, -44, 49, 10,
      -40, -15, 11, 45, -1, -60, -23, 21, -44, 36, -9, 12, -18, 4, 27, 70,
      -70, -27, -4, 18, -12, 9, -36, 44, -21, 23, 60, 1, -45, -11, 15, 40,
      -10, -49, 44, 14, 26, -12, -63, -37, 38, 9, -40, -11, 18, -63, 63, -22,
      -1, 35, -30, 80, -40, -11, -82, 17, 9, -7, -38, -99, 8, 39, -25, 75,
      24, 3, -14, -47, -27, 8, 33, 59, 7, -20, 40, -52, -51, -22, 0, 27,
  };
  // clang-format on
  /// The 7-bit table index of state s (its low 8 bits: sym_{t-d} = (s >> 2d) & 3).
  static constexpr std::uint32_t index(std::uint32_t s) noexcept {
    return ((s >> 7) & 1u) | (((s >> 4) & 3u) << 1) | (((s >> 2) & 3u) << 3) | ((s & 3u) << 5);
  }
  static constexpr std::int32_t value(std::uint32_t s, int = 0) noexcept {
    return kTable[index(s)];
  }
};

/// The bit-shift trellis scheme (see the top of this file).
template <int L, int K, int V, class Fn>
struct ConvCode {
  static_assert(L >= 2 && L <= 16, "ConvCode: L must be in [2, 16]");
  static_assert(K >= 1 && K <= 4, "ConvCode: K must be in [1, 4]");
  static_assert(V == Fn::kV, "ConvCode: V must be the code's number of values per state");
  static_assert(K * V < L, "ConvCode: a step's bits must be fewer than the state's");

  using Code = std::uint8_t;  // a weight's K-bit symbol
  using CodeFn = Fn;
  struct Params {
    f16 scale;
  };

  static constexpr int kL = L;
  static constexpr int kK = K;
  static constexpr int kV = V;
  static constexpr int kKV = K * V;
  static constexpr int kCodeBits = K;
  /// Kernel layouts keep the stream MSB-first, so 16-bit windows read as states (seq_tiles.hpp),
  /// unless the code reads its windows LSB-first (CodeTap7).
  static constexpr bool kStreamMsbFirst = [] {
    if constexpr (requires { Fn::kStreamMsbFirst; }) {
      return Fn::kStreamMsbFirst;
    } else {
      return true;
    }
  }();
  static constexpr int kParamBits = ScaleStorage<f16>::kBits;
  static constexpr int kParamBytes = 2;
  static constexpr std::uint32_t kMinCode = 0;
  static constexpr std::uint32_t kMaxCode = (1u << K) - 1;
  static constexpr std::uint32_t kStateMask = (1u << L) - 1;
  /// The fewest steps a group may have (its stream must hold one window).
  static constexpr Index kMinSteps = (L + kKV - 1) / kKV;
  /// Symbols a state spans.
  static constexpr Index kWindowSymbols = (L + K - 1) / K;

  static std::string name() {
    return "conv_l" + std::to_string(L) + "k" + std::to_string(K) + "v" + std::to_string(V) + "_" +
           Fn::name() + "_f16";
  }
  /// Family 5 for the codes of ids 0..3 (two bits of the variant byte); later codes (ids 4..7)
  /// are family 7 with id − 4 there, so the descriptors of files written before them hold.
  static constexpr SchemeDescriptor descriptor() {
    static_assert(Fn::kId >= 0 && Fn::kId < 8 && V <= 4);
    return {static_cast<std::uint8_t>(Fn::kId < 4 ? 5 : 7), static_cast<std::uint8_t>(K),
            static_cast<std::uint8_t>((L - 1) | ((V - 1) << 4) | ((Fn::kId % 4) << 6)),
            ScaleStorage<f16>::kId};
  }

  static float scale(const Params& p) noexcept { return ScaleStorage<f16>::load(p.scale); }
  static Params make(float s) noexcept { return Params{ScaleStorage<f16>::store(s)}; }
  static bool params_finite(const Params& p) noexcept { return std::isfinite(scale(p)); }
  static void write_params(const Params& p, std::byte* out) noexcept {
    detail::store_le(out, p.scale);
  }
  static Params read_params(const std::byte* in) noexcept {
    return Params{detail::load_le<f16>(in)};
  }
  static const char* check_params(const Params& p) noexcept {
    return params_finite(p) ? nullptr : "trellis scale is not finite";
  }

  /// Throws Error unless a group of n weights is whole steps and holds a window.
  static void check_group(Index n) {
    if (n % V != 0 || n / V < kMinSteps)
      detail::fail(name(), ": a group of ", n, " weights is not a whole number (>= ", kMinSteps,
                   ") of ", V, "-weight steps");
  }

  /// The state before step 0 of the group `sym` (its last symbols, circularly).
  static std::uint32_t initial_state(std::span<const std::uint8_t> sym) noexcept {
    const Index n = static_cast<Index>(sym.size());
    std::uint32_t s = 0;
    for (Index i = 0; i < kWindowSymbols; ++i) {
      const Index j = ((n - kWindowSymbols + i) % n + n) % n;
      s = (s << K) | (sym[static_cast<std::size_t>(j)] & kMaxCode);
    }
    return s & kStateMask;
  }

  /// The state after one more step whose V symbols start at `sym`.
  static std::uint32_t next_state(std::uint32_t s, const std::uint8_t* sym) noexcept {
    for (int v = 0; v < V; ++v) s = (s << K) | (sym[v] & kMaxCode);
    return s & kStateMask;
  }

  /// The step's new bits from the state (its symbols in order, the earlier in the high bits).
  static std::uint8_t symbol_of(std::uint32_t state, int v) noexcept {
    return static_cast<std::uint8_t>((state >> (K * (V - 1 - v))) & kMaxCode);
  }

  /// The integer path (codes with integer values): v = Code::value(s_t, v) of every weight and
  /// the one scale of the group, ŵ = scales[0]·v.
  static void decode_group_int(std::span<const std::uint8_t> sym, const Params& p,
                               std::span<std::int32_t> vals, std::span<float> scales) noexcept
      requires(Fn::kIntegerValues) {
    std::uint32_t s = initial_state(sym);
    for (std::size_t t = 0; t * V < sym.size(); ++t) {
      s = next_state(s, sym.data() + t * V);
      for (int v = 0; v < V; ++v)
        vals[t * V + static_cast<std::size_t>(v)] = static_cast<std::int32_t>(Fn::value(s, v));
    }
    scales[0] = scale(p);
  }
  /// Whether the integer path exists (codes with integer values), and the weights per float
  /// scale on it (0: the whole group).
  static constexpr bool kIntegerPath = Fn::kIntegerValues;
  static constexpr Index kIntSubgroup = 0;

  /// ŵ of every weight of a group of symbols (check_group(sym.size()) must hold).
  static void decode_group(std::span<const std::uint8_t> sym, const Params& p,
                           std::span<float> out) noexcept {
    const float sc = scale(p);
    std::uint32_t s = initial_state(sym);
    for (std::size_t t = 0; t * V < sym.size(); ++t) {
      s = next_state(s, sym.data() + t * V);
      for (int v = 0; v < V; ++v)
        out[t * V + static_cast<std::size_t>(v)] = sc * static_cast<float>(Fn::value(s, v));
    }
  }
};

}  // namespace lowbit
