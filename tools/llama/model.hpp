// SPDX-License-Identifier: Apache-2.0
// tools/llama/model.hpp: a Llama forward pass whose linear layers run on lowbit's kernels, for
// the command-line tools and the end-to-end tests (not part of the library headers).
//
// The architecture is llama2.c's (run.c; tests/llama/test_forward.cpp checks the logits against a
// numpy reference within 1e-4): token
// embedding; per layer x += Wo·attn(rope(Wq·n), rope(Wk·n), Wv·n) with n = rmsnorm(x)·g_att,
// grouped-query causal attention (query head h reads kv head h / (n_heads / n_kv_heads)),
// scores / sqrt(head); then x += W2·(silu(W1·m) ⊙ W3·m) with m = rmsnorm(x)·g_ffn; finally
// logits = classifier · (rmsnorm(x)·g_final). RMSNorm eps 1e-5. RoPE rotates the pairs
// (2i, 2i+1) of each head by pos / θ^(2i/head) (θ = config.rope_theta: 10000 for llama2.c, the
// GGUF file's llama.rope.freq_base otherwise), angles computed in double as numpy does.
// A document of T tokens runs as one batch: every linear layer is a GEMM with n = T rows.
#pragma once

#include <cmath>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "lowbit/calib/rotation.hpp"
#include "lowbit/gemm/gemm.hpp"
#include "lowbit/interop/eigen.hpp"
#include "lowbit/io/llama2c.hpp"

namespace lowbit::llama {

/// One linear layer y (n × rows) = x (n × cols) · Wᵀ.
class Linear {
 public:
  virtual ~Linear() = default;
  virtual Index rows() const = 0;
  virtual Index cols() const = 0;
  virtual void forward(MatrixView<const float> x, MatrixView<float> y, Context& ctx) const = 0;
  /// y = X̂·Wᵀ on zero-point activation codes (lowbit::gemm_zp), if this layer runs them on
  /// integer kernels; false (y untouched) if not: the caller then passes the dequantized values.
  virtual bool forward_zp(const ZeroPointActivations&, MatrixView<float>, Context&) const {
    return false;
  }
  /// Storage bits per weight (32 for fp32).
  virtual double bits_per_weight() const = 0;
};

/// fp32 weights (Eigen GEMM).
class F32Linear final : public Linear {
 public:
  explicit F32Linear(MatrixView<const float> w)
      : rows_(w.rows()), cols_(w.cols()), w_(static_cast<std::size_t>(w.rows() * w.cols())) {
    for (Index r = 0; r < rows_; ++r)
      for (Index c = 0; c < cols_; ++c) w_[static_cast<std::size_t>(r * cols_ + c)] = w(r, c);
  }
  Index rows() const override { return rows_; }
  Index cols() const override { return cols_; }
  void forward(MatrixView<const float> x, MatrixView<float> y, Context&) const override {
    interop::eigen_gemm(weights(), x, y);
  }
  double bits_per_weight() const override { return 32.0; }
  MatrixView<const float> weights() const { return {w_.data(), rows_, cols_}; }

 private:
  Index rows_, cols_;
  std::vector<float> w_;
};

/// Packed weights of any kernel layout, run through lowbit::gemm (activations quantized to
/// int8 per row or per group as the Context says, the inference path) or lowbit::gemm_f32 (float
/// activations); affine schemes also take zero-point activation codes (lowbit::gemm_zp, row sums
/// computed on first use).
template <class W>
class PackedLinear final : public Linear {
  static constexpr bool kZp =
      AffineDecodeScheme<typename W::scheme_type> && !PlaneDecodeScheme<typename W::scheme_type>;

 public:
  PackedLinear(W w, bool float_activations)
      : w_(std::move(w)), float_activations_(float_activations) {}
  bool forward_zp(const ZeroPointActivations& x, MatrixView<float> y, Context& ctx) const override {
    if constexpr (kZp) {
      std::call_once(sums_once_, [this] { sums_ = ZeroPointRowSums(w_); });
      lowbit::gemm_zp(w_, sums_, x, y, ctx);
      return true;
    } else {
      return false;
    }
  }
  Index rows() const override { return w_.rows(); }
  Index cols() const override { return w_.cols(); }
  void forward(MatrixView<const float> x, MatrixView<float> y, Context& ctx) const override {
    if (float_activations_) {
      lowbit::gemm_f32(w_, x, y, ctx);
    } else {
      lowbit::gemm(w_, x, y, ctx);
    }
  }
  double bits_per_weight() const override { return w_.bits_per_weight(); }

