// SPDX-License-Identifier: Apache-2.0
// tests/llama/test_quantized.cpp: quantized stories260K models of tools/llama: an archive
// round trip runs bit-identically to the in-memory model, a rotated model computes the same
// function as its dequantized weights rotated back (so activations are rotated correctly),
// importance-weighted fits lower the output error on real layers, malformed archives fail, and
// quantized layer inputs run on the integer kernels as they do dequantized.
#include <cmath>
#include <string>
#include <vector>

#include "llama/activations.hpp"
#include "llama/eval.hpp"
#include "support/catch.hpp"
#include "support/rng.hpp"
#include "support/sanitizer.hpp"

using namespace lowbit;

namespace {
const std::string kData = LOWBIT_SHARED_DATA_DIR;

std::vector<float> logits(const llama::Model& m, const std::vector<int>& doc, Context& ctx) {
  std::vector<float> out(doc.size() * static_cast<std::size_t>(m.config.vocab_size));
  m.forward(doc, MatrixView<float>(out.data(), static_cast<Index>(doc.size()), m.config.vocab_size),
            ctx);
  return out;
}

/// `good` rebuilt with the entry `which` replaced by what change(archive, entry) adds (or dropped).
template <class Change>
io::Archive rebuilt(const io::Archive& good, const std::string& which, Change&& change) {
  io::Archive b;
  for (const auto& e : good.entries()) {
    if (e.name == which) {
      change(b, e);
      continue;
    }
    b.add_raw(e.name, e.kind, e.rows, e.cols, e.data);
  }
  return b;
}

std::string error_of(const io::Archive& a) {
  try {
    (void)llama::from_archive(a);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("llama: a quantized model survives its archive bit for bit", "[llama][archive]") {
  const io::Llama2cModel ckpt = io::load_llama2c(kData + "/stories260K.bin");
  auto docs = llama::load_documents(kData + "/tinystories_val.tok512.ascii.i32");
  Context ctx(2);
  for (const char* name : {"sym4-g32-clip-rot", "asym3-g64", "arbrc-g64-rot", "wint2-g64"}) {
    INFO(name);
    const llama::QuantizedModel q =
        llama::quantize_checkpoint(ckpt, llama::parse_policy(name), nullptr);
    const std::vector<std::byte> bytes = llama::to_archive(q).serialize();
    const llama::QuantizedModel back = llama::from_archive(io::Archive::parse(bytes));
    CHECK(back.policy == name);
    CHECK(llama::model_bpw(back) == llama::model_bpw(q));
    const llama::Model a = llama::build_model(q, false), b = llama::build_model(back, false);
    CHECK(logits(a, docs[0], ctx) == logits(b, docs[0], ctx));
  }
}

TEST_CASE("llama: a rotated model computes W·x of its dequantized weights", "[llama][rotation]") {
  const io::Llama2cModel ckpt = io::load_llama2c(kData + "/stories260K.bin");
  auto docs = llama::load_documents(kData + "/tinystories_val.tok512.ascii.i32");
  Context ctx(1);
  const llama::QuantizedModel q =
      llama::quantize_checkpoint(ckpt, llama::parse_policy("asym4-g32-rot"), nullptr);
  // The reference: fp32 layers holding Ŵ = Ŵ'·Q (each dequantized row rotated back by Qᵀ).
  llama::Model ref = llama::Model::from_llama2c(ckpt);
  for (std::size_t i = 0; i < q.tensors.size(); ++i) {
    const auto& t = q.tensors[i];
    REQUIRE(!t.rotation.empty());
    const calib::HadamardRotation rot = calib::HadamardRotation::from_ints(t.rotation);
    const auto plain = io::deserialize<
        PackedMatrix<Asymmetric<4, AsymmetricOffset::kFloatMin, f16>, PerGroup<32>, Plain>>(
        t.image);
    std::vector<float> w = dequantize(plain), tmp;
    for (Index r = 0; r < plain.rows(); ++r)
      rot.apply_transpose(
          std::span<float>(w.data() + r * plain.cols(), static_cast<std::size_t>(plain.cols())),
          tmp);
    ref.linear[i] = std::make_unique<llama::F32Linear>(
        MatrixView<const float>(w.data(), plain.rows(), plain.cols()));
  }
  const llama::Model m = llama::build_model(q, /*float_activations=*/true);
  for (int d = 0; d < 3; ++d) {
    const std::vector<float> a = logits(m, docs[static_cast<std::size_t>(d)], ctx),
                             b = logits(ref, docs[static_cast<std::size_t>(d)], ctx);
    double maxref = 0.0, maxerr = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      maxref = std::max(maxref, static_cast<double>(std::fabs(b[i])));
      maxerr = std::max(maxerr, static_cast<double>(std::fabs(a[i] - b[i])));
    }
    INFO("document " << d << ": max |error| " << maxerr << " of " << maxref);
    REQUIRE(maxerr <= 1e-4 * maxref);
  }
}

TEST_CASE("llama: -imp and -gptq lower the output error of real layers", "[llama][imp]") {
  const io::Llama2cModel ckpt = io::load_llama2c(kData + "/stories260K.bin");
  auto calib = llama::load_documents(kData + "/tinystories_val.tok512.i32");
  calib.erase(calib.begin(), calib.end() - 60);
  Context ctx(2);
  const std::vector<Eigen::MatrixXd> hs = llama::record_hessians(ckpt, calib, ctx);
  auto total = [&](const char* name) {
    const llama::QuantizedModel q =
        llama::quantize_checkpoint(ckpt, llama::parse_policy(name), &hs);
    double s = 0.0;
    for (const auto& t : q.tensors) {
      REQUIRE(t.out_err >= 0.0);
      s += t.out_err;
    }
    return s;
  };
  const double clip = total("asym3-g64-clip"), imp = total("asym3-g64-clip-imp"),
               gptq = total("asym3-g64-clip-imp-gptq");
  INFO("Σ out_err: clip " << clip << ", +imp " << imp << ", +gptq " << gptq);
  CHECK(imp < clip);
  CHECK(gptq < 0.8 * imp);
  REQUIRE_THROWS_AS(llama::quantize_checkpoint(ckpt, llama::parse_policy("sym4-g32-imp"), nullptr),
                    Error);
}

TEST_CASE("llama: -seq calibrates layer by layer on the quantized model's inputs", "[llama][seq]") {
  const io::Llama2cModel ckpt = io::load_llama2c(kData + "/stories260K.bin");
  auto calib = llama::load_documents(kData + "/tinystories_val.tok512.i32");
  calib.erase(calib.begin(), calib.end() - 30);
  auto docs = llama::load_documents(kData + "/tinystories_val.tok512.ascii.i32");
  docs.resize(15);
  Context ctx(2);
  const llama::Model ref = llama::Model::from_llama2c(ckpt);
  // At 8 bits the target correction is nearly the identity and the model stays close to fp32.
  const llama::QuantizedModel q8 =
      llama::quantize_checkpoint(ckpt, llama::parse_policy("sym8-g32-seq"), calib, ctx);
  for (const auto& t : q8.tensors) {
    REQUIRE(t.out_err >= 0.0);
    REQUIRE(t.out_err < 5e-3);  // upstream int8-activation and 8-bit error included
  }
  CHECK(llama::evaluate(ref, llama::build_model(q8, false), docs, ctx).mean_kl() < 0.01);
  REQUIRE_THROWS_AS(llama::quantize_checkpoint(ckpt, llama::parse_policy("sym4-g32-seq"), nullptr),
                    Error);
  REQUIRE_THROWS_AS(llama::quantize_checkpoint(ckpt, llama::parse_policy("sym4-g32-seq"),
                                               std::vector<std::vector<int>>{}, ctx),
                    Error);
}

TEST_CASE("llama: malformed quantized archives are errors", "[llama][archive]") {
  const io::Llama2cModel ckpt = io::load_llama2c(kData + "/stories260K.bin");
  const llama::QuantizedModel q =
      llama::quantize_checkpoint(ckpt, llama::parse_policy("sym2-g64-rot"), nullptr);
  const io::Archive good = llama::to_archive(q);
  auto edited = [&](const std::string& which, auto&& change) {
    return rebuilt(good, which, change);
  };
  auto drop = [](io::Archive&, const io::ArchiveEntry&) {};
  CHECK(error_of(edited("layers.2.w2", drop)).find("no entry 'layers.2.w2'") != std::string::npos);
  CHECK(error_of(edited("llama.config", [](io::Archive& a, const io::ArchiveEntry&) {
          const std::vector<std::int32_t> c = {64, 172, 5, 8, 4, 512, 0};
          a.add_i32("llama.config", c);
        })).find("outside") != std::string::npos);
  CHECK(error_of(edited("layers.0.wq", [&](io::Archive& a, const io::ArchiveEntry&) {
          a.add_packed("layers.0.wq", q.tensors[4].image);  // w1's 172 x 64 in wq's place
        })).find("the config needs") != std::string::npos);
  CHECK(error_of(edited("layers.1.w2.rotation", [](io::Archive& a, const io::ArchiveEntry&) {
          const std::vector<std::int32_t> r = {64, 1, 5, 0};
          a.add_i32("layers.1.w2.rotation", r);
        })).find("rotation") != std::string::npos);
  CHECK(error_of(edited("lowbit.source", [](io::Archive& a, const io::ArchiveEntry&) {
          a.add_text("lowbit.source", "safetensors");
        })).find("only llama2c") != std::string::npos);
  CHECK(error_of(good).empty());
}

TEST_CASE("llama: ARB-RC's column scales travel in the archive and are checked",
          "[llama][archive][arbrc]") {
  const io::Llama2cModel ckpt = io::load_llama2c(kData + "/stories260K.bin");
  const llama::QuantizedModel q =
      llama::quantize_checkpoint(ckpt, llama::parse_policy("arbrc-g32"), nullptr);
  for (const llama::QuantizedTensor& t : q.tensors) {
    const io::FileInfo info = io::read_header(t.image);
    REQUIRE(t.col_scale.size() == static_cast<std::size_t>(info.cols));
  }
  const io::Archive good = llama::to_archive(q);
  REQUIRE(good.find("layers.3.w2.col_scale") != nullptr);
  CHECK(error_of(good).empty());
  auto with = [&](std::vector<float> v) {
    return rebuilt(good, "layers.3.w2.col_scale", [&](io::Archive& a, const io::ArchiveEntry&) {
      a.add_f32("layers.3.w2.col_scale", std::span<const float>(v));
    });
  };
  std::vector<float> cs = q.tensors[7 * 3 + 5].col_scale;
  cs.pop_back();
  CHECK(error_of(with(cs)).find("col_scale' has 171 values") != std::string::npos);
  cs = q.tensors[7 * 3 + 5].col_scale;
  cs[9] = std::nanf("");
  CHECK(error_of(with(cs)).find("not finite") != std::string::npos);
}

TEST_CASE("llama: quantized layer inputs, on integer kernels and dequantized", "[llama][act]") {
  const io::Llama2cModel ckpt = io::load_llama2c(kData + "/stories260K.bin");
  auto docs = llama::load_documents(kData + "/tinystories_val.tok512.ascii.i32");
  const auto calib =
      llama::load_calibration(kData + "/tinystories_val.tok512.i32", test::kSanitized ? 6 : 20);
  Context ctx(2);
  const llama::Model fp = llama::Model::from_llama2c(ckpt);
  const llama::ActRecording rec = llama::record_activations(fp, calib, 4, ctx);
  REQUIRE(rec.rows.size() == fp.linear.size());
  REQUIRE(rec.doc_range[0].size() == calib.size());
  const llama::QuantizedModel q =
      llama::quantize_checkpoint(ckpt, llama::parse_policy("sym4-g32"), nullptr);
  for (const char* name : {"a4-db", "a8-minmax", "a4-dbgate"}) {
    INFO(name);
    const llama::ActPolicy p = llama::parse_act_policy(name);
    const std::vector<llama::ActQuantizer> qs = llama::calibrate_activations(fp, rec, p);
    if (p.method == llama::ActMethod::kDbGate) {
      int gated = 0;
      for (const auto& a : qs) gated += a.gate != nullptr;
      CHECK(gated == 11);  // round(0.3 · 35)
    }
    // Every packed layer takes the codes on its integer kernels (gemm_zp) and gives, up to fp32
    // rounding, what it gives on the dequantized inputs in float. (Whole-model logits are no
    // test of it: a rounding difference that moves one 4-bit code changes the later layers'
    // inputs by a whole step.)
    llama::Model a = llama::build_model(q, true);
    for (std::size_t i = 0; i < qs.size(); ++i) {
      const MatrixView<const float> x = rec.view(i);
      const Index n = std::min<Index>(x.rows(), 40), m = a.linear[i]->rows(), k = x.cols();
      const MatrixView<const float> xs(x.data(), n, k);
      ZeroPointActivations codes;
      qs[i].encode(xs, codes);
      std::vector<float> ya(static_cast<std::size_t>(n * m)), yb(ya.size()),
          xd(static_cast<std::size_t>(n * k));
      REQUIRE(a.linear[i]->forward_zp(codes, MatrixView<float>(ya.data(), n, m), ctx));
      qs[i].apply(xs, MatrixView<float>(xd.data(), n, k));
      a.linear[i]->forward(MatrixView<const float>(xd.data(), n, k),
                           MatrixView<float>(yb.data(), n, m), ctx);
      float worst = 0.0f, mag = 0.0f;
      for (std::size_t j = 0; j < ya.size(); ++j) {
        worst = std::max(worst, std::fabs(ya[j] - yb[j]));
        mag = std::max(mag, std::fabs(yb[j]));
      }
      INFO("layer " << i);
      CHECK(worst <= 1e-5f * (1.0f + mag));
    }
    llama::quantize_inputs(a, qs);
    CHECK(logits(a, docs[0], ctx) != logits(llama::build_model(q, true), docs[0], ctx));
  }
  CHECK_THROWS_AS(llama::parse_act_policy("a9-db"), Error);
  CHECK_THROWS_AS(llama::parse_act_policy("a4-dbx"), Error);
  CHECK_THROWS_AS(llama::parse_act_policy("4-db"), Error);
  CHECK(llama::parse_act_policy("a3-minmax-static").method == llama::ActMethod::kMinmaxStatic);
}
