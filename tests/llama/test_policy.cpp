// SPDX-License-Identifier: Apache-2.0
// tests/llama/test_policy.cpp: tools/llama without the model files: policy names, quantize_tensor
// on synthetic layers (the -seq target, rotation, importance, the reported errors), make_linear
// on bad images. Always built (CI has no ../shared/data).
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "llama/backward.hpp"
#include "llama/eval.hpp"
#include "llama/tune.hpp"
#include "support/catch.hpp"

using namespace lowbit;

namespace {
struct Layer {
  Index rows = 24, cols = 96, n = 2000;
  std::vector<float> w, xf, xq;  // weights; fp32 inputs x̃; the quantized model's inputs x
  Layer() {
    std::mt19937 rng(3);
    std::normal_distribution<float> nd;
    w.resize(static_cast<std::size_t>(rows * cols));
    for (auto& v : w) v = nd(rng);
    xf.resize(static_cast<std::size_t>(n * cols));
    xq.resize(xf.size());
    for (Index t = 0; t < n; ++t) {
      float z[4];
      for (auto& v : z) v = nd(rng);
      for (Index c = 0; c < cols; ++c) {
        const std::size_t i = static_cast<std::size_t>(t * cols + c);
        xf[i] = z[c % 4] + 0.5f * nd(rng);
        // Upstream error: a systematic distortion plus noise.
        xq[i] = 0.9f * xf[i] + 0.2f * z[(c + 1) % 4] + 0.1f * nd(rng);
      }
    }
  }
  Eigen::MatrixXd gram(const std::vector<float>& a, const std::vector<float>& b) const {
    using RM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::MatrixXd A = Eigen::Map<const RM>(a.data(), n, cols).cast<double>();
    const Eigen::MatrixXd B = Eigen::Map<const RM>(b.data(), n, cols).cast<double>();
    return (2.0 / static_cast<double>(n)) * A.transpose() * B;
  }
  // Σ‖W·x̃ - Ŵ·x‖² / Σ‖W·x̃‖², computed from the samples.
  double out_err(const std::vector<float>& wq) const {
    double num = 0.0, den = 0.0;
    for (Index t = 0; t < n; ++t)
      for (Index r = 0; r < rows; ++r) {
        double a = 0.0, b = 0.0;
        for (Index c = 0; c < cols; ++c) {
          a += static_cast<double>(w[static_cast<std::size_t>(r * cols + c)]) *
               xf[static_cast<std::size_t>(t * cols + c)];
          b += static_cast<double>(wq[static_cast<std::size_t>(r * cols + c)]) *
               xq[static_cast<std::size_t>(t * cols + c)];
        }
        num += (a - b) * (a - b);
        den += a * a;
      }
    return num / den;
  }
};

// The dequantized weights of a tensor in the original basis.
template <class S, class G>
std::vector<float> weights_of(const llama::QuantizedTensor& t) {
  const auto m = io::deserialize<PackedMatrix<S, G, Plain>>(t.image);
  std::vector<float> w = dequantize(m), tmp;
  if (!t.rotation.empty()) {
    const auto q = calib::HadamardRotation::from_ints(t.rotation);
    for (Index r = 0; r < m.rows(); ++r)
      q.apply_transpose(
          std::span<float>(w.data() + r * m.cols(), static_cast<std::size_t>(m.cols())), tmp);
  }
  return w;
}
}  // namespace

