// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/bitplanes.hpp: BitPlanes<NR, KB>, a lane-tiled kernel layout with one 1-bit plane
// per code bit (never persisted; built by repack).
//
// # Why
// Multi-plane schemes (Binary2: two sign planes with their own scales, BiLLM / ARB order 2) need
// each bit on its own in the kernel: an integer dot product per plane. Interleaved stores a 2-bit
// code as one 2-bit plane (pack/interleaved.hpp); BitPlanes stores bit p of every code in plane p,
// so a kernel gets plane p of a step with one shift and one mask, and plane q with another.
// For 1-bit codes it is byte for byte Interleaved<NR, KB>.
//
// # Geometry
// The lane-tiled geometry of Interleaved (NR-row tiles, KB-deep blocks, step j's lane vector of
// NR·4 bytes, byte 4r + i = code (r, 4j + i)). A block of B-bit codes is B planes of NR·KB/8 bytes,
// plane p first at byte p·NR·KB/8. Inside a plane, chunk s (NR·4 bytes) holds steps 8s .. 8s + 7:
// bit t of its byte b is bit p of byte b of step 8s + t's lane vector. KB must be a multiple of 32.
// Example: NR = 4, KB = 32, B = 2: block = 2 planes × 16 bytes; code (1, 13) = 0b10 sets bit 3
// (step 3) of byte 4·1 + 1 = 5 in plane 1 (block byte 16 + 5 = 21) and leaves plane 0's bit clear.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "lowbit/config.hpp"
#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/static_for.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/pack/interleaved.hpp"
#include "lowbit/pack/step_codec.hpp"

namespace lowbit {

template <int NR, int KB>
struct BitPlanes : detail::LaneTileGeometry<NR, KB> {
  static_assert(NR >= 1 && NR <= 64, "BitPlanes<NR, KB>: NR must be in 1..64 (kernels: 4, 8, 16)");
  static_assert(KB >= 32 && KB <= 1024 && KB % 32 == 0,
                "BitPlanes<NR, KB>: KB must be a multiple of 32 (one chunk of 8 steps per plane)");
  using Geometry = detail::LaneTileGeometry<NR, KB>;
  using Geometry::blocks;
  using Geometry::kLaneBytes;
  using Geometry::kSteps;
  using Geometry::tiles;
  static constexpr Index kPlaneBytes = NR * KB / 8;
  static constexpr std::string_view name() { return "bitplanes"; }  // never persisted
  static std::string type_name() {
    return "bitplanes_" + std::to_string(NR) + "x" + std::to_string(KB);
  }
  static constexpr Index block_bytes(int bits) noexcept { return bits * kPlaneBytes; }

  template <QuantScheme S>
  requires(S::kCodeBits >= 1 && S::kCodeBits <= 8) static Index
      packed_bytes(Index rows, Index cols) {
    const Index per_tile =
        detail::checked_mul(blocks(cols), block_bytes(S::kCodeBits), "BitPlanes::packed_bytes");
    return detail::checked_mul(tiles(rows), per_tile, "BitPlanes::packed_bytes");
  }
  /// Byte (of plane 0) and bit holding (r, k); plane p is p·kPlaneBytes further.
  static constexpr void locate(int bits, Index cols, Index r, Index k, Index& byte,
                               int& bit) noexcept {
    const Index kk = k % KB, step = kk / 4;
    byte = Geometry::block_of(cols, r, k) * block_bytes(bits) + (step / 8) * kLaneBytes +
           (r % NR) * 4 + kk % 4;
    bit = static_cast<int>(step % 8);
  }
  template <QuantScheme S>
  requires(S::kCodeBits >= 1 && S::kCodeBits <= 8) static std::uint32_t
      load_code(std::span<const std::byte> in, Index /*rows*/, Index cols, Index r,
                Index k) noexcept {
    Index byte = 0;
    int bit = 0;
    locate(S::kCodeBits, cols, r, k, byte, bit);
    std::uint32_t c = 0;
    for (int p = 0; p < S::kCodeBits; ++p)
      c |= ((std::to_integer<std::uint32_t>(in[static_cast<std::size_t>(byte + p * kPlaneBytes)]) >>
             bit) &
            1u)
           << p;
    return c;
  }
  template <QuantScheme S>
  requires(S::kCodeBits >= 1 &&
           S::kCodeBits <= 8) static void store_code(std::span<std::byte> out, Index /*rows*/,
                                                     Index cols, Index r, Index k,
                                                     std::uint32_t code) noexcept {
    Index byte = 0;
    int bit = 0;
    locate(S::kCodeBits, cols, r, k, byte, bit);
    for (int p = 0; p < S::kCodeBits; ++p) {
      std::byte& b = out[static_cast<std::size_t>(byte + p * kPlaneBytes)];
      const std::uint32_t v =
          (std::to_integer<std::uint32_t>(b) & ~(1u << bit)) | (((code >> p) & 1u) << bit);
      b = std::byte(static_cast<std::uint8_t>(v));
    }
  }

