// SPDX-License-Identifier: Apache-2.0
// tools/llama/quantized_impl.hpp: the templates behind quantized.hpp, instantiated once per bit
// width in quantized_b<bits>.cpp so the four heavy instantiation sets compile in parallel.
#pragma once

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <memory>
#include <type_traits>
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
    fit.clip_min = 0.5f;
    fit.clip_steps = 50;
  }
  if (p.ls && !p.gptq) fit.refit_iters = 2;
  return fit;
}

/// Rounds of calib::gptq_refit for -gptq-ls.
inline constexpr int kGptqRefitRounds = 4;

/// Everything around the quantizer proper: the -seq target, the rotation (of W and of the
/// Hessian), the -imp importance, then `quantize(wv, h, imp, col_scale)` → PackedMatrix<S,
/// PerGroup<G>, Plain> on the rotated target (a quantizer that scales columns, arbrc, fills
/// col_scale: Ŵ = the matrix's decode · diag(col_scale)), then the image, bpw and the errors in
/// the original basis.
template <class S, int G, class Quantizer>
QuantizedTensor quantize_with(MatrixView<const float> w, const Policy& p,
                              const TensorCalibration* cal, std::uint64_t seed,
                              Quantizer&& quantize_fn) {
  using lowbit::fail;
  const Index rows = w.rows(), cols = w.cols();
  if (p.needs_calibration() && cal == nullptr)
    fail("policy '", p.name, "': -imp, -gptq and -seq need calibration activations");
  if (cal != nullptr && (cal->h.rows() != cols || cal->h.cols() != cols))
    fail("quantize: Hessian is ", cal->h.rows(), " x ", cal->h.cols(), ", W has ", cols,
         " columns");
  const bool seq = cal != nullptr && cal->cross.size() > 0;
  if (seq && (cal->cross.rows() != cols || cal->cross.cols() != cols || cal->h_ref.rows() != cols ||
              cal->h_ref.cols() != cols))
    fail("quantize: cross statistics do not match W's ", cols, " columns");
  // Without calibration nothing needs W in double: the quantizer reads w itself (or its rotated
  // copy), and the error is summed from w and Ŵ directly (a 1B model streams at the speed of
  // its quantizer, not of three dense double copies per tensor).
  const bool calibrated = cal != nullptr;
  const Eigen::MatrixXd W = calibrated ? calib::to_eigen(w, "quantize") : Eigen::MatrixXd();
  // The target: W itself, or with -seq W' = W·C·(H + λI)⁻¹ (see TensorCalibration).
  Eigen::MatrixXd target = seq ? W : Eigen::MatrixXd();
  if (seq) {
    // Ridge toward W, not toward 0: W' = (W·C + λ·W)·(H + λI)⁻¹ minimises
    // Σ‖W·x̃ - W'·x‖² + λ‖W' - W‖², so directions the calibration inputs barely excite keep W.
    const double lambda = 0.01 * cal->h.diagonal().mean() + 1e-12;
    Eigen::MatrixXd hd = cal->h;
    hd.diagonal().array() += lambda;
    Eigen::MatrixXd rhs = cal->cross;  // Cᵀ + λI, so that Hd·W'ᵀ = (C + λI)ᵀ·Wᵀ
    rhs.diagonal().array() += lambda;
    const Eigen::LDLT<Eigen::MatrixXd> ldlt(hd);
    target = ldlt.solve(rhs.transpose() * W.transpose()).transpose();
    if (!target.allFinite()) fail("quantize: the -seq target is not finite");
  }
  // The matrix the quantizer reads: w itself, or a copy that -seq replaces or -rot rotates.
  std::vector<float> wr;
  MatrixView<const float> wq = w;
  if (seq || p.rot) {
    wr.resize(static_cast<std::size_t>(rows * cols));
    const MatrixView<float> wv(wr.data(), rows, cols);
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c) wv(r, c) = seq ? static_cast<float>(target(r, c)) : w(r, c);
    wq = wv;
  }
  calib::HadamardRotation q;
  Eigen::MatrixXd hr;
  const Eigen::MatrixXd* h = cal != nullptr ? &cal->h : nullptr;
  if (p.rot) {
    q = calib::HadamardRotation(cols, seed);
    q.apply_rows(MatrixView<float>(wr.data(), rows, cols));
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
  std::vector<float> col_scale;
  const PackedMatrix<S, PerGroup<G>, Plain> plain =
      quantize_fn(wq, h, std::span<const float>(imp), col_scale);
  if (!col_scale.empty() && col_scale.size() != static_cast<std::size_t>(cols))
    fail("quantize: ", col_scale.size(), " column scales for ", cols, " columns");
  // A quantizer may return a wider matrix (zero-padded inputs, CCQ): its extra columns meet zero
  // activations, so Ŵ is its first `cols` columns and the bits are counted over those.
  const Index pcols = plain.cols();
  if (plain.rows() != rows || pcols < cols)
    fail("quantize: the quantizer returned ", plain.rows(), " x ", pcols, " for ", rows, " x ",
         cols);
  QuantizedTensor t;
  t.image = io::serialize(plain);
  if (pcols != cols) t.cols = cols;
  if (p.rot) t.rotation = q.to_ints();
  // WINT2.5's layers hold FastDeploy's 2.5-bit words (Wint25Words), archives its 3-bit windows:
  // the format's bits are counted.
  double plain_bpw = plain.bits_per_weight();
  if constexpr (std::is_same_v<S, CcqWint25>)
    plain_bpw += Wint25Words<16>::kCodeBitsPerWeight - S::kCodeBits;
  t.bpw = plain_bpw * static_cast<double>(pcols) / static_cast<double>(cols) +
          (p.rot ? static_cast<double>(calib::HadamardRotation::kStoredBits) /
                       static_cast<double>(rows * cols)
                 : 0.0);
  if (!col_scale.empty() && rows > 0) t.bpw += 32.0 / static_cast<double>(rows);
  // Ŵ in the original basis (columns scaled, rows rotated back by Qᵀ), then the errors.
  std::vector<float> deq = dequantize(plain), tmp;
  if (pcols != cols) {
    for (Index r = 0; r < rows; ++r)
      std::copy_n(deq.begin() + r * pcols, cols, deq.begin() + r * cols);
    deq.resize(static_cast<std::size_t>(rows * cols));
  }
  if (!col_scale.empty())
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c)
        deq[static_cast<std::size_t>(r * cols + c)] *= col_scale[static_cast<std::size_t>(c)];
  t.col_scale = std::move(col_scale);
  if (p.rot) {
    for (Index r = 0; r < rows; ++r)
      q.apply_transpose(std::span<float>(deq.data() + r * cols, static_cast<std::size_t>(cols)),
                        tmp);
  }
  double wn = 0.0, en = 0.0;
  for (Index r = 0; r < rows; ++r) {
    const float* d = deq.data() + r * cols;
    for (Index c = 0; c < cols; ++c) {
      const double a = w(r, c), e = a - static_cast<double>(d[c]);
      wn += a * a;
      en += e * e;
    }
  }
  t.nmse = wn > 0.0 ? en / wn : 0.0;
  if (calibrated) {
    Eigen::MatrixXd Wq(rows, cols);
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c) Wq(r, c) = deq[static_cast<std::size_t>(r * cols + c)];
    // Σ‖W·x̃ - Ŵ·x‖² = tr(W·H̃·Wᵀ) - 2·tr(W·C·Ŵᵀ) + tr(Ŵ·H·Ŵᵀ)  (x̃ = x without -seq).
    const Eigen::MatrixXd& href = seq ? cal->h_ref : cal->h;
    const Eigen::MatrixXd& cross = seq ? cal->cross : cal->h;
    const double den = (W * href).cwiseProduct(W).sum();
    const double num =
        den - 2.0 * (W * cross).cwiseProduct(Wq).sum() + (Wq * cal->h).cwiseProduct(Wq).sum();
    t.out_err = den > 0.0 ? std::max(num, 0.0) / den : 0.0;
  }
  return t;
}

