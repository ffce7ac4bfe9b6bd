// SPDX-License-Identifier: Apache-2.0
// tools/llama/backward.cpp: see backward.hpp.
#include "backward.hpp"

#include <Eigen/Core>
#include <cmath>

namespace lowbit::llama {

namespace {

using RM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapC = Eigen::Map<const RM>;
using Map = Eigen::Map<RM>;

struct LayerCache {
  RM x_in, r1, q, k, v, o, x_mid, r2, a, b, h;
  std::vector<float> inv1, inv2;
  std::vector<RM> p;  // attention probabilities per head (T × T, row t uses s <= t)
};

struct Cache {
  std::vector<LayerCache> layers;
  RM x_out, r3, logits;
  std::vector<float> inv3;
};

void rmsnorm_fwd(const RM& x, const float* g, RM& y, std::vector<float>& inv) {
  const Index T = x.rows(), D = x.cols();
  y.resize(T, D);
  inv.resize(static_cast<std::size_t>(T));
  for (Index t = 0; t < T; ++t) {
    double ss = 0.0;
    for (Index i = 0; i < D; ++i) ss += static_cast<double>(x(t, i)) * x(t, i);
    const float r = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(D) + 1e-5));
    inv[static_cast<std::size_t>(t)] = r;
    for (Index i = 0; i < D; ++i) y(t, i) = x(t, i) * r * g[i];
  }
}

void rmsnorm_bwd(const RM& x, const float* g, const std::vector<float>& inv, const RM& dy, RM& dx) {
  const Index T = x.rows(), D = x.cols();
  for (Index t = 0; t < T; ++t) {
    const double r = inv[static_cast<std::size_t>(t)];
    double s = 0.0;
    for (Index i = 0; i < D; ++i) s += static_cast<double>(g[i]) * dy(t, i) * x(t, i);
    const double c = r * r * r * s / static_cast<double>(D);
    for (Index i = 0; i < D; ++i) dx(t, i) += static_cast<float>(r * g[i] * dy(t, i) - x(t, i) * c);
  }
}

// Rotates the pairs (2i, 2i+1) of every head of a (T × heads·hs) by ±angle (model.hpp's RoPE).
void rope(RM& a, Index heads, Index hs, double theta, bool inverse) {
  const Index T = a.rows();
  for (Index t = 0; t < T; ++t)
    for (Index i = 0; i < hs / 2; ++i) {
      const double ang = static_cast<double>(t) / std::pow(theta, 2.0 * i / hs);
      const float cs = static_cast<float>(std::cos(ang));
      const float sn = (inverse ? -1.0f : 1.0f) * static_cast<float>(std::sin(ang));
      for (Index h = 0; h < heads; ++h) {
        float* p = a.data() + t * heads * hs + h * hs + 2 * i;
        const float x0 = p[0], x1 = p[1];
        p[0] = x0 * cs - x1 * sn;
        p[1] = x0 * sn + x1 * cs;
      }
    }
}

MapC weight(const DenseModel& m, std::size_t i) {
  return MapC(m.w[i].data(), m.shape[i].first, m.shape[i].second);
}