 private:
  W w_;
  bool float_activations_;
  mutable std::once_flag sums_once_;
  mutable ZeroPointRowSums sums_;
};

/// A layer whose weights were rotated along their inputs (W·Qᵀ, calib/rotation.hpp): every
/// input row is rotated by Q before the inner layer runs, so the product is W·x.
class RotatedLinear final : public Linear {
 public:
  RotatedLinear(std::unique_ptr<Linear> inner, calib::HadamardRotation q)
      : inner_(std::move(inner)), q_(std::move(q)) {
    if (q_.size() != inner_->cols())
      lowbit::fail("llama: rotation of size ", q_.size(), " for a layer of ", inner_->cols(),
                   " inputs");
  }
  Index rows() const override { return inner_->rows(); }
  Index cols() const override { return inner_->cols(); }
  void forward(MatrixView<const float> x, MatrixView<float> y, Context& ctx) const override {
    std::vector<float> xr(static_cast<std::size_t>(x.rows() * x.cols()));
    const MatrixView<float> xv(xr.data(), x.rows(), x.cols());
    for (Index r = 0; r < x.rows(); ++r) std::copy_n(x.row_ptr(r), x.cols(), xv.row_ptr(r));
    q_.apply_rows(xv);
    inner_->forward(xv, y, ctx);
  }
  double bits_per_weight() const override {
    return inner_->bits_per_weight() + static_cast<double>(calib::HadamardRotation::kStoredBits) /
                                           static_cast<double>(rows() * cols());
  }

 private:
  std::unique_ptr<Linear> inner_;
  calib::HadamardRotation q_;
};

/// A layer whose weights are Ŵ_inner·diag(s) (ARB-RC's column scales): every input row is
/// scaled by s elementwise before the inner layer runs.
class ColumnScaledLinear final : public Linear {
 public:
  ColumnScaledLinear(std::unique_ptr<Linear> inner, std::vector<float> s)
      : inner_(std::move(inner)), s_(std::move(s)) {
    if (static_cast<Index>(s_.size()) != inner_->cols())
      lowbit::fail("llama: ", s_.size(), " column scales for a layer of ", inner_->cols(),
                   " inputs");
    for (std::size_t i = 0; i < s_.size(); ++i)
      if (!std::isfinite(s_[i]))
        lowbit::fail("llama: column scale ", i, " is ", s_[i], ", not finite");
  }
  Index rows() const override { return inner_->rows(); }
  Index cols() const override { return inner_->cols(); }
  void forward(MatrixView<const float> x, MatrixView<float> y, Context& ctx) const override {
    std::vector<float> xs(static_cast<std::size_t>(x.rows() * x.cols()));
    const MatrixView<float> xv(xs.data(), x.rows(), x.cols());
    for (Index r = 0; r < x.rows(); ++r)
      for (Index c = 0; c < x.cols(); ++c) xv(r, c) = x(r, c) * s_[static_cast<std::size_t>(c)];
    inner_->forward(xv, y, ctx);
  }
  double bits_per_weight() const override {
    return inner_->bits_per_weight() + 32.0 / static_cast<double>(rows());
  }

 private:
  std::unique_ptr<Linear> inner_;
  std::vector<float> s_;
};

/// A layer whose packed matrix has more inputs than the layer (zero columns appended, CCQ's
/// whole 64-input groups): inputs are padded with zeros to the inner width.
class PaddedLinear final : public Linear {
 public:
  PaddedLinear(std::unique_ptr<Linear> inner, Index cols) : inner_(std::move(inner)), cols_(cols) {
    if (cols_ < 1 || cols_ > inner_->cols())
      lowbit::fail("llama: ", cols_, " inputs for a padded layer of ", inner_->cols());
  }
  Index rows() const override { return inner_->rows(); }
  Index cols() const override { return cols_; }
  void forward(MatrixView<const float> x, MatrixView<float> y, Context& ctx) const override {
    const Index pc = inner_->cols();
    std::vector<float> xp(static_cast<std::size_t>(x.rows() * pc), 0.0f);
    const MatrixView<float> xv(xp.data(), x.rows(), pc);
    for (Index r = 0; r < x.rows(); ++r) std::copy_n(x.row_ptr(r), cols_, xv.row_ptr(r));
    inner_->forward(xv, y, ctx);
  }
  /// Bits over the layer's own weights (the padding's codes included).
  double bits_per_weight() const override {
    return inner_->bits_per_weight() * static_cast<double>(inner_->cols()) /
           static_cast<double>(cols_);
  }

