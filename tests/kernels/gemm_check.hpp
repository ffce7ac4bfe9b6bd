// SPDX-License-Identifier: Apache-2.0
// tests/kernels/gemm_check.hpp: shared checks of the GEMM/GEMV entry points against the
// references, instantiated per scheme list in several TUs (several TUs compile in parallel).
//   int8 path:  gemm_int8 / gemv_int8 / gemm == ref::gemm_int8 (+ pipeline) bit for bit, on every
//               compiled ISA, for 1 and 3 threads, with one activation scale per row and one per
//               weight group.
//   float path: gemm_f32 / gemv_f32 within |y - y_ref| <= 2^-17 · Σ_k (|s|·(c + sub) + |m|)·|x|
//               of ref::gemm (double accumulation), with s, sub, m the decode constants of the
//               weight's group: the kernel sums c·x and x in fp32 and subtracts sub·Σx once per
//               group, so its rounding error scales with the uncentred magnitudes (≈ 8·k·eps_f32
//               of them at k = 300, the largest k checked).
#pragma once

#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "lowbit/calib/binary_refine.hpp"
#include "lowbit/calib/ternary_threshold.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"
#include "support/isa_list.hpp"
#include "support/rng.hpp"

namespace lowbit::test {

inline const std::vector<Index> kTailSizes = {1,  2,  3,  4,  5,  6,   7,   8,  9,
                                              10, 11, 12, 13, 14, 15,  16,  17, 31,
                                              32, 33, 63, 64, 65, 127, 128, 129};

/// (m, n, k) triples: every tail size on each axis with small partners, plus larger mixes.
inline std::vector<std::array<Index, 3>> gemm_shapes() {
  std::vector<std::array<Index, 3>> s;
  for (Index k : kTailSizes) {
    s.push_back({17, 1, k});
    s.push_back({33, 5, k});
  }
  for (Index m : kTailSizes) s.push_back({m, 3, 65});
  for (Index n : kTailSizes) s.push_back({9, n, 33});
  s.push_back({64, 64, 300});
  s.push_back({129, 17, 257});
  return s;
}

/// A Plain matrix of scheme S fitted to w: the range fit (round to nearest) of the integer
/// schemes; ARB (with a mean) or XNOR for binary, ARB order 2 for Binary2, TWN for ternary.
template <class S>
struct Fitter {
  template <class G>
  static PackedMatrix<S, G, Plain> fit(MatrixView<const float> w) {
    return quantize<S, G, Plain>(w, {});
  }
};
template <BinaryOffset O, class T>
struct Fitter<Binary<O, T>> {
  template <class G>
  static PackedMatrix<Binary<O, T>, G, Plain> fit(MatrixView<const float> w) {
    return calib::binarize<O, T, G>(
        w, O == BinaryOffset::kMean ? calib::BinaryMethod::kArb : calib::BinaryMethod::kXnor);
  }
};
template <class T>
struct Fitter<Binary2<T>> {
  template <class G>
  static PackedMatrix<Binary2<T>, G, Plain> fit(MatrixView<const float> w) {
    return calib::binarize2<T, G>(w, calib::Binary2Method::kArb);
  }
};
template <class T>
struct Fitter<Ternary<T>> {
  template <class G>
  static PackedMatrix<Ternary<T>, G, Plain> fit(MatrixView<const float> w) {
    return calib::ternarize<T, G>(w, calib::TernaryMethod::kTwn);
  }
};

/// Sherry 3:4 ternary (the only fitter whose codes Sparse34 layouts can hold).
template <class T>
struct SherryFitter {
  template <class G>
  static PackedMatrix<Ternary<T>, G, Plain> fit(MatrixView<const float> w) {
    return calib::ternarize_sherry<T, G>(w);
  }
};

/// Shapes a layout can hold: Sparse34 layouts need k % 4 == 0.
template <class L>
bool layout_takes(Index k) {
  if constexpr (requires { L::pad_code(k); }) {
    return k % 4 == 0;
  } else {
    return true;
  }
}

template <class S, class G, int NR, class L = Interleaved<NR, 32>, class Fit = Fitter<S>>
void check_int8_path(std::uint64_t seed) {
  using W = PackedMatrix<S, G, L>;
  Context ctx1(1), ctx3(3), ctxg(2);
  ctxg.set_activation_scales(ActivationScales::kPerGroup);
  for (const auto& shape : gemm_shapes()) {
    const Index m = shape[0], n = shape[1], k = shape[2];
    if (!layout_takes<L>(k)) continue;
    const auto wf = student_t4(static_cast<std::size_t>(m * k), ++seed);
    const auto plain = Fit::template fit<G>(MatrixView<const float>(wf.data(), m, k));
    const W w = repack<L>(plain);
    const auto xf = gaussian(static_cast<std::size_t>(n * k), ++seed);
    Int8Activations a;
    quantize_activations(MatrixView<const float>(xf.data(), n, k), a);
    std::vector<float> want(static_cast<std::size_t>(n * m));
    ref::gemm_int8(plain, a, MatrixView<float>(want.data(), n, m));
    // The same with a bias + clamp pipeline, applied to the reference by hand.
    std::vector<float> bias(static_cast<std::size_t>(m));
    for (Index r = 0; r < m; ++r)
      bias[static_cast<std::size_t>(r)] = 0.25f * static_cast<float>(r % 7) - 0.5f;
    std::vector<float> want_p = want;
    for (Index t = 0; t < n; ++t)
      for (Index r = 0; r < m; ++r) {
        float& v = want_p[static_cast<std::size_t>(t * m + r)];
        v = v + bias[static_cast<std::size_t>(r)];
        v = v < -1.5f ? -1.5f : (v > 2.0f ? 2.0f : v);
      }
    const OutputPipeline<AddBias, Clamp> pipe(AddBias{bias}, Clamp{-1.5f, 2.0f});
    Int8Activations ab;
    quantize_activations(MatrixView<const float>(xf.data(), n, k), G::group_cols(k), ab);
    std::vector<float> want_b(static_cast<std::size_t>(n * m));
    ref::gemm_int8(plain, ab, MatrixView<float>(want_b.data(), n, m));
    for_each_isa([&](auto tag) {
      using Isa = decltype(tag);
      INFO(std::string(Isa::name())
           << " " << W::type_name() << " m=" << m << " n=" << n << " k=" << k);
      std::vector<float> y(static_cast<std::size_t>(n * m), -7.0f);
      gemm_int8<Isa>(w, a, MatrixView<float>(y.data(), n, m), ctx1);
      REQUIRE(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) == 0);
      std::fill(y.begin(), y.end(), -7.0f);
      gemm_int8<Isa>(w, a, MatrixView<float>(y.data(), n, m), pipe, ctx3);
      REQUIRE(std::memcmp(y.data(), want_p.data(), y.size() * sizeof(float)) == 0);
      // gemm() quantizes the float activations the same way.
      std::fill(y.begin(), y.end(), -7.0f);
      gemm<Isa>(w, MatrixView<const float>(xf.data(), n, k), MatrixView<float>(y.data(), n, m),
                ctx3);
      REQUIRE(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) == 0);
      if (n == 1) {
        std::fill(y.begin(), y.end(), -7.0f);
        gemv_int8<Isa>(w, a, VectorView<float>(y.data(), m), ctx3);
        REQUIRE(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) == 0);
      }
      // A scale per weight group of activations (ggml's q8 blocks), pre-quantized and through
      // gemm() on a per-group context.
      std::fill(y.begin(), y.end(), -7.0f);
      gemm_int8<Isa>(w, ab, MatrixView<float>(y.data(), n, m), ctx3);
      REQUIRE(std::memcmp(y.data(), want_b.data(), y.size() * sizeof(float)) == 0);
      std::fill(y.begin(), y.end(), -7.0f);
      gemm<Isa>(w, MatrixView<const float>(xf.data(), n, k), MatrixView<float>(y.data(), n, m),
                ctxg);
      REQUIRE(std::memcmp(y.data(), want_b.data(), y.size() * sizeof(float)) == 0);
    });
  }
}