/// The integer schemes: range fit (clip, LS, importance) or GPTQ (with refits for -ls).
template <class S, int G>
QuantizedTensor quantize_as(MatrixView<const float> w, const Policy& p,
                            const TensorCalibration* cal, std::uint64_t seed) {
  return quantize_with<S, G>(
      w, p, cal, seed,
      [&](MatrixView<const float> wv, const Eigen::MatrixXd* h, std::span<const float> imp,
          std::vector<float>&) {
        const FitOptions fit = fit_options(p);
        if (p.gptq) {
          calib::GptqOptions g;
          g.fit = fit;
          g.act_order = true;
          g.importance.assign(imp.begin(), imp.end());
          return p.ls ? calib::gptq_refit<S, PerGroup<G>>(wv, *h, g, kGptqRefitRounds)
                      : calib::gptq<S, PerGroup<G>>(wv, *h, g);
        }
        QuantizeOptions o;
        o.fit = fit;
        if (!imp.empty())
          o.importance = MatrixView<const float>(imp.data(), wv.rows(), wv.cols(), 0);
        return quantize<S, PerGroup<G>, Plain>(wv, o);
      });
}

template <int B>
QuantizedTensor quantize_tensor_bits(MatrixView<const float> w, const Policy& p,
                                     const TensorCalibration* h, std::uint64_t seed) {
  if (p.group == 32)
    return p.symmetric ? quantize_as<SymScheme<B>, 32>(w, p, h, seed)
                       : quantize_as<AsymScheme<B>, 32>(w, p, h, seed);
  return p.symmetric ? quantize_as<SymScheme<B>, 64>(w, p, h, seed)
                     : quantize_as<AsymScheme<B>, 64>(w, p, h, seed);
}

