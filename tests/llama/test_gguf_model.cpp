// SPDX-License-Identifier: Apache-2.0
// tests/llama/test_gguf_model.cpp: llama.cpp's GGUF files on lowbit's kernels in their own block
// format (llama/gguf_model.hpp: model_from_gguf), and lowbit's fits written as llama.cpp's
// blocks (gguf_with_fits): values, untouched tensors, file round trip, refused policies.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "llama/gguf_model.hpp"
#include "lowbit/formats/ggml/schemes.hpp"
#include "lowbit/io/gguf_llama.hpp"
#include "lowbit/io/serialize.hpp"
#include "lowbit/lowbit.hpp"
#include "support/catch.hpp"

using namespace lowbit;

namespace {
const std::string kGguf = std::string(LOWBIT_SHARED_DATA_DIR) + "/gguf/";

std::vector<float> logits(const llama::Model& m, const std::vector<int>& doc, Context& ctx) {
  std::vector<float> out(doc.size() * static_cast<std::size_t>(m.config.vocab_size));
  m.forward(doc, MatrixView<float>(out.data(), static_cast<Index>(doc.size()), m.config.vocab_size),
            ctx);
  return out;
}
}  // namespace

TEST_CASE("llama: GGUF block matrices run on the kernels as the values llama.cpp decodes",
          "[llama][gguf]") {
  // llama.cpp's files (block matrices of several types, F16 fallbacks); float activations: the
  // kernels' float path against the fp32 model of the decoded weights (io::llama_from_gguf).
  Context ctx(2);
  const std::vector<int> doc = {1, 403, 407, 261, 378, 288, 271, 366, 263, 260, 395, 306};
  for (const char* name :
       {"stories260K-q4_k.gguf", "stories260K-q4_0.gguf", "stories260K-tq2_0.gguf"}) {
    const io::GgufFile f = io::load_gguf(kGguf + name);
    const llama::Model dense = llama::Model::from_llama2c(io::llama_from_gguf(f));
    const llama::Model packed = llama::model_from_gguf(f, 0, true);
    REQUIRE(packed.linear.size() == dense.linear.size());
    const auto want = logits(dense, doc, ctx), got = logits(packed, doc, ctx);
    float scale = 0.0f, err = 0.0f;
    for (std::size_t i = 0; i < want.size(); ++i) {
      scale = std::max(scale, std::fabs(want[i]));
      err = std::max(err, std::fabs(want[i] - got[i]));
    }
    INFO(name << ": max |Δlogit| " << err << " of " << scale);
    CHECK(err <= 1e-4f * scale);
    // int8 activations: the same model up to activation rounding.
    const auto q8 = logits(llama::model_from_gguf(f, 0, false), doc, ctx);
    float err8 = 0.0f;
    for (std::size_t i = 0; i < want.size(); ++i) err8 = std::max(err8, std::fabs(want[i] - q8[i]));
    CHECK(err8 <= 0.05f * scale);
  }
}

TEST_CASE("llama: lowbit's fits written as llama.cpp's Q4_0 / Q4_1 / Q8_0 blocks",
          "[llama][gguf]") {
  const io::GgufFile in = io::load_gguf(kGguf + "stories260K-f32.gguf");
  const io::Llama2cModel ckpt = io::llama_from_gguf(in);
  Context ctx(2);
  for (const char* pname : {"sym4-g32-clip", "asym4-g32-clip-ls", "sym8-g32"}) {
    const llama::Policy p = llama::parse_policy(pname);
    const llama::QuantizedModel q = llama::quantize_checkpoint(ckpt, p, {}, ctx);
    const io::GgufFile out = llama::gguf_with_fits(in, p, q);
    const ggml::Type base = p.bits == 8   ? ggml::Type::Q8_0
                            : p.symmetric ? ggml::Type::Q4_0
                                          : ggml::Type::Q4_1;
    const io::GgufFile ref = io::quantize_like_llama_cpp(in, base);
    REQUIRE(out.tensors.size() == ref.tensors.size());
    int fitted = 0;
    for (std::size_t i = 0; i < out.tensors.size(); ++i) {
      const io::GgufTensor& t = out.tensors[i];
      INFO(pname << " " << t.name);
      REQUIRE(t.name == ref.tensors[i].name);
      REQUIRE(t.type == ref.tensors[i].type);
      REQUIRE(t.offset == ref.tensors[i].offset);
      const auto ob = out.tensor_bytes(t), rb = ref.tensor_bytes(ref.tensors[i]);
      const bool matrix = t.name.rfind("blk.", 0) == 0 && t.ne.size() == 2;
      if (!matrix || static_cast<ggml::Type>(t.type) != base) {
        CHECK(std::equal(ob.begin(), ob.end(), rb.begin(), rb.end()));  // llama-quantize's
        continue;
      }
      // The block tensor decodes to the lowbit fit's values, bit for bit.
      const int layer = std::stoi(t.name.substr(4));
      const std::string kind = t.name.substr(t.name.find('.', 4) + 1);
      const char* names[7] = {"attn_q.weight",      "attn_k.weight",   "attn_v.weight",
                              "attn_output.weight", "ffn_gate.weight", "ffn_down.weight",
                              "ffn_up.weight"};
      const int j = static_cast<int>(std::find(names, names + 7, kind) - names);
      REQUIRE(j < 7);
      const auto& image = q.tensors[static_cast<std::size_t>(7 * layer + j)].image;
      const io::FileInfo info = io::read_header(image);
      std::vector<float> got(static_cast<std::size_t>(info.rows * info.cols)), want(got.size());
      ggml::dequantize_row(base, ob.data(), static_cast<Index>(got.size()), got.data());
      auto decoded = [&](auto tag) {
        constexpr ggml::Type T = decltype(tag)::value;
        const auto m = io::deserialize<ggml::PackedOf<T>>(image);
        dequantize(m, MatrixView<float>(want.data(), m.rows(), m.cols()));
      };
      if (base == ggml::Type::Q4_0) decoded(std::integral_constant<ggml::Type, ggml::Type::Q4_0>{});
      if (base == ggml::Type::Q4_1) decoded(std::integral_constant<ggml::Type, ggml::Type::Q4_1>{});
      if (base == ggml::Type::Q8_0) decoded(std::integral_constant<ggml::Type, ggml::Type::Q8_0>{});
      CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
      ++fitted;
    }
    CHECK(fitted > 0);
    // The file reads back and writes the same bytes.
    const std::vector<std::byte> bytes = io::write_gguf(out);
    CHECK(io::write_gguf(io::read_gguf(bytes)) == bytes);
  }
  const llama::QuantizedModel q3 =
      llama::quantize_checkpoint(ckpt, llama::parse_policy("sym3-g32"), {}, ctx);
  CHECK_THROWS_AS(llama::gguf_with_fits(in, llama::parse_policy("sym3-g32"), q3), Error);
  CHECK_THROWS_AS(llama::gguf_with_fits(in, llama::parse_policy("sym4-g64"), q3), Error);
  CHECK_THROWS_AS(llama::gguf_with_fits(in, llama::parse_policy("sym4-g32-rot"), q3), Error);
}
