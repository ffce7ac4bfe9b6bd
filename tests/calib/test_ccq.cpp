// SPDX-License-Identifier: Apache-2.0
// tests/calib/test_ccq.cpp: the CCQ WINT2 format (quant/ccq.hpp) against FastDeploy's decode
// formula evaluated independently, the fp32 rounding it requires (no FMA), the encoder
// (calib/ccq.hpp) on N(0, 1) (small here; the 2^20-sample figure is bench_trellis's), files with
// row parameters, and bad input.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "lowbit/calib/ccq.hpp"
#include "lowbit/io/serialize.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/metrics.hpp"
#include "support/rng.hpp"

using namespace lowbit;

namespace {

using W2 = PackedMatrix<CcqWint2, PerGroup<128>, Plain>;

/// FastDeploy's word, each fp32 operation rounded on its own, evaluated through double: the
/// product of a byte and a float is exact in double, and so are the sums here (operands within
/// 2^25 of each other in exponent), so each cast to float is the one fp32 rounding.
std::int32_t word_ref(int b, float cs, float zp) {
  const float prod = static_cast<float>(static_cast<double>(b) * cs);
  const float sum = static_cast<float>(static_cast<double>(prod) + zp);
  const float t = static_cast<float>(static_cast<double>(sum) + 0.5);
  return static_cast<std::int32_t>(std::floor(static_cast<double>(t)));
}

}  // namespace

TEST_CASE("ccq wint2: decode is FastDeploy's formula", "[ccq]") {
  // One row of 192 inputs: a 128-group and a last 64-group; arbitrary bytes and scales.
  W2 m(1, 192);
  CcqWint2::RowParams rp;
  rp.code_scale = 119.37f;
  rp.code_zp = 917.25f;
  rp.super = bf16(0.0123f);
  m.row_params()[0] = rp;
  m.params()[0] = CcqWint2::Params{0xA3};  // locals 10 (inputs 0..63), 3 (64..127)
  m.params()[1] = CcqWint2::Params{0x70};  // local 7 (128..191)
  std::mt19937 rng(3);
  std::vector<int> bytes(48);
  for (int j = 0; j < 48; ++j) {
    bytes[static_cast<std::size_t>(j)] = static_cast<int>(rng() & 255u);
    for (int i = 0; i < 4; ++i)
      m.set_code(0, 4 * j + i, (bytes[static_cast<std::size_t>(j)] >> (2 * i)) & 3);
  }
  // The Plain bytes are the format's bytes.
  for (int j = 0; j < 48; ++j)
    REQUIRE(std::to_integer<int>(m.codes()[static_cast<std::size_t>(j)]) ==
            bytes[static_cast<std::size_t>(j)]);
  const auto d = dequantize(m);
  const float sup = static_cast<float>(rp.super);
  for (int k = 0; k < 192; ++k) {
    const int c = word_ref(bytes[static_cast<std::size_t>(k / 4)], rp.code_scale, rp.code_zp);
    const int v = ((c >> (9 - 3 * (k % 4))) & 0x3F) - 32;
    const int local = k < 64 ? 10 : k < 128 ? 3 : 7;
    const float scale = static_cast<float>(local) * sup;
    REQUIRE(d[static_cast<std::size_t>(k)] == static_cast<float>(v) * scale);
  }
}

TEST_CASE("ccq wint2: the code word rounds each fp32 operation (no FMA)", "[ccq]") {
  // Find (cs, zp, b) where a fused multiply-add would floor differently, then check the scheme
  // gives the unfused answer there.
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> ucs(100.0f, 140.0f), uzp(0.0f, 600.0f);
  int found = 0;
  for (int trial = 0; trial < 200000 && found < 20; ++trial) {
    const float cs = ucs(rng), zp = uzp(rng);
    const int b = static_cast<int>(rng() % 256u);
    const double exact = static_cast<double>(b) * cs + zp + 0.5;  // fma: one rounding
    const auto fused =
        static_cast<std::int32_t>(std::floor(static_cast<double>(static_cast<float>(exact))));
    const std::int32_t unfused = word_ref(b, cs, zp);
    if (fused == unfused) continue;
    ++found;
    CcqWint2::RowParams rp;
    rp.code_scale = cs;
    rp.code_zp = zp;
    REQUIRE(CcqWint2::word(static_cast<std::uint8_t>(b), rp) == unfused);
  }
  CHECK(found > 0);
  // Every byte of a typical row agrees with the reference.
  CcqWint2::RowParams rp;
  rp.code_scale = 123.07f;
  rp.code_zp = 553.7f;
  for (int b = 0; b < 256; ++b)
    REQUIRE(CcqWint2::word(static_cast<std::uint8_t>(b), rp) == word_ref(b, 123.07f, 553.7f));
}

