// SPDX-License-Identifier: Apache-2.0
// lowbit/io/format.hpp: the on-disk format of a Plain PackedMatrix, and its header reader.
//
// # lowbit packed-matrix file, version 1 (all integers little-endian)
//
//   offset  bytes  field
//   0       8      magic "LOWBITPM"
//   8       4      format version = 1
//   12      4      header bytes H (offset of the parameter array) = 68 + S + N
//   16      1      scheme family      (1 symmetric, 2 asymmetric)
//   17      1      code bits          (1..8)
//   18      1      scheme variant     (symmetric convention / asymmetric offset kind)
//   19      1      scale storage      (0 f32, 1 f16, 2 bf16)
//   20      1      granularity kind   (0 per tensor, 1 per channel, 2 per group)
//   21      1      bytes per row parameter set R (schemes with RowParams, CCQ; else 0)
//   22      2      reserved, zero
//   24      4      group size G       (per group only, else 0)
//   28      4      bytes per parameter set P
//   32      8      rows
//   40      8      cols
//   48      8      parameter sets C   (= granularity's param_count(rows, cols))
//   56      8      code bytes B       (= rows · ceil(cols · bits / 8))
//   64      2      scheme name length S (1..255)
//   66      2      layout name length N (1..255)
//   68      S      scheme name, ASCII (Scheme::name(), e.g. "symmetric_b4_signed_max_f16")
//   68+S    N      layout name, ASCII ("plain")
//   H       C·P    parameter sets, each in the scheme's write_params encoding
//   H+C·P   rows·R row parameter sets (write_row_params), when R > 0
//   …       B      codes, the Plain layout's bytes
//   end-4   4      CRC-32 (IEEE 802.3, reflected 0xEDB88320) of every byte before it
//
// A reader checks every field and size *before* using it: magic, version, exact total length
// (truncated or trailing bytes are errors), reserved bytes, overflow of every product, the
// checksum, then each parameter set (finite scales, zero points in range) and each code (inside
// the scheme's code range, zero padding bits). Any failure throws lowbit::Error naming the field.
// Scheme ids, names and this layout never change within version 1 (gemma's kTypeStrings rule).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "lowbit/config.hpp"
#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"

#if LOWBIT_HAS_PCLMUL
#include <immintrin.h>
#endif

namespace lowbit::io {

inline constexpr std::array<char, 8> kMagic = {'L', 'O', 'W', 'B', 'I', 'T', 'P', 'M'};
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kFixedHeaderBytes = 68;
inline constexpr std::size_t kChecksumBytes = 4;
/// Largest rows or cols a file may declare (2^40): keeps every size product far from overflow.
inline constexpr std::uint64_t kMaxDim = std::uint64_t{1} << 40;

namespace detail {

/// Slicing-by-8 tables: t[0] is the bytewise CRC table, t[k][i] the CRC of byte i followed by k
/// zero bytes, so eight bytes are folded per step (about 8× the bytewise loop; a 1 GB model file
/// is checksummed in well under a second).
inline constexpr std::array<std::array<std::uint32_t, 256>, 8> make_crc_tables() {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (std::uint32_t i = 0; i < 256; ++i)
    for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xffu];
  return t;
}
inline constexpr std::array<std::array<std::uint32_t, 256>, 8> kCrcTables = make_crc_tables();

}  // namespace detail

namespace detail {

/// The table-driven CRC-32 of `n` bytes at p (eight bytes a step, slicing-by-8), on the
/// pre-inverted remainder `crc`. The reference every faster path is tested against.
inline std::uint32_t crc32_tables(const std::byte* p, std::size_t n, std::uint32_t crc) noexcept {
  const auto& t = kCrcTables;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint32_t lo, hi;  // little-endian words (io/ supports only little-endian targets)
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= crc;
    crc = t[7][lo & 0xffu] ^ t[6][(lo >> 8) & 0xffu] ^ t[5][(lo >> 16) & 0xffu] ^ t[4][lo >> 24] ^
          t[3][hi & 0xffu] ^ t[2][(hi >> 8) & 0xffu] ^ t[1][(hi >> 16) & 0xffu] ^ t[0][hi >> 24];
  }
  for (; n > 0; --n, ++p)
    crc = t[0][(crc ^ std::to_integer<std::uint32_t>(*p)) & 0xffu] ^ (crc >> 8);
  return crc;
}