void forward(const DenseModel& m, std::span<const int> doc, Cache& c) {
  const io::Llama2cConfig& cfg = m.config;
  const Index T = static_cast<Index>(doc.size()), D = cfg.dim, H = cfg.n_heads, KV = cfg.n_kv_heads,
              hs = cfg.head_size();
  if (T > cfg.seq_len) lowbit::fail("llama: ", T, " tokens exceed seq_len ", cfg.seq_len);
  RM x(T, D);
  for (Index t = 0; t < T; ++t) {
    const int tok = doc[static_cast<std::size_t>(t)];
    if (tok < 0 || tok >= cfg.vocab_size) lowbit::fail("llama: token ", tok, " out of range");
    for (Index i = 0; i < D; ++i) x(t, i) = m.embedding[static_cast<std::size_t>(tok * D + i)];
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  c.layers.resize(static_cast<std::size_t>(cfg.n_layers));
  for (int l = 0; l < cfg.n_layers; ++l) {
    LayerCache& L = c.layers[static_cast<std::size_t>(l)];
    const std::size_t b = static_cast<std::size_t>(7 * l);
    L.x_in = x;
    rmsnorm_fwd(x, m.rms_att.data() + l * D, L.r1, L.inv1);
    L.q = L.r1 * weight(m, b + 0).transpose();
    L.k = L.r1 * weight(m, b + 1).transpose();
    L.v = L.r1 * weight(m, b + 2).transpose();
    rope(L.q, H, hs, cfg.rope_theta, false);
    rope(L.k, KV, hs, cfg.rope_theta, false);
    L.o = RM::Zero(T, D);
    L.p.assign(static_cast<std::size_t>(H), RM());
    for (Index h = 0; h < H; ++h) {
      const Index kh = h / (H / KV);
      RM& P = L.p[static_cast<std::size_t>(h)];
      P = RM::Zero(T, T);
      for (Index t = 0; t < T; ++t) {
        float mx = -INFINITY;
        for (Index s = 0; s <= t; ++s) {
          float dot = 0.0f;
          for (Index i = 0; i < hs; ++i) dot += L.q(t, h * hs + i) * L.k(s, kh * hs + i);
          P(t, s) = dot * scale;
          mx = std::max(mx, P(t, s));
        }
        double sum = 0.0;
        for (Index s = 0; s <= t; ++s) {
          P(t, s) = std::exp(P(t, s) - mx);
          sum += P(t, s);
        }
        for (Index s = 0; s <= t; ++s) {
          P(t, s) = static_cast<float>(P(t, s) / sum);
          for (Index i = 0; i < hs; ++i) L.o(t, h * hs + i) += P(t, s) * L.v(s, kh * hs + i);
        }
      }
    }
    x += L.o * weight(m, b + 3).transpose();
    L.x_mid = x;
    rmsnorm_fwd(x, m.rms_ffn.data() + l * D, L.r2, L.inv2);
    L.a = L.r2 * weight(m, b + 4).transpose();
    L.b = L.r2 * weight(m, b + 6).transpose();
    L.h.resize(L.a.rows(), L.a.cols());
    for (Index i = 0; i < L.a.size(); ++i) {
      const float av = L.a.data()[i];
      L.h.data()[i] = av / (1.0f + std::exp(-av)) * L.b.data()[i];
    }
    x += L.h * weight(m, b + 5).transpose();
  }
  c.x_out = x;
  rmsnorm_fwd(x, m.rms_final.data(), c.r3, c.inv3);
  c.logits = c.r3 * MapC(m.classifier.data(), cfg.vocab_size, D).transpose();
}

void log_softmax_rows(const RM& logits, std::vector<float>& out) {
  const Index T = logits.rows(), V = logits.cols();
  out.resize(static_cast<std::size_t>(T * V));
  for (Index t = 0; t < T; ++t) {
    double mx = logits(t, 0);
    for (Index i = 1; i < V; ++i) mx = std::max(mx, static_cast<double>(logits(t, i)));
    double s = 0.0;
    for (Index i = 0; i < V; ++i) s += std::exp(logits(t, i) - mx);
    const double lse = mx + std::log(s);
    for (Index i = 0; i < V; ++i)
      out[static_cast<std::size_t>(t * V + i)] = static_cast<float>(logits(t, i) - lse);
  }
}

}  // namespace

DenseModel dense_from_llama2c(const io::Llama2cModel& m) {
  DenseModel d;
  static_cast<FloatParts&>(d) = FloatParts::from_llama2c(m);
  for (int l = 0; l < m.config.n_layers; ++l)
    for (const MatrixView<const float>& w :
         {m.wq_at(l), m.wk_at(l), m.wv_at(l), m.wo_at(l), m.w1_at(l), m.w2_at(l), m.w3_at(l)}) {
      d.w.emplace_back(w.data(), w.data() + w.rows() * w.cols());
      d.shape.emplace_back(w.rows(), w.cols());
    }
  return d;
}

void dense_log_probs(const DenseModel& m, std::span<const int> doc, std::vector<float>& out) {
  Cache c;
  forward(m, doc, c);
  log_softmax_rows(c.logits, out);
}