TEST_CASE("llama: policy names", "[llama][policy]") {
  const llama::Policy p = llama::parse_policy("asym3-g64-clip");
  CHECK(!p.symmetric);
  CHECK(p.bits == 3);
  CHECK(p.group == 64);
  CHECK(p.clip);
  CHECK(!p.needs_calibration());
  const llama::Policy all = llama::parse_policy("sym2-g32-rot-seq-gptq-imp-ls-clip");
  CHECK((all.symmetric && all.bits == 2 && all.group == 32 && all.clip && all.ls && all.imp &&
         all.gptq && all.rot && all.seq));
  CHECK(all.needs_calibration());
  CHECK(llama::parse_policy("asym4-g64-imp").needs_calibration());
  CHECK(llama::parse_policy("asym2-g64").bpw() == 2.5);
  CHECK(llama::parse_policy("sym4-g32").bpw() == 4.5);
  for (const char* bad :
       {"", "sym", "int4-g32", "sym5-g32", "sym4-g48", "sym4", "sym4-g32-foo", "asym4-gx",
        "sym4-g32-rot-rot", "sym4-g32-", "sym4-g32clip", "sym44444-g32", "sym4-g32-ls-LS"}) {
    INFO(bad);
    REQUIRE_THROWS_AS(llama::parse_policy(bad), Error);
  }
  // The messages say what is wrong, not the digit after a 4-digit cut.
  CHECK_THROWS_WITH(llama::parse_policy("sym4-g99999"), LOWBIT_CONTAINS("group must be 32 or 64"));
  CHECK_THROWS_WITH(llama::parse_policy("sym4-g12345678901"), LOWBIT_CONTAINS("is too large"));
  CHECK_THROWS_WITH(llama::parse_policy("ggml-q4_0"), LOWBIT_CONTAINS("give --out X.gguf"));
}

TEST_CASE("llama: configurations that differ name the field; seq_len does not count",
          "[llama][policy]") {
  io::Llama2cConfig a;
  a.dim = 64, a.hidden_dim = 172, a.n_layers = 5, a.n_heads = 8, a.n_kv_heads = 4;
  a.vocab_size = 512, a.seq_len = 512;
  io::Llama2cConfig b = a;
  b.seq_len = 128;
  CHECK(llama::config_mismatch(a, b).empty());
  b.hidden_dim = 256;
  CHECK(llama::config_mismatch(a, b) == "hidden_dim 172 vs 256");
  b = a;
  b.rope_theta = 500000.0;
  CHECK(llama::config_mismatch(a, b).find("rope_theta") == 0);
}

TEST_CASE("llama: the -seq target maps the quantized inputs onto the fp32 outputs",
          "[llama][seq]") {
  const Layer L;
  const MatrixView<const float> w(L.w.data(), L.rows, L.cols);
  llama::TensorCalibration plain, seq;
  plain.h = seq.h = L.gram(L.xq, L.xq);
  seq.cross = L.gram(L.xf, L.xq);
  seq.h_ref = L.gram(L.xf, L.xf);
  using S = Asymmetric<8, AsymmetricOffset::kFloatMin, f16>;
  const llama::Policy p = llama::parse_policy("asym8-g32");
  const auto a = llama::quantize_tensor(w, p, &plain, 1), b = llama::quantize_tensor(w, p, &seq, 1);
  const double e_plain = L.out_err(weights_of<S, PerGroup<32>>(a)),
               e_seq = L.out_err(weights_of<S, PerGroup<32>>(b));
  INFO("Σ‖W·x̃ - Ŵ·x‖² / Σ‖W·x̃‖²: plain " << e_plain << ", -seq target " << e_seq);
  CHECK(e_seq < 0.5 * e_plain);
  // The reported out_err is that quantity (computed from the statistics, not the samples).
  CHECK(std::fabs(b.out_err - e_seq) <= 1e-3 * e_seq + 1e-9);
  // Without upstream error (C = H) the target is W itself: the same codes as plain.
  llama::TensorCalibration same = plain;
  same.cross = plain.h;
  same.h_ref = plain.h;
  CHECK(llama::quantize_tensor(w, p, &same, 1).image == a.image);
  llama::TensorCalibration bad = seq;
  bad.cross.resize(3, 3);
  REQUIRE_THROWS_AS(llama::quantize_tensor(w, p, &bad, 1), Error);
}

