// SPDX-License-Identifier: Apache-2.0
// tools/llama/quantized_bt.cpp: the binary and ternary policies (policy.hpp): their
// fitters, GPTQ with the fitted parameters fixed, and their Linear layers on lowbit's kernels.
//
// Binary (1 bit) and ternary (2-bit codes) decode affinely, so they run on the generic
// Interleaved<16, 32> GEMM kernels like the integer schemes. The two-plane Binary2 does not (its
// four levels μ ± α1 ± α2 are not a line in the code): it runs on BitPlanes<16, 32> with the
// plane kernels (one exact dot product per plane). ARB-X (arbx) fits Binary with a mean on the
// calibration Gram matrix the pipeline records for GPTQ (rotated with W under -rot), arbx2
// Binary2 the same way. ARB-RC
// (arbrc) stores sign·α_r as Binary<kNone> and its column scales beside it; the Linear scales the
// inputs (ColumnScaledLinear, model.hpp).
#include <memory>

#include "lowbit/calib/binary_refine.hpp"
#include "lowbit/calib/ternary_threshold.hpp"
#include "quantized_impl.hpp"

namespace lowbit::llama::detail {

namespace {

using BinS = Binary<BinaryOffset::kNone, f16>;
using BinmS = Binary<BinaryOffset::kMean, f16>;
using Bin2S = Binary2<f16>;
using TerS = Ternary<f16>;

/// The family's own fit of w (no calibration), as a Plain matrix of scheme S.
template <class S, int G>
PackedMatrix<S, PerGroup<G>, Plain> fit_family(MatrixView<const float> w, Family f,
                                               const Eigen::MatrixXd* h) {
  using Gr = PerGroup<G>;
  if constexpr (std::is_same_v<S, BinS>) {
    return calib::binarize<BinaryOffset::kNone, f16, Gr>(w, calib::BinaryMethod::kXnor);
  } else if constexpr (std::is_same_v<S, BinmS>) {
    if (f == Family::kArbx)  // h is symmetric: its column-major storage reads as row-major
      return calib::binarize_x<f16, Gr>(w,
                                        MatrixView<const double>(h->data(), h->rows(), h->cols()));
    return calib::binarize<BinaryOffset::kMean, f16, Gr>(
        w, f == Family::kArb ? calib::BinaryMethod::kArb : calib::BinaryMethod::kMean);
  } else if constexpr (std::is_same_v<S, Bin2S>) {
    if (f == Family::kArbx2)
      return calib::binarize2_x<f16, Gr>(w,
                                         MatrixView<const double>(h->data(), h->rows(), h->cols()));
    return calib::binarize2<f16, Gr>(
        w, f == Family::kArb2 ? calib::Binary2Method::kArb : calib::Binary2Method::kResidual);
  } else {
    switch (f) {
      case Family::kTer:
        return calib::ternarize<f16, Gr>(w, calib::TernaryMethod::kAbsmean);
      case Family::kTerls:
        return calib::ternarize<f16, Gr>(w, calib::TernaryMethod::kAbsmeanLs);
      case Family::kTwn:
        return calib::ternarize<f16, Gr>(w, calib::TernaryMethod::kTwn);
      case Family::kTopt:
        return calib::ternarize<f16, Gr>(w, calib::TernaryMethod::kOptimal);
      default:
        return calib::ternarize_sherry<f16, Gr>(w);
    }
  }
}

/// ARB-RC: the signs with per-group row scales (returned) and the column scales (into cs). With
/// -gptq, GPTQ re-chooses the signs of W' = W·diag(α_c)⁻¹ with the row scales fixed, under the
/// Hessian of the scaled inputs H' = diag(α_c)·H·diag(α_c): (W - Ŵ)·x = (W' - Ŵ')·(α_c ⊙ x), so
/// this is the same output error. Columns with α_c = 0 (all-zero weights) are dead inputs there.
template <int G>
PackedMatrix<BinS, PerGroup<G>, Plain> fit_rc(MatrixView<const float> w, const Policy& p,
                                              const Eigen::MatrixXd* h, std::vector<float>& cs) {
  calib::BinaryRC<f16, PerGroup<G>> rc = calib::fit_binary_rc<f16, PerGroup<G>>(w);
  cs = rc.col_scale;
  if (!p.gptq) return std::move(rc.w);
  const Index rows = w.rows(), cols = w.cols();
  std::vector<float> ws(static_cast<std::size_t>(rows * cols));
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) {
      const float a = cs[static_cast<std::size_t>(c)];
      ws[static_cast<std::size_t>(r * cols + c)] = a > 0.0f ? w(r, c) / a : 0.0f;
    }
  Eigen::MatrixXd hs = *h;
  for (Index i = 0; i < cols; ++i)
    for (Index j = 0; j < cols; ++j)
      hs(i, j) *= static_cast<double>(cs[static_cast<std::size_t>(i)]) *
                  static_cast<double>(cs[static_cast<std::size_t>(j)]);
  calib::GptqOptions g;
  g.act_order = true;
  const std::vector<typename BinS::Params> params(rc.w.params().begin(), rc.w.params().end());
  return calib::gptq<BinS, PerGroup<G>>(MatrixView<const float>(ws.data(), rows, cols), hs, g,
                                        params);
}

template <class S, int G>
QuantizedTensor quantize_family(MatrixView<const float> w, const Policy& p,
                                const TensorCalibration* cal, std::uint64_t seed) {
  return quantize_with<S, G>(
      w, p, cal, seed,
      [&](MatrixView<const float> wv, const Eigen::MatrixXd* h, std::span<const float>,
          std::vector<float>& cs) {
        if constexpr (std::is_same_v<S, BinS>)
          if (p.family == Family::kArbrc) return fit_rc<G>(wv, p, h, cs);
        PackedMatrix<S, PerGroup<G>, Plain> fitted = fit_family<S, G>(wv, p.family, h);
        if (!p.gptq) return fitted;
        if (p.family == Family::kSherry)
          lowbit::fail("policy '", p.name,
                       "': GPTQ would not keep Sherry's 3:4 pattern; use sherry without -gptq");
        calib::GptqOptions g;
        g.act_order = true;
        const std::vector<typename S::Params> params(fitted.params().begin(),
                                                     fitted.params().end());
        return calib::gptq<S, PerGroup<G>>(wv, *h, g, params);
      });
}

template <class S, int G>
std::unique_ptr<Linear> load_family(const io::FileInfo& info, const QuantizedTensor& t, bool fa) {
  if (info.scheme_name != S::name() || info.group_size != static_cast<std::uint32_t>(G))
    return nullptr;
  const auto plain = io::deserialize<PackedMatrix<S, PerGroup<G>, Plain>>(t.image);
  if constexpr (std::is_same_v<S, Bin2S>) {
    using W = PackedMatrix<S, PerGroup<G>, BitPlanes<16, 32>>;
    return std::make_unique<PackedLinear<W>>(repack<BitPlanes<16, 32>>(plain), fa);
  } else {
    using W = PackedMatrix<S, PerGroup<G>, Interleaved<16, 32>>;
    return std::make_unique<PackedLinear<W>>(repack<Interleaved<16, 32>>(plain), fa);
  }
}

template <int G>
QuantizedTensor quantize_family_g(MatrixView<const float> w, const Policy& p,
                                  const TensorCalibration* cal, std::uint64_t seed) {
  switch (p.family) {
    case Family::kBin:
    case Family::kArbrc:
      return quantize_family<BinS, G>(w, p, cal, seed);
    case Family::kBinm:
    case Family::kArb:
    case Family::kArbx:
      return quantize_family<BinmS, G>(w, p, cal, seed);
    case Family::kBin2:
    case Family::kArb2:
    case Family::kArbx2:
      return quantize_family<Bin2S, G>(w, p, cal, seed);
    default:
      return quantize_family<TerS, G>(w, p, cal, seed);
  }
}

}  // namespace

QuantizedTensor quantize_tensor_family(MatrixView<const float> w, const Policy& p,
                                       const TensorCalibration* cal, std::uint64_t seed) {
  return p.group == 32 ? quantize_family_g<32>(w, p, cal, seed)
                       : quantize_family_g<64>(w, p, cal, seed);
}

std::unique_ptr<Linear> make_linear_family(const io::FileInfo& info, const QuantizedTensor& t,
                                           bool fa) {
  std::unique_ptr<Linear> l;
  if (!l) l = load_family<BinS, 32>(info, t, fa);
  if (!l) l = load_family<BinS, 64>(info, t, fa);
  if (!l) l = load_family<BinmS, 32>(info, t, fa);
  if (!l) l = load_family<BinmS, 64>(info, t, fa);
  if (!l) l = load_family<Bin2S, 32>(info, t, fa);
  if (!l) l = load_family<Bin2S, 64>(info, t, fa);
  if (!l) l = load_family<TerS, 32>(info, t, fa);
  if (!l) l = load_family<TerS, 64>(info, t, fa);
  return l;
}

}  // namespace lowbit::llama::detail
