// SPDX-License-Identifier: Apache-2.0
// tools/llama/tune.cpp: see tune.hpp.
#include "tune.hpp"

#include <algorithm>
#include <cmath>

#include "backward.hpp"

namespace lowbit::llama {

std::vector<double> tune_parameters(QuantizedModel& q, const io::Llama2cModel& m,
                                    const std::vector<std::vector<int>>& calib,
                                    const TuneOptions& opt, Context& ctx) {
  using lowbit::fail;
  if (opt.epochs < 0 || opt.batch < 1 || !(opt.lr > 0.0) || !(opt.code_lr >= 0.0))
    fail("tune: bad options");
  const DenseModel ref = dense_from_llama2c(m);
  if (q.tensors.size() != ref.w.size())
    fail("tune: ", q.tensors.size(), " tensors for ", ref.w.size());
  const std::size_t n = q.tensors.size();
  std::vector<AffineTensor> aff;
  std::vector<calib::HadamardRotation> rot(n);
  for (std::size_t i = 0; i < n; ++i) {
    aff.push_back(affine_of(q.tensors[i]));
    if (!q.tensors[i].rotation.empty())
      rot[i] = calib::HadamardRotation::from_ints(q.tensors[i].rotation);
  }
  // Parameters α, β per group, and Adam moments.
  std::vector<std::vector<double>> alpha(n), beta(n), ma(n), va(n), mb(n), vb(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t g = aff[i].scale.size();
    alpha[i].assign(g, 0.0);
    beta[i].assign(g, 0.0);
    ma[i].assign(g, 0.0);
    va[i].assign(g, 0.0);
    mb[i].assign(g, 0.0);
    vb[i].assign(g, 0.0);
  }
  const bool learn_codes = opt.code_lr > 0.0;
  std::vector<std::vector<float>> u(n), mu(n), vu(n);
  if (learn_codes)
    for (std::size_t i = 0; i < n; ++i) {
      u[i] = aff[i].cs;
      mu[i].assign(u[i].size(), 0.0f);
      vu[i].assign(u[i].size(), 0.0f);
    }
  DenseModel cur;
  static_cast<FloatParts&>(cur) = static_cast<const FloatParts&>(ref);
  cur.shape = ref.shape;
  cur.w.resize(n);
  auto rebuild = [&] {
    std::vector<float> tmp;
    for (std::size_t i = 0; i < n; ++i) {
      AffineTensor& a = aff[i];
      if (learn_codes)
        for (std::size_t j = 0; j < a.cs.size(); ++j)
          a.cs[j] = std::clamp(std::nearbyint(u[i][j]), a.cs_min, a.cs_max);
      std::vector<float>& w = cur.w[i];
      w.resize(a.cs.size());
      for (std::size_t j = 0; j < w.size(); ++j) {
        const auto g = static_cast<std::size_t>(a.slot[j]);
        const double s = a.scale[g] * (1.0 + alpha[i][g]);
        const double o = a.offset[g] + (a.dof == 2 ? a.scale[g] * beta[i][g] : 0.0);
        w[j] = static_cast<float>(s * a.cs[j] + o);
      }
      if (!rot[i].empty())
        for (Index r = 0; r < a.rows; ++r)
          rot[i].apply_transpose(
              std::span<float>(w.data() + r * a.cols, static_cast<std::size_t>(a.cols)), tmp);
    }
  };
  const int threads = ctx.threads();
  std::vector<std::vector<std::vector<float>>> grads(static_cast<std::size_t>(threads));
  std::vector<double> losses(static_cast<std::size_t>(threads));
  std::vector<double> history;
  std::int64_t step = 0;
  const auto batch = static_cast<std::size_t>(opt.batch);
  const double steps =
      static_cast<double>(opt.epochs) * static_cast<double>((calib.size() + batch - 1) / batch);
  const double b1 = 0.9, b2 = 0.999, eps = 1e-12;
  for (int epoch = 0; epoch < opt.epochs; ++epoch) {
    double epoch_loss = 0.0;
    std::int64_t epoch_tokens = 0;
    for (std::size_t d0 = 0; d0 < calib.size(); d0 += static_cast<std::size_t>(opt.batch)) {
      const std::size_t d1 = std::min(calib.size(), d0 + static_cast<std::size_t>(opt.batch));
      rebuild();
      std::int64_t tokens = 0;
      for (std::size_t d = d0; d < d1; ++d) {
        const std::size_t len =
            std::min(calib[d].size(), static_cast<std::size_t>(m.config.seq_len));
        if (len >= 2) tokens += static_cast<std::int64_t>(len) - 1;
      }
      if (tokens == 0) continue;
      for (auto& g : grads) g.clear();
      std::fill(losses.begin(), losses.end(), 0.0);
      ctx.parallel_for(threads, [&](Index b, Index e) {
        for (Index th = b; th < e; ++th) {
          std::vector<float> ref_logp;
          for (std::size_t d = d0 + static_cast<std::size_t>(th); d < d1;
               d += static_cast<std::size_t>(threads)) {
            const std::size_t len =
                std::min(calib[d].size(), static_cast<std::size_t>(m.config.seq_len));
            if (len < 2) continue;
            const std::span<const int> doc(calib[d].data(), len);
            dense_log_probs(ref, doc, ref_logp);
            losses[static_cast<std::size_t>(th)] +=
                kl_backward(cur, doc, ref_logp, static_cast<double>(tokens),
                            grads[static_cast<std::size_t>(th)]);
          }
        }
      });
      ++step;
      const double decay =
          opt.cosine ? 0.5 * (1.0 + std::cos(3.141592653589793 * static_cast<double>(step - 1) /
                                             std::max(1.0, steps)))
                     : 1.0;
      const double lr = opt.lr * decay, code_lr = opt.code_lr * decay;
      for (double l : losses) epoch_loss += l * static_cast<double>(tokens);
      epoch_tokens += tokens;
      std::vector<float> g, tmp;
      for (std::size_t i = 0; i < n; ++i) {
        const AffineTensor& a = aff[i];
        g.assign(a.cs.size(), 0.0f);
        for (const auto& gt : grads)
          if (!gt.empty())
            for (std::size_t j = 0; j < g.size(); ++j) g[j] += gt[i][j];
        if (!rot[i].empty())  // dL/dŵ' = Q·dL/dw per row
          for (Index r = 0; r < a.rows; ++r)
            rot[i].apply(std::span<float>(g.data() + r * a.cols, static_cast<std::size_t>(a.cols)),
                         tmp);
        std::vector<double> ga(a.scale.size(), 0.0), gb(a.scale.size(), 0.0);
        for (std::size_t j = 0; j < g.size(); ++j) {
          const auto s = static_cast<std::size_t>(a.slot[j]);
          ga[s] += static_cast<double>(g[j]) * a.cs[j] * a.scale[s];
          gb[s] += static_cast<double>(g[j]) * a.scale[s];
        }
        const double c1 = 1.0 - std::pow(b1, static_cast<double>(step));
        const double c2 = 1.0 - std::pow(b2, static_cast<double>(step));
        if (learn_codes)
          for (std::size_t j = 0; j < g.size(); ++j) {
            const auto s = static_cast<std::size_t>(a.slot[j]);
            const double gu = static_cast<double>(g[j]) * a.scale[s] * (1.0 + alpha[i][s]);
            mu[i][j] = static_cast<float>(b1 * mu[i][j] + (1 - b1) * gu);
            vu[i][j] = static_cast<float>(b2 * vu[i][j] + (1 - b2) * gu * gu);
            const double step_u = code_lr * (mu[i][j] / c1) / (std::sqrt(vu[i][j] / c2) + 1e-30);
            // Keep u within half a step of the code range, so a clamped code can come back.
            u[i][j] =
                std::clamp(static_cast<float>(u[i][j] - step_u), a.cs_min - 0.5f, a.cs_max + 0.5f);
          }
        for (std::size_t s = 0; s < ga.size(); ++s) {
          ma[i][s] = b1 * ma[i][s] + (1 - b1) * ga[s];
          va[i][s] = b2 * va[i][s] + (1 - b2) * ga[s] * ga[s];
          alpha[i][s] -= lr * (ma[i][s] / c1) / (std::sqrt(va[i][s] / c2) + eps);
          if (a.dof == 2) {
            mb[i][s] = b1 * mb[i][s] + (1 - b1) * gb[s];
            vb[i][s] = b2 * vb[i][s] + (1 - b2) * gb[s] * gb[s];
            beta[i][s] -= lr * (mb[i][s] / c1) / (std::sqrt(vb[i][s] / c2) + eps);
          }
        }
      }
    }
    history.push_back(epoch_tokens > 0 ? epoch_loss / static_cast<double>(epoch_tokens) : 0.0);
  }
  if (learn_codes) rebuild();  // the codes of the last step
  for (std::size_t i = 0; i < n; ++i) {
    AffineTensor a = aff[i];
    for (std::size_t s = 0; s < a.scale.size(); ++s) {
      a.scale[s] = static_cast<float>(aff[i].scale[s] * (1.0 + alpha[i][s]));
      if (a.dof == 2)
        a.offset[s] = static_cast<float>(aff[i].offset[s] + aff[i].scale[s] * beta[i][s]);
    }
    set_affine(q.tensors[i], a);
  }
  return history;
}

}  // namespace lowbit::llama