#if LOWBIT_HAS_PCLMUL
/// The same remainder over the first n - n % 16 bytes (n >= 64) by carry-less multiplication
/// (Gopal et al., "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ", Intel 2009):
/// four 128-bit lanes are folded forward 512 bits a step (x^(512±32) mod P), then into one lane
/// (x^(128±32) mod P), then 128 → 64 → 32 bits and a Barrett reduction (μ = x^64 / P). The
/// constants are those of the reflected polynomial 0xEDB88320 (bit-reversed, shifted by one,
/// as the reflected domain needs). About 12 bytes a cycle on one core instead of ~1.5.
inline std::uint32_t crc32_clmul(const std::byte* p, std::size_t n, std::uint32_t crc) noexcept {
  const __m128i k12 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4);  // high, low
  const __m128i k34 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
  const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124);
  const __m128i poly = _mm_set_epi64x(0x1f7011641, 0x1db710641);  // μ, P'
  const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
  auto load = [](const std::byte* q) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
  };
  auto fold = [](__m128i x, __m128i k, __m128i next) {
    return _mm_xor_si128(
        _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next);
  };
  __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(crc)));
  __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
  p += 64;
  n -= 64;
  for (; n >= 64; n -= 64, p += 64) {
    x0 = fold(x0, k12, load(p));
    x1 = fold(x1, k12, load(p + 16));
    x2 = fold(x2, k12, load(p + 32));
    x3 = fold(x3, k12, load(p + 48));
  }
  x0 = fold(x0, k34, x1);
  x0 = fold(x0, k34, x2);
  x0 = fold(x0, k34, x3);
  for (; n >= 16; n -= 16, p += 16) x0 = fold(x0, k34, load(p));
  // 128 → 64 bits (appending the 32 zero bits of the CRC), then 64 → 32.
  x0 = _mm_xor_si128(_mm_srli_si128(x0, 8), _mm_clmulepi64_si128(x0, k34, 0x10));
  x0 = _mm_xor_si128(_mm_srli_si128(x0, 4),
                     _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), k5, 0x00));
  // Barrett: q = (low 32 bits · μ) mod x^32, remainder = x ^ q·P'.
  __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), poly, 0x10);
  t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), poly, 0x00);
  return static_cast<std::uint32_t>(_mm_extract_epi32(_mm_xor_si128(x0, t), 1));
}
#endif

}  // namespace detail

/// CRC-32 (IEEE) of bytes; crc32("123456789") == 0xCBF43926. `crc` continues a previous result:
/// crc32(b, crc32(a)) == crc32(a followed by b). Carry-less multiplication where the target has
/// it (LOWBIT_HAS_PCLMUL), eight table lookups a step otherwise: the same value either way.
inline std::uint32_t crc32(std::span<const std::byte> bytes, std::uint32_t crc = 0) noexcept {
  crc = ~crc;
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
#if LOWBIT_HAS_PCLMUL
  if (n >= 64) {
    const std::size_t folded = n - n % 16;
    crc = detail::crc32_clmul(p, folded, crc);
    p += folded;
    n -= folded;
  }
#endif
  return ~detail::crc32_tables(p, n, crc);
}

namespace detail {
/// a·b mod P in GF(2)[x], CRC-32's reflected representation (bit 31 is x^0): b is shifted
/// through x^0 .. x^31 while the bits of a select which multiples are summed.
constexpr std::uint32_t crc_multiply(std::uint32_t a, std::uint32_t b) noexcept {
  std::uint32_t product = 0;
  for (std::uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if (a & m) product ^= b;
    b = (b & 1u) ? (b >> 1) ^ 0xEDB88320u : b >> 1;
  }
  return product;
}
/// x^(2^k) mod P for k = 0..63 (x^1 is bit 30).
inline constexpr std::array<std::uint32_t, 64> kCrcPowers = [] {
  std::array<std::uint32_t, 64> t{};
  std::uint32_t p = 1u << 30;
  for (auto& v : t) {
    v = p;
    p = crc_multiply(p, p);
  }
  return t;
}();
}  // namespace detail

