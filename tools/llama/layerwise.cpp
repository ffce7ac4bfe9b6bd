// SPDX-License-Identifier: Apache-2.0
// tools/llama/layerwise.cpp: layerwise_quantize (layerwise.hpp).
#include "layerwise.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "attention.hpp"
#include "lowbit/io/safetensors.hpp"

namespace lowbit::llama {

namespace {

/// Hugging Face's names of the 7 matrices of a layer, in Model::linear's order.
constexpr const char* kHfMatrices[7] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                        "self_attn.o_proj", "mlp.gate_proj",    "mlp.down_proj",
                                        "mlp.up_proj"};
/// Which of the layer's 4 distinct inputs each matrix reads: the attention norm's output (q, k,
/// v), the attention output (o), the MLP norm's output (gate, up), the gated product (down).
constexpr int kInputOf[7] = {0, 0, 0, 1, 2, 3, 2};

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// The model's tensors by name over its mapped shards.
class HfTensors {
 public:
  explicit HfTensors(const std::string& dir) : model_(io::open_hf_model(dir)) {
    files_.reserve(model_.shards.size());
    for (const std::string& s : model_.shards) {
      files_.emplace_back(s);
      indexes_.push_back(io::hf_shard_tensors(model_, files_.back()));
    }
    for (std::size_t f = 0; f < files_.size(); ++f)
      for (const auto& t : indexes_[f].tensors) by_name_[t.name] = {f, &t};
  }
  const io::HfModel& model() const noexcept { return model_; }
  const io::SafeTensorView& view(const std::string& name, std::vector<Index> shape) const {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) lowbit::fail("hf: '", model_.dir, "' has no tensor '", name, "'");
    const io::SafeTensorView& v = *it->second.second;
    if (v.shape != shape)
      lowbit::fail("hf: tensor '", name, "' does not have the shape config.json gives");
    return v;
  }
  /// The tensor in fp32, checked finite.
  std::vector<float> f32(const std::string& name, std::vector<Index> shape) const {
    const io::SafeTensorView& v = view(name, shape);
    std::vector<float> out = io::to_f32(v);
    const Index cols = shape.back();
    check_finite(MatrixView<const float>(out.data(), static_cast<Index>(out.size()) / cols, cols),
                 "safetensors: tensor '" + name + "'");
    return out;
  }
  void release(const std::string& name) const {
    const auto it = by_name_.find(name);
    if (it != by_name_.end()) files_[it->second.first].release(it->second.second->bytes);
  }

 private:
  io::HfModel model_;
  std::vector<io::MappedFile> files_;
  std::vector<io::SafetensorsIndex> indexes_;
  std::map<std::string, std::pair<std::size_t, const io::SafeTensorView*>> by_name_;
};

/// One layer over one document of T tokens, x (T × D) updated in place; on_input(k, x_k) sees
/// each of the 4 distinct inputs before the matrices that read it. RoPE on split halves.
struct Layer {
  const io::Llama2cConfig* c;
  const Linear* lin[7];
  const float* g_att;
  const float* g_ffn;
  const float* cosv;  // positions × head/2
  const float* sinv;

