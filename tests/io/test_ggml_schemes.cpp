// SPDX-License-Identifier: Apache-2.0
// tests/io/test_ggml_schemes.cpp: llama.cpp's block types as lowbit schemes
// (formats/ggml/schemes.hpp): every value of ../shared/data/ggml decodes bit for bit as ggml's
// dequantizer gave it; the kernels (repacked to Interleaved<16, 32>) equal the reference on the
// converted matrices; to_ggml inverts to_packed byte for byte and writes
// lowbit's own fits as blocks ggml decodes to lowbit's values; bad input is an Error.
#include <cstring>
#include <string>
#include <vector>

#include "lowbit/formats/ggml/schemes.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/rng.hpp"

using namespace lowbit;

namespace {

std::uint32_t bits_of(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, 4);
  return b;
}

/// The first `blocks` blocks of each of `rows` rows of a row-major tensor of rows_total rows.
std::vector<std::byte> leading_blocks(const std::vector<std::byte>& all, Index row_bytes,
                                      Index rows, Index bytes) {
  std::vector<std::byte> out;
  for (Index r = 0; r < rows; ++r)
    out.insert(out.end(), all.begin() + r * row_bytes, all.begin() + r * row_bytes + bytes);
  return out;
}

/// gemm (int8 activations) on m repacked to Interleaved<16, 32>, with the best ISA compiled in
/// and 1 or 3 threads, equals ref::gemm_int8 on m bit for bit (every ISA runs these schemes and
/// groups in tests/kernels; this is the end-to-end check on ggml's own blocks).
template <class W>
void check_kernels(const W& plain, std::uint64_t seed) {
  Context ctx1(1), ctx3(3);
  const Index m = plain.rows(), k = plain.cols();
  const auto w = repack<Interleaved<16, 32>>(plain);
  for (Index n : {Index{1}, Index{5}}) {
    const auto xf =
        test::gaussian(static_cast<std::size_t>(n * k), seed + static_cast<std::uint64_t>(n));
    Int8Activations a;
    quantize_activations(MatrixView<const float>(xf.data(), n, k), a);
    std::vector<float> want(static_cast<std::size_t>(n * m)), y(want.size(), -7.0f);
    ref::gemm_int8(plain, a, MatrixView<float>(want.data(), n, m));
    gemm_int8(w, a, MatrixView<float>(y.data(), n, m), n == 1 ? ctx1 : ctx3);
    INFO(W::type_name() << " m=" << m << " n=" << n << " k=" << k);
    REQUIRE(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) == 0);
  }
}

#if defined(LOWBIT_SHARED_DATA_DIR)
template <ggml::Type T>
void check_type(std::uint64_t seed) {
  using S = typename ggml::SchemeOf<T>::Scheme;
  const ggml::TypeInfo info = *ggml::type_info(static_cast<std::uint32_t>(T));
  const std::string dir = std::string(LOWBIT_SHARED_DATA_DIR) + "/ggml/" + std::string(info.name);
  const std::vector<std::byte> blocks = test::read_all(dir + ".blocks.bin");
  const std::vector<float> deq = test::as_floats(test::read_all(dir + ".dequant.f32"));
  const Index rows = 32, cols = 4096, row_bytes = cols / info.block * info.bytes;
  REQUIRE(static_cast<Index>(deq.size()) == rows * cols);
  const auto m = ggml::to_packed<T>(blocks, rows, cols);
  Index bad = 0;
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c)
      bad += bits_of(S::decode(static_cast<typename S::Code>(m.code(r, c)), m.params_at(r, c))) !=
             bits_of(deq[static_cast<std::size_t>(r * cols + c)]);
  INFO(info.name << " as " << decltype(m)::type_name() << ": " << bad
                 << " values differ from ggml's in their bits");
  CHECK(bad == 0);
  // Kernels on row and column tails: 17 or 32 rows, 1, 3 or all blocks of a row.
  for (Index nrows : {Index{17}, Index{32}})
    for (Index nblk : {Index{1}, Index{3}, cols / info.block}) {
      const auto part = leading_blocks(blocks, row_bytes, nrows, nblk * info.bytes);
      check_kernels(ggml::to_packed<T>(part, nrows, nblk * info.block), seed);
    }
  if constexpr (requires { ggml::to_ggml<T>(m); }) {
    CHECK(ggml::to_ggml<T>(m) == blocks);
  }
}
#endif

}  // namespace