TEST_CASE("llama: quantize_tensor errors, rotation and importance", "[llama][policy]") {
  const Layer L;
  const MatrixView<const float> w(L.w.data(), L.rows, L.cols);
  llama::TensorCalibration cal;
  cal.h = L.gram(L.xf, L.xf);
  using S = Symmetric<3, SymmetricConvention::kSignedMax, f16>;
  // Rotation: the reported NMSE is that of the weights rotated back; bpw counts the seed.
  const auto r = llama::quantize_tensor(w, llama::parse_policy("sym3-g32-rot"), nullptr, 5);
  REQUIRE(r.rotation.size() == 4);
  const std::vector<float> wr = weights_of<S, PerGroup<32>>(r);
  double num = 0.0, den = 0.0;
  for (std::size_t i = 0; i < wr.size(); ++i) {
    num += (static_cast<double>(L.w[i]) - wr[i]) * (static_cast<double>(L.w[i]) - wr[i]);
    den += static_cast<double>(L.w[i]) * L.w[i];
  }
  CHECK(std::fabs(r.nmse - num / den) <= 1e-6 * (num / den));
  CHECK(std::fabs(r.bpw - (3.0 + 16.0 / 32 + 128.0 / (24 * 96))) < 1e-12);
  CHECK(r.out_err == -1.0);
  // -imp and -gptq need statistics; -imp lowers the output error it weights.
  REQUIRE_THROWS_AS(llama::quantize_tensor(w, llama::parse_policy("sym3-g32-imp"), nullptr, 1),
                    Error);
  REQUIRE_THROWS_AS(llama::quantize_tensor(w, llama::parse_policy("sym3-g32-gptq"), nullptr, 1),
                    Error);
  const auto clip = llama::quantize_tensor(w, llama::parse_policy("sym3-g32-clip"), &cal, 1);
  const auto gptq = llama::quantize_tensor(w, llama::parse_policy("sym3-g32-clip-gptq"), &cal, 1);
  const auto gls = llama::quantize_tensor(w, llama::parse_policy("sym3-g32-clip-ls-gptq"), &cal, 1);
  INFO("out_err: clip " << clip.out_err << ", gptq " << gptq.out_err << ", gptq-ls "
                        << gls.out_err);
  CHECK(gptq.out_err < clip.out_err);
  CHECK(gls.out_err < gptq.out_err);
  std::vector<float> nan = L.w;
  nan[7] = NAN;
  REQUIRE_THROWS_AS(llama::quantize_tensor(MatrixView<const float>(nan.data(), L.rows, L.cols),
                                           llama::parse_policy("sym3-g32"), nullptr, 1),
                    Error);
  // make_linear rejects images it cannot run and bad rotations.
  llama::QuantizedTensor t = clip;
  t.image[0] = std::byte{'X'};
  REQUIRE_THROWS_AS(llama::make_linear(t, false), Error);
  t = r;
  t.rotation[0] = 95;
  REQUIRE_THROWS_AS(llama::make_linear(t, false), Error);
  const auto f32img = io::serialize(
      quantize<Symmetric<4, SymmetricConvention::kSignedMax, float>, PerGroup<32>, Plain>(w, {}));
  t = clip;
  t.image = f32img;
  REQUIRE_THROWS_AS(llama::make_linear(t, false), Error);  // f32 scales: not a tools scheme
}

namespace {
// A random llama2.c model small enough for finite differences (shared classifier).
io::Llama2cModel tiny_model(unsigned seed) {
  io::Llama2cModel m;
  io::Llama2cConfig& c = m.config;
  c.dim = 16;
  c.hidden_dim = 24;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.vocab_size = 11;
  c.seq_len = 12;
  c.shared_classifier = true;
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  auto fill = [&](std::vector<float>& v, std::size_t n, float s, float mean = 0.0f) {
    v.resize(n);
    for (auto& x : v) x = mean + s * nd(rng);
  };
  const std::size_t D = 16, F = 24, L = 2, KVD = 8, V = 11;
  fill(m.tok_embeddings, V * D, 1.0f);
  fill(m.rms_att, L * D, 0.1f, 1.0f);
  fill(m.rms_ffn, L * D, 0.1f, 1.0f);
  fill(m.rms_final, D, 0.1f, 1.0f);
  fill(m.wq, L * D * D, 0.4f);
  fill(m.wk, L * KVD * D, 0.4f);
  fill(m.wv, L * KVD * D, 0.4f);
  fill(m.wo, L * D * D, 0.4f);
  fill(m.w1, L * F * D, 0.4f);
  fill(m.w2, L * D * F, 0.4f);
  fill(m.w3, L * F * D, 0.4f);
  return m;
}
}  // namespace

