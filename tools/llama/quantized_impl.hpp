// SPDX-License-Identifier: Apache-2.0
// tools/llama/quantized_impl.hpp: the templates behind quantized.hpp, instantiated once per bit
// width in quantized_b<bits>.cpp so the four heavy instantiation sets compile in parallel.
#pragma once

#include <cmath>
#include <memory>
#include <vector>

#include "lowbit/calib/gptq.hpp"
#include "lowbit/calib/rotation.hpp"
#include "lowbit/io/serialize.hpp"
#include "lowbit/lowbit.hpp"
#include "quantized.hpp"

namespace lowbit::llama::detail {

template <int B>
using SymScheme = Symmetric<B, SymmetricConvention::kSignedMax, f16>;
template <int B>
using AsymScheme = Asymmetric<B, AsymmetricOffset::kFloatMin, f16>;

/// The group fit a policy asks for (policy.hpp).
inline FitOptions fit_options(const Policy& p) {
  FitOptions fit;
  if (p.clip) {
    fit.range = RangeFit::kClipSearch;
    fit.shrink = ClipShrink::kTowardZero;
    fit.refit_iters = 2;
  }
  return fit;
}

template <class S, int G>
QuantizedTensor quantize_as(MatrixView<const float> w, const Policy& p,
                            const Eigen::MatrixXd* hessian, std::uint64_t seed) {
  using lowbit::detail::fail;
  const Index rows = w.rows(), cols = w.cols();
  if (p.needs_calibration() && hessian == nullptr)
    fail("policy '", p.name, "': -imp and -gptq need calibration activations");
  if (hessian != nullptr && (hessian->rows() != cols || hessian->cols() != cols))
    fail("quantize: Hessian is ", hessian->rows(), " x ", hessian->cols(), ", W has ", cols,
         " columns");
  std::vector<float> wr(static_cast<std::size_t>(rows * cols));
  const MatrixView<float> wv(wr.data(), rows, cols);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) wv(r, c) = w(r, c);
  calib::HadamardRotation q;
  Eigen::MatrixXd hr;
  const Eigen::MatrixXd* h = hessian;
  if (p.rot) {
    q = calib::HadamardRotation(cols, seed);
    q.apply_rows(wv);
    if (h != nullptr) {
      hr = *h;
      calib::rotate_hessian(q, hr);
      h = &hr;
    }
  }
  std::vector<float> imp;
  if (p.imp) {
    imp.resize(static_cast<std::size_t>(cols));
    for (Index c = 0; c < cols; ++c) {
      const double d = (*h)(c, c);
      imp[static_cast<std::size_t>(c)] = d > 0.0 ? static_cast<float>(d) : 0.0f;
    }
  }
  const FitOptions fit = fit_options(p);
  PackedMatrix<S, PerGroup<G>, Plain> plain;
  if (p.gptq) {
    calib::GptqOptions g;
    g.fit = fit;
    g.act_order = true;
    g.importance = imp;
    plain = calib::gptq<S, PerGroup<G>>(wv, *h, g);
  } else {
    QuantizeOptions o;
    o.fit = fit;
    if (!imp.empty()) o.importance = MatrixView<const float>(imp.data(), rows, cols, 0);
    plain = quantize<S, PerGroup<G>, Plain>(MatrixView<const float>(wv), o);
  }
  QuantizedTensor t;
  t.image = io::serialize(plain);
  if (p.rot) t.rotation = q.to_ints();
  t.bpw = plain.bits_per_weight() +
          (p.rot ? static_cast<double>(calib::HadamardRotation::kStoredBits) /
                       static_cast<double>(rows * cols)
                 : 0.0);
  // Errors in the rotated basis: Q is orthogonal, so ‖ΔW·Qᵀ‖ = ‖ΔW‖ and the output error
  // tr(ΔW'·H'·ΔW'ᵀ) with H' = Q·H·Qᵀ equals that of the unrotated layer.
  const std::vector<float> deq = dequantize(plain);
  Eigen::MatrixXd d(rows, cols), wd(rows, cols);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) {
      wd(r, c) = wv(r, c);
      d(r, c) = wv(r, c) - static_cast<double>(deq[static_cast<std::size_t>(r * cols + c)]);
    }
  const double wn = wd.squaredNorm();
  t.nmse = wn > 0.0 ? d.squaredNorm() / wn : 0.0;
  if (h != nullptr) {
    const double num = (d * (*h)).cwiseProduct(d).sum();
    const double den = (wd * (*h)).cwiseProduct(wd).sum();
    t.out_err = den > 0.0 ? num / den : 0.0;
  }
  return t;
}

template <int B>
QuantizedTensor quantize_tensor_bits(MatrixView<const float> w, const Policy& p,
                                     const Eigen::MatrixXd* h, std::uint64_t seed) {
  if (p.group == 32)
    return p.symmetric ? quantize_as<SymScheme<B>, 32>(w, p, h, seed)
                       : quantize_as<AsymScheme<B>, 32>(w, p, h, seed);
  return p.symmetric ? quantize_as<SymScheme<B>, 64>(w, p, h, seed)
                     : quantize_as<AsymScheme<B>, 64>(w, p, h, seed);
}

template <class S, int G>
std::unique_ptr<Linear> load_as(const io::FileInfo& info, const QuantizedTensor& t,
                                bool float_activations) {
  if (info.scheme_name != S::name() || info.group_size != static_cast<std::uint32_t>(G))
    return nullptr;
  const auto plain = io::deserialize<PackedMatrix<S, PerGroup<G>, Plain>>(t.image);
  using W = PackedMatrix<S, PerGroup<G>, Interleaved<16, 32>>;
  return std::make_unique<PackedLinear<W>>(repack<Interleaved<16, 32>>(plain), float_activations);
}

/// The Linear of t if it holds one of the tools' schemes at B bits, else nullptr.
template <int B>
std::unique_ptr<Linear> make_linear_bits(const io::FileInfo& info, const QuantizedTensor& t,
                                         bool fa) {
  std::unique_ptr<Linear> l = load_as<SymScheme<B>, 32>(info, t, fa);
  if (!l) l = load_as<SymScheme<B>, 64>(info, t, fa);
  if (!l) l = load_as<AsymScheme<B>, 32>(info, t, fa);
  if (!l) l = load_as<AsymScheme<B>, 64>(info, t, fa);
  return l;
}

#define LOWBIT_LLAMA_INSTANTIATE(B)                                                          \
  template QuantizedTensor quantize_tensor_bits<B>(MatrixView<const float>, const Policy&,  \
                                                   const Eigen::MatrixXd*, std::uint64_t);  \
  template std::unique_ptr<Linear> make_linear_bits<B>(const io::FileInfo&,                 \
                                                       const QuantizedTensor&, bool);

}  // namespace lowbit::llama::detail
