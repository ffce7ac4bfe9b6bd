// SPDX-License-Identifier: Apache-2.0
// bench/bench_lut.cpp: the table-lookup experiment — a T-MAC / bitnet.cpp-style
// lookup GEMV for 2-bit ternary weights against lowbit's multiply-add kernel, same weights, same
// int8 activations, same run. Not a library kernel: it exists to decide which one lowbit keeps.
//
// # The lookup kernel (AVX-512BW; exact, so it is checked against ref::gemm_int8 before timing)
// Two ternary weights (c0, c1 ∈ {0, 1, 2} = −1, 0, +1) form a 4-bit index 3·c0 + c1. For each
// column pair j the activation table T_j[i] = (c0 − 1)·q_{2j} + (c1 − 1)·q_{2j+1} (|T| <= 254, so
// int16) is built once per GEMV and stored as two 16-byte tables, low and high bytes. Weights
// are stored per 64-row tile and step of 4 columns as 64 bytes: byte r = row r, low nibble pair
// 2s, high nibble pair 2s + 1 (2 bits per weight). Per step and tile: 2 masks and a shift for the
// nibbles, 4 table broadcasts, 4 vpshufb (low and high bytes of two pairs), 4 byte unpacks to
// int16 and 4 int16 adds; the int16 sums are widened to int32 every 64 steps (|Σ| <= 64·508).
// The multiply-add kernel does the same 256 products per 64 rows with 2 masks, 1 broadcast and
// 2 vpdpbusd per 32-row tile (kernels/interleaved_tile.hpp).
//
// Names: Mad/<shape>, Lut/<shape> (shape 0: m 4096, k 14336 DRAM-resident over ≥ 128 MB of
// copies; shape 1: m 1024, k 1024, one copy, L2-resident); time includes building the tables.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "lowbit/calib/ternary_threshold.hpp"
#include "support/common.hpp"

#if LOWBIT_HAS_AVX512BW
#include <immintrin.h>
#endif

namespace {

using namespace lowbit;
using namespace lowbit::bench;

using Ter = Ternary<f16>;
using PlainT = PackedMatrix<Ter, PerChannel, Plain>;

struct LutWeights {
  Index m = 0, k = 0, steps = 0;  // steps of 4 columns (k padded to a multiple of 4)
  AlignedBuffer<std::uint8_t> idx;
  std::vector<float> scale;  // per row: decode = scale·(c - 1)
};

LutWeights make_lut(const PlainT& p) {
  LutWeights w;
  w.m = p.rows();
  w.k = p.cols();
  w.steps = ceil_div<Index>(w.k, 4);
  const Index tiles = ceil_div<Index>(w.m, 64);
  w.idx = AlignedBuffer<std::uint8_t>(tiles * w.steps * 64);
  for (Index t = 0; t < tiles; ++t)
    for (Index s = 0; s < w.steps; ++s)
      for (Index r = 0; r < 64; ++r) {
        const Index row = t * 64 + r;
        auto code = [&](Index c) -> unsigned { return row < w.m && c < w.k ? p.code(row, c) : 1u; };
        const unsigned lo = 3 * code(4 * s) + code(4 * s + 1);
        const unsigned hi = 3 * code(4 * s + 2) + code(4 * s + 3);
        w.idx[(t * w.steps + s) * 64 + r] = static_cast<std::uint8_t>(lo | hi << 4);
      }
  for (Index r = 0; r < w.m; ++r) w.scale.push_back(Ter::decode_affine(p.params_at(r, 0)).scale);
  return w;
}

#if LOWBIT_HAS_AVX512BW
/// y = Ŵ·x̂ by table lookup; the float epilogue is ref::gemm_int8's for one PerChannel group.
void lut_gemv(const LutWeights& w, const Int8Activations& x, float* y,
              std::vector<std::uint8_t>& tab) {
  const Index pairs = 2 * w.steps;
  tab.resize(static_cast<std::size_t>(pairs * 32));
  const std::int8_t* q = x.row(0);  // zero padded to a multiple of 64 >= 4·steps
  std::int64_t xsum = 0;
  for (Index c = 0; c < w.k; ++c) xsum += q[c];
  for (Index j = 0; j < pairs; ++j) {
    const int q0 = q[2 * j], q1 = q[2 * j + 1];
    for (int i = 0; i < 16; ++i) {
      const int v = i < 9 ? (i / 3 - 1) * q0 + (i % 3 - 1) * q1 : 0;
      tab[static_cast<std::size_t>(j * 32 + i)] = static_cast<std::uint8_t>(v & 0xff);
      tab[static_cast<std::size_t>(j * 32 + 16 + i)] = static_cast<std::uint8_t>((v >> 8) & 0xff);
    }
  }
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  const Index tiles = ceil_div<Index>(w.m, 64);
  for (Index t = 0; t < tiles; ++t) {
    const std::uint8_t* wt = w.idx.data() + t * w.steps * 64;
    __m512i acc32[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                        _mm512_setzero_si512()};
    for (Index s0 = 0; s0 < w.steps; s0 += 64) {
      __m512i a16 = _mm512_setzero_si512(), b16 = _mm512_setzero_si512();
      const Index s1 = s0 + 64 < w.steps ? s0 + 64 : w.steps;
      for (Index s = s0; s < s1; ++s) {
        __builtin_prefetch(wt + s * 64 + 8192, 0, 1);
        const __m512i v = _mm512_loadu_si512(wt + s * 64);
        const __m512i lo = _mm512_and_si512(v, low4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
        const std::uint8_t* t0 = tab.data() + 2 * s * 32;
        const __m512i tl0 =
            _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t0)));
        const __m512i th0 =
            _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t0 + 16)));
        const __m512i tl1 =
            _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t0 + 32)));
        const __m512i th1 =
            _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t0 + 48)));
        const __m512i al = _mm512_shuffle_epi8(tl0, lo), ah = _mm512_shuffle_epi8(th0, lo);
        const __m512i bl = _mm512_shuffle_epi8(tl1, hi), bh = _mm512_shuffle_epi8(th1, hi);
        a16 = _mm512_add_epi16(
            a16, _mm512_add_epi16(_mm512_unpacklo_epi8(al, ah), _mm512_unpacklo_epi8(bl, bh)));
        b16 = _mm512_add_epi16(
            b16, _mm512_add_epi16(_mm512_unpackhi_epi8(al, ah), _mm512_unpackhi_epi8(bl, bh)));
      }
      // Widen: a16 lanes hold rows (per 128-bit lane l) 16l + 0..7, b16 rows 16l + 8..15.
      acc32[0] = _mm512_add_epi32(acc32[0], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(a16)));
      acc32[1] =
          _mm512_add_epi32(acc32[1], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(a16, 1)));
      acc32[2] = _mm512_add_epi32(acc32[2], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(b16)));
      acc32[3] =
          _mm512_add_epi32(acc32[3], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(b16, 1)));
    }
    alignas(64) std::int32_t d[64];
    for (int i = 0; i < 4; ++i) _mm512_store_si512(d + 16 * i, acc32[i]);
    // d[16·i + e]: i = 0: lanes 0,1 of a16 → rows 0-7, 16-23; i = 1: rows 32-39, 48-55;
    // i = 2, 3: the same with + 8.
    for (int i = 0; i < 4; ++i)
      for (int e = 0; e < 16; ++e) {
        const Index row = t * 64 + (i & 1) * 32 + (e / 8) * 16 + (i / 2) * 8 + e % 8;
        if (row >= w.m) continue;
        // Codes are c - 1 here (the tables hold (c - 1)·q): idot = Σ(c - 1)·q, as the reference.
        const float tg = static_cast<float>(d[16 * i + e]) * w.scale[static_cast<std::size_t>(row)];
        y[row] = (0.0f + tg) * x.scale(0);
      }
  }
  (void)xsum;
}
#endif

