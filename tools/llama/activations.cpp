// SPDX-License-Identifier: Apache-2.0
// tools/llama/activations.cpp: see activations.hpp.
#include "activations.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lowbit::llama {

ActPolicy parse_act_policy(const std::string& s) {
  using lowbit::fail;
  ActPolicy p;
  p.name = s;
  const std::size_t dash = s.find('-');
  if (s.size() < 2 || s[0] != 'a' || dash == std::string::npos)
    fail("activation policy '", s, "': expected a<bits>-<method>, e.g. a4-db");
  const std::string bits = s.substr(1, dash - 1);
  if (bits.empty() || bits.size() > 1 || bits[0] < '2' || bits[0] > '8')
    fail("activation policy '", s, "': bits must be 2..8");
  p.bits = bits[0] - '0';
  const std::string m = s.substr(dash + 1);
  if (m == "absmax") {
    p.method = ActMethod::kAbsmax;
  } else if (m == "absmax-static") {
    p.method = ActMethod::kAbsmaxStatic;
  } else if (m == "minmax") {
    p.method = ActMethod::kMinmax;
  } else if (m == "minmax-static") {
    p.method = ActMethod::kMinmaxStatic;
  } else if (m == "db") {
    p.method = ActMethod::kDb;
  } else if (m == "db-grid") {
    p.method = ActMethod::kDbGrid;
  } else if (m == "dbgate") {
    p.method = ActMethod::kDbGate;
  } else {
    fail("activation policy '", s,
         "': method must be absmax, absmax-static, minmax, minmax-static, db, db-grid or dbgate");
  }
  return p;
}

namespace {

/// Symmetric b-bit fake quantization of n values with scale s (0: all zero).
void symmetric_row(const float* x, Index n, float s, int bits, float* out) {
  const float qmax = static_cast<float>((1 << (bits - 1)) - 1);
  for (Index k = 0; k < n; ++k) {
    if (s == 0.0f) {
      out[k] = 0.0f;
      continue;
    }
    const float q = std::nearbyint(std::clamp(x[k] / s, -qmax, qmax));
    out[k] = s * q;
  }
}

void dual_bound_row(const float* x, Index n, const DualBoundRange& r, int bits, float* out) {
  const DualBoundAffine a = dual_bound_affine(r, bits);
  for (Index k = 0; k < n; ++k)
    out[k] = a.step * static_cast<float>(dual_bound_encode(a, x[k]) - a.zero);
}

}  // namespace

void ActQuantizer::apply(MatrixView<const float> x, MatrixView<float> out) const {
  const float qmax = static_cast<float>((1 << (bits - 1)) - 1);
  check_finite(x, "activation quantizer: input");
  for (Index t = 0; t < x.rows(); ++t) {
    const float* xr = x.row_ptr(t);
    float* o = out.row_ptr(t);
    const Index n = x.cols();
    switch (method) {
      case ActMethod::kAbsmax: {
        float amax = 0.0f;
        for (Index k = 0; k < n; ++k) amax = std::max(amax, std::fabs(xr[k]));
        symmetric_row(xr, n, amax / qmax, bits, o);
        break;
      }
      case ActMethod::kAbsmaxStatic:
        symmetric_row(xr, n, range.upper / qmax, bits, o);
        break;
      case ActMethod::kMinmax: {
        const RangeStats st = range_stats(std::span<const float>(xr, static_cast<std::size_t>(n)));
        dual_bound_row(xr, n, DualBound<8>::fit_range(st, 1.0f), bits, o);
        break;
      }
      case ActMethod::kDbGate:
        if (gate) {
          dual_bound_row(
              xr, n, gate->range(std::span<const float>(xr, static_cast<std::size_t>(n))), bits, o);
          break;
        }
        [[fallthrough]];
      case ActMethod::kMinmaxStatic:
      case ActMethod::kDb:
      case ActMethod::kDbGrid:
        dual_bound_row(xr, n, range, bits, o);
        break;
    }
  }
}

void ActQuantizer::encode(MatrixView<const float> x, ZeroPointActivations& out) const {
  switch (method) {
    case ActMethod::kMinmax:
      quantize_activations_minmax(x, bits, out);
      return;
    case ActMethod::kDbGate:
      if (gate) {
        quantize_activations_ranges(x, gate->ranges(x), bits, out);
        return;
      }
      [[fallthrough]];
    case ActMethod::kMinmaxStatic:
    case ActMethod::kDb:
    case ActMethod::kDbGrid:
      quantize_activations_static(x, range, bits, out);
      return;
    default:
      lowbit::fail("activation policy: symmetric codes have no zero point");
  }
}