  void run(float* x, Index T, Context& ctx,
           const std::function<void(int, MatrixView<const float>)>& on_input) const {
    const Index D = c->dim, H = c->n_heads, KVH = c->n_kv_heads, hs = c->head_size();
    const Index half = hs / 2, kvd = c->kv_dim(), F = c->hidden_dim;
    std::vector<float> xb(static_cast<std::size_t>(T * D)), q(xb.size()), o(xb.size()),
        tmp(xb.size()), k(static_cast<std::size_t>(T * kvd)), v(k.size()),
        h1(static_cast<std::size_t>(T * F)), h3(h1.size());
    auto lin_fw = [&](int j, const std::vector<float>& in, std::vector<float>& out) {
      const Linear& L = *lin[j];
      L.forward(MatrixView<const float>(in.data(), T, L.cols()),
                MatrixView<float>(out.data(), T, L.rows()), ctx);
    };
    auto input = [&](int k_in, const std::vector<float>& a, Index cols) {
      if (on_input) on_input(k_in, MatrixView<const float>(a.data(), T, cols));
    };
    rmsnorm(x, g_att, xb.data(), T, D);
    input(0, xb, D);
    lin_fw(0, xb, q);
    lin_fw(1, xb, k);
    lin_fw(2, xb, v);
    auto rope = [&](std::vector<float>& a, Index heads) {
      for (Index t = 0; t < T; ++t)
        for (Index h = 0; h < heads; ++h) {
          float* p = a.data() + t * heads * hs + h * hs;
          for (Index i = 0; i < half; ++i) {
            const float cs = cosv[t * half + i], sn = sinv[t * half + i];
            const float x0 = p[i], x1 = p[i + half];
            p[i] = x0 * cs - x1 * sn;
            p[i + half] = x0 * sn + x1 * cs;
          }
        }
    };
    rope(q, H);
    rope(k, KVH);
    causal_attention(q.data(), D, k.data(), v.data(), kvd, o.data(), D, T, 0, H, KVH, hs, ctx);
    input(1, o, D);
    lin_fw(3, o, tmp);
    for (Index i = 0; i < T * D; ++i) x[i] += tmp[static_cast<std::size_t>(i)];
    rmsnorm(x, g_ffn, xb.data(), T, D);
    input(2, xb, D);
    lin_fw(4, xb, h1);
    lin_fw(6, xb, h3);
    for (std::size_t i = 0; i < h1.size(); ++i) {
      const float a = h1[i];
      h1[i] = a / (1.0f + std::exp(-a)) * h3[i];
    }
    input(3, h1, F);
    lin_fw(5, h1, tmp);
    for (Index i = 0; i < T * D; ++i) x[i] += tmp[static_cast<std::size_t>(i)];
  }
};

/// Σ aᵀ·b in double from float rows (a: T × n, b: T × n), added to acc: float products 512
/// columns at a time (an n × 512 temporary, not n × n: 16 MB instead of 268 for MLP inputs of
/// 8192).
void add_outer(Eigen::MatrixXd& acc, MatrixView<const float> a, MatrixView<const float> b) {
  const Eigen::Map<const RowMat> A(a.data(), a.rows(), a.cols()), B(b.data(), b.rows(), b.cols());
  constexpr Index kCols = 512;
  Eigen::MatrixXf p;
  for (Index c0 = 0; c0 < B.cols(); c0 += kCols) {
    const Index nc = B.cols() - c0 < kCols ? B.cols() - c0 : kCols;
    p.noalias() = A.transpose() * B.middleCols(c0, nc);
    acc.middleCols(c0, nc) += p.cast<double>();
  }
}

}  // namespace

LayerwiseMemory layerwise_memory(const io::Llama2cConfig& c, const Policy& p, Index tokens) {
  const double D = c.dim, F = c.hidden_dim, KV = c.kv_dim();
  LayerwiseMemory m;
  m.hidden = static_cast<double>(tokens) * D * 4.0 * (p.seq ? 2.0 : 1.0);
  m.weights = (2.0 * D * D + 2.0 * D * KV + 3.0 * D * F) * 4.0;
  m.statistics = (3.0 * D * D + F * F) * 8.0 * (p.seq ? 3.0 : 1.0);
  // quantize_tensor on the largest matrix (F × D or D × F): GPTQ's W, its static-group copy and
  // its act-order permutation in double, and two F² matrices of down_proj's inputs (the Hessian's
  // copy with its permuted copy, then its Cholesky factor beside the inverse's).
  m.quantizer = 3.0 * D * F * 8.0 + 2.0 * F * F * 8.0;
  // The forward pass's buffers for the longest document (at most the context) and what the
  // process holds besides: measured on the 1B shape, 120 MB at a layer boundary with 1583
  // calibration tokens, and the layer's quantized results until it ends (< 1 % of the weights).
  const double longest = static_cast<double>(std::min<Index>(tokens, c.seq_len));
  m.runtime = 120e6 + longest * (4.0 * D + 2.0 * KV + 2.0 * F) * 4.0 + m.weights / 100.0;
  return m;
}