 private:
  std::unique_ptr<Linear> inner_;
  Index cols_;
};

/// RMSNorm of T rows of D values: out = x · g / sqrt(mean x² + 1e-5), the mean in double.
inline void rmsnorm(const float* x, const float* g, float* out, Index T, Index D) {
  for (Index t = 0; t < T; ++t) {
    double ss = 0.0;
    for (Index i = 0; i < D; ++i) ss += static_cast<double>(x[t * D + i]) * x[t * D + i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(D) + 1e-5));
    for (Index i = 0; i < D; ++i) out[t * D + i] = x[t * D + i] * inv * g[i];
  }
}

/// The names of the seven matrices of a layer, in the order Model::linear indexes them.
inline constexpr const char* kMatrixNames[7] = {"wq", "wk", "wv", "wo", "w1", "w2", "w3"};

/// The parts of a Llama model that stay in fp32: configuration, embedding, norms, classifier.
struct FloatParts {
  io::Llama2cConfig config;
  std::vector<float> embedding, rms_att, rms_ffn, rms_final, classifier;

  static FloatParts from_llama2c(const io::Llama2cModel& m) {
    FloatParts out;
    out.config = m.config;
    out.embedding = m.tok_embeddings;
    out.rms_att = m.rms_att;
    out.rms_ffn = m.rms_ffn;
    out.rms_final = m.rms_final;
    const MatrixView<const float> cls = m.classifier();
    out.classifier.assign(cls.data(), cls.data() + cls.rows() * cls.cols());
    return out;
  }
};

class Model : public FloatParts {
 public:
  /// linear[7·l + j] is matrix kMatrixNames[j] of layer l.
  std::vector<std::unique_ptr<Linear>> linear;
  /// Optional: called with the input of every linear layer before it runs (calibration).
  std::function<void(int layer, int matrix, MatrixView<const float> x)> on_input;

  /// An fp32 model from a checkpoint.
  static Model from_llama2c(const io::Llama2cModel& m) {
    Model out;
    static_cast<FloatParts&>(out) = FloatParts::from_llama2c(m);
    for (int l = 0; l < m.config.n_layers; ++l) {
      for (const MatrixView<const float>& w :
           {m.wq_at(l), m.wk_at(l), m.wv_at(l), m.wo_at(l), m.w1_at(l), m.w2_at(l), m.w3_at(l)})
        out.linear.push_back(std::make_unique<F32Linear>(w));
    }
    return out;
  }

