// SPDX-License-Identifier: Apache-2.0
// tests/llama/test_forward.cpp: the Llama forward pass of tools/llama against the numpy
// reference (tests/data/stories260K_ref.bin, made by tests/data/make_ref_logits.py): fp32
// logits within 1e-4 of the largest reference logit, the per-paragraph perplexity of the
// first 50 ascii documents to 1e-4 relative, a quantized model's KL/top-1 in a sane range, and
// the policy parser's errors. Needs ../shared/data (registered by CMake only when present).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "llama/eval.hpp"
#include "support/catch.hpp"

using namespace lowbit;

namespace {
const std::string kData = LOWBIT_SHARED_DATA_DIR;
const std::string kRef = std::string(LOWBIT_TEST_DATA_DIR) + "/stories260K_ref.bin";
}  // namespace

TEST_CASE("llama forward: fp32 logits match the numpy reference", "[llama]") {
  const io::Llama2cModel ckpt = io::load_llama2c(kData + "/stories260K.bin");
  const llama::Model m = llama::Model::from_llama2c(ckpt);
  const std::vector<std::byte> ref = io::read_file(kRef);
  std::size_t off = 0;
  auto i32 = [&] {
    std::int32_t v;
    REQUIRE(off + 4 <= ref.size());
    std::memcpy(&v, ref.data() + off, 4);
    off += 4;
    return v;
  };
  Context ctx(2);
  const int ndocs = i32();
  REQUIRE(ndocs == 2);
  const Index V = m.config.vocab_size;
  for (int d = 0; d < ndocs; ++d) {
    const int T = i32();
    std::vector<int> toks(static_cast<std::size_t>(T));
    for (auto& t : toks) t = i32();
    std::vector<float> want(static_cast<std::size_t>(T * V)), got(want.size());
    REQUIRE(off + want.size() * 4 <= ref.size());
    std::memcpy(want.data(), ref.data() + off, want.size() * 4);
    off += want.size() * 4;
    m.forward(toks, MatrixView<float>(got.data(), T, V), ctx);
    double maxref = 0.0, maxerr = 0.0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      maxref = std::max(maxref, static_cast<double>(std::fabs(want[i])));
      maxerr = std::max(maxerr, static_cast<double>(std::fabs(want[i] - got[i])));
    }
    INFO("document " << d << ": max |error| " << maxerr << ", max |logit| " << maxref);
    REQUIRE(maxerr <= 1e-4 * maxref);
  }
  double ppl_ref = 0.0;
  std::memcpy(&ppl_ref, ref.data() + off, 8);
  off += 8;
  const int tokens = i32();
  auto docs = llama::load_documents(kData + "/tinystories_val.tok512.ascii.i32");
  docs.resize(50);
  const llama::EvalResult r = llama::evaluate(m, m, docs, ctx);
  CHECK(r.tokens == tokens);
  CHECK(r.docs == 50);
  CHECK(r.mean_kl() == 0.0);
  CHECK(r.top1() == 1.0);
  INFO("ppl " << r.ppl() << " vs numpy " << ppl_ref);
  REQUIRE(std::fabs(r.ppl() - ppl_ref) <= 1e-4 * ppl_ref);
}

TEST_CASE("llama: a quantized model on lowbit's kernels stays close to fp32", "[llama]") {
  const io::Llama2cModel ckpt = io::load_llama2c(kData + "/stories260K.bin");
  const llama::Model ref = llama::Model::from_llama2c(ckpt);
  auto docs = llama::load_documents(kData + "/tinystories_val.tok512.ascii.i32");
  docs.resize(20);
  Context ctx(2);
  const llama::Model q8 = llama::quantize_model(ckpt, llama::parse_policy("sym8-g32"));
  const llama::Model q2 = llama::quantize_model(ckpt, llama::parse_policy("asym2-g64"));
  const llama::EvalResult r8 = llama::evaluate(ref, q8, docs, ctx);
  const llama::EvalResult r2 = llama::evaluate(ref, q2, docs, ctx);
  CHECK(llama::model_bpw(q8) > 8.5);
  CHECK(llama::model_bpw(q8) < 8.6);
  // 8 bits are nearly lossless; 2 bits are far from it (RTN, data README figures: KL ≈ 2-3).
  CHECK(r8.mean_kl() < 0.002);
  CHECK(r8.top1() > 0.97);
  CHECK(r2.mean_kl() > 1.0);
  CHECK(r2.mean_kl() > 100 * r8.mean_kl());
}

TEST_CASE("llama: GPTQ lowers the output error of real layers on recorded activations",
          "[llama][gptq]") {
  const io::Llama2cModel ckpt = io::load_llama2c(kData + "/stories260K.bin");
  auto calib = llama::load_documents(kData + "/tinystories_val.tok512.i32");
  calib.erase(calib.begin(), calib.end() - 40);  // the last 40 documents
  Context ctx(2);
  const std::vector<Eigen::MatrixXd> hs = llama::record_hessians(ckpt, calib, ctx);
  REQUIRE(hs.size() == 35);
  using S = Symmetric<3, SymmetricConvention::kSignedMax, f16>;
  // Output error of Ŵ on the recorded inputs: tr((W - Ŵ) H (W - Ŵ)ᵀ) ∝ Σ_x ‖(W - Ŵ)x‖².
  auto out_err = [](MatrixView<const float> w, const std::vector<float>& wd,
                    const Eigen::MatrixXd& h) {
    Eigen::MatrixXd d(w.rows(), w.cols());
    for (Index r = 0; r < w.rows(); ++r)
      for (Index c = 0; c < w.cols(); ++c)
        d(r, c) = static_cast<double>(w(r, c)) - wd[static_cast<std::size_t>(r * w.cols() + c)];
    return (d * h * d.transpose()).trace();
  };
  for (int which : {0, 4, 5}) {  // wq, w1, w2 of layer 2
    const MatrixView<const float> w = which == 0   ? ckpt.wq_at(2)
                                      : which == 4 ? ckpt.w1_at(2)
                                                   : ckpt.w2_at(2);
    const Eigen::MatrixXd& h = hs[static_cast<std::size_t>(7 * 2 + which)];
    const auto rtn = quantize<S, PerGroup<32>, Plain>(w, {});
    const auto gq = calib::gptq<S, PerGroup<32>>(w, h, {});
    const double e_rtn = out_err(w, dequantize(rtn), h), e_gptq = out_err(w, dequantize(gq), h);
    INFO(llama::kMatrixNames[which] << ": RTN " << e_rtn << ", GPTQ " << e_gptq);
    REQUIRE(e_gptq < 0.9 * e_rtn);
  }
  // A -gptq policy needs the Hessians.
  REQUIRE_THROWS_AS(llama::quantize_model(ckpt, llama::parse_policy("sym4-g32-gptq")), Error);
  CHECK(llama::parse_policy("asym2-g64-clip-gptq").gptq);
  REQUIRE_THROWS_AS(llama::parse_policy("sym4-g32-gptq-gptq"), Error);
}