void layerwise_quantize(const std::string& dir, const Policy& p,
                        const std::vector<std::vector<int>>& calib, Context& ctx,
                        std::uint64_t seed, const std::function<void(const LayerwiseTensor&)>& emit,
                        std::vector<Eigen::MatrixXd>* hessians) {
  using lowbit::fail;
  if (p.e2e)
    fail("policy '", p.name,
         "': -e2e tunes the whole model end to end, which is not layer-wise; use -seq for models "
         "read layer by layer");
  if (p.needs_calibration() && calib.empty())
    fail("policy '", p.name, "': -imp, -gptq and -seq need calibration documents");
  const HfTensors src(dir);
  const io::Llama2cConfig c = io::llama_config(src.model());
  const Index D = c.dim, F = c.hidden_dim, KV = c.kv_dim(), V = c.vocab_size, hs = c.head_size();
  // Documents (cut to the context) and their hidden states.
  std::vector<Index> starts = {0};
  for (const auto& d : calib) {
    const Index n = std::min<Index>(static_cast<Index>(d.size()), c.seq_len);
    if (n > 0) starts.push_back(starts.back() + n);
  }
  const Index tokens = starts.back();
  Index longest = 0;
  for (std::size_t i = 1; i < starts.size(); ++i)
    longest = std::max(longest, starts[i] - starts[i - 1]);
  const std::string embed = "model.embed_tokens.weight";
  const io::SafeTensorView& ev = src.view(embed, {V, D});
  std::vector<float> x(static_cast<std::size_t>(tokens * D));
  {
    std::size_t at = 0;
    for (const auto& d : calib) {
      const Index n = std::min<Index>(static_cast<Index>(d.size()), c.seq_len);
      for (Index t = 0; t < n; ++t, ++at) {
        const int tok = d[static_cast<std::size_t>(t)];
        if (tok < 0 || tok >= V) fail("calibration: token ", tok, " out of range 0..", V - 1);
        io::SafeTensorView row = ev;
        row.shape = {D};
        const auto rb = static_cast<std::size_t>(D * ev.element_bytes());
        row.bytes = ev.bytes.subspan(static_cast<std::size_t>(tok) * rb, rb);
        io::to_f32(row, std::span<float>(x.data() + static_cast<Index>(at) * D,
                                         static_cast<std::size_t>(D)));
      }
    }
  }
  std::vector<float> xref;  // -seq: the fp32 model's stream
  if (p.seq) xref = x;
  emit({embed, nullptr, &ev});
  src.release(embed);  // read for the calibration tokens and written out: its pages can go
  // RoPE tables in double, like model.hpp.
  const Index half = hs / 2;
  std::vector<float> cosv(static_cast<std::size_t>(longest * half)), sinv(cosv.size());
  for (Index t = 0; t < longest; ++t)
    for (Index i = 0; i < half; ++i) {
      const double a = static_cast<double>(t) / std::pow(c.rope_theta, 2.0 * i / hs);
      cosv[static_cast<std::size_t>(t * half + i)] = static_cast<float>(std::cos(a));
      sinv[static_cast<std::size_t>(t * half + i)] = static_cast<float>(std::sin(a));
    }
  const Index in_cols[4] = {D, D, D, F};
  const std::vector<Index> shapes[7] = {{D, D}, {KV, D}, {KV, D}, {D, D}, {F, D}, {D, F}, {F, D}};
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    std::vector<float> w[7];
    std::vector<std::unique_ptr<Linear>> fp(7);
    for (int j = 0; j < 7; ++j) {
      w[j] = src.f32(pre + kHfMatrices[j] + ".weight", shapes[j]);
      src.release(pre + kHfMatrices[j] + ".weight");  // the fp32 copy is what is used
      fp[static_cast<std::size_t>(j)] = std::make_unique<F32Linear>(
          MatrixView<const float>(w[j].data(), shapes[j][0], shapes[j][1]));
    }
    const std::vector<float> g_att = src.f32(pre + "input_layernorm.weight", {D});
    const std::vector<float> g_ffn = src.f32(pre + "post_attention_layernorm.weight", {D});
    Layer layer{&c, {}, g_att.data(), g_ffn.data(), cosv.data(), sinv.data()};
    for (int j = 0; j < 7; ++j) layer.lin[j] = fp[static_cast<std::size_t>(j)].get();
    // Statistics of the 4 inputs (and the fp32 stream advanced: in place, x without -seq).
    TensorCalibration cal[4];
    for (int k = 0; k < 4; ++k) {
      cal[k].h = Eigen::MatrixXd::Zero(in_cols[k], in_cols[k]);
      if (p.seq) {
        cal[k].cross = Eigen::MatrixXd::Zero(in_cols[k], in_cols[k]);
        cal[k].h_ref = Eigen::MatrixXd::Zero(in_cols[k], in_cols[k]);
      }
    }
    {
      std::vector<float> ref_in[4], doc;
      for (std::size_t d = 0; d + 1 < starts.size(); ++d) {
        const Index s = starts[d], T = starts[d + 1] - s;
        if (!p.seq) {
          layer.run(x.data() + s * D, T, ctx,
                    [&](int k, MatrixView<const float> a) { add_outer(cal[k].h, a, a); });
          continue;
        }
        // -seq: the fp32 stream's inputs first (it advances), then the quantized stream's on a
        // copy (it advances later, through the quantized layer).
        layer.run(xref.data() + s * D, T, ctx, [&](int k, MatrixView<const float> a) {
          ref_in[k].assign(a.data(), a.data() + a.rows() * a.cols());
        });
        doc.assign(x.begin() + s * D, x.begin() + (s + T) * D);
        layer.run(doc.data(), T, ctx, [&](int k, MatrixView<const float> b) {
          const MatrixView<const float> a(ref_in[k].data(), T, in_cols[k]);
          add_outer(cal[k].h, b, b);
          add_outer(cal[k].cross, a, b);
          add_outer(cal[k].h_ref, a, a);
        });
      }
      const double norm = tokens > 0 ? 2.0 / static_cast<double>(tokens) : 0.0;
      for (auto& t : cal) {
        t.h *= norm;
        if (p.seq) {
          t.cross *= norm;
          t.h_ref *= norm;
        }
      }
    }
    const bool use_cal = !calib.empty();
    emit({pre + "input_layernorm.weight", nullptr, &src.view(pre + "input_layernorm.weight", {D})});
    emit({pre + "post_attention_layernorm.weight", nullptr,
          &src.view(pre + "post_attention_layernorm.weight", {D})});
    std::vector<QuantizedTensor> qt(7);
    for (int j = 0; j < 7; ++j) {
      const auto i = static_cast<std::uint64_t>(7 * l + j);
      const TensorCalibration* tc = use_cal ? &cal[kInputOf[j]] : nullptr;
      if (hessians != nullptr) hessians->push_back(cal[kInputOf[j]].h);
      qt[static_cast<std::size_t>(j)] = quantize_tensor(
          MatrixView<const float>(w[j].data(), shapes[j][0], shapes[j][1]), p, tc, seed + i);
      emit({pre + kHfMatrices[j] + ".weight", &qt[static_cast<std::size_t>(j)], nullptr});
    }
    if (p.seq) {  // the quantized stream through the quantized layer
      std::vector<std::unique_ptr<Linear>> ql(7);
      for (int j = 0; j < 7; ++j) {
        ql[static_cast<std::size_t>(j)] = make_linear(qt[static_cast<std::size_t>(j)], false);
        layer.lin[j] = ql[static_cast<std::size_t>(j)].get();
      }
      for (std::size_t d = 0; d + 1 < starts.size(); ++d)
        layer.run(x.data() + starts[d] * D, starts[d + 1] - starts[d], ctx, {});
    }
  }
  emit({"model.norm.weight", nullptr, &src.view("model.norm.weight", {D})});
  if (!c.shared_classifier) emit({"lm_head.weight", nullptr, &src.view("lm_head.weight", {V, D})});
}

}  // namespace lowbit::llama