#if defined(LOWBIT_SHARED_DATA_DIR)
TEST_CASE("ggml schemes: every value of every type as ggml decodes it; kernels = reference",
          "[io][ggml][model][gemm]") {
  check_type<ggml::Type::Q8_0>(1);
  check_type<ggml::Type::Q4_0>(2);
  check_type<ggml::Type::Q5_0>(3);
  check_type<ggml::Type::Q4_1>(4);
  check_type<ggml::Type::Q5_1>(5);
  check_type<ggml::Type::IQ4_NL>(6);
  check_type<ggml::Type::MXFP4>(7);
  check_type<ggml::Type::Q2_K>(8);
  check_type<ggml::Type::Q3_K>(9);
  check_type<ggml::Type::Q4_K>(10);
  check_type<ggml::Type::Q5_K>(11);
  check_type<ggml::Type::Q6_K>(12);
  check_type<ggml::Type::TQ1_0>(13);
  check_type<ggml::Type::TQ2_0>(14);
}
#endif

TEST_CASE("ggml schemes: lowbit's own fits written as Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 blocks",
          "[io][ggml]") {
  const Index rows = 5, cols = 96;
  const auto w = test::student_t4(static_cast<std::size_t>(rows * cols), 77);
  const MatrixView<const float> wv(w.data(), rows, cols);
  QuantizeOptions o;
  o.fit.range = RangeFit::kClipSearch;  // not ggml's rule: any fit of the scheme is a block
  auto check = [&](auto tag) {
    constexpr ggml::Type T = decltype(tag)::value;
    using S = typename ggml::SchemeOf<T>::Scheme;
    const auto m = quantize<S, PerGroup<32>, Plain>(wv, o);
    const std::vector<std::byte> b = ggml::to_ggml<T>(m);
    std::vector<float> y(static_cast<std::size_t>(rows * cols));
    ggml::dequantize_row(T, b.data(), rows * cols, y.data());
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c) {
        INFO(ggml::type_info(static_cast<std::uint32_t>(T))->name << " r " << r << " c " << c);
        REQUIRE(bits_of(y[static_cast<std::size_t>(r * cols + c)]) ==
                bits_of(S::decode(static_cast<typename S::Code>(m.code(r, c)), m.params_at(r, c))));
      }
    CHECK(ggml::to_ggml<T>(ggml::to_packed<T>(b, rows, cols)) == b);
  };
  check(std::integral_constant<ggml::Type, ggml::Type::Q4_0>{});
  check(std::integral_constant<ggml::Type, ggml::Type::Q4_1>{});
  check(std::integral_constant<ggml::Type, ggml::Type::Q5_0>{});
  check(std::integral_constant<ggml::Type, ggml::Type::Q5_1>{});
  check(std::integral_constant<ggml::Type, ggml::Type::Q8_0>{});
}