/// quantize_stored for scheme S with groups of G (quantized.hpp).
template <class S, int G>
void quantize_stored_as(const StoredWeights& w, int threads, QuantizedTensor& t) {
  QuantizeOptions o;  // min/max, no refit: the fit_options of a plain RTN policy
  o.threads = threads;
  o.measure_error = true;
  std::visit(
      [&](auto v) {
        PackedMatrix<S, PerGroup<G>, Plain> plain(v.rows(), v.cols());
        const QuantizeError e = quantize_into(v, o, plain);
        io::serialize_into(plain, t.image);
        t.rotation.clear();
        t.col_scale.clear();
        t.cols = 0;
        t.bpw = plain.bits_per_weight();
        t.nmse = e.nmse();
        t.out_err = -1.0;
      },
      w);
}

template <int B>
void quantize_stored_bits(const StoredWeights& w, const Policy& p, int threads,
                          QuantizedTensor& t) {
  if (p.group == 32)
    return p.symmetric ? quantize_stored_as<SymScheme<B>, 32>(w, threads, t)
                       : quantize_stored_as<AsymScheme<B>, 32>(w, threads, t);
  return p.symmetric ? quantize_stored_as<SymScheme<B>, 64>(w, threads, t)
                     : quantize_stored_as<AsymScheme<B>, 64>(w, threads, t);
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

template <class S, int G>
bool affine_as(const io::FileInfo& info, const QuantizedTensor& t, AffineTensor* get,
               QuantizedTensor* set, const AffineTensor* from) {
  if (info.scheme_name != S::name() || info.group_size != static_cast<std::uint32_t>(G))
    return false;
  using M = PackedMatrix<S, PerGroup<G>, Plain>;
  M m = io::deserialize<M>(t.image);
  constexpr int dof = calib::detail::refit_dof<S>();
  static_assert(dof > 0, "the tools' schemes have a free scale");
  if (get != nullptr) {
    AffineTensor& a = *get;
    a.rows = m.rows();
    a.cols = m.cols();
    a.dof = dof;
    // The tools' schemes subtract a constant (sym: 2^(b-1), asym with a float min: 0).
    const int sub = m.params().empty() ? 0 : S::decode_affine(m.params()[0]).sub;
    a.cs_min = static_cast<float>(static_cast<int>(S::kMinCode) - sub);
    a.cs_max = static_cast<float>(static_cast<int>(S::kMaxCode) - sub);
    a.cs.resize(static_cast<std::size_t>(a.rows * a.cols));
    a.slot.resize(a.cs.size());
    for (Index r = 0; r < a.rows; ++r)
      for (Index c = 0; c < a.cols; ++c) {
        const auto sl = m.param_slot(r, c);
        const DecodeAffine d = S::decode_affine(m.params()[static_cast<std::size_t>(sl)]);
        a.cs[static_cast<std::size_t>(r * a.cols + c)] =
            static_cast<float>(static_cast<int>(m.code(r, c)) - d.sub);
        a.slot[static_cast<std::size_t>(r * a.cols + c)] = static_cast<std::int32_t>(sl);
      }
    a.scale.clear();
    a.offset.clear();
    for (const auto& p : m.params()) {
      const DecodeAffine d = S::decode_affine(p);
      a.scale.push_back(d.scale);
      a.offset.push_back(d.offset);
    }
  } else {
    using ScaleT = std::remove_cvref_t<decltype(typename S::Params{}.scale)>;
    if (from->scale.size() != m.params().size() || from->offset.size() != m.params().size())
      lowbit::fail("set_affine: ", from->scale.size(), " parameter sets for ", m.params().size());
    if (from->rows != m.rows() || from->cols != m.cols() ||
        from->cs.size() != static_cast<std::size_t>(m.rows() * m.cols()))
      lowbit::fail("set_affine: codes of ", from->rows, "x", from->cols, " for a ", m.rows(), "x",
                   m.cols(), " matrix");
    for (Index r = 0; r < m.rows(); ++r)
      for (Index c = 0; c < m.cols(); ++c) {
        const float v = from->cs[static_cast<std::size_t>(r * m.cols() + c)];
        const int sub =
            S::decode_affine(m.params()[static_cast<std::size_t>(m.param_slot(r, c))]).sub;
        const long code = std::lround(v) + sub;
        if (!(v == v) || code < static_cast<long>(S::kMinCode) ||
            code > static_cast<long>(S::kMaxCode))
          lowbit::fail("set_affine: code ", v, " at (", r, ", ", c, ") out of range");
        m.set_code(r, c, static_cast<std::uint32_t>(code));
      }
    for (std::size_t i = 0; i < m.params().size(); ++i) {
      auto q = m.params()[i];
      q.scale = ScaleStorage<ScaleT>::store(from->scale[i]);
      if constexpr (dof == 2) q.min = ScaleStorage<ScaleT>::store(from->offset[i]);
      if (S::params_finite(q)) m.params()[i] = q;
    }
    set->image = io::serialize(m);
  }
  return true;
}

/// affine_of / set_affine for one bit width; false if t holds none of its schemes.
template <int B>
bool affine_bits(const io::FileInfo& info, const QuantizedTensor& t, AffineTensor* get,
                 QuantizedTensor* set, const AffineTensor* from) {
  return affine_as<SymScheme<B>, 32>(info, t, get, set, from) ||
         affine_as<SymScheme<B>, 64>(info, t, get, set, from) ||
         affine_as<AsymScheme<B>, 32>(info, t, get, set, from) ||
         affine_as<AsymScheme<B>, 64>(info, t, get, set, from);
}

#define LOWBIT_LLAMA_INSTANTIATE(B)                                                          \
  template bool affine_bits<B>(const io::FileInfo&, const QuantizedTensor&, AffineTensor*,   \
                               QuantizedTensor*, const AffineTensor*);                       \
  template QuantizedTensor quantize_tensor_bits<B>(MatrixView<const float>, const Policy&,   \
                                                   const TensorCalibration*, std::uint64_t); \
  template void quantize_stored_bits<B>(const StoredWeights&, const Policy&, int,            \
                                        QuantizedTensor&);                                   \
  template std::unique_ptr<Linear> make_linear_bits<B>(const io::FileInfo&,                  \
                                                       const QuantizedTensor&, bool);

}  // namespace lowbit::llama::detail