double kl_backward(const DenseModel& m, std::span<const int> doc, std::span<const float> ref_logp,
                   double norm, std::vector<std::vector<float>>& grad) {
  const io::Llama2cConfig& cfg = m.config;
  const Index T = static_cast<Index>(doc.size()), D = cfg.dim, H = cfg.n_heads, KV = cfg.n_kv_heads,
              hs = cfg.head_size(), V = cfg.vocab_size;
  if (static_cast<Index>(ref_logp.size()) < T * V)
    lowbit::fail("kl_backward: ", ref_logp.size(), " reference values for ", T, " x ", V);
  if (grad.size() != m.w.size()) {
    grad.resize(m.w.size());
    for (std::size_t i = 0; i < m.w.size(); ++i) grad[i].assign(m.w[i].size(), 0.0f);
  }
  Cache c;
  forward(m, doc, c);
  std::vector<float> logp;
  log_softmax_rows(c.logits, logp);
  double loss = 0.0;
  RM dlogits = RM::Zero(T, V);
  for (Index t = 0; t + 1 < T; ++t) {
    double kl = 0.0;
    for (Index i = 0; i < V; ++i) {
      const std::size_t j = static_cast<std::size_t>(t * V + i);
      const double pr = std::exp(static_cast<double>(ref_logp[j]));
      kl += pr * (static_cast<double>(ref_logp[j]) - logp[j]);
      dlogits(t, i) = static_cast<float>((std::exp(static_cast<double>(logp[j])) - pr) / norm);
    }
    loss += kl;
  }
  const RM dr3 = dlogits * MapC(m.classifier.data(), V, D);
  RM dx = RM::Zero(T, D);
  rmsnorm_bwd(c.x_out, m.rms_final.data(), c.inv3, dr3, dx);
  auto gmap = [&](std::size_t i) {
    return Map(grad[i].data(), m.shape[i].first, m.shape[i].second);
  };
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  for (int l = cfg.n_layers - 1; l >= 0; --l) {
    const LayerCache& L = c.layers[static_cast<std::size_t>(l)];
    const std::size_t b = static_cast<std::size_t>(7 * l);
    // FFN: x_out = x_mid + h·W2ᵀ.
    const RM dh = dx * weight(m, b + 5);
    gmap(b + 5).noalias() += dx.transpose() * L.h;
    RM da(L.a.rows(), L.a.cols()), db(L.a.rows(), L.a.cols());
    for (Index i = 0; i < L.a.size(); ++i) {
      const float av = L.a.data()[i], sg = 1.0f / (1.0f + std::exp(-av));
      da.data()[i] = dh.data()[i] * L.b.data()[i] * sg * (1.0f + av * (1.0f - sg));
      db.data()[i] = dh.data()[i] * av * sg;
    }
    gmap(b + 4).noalias() += da.transpose() * L.r2;
    gmap(b + 6).noalias() += db.transpose() * L.r2;
    const RM dr2 = da * weight(m, b + 4) + db * weight(m, b + 6);
    rmsnorm_bwd(L.x_mid, m.rms_ffn.data() + l * D, L.inv2, dr2, dx);
    // Attention: x_mid = x_in + o·Woᵀ.
    const RM dout = dx * weight(m, b + 3);
    gmap(b + 3).noalias() += dx.transpose() * L.o;
    RM dq = RM::Zero(T, D), dk = RM::Zero(T, L.k.cols()), dv = RM::Zero(T, L.v.cols());
    std::vector<float> ds(static_cast<std::size_t>(T));
    for (Index h = 0; h < H; ++h) {
      const Index kh = h / (H / KV);
      const RM& P = L.p[static_cast<std::size_t>(h)];
      for (Index t = 0; t < T; ++t) {
        double rowdot = 0.0;
        for (Index s = 0; s <= t; ++s) {
          float dp = 0.0f;
          for (Index i = 0; i < hs; ++i) dp += dout(t, h * hs + i) * L.v(s, kh * hs + i);
          ds[static_cast<std::size_t>(s)] = dp;
          rowdot += static_cast<double>(dp) * P(t, s);
          for (Index i = 0; i < hs; ++i) dv(s, kh * hs + i) += P(t, s) * dout(t, h * hs + i);
        }
        for (Index s = 0; s <= t; ++s) {
          const float dsc =
              P(t, s) * static_cast<float>(ds[static_cast<std::size_t>(s)] - rowdot) * scale;
          for (Index i = 0; i < hs; ++i) {
            dq(t, h * hs + i) += dsc * L.k(s, kh * hs + i);
            dk(s, kh * hs + i) += dsc * L.q(t, h * hs + i);
          }
        }
      }
    }
    rope(dq, H, hs, m.config.rope_theta, true);
    rope(dk, KV, hs, m.config.rope_theta, true);
    gmap(b + 0).noalias() += dq.transpose() * L.r1;
    gmap(b + 1).noalias() += dk.transpose() * L.r1;
    gmap(b + 2).noalias() += dv.transpose() * L.r1;
    const RM dr1 = dq * weight(m, b + 0) + dk * weight(m, b + 1) + dv * weight(m, b + 2);
    rmsnorm_bwd(L.x_in, m.rms_att.data() + l * D, L.inv1, dr1, dx);
  }
  return loss / norm;
}

}  // namespace lowbit::llama
