// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/plain.hpp: Plain, the canonical layout: a little-endian bitstream per row.
//
// # What is a packing layout?
// A layout says where the code of weight (r, k) lives in a byte array, nothing else: it never
// looks at values or parameters. Plain is the only layout lowbit persists (io/); kernel layouts
// (interleaved tiles, bit planes) are rebuilt from it in memory by repack.
//
// # Plain
// Each row is a little-endian bitstream of B-bit codes in logical order: code k of a row occupies
// stream bits [k·B, k·B + B), and stream bit j is bit (j mod 8) of byte j/8 of that row. Every
// row starts on a byte boundary (row_bytes = ceil(cols·B/8)), so rows can be handed to threads
// and kernels independently; the unused high bits of a row's last byte are zero.
//
// Example: B = 3, one row of 5 codes c0..c4 (2 bytes; c2 straddles them: its two low bits are
// bits 6-7 of byte 0 and its top bit is bit 0 of byte 1; the top bit of byte 1 is padding):
//
//     byte 0:  bit 7 6 5 4 3 2 1 0      byte 1:  bit 7 6 5 4 3 2 1 0
//                  2 2 1 1 1 0 0 0                   - 4 4 4 3 3 3 2
//              (digit = index of the code the bit belongs to)
//
// B = 4 puts code 2i in the low nibble of byte i and code 2i+1 in the high nibble; B = 8 is one
// byte per code; B = 1 packs code 8i+j at bit j of byte i.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/types.hpp"

namespace lowbit {

struct Plain {
  static constexpr Index kTileRows = 1;
  static constexpr Index kTileDepth = 1;
  /// Persisted name in io/ files: never change.
  static constexpr std::string_view name() { return "plain"; }

  /// Bytes of one row of `cols` codes of `bits` bits.
  static constexpr Index row_bytes_for(int bits, Index cols) noexcept {
    return (cols / 8) * bits + ceil_div<Index>((cols % 8) * bits, 8);
  }
  template <QuantScheme S>
  requires(S::kCodeBits >= 1 && S::kCodeBits <= 8) static constexpr Index
      row_bytes(Index cols) noexcept {
    return row_bytes_for(S::kCodeBits, cols);
  }
  template <QuantScheme S>
  requires(S::kCodeBits >= 1 && S::kCodeBits <= 8) static Index
      packed_bytes(Index rows, Index cols) {
    return detail::checked_mul(rows, row_bytes<S>(cols), "Plain::packed_bytes");
  }

  /// The code of weight (r, k): the scalar accessor that defines this layout.
  template <QuantScheme S>
  requires(S::kCodeBits >= 1 && S::kCodeBits <= 8) static std::uint32_t
      load_code(std::span<const std::byte> in, Index /*rows*/, Index cols, Index r,
                Index k) noexcept {
    return get_bits(in.data() + r * row_bytes<S>(cols), S::kCodeBits, k);
  }
  template <QuantScheme S>
  requires(S::kCodeBits >= 1 &&
           S::kCodeBits <= 8) static void store_code(std::span<std::byte> out, Index /*rows*/,
                                                     Index cols, Index r, Index k,
                                                     std::uint32_t code) noexcept {
    put_bits(out.data() + r * row_bytes<S>(cols), S::kCodeBits, k, code);
  }

  /// Code k of a row stream of `bits`-bit codes.
  static std::uint32_t get_bits(const std::byte* row, int bits, Index k) noexcept {
    const Index bit = k * bits;
    const Index byte = bit >> 3;
    const int shift = static_cast<int>(bit & 7);
    std::uint32_t v = std::to_integer<std::uint32_t>(row[byte]) >> shift;
    if (shift + bits > 8) v |= std::to_integer<std::uint32_t>(row[byte + 1]) << (8 - shift);
    return v & ((1u << bits) - 1u);
  }
  /// Overwrites code k of a row stream (the other bits are kept).
  static void put_bits(std::byte* row, int bits, Index k, std::uint32_t code) noexcept {
    const std::uint32_t mask = (1u << bits) - 1u;
    code &= mask;
    const Index bit = k * bits;
    const Index byte = bit >> 3;
    const int shift = static_cast<int>(bit & 7);
    row[byte] = (row[byte] & std::byte(static_cast<std::uint8_t>(~(mask << shift)))) |
                std::byte(static_cast<std::uint8_t>(code << shift));
    if (shift + bits > 8) {
      const int hi = 8 - shift;
      row[byte + 1] = (row[byte + 1] & std::byte(static_cast<std::uint8_t>(~(mask >> hi)))) |
                      std::byte(static_cast<std::uint8_t>(code >> hi));
    }
  }

