// SPDX-License-Identifier: Apache-2.0
// tests/io/test_archive.cpp: lowbit's model file (io/archive.hpp): round trips of every entry
// kind, the byte layout read back by hand, every truncation point, every single-byte corruption,
// and hostile files whose checksum was recomputed (bad kinds, sizes, offsets, overlaps, names).
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "lowbit/io/archive.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/rng.hpp"

using namespace lowbit;
using lowbit::test::patched;
using Sym4 = Symmetric<4, SymmetricConvention::kSignedMax, f16>;
using M = PackedMatrix<Sym4, PerGroup<32>, Plain>;

namespace {

M packed(Index rows, Index cols) {
  const std::vector<float> w = test::gaussian(static_cast<std::size_t>(rows * cols), 5);
  return quantize<Sym4, PerGroup<32>, Plain>(MatrixView<const float>(w.data(), rows, cols),
                                             QuantizeOptions{});
}

io::Archive sample() {
  io::Archive a;
  const std::vector<float> f = {1.5f, -2.0f, 0.25f, 3.0f, 4.0f, 5.0f};
  a.add_f32("norm.weight", MatrixView<const float>(f.data(), 2, 3));
  const std::vector<std::int32_t> i = {7, -1, 1 << 30};
  a.add_i32("config", i);
  a.add_text("policy", "sym4-g32");
  a.add_packed("layers.0.w", packed(5, 70));
  a.add_text("empty", "");
  return a;
}

std::string error_of(std::span<const std::byte> bytes) {
  try {
    (void)io::Archive::parse(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Patches bytes at `at` with the little-endian value and recomputes the checksum.

// Offset of entry i's fixed fields (kind byte) in the table.
std::size_t entry_fields(const std::vector<std::byte>& b, int i) {
  std::size_t t = 24;
  for (int k = 0;; ++k) {
    const auto len = lowbit::detail::load_le<std::uint16_t>(b.data() + t);
    if (k == i) return t + 2 + len;
    t += 2 + len + 33;
  }
}

}  // namespace

TEST_CASE("archive: round trip of every kind", "[io][archive]") {
  const io::Archive a = sample();
  const std::vector<std::byte> bytes = a.serialize();
  const io::Archive b = io::Archive::parse(bytes);
  REQUIRE(b.entries().size() == 5);
  CHECK(b.entries()[0].name == "norm.weight");  // file order kept
  CHECK(b.f32("norm.weight") == std::vector<float>{1.5f, -2.0f, 0.25f, 3.0f, 4.0f, 5.0f});
  CHECK(b.get("norm.weight", io::EntryKind::kF32).rows == 2);
  CHECK(b.i32("config") == std::vector<std::int32_t>{7, -1, 1 << 30});
  CHECK(b.text("policy") == "sym4-g32");
  CHECK(b.text("empty").empty());
  const M m = b.packed<M>("layers.0.w"), want = packed(5, 70);
  CHECK(std::equal(m.codes().begin(), m.codes().end(), want.codes().begin(), want.codes().end()));
  CHECK(b.serialize() == bytes);
  CHECK(b.find("nope") == nullptr);
  REQUIRE_THROWS_AS(b.text("nope"), Error);
  REQUIRE_THROWS_AS(b.f32("policy"), Error);  // wrong kind
  REQUIRE_THROWS_AS((b.packed<PackedMatrix<Sym4, PerGroup<64>, Plain>>("layers.0.w")), Error);
  // Saved and loaded through a file.
  const std::string path = "lowbit_test_archive.lowbit";
  a.save(path);
  CHECK(io::Archive::load(path).serialize() == bytes);
  std::remove(path.c_str());
  REQUIRE_THROWS_AS(io::Archive::load("/nonexistent/dir/x.lowbit"), Error);
}

TEST_CASE("archive: the byte layout", "[io][archive]") {
  io::Archive a;
  const std::vector<std::int32_t> v = {1, 2};
  a.add_i32("ab", v);
  const std::vector<std::byte> b = a.serialize();
  auto u8 = [&](std::size_t i) { return std::to_integer<unsigned>(b[i]); };
  CHECK(std::memcmp(b.data(), "LOWBITAR", 8) == 0);
  CHECK(u8(8) == 1);                // version
  CHECK(u8(12) == 1);               // one entry
  CHECK(u8(16) == 2 + 2 + 1 + 32);  // table bytes
  CHECK(u8(24) == 2);               // name length
  CHECK(u8(26) == 'a');
  CHECK(u8(28) == 2);   // kind int32
  CHECK(u8(29) == 1);   // rows
  CHECK(u8(37) == 2);   // cols
  CHECK(u8(45) == 64);  // data offset: the table ends at 61, aligned to 64
  CHECK(u8(53) == 8);   // size
  CHECK(u8(64) == 1);
  CHECK(u8(68) == 2);
  CHECK(b.size() == 64 + 64 + 4);  // data padded to 64, then the CRC
}

TEST_CASE("archive: truncations and corruptions are errors", "[io][archive]") {
  const std::vector<std::byte> bytes = sample().serialize();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    INFO("truncated to " << n);
    REQUIRE(!error_of(std::span<const std::byte>(bytes.data(), n)).empty());
  }
  std::vector<std::byte> b = bytes;
  for (std::size_t i = 0; i < b.size(); ++i) {
    INFO("byte " << i);
    b[i] ^= std::byte{0x5a};
    REQUIRE(!error_of(b).empty());
    b[i] ^= std::byte{0x5a};
  }
  std::vector<std::byte> longer = bytes;
  longer.push_back(std::byte{0});
  REQUIRE(!error_of(longer).empty());
}

TEST_CASE("archive: hostile files with a valid checksum", "[io][archive]") {
  const std::vector<std::byte> b = sample().serialize();
  auto has = [](const std::string& what, const char* part) {
    INFO(what);
    return what.find(part) != std::string::npos;
  };
  CHECK(has(error_of(patched<std::uint32_t>(b, 8, 2)), "unsupported version"));
  CHECK(has(error_of(patched<std::uint32_t>(b, 12, 6)), "table"));
  CHECK(has(error_of(patched<std::uint32_t>(b, 12, 4)), "unused bytes"));
  CHECK(has(error_of(patched<std::uint32_t>(b, 12, 1u << 21)), "exceeds"));
  CHECK(has(error_of(patched<std::uint64_t>(b, 16, ~std::uint64_t{0})), "runs past"));
  const std::size_t e0 = entry_fields(b, 0), e1 = entry_fields(b, 1), e3 = entry_fields(b, 3);
  CHECK(has(error_of(patched<std::uint8_t>(b, e0, 9)), "unknown kind"));
  CHECK(has(error_of(patched<std::uint8_t>(b, e0, 4)), "must be 1"));   // f32 2x3 called text
  CHECK(has(error_of(patched<std::uint64_t>(b, e0 + 1, 3)), "needs"));  // rows 3: size
  CHECK(has(error_of(patched<std::uint64_t>(b, e0 + 9, 1ull << 41)), "exceeds"));
  CHECK(has(error_of(patched<std::uint64_t>(b, e0 + 1, 1ull << 39)), "needs"));  // 2^39·3·4
  const auto off1 = lowbit::detail::load_le<std::uint64_t>(b.data() + e1 + 17);
  CHECK(has(error_of(patched<std::uint64_t>(b, e1 + 17, off1 + 4)), "multiple of 64"));
  const auto off0 = lowbit::detail::load_le<std::uint64_t>(b.data() + e0 + 17);
  CHECK(has(error_of(patched<std::uint64_t>(b, e1 + 17, off0)), "overlap"));
  CHECK(has(error_of(patched<std::uint64_t>(b, e1 + 17, 0)), "outside the data area"));
  CHECK(has(error_of(patched<std::uint64_t>(b, e1 + 17, b.size() + 60)), "outside"));
  CHECK(has(error_of(patched<std::uint64_t>(b, e3 + 1, 6)), "the entry says"));  // packed shape
  CHECK(has(error_of(patched<std::uint8_t>(b, e3, 1)), "needs"));  // packed bytes called f32
  CHECK(has(error_of(patched<std::uint8_t>(b, 26, ' ')), "name"));
  CHECK(has(error_of(patched<std::uint16_t>(b, 24, 0)), "name length"));
  // Two names of equal length, the second patched into the first: a duplicate.
  io::Archive two;
  two.add_text("aa", "1");
  two.add_text("ab", "2");
  const std::vector<std::byte> tb = two.serialize();
  const std::size_t second_name = entry_fields(tb, 0) + 33 + 2;
  CHECK(has(error_of(patched<std::uint8_t>(tb, second_name + 1, 'a')), "duplicate"));
  // Writer-side errors.
  io::Archive a;
  a.add_text("x", "1");
  REQUIRE_THROWS_AS(a.add_text("x", "2"), Error);
  REQUIRE_THROWS_AS(a.add_text("with space", "2"), Error);
  REQUIRE_THROWS_AS(a.add_text("", "2"), Error);
  std::vector<std::byte> junk(40, std::byte{1});
  REQUIRE_THROWS_AS(a.add_packed("m", junk), Error);
}

TEST_CASE("archive: bf16 and f16 entries keep their bits and read as floats", "[io][archive]") {
  io::Archive a;
  const std::vector<std::uint16_t> b = {0x3f80, 0xc000, 0x0000, 0x7f7f};  // 1, -2, 0, 3.39e38
  const std::vector<std::uint16_t> h = {0x3c00, 0xc000, 0x3555};          // 1, -2, 0.333251953125
  a.add_raw("b", io::EntryKind::kBf16, 2, 2, std::as_bytes(std::span<const std::uint16_t>(b)));
  a.add_raw("h", io::EntryKind::kF16, 1, 3, std::as_bytes(std::span<const std::uint16_t>(h)));
  const io::Archive r = io::Archive::parse(a.serialize());
  CHECK(r.get("b", io::EntryKind::kBf16).rows == 2);
  CHECK(r.f32("b") == std::vector<float>{1.0f, -2.0f, 0.0f, 3.3895313892515355e38f});
  CHECK(r.f32("h") == std::vector<float>{1.0f, -2.0f, 0.333251953125f});
  // The size must match the kind and shape.
  REQUIRE_THROWS_WITH(
      a.add_raw("c", io::EntryKind::kBf16, 2, 3, std::as_bytes(std::span<const std::uint16_t>(b))),
      LOWBIT_CONTAINS("archive: entry 'c': 8 bytes, its shape needs 12"));
}

TEST_CASE("archive: ArchiveWriter streams the same bytes as serialize", "[io][archive]") {
  const io::Archive a = sample();
  const std::string path = "lowbit_test_archive_writer.lowbit";
  {
    io::ArchiveWriter w(path);
    for (const auto& e : a.entries()) w.add_raw(e.name, e.kind, e.rows, e.cols, e.data);
    CHECK(w.size() == a.entries().size());
    CHECK(w.finish() == a.serialize().size());
    REQUIRE_THROWS_WITH(w.add_text("late", "x"), LOWBIT_CONTAINS("already finished"));
  }
  CHECK(io::read_file(path) == a.serialize());
  CHECK(!std::filesystem::exists(path + ".tmp"));
  // Given the names up front the data are written in place, behind the table's space; names that
  // need another table size fall back to copying. The bytes are the same either way.
  std::vector<std::string> names;
  for (const auto& e : a.entries()) names.push_back(e.name);
  const std::vector<std::vector<std::string>> hints = {
      names, {"x"}, std::vector<std::string>(40, "a-rather-long-entry-name")};
  for (const auto& hint : hints) {
    io::ArchiveWriter w(path, hint);
    for (const auto& e : a.entries()) w.add_raw(e.name, e.kind, e.rows, e.cols, e.data);
    CHECK(w.finish() == a.serialize().size());
    CHECK(io::read_file(path) == a.serialize());
    CHECK(!std::filesystem::exists(path + ".tmp"));
  }
  // The typed adders write what Archive's write.
  {
    io::ArchiveWriter w(path);
    const std::vector<float> f = {1.5f, -2.0f, 0.25f, 3.0f, 4.0f, 5.0f};
    w.add_f32("norm.weight", MatrixView<const float>(f.data(), 2, 3));
    const std::vector<std::int32_t> i = {7, -1, 1 << 30};
    w.add_i32("config", i);
    w.add_text("policy", "sym4-g32");
    w.add_packed("layers.0.w", io::serialize(packed(5, 70)));
    w.add_text("empty", "");
    REQUIRE_THROWS_WITH(w.add_text("policy", "again"), LOWBIT_CONTAINS("duplicate entry 'policy'"));
    REQUIRE_THROWS_AS(w.add_text("with space", "x"), Error);
    w.finish();
  }
  CHECK(io::read_file(path) == a.serialize());
  std::remove(path.c_str());
  // A writer given up before finish() leaves neither the output nor its temporary.
  {
    io::ArchiveWriter w(path);
    w.add_text("x", "1");
  }
  CHECK(!std::filesystem::exists(path));
  CHECK(!std::filesystem::exists(path + ".tmp"));
  {
    const std::vector<std::string> hint = {"x"};
    io::ArchiveWriter w(path, hint);
    w.add_text("x", "1");
  }
  CHECK(!std::filesystem::exists(path));
  CHECK(!std::filesystem::exists(path + ".tmp"));
  REQUIRE_THROWS_WITH(io::ArchiveWriter("."), LOWBIT_CONTAINS("is a directory"));
}
