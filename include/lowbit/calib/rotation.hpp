// SPDX-License-Identifier: Apache-2.0
// lowbit/calib/rotation.hpp: randomized Hadamard rotation (QuIP#, QuaRot) of the input
// dimension of a linear layer: weights W·Qᵀ, activations Q·x, so (W·Qᵀ)·(Q·x) = W·x.
//
// # The transform
// For n = 2^k, Q = H_n·D: D a diagonal of random ±1 signs, H_n the orthonormal Walsh–Hadamard
// matrix (Sylvester order), applied in O(n log n) by the in-place fast transform with a final
// 1/√n. Q spreads every input channel over all n outputs, so a weight row with heavy tails or a
// few outlier channels becomes ≈ Gaussian (table H: t4 weights at 3 bits, NMSE 0.069 → 0.035).
//
// # Sizes that are not a power of two (the block scheme)
// Hadamard matrices exist only for n = 1, 2 and multiples of 4, and the fast transform only for
// powers of two; stories260K's FFN width 172 = 4·43 is neither. Padding to 256 would store 49 %
// more codes, so instead n is cut into its binary decomposition, largest block first
// (172 = 128 + 32 + 8 + 4 at offsets 0, 128, 160, 168), and one *round* is
//     x ← B·P·D·x,  B = diag(H_128, H_32, H_8, H_4),  P a random permutation,  D random signs.
// The permutation scatters every channel into a random block, so an outlier channel lands in a
// large block with probability block/n. One round alone would leave a channel that fell into a
// small block nearly unmixed (its energy spread over 4 outputs), so non-powers of two use two
// rounds with independent D and P: Q = B·P₂·D₂·B·P₁·D₁, orthogonal as a product of orthogonal
// factors. A power of two uses one round with P = identity (the standard randomized Hadamard
// transform). The cost stays O(n log n) per vector.
//
// The signs and permutations are drawn from a 64-bit seed with SplitMix64 (Fisher–Yates for P).
// A file stores only (n, generator id, seed): 128 bits per matrix instead of n signs and a
// permutation (which would cost 0.13 bpw on a 64-row matrix). The generator is specified in
// to_ints() and frozen.
#pragma once

#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/simd/f32x8.hpp"