ActRecording record_activations(const Model& fp, const std::vector<std::vector<int>>& docs,
                                Index stride, Context& ctx) {
  if (stride < 1) lowbit::fail("record_activations: stride ", stride, " < 1");
  ActRecording rec;
  const std::size_t L = fp.linear.size();
  rec.rows.resize(L);
  rec.doc_range.resize(L);
  for (const auto& l : fp.linear) rec.cols.push_back(l->cols());
  Model m;
  static_cast<FloatParts&>(m) = static_cast<const FloatParts&>(fp);
  // Borrow fp's layers through a non-owning forward: a copy of the model's pointers would own
  // them twice, so the hook is installed on a shallow wrapper instead.
  struct Borrowed final : Linear {
    const Linear* l;
    explicit Borrowed(const Linear* p) : l(p) {}
    Index rows() const override { return l->rows(); }
    Index cols() const override { return l->cols(); }
    void forward(MatrixView<const float> x, MatrixView<float> y, Context& c) const override {
      l->forward(x, y, c);
    }
    double bits_per_weight() const override { return l->bits_per_weight(); }
  };
  for (const auto& l : fp.linear) m.linear.push_back(std::make_unique<Borrowed>(l.get()));
  Index seen = 0;  // tokens of the documents before the current one
  m.on_input = [&](int layer, int matrix, MatrixView<const float> x) {
    const std::size_t i = static_cast<std::size_t>(7 * layer + matrix);
    float mn = 0.0f, mx = 0.0f;
    for (Index t = 0; t < x.rows(); ++t) {
      for (Index c = 0; c < x.cols(); ++c) {
        mn = std::min(mn, x(t, c));
        mx = std::max(mx, x(t, c));
      }
      if ((seen + t) % stride == 0)
        rec.rows[i].insert(rec.rows[i].end(), x.row_ptr(t), x.row_ptr(t) + x.cols());
    }
    rec.doc_range[i].push_back({mn, mx});
  };
  std::vector<float> logits;
  for (const auto& d : docs) {
    const std::size_t n = std::min(d.size(), static_cast<std::size_t>(fp.config.seq_len));
    if (n == 0) continue;
    logits.resize(n * static_cast<std::size_t>(fp.config.vocab_size));
    m.forward(std::span<const int>(d.data(), n),
              MatrixView<float>(logits.data(), static_cast<Index>(n), fp.config.vocab_size), ctx);
    seen += static_cast<Index>(n);
  }
  return rec;
}

std::vector<ActQuantizer> calibrate_activations(const Model& fp, const ActRecording& rec,
                                                const ActPolicy& p) {
  const std::size_t L = fp.linear.size();
  if (p.is_static() && rec.rows.size() != L)
    lowbit::fail("calibrate_activations: a recording of ", rec.rows.size(),
                 " layers for a model of ", L);
  std::vector<ActQuantizer> qs(L);
  for (std::size_t i = 0; i < L; ++i) {
    ActQuantizer& q = qs[i];
    q.method = p.method;
    q.bits = p.bits;
    if (!p.is_static()) continue;
    if (rec.tokens(i) == 0)
      lowbit::fail("calibrate_activations: layer ", i, " has no recorded inputs");
    float mn = 0.0f, mx = 0.0f;
    for (const DualBoundRange& r : rec.doc_range[i]) {
      mn = std::min(mn, r.lower);
      mx = std::max(mx, r.upper);
    }
    const MatrixView<const float> x = rec.view(i);
    switch (p.method) {
      case ActMethod::kAbsmaxStatic: {
        const float a = std::max(-mn, mx);
        q.range = {-a, a};
        break;
      }
      case ActMethod::kMinmaxStatic:
        q.range = {mn, mx};
        break;
      case ActMethod::kDbGrid:
      case ActMethod::kDb:
      case ActMethod::kDbGate: {
        const auto* f = dynamic_cast<const F32Linear*>(fp.linear[i].get());
        if (!f) lowbit::fail("calibrate_activations: layer ", i, " is not fp32");
        const calib::OutputError err(f->weights());
        q.range = p.method == ActMethod::kDbGrid
                      ? calib::grid_search_range(x, err, p.bits)
                      : calib::train_range(x, err, p.bits, calib::percentile_range(x));
        break;
      }
      default:
        break;
    }
  }
  if (p.method == ActMethod::kDbGate) {
    std::vector<std::size_t> order(L);
    for (std::size_t i = 0; i < L; ++i)
      qs[i].intensity = calib::gate_intensity(rec.doc_range[i], qs[i].range);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return qs[a].intensity > qs[b].intensity;
    });
    const auto n_gated =
        static_cast<std::size_t>(std::lround(p.gate_fraction * static_cast<double>(L)));
    for (std::size_t j = 0; j < n_gated && j < L; ++j) {
      const std::size_t i = order[j];
      const auto* f = dynamic_cast<const F32Linear*>(fp.linear[i].get());
      const calib::OutputError err(f->weights());
      qs[i].gate = std::make_shared<const calib::DualBoundGate>(
          calib::train_gate(rec.view(i), err, p.bits, qs[i].range));
    }
  }
  return qs;
}

void quantize_inputs(Model& m, const std::vector<ActQuantizer>& qs) {
  if (qs.size() != m.linear.size())
    lowbit::fail("quantize_inputs: ", qs.size(), " quantizers for ", m.linear.size(), " layers");
  for (std::size_t i = 0; i < qs.size(); ++i)
    m.linear[i] = std::make_unique<ActQuantLinear>(std::move(m.linear[i]), qs[i]);
}

}  // namespace lowbit::llama