  /// Writes one (tile, block) from codes in lane order: lanes[j·NR·4 + 4r + i] = code (r, 4j+i).
  static void pack_block(int bits, const std::uint8_t* lanes, std::byte* out) noexcept {
    for (int p = 0; p < bits; ++p)
      for (Index s = 0; s < kSteps / 8; ++s)
        for (Index b = 0; b < kLaneBytes; ++b) {
          unsigned v = 0;
          for (int t = 0; t < 8; ++t) v |= ((lanes[(s * 8 + t) * kLaneBytes + b] >> p) & 1u) << t;
          out[p * kPlaneBytes + s * kLaneBytes + b] = std::byte(static_cast<std::uint8_t>(v));
        }
  }
  /// The inverse of pack_block: the scalar unpack every SIMD decoder must match.
  static void unpack_block(int bits, const std::byte* in, std::uint8_t* lanes) noexcept {
    for (Index i = 0; i < kSteps * kLaneBytes; ++i) lanes[i] = 0;
    for (int p = 0; p < bits; ++p)
      for (Index s = 0; s < kSteps / 8; ++s)
        for (Index b = 0; b < kLaneBytes; ++b) {
          const unsigned v = std::to_integer<unsigned>(in[p * kPlaneBytes + s * kLaneBytes + b]);
          for (int t = 0; t < 8; ++t)
            lanes[(s * 8 + t) * kLaneBytes + b] |= static_cast<std::uint8_t>(((v >> t) & 1u) << p);
        }
  }
};

/// BitPlanes's step codec (pack/step_codec.hpp): unit U = chunk U of every plane (8 steps); plane p
/// of step T is one shift and one mask; step() ORs the planes into the code for affine schemes.
template <int NR, int KB>
struct StepCodec<BitPlanes<NR, KB>> {
  static constexpr int kUnit = 8;
  template <class V>
  struct State {
    typename V::I raw[8]{};
  };
  template <class V, int Bits, int U>
  static LOWBIT_INLINE State<V> begin(const std::byte* block, int v) {
    using L = BitPlanes<NR, KB>;
    State<V> st;
    for (int p = 0; p < Bits; ++p)
      st.raw[p] = V::load(block + p * L::kPlaneBytes + U * L::kLaneBytes + v * V::kLanes * 4);
    return st;
  }
  /// Bit plane P of step T: bytes 0 or 1.
  template <class V, int T, int P>
  static LOWBIT_INLINE typename V::I plane(const State<V>& st) {
    return V::and_(V::template srli16<T>(st.raw[P]), V::set1_8(1));
  }
  template <class V, int Bits, int U, int T>
  static LOWBIT_INLINE typename V::I step(State<V>& st) {
    typename V::I c = plane<V, T, 0>(st);
    static_for<Bits - 1>([&](auto pp) {
      constexpr int P = pp.value + 1;
      c = V::or_(c, V::template slli16<P>(plane<V, T, P>(st)));
    });
    return c;
  }
};

}  // namespace lowbit
