// SPDX-License-Identifier: Apache-2.0
// tools/llama/quantized_bt.cpp: the binary and ternary policies (policy.hpp, issue #5): their
// fitters, GPTQ with the fitted parameters fixed, and their Linear layers on lowbit's kernels.
//
// Binary (1 bit) and ternary (2-bit codes) decode affinely, so they run on the generic
// Interleaved<16, 32> GEMM kernels like the integer schemes. The two-plane Binary2 does not (its
// four levels μ ± α1 ± α2 are not a line in the code): it runs as two binary GEMMs, plane 1
// (μ, α1) plus plane 2 (0, α2), summed.
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
PackedMatrix<S, PerGroup<G>, Plain> fit_family(MatrixView<const float> w, Family f) {
  using Gr = PerGroup<G>;
  if constexpr (std::is_same_v<S, BinS>) {
    return calib::binarize<BinaryOffset::kNone, f16, Gr>(w, calib::BinaryMethod::kXnor);
  } else if constexpr (std::is_same_v<S, BinmS>) {
    return calib::binarize<BinaryOffset::kMean, f16, Gr>(
        w, f == Family::kArb ? calib::BinaryMethod::kArb : calib::BinaryMethod::kMean);
  } else if constexpr (std::is_same_v<S, Bin2S>) {
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

template <class S, int G>
QuantizedTensor quantize_family(MatrixView<const float> w, const Policy& p,
                                const TensorCalibration* cal, std::uint64_t seed) {
  return quantize_with<S, G>(
      w, p, cal, seed,
      [&](MatrixView<const float> wv, const Eigen::MatrixXd* h, std::span<const float>) {
        PackedMatrix<S, PerGroup<G>, Plain> fitted = fit_family<S, G>(wv, p.family);
        if (!p.gptq) return fitted;
        if (p.family == Family::kSherry)
          lowbit::detail::fail(
              "policy '", p.name,
              "': GPTQ would not keep Sherry's 3:4 pattern; use sherry without -gptq");
        calib::GptqOptions g;
        g.act_order = true;
        const std::vector<typename S::Params> params(fitted.params().begin(),
                                                     fitted.params().end());
        return calib::gptq<S, PerGroup<G>>(wv, *h, g, params);
      });
}

/// Binary2 as two binary planes: y = (μ + α1·b1)·x + (α2·b2)·x.
class PlanesLinear final : public Linear {
 public:
  template <int G>
  PlanesLinear(const PackedMatrix<Bin2S, PerGroup<G>, Plain>& w, bool fa)
      : bpw_(w.bits_per_weight()) {
    PackedMatrix<BinmS, PerGroup<G>, Plain> p1(w.rows(), w.cols());
    PackedMatrix<BinS, PerGroup<G>, Plain> p2(w.rows(), w.cols());
    for (std::size_t i = 0; i < w.params().size(); ++i) {
      p1.params()[i] = BinmS::make(Bin2S::alpha1(w.params()[i]), Bin2S::mean(w.params()[i]));
      p2.params()[i] = BinS::make(Bin2S::alpha2(w.params()[i]), 0.0f);
    }
    for (Index r = 0; r < w.rows(); ++r)
      for (Index k = 0; k < w.cols(); ++k) {
        p1.set_code(r, k, w.code(r, k) & 1u);
        p2.set_code(r, k, w.code(r, k) >> 1);
      }
    using L = Interleaved<16, 32>;
    a_ = std::make_unique<PackedLinear<PackedMatrix<BinmS, PerGroup<G>, L>>>(repack<L>(p1), fa);
    b_ = std::make_unique<PackedLinear<PackedMatrix<BinS, PerGroup<G>, L>>>(repack<L>(p2), fa);
  }
  Index rows() const override { return a_->rows(); }
  Index cols() const override { return a_->cols(); }
  void forward(MatrixView<const float> x, MatrixView<float> y, Context& ctx) const override {
    std::vector<float> y2(static_cast<std::size_t>(y.rows() * y.cols()));
    a_->forward(x, y, ctx);
    b_->forward(x, MatrixView<float>(y2.data(), y.rows(), y.cols()), ctx);
    for (Index t = 0; t < y.rows(); ++t)
      for (Index r = 0; r < y.cols(); ++r)
        y(t, r) += y2[static_cast<std::size_t>(t * y.cols() + r)];
  }
  double bits_per_weight() const override { return bpw_; }

 private:
  std::unique_ptr<Linear> a_, b_;
  double bpw_;
};

template <class S, int G>
std::unique_ptr<Linear> load_family(const io::FileInfo& info, const QuantizedTensor& t, bool fa) {
  if (info.scheme_name != S::name() || info.group_size != static_cast<std::uint32_t>(G))
    return nullptr;
  const auto plain = io::deserialize<PackedMatrix<S, PerGroup<G>, Plain>>(t.image);
  if constexpr (std::is_same_v<S, Bin2S>) {
    return std::make_unique<PlanesLinear>(plain, fa);
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
      return quantize_family<BinS, G>(w, p, cal, seed);
    case Family::kBinm:
    case Family::kArb:
      return quantize_family<BinmS, G>(w, p, cal, seed);
    case Family::kBin2:
    case Family::kArb2:
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