namespace lowbit::calib {

/// Orthonormal in-place fast Walsh–Hadamard transform of x (size a power of two, or 0 or 1):
/// x ← H_n·x / √n, Sylvester order (H_2 = [[1, 1], [1, -1]]). For floats, the butterflies of
/// stride 8 and more run on eight-float lanes (simd/f32x8.hpp); a butterfly is one add and one
/// subtract per element, so the result is bit-identical to the scalar loop.
template <class T, class A = simd::Arch8>
void fwht(std::span<T> x) {
  const std::size_t n = x.size();
  if (n <= 1) return;
  if ((n & (n - 1)) != 0) lowbit::detail::fail("fwht: size ", n, " is not a power of two");
  T* v = x.data();
  for (std::size_t h = 1; h < n; h *= 2) {
#if LOWBIT_HAS_F32X8
    if constexpr (simd::kHasLanes<A> && std::is_same_v<T, float>) {
      using F = simd::F32x8<A>;
      if (h >= F::kLanes) {
        for (std::size_t i = 0; i < n; i += 2 * h) {
          for (std::size_t j = i; j < i + h; j += F::kLanes) {
            const F a = F::load(v + j), b = F::load(v + j + h);
            (a + b).store(v + j);
            (a - b).store(v + j + h);
          }
        }
        continue;
      }
    }
#endif
    for (std::size_t i = 0; i < n; i += 2 * h) {
      for (std::size_t j = i; j < i + h; ++j) {
        const T a = v[j], b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
    }
  }
  const T s = static_cast<T>(1.0 / std::sqrt(static_cast<double>(n)));
  for (std::size_t i = 0; i < n; ++i) v[i] *= s;
}

/// A randomized (block) Hadamard rotation Q of size n (see the essay at the top of this file).
class HadamardRotation {
 public:
  /// The identity of size 0 (no rotation).
  HadamardRotation() = default;

  /// Q of size n >= 1 with signs and permutations drawn from `seed`.
  HadamardRotation(Index n, std::uint64_t seed) : n_(n), seed_(seed) {
    if (n < 1 || n > (Index{1} << 30))
      lowbit::detail::fail("rotation: size ", n, " outside 1..2^30");
    const bool pow2 = (n & (n - 1)) == 0;
    const int rounds = pow2 ? 1 : 2;
    std::uint64_t state = seed;
    for (int r = 0; r < rounds; ++r) {
      Round rd;
      rd.signs.resize(static_cast<std::size_t>(n));
      for (auto& s : rd.signs) s = (splitmix64(state) >> 63) != 0 ? -1 : 1;
      rd.perm.resize(static_cast<std::size_t>(n));
      std::iota(rd.perm.begin(), rd.perm.end(), 0);
      if (!pow2) {
        for (std::size_t i = rd.perm.size() - 1; i > 0; --i) {
          const std::size_t j = static_cast<std::size_t>(splitmix64(state) % (i + 1));
          std::swap(rd.perm[i], rd.perm[j]);
        }
      }
      rounds_.push_back(std::move(rd));
    }
  }

  Index size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  int rounds() const noexcept { return static_cast<int>(rounds_.size()); }

  /// The blocks of the binary decomposition of n, largest first: (offset, length) pairs.
  static std::vector<std::pair<Index, Index>> blocks(Index n) {
    std::vector<std::pair<Index, Index>> out;
    Index off = 0;
    for (int b = 62; b >= 0; --b) {
      const Index len = Index{1} << b;
      if ((n & len) != 0) {
        out.emplace_back(off, len);
        off += len;
      }
    }
    return out;
  }

  /// x ← Q·x (x.size() == size()). `tmp` is scratch of any size (resized).
  template <class T>
  void apply(std::span<T> x, std::vector<T>& tmp) const {
    check(x.size());
    tmp.resize(x.size());
    for (const Round& rd : rounds_) {
      for (std::size_t i = 0; i < x.size(); ++i) {
        const std::size_t src = static_cast<std::size_t>(rd.perm[i]);
        tmp[i] = rd.signs[src] < 0 ? -x[src] : x[src];
      }
      for (const auto& [off, len] : blocks(n_))
        fwht(std::span<T>(tmp.data() + off, static_cast<std::size_t>(len)));
      std::copy(tmp.begin(), tmp.end(), x.begin());
    }
  }
  /// x ← Qᵀ·x, the inverse.
  template <class T>
  void apply_transpose(std::span<T> x, std::vector<T>& tmp) const {
    check(x.size());
    tmp.resize(x.size());
    for (auto it = rounds_.rbegin(); it != rounds_.rend(); ++it) {
      const Round& rd = *it;
      for (const auto& [off, len] : blocks(n_))
        fwht(std::span<T>(x.data() + off, static_cast<std::size_t>(len)));  // H is symmetric
      for (std::size_t i = 0; i < x.size(); ++i) {
        const std::size_t dst = static_cast<std::size_t>(rd.perm[i]);
        tmp[dst] = rd.signs[dst] < 0 ? -x[i] : x[i];
      }
      std::copy(tmp.begin(), tmp.end(), x.begin());
    }
  }
  /// Every row of m ← Q·row (m.cols() == size()): weights W ← W·Qᵀ, or activations.
  template <class T>
  void apply_rows(MatrixView<T> m) const {
    if (m.cols() != n_) lowbit::detail::fail("rotation: rows of ", m.cols(), " columns, Q is ", n_);
    std::vector<T> tmp;
    for (Index r = 0; r < m.rows(); ++r) apply(m.row(r), tmp);
  }

  /// The seed it was drawn from.
  std::uint64_t seed() const noexcept { return seed_; }

  /// The stored form, 4 integers: [n, generator = 1, seed low 32 bits, seed high 32 bits].
  /// Generator 1 is this file's: SplitMix64 from the seed; per round, n draws give the signs
  /// (bit 63 set = -1), then for non-powers of two Fisher–Yates over i = n-1 … 1 with
  /// j = draw mod (i + 1) swaps perm[i] and perm[j], starting from the identity. It is frozen:
  /// a stored rotation means the same Q forever.
  std::vector<std::int32_t> to_ints() const {
    return {static_cast<std::int32_t>(n_), 1, static_cast<std::int32_t>(seed_ & 0xffffffffu),
            static_cast<std::int32_t>(seed_ >> 32)};
  }
  /// Rebuilds a rotation from to_ints(); throws Error naming what is malformed.
  static HadamardRotation from_ints(std::span<const std::int32_t> v) {
    using lowbit::detail::fail;
    if (v.size() != 4) fail("rotation: ", v.size(), " integers, expected 4");
    if (v[0] < 1 || v[0] > (1 << 30)) fail("rotation: size ", v[0], " outside 1..2^30");
    if (v[1] != 1) fail("rotation: unknown generator ", v[1], " (this reader knows 1)");
    const std::uint64_t seed = static_cast<std::uint64_t>(static_cast<std::uint32_t>(v[2])) |
                               static_cast<std::uint64_t>(static_cast<std::uint32_t>(v[3])) << 32;
    return HadamardRotation(v[0], seed);
  }
  /// Storage bits of the stored form (4 int32).
  static constexpr int kStoredBits = 128;

 private:
  struct Round {
    std::vector<std::int32_t> signs;  // D, applied first
    std::vector<std::int32_t> perm;   // P: after D, y[i] = x[perm[i]]
  };
  void check(std::size_t size) const {
    if (static_cast<Index>(size) != n_)
      lowbit::detail::fail("rotation: vector of ", size, " elements, Q is ", n_);
  }
  static std::uint64_t splitmix64(std::uint64_t& s) noexcept {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  Index n_ = 0;
  std::uint64_t seed_ = 0;
  std::vector<Round> rounds_;
};

}  // namespace lowbit::calib
