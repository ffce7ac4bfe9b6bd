// SPDX-License-Identifier: Apache-2.0
// tools/llama/quantized.cpp: dispatch by bit width, whole-model quantization, archives.
#include "quantized_impl.hpp"
#include "tune.hpp"

#include <cmath>
#include <vector>

namespace lowbit::llama {

namespace detail {
#define LOWBIT_LLAMA_EXTERN(B)                                                                    \
  extern template bool affine_bits<B>(const io::FileInfo&, const QuantizedTensor&, AffineTensor*, \
                                      QuantizedTensor*, const AffineTensor*);                     \
  extern template QuantizedTensor quantize_tensor_bits<B>(                                        \
      MatrixView<const float>, const Policy&, const TensorCalibration*, std::uint64_t);           \
  extern template void quantize_stored_bits<B>(const StoredWeights&, const Policy&, int,          \
                                               QuantizedTensor&);                                 \
  extern template std::unique_ptr<Linear> make_linear_bits<B>(const io::FileInfo&,                \
                                                              const QuantizedTensor&, bool);
LOWBIT_LLAMA_EXTERN(2)
LOWBIT_LLAMA_EXTERN(3)
LOWBIT_LLAMA_EXTERN(4)
LOWBIT_LLAMA_EXTERN(8)
// quantized_seq.cpp: the trellis and CCQ families.
QuantizedTensor quantize_tensor_seq(MatrixView<const float> w, const Policy& p,
                                    const TensorCalibration* cal, std::uint64_t seed);
std::unique_ptr<Linear> make_linear_seq(const io::FileInfo& info, const QuantizedTensor& t,
                                        bool fa);
// quantized_bt.cpp: the binary and ternary families.
QuantizedTensor quantize_tensor_family(MatrixView<const float> w, const Policy& p,
                                       const TensorCalibration* cal, std::uint64_t seed);
std::unique_ptr<Linear> make_linear_family(const io::FileInfo& info, const QuantizedTensor& t,
                                           bool fa);
}  // namespace detail

QuantizedTensor quantize_tensor(MatrixView<const float> w, const Policy& p,
                                const TensorCalibration* hessian, std::uint64_t seed) {
  if (p.family == Family::kTrellis || p.family == Family::kWint2 || p.family == Family::kWint25)
    return detail::quantize_tensor_seq(w, p, hessian, seed);
  if (p.family != Family::kInteger) return detail::quantize_tensor_family(w, p, hessian, seed);
  switch (p.bits) {
    case 2:
      return detail::quantize_tensor_bits<2>(w, p, hessian, seed);
    case 3:
      return detail::quantize_tensor_bits<3>(w, p, hessian, seed);
    case 4:
      return detail::quantize_tensor_bits<4>(w, p, hessian, seed);
    case 8:
      return detail::quantize_tensor_bits<8>(w, p, hessian, seed);
    default:
      lowbit::fail("policy '", p.name, "': bits must be 2, 3, 4 or 8");
  }
}

bool quantizes_stored(const Policy& p) noexcept {
  return p.family == Family::kInteger && !p.clip && !p.ls && !p.imp && !p.gptq && !p.rot &&
         !p.seq && !p.e2e && (p.group == 32 || p.group == 64) &&
         (p.bits == 2 || p.bits == 3 || p.bits == 4 || p.bits == 8);
}

void quantize_stored(StoredWeights w, const Policy& p, int threads, QuantizedTensor& out) {
  if (!quantizes_stored(p))
    lowbit::fail("policy '", p.name, "': quantize_stored takes round-to-nearest integer policies");
  switch (p.bits) {
    case 2:
      return detail::quantize_stored_bits<2>(w, p, threads, out);
    case 3:
      return detail::quantize_stored_bits<3>(w, p, threads, out);
    case 4:
      return detail::quantize_stored_bits<4>(w, p, threads, out);
    default:
      return detail::quantize_stored_bits<8>(w, p, threads, out);
  }
}

QuantizedTensor quantize_stored(StoredWeights w, const Policy& p, int threads) {
  QuantizedTensor t;
  quantize_stored(w, p, threads, t);
  return t;
}

std::unique_ptr<Linear> make_linear(const QuantizedTensor& t, bool float_activations) {
  const io::FileInfo info = io::read_header(t.image);
  std::unique_ptr<Linear> l;
  switch (info.scheme.bits) {
    case 2:
      l = detail::make_linear_bits<2>(info, t, float_activations);
      break;
    case 3:
      l = detail::make_linear_bits<3>(info, t, float_activations);
      break;
    case 4:
      l = detail::make_linear_bits<4>(info, t, float_activations);
      break;
    case 8:
      l = detail::make_linear_bits<8>(info, t, float_activations);
      break;
    default:
      break;
  }
  if (!l) l = detail::make_linear_family(info, t, float_activations);
  if (!l) l = detail::make_linear_seq(info, t, float_activations);
  if (!l) {
    lowbit::fail("llama: scheme '", info.scheme_name, "' with group ", info.group_size,
                 " is not one the tools run (sym/asym f16 of 2/3/4/8 bits, binary, "
                 "two-plane binary or ternary f16; g32/g64)");
  }
  if (t.cols > 0 && t.cols != l->cols()) l = std::make_unique<PaddedLinear>(std::move(l), t.cols);
  if (!t.col_scale.empty()) l = std::make_unique<ColumnScaledLinear>(std::move(l), t.col_scale);
  if (!t.rotation.empty())
    l = std::make_unique<RotatedLinear>(std::move(l),
                                        calib::HadamardRotation::from_ints(t.rotation));
  return l;
}

namespace {
bool affine_dispatch(const QuantizedTensor& t, AffineTensor* get, QuantizedTensor* set,
                     const AffineTensor* from) {
  const io::FileInfo info = io::read_header(t.image);
  switch (info.scheme.bits) {
    case 2:
      return detail::affine_bits<2>(info, t, get, set, from);
    case 3:
      return detail::affine_bits<3>(info, t, get, set, from);
    case 4:
      return detail::affine_bits<4>(info, t, get, set, from);
    case 8:
      return detail::affine_bits<8>(info, t, get, set, from);
    default:
      return false;
  }
}
}  // namespace

AffineTensor affine_of(const QuantizedTensor& t) {
  AffineTensor a;
  if (!affine_dispatch(t, &a, nullptr, nullptr))
    lowbit::fail("llama: affine_of: not a scheme the tools run");
  return a;
}

void set_affine(QuantizedTensor& t, const AffineTensor& a) {
  if (!affine_dispatch(t, nullptr, &t, &a))
    lowbit::fail("llama: set_affine: not a scheme the tools run");
}

namespace {
std::vector<MatrixView<const float>> layer_matrices(const io::Llama2cModel& m) {
  std::vector<MatrixView<const float>> out;
  for (int l = 0; l < m.config.n_layers; ++l)
    for (const MatrixView<const float>& w :
         {m.wq_at(l), m.wk_at(l), m.wv_at(l), m.wo_at(l), m.w1_at(l), m.w2_at(l), m.w3_at(l)})
      out.push_back(w);
  return out;
}
std::string matrix_name(std::size_t i) {
  return "layers." + std::to_string(i / 7) + "." + kMatrixNames[i % 7];
}
}  // namespace

std::vector<Eigen::MatrixXd> record_hessians(const io::Llama2cModel& m,
                                             const std::vector<std::vector<int>>& calib,
                                             Context& ctx) {
  Model f = Model::from_llama2c(m);
  std::vector<calib::Hessian> hs;
  for (const auto& l : f.linear) hs.emplace_back(l->cols());
  f.on_input = [&](int layer, int matrix, MatrixView<const float> x) {
    hs[static_cast<std::size_t>(7 * layer + matrix)].add(x);
  };
  std::vector<float> logits;
  for (const auto& d : calib) {
    const std::size_t n = std::min(d.size(), static_cast<std::size_t>(m.config.seq_len));
    logits.resize(n * static_cast<std::size_t>(m.config.vocab_size));
    f.forward(std::span<const int>(d.data(), n),
              MatrixView<float>(logits.data(), static_cast<Index>(n), m.config.vocab_size), ctx);
  }
  std::vector<Eigen::MatrixXd> out;
  for (const auto& h : hs) out.push_back(h.matrix());
  return out;
}

namespace {

QuantizedModel model_shell(const io::Llama2cModel& m, const Policy& p) {
  QuantizedModel q;
  static_cast<FloatParts&>(q) = FloatParts::from_llama2c(m);
  q.policy = p.name;
  return q;
}

/// Layer l's statistics for -seq: H = Σ x·xᵀ of the inputs in `cur` (layers < l quantized),
/// C = Σ x̃·xᵀ and H̃ = Σ x̃·x̃ᵀ with x̃ those of the fp32 model `ref`, all over `calib`.
std::vector<TensorCalibration> record_layer(Model& fp, Model& cur, int l,
                                            const std::vector<std::vector<int>>& calib,
                                            Context& ctx) {
  std::vector<TensorCalibration> out(7);
  std::vector<Eigen::MatrixXf> xf(7);  // fp32 inputs of the current document
  for (int j = 0; j < 7; ++j) {
    const Index n = cur.linear[static_cast<std::size_t>(7 * l + j)]->cols();
    out[static_cast<std::size_t>(j)].h = Eigen::MatrixXd::Zero(n, n);
    out[static_cast<std::size_t>(j)].cross = Eigen::MatrixXd::Zero(n, n);
    out[static_cast<std::size_t>(j)].h_ref = Eigen::MatrixXd::Zero(n, n);
  }
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  fp.on_input = [&](int layer, int j, MatrixView<const float> x) {
    if (layer != l) return;
    xf[static_cast<std::size_t>(j)] =
        Eigen::Map<const RowMajor>(x.data(), x.rows(), x.cols());  // stride == cols here
  };
  cur.on_input = [&](int layer, int j, MatrixView<const float> x) {
    if (layer != l) return;
    const Eigen::Map<const RowMajor> xq(x.data(), x.rows(), x.cols());
    const Eigen::MatrixXd a = xf[static_cast<std::size_t>(j)].cast<double>(), b = xq.cast<double>();
    TensorCalibration& t = out[static_cast<std::size_t>(j)];
    t.h.noalias() += b.transpose() * b;
    t.cross.noalias() += a.transpose() * b;
    t.h_ref.noalias() += a.transpose() * a;
  };
  Index tokens = 0;
  for (const auto& d : calib) {
    const std::size_t n = std::min(d.size(), static_cast<std::size_t>(fp.config.seq_len));
    const std::span<const int> doc(d.data(), n);
    fp.forward(doc, MatrixView<float>(), ctx, l);
    cur.forward(doc, MatrixView<float>(), ctx, l);
    tokens += static_cast<Index>(n);
  }
  fp.on_input = nullptr;
  cur.on_input = nullptr;
  const double norm = tokens > 0 ? 2.0 / static_cast<double>(tokens) : 0.0;
  for (TensorCalibration& t : out) {
    t.h *= norm;
    t.cross *= norm;
    t.h_ref *= norm;
  }
  return out;
}

}  // namespace

QuantizedModel quantize_checkpoint(const io::Llama2cModel& m, const Policy& p,
                                   const std::vector<Eigen::MatrixXd>* hessians, std::uint64_t seed,
                                   const Progress& progress) {
  const std::vector<MatrixView<const float>> mats = layer_matrices(m);
  if (hessians != nullptr && hessians->size() != mats.size())
    lowbit::fail("llama: ", hessians->size(), " Hessians for ", mats.size(), " matrices");
  if (p.seq || p.e2e)
    lowbit::fail("policy '", p.name, "': -seq and -e2e calibrate on documents, not Hessians");
  if (p.needs_calibration() && hessians == nullptr)
    lowbit::fail("policy '", p.name, "': -imp and -gptq need calibration activations");
  QuantizedModel q = model_shell(m, p);
  TensorCalibration cal;
  for (std::size_t i = 0; i < mats.size(); ++i) {
    if (hessians != nullptr) cal.h = (*hessians)[i];
    q.tensors.push_back(
        quantize_tensor(mats[i], p, hessians != nullptr ? &cal : nullptr, seed + i));
    if (progress) progress(i, mats.size(), matrix_name(i), q.tensors.back());
  }
  return q;
}

QuantizedModel quantize_checkpoint(const io::Llama2cModel& m, const Policy& p,
                                   const std::vector<std::vector<int>>& calib, Context& ctx,
                                   std::uint64_t seed, const Progress& progress) {
  if (p.needs_calibration() && calib.empty())
    lowbit::fail("policy '", p.name, "': -imp, -gptq and -seq need calibration documents");
  if (p.e2e) {
    Policy base = p;
    base.e2e = false;
    QuantizedModel q = quantize_checkpoint(m, base, calib, ctx, seed, progress);
    q.policy = p.name;
    tune_parameters(q, m, calib, TuneOptions{}, ctx);
    return q;
  }
  if (!p.seq) {
    if (calib.empty()) return quantize_checkpoint(m, p, nullptr, seed, progress);
    const std::vector<Eigen::MatrixXd> hs = record_hessians(m, calib, ctx);
    return quantize_checkpoint(m, p, &hs, seed, progress);
  }
  const std::vector<MatrixView<const float>> mats = layer_matrices(m);
  QuantizedModel q = model_shell(m, p);
  Model ref = Model::from_llama2c(m);
  Model cur = Model::from_llama2c(m);
  for (int l = 0; l < m.config.n_layers; ++l) {
    const std::vector<TensorCalibration> cal = record_layer(ref, cur, l, calib, ctx);
    for (std::size_t j = 0; j < 7; ++j) {
      const std::size_t i = static_cast<std::size_t>(7 * l) + j;
      q.tensors.push_back(quantize_tensor(mats[i], p, &cal[j], seed + i));
      cur.linear[i] = make_linear(q.tensors.back(), false);
      if (progress) progress(i, mats.size(), matrix_name(i), q.tensors.back());
    }
  }
  return q;
}

Model build_model(const QuantizedModel& q, bool float_activations) {
  Model out;
  static_cast<FloatParts&>(out) = q;
  for (const QuantizedTensor& t : q.tensors)
    out.linear.push_back(make_linear(t, float_activations));
  return out;
}

io::Archive to_archive(const QuantizedModel& q) {
  io::Archive a;
  const io::Llama2cConfig& c = q.config;
  a.add_text("lowbit.policy", q.policy);
  a.add_text("lowbit.source", "llama2c");
  const std::vector<std::int32_t> cfg = {c.dim,        c.hidden_dim, c.n_layers, c.n_heads,
                                         c.n_kv_heads, c.vocab_size, c.seq_len};
  a.add_i32("llama.config", cfg);
  // RoPE's base only when it is not llama2.c's (archives of llama2.c models stay as they were).
  if (c.rope_theta != 10000.0)
    a.add_f32("llama.rope_theta", std::vector<float>{static_cast<float>(c.rope_theta)});
  a.add_f32("tok_embeddings", MatrixView<const float>(q.embedding.data(), c.vocab_size, c.dim));
  a.add_f32("rms_att", MatrixView<const float>(q.rms_att.data(), c.n_layers, c.dim));
  a.add_f32("rms_ffn", MatrixView<const float>(q.rms_ffn.data(), c.n_layers, c.dim));
  a.add_f32("rms_final", q.rms_final);
  a.add_f32("classifier", MatrixView<const float>(q.classifier.data(), c.vocab_size, c.dim));
  for (std::size_t i = 0; i < q.tensors.size(); ++i) {
    a.add_packed(matrix_name(i), q.tensors[i].image);
    if (!q.tensors[i].rotation.empty())
      a.add_i32(matrix_name(i) + ".rotation", q.tensors[i].rotation);
    if (!q.tensors[i].col_scale.empty())
      a.add_f32(matrix_name(i) + ".col_scale", q.tensors[i].col_scale);
  }
  return a;
}

QuantizedModel from_archive(const io::Archive& a) {
  using lowbit::fail;
  if (a.text("lowbit.source") != "llama2c")
    fail("llama: the archive holds a '", a.text("lowbit.source"),
         "' model; only llama2c models run here");
  QuantizedModel q;
  q.policy = a.text("lowbit.policy");
  const std::vector<std::int32_t> cfg = a.i32("llama.config");
  if (cfg.size() != 7) fail("llama: llama.config has ", cfg.size(), " integers, expected 7");
  io::Llama2cConfig& c = q.config;
  c.dim = cfg[0];
  c.hidden_dim = cfg[1];
  c.n_layers = cfg[2];
  c.n_heads = cfg[3];
  c.n_kv_heads = cfg[4];
  c.vocab_size = cfg[5];
  c.seq_len = cfg[6];
  c.shared_classifier = false;
  if (a.find("llama.rope_theta") != nullptr) {
    const std::vector<float> theta = a.f32("llama.rope_theta");
    if (theta.size() != 1 || !std::isfinite(theta[0]) || theta[0] <= 1.0f)
      fail("llama: llama.rope_theta must be one finite value above 1");
    c.rope_theta = theta[0];
  }
  constexpr int kMax = io::Llama2cModel::kMaxDim;
  for (int v : cfg)
    if (v < 1 || v > kMax) fail("llama: llama.config value ", v, " outside 1..", kMax);
  if (c.dim % c.n_heads != 0 || c.n_heads % c.n_kv_heads != 0 || c.head_size() % 2 != 0)
    fail("llama: llama.config heads (", c.n_heads, "/", c.n_kv_heads, ") do not divide dim ",
         c.dim);
  auto f32 = [&](const char* name, std::int64_t rows, std::int64_t cols) {
    const io::ArchiveEntry& e = a.get(name, io::EntryKind::kF32);
    if (static_cast<std::int64_t>(e.rows * e.cols) != rows * cols)
      fail("llama: '", name, "' is ", e.rows, " x ", e.cols, ", the config needs ", rows, " x ",
           cols);
    return a.f32(name);
  };
  q.embedding = f32("tok_embeddings", c.vocab_size, c.dim);
  q.rms_att = f32("rms_att", c.n_layers, c.dim);
  q.rms_ffn = f32("rms_ffn", c.n_layers, c.dim);
  q.rms_final = f32("rms_final", 1, c.dim);
  q.classifier = f32("classifier", c.vocab_size, c.dim);
  const std::int64_t D = c.dim, F = c.hidden_dim, KV = c.kv_dim();
  const std::int64_t shapes[7][2] = {{D, D}, {KV, D}, {KV, D}, {D, D}, {F, D}, {D, F}, {F, D}};
  for (std::size_t i = 0; i < static_cast<std::size_t>(7 * c.n_layers); ++i) {
    const std::string name = matrix_name(i);
    const io::ArchiveEntry& e = a.get(name, io::EntryKind::kPacked);
    // CCQ matrices may be zero-padded to whole 64-input groups (quantized_seq.cpp).
    const std::int64_t want = shapes[i % 7][1], got = static_cast<std::int64_t>(e.cols);
    const bool padded = got > want && got - want < 64 && got % 64 == 0 &&
                        io::read_header(e.data).scheme_name.rfind("ccq_", 0) == 0;
    if (static_cast<std::int64_t>(e.rows) != shapes[i % 7][0] || (got != want && !padded))
      fail("llama: '", name, "' is ", e.rows, " x ", e.cols, ", the config needs ",
           shapes[i % 7][0], " x ", shapes[i % 7][1]);
    QuantizedTensor t;
    t.image = e.data;
    if (padded) t.cols = want;
    if (a.find(name + ".rotation") != nullptr) {
      t.rotation = a.i32(name + ".rotation");
      const calib::HadamardRotation r = calib::HadamardRotation::from_ints(t.rotation);
      if (r.size() != shapes[i % 7][1])
        fail("llama: '", name, ".rotation' has size ", r.size(), ", the matrix ", shapes[i % 7][1],
             " inputs");
    }
    if (a.find(name + ".col_scale") != nullptr) {
      const io::ArchiveEntry& cs = a.get(name + ".col_scale", io::EntryKind::kF32);
      if (static_cast<std::int64_t>(cs.rows * cs.cols) != shapes[i % 7][1])
        fail("llama: '", name, ".col_scale' has ", cs.rows * cs.cols, " values, the matrix ",
             shapes[i % 7][1], " inputs");
      t.col_scale = a.f32(name + ".col_scale");
    }
    q.tensors.push_back(std::move(t));
  }
  for (QuantizedTensor& t : q.tensors) t.bpw = make_linear(t, false)->bits_per_weight();
  return q;
}

double model_bpw(const QuantizedModel& q) {
  double bits = 0.0, n = 0.0;
  for (const QuantizedTensor& t : q.tensors) {
    const io::FileInfo info = io::read_header(t.image);
    const double w =
        static_cast<double>(info.rows) * static_cast<double>(t.cols > 0 ? t.cols : info.cols);
    bits += t.bpw * w;
    n += w;
  }
  return n > 0.0 ? bits / n : 0.0;
}

}  // namespace lowbit::llama