/// The CRC-32 of a followed by b from crc32(a), crc32(b) and b's length: appending n bytes
/// multiplies a's remainder by x^(8n), and the CRC's pre- and post-inversion cancel in the sum,
/// so crc32_combine(crc32(a), crc32(b), |b|) == crc32(a followed by b) (|b| < 2^61). O(log n): a
/// writer checksums a file's parts in the order it produces them, not the order they are stored.
inline std::uint32_t crc32_combine(std::uint32_t crc_a, std::uint32_t crc_b,
                                   std::uint64_t b_bytes) noexcept {
  std::uint32_t shift = 1u << 31;                               // x^0
  for (std::uint64_t n = b_bytes, k = 3; n != 0; n >>= 1, ++k)  // x^(8n): Π x^(2^k), n's bits
    if (n & 1u) shift = detail::crc_multiply(detail::kCrcPowers[k & 63], shift);
  return detail::crc_multiply(shift, crc_a) ^ crc_b;
}

/// crc32 of any message followed by its own crc32 (little-endian): the same constant for every
/// message (a property of CRCs with pre- and post-inversion), so the CRC of a checked file image
/// is known without reading it again.
inline constexpr std::uint32_t kCrc32Residue = 0x2144DF1Cu;

/// Everything the header of a file says, validated for internal consistency.
struct FileInfo {
  std::uint32_t version = 0;
  SchemeDescriptor scheme{};
  GranularityKind granularity = GranularityKind::kPerTensor;
  std::uint32_t group_size = 0;
  std::uint32_t param_bytes = 0;
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  std::uint64_t param_count = 0;
  std::uint64_t code_bytes = 0;
  std::string scheme_name;
  std::string layout_name;
  std::uint32_t row_param_bytes = 0;
  std::size_t params_offset = 0;
  std::size_t row_params_offset = 0;
  std::size_t codes_offset = 0;
  std::size_t total_bytes = 0;
};