TEST_CASE("ccq wint2: the encoder on N(0, 1), files and bad input", "[ccq][accuracy]") {
  const Index rows = 12, cols = 1024;
  const auto w = test::gaussian(static_cast<std::size_t>(rows * cols), 77);
  const MatrixView<const float> wv(w.data(), rows, cols);
  calib::CcqOptions o;
  o.search = 0;
  const W2 q0 = calib::ccq_wint2_quantize(wv, o);
  o.search = 24;
  o.threads = 2;
  const W2 q = calib::ccq_wint2_quantize(wv, o);
  const double e0 = test::nmse(dequantize(q0), w), e = test::nmse(dequantize(q), w);
  INFO("NMSE: default codebook " << e0 << ", with the codebook search " << e);
  CHECK(e <= e0 + 1e-9);
  CHECK(e < 0.108);  // the 2^20-sample figure (≤ 0.105) is bench_trellis's
  CHECK(std::fabs(q.bits_per_weight() - (2.0 + 8.0 / 128 + 80.0 / cols)) < 1e-12);
  // Thread count does not matter.
  o.threads = 1;
  const W2 q1 = calib::ccq_wint2_quantize(wv, o);
  CHECK(std::equal(q1.codes().begin(), q1.codes().end(), q.codes().begin()));
  // File round trip, row parameters included; a corrupted row parameter is refused.
  std::vector<std::byte> img = io::serialize(q);
  const W2 back = io::deserialize<W2>(img);
  CHECK(dequantize(back) == dequantize(q));
  REQUIRE(back.row_params()[3].code_scale == q.row_params()[3].code_scale);
  const io::FileInfo info = io::read_header(img);
  CHECK(info.row_param_bytes == 10u);
  // Row 0's code scale 1e9: code words far outside 15 bits.
  REQUIRE_THROWS_WITH(io::deserialize<W2>(test::patched(img, info.row_params_offset, 1e9f)),
                      LOWBIT_CONTAINS("code words"));
  // A zero row decodes to zeros; 192 columns (a last 64-group) work; 100 columns do not.
  std::vector<float> z(2 * 192, 0.0f);
  for (Index k = 0; k < 192; ++k) z[static_cast<std::size_t>(192 + k)] = std::cos(0.1f * k);
  const W2 qz = calib::ccq_wint2_quantize(MatrixView<const float>(z.data(), 2, 192));
  const auto dz = dequantize(qz);
  for (Index k = 0; k < 192; ++k) REQUIRE(dz[static_cast<std::size_t>(k)] == 0.0f);
  CHECK(test::nmse(std::span<const float>(dz).subspan(192),
                   std::span<const float>(z).subspan(192)) < 0.2);
  std::vector<float> v(100, 1.0f);
  REQUIRE_THROWS_AS(calib::ccq_wint2_quantize(MatrixView<const float>(v.data(), 1, 100)), Error);
  v.resize(64);
  v[3] = std::nanf("");
  REQUIRE_THROWS_AS(calib::ccq_wint2_quantize(MatrixView<const float>(v.data(), 1, 64)), Error);
}

TEST_CASE("ccq wint2.5: windows, words and FastDeploy's decode", "[ccq]") {
  using W25 = PackedMatrix<CcqWint25, PerGroup<64>, Plain>;
  const Index rows = 6, cols = 256;
  const auto w = test::gaussian(static_cast<std::size_t>(rows * cols), 91);
  calib::CcqOptions o;
  o.threads = 2;
  const W25 q = calib::ccq_wint25_quantize(MatrixView<const float>(w.data(), rows, cols), o);
  const auto d = dequantize(q);
  const double e = test::nmse(d, w);
  INFO("WINT2.5 NMSE " << e);
  CHECK(e < 0.097);  // the 2^20-sample figure is bench_trellis's
  // Every group's windows form chains, and FastDeploy's decode of its ten words gives ŵ.
  for (Index r = 0; r < rows; ++r)
    for (Index g = 0; g < cols / 64; ++g) {
      std::vector<std::uint8_t> c(64);
      for (Index i = 0; i < 64; ++i)
        c[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(q.code(r, g * 64 + i));
      REQUIRE(CcqWint25::chain_consistent(c));
      const auto& p = q.params_at(r, g * 64);
      const auto words = CcqWint25::words(c, p);
      const int shifts[7] = {13, 11, 9, 6, 4, 2, 0};
      const float scale = static_cast<float>(words[9] & 0x1FFF) *
                          static_cast<float>(q.row_params()[static_cast<std::size_t>(r)].super);
      for (int i = 0; i < 64; ++i) {
        const int word = i < 63 ? words[static_cast<std::size_t>(i / 7)] : words[9];
        const int s = i < 63 ? shifts[i % 7] : 13;
        const int v = ((word >> s) & 7) - 4;
        REQUIRE(d[static_cast<std::size_t>(r * cols + g * 64 + i)] ==
                static_cast<float>(v) * scale);
      }
    }
  // Chains: weight 1's top bit is weight 0's low bit; breaking that is detected.
  std::vector<std::uint8_t> c(64, 4);
  CHECK(CcqWint25::chain_consistent(c) == false);  // 4 = 0b100: top bit 1, previous low bit 0
  std::fill(c.begin(), c.end(), 5);                // 0b101: consistent everywhere
  CHECK(CcqWint25::chain_consistent(c));
  c[3] = 1;  // a chain start's top bit is its own (weight 2's low bit does not constrain it)
  CHECK(CcqWint25::chain_consistent(c));
  c[4] = 0;  // top bit 0 after weight 3's low bit 1
  CHECK(CcqWint25::chain_consistent(c) == false);
  // Files, with the row's super scale; the local scale is checked on load.
  std::vector<std::byte> img = io::serialize(q);
  CHECK(dequantize(io::deserialize<W25>(img)) == d);
  const io::FileInfo info = io::read_header(img);
  REQUIRE_THROWS_WITH(  // a local scale of 14 bits
      io::deserialize<W25>(test::patched(img, info.params_offset, std::uint16_t{0x2000})),
      LOWBIT_CONTAINS("13 bits"));
  // Zeros, and bad shapes.
  std::vector<float> z(64, 0.0f);
  const auto qz = calib::ccq_wint25_quantize(MatrixView<const float>(z.data(), 1, 64));
  for (float v : dequantize(qz)) REQUIRE(v == 0.0f);
  std::vector<float> v(96, 1.0f);
  REQUIRE_THROWS_AS(calib::ccq_wint25_quantize(MatrixView<const float>(v.data(), 1, 96)), Error);
}