TEST_CASE("llama: the KL gradient of every layer matches central differences", "[llama][e2e]") {
  const io::Llama2cModel a = tiny_model(1), b = tiny_model(2);
  const llama::DenseModel ref = llama::dense_from_llama2c(a);
  llama::DenseModel cur = llama::dense_from_llama2c(a);
  const llama::DenseModel other = llama::dense_from_llama2c(b);
  for (std::size_t i = 0; i < cur.w.size(); ++i)  // a perturbed copy: KL > 0
    for (std::size_t j = 0; j < cur.w[i].size(); ++j) cur.w[i][j] += 0.3f * other.w[i][j];
  const std::vector<int> doc = {1, 4, 7, 2, 9, 3, 3, 10, 5};
  std::vector<float> ref_logp;
  llama::dense_log_probs(ref, doc, ref_logp);
  std::vector<std::vector<float>> grad;
  const double loss = llama::kl_backward(cur, doc, ref_logp, 8.0, grad);
  REQUIRE(loss > 1e-3);
  std::mt19937 rng(5);
  for (std::size_t i = 0; i < cur.w.size(); ++i) {
    for (int trial = 0; trial < 6; ++trial) {
      const std::size_t j = rng() % cur.w[i].size();
      const float w0 = cur.w[i][j], h = 1e-2f;
      std::vector<std::vector<float>> scratch;
      cur.w[i][j] = w0 + h;
      const double up = llama::kl_backward(cur, doc, ref_logp, 8.0, scratch);
      scratch.clear();
      cur.w[i][j] = w0 - h;
      const double down = llama::kl_backward(cur, doc, ref_logp, 8.0, scratch);
      cur.w[i][j] = w0;
      const double fd = (up - down) / (2.0 * h), an = grad[i][j];
      INFO("matrix " << i << " (" << llama::kMatrixNames[i % 7] << ") entry " << j << ": analytic "
                     << an << ", central difference " << fd);
      REQUIRE(std::fabs(fd - an) <= 0.03 * std::fabs(an) + 3e-4);
    }
  }
  // The dense forward pass is model.hpp's: same log-probabilities as the Model with F32 layers.
  const llama::Model m = llama::Model::from_llama2c(a);
  std::vector<float> logits(doc.size() * 11);
  Context ctx(1);
  m.forward(doc, MatrixView<float>(logits.data(), static_cast<Index>(doc.size()), 11), ctx);
  for (std::size_t t = 0; t < doc.size(); ++t) {
    double mx = logits[t * 11], s = 0.0;
    for (int v = 1; v < 11; ++v) mx = std::max(mx, static_cast<double>(logits[t * 11 + v]));
    for (int v = 0; v < 11; ++v) s += std::exp(logits[t * 11 + v] - mx);
    for (int v = 0; v < 11; ++v)
      REQUIRE(std::fabs(ref_logp[t * 11 + v] - (logits[t * 11 + v] - mx - std::log(s))) < 1e-4);
  }
}