/// Reads and checks the header and the checksum of a whole file image. Throws Error naming the
/// first problem found. Does not check the payload against a scheme (io::deserialize does).
inline FileInfo read_header(std::span<const std::byte> file) {
  using lowbit::detail::fail;
  using lowbit::detail::load_le;
  if (file.size() < kFixedHeaderBytes + kChecksumBytes) {
    fail("io: file is truncated: ", file.size(), " bytes, smaller than the ",
         kFixedHeaderBytes + kChecksumBytes, "-byte minimum");
  }
  const std::byte* p = file.data();
  for (std::size_t i = 0; i < kMagic.size(); ++i) {
    if (std::to_integer<char>(p[i]) != kMagic[i])
      fail("io: bad magic: not a lowbit packed-matrix file");
  }
  FileInfo info;
  info.version = load_le<std::uint32_t>(p + 8);
  if (info.version != kFormatVersion)
    fail("io: unsupported format version ", info.version, " (this reader reads 1)");
  const auto header_bytes = load_le<std::uint32_t>(p + 12);
  info.scheme.family = load_le<std::uint8_t>(p + 16);
  info.scheme.bits = load_le<std::uint8_t>(p + 17);
  info.scheme.variant = load_le<std::uint8_t>(p + 18);
  info.scheme.scale_storage = load_le<std::uint8_t>(p + 19);
  const auto gran = load_le<std::uint8_t>(p + 20);
  if (gran > 2) fail("io: unknown granularity kind ", int{gran});
  info.granularity = static_cast<GranularityKind>(gran);
  info.row_param_bytes = load_le<std::uint8_t>(p + 21);
  if (info.row_param_bytes > 64)
    fail("io: row parameter set size ", info.row_param_bytes, " outside 0..64");
  if (p[22] != std::byte{0} || p[23] != std::byte{0})
    fail("io: reserved header bytes are not zero");
  info.group_size = load_le<std::uint32_t>(p + 24);
  info.param_bytes = load_le<std::uint32_t>(p + 28);
  info.rows = load_le<std::uint64_t>(p + 32);
  info.cols = load_le<std::uint64_t>(p + 40);
  info.param_count = load_le<std::uint64_t>(p + 48);
  info.code_bytes = load_le<std::uint64_t>(p + 56);
  const auto name_len = load_le<std::uint16_t>(p + 64);
  const auto layout_len = load_le<std::uint16_t>(p + 66);
  if (info.scheme.bits < 1 || info.scheme.bits > 8)
    fail("io: code bits ", int{info.scheme.bits}, " outside 1..8");
  if ((info.granularity == GranularityKind::kPerGroup) != (info.group_size != 0)) {
    fail("io: group size ", info.group_size, " does not match granularity kind ", int{gran});
  }
  if (info.param_bytes < 1 || info.param_bytes > 64)
    fail("io: parameter set size ", info.param_bytes, " outside 1..64");
  if (info.rows > kMaxDim || info.cols > kMaxDim)
    fail("io: shape ", info.rows, " x ", info.cols, " exceeds 2^40");
  if (name_len < 1 || name_len > 255 || layout_len < 1 || layout_len > 255) {
    fail("io: name lengths ", name_len, "/", layout_len, " outside 1..255");
  }
  if (header_bytes != kFixedHeaderBytes + name_len + layout_len) {
    fail("io: header size ", header_bytes, " does not match its name lengths");
  }
  // Expected sizes, each product overflow-checked in 64 bits before it is compared or used.
  auto mul = [](std::uint64_t a, std::uint64_t b) {
    std::uint64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) fail("io: sizes in the header overflow");
    return r;
  };
  const std::uint64_t row_bytes =
      (info.cols * info.scheme.bits + 7) / 8;  // cols < 2^40: no overflow
  if (info.code_bytes != mul(info.rows, row_bytes)) {
    fail("io: code size ", info.code_bytes, " does not match ", info.rows, " rows of ", row_bytes,
         " bytes");
  }
  std::uint64_t expected_params = 0;
  if (info.rows != 0 && info.cols != 0) {
    switch (info.granularity) {
      case GranularityKind::kPerTensor:
        expected_params = 1;
        break;
      case GranularityKind::kPerChannel:
        expected_params = info.rows;
        break;
      case GranularityKind::kPerGroup:
        expected_params = mul(info.rows, (info.cols + info.group_size - 1) / info.group_size);
        break;
    }
  }
  if (info.param_count != expected_params) {
    fail("io: parameter count ", info.param_count, " does not match the shape (expected ",
         expected_params, ")");
  }
  const std::uint64_t param_total = mul(info.param_count, info.param_bytes);
  const std::uint64_t row_param_total = mul(info.rows, info.row_param_bytes);
  std::uint64_t total = 0;
  if (__builtin_add_overflow(std::uint64_t{header_bytes} + kChecksumBytes, param_total, &total) ||
      __builtin_add_overflow(total, row_param_total, &total) ||
      __builtin_add_overflow(total, info.code_bytes, &total)) {
    fail("io: sizes in the header overflow");
  }
  if (file.size() < total)
    fail("io: file is truncated: ", file.size(), " bytes, the header needs ", total);
  if (file.size() > total) fail("io: ", file.size() - total, " trailing bytes after the checksum");
  const std::size_t body = file.size() - kChecksumBytes;
  const auto stored_crc = load_le<std::uint32_t>(p + body);
  const auto crc = crc32(file.first(body));
  if (crc != stored_crc) fail("io: checksum mismatch (file is corrupted)");
  info.scheme_name.assign(reinterpret_cast<const char*>(p + kFixedHeaderBytes), name_len);
  info.layout_name.assign(reinterpret_cast<const char*>(p + kFixedHeaderBytes + name_len),
                          layout_len);
  info.params_offset = header_bytes;
  info.row_params_offset =
      header_bytes + static_cast<std::size_t>(info.param_count * info.param_bytes);
  info.codes_offset = info.row_params_offset + static_cast<std::size_t>(row_param_total);
  info.total_bytes = static_cast<std::size_t>(total);
  return info;
}

}  // namespace lowbit::io
