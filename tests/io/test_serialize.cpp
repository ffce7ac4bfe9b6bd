// SPDX-License-Identifier: Apache-2.0
// tests/io/test_serialize.cpp: the packed-matrix file format: round trips, golden bytes, every
// truncation point, every single-byte corruption, mismatched types, hostile headers.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/io/serialize.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/rng.hpp"

using namespace lowbit;

namespace {

using Sym4f = Symmetric<4, SymmetricConvention::kSignedMax, float>;

// The file of a 2 x 3 matrix {{1, -2, 0.5}, {0, 0, 3}}, Symmetric<4, signed max, f32>, per
// channel. Written out by hand from format.hpp (scales 0.25 and -0.375, codes 12 0 10 / 8 8 0);
// the CRC-32 comes from an independent implementation (Python's zlib.crc32).
const std::vector<unsigned char> kGolden = {
    0x4c, 0x4f, 0x57, 0x42, 0x49, 0x54, 0x50, 0x4d, 0x01, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00,
    0x00, 0x01, 0x04, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
    0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x1b, 0x00, 0x05, 0x00, 0x73, 0x79, 0x6d, 0x6d, 0x65, 0x74, 0x72,
    0x69, 0x63, 0x5f, 0x62, 0x34, 0x5f, 0x73, 0x69, 0x67, 0x6e, 0x65, 0x64, 0x5f, 0x6d, 0x61,
    0x78, 0x5f, 0x66, 0x33, 0x32, 0x70, 0x6c, 0x61, 0x69, 0x6e, 0x00, 0x00, 0x80, 0x3e, 0x00,
    0x00, 0xc0, 0xbe, 0x0c, 0x0a, 0x88, 0x00, 0x85, 0xda, 0xd4, 0xb4};

std::vector<std::byte> golden_bytes() {
  std::vector<std::byte> b(kGolden.size());
  std::memcpy(b.data(), kGolden.data(), b.size());
  return b;
}

using Golden = PackedMatrix<Sym4f, PerChannel, Plain>;

Golden golden_matrix() {
  const std::vector<float> w{1.0f, -2.0f, 0.5f, 0.0f, 0.0f, 3.0f};
  return quantize<Sym4f, PerChannel, Plain>(MatrixView<const float>(w.data(), 2, 3),
                                            QuantizeOptions{});
}

std::string error_of(std::span<const std::byte> bytes) {
  try {
    (void)io::deserialize<Golden>(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

template <class S, class G>
void round_trip(Index rows, Index cols) {
  const std::vector<float> w = test::gaussian(static_cast<std::size_t>(rows * cols),
                                              static_cast<std::uint64_t>(rows * 131 + cols));
  QuantizeOptions o;
  o.fit.range = RangeFit::kClipSearch;
  const auto q = quantize<S, G, Plain>(MatrixView<const float>(w.data(), rows, cols), o);
  const auto bytes = io::serialize(q);
  const auto back = io::deserialize<PackedMatrix<S, G, Plain>>(bytes);
  REQUIRE(back.rows() == rows);
  REQUIRE(back.cols() == cols);
  REQUIRE(std::equal(back.codes().begin(), back.codes().end(), q.codes().begin(), q.codes().end()));
  REQUIRE(io::serialize(back) == bytes);
}

}  // namespace

TEST_CASE("serialize_into a reused buffer gives serialize's bytes", "[io]") {
  // A buffer that held a larger image (and garbage) is resized and rewritten completely:
  // reserved header bytes included.
  using S = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
  const std::vector<float> big = test::gaussian(9 * 96, 5), small = test::gaussian(3 * 40, 6);
  const auto a = quantize<S, PerGroup<32>, Plain>(MatrixView<const float>(big.data(), 9, 96));
  const auto b = quantize<S, PerGroup<32>, Plain>(MatrixView<const float>(small.data(), 3, 40));
  std::vector<std::byte> buf(5000, std::byte{0xa5});
  io::serialize_into(a, buf);
  REQUIRE(buf == io::serialize(a));
  std::fill(buf.begin(), buf.end(), std::byte{0xa5});
  io::serialize_into(b, buf);
  REQUIRE(buf == io::serialize(b));
  REQUIRE(io::deserialize<std::remove_cvref_t<decltype(b)>>(buf).codes().size() ==
          b.codes().size());
}

TEST_CASE("crc32 check value", "[io]") {
  const char* s = "123456789";
  CHECK(io::crc32(std::as_bytes(std::span<const char>(s, 9))) == 0xCBF43926u);
}

TEST_CASE("crc32 eight bytes at a time equals the bitwise definition, chained anywhere", "[io]") {
  // The definition, one bit at a time (reflected polynomial 0xEDB88320).
  auto bitwise = [](std::span<const std::byte> b) {
    std::uint32_t c = 0xffffffffu;
    for (std::byte x : b) {
      c ^= std::to_integer<std::uint32_t>(x);
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
  };
  std::vector<std::byte> b(300);
  std::uint32_t x = 12345;
  for (auto& v : b) v = static_cast<std::byte>((x = x * 1103515245u + 12345u) >> 24);
  for (std::size_t n = 0; n <= b.size(); ++n) {
    const std::span<const std::byte> part(b.data(), n);
    INFO("length " << n);
    REQUIRE(io::crc32(part) == bitwise(part));
    const std::size_t cut = n / 3;  // a chained call over the same bytes gives the same CRC
    REQUIRE(io::crc32(part.subspan(cut), io::crc32(part.first(cut))) == bitwise(part));
  }
}

TEST_CASE("crc32's carry-less fold equals the table path on every start and length", "[io]") {
  // io::crc32 folds 64 bytes a step where the target has PCLMUL; the table path is the one
  // checked against the bitwise definition above. Every start offset 0..15 (unaligned loads),
  // lengths across the 64- and 16-byte steps, and 1 MiB + 13 bytes.
  std::vector<std::byte> b((std::size_t{1} << 20) + 64);
  std::uint32_t x = 4242;
  for (auto& v : b) v = static_cast<std::byte>((x = x * 1103515245u + 12345u) >> 24);
  auto tables = [](std::span<const std::byte> s, std::uint32_t crc) {
    return ~io::detail::crc32_tables(s.data(), s.size(), ~crc);
  };
  for (std::size_t start = 0; start < 16; ++start)
    for (std::size_t n : {64, 65, 79, 80, 127, 128, 129, 191, 192, 255, 256, 1000, 4099}) {
      const std::span<const std::byte> part(b.data() + start, n);
      INFO("start " << start << ", length " << n);
      REQUIRE(io::crc32(part) == tables(part, 0));
      REQUIRE(io::crc32(part, 0xdeadbeefu) == tables(part, 0xdeadbeefu));
    }
  const std::span<const std::byte> big(b.data() + 3, (std::size_t{1} << 20) + 13);
  REQUIRE(io::crc32(big) == tables(big, 0));
}

TEST_CASE("crc32 of a message followed by its CRC is the residue constant", "[io]") {
  // What lets the archive writer take a checked packed image's CRC without a second pass.
  std::vector<std::byte> b(300 + 4);
  std::uint32_t x = 99;
  for (auto& v : b) v = static_cast<std::byte>((x = x * 1103515245u + 12345u) >> 24);
  for (std::size_t n : {0, 1, 7, 63, 64, 65, 300}) {
    const std::uint32_t c = io::crc32(std::span<const std::byte>(b.data(), n));
    std::vector<std::byte> m(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    for (int k = 0; k < 4; ++k) m.push_back(static_cast<std::byte>(c >> (8 * k)));
    REQUIRE(io::crc32(m) == io::kCrc32Residue);
  }
}

TEST_CASE("crc32_combine: the CRC of a followed by b from the two CRCs", "[io]") {
  // Against the CRC of the concatenation computed directly, for every cut of 300 bytes and for
  // long runs of zeros (lengths with high bits set, where the powers of x are multiplied in).
  std::vector<std::byte> b(300);
  std::uint32_t x = 777;
  for (auto& v : b) v = static_cast<std::byte>((x = x * 1103515245u + 12345u) >> 24);
  const std::span<const std::byte> all(b);
  for (std::size_t cut = 0; cut <= b.size(); ++cut) {
    INFO("cut " << cut);
    REQUIRE(io::crc32_combine(io::crc32(all.first(cut)), io::crc32(all.subspan(cut)),
                              b.size() - cut) == io::crc32(all));
  }
  for (std::size_t zeros : {std::size_t{1} << 16, (std::size_t{1} << 20) + 4097}) {
    std::vector<std::byte> z(zeros, std::byte{0});
    std::vector<std::byte> cat(b.begin(), b.end());
    cat.insert(cat.end(), z.begin(), z.end());
    REQUIRE(io::crc32_combine(io::crc32(all), io::crc32(z), zeros) == io::crc32(cat));
  }
  CHECK(io::crc32_combine(0x12345678u, 0u, 0) == 0x12345678u);  // b empty: crc32(b) = 0
}

TEST_CASE("golden bytes freeze the format", "[io]") {
  const Golden q = golden_matrix();
  CHECK(Sym4f::scale(q.params()[0]) == 0.25f);
  CHECK(Sym4f::scale(q.params()[1]) == -0.375f);
  CHECK(io::serialize(q) == golden_bytes());
  const Golden back = io::deserialize<Golden>(golden_bytes());
  CHECK(dequantize(back) == std::vector<float>{1.0f, -2.0f, 0.5f, 0.0f, 0.0f, 3.0f});
  const io::FileInfo info = io::read_header(golden_bytes());
  CHECK(info.scheme_name == "symmetric_b4_signed_max_f32");
  CHECK(info.layout_name == "plain");
  CHECK(info.rows == 2);
  CHECK(info.cols == 3);
}

TEST_CASE("round trips for every scheme family, granularity and tail shape", "[io]") {
  for (Index cols : {1, 7, 33, 64, 129}) {
    round_trip<Symmetric<3, SymmetricConvention::kRestricted, f16>, PerGroup<32>>(3, cols);
    round_trip<Symmetric<8, SymmetricConvention::kFullRange, bf16>, PerChannel>(2, cols);
    round_trip<Asymmetric<2, AsymmetricOffset::kIntZero, f16>, PerGroup<16>>(4, cols);
    round_trip<Asymmetric<5, AsymmetricOffset::kFloatMin, float>, PerTensor>(3, cols);
  }
  round_trip<Asymmetric<4, AsymmetricOffset::kIntZero, f16>, PerGroup<64>>(0, 0);
  round_trip<Asymmetric<4, AsymmetricOffset::kIntZero, f16>, PerGroup<64>>(3, 0);
}

TEST_CASE("every truncation point is an error", "[io]") {
  const auto bytes = golden_bytes();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const std::string e = error_of(std::span<const std::byte>(bytes.data(), n));
    INFO("length " << n);
    REQUIRE(!e.empty());
  }
  auto longer = bytes;
  longer.push_back(std::byte{0});
  CHECK(error_of(longer).find("trailing") != std::string::npos);
}

TEST_CASE("every single-byte corruption is an error", "[io]") {
  const auto bytes = golden_bytes();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (unsigned char x : {0x01, 0x10, 0x80, 0xff}) {
      auto bad = bytes;
      bad[i] ^= std::byte{x};
      INFO("byte " << i << " xor " << int{x});
      REQUIRE(!error_of(bad).empty());
    }
  }
}

TEST_CASE("a file of another type is refused by name", "[io]") {
  const auto bytes = golden_bytes();
  try {
    (void)io::deserialize<
        PackedMatrix<Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerChannel, Plain>>(bytes);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("symmetric_b4_signed_max_f32") != std::string::npos);
  }
  CHECK_THROWS_AS((io::deserialize<PackedMatrix<Sym4f, PerGroup<32>, Plain>>(bytes)), Error);
}

TEST_CASE("a scheme byte that disagrees with the scheme name is named", "[io]") {
  // Golden is symmetric_b4_signed_max_f32: family 1, 4 bits, scale storage 0 (f32).
  // (A changed code width, offset 17, already fails the code-size check of the header reader.)
  const std::pair<std::size_t, const char*> cases[] = {
      {16, "scheme family (offset 16) is 2"}, {19, "scheme scale storage (offset 19) is 2"}};
  for (const auto& [off, want] : cases) {
    const std::string e = error_of(test::patched(golden_bytes(), off, std::uint8_t{2}));
    INFO(e);
    CHECK(e.find(want) != std::string::npos);
    CHECK(e.find("symmetric_b4_signed_max_f32") != std::string::npos);
    CHECK(e.find("expected") == std::string::npos);  // not "'X', expected 'X'"
  }
}

TEST_CASE("read_file refuses a directory and a missing path by name", "[io]") {
  const std::string dir = LOWBIT_TEST_DATA_DIR;
  CHECK_THROWS_WITH(io::read_file(dir), LOWBIT_CONTAINS("is a directory, not a file"));
  CHECK_THROWS_WITH(io::load<Golden>(dir), LOWBIT_CONTAINS(dir));
  CHECK_THROWS_WITH(io::read_file(dir + "/no-such-file.lbpm"), LOWBIT_CONTAINS("no such file"));
  CHECK_THROWS_WITH(io::write_file(golden_bytes(), dir),
                    LOWBIT_CONTAINS("is a directory, not a file to write"));
  CHECK(io::read_file(dir + "/tiny.safetensors").size() > 0);
}

TEST_CASE("hostile but checksummed headers are refused before allocating", "[io]") {
  // Rewrite fields and fix the CRC, so only the structural checks can catch them.
  auto patch = [](const std::vector<std::byte>& b, std::size_t off, std::uint64_t v, int size) {
    switch (size) {
      case 1:
        return test::patched(b, off, static_cast<std::uint8_t>(v));
      case 4:
        return test::patched(b, off, static_cast<std::uint32_t>(v));
      default:
        return test::patched(b, off, v);
    }
  };
  const auto g = golden_bytes();
  // Huge shape with consistent counts: the file is far too short, so nothing is allocated.
  auto huge = patch(g, 32, std::uint64_t{1} << 39, 8);  // rows
  huge = patch(huge, 40, std::uint64_t{1} << 39, 8);    // cols
  huge = patch(huge, 48, std::uint64_t{1} << 39, 8);    // param count (per channel)
  huge = patch(huge, 56, (std::uint64_t{1} << 39) * (std::uint64_t{1} << 38),
               8);  // overflows? no: 2^77 wraps
  CHECK(!error_of(huge).empty());
  CHECK(error_of(patch(g, 32, std::uint64_t{1} << 41, 8)).find("exceeds") != std::string::npos);
  CHECK(error_of(patch(g, 48, 3, 8)).find("parameter count") != std::string::npos);
  CHECK(error_of(patch(g, 56, 5, 8)).find("code size") != std::string::npos);
  CHECK(error_of(patch(g, 8, 2, 4)).find("version") != std::string::npos);
  CHECK(error_of(patch(g, 17, 9, 1)).find("bits") != std::string::npos);
  CHECK(error_of(patch(g, 20, 7, 1)).find("granularity") != std::string::npos);
  // A NaN scale with a valid checksum is refused by the scheme's parameter check.
  CHECK(error_of(patch(g, 100, 0x7fc00000u, 4)).find("parameter set 0") != std::string::npos);
  // Non-zero padding bits after the last code of a row.
  CHECK(error_of(patch(g, 109, 0x1a, 1)).find("padding") != std::string::npos);
  // A restricted-grid file holding the unused code 0.
  using R = PackedMatrix<Symmetric<4, SymmetricConvention::kRestricted, f16>, PerChannel, Plain>;
  const std::vector<float> w{1.0f, 2.0f};
  auto rb = io::serialize(quantize<R::scheme_type, PerChannel, Plain>(
      MatrixView<const float>(w.data(), 1, 2), QuantizeOptions{}));
  rb = patch(rb, rb.size() - 5, 0x00, 1);
  try {
    (void)io::deserialize<R>(rb);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("outside") != std::string::npos);
  }
}

TEST_CASE("save and load through a file", "[io]") {
  const std::string path = "lowbit_test_io_roundtrip.lbpm";
  const Golden q = golden_matrix();
  io::save(q, path);
  const Golden back = io::load<Golden>(path);
  CHECK(io::serialize(back) == golden_bytes());
  std::remove(path.c_str());
  CHECK_THROWS_AS(io::load<Golden>("/nonexistent/dir/file.lbpm"), Error);
}