TEST_CASE("llama: -e2e tuning lowers the KL of a quantized model", "[llama][e2e]") {
  const io::Llama2cModel m = tiny_model(3);
  std::mt19937 rng(9);
  std::vector<std::vector<int>> docs(24);
  for (auto& d : docs) {
    d.push_back(1);
    for (int t = 0; t < 10; ++t) d.push_back(static_cast<int>(rng() % 11));
  }
  Context ctx(2);
  const llama::Model ref = llama::Model::from_llama2c(m);
  for (const char* name : {"sym3-g32", "asym2-g32-rot"}) {
    INFO(name);
    llama::QuantizedModel q = llama::quantize_checkpoint(m, llama::parse_policy(name), nullptr);
    const double before = llama::evaluate(ref, llama::build_model(q, true), docs, ctx).mean_kl();
    llama::TuneOptions opt;
    opt.epochs = 6;
    opt.batch = 4;
    opt.lr = 1e-2;
    opt.code_lr = 0.0;  // the parameters alone
    opt.cosine = false;
    const std::vector<double> hist = llama::tune_parameters(q, m, docs, opt, ctx);
    REQUIRE(hist.size() == 6);
    const double after = llama::evaluate(ref, llama::build_model(q, true), docs, ctx).mean_kl();
    INFO("KL before " << before << ", after " << after << "; epochs " << hist.front() << " .. "
                      << hist.back());
    CHECK(hist.back() < hist.front());
    CHECK(after < 0.8 * before);
  }
  // Learning the codes too (straight-through rounding) goes further than the parameters alone,
  // and leaves integral codes in the scheme's range that the stored file reproduces.
  for (const char* name : {"sym3-g32", "asym2-g32-rot"}) {
    INFO(name);
    const llama::QuantizedModel q0 =
        llama::quantize_checkpoint(m, llama::parse_policy(name), nullptr);
    double after[2] = {0.0, 0.0};
    for (int learn = 0; learn < 2; ++learn) {
      llama::QuantizedModel q = q0;
      llama::TuneOptions opt;
      opt.epochs = 12;
      opt.batch = 4;
      opt.lr = 1e-2;
      opt.code_lr = learn ? 0.02 : 0.0;
      opt.cosine = true;
      llama::tune_parameters(q, m, docs, opt, ctx);
      after[learn] = llama::evaluate(ref, llama::build_model(q, true), docs, ctx).mean_kl();
      std::size_t changed = 0;
      for (std::size_t i = 0; i < q.tensors.size(); ++i) {
        const llama::AffineTensor a = llama::affine_of(q.tensors[i]);
        const llama::AffineTensor a0 = llama::affine_of(q0.tensors[i]);
        for (std::size_t j = 0; j < a.cs.size(); ++j) {
          REQUIRE(a.cs[j] == std::nearbyint(a.cs[j]));
          REQUIRE(a.cs[j] >= a.cs_min);
          REQUIRE(a.cs[j] <= a.cs_max);
          changed += a.cs[j] != a0.cs[j];
        }
      }
      INFO("codes changed: " << changed);
      if (learn) {
        CHECK(changed > 0);
        const llama::QuantizedModel back = llama::from_archive(llama::to_archive(q));
        for (std::size_t i = 0; i < q.tensors.size(); ++i)
          REQUIRE(back.tensors[i].image == q.tensors[i].image);
      } else {
        CHECK(changed == 0);
      }
    }
    INFO("KL after tuning: parameters " << after[0] << ", parameters and codes " << after[1]);
    CHECK(after[1] < 0.9 * after[0]);
  }
  // set_affine writes codes and checks their range.
  llama::QuantizedModel q = llama::quantize_checkpoint(m, llama::parse_policy("sym4-g32"), nullptr);
  {
    llama::AffineTensor a = llama::affine_of(q.tensors[0]);
    CHECK(a.cs_min == -8.0f);
    CHECK(a.cs_max == 7.0f);
    a.cs[3] = a.cs[3] > 0.0f ? a.cs[3] - 1.0f : a.cs[3] + 1.0f;
    llama::QuantizedTensor t = q.tensors[0];
    llama::set_affine(t, a);
    CHECK(llama::affine_of(t).cs == a.cs);
    a.cs[5] = 8.0f;
    REQUIRE_THROWS_AS(llama::set_affine(t, a), Error);
    a.cs.pop_back();
    REQUIRE_THROWS_AS(llama::set_affine(t, a), Error);
  }
  llama::TuneOptions bad;
  bad.batch = 0;
  REQUIRE_THROWS_AS(llama::tune_parameters(q, m, docs, bad, ctx), Error);
  bad = {};
  bad.code_lr = -1.0;
  REQUIRE_THROWS_AS(llama::tune_parameters(q, m, docs, bad, ctx), Error);
  REQUIRE_THROWS_AS(llama::quantize_checkpoint(m, llama::parse_policy("sym4-g32-e2e"), nullptr),
                    Error);
}

