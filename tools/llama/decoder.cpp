// SPDX-License-Identifier: Apache-2.0
// tools/llama/decoder.cpp: Decoder (decoder.hpp).
#include "decoder.hpp"

#include <Eigen/Core>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>

#include "attention.hpp"
#include "gguf_model.hpp"
#include "lowbit/io/gguf_llama.hpp"

namespace lowbit::llama {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

const io::GgufTensor& need(const io::GgufFile& f, const std::string& name, std::uint64_t ne0,
                           std::uint64_t ne1) {
  const io::GgufTensor* t = f.tensor(name);
  if (t == nullptr) lowbit::fail("GGUF: llama model without tensor '", name, "'");
  const bool ok = ne1 == 0 ? t->ne.size() == 1 && t->ne[0] == ne0
                           : t->ne.size() == 2 && t->ne[0] == ne0 && t->ne[1] == ne1;
  if (!ok)
    lowbit::fail("GGUF: tensor '", name, "' has shape [", t->ne[0],
                 t->ne.size() > 1 ? ", " + std::to_string(t->ne[1]) : std::string(),
                 "], expected [", ne0, ne1 ? ", " + std::to_string(ne1) : std::string(), "]");
  return *t;
}

std::vector<float> norm_of(const io::GgufFile& f, const std::string& name, int dim) {
  return io::tensor_floats(f, need(f, name, static_cast<std::uint64_t>(dim), 0));
}

}  // namespace

Decoder::Decoder(const io::GgufFile& f, const DecoderOptions& o, const io::MappedFile* mapping)
    : file_(&f), context_(o.context) {
  using lowbit::fail;
  if (o.context < 1 || o.context > (1 << 20))
    fail("llama: a context of ", o.context, " positions (1..2^20)");
  io::Llama2cConfig& c = config_;
  c = io::llama_gguf_config(f);
  c.seq_len = o.context;
  const io::GgufTensor* emb = f.tensor("token_embd.weight");
  if (emb->ne[0] != static_cast<std::uint64_t>(c.dim) ||
      emb->ne[1] > static_cast<std::uint64_t>(io::Llama2cModel::kMaxDim))
    fail("GGUF: token_embd.weight is not a [", c.dim, ", vocab] matrix");
  embedding_ = emb;

  const auto D = static_cast<std::uint64_t>(c.dim), F = static_cast<std::uint64_t>(c.hidden_dim),
             KV = static_cast<std::uint64_t>(c.kv_dim()),
             V = static_cast<std::uint64_t>(c.vocab_size);
  auto add = [&](std::unique_ptr<Linear>& dst, const io::GgufTensor& t) {
    dst = linear_from_gguf(f, t, o.float_activations, o.load_threads);
    weight_bytes_ += dst->bits_per_weight() / 8.0 * static_cast<double>(t.numel());
    weight_count_ += static_cast<double>(t.numel());
    if (mapping != nullptr) mapping->release(f.tensor_bytes(t));  // embedding rows refault
  };
  static constexpr const char* kNames[7] = {"attn_q",   "attn_k",   "attn_v", "attn_output",
                                            "ffn_gate", "ffn_down", "ffn_up"};
  const std::uint64_t shapes[7][2] = {{D, D}, {D, KV}, {D, KV}, {D, D}, {D, F}, {F, D}, {D, F}};
  linear_.resize(static_cast<std::size_t>(7 * c.n_layers));
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const auto g = norm_of(f, b + "attn_norm.weight", c.dim);
    rms_att_.insert(rms_att_.end(), g.begin(), g.end());
    const auto h = norm_of(f, b + "ffn_norm.weight", c.dim);
    rms_ffn_.insert(rms_ffn_.end(), h.begin(), h.end());
    for (int j = 0; j < 7; ++j)
      add(linear_[static_cast<std::size_t>(7 * l + j)],
          need(f, b + kNames[j] + ".weight", shapes[j][0], shapes[j][1]));
  }
  rms_final_ = norm_of(f, "output_norm.weight", c.dim);
  add(classifier_, c.shared_classifier ? *emb : need(f, "output.weight", D, V));

  const Index hs = c.head_size(), half = hs / 2;
  cos_.resize(static_cast<std::size_t>(context_ * half));
  sin_.resize(cos_.size());
  for (Index p = 0; p < context_; ++p)
    for (Index i = 0; i < half; ++i) {
      const double a = static_cast<double>(p) / std::pow(c.rope_theta, 2.0 * i / hs);
      cos_[static_cast<std::size_t>(p * half + i)] = static_cast<float>(std::cos(a));
      sin_[static_cast<std::size_t>(p * half + i)] = static_cast<float>(std::sin(a));
    }
  const std::size_t cache = static_cast<std::size_t>(c.n_layers) * context_ * c.kv_dim();
  kcache_.assign(cache, 0.0f);
  vcache_.assign(cache, 0.0f);
}

void Decoder::embed(int token, float* out) const {
  const Index D = config_.dim;
  const auto type = static_cast<ggml::Type>(embedding_->type);
  const auto info = *ggml::type_info(embedding_->type);
  const Index row_bytes = D / info.block * info.bytes;
  const std::byte* row = file_->tensor_bytes(*embedding_).data() + token * row_bytes;
  switch (type) {
    case ggml::Type::F32:
      std::memcpy(out, row, static_cast<std::size_t>(D) * 4);
      break;
    case ggml::Type::F16:
    case ggml::Type::BF16:
      for (Index i = 0; i < D; ++i) {
        std::uint16_t h;
        std::memcpy(&h, row + 2 * i, 2);
        out[i] = type == ggml::Type::F16 ? static_cast<float>(f16::from_bits(h))
                                         : static_cast<float>(bf16::from_bits(h));
      }
      break;
    default:
      ggml::dequantize_row(type, row, D, out);
  }
}