template <class S, class G, int NR, class L = Interleaved<NR, 32>, class Fit = Fitter<S>>
void check_float_path(std::uint64_t seed) {
  using W = PackedMatrix<S, G, L>;
  Context ctx(2);
  for (const auto& shape : gemm_shapes()) {
    const Index m = shape[0], n = shape[1], k = shape[2];
    if (!layout_takes<L>(k)) continue;
    const auto wf = student_t4(static_cast<std::size_t>(m * k), ++seed);
    const auto plain = Fit::template fit<G>(MatrixView<const float>(wf.data(), m, k));
    const W w = repack<L>(plain);
    const auto xf = gaussian(static_cast<std::size_t>(n * k), ++seed);
    std::vector<float> want(static_cast<std::size_t>(n * m));
    ref::gemm(plain, MatrixView<const float>(xf.data(), n, k),
              MatrixView<float>(want.data(), n, m));
    std::vector<double> mag(static_cast<std::size_t>(n * m), 0.0);
    for (Index r = 0; r < m; ++r)
      for (Index c = 0; c < k; ++c) {
        const DecodeAffine d = S::decode_affine(plain.params_at(r, c));
        const double wmag =
            std::fabs(d.scale) * (plain.code(r, c) + std::abs(d.sub)) + std::fabs(d.offset);
        for (Index t = 0; t < n; ++t)
          mag[static_cast<std::size_t>(t * m + r)] +=
              wmag * std::fabs(xf[static_cast<std::size_t>(t * k + c)]);
      }
    for_each_isa([&](auto tag) {
      using Isa = decltype(tag);
      INFO(std::string(Isa::name())
           << " " << W::type_name() << " m=" << m << " n=" << n << " k=" << k);
      std::vector<float> y(static_cast<std::size_t>(n * m), -7.0f);
      if (n == 1) {
        gemv_f32<Isa>(w, VectorView<const float>(xf.data(), k), VectorView<float>(y.data(), m),
                      ctx);
      } else {
        gemm_f32<Isa>(w, MatrixView<const float>(xf.data(), n, k),
                      MatrixView<float>(y.data(), n, m), ctx);
      }
      for (std::size_t i = 0; i < y.size(); ++i) {
        const double err = std::fabs(static_cast<double>(y[i]) - want[i]);
        INFO("element " << i << ": " << y[i] << " vs " << want[i]);
        REQUIRE(err <= mag[i] * 0x1p-17 + 1e-30);
      }
    });
  }
}

}  // namespace lowbit::test