TEST_CASE("llama: binary and ternary policies", "[llama][policy][binary][ternary]") {
  const llama::Policy a = llama::parse_policy("arb2-g32-gptq-rot");
  CHECK(a.family == llama::Family::kArb2);
  CHECK((a.bits == 2 && a.group == 32 && a.gptq && a.rot));
  CHECK(llama::parse_policy("bin-g64").bpw() == 1.25);
  CHECK(llama::parse_policy("arb-g64").bpw() == 1.5);
  CHECK(llama::parse_policy("twn-g32").bpw() == 2.5);
  CHECK(llama::parse_policy("arbx-g64").bpw() == 1.5);
  CHECK(llama::parse_policy("arbx-g64").needs_calibration());
  CHECK(llama::parse_policy("arbx2-g64").needs_calibration());
  CHECK(llama::parse_policy("arbx2-g32").bpw() == 3.5);
  CHECK(llama::parse_policy("arbrc-g64").bits == 1);
  for (const char* bad : {"bin-g64-clip", "twn-g32-e2e", "arb2-g64-imp", "bin4-g64", "ter-g48"}) {
    INFO(bad);
    REQUIRE_THROWS_AS(llama::parse_policy(bad), Error);
  }
  const Layer L;
  const MatrixView<const float> w(L.w.data(), L.rows, L.cols);
  llama::TensorCalibration cal;
  cal.h = L.gram(L.xf, L.xf);
  // Every family runs on the kernels: the layer's output (float activations) is the product of
  // the dequantized weights, and GPTQ with the family's parameters lowers the output error.
  std::vector<float> x(static_cast<std::size_t>(5 * L.cols));
  std::mt19937 rng(4);
  std::normal_distribution<float> nd;
  for (auto& v : x) v = nd(rng);
  Context ctx(2);
  for (const char* name :
       {"bin-g32", "binm-g64", "arb-g32", "bin2-g64", "arb2-g32", "ter-g32", "terls-g64", "twn-g32",
        "topt-g64", "sherry-g32", "arb2-g64-rot", "arbx-g32", "arbx-g64-rot", "arbrc-g32",
        "arbrc-g64-rot", "arbx2-g32", "arbx2-g64-rot"}) {
    INFO(name);
    const llama::Policy p = llama::parse_policy(name);
    const auto t = llama::quantize_tensor(w, p, &cal, 7);
    const double groups = std::ceil(96.0 / p.group);  // a partial last group at g64
    const double want =
        p.bits + (p.bpw() - p.bits) * p.group * groups / 96.0 + (p.rot ? 128.0 / (24 * 96) : 0.0) +
        (p.family == llama::Family::kArbrc ? 32.0 / 24 : 0.0);  // fp32 column scales
    CHECK(std::fabs(t.bpw - want) < 1e-12);
    // The dense Ŵ from the reported NMSE's definition: rebuild it through the Linear itself.
    const auto lin = llama::make_linear(t, true);
    std::vector<float> y(static_cast<std::size_t>(5 * L.rows)), e(static_cast<std::size_t>(L.cols));
    lin->forward(MatrixView<const float>(x.data(), 5, L.cols),
                 MatrixView<float>(y.data(), 5, L.rows), ctx);
    // Columns of Ŵ by unit vectors, then Ŵ·x by hand.
    std::vector<float> what(static_cast<std::size_t>(L.rows * L.cols)),
        col(static_cast<std::size_t>(L.rows));
    for (Index c = 0; c < L.cols; ++c) {
      std::fill(e.begin(), e.end(), 0.0f);
      e[static_cast<std::size_t>(c)] = 1.0f;
      lin->forward(MatrixView<const float>(e.data(), 1, L.cols),
                   MatrixView<float>(col.data(), 1, L.rows), ctx);
      for (Index r = 0; r < L.rows; ++r)
        what[static_cast<std::size_t>(r * L.cols + c)] = col[static_cast<std::size_t>(r)];
    }
    double num = 0.0, den = 0.0;
    for (std::size_t i = 0; i < what.size(); ++i) {
      num += (static_cast<double>(L.w[i]) - what[i]) * (static_cast<double>(L.w[i]) - what[i]);
      den += static_cast<double>(L.w[i]) * L.w[i];
    }
    CHECK(std::fabs(t.nmse - num / den) <= 1e-4 * (num / den));
    for (Index s = 0; s < 5; ++s)
      for (Index r = 0; r < L.rows; ++r) {
        double ref = 0.0, mag = 0.0;
        for (Index c = 0; c < L.cols; ++c) {
          ref += static_cast<double>(what[static_cast<std::size_t>(r * L.cols + c)]) *
                 x[static_cast<std::size_t>(s * L.cols + c)];
          mag += std::fabs(what[static_cast<std::size_t>(r * L.cols + c)] *
                           x[static_cast<std::size_t>(s * L.cols + c)]);
        }
        REQUIRE(std::fabs(y[static_cast<std::size_t>(s * L.rows + r)] - ref) <= 1e-5 * mag + 1e-6);
      }
    if (p.family != llama::Family::kSherry && !p.rot) {
      const auto g =
          llama::quantize_tensor(w, llama::parse_policy(std::string(name) + "-gptq"), &cal, 7);
      INFO("out_err: plain " << t.out_err << ", gptq " << g.out_err);
      CHECK(g.out_err < t.out_err);
    }
  }
  // ARB-X, weighted by the calibration inputs, beats ARB on their output error; it needs them.
  const auto ax = llama::quantize_tensor(w, llama::parse_policy("arbx-g32"), &cal, 7);
  const auto ab = llama::quantize_tensor(w, llama::parse_policy("arb-g32"), &cal, 7);
  INFO("out_err: arb " << ab.out_err << ", arbx " << ax.out_err);
  CHECK(ax.out_err < ab.out_err);
  const auto ax2 = llama::quantize_tensor(w, llama::parse_policy("arbx2-g32"), &cal, 7);
  const auto ab2 = llama::quantize_tensor(w, llama::parse_policy("arb2-g32"), &cal, 7);
  INFO("out_err: arb2 " << ab2.out_err << ", arbx2 " << ax2.out_err);
  CHECK(ax2.out_err < ab2.out_err);
  REQUIRE_THROWS_AS(llama::quantize_tensor(w, llama::parse_policy("arbx2-g32"), nullptr, 1), Error);
  REQUIRE_THROWS_AS(llama::quantize_tensor(w, llama::parse_policy("arbx-g32"), nullptr, 1), Error);
  // ARB-RC's column scales pay off where the inputs' weights differ in scale column by column.
  std::vector<float> wc = L.w;
  std::lognormal_distribution<float> ln(0.0f, 0.7f);
  for (Index c = 0; c < L.cols; ++c) {
    const float s = ln(rng);
    for (Index r = 0; r < L.rows; ++r) wc[static_cast<std::size_t>(r * L.cols + c)] *= s;
  }
  const MatrixView<const float> wcv(wc.data(), L.rows, L.cols);
  const auto rc = llama::quantize_tensor(wcv, llama::parse_policy("arbrc-g32"), nullptr, 7);
  const auto bn = llama::quantize_tensor(wcv, llama::parse_policy("bin-g32"), nullptr, 7);
  INFO("column-scaled layer, NMSE: bin " << bn.nmse << ", arbrc " << rc.nmse);
  CHECK(rc.nmse < bn.nmse - 0.03);
  REQUIRE_THROWS_AS(llama::quantize_tensor(w, llama::parse_policy("sherry-g32-gptq"), &cal, 1),
                    Error);
  REQUIRE_THROWS_AS(llama::quantize_tensor(w, llama::parse_policy("twn-g32-gptq"), nullptr, 1),
                    Error);
}