  /// Logits (T × vocab) for every position of `tokens` (full causal attention). With
  /// `stop_after` >= 0 only layers 0..stop_after run (for calibration) and `logits` is untouched.
  void forward(std::span<const int> tokens, MatrixView<float> logits, Context& ctx,
               int stop_after = -1) const {
    const io::Llama2cConfig& c = config;
    const Index T = static_cast<Index>(tokens.size());
    const Index D = c.dim, H = c.n_heads, KV = c.n_kv_heads, hs = c.head_size();
    const Index kvd = c.kv_dim(), F = c.hidden_dim;
    if (T == 0) return;
    if (T > c.seq_len) lowbit::fail("llama: ", T, " tokens exceed seq_len ", c.seq_len);
    std::vector<float> x(static_cast<std::size_t>(T * D)), xb(x.size()), q(x.size()), o(x.size()),
        tmp(x.size()), k(static_cast<std::size_t>(T * kvd)), v(k.size()),
        h1(static_cast<std::size_t>(T * F)), h3(h1.size());
    for (Index t = 0; t < T; ++t) {
      const int tok = tokens[static_cast<std::size_t>(t)];
      if (tok < 0 || tok >= c.vocab_size) lowbit::fail("llama: token ", tok, " out of range");
      std::copy_n(embedding.data() + static_cast<Index>(tok) * D, D, x.data() + t * D);
    }
    // RoPE tables in double, like numpy.
    std::vector<float> cosv(static_cast<std::size_t>(T * hs / 2)), sinv(cosv.size());
    for (Index t = 0; t < T; ++t)
      for (Index i = 0; i < hs / 2; ++i) {
        const double ang = static_cast<double>(t) / std::pow(c.rope_theta, 2.0 * i / hs);
        cosv[static_cast<std::size_t>(t * hs / 2 + i)] = static_cast<float>(std::cos(ang));
        sinv[static_cast<std::size_t>(t * hs / 2 + i)] = static_cast<float>(std::sin(ang));
      }
    auto rope = [&](float* a, Index heads) {
      for (Index t = 0; t < T; ++t)
        for (Index h = 0; h < heads; ++h)
          for (Index i = 0; i < hs / 2; ++i) {
            float* p = a + t * heads * hs + h * hs + 2 * i;
            const float cs = cosv[static_cast<std::size_t>(t * hs / 2 + i)];
            const float sn = sinv[static_cast<std::size_t>(t * hs / 2 + i)];
            const float x0 = p[0], x1 = p[1];
            p[0] = x0 * cs - x1 * sn;
            p[1] = x0 * sn + x1 * cs;
          }
    };
    auto lin = [&](int l, int j, const std::vector<float>& in, std::vector<float>& out) {
      const Linear& L = *linear[static_cast<std::size_t>(7 * l + j)];
      const MatrixView<const float> xin(in.data(), T, L.cols());
      if (on_input) on_input(l, j, xin);
      L.forward(xin, MatrixView<float>(out.data(), T, L.rows()), ctx);
    };
    std::vector<float> att(static_cast<std::size_t>(T));
    const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
    for (int l = 0; l < c.n_layers; ++l) {
      rmsnorm(x.data(), rms_att.data() + static_cast<Index>(l) * D, xb.data(), T, D);
      lin(l, 0, xb, q);
      lin(l, 1, xb, k);
      lin(l, 2, xb, v);
      rope(q.data(), H);
      rope(k.data(), KV);
      for (Index h = 0; h < H; ++h) {
        const Index kh = h / (H / KV);
        for (Index t = 0; t < T; ++t) {
          const float* qt = q.data() + t * D + h * hs;
          float mx = -INFINITY;
          for (Index s = 0; s <= t; ++s) {
            const float* ks = k.data() + s * kvd + kh * hs;
            float dot = 0.0f;
            for (Index i = 0; i < hs; ++i) dot += qt[i] * ks[i];
            att[static_cast<std::size_t>(s)] = dot * scale;
            mx = att[static_cast<std::size_t>(s)] > mx ? att[static_cast<std::size_t>(s)] : mx;
          }
          double sum = 0.0;
          for (Index s = 0; s <= t; ++s) {
            const float e = std::exp(att[static_cast<std::size_t>(s)] - mx);
            att[static_cast<std::size_t>(s)] = e;
            sum += e;
          }
          float* ot = o.data() + t * D + h * hs;
          for (Index i = 0; i < hs; ++i) ot[i] = 0.0f;
          for (Index s = 0; s <= t; ++s) {
            const float p = static_cast<float>(att[static_cast<std::size_t>(s)] / sum);
            const float* vs = v.data() + s * kvd + kh * hs;
            for (Index i = 0; i < hs; ++i) ot[i] += p * vs[i];
          }
        }
      }
      lin(l, 3, o, tmp);
      for (std::size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];
      rmsnorm(x.data(), rms_ffn.data() + static_cast<Index>(l) * D, xb.data(), T, D);
      lin(l, 4, xb, h1);
      lin(l, 6, xb, h3);
      for (std::size_t i = 0; i < h1.size(); ++i) {
        const float a = h1[i];
        h1[i] = a / (1.0f + std::exp(-a)) * h3[i];
      }
      lin(l, 5, h1, tmp);
      for (std::size_t i = 0; i < x.size(); ++i) x[i] += tmp[i];
      if (l == stop_after) return;
    }
    rmsnorm(x.data(), rms_final.data(), xb.data(), T, D);
    interop::eigen_gemm(MatrixView<const float>(classifier.data(), c.vocab_size, D),
                        MatrixView<const float>(xb.data(), T, D), logits);
  }
};

}  // namespace lowbit::llama