  /// Packs n codes (each < 2^bits) into a row stream, zeroing the padding bits. Bulk equivalent
  /// of put_bits for k = 0..n-1, eight codes (= `bits` whole bytes) at a time.
  template <int Bits, class Code>
  static void pack_row(const Code* codes, Index n, std::byte* out) noexcept {
    static_assert(Bits >= 1 && Bits <= 8);
    Index k = 0;
    if constexpr ((Bits == 4 || Bits == 2) && sizeof(Code) == 1) {
      // No loop here relies on the compiler vectorising it (GCC does not at -O2).
#if defined(__GNUC__)
      if constexpr (Bits == 4) {
        // 32 codes a step in vector extensions: the even and the odd codes picked by two byte
        // shuffles, then low | high << 4 (vpshufb / uzp on every target with vectors).
        using V32 = std::uint8_t __attribute__((vector_size(32)));
        using V16 = std::uint8_t __attribute__((vector_size(16)));
        for (; k + 32 <= n; k += 32) {
          V32 c;
          std::memcpy(&c, codes + k, 32);
          const V16 lo = __builtin_shufflevector(c, c, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22,
                                                 24, 26, 28, 30);
          const V16 hi = __builtin_shufflevector(c, c, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23,
                                                 25, 27, 29, 31);
          const V16 b = (lo & 15) | (hi << 4);
          std::memcpy(out + k / 2, &b, 16);
        }
      }
#endif
      // Eight codes a step as one 64-bit word (code j in byte j, little-endian host): each fold
      // ORs a neighbour's bits above a field and masks, halving the fields' spacing, until the
      // eight fields are adjacent in the low Bits bytes; about one operation a code.
      for (; k + 8 <= n; k += 8) {
        std::uint64_t x;
        std::memcpy(&x, codes + k, 8);
        if constexpr (Bits == 4) {
          x &= 0x0f0f0f0f0f0f0f0full;
          x = (x | (x >> 4)) & 0x00ff00ff00ff00ffull;
          x = (x | (x >> 8)) & 0x0000ffff0000ffffull;
          x = x | (x >> 16);
        } else {
          x &= 0x0303030303030303ull;
          x = (x | (x >> 6)) & 0x000f000f000f000full;
          x = (x | (x >> 12)) & 0x000000ff000000ffull;
          x = x | (x >> 24);
        }
        std::memcpy(out + (k / 8) * Bits, &x, Bits);  // little-endian host (config.hpp)
      }
      if (k < n) {
        unsigned b = 0;
        Index byte = (k / 8) * Bits;
        int shift = 0;
        for (; k < n; ++k) {
          b |= (static_cast<unsigned>(codes[k]) & kLowMask<Bits>) << shift;
          shift += Bits;
          if (shift == 8) {
            out[byte++] = std::byte(static_cast<std::uint8_t>(b));
            b = 0;
            shift = 0;
          }
        }
        if (shift != 0) out[byte] = std::byte(static_cast<std::uint8_t>(b));
      }
      return;
    }
    if constexpr (Bits == 8 || Bits == 4 || Bits == 2) {
      // Whole bytes of 8/Bits codes: a plain map loop the compiler vectorises.
      constexpr int kPer = 8 / Bits;
      const Index whole = n / kPer;
      for (Index i = 0; i < whole; ++i) {
        unsigned b = 0;
        for (int j = 0; j < kPer; ++j)
          b |= (static_cast<unsigned>(codes[i * kPer + j]) & kLowMask<Bits>) << (j * Bits);
        out[i] = std::byte(static_cast<std::uint8_t>(b));
      }
      k = whole * kPer;
      if (k < n) {
        unsigned b = 0;
        for (Index j = 0; k + j < n; ++j)
          b |= (static_cast<unsigned>(codes[k + j]) & kLowMask<Bits>) << (j * Bits);
        out[whole] = std::byte(static_cast<std::uint8_t>(b));
      }
      return;
    }
    for (; k + 8 <= n; k += 8) {
      std::uint64_t acc = 0;
      for (int j = 0; j < 8; ++j)
        acc |= static_cast<std::uint64_t>(codes[k + j] & kLowMask<Bits>) << (j * Bits);
      std::memcpy(out + (k / 8) * Bits, &acc, Bits);  // little-endian host (config.hpp)
    }
    if (k < n) {
      std::uint64_t acc = 0;
      for (Index j = 0; k + j < n; ++j)
        acc |= static_cast<std::uint64_t>(codes[k + j] & kLowMask<Bits>) << (j * Bits);
      const Index tail_bytes = ceil_div<Index>((n - k) * Bits, 8);
      for (Index b = 0; b < tail_bytes; ++b)
        out[(k / 8) * Bits + b] = std::byte(static_cast<std::uint8_t>(acc >> (8 * b)));
    }
  }

  /// Unpacks n codes of a row stream: the bulk equivalent of get_bits for k = 0..n-1.
  template <int Bits, class Code>
  static void unpack_row(const std::byte* in, Index n, Code* codes) noexcept {
    static_assert(Bits >= 1 && Bits <= 8);
    Index k = 0;
    for (; k + 8 <= n; k += 8) {
      std::uint64_t acc = 0;
      std::memcpy(&acc, in + (k / 8) * Bits, Bits);  // little-endian host (config.hpp)
      for (int j = 0; j < 8; ++j)
        codes[k + j] = static_cast<Code>((acc >> (j * Bits)) & kLowMask<Bits>);
    }
    if (k < n) {
      std::uint64_t acc = 0;
      const Index tail_bytes = ceil_div<Index>((n - k) * Bits, 8);
      for (Index b = 0; b < tail_bytes; ++b)
        acc |= std::to_integer<std::uint64_t>(in[(k / 8) * Bits + b]) << (8 * b);
      for (Index j = 0; k + j < n; ++j)
        codes[k + j] = static_cast<Code>((acc >> (j * Bits)) & kLowMask<Bits>);
    }
  }
};

}  // namespace lowbit