void Decoder::matmul(const Linear& l, const float* x, float* y, Index n, Context& ctx) {
  const auto t0 = Clock::now();
  l.forward(MatrixView<const float>(x, n, l.cols()), MatrixView<float>(y, n, l.rows()), ctx);
  timers_.matmul += since(t0);
}

void Decoder::eval(std::span<const int> tokens, std::span<float> logits, Context& ctx) {
  using lowbit::fail;
  const auto t_start = Clock::now();
  const io::Llama2cConfig& c = config_;
  const Index T = static_cast<Index>(tokens.size());
  if (T == 0) return;
  if (T > context_ - pos_)
    fail("llama: ", T, " tokens at position ", pos_, " overflow the cache of ", context_);
  for (const int tok : tokens)
    if (tok < 0 || tok >= c.vocab_size)
      fail("llama: token ", tok, " out of range 0..", c.vocab_size - 1);
  if (!logits.empty() && static_cast<Index>(logits.size()) != c.vocab_size)
    fail("llama: ", logits.size(), " logits for a vocabulary of ", c.vocab_size);
  const Index D = c.dim, H = c.n_heads, KVH = c.n_kv_heads, hs = c.head_size(), half = hs / 2;
  const Index kvd = c.kv_dim(), F = c.hidden_dim, P0 = pos_;
  auto sized = [](std::vector<float>& v, Index n) { v.resize(static_cast<std::size_t>(n)); };
  sized(x_, T * D), sized(xb_, T * D), sized(q_, T * D), sized(o_, T * D), sized(tmp_, T * D);
  sized(k_, T * kvd), sized(v_, T * kvd), sized(h1_, T * F), sized(h3_, T * F);
  // The element-wise steps run over row ranges, on the Context's threads when the batch has
  // enough rows to pay for the hand-off (a prompt; one decoded token stays on the caller's).
  auto rows = [&](const std::function<void(Index, Index)>& fn) {
    if (T >= 16 && ctx.threads() > 1)
      ctx.parallel_for(T, fn);
    else
      fn(0, T);
  };
  rows([&](Index t0, Index t1) {
    for (Index t = t0; t < t1; ++t) embed(tokens[static_cast<std::size_t>(t)], x_.data() + t * D);
  });
  auto norm = [&](const float* g) {
    rows([&](Index t0, Index t1) {
      rmsnorm(x_.data() + t0 * D, g, xb_.data() + t0 * D, t1 - t0, D);
    });
  };
  auto residual = [&]() {
    rows([&](Index t0, Index t1) {
      for (Index i = t0 * D; i < t1 * D; ++i)
        x_[static_cast<std::size_t>(i)] += tmp_[static_cast<std::size_t>(i)];
    });
  };
  auto rope = [&](float* a, Index heads, Index stride, Index t0, Index t1) {
    for (Index t = t0; t < t1; ++t) {
      const float* cs = cos_.data() + (P0 + t) * half;
      const float* sn = sin_.data() + (P0 + t) * half;
      for (Index h = 0; h < heads; ++h) {
        float* p = a + t * stride + h * hs;
        for (Index i = 0; i < half; ++i) {
          const float x0 = p[2 * i], x1 = p[2 * i + 1];
          p[2 * i] = x0 * cs[i] - x1 * sn[i];
          p[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
        }
      }
    }
  };
  for (int l = 0; l < c.n_layers; ++l) {
    auto lin = [&](int j) -> const Linear& {
      return *linear_[static_cast<std::size_t>(7 * l + j)];
    };
    norm(rms_att_.data() + l * D);
    matmul(lin(0), xb_.data(), q_.data(), T, ctx);
    matmul(lin(1), xb_.data(), k_.data(), T, ctx);
    matmul(lin(2), xb_.data(), v_.data(), T, ctx);
    const auto t_att = Clock::now();
    rows([&](Index t0, Index t1) {
      rope(q_.data(), H, D, t0, t1);
      rope(k_.data(), KVH, kvd, t0, t1);
    });
    float* kc = kcache_.data() + static_cast<std::size_t>(l) * context_ * kvd;
    float* vc = vcache_.data() + static_cast<std::size_t>(l) * context_ * kvd;
    std::memcpy(kc + P0 * kvd, k_.data(), static_cast<std::size_t>(T * kvd) * 4);
    std::memcpy(vc + P0 * kvd, v_.data(), static_cast<std::size_t>(T * kvd) * 4);
    causal_attention(q_.data(), D, kc, vc, kvd, o_.data(), D, T, P0, H, KVH, hs, ctx);
    timers_.attention += since(t_att);
    matmul(lin(3), o_.data(), tmp_.data(), T, ctx);
    residual();
    norm(rms_ffn_.data() + l * D);
    matmul(lin(4), xb_.data(), h1_.data(), T, ctx);
    matmul(lin(6), xb_.data(), h3_.data(), T, ctx);
    rows([&](Index t0, Index t1) {  // SwiGLU, vectorised by Eigen
      Eigen::Map<Eigen::ArrayXf> a(h1_.data() + t0 * F, (t1 - t0) * F);
      const Eigen::Map<const Eigen::ArrayXf> b(h3_.data() + t0 * F, (t1 - t0) * F);
      a = a / (1.0f + (-a).exp()) * b;
    });
    matmul(lin(5), h1_.data(), tmp_.data(), T, ctx);
    residual();
  }
  pos_ += static_cast<int>(T);
  if (!logits.empty()) {
    rmsnorm(x_.data() + (T - 1) * D, rms_final_.data(), xb_.data(), 1, D);
    matmul(*classifier_, xb_.data(), logits.data(), 1, ctx);
  }
  timers_.total += since(t_start);
}

}  // namespace lowbit::llama