TEST_CASE("llama: trellis and CCQ policies", "[llama][policy][trellis][ccq]") {
  for (const char* bad :
       {"wint2-g64-gptq", "wint2-g32", "wint25-g64-clip", "trellis-g48", "wint2-g64-v2",
        "wint25-g64-lut7", "trellis-g64-v2-tap7", "trellis-g64-lut7-lut7"}) {
    INFO(bad);
    REQUIRE_THROWS_AS(llama::parse_policy(bad), Error);
  }
  const Layer L;  // 24 x 96: CCQ pads its inputs to 128
  const MatrixView<const float> w(L.w.data(), L.rows, L.cols);
  Context ctx(2);
  for (const char* name : {"trellis-g32", "trellis-g64-rot", "trellis-g64-v2", "trellis-g64-tap7",
                           "trellis-g32-lut7", "wint2-g64", "wint25-g64", "wint2-g64-rot"}) {
    INFO(name);
    const llama::Policy p = llama::parse_policy(name);
    const auto t = llama::quantize_tensor(w, p, nullptr, 7);
    const bool ccq = p.family != llama::Family::kTrellis;
    CHECK(t.cols == (ccq ? 96 : 0));
    CHECK(io::read_header(t.image).cols == (ccq ? 128u : 96u));
    const auto lin = llama::make_linear(t, true);
    REQUIRE(lin->cols() == L.cols);
    // Ŵ through the layer (unit vectors), against the reported NMSE.
    std::vector<float> e(static_cast<std::size_t>(L.cols)), col(static_cast<std::size_t>(L.rows));
    double num = 0.0, den = 0.0;
    for (Index c = 0; c < L.cols; ++c) {
      std::fill(e.begin(), e.end(), 0.0f);
      e[static_cast<std::size_t>(c)] = 1.0f;
      lin->forward(MatrixView<const float>(e.data(), 1, L.cols),
                   MatrixView<float>(col.data(), 1, L.rows), ctx);
      for (Index r = 0; r < L.rows; ++r) {
        const double d = static_cast<double>(L.w[static_cast<std::size_t>(r * L.cols + c)]) -
                         col[static_cast<std::size_t>(r)];
        num += d * d;
        den += static_cast<double>(L.w[static_cast<std::size_t>(r * L.cols + c)]) *
               L.w[static_cast<std::size_t>(r * L.cols + c)];
      }
    }
    CHECK(std::fabs(t.nmse - num / den) <= 1e-4 * (num / den));
    CHECK(t.nmse < (p.family == llama::Family::kWint25 ? 0.12 : 0.2));
    CHECK(std::fabs(lin->bits_per_weight() - t.bpw) < 1e-9);
  }
  // Block LDLQ lowers the trellis' output error on correlated inputs; it needs them.
  llama::TensorCalibration cal;
  cal.h = L.gram(L.xf, L.xf);
  const auto plain = llama::quantize_tensor(w, llama::parse_policy("trellis-g32"), &cal, 7);
  const auto ldlq = llama::quantize_tensor(w, llama::parse_policy("trellis-g32-gptq"), &cal, 7);
  INFO("out_err: trellis " << plain.out_err << ", with LDLQ " << ldlq.out_err);
  CHECK(ldlq.out_err < plain.out_err);
  REQUIRE_THROWS_AS(llama::quantize_tensor(w, llama::parse_policy("trellis-g32-gptq"), nullptr, 1),
                    Error);
}