TEST_CASE("ggml schemes: wrong sizes, non-finite scales and TQ2_0's code 3 are errors",
          "[io][ggml]") {
  std::vector<float> x(256);
  for (int k = 0; k < 256; ++k) x[static_cast<std::size_t>(k)] = static_cast<float>(k % 9) - 4.0f;
  std::vector<std::byte> q4(8 * 18);
  ggml::quantize_row(ggml::Type::Q4_0, x.data(), 256, q4.data());
  CHECK_NOTHROW(ggml::to_packed<ggml::Type::Q4_0>(q4, 2, 128));
  CHECK_THROWS_AS(ggml::to_packed<ggml::Type::Q4_0>(q4, 3, 128), Error);   // too few bytes
  CHECK_THROWS_AS(ggml::to_packed<ggml::Type::Q4_0>(q4, 1, 128), Error);   // too many
  CHECK_THROWS_AS(ggml::to_packed<ggml::Type::Q4_0>(q4, 4, 48), Error);    // not whole blocks
  CHECK_THROWS_AS(ggml::to_packed<ggml::Type::Q4_0>(q4, -1, 256), Error);  // negative rows
  std::vector<std::byte> inf = q4;
  inf[5 * 18 + 1] = std::byte{0x7c};  // block 5's d: 0x7c?? is ±inf or NaN in fp16
  inf[5 * 18] = std::byte{0x00};
  CHECK_THROWS_WITH(ggml::to_packed<ggml::Type::Q4_0>(inf, 2, 128),
                    LOWBIT_CONTAINS("block 1 of row 1"));
  std::vector<std::byte> tq(66);
  ggml::quantize_row(ggml::Type::TQ2_0, x.data(), 256, tq.data());
  CHECK_NOTHROW(ggml::to_packed<ggml::Type::TQ2_0>(tq, 1, 256));
  tq[7] = std::byte{0x03};  // value 7: code 3, 2·d
  CHECK_THROWS_AS(ggml::to_packed<ggml::Type::TQ2_0>(tq, 1, 256), Error);
  CHECK_THROWS_AS(
      ggml::to_ggml<ggml::Type::Q8_0>(
          PackedMatrix<ggml::SchemeOf<ggml::Type::Q8_0>::Scheme, PerGroup<32>, Plain>(2, 33)),
      Error);
}

TEST_CASE("ggml schemes: lowbit's ternarization in front of TQ1_0 / TQ2_0", "[io][ggml]") {
  // ggml's TQ quantizer on continuous N(0,1) weights gives
  // NMSE 0.65; a ternarizer first (TWN: 0.19163, the optimum 0.19017) is what the formats need.
  const Index rows = 16, cols = 1024;
  const auto w = test::gaussian(static_cast<std::size_t>(rows * cols), 91);
  const MatrixView<const float> wv(w.data(), rows, cols);
  auto nmse = [&](ggml::Type t, const std::vector<std::byte>& b) {
    std::vector<float> y(w.size());
    ggml::dequantize_row(t, b.data(), rows * cols, y.data());
    double e = 0.0, s = 0.0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      e += (static_cast<double>(y[i]) - w[i]) * (static_cast<double>(y[i]) - w[i]);
      s += static_cast<double>(w[i]) * w[i];
    }
    return e / s;
  };
  std::vector<std::byte> raw(static_cast<std::size_t>(rows * cols / 256 * 66));
  ggml::quantize_row(ggml::Type::TQ2_0, w.data(), rows * cols, raw.data());
  const double raw_nmse = nmse(ggml::Type::TQ2_0, raw);
  const auto twn = ggml::ternarize_to_ggml<ggml::Type::TQ2_0>(wv, calib::TernaryMethod::kTwn);
  const auto opt1 = ggml::ternarize_to_ggml<ggml::Type::TQ1_0>(wv);
  const auto opt2 = ggml::ternarize_to_ggml<ggml::Type::TQ2_0>(wv);
  INFO("ggml's path " << raw_nmse << ", TWN " << nmse(ggml::Type::TQ2_0, twn) << ", optimal "
                      << nmse(ggml::Type::TQ2_0, opt2));
  CHECK(raw_nmse > 0.6);
  CHECK(nmse(ggml::Type::TQ2_0, twn) < 0.20);
  CHECK(nmse(ggml::Type::TQ2_0, opt2) < 0.20);
  CHECK(nmse(ggml::Type::TQ1_0, opt1) == nmse(ggml::Type::TQ2_0, opt2));  // the same trits and d
  // The blocks decode to the ternarized matrix's values, and convert back to it.
  const auto m = calib::ternarize<f16, PerGroup<256>>(wv, calib::TernaryMethod::kOptimal);
  std::vector<float> y(w.size()), want(w.size());
  ggml::dequantize_row(ggml::Type::TQ1_0, opt1.data(), rows * cols, y.data());
  dequantize(m, MatrixView<float>(want.data(), rows, cols));
  CHECK(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) == 0);
  CHECK(ggml::to_ggml<ggml::Type::TQ1_0>(ggml::to_packed<ggml::Type::TQ1_0>(opt1, rows, cols)) ==
        opt1);
  CHECK_THROWS_AS(
      ggml::ternarize_to_ggml<ggml::Type::TQ2_0>(MatrixView<const float>(w.data(), rows, 1000)),
      Error);
}