struct Fixture {
  std::vector<PackedMatrix<Ter, PerChannel, Interleaved<32, 32>>> mad;
  std::vector<LutWeights> lut;
  Int8Activations x;
  Index m = 0, k = 0;
};

Fixture& fixture(Index shape) {
  static Fixture f;
  static Index have = -1;
  if (have == shape) return f;
  f = Fixture{};
  have = shape;
  f.m = shape == 0 ? 4096 : 1024;
  f.k = shape == 0 ? 14336 : 1024;
  const auto wf = gaussian(static_cast<std::size_t>(f.m * f.k), 1);
  const PlainT p = calib::ternarize<f16, PerChannel>(MatrixView<const float>(wf.data(), f.m, f.k),
                                                     calib::TernaryMethod::kTwn);
  const double bytes = static_cast<double>(f.m * f.k) / 4.0;
  const int copies = shape == 0 ? static_cast<int>(kMinBytes / bytes) + 1 : 1;
  for (int i = 0; i < copies; ++i) {
    f.mad.push_back(repack<Interleaved<32, 32>>(p));
    f.lut.push_back(make_lut(p));
  }
  const auto xf = gaussian(static_cast<std::size_t>(f.k), 2);
  quantize_activations(MatrixView<const float>(xf.data(), 1, f.k), f.x);
#if LOWBIT_HAS_AVX512BW
  // The lookup kernel is exact: it must equal the reference bit for bit.
  std::vector<float> want(static_cast<std::size_t>(f.m)), got(static_cast<std::size_t>(f.m));
  std::vector<std::uint8_t> tab;
  ref::gemm_int8(p, f.x, MatrixView<float>(want.data(), 1, f.m));
  lut_gemv(f.lut[0], f.x, got.data(), tab);
  if (std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) != 0) {
    std::fprintf(stderr, "bench_lut: the lookup GEMV differs from ref::gemm_int8\n");
    std::abort();
  }
#endif
  return f;
}

void mad_bench(benchmark::State& state, Index shape) {
  Fixture& f = fixture(shape);
  Context ctx(1);
  std::vector<float> y(static_cast<std::size_t>(f.m));
  std::size_t i = 0;
  for (auto _ : state) {
    gemv_int8(f.mad[i], f.x, VectorView<float>(y.data(), f.m), ctx);
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % f.mad.size();
  }
  set_counters(state, Shape{f.m, f.k}, 1, static_cast<double>(f.m * f.k) / 4.0, 2.0);
}

#if LOWBIT_HAS_AVX512BW
void lut_bench(benchmark::State& state, Index shape) {
  Fixture& f = fixture(shape);
  std::vector<float> y(static_cast<std::size_t>(f.m));
  std::vector<std::uint8_t> tab;
  std::size_t i = 0;
  for (auto _ : state) {
    lut_gemv(f.lut[i], f.x, y.data(), tab);
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % f.lut.size();
  }
  set_counters(state, Shape{f.m, f.k}, 1, static_cast<double>(f.m * f.k) / 4.0, 2.0);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  for (Index shape : {0, 1}) {
    benchmark::RegisterBenchmark(("Mad/" + std::to_string(shape)).c_str(), mad_bench, shape)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
#if LOWBIT_HAS_AVX512BW
    benchmark::RegisterBenchmark(("Lut/" + std::to_string(shape)).c_str(), lut_bench, shape)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
#endif
  }
  return lowbit::bench::run_registered(argc, argv);
}
