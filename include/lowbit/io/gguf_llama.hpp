// SPDX-License-Identifier: Apache-2.0
// lowbit/io/gguf_llama.hpp: llama-architecture GGUF files as llama2.c-shaped models, and
// llama.cpp's own quantization of a GGUF file (llama-quantize's rules and order), so lowbit can
// evaluate people's GGUF files and write ones llama.cpp reads.
//
// llama_from_gguf: the tensors by llama.cpp's names (token_embd, output, output_norm,
// blk.N.{attn_q,attn_k,attn_v,attn_output,attn_norm,ffn_gate,ffn_down,ffn_up,ffn_norm}), each
// decoded to fp32 (io::tensor_floats), ne0 being the row length as in llama2.c's [out][in]
// matrices (no transpose; llama.cpp's converter stores llama2.c weights unpermuted). `output`
// becomes an unshared classifier. RoPE's base comes from llama.rope.freq_base (default 10000);
// seq_len is max(context_length, min_seq_len) (the converter writes a context length of 128 for
// models trained longer), and the RoPE tables cover only the positions asked for, so metadata
// cannot make the reader allocate (a context_length of 2^24 would be 2 GB of tables).
//
// quantize_like_llama_cpp: what llama-quantize without an importance matrix makes of an F32
// file for a base type: 1-D tensors stay F32; output.weight is Q8_0 when its rows are not a
// multiple of 256; a tensor whose rows are not whole blocks of the type falls back to F16;
// everything else is quantized as ggml_quantize_chunk does (formats/ggml/blocks.hpp:
// quantize_chunk); the key/values are copied with general.quantization_version = 2 and
// general.file_type appended; tensors are written in llama.cpp's loader order (non-block tensors by
// name, then blocks by number, each by name). On stories260K this reproduces llama.cpp's own Q8_0
// and Q4_0 files byte for byte (tests/io/test_gguf.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/io/gguf.hpp"
#include "lowbit/io/llama2c.hpp"

namespace lowbit::io {

namespace detail {

inline std::int64_t gguf_int(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (!v) lowbit::detail::fail("GGUF: llama model without key '", key, "'");
  switch (v->type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::U16:
    case GgufType::I16:
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::U64:
    case GgufType::I64:
      return v->as_int();
    default:
      lowbit::detail::fail("GGUF: key '", key, "' is not an integer");
  }
}

inline std::vector<float> gguf_matrix(const GgufFile& f, const std::string& name, Index rows,
                                      Index cols) {
  const GgufTensor* t = f.tensor(name);
  if (!t) lowbit::detail::fail("GGUF: llama model without tensor '", name, "'");
  const bool ok = cols == 1 ? t->ne.size() == 1 && static_cast<Index>(t->ne[0]) == rows
                            : t->ne.size() == 2 && static_cast<Index>(t->ne[0]) == cols &&
                                  static_cast<Index>(t->ne[1]) == rows;
  if (!ok) lowbit::detail::fail("GGUF: tensor '", name, "' does not have the expected shape");
  return tensor_floats(f, *t);
}

}  // namespace detail

/// RoPE table rows llama_from_gguf computes when the caller asks for fewer positions.
inline constexpr int kRopeTablePositions = 4096;

/// The Llama configuration in f's metadata, checked, without decoding any tensor: dimensions,
/// head counts, the vocabulary (token_embd.weight's rows, at most Llama2cModel::kMaxDim), a
/// shared classifier when f has no output.weight, RoPE's base (llama.rope.freq_base, default
/// 10000); seq_len is llama.context_length.
inline Llama2cConfig llama_gguf_config(const GgufFile& f) {
  using lowbit::detail::fail;
  const GgufValue* arch = f.find("general.architecture");
  if (!arch || arch->type != GgufType::String || arch->str != "llama")
    fail("GGUF: not a llama-architecture model");
  auto dim_of = [&](const char* key) {
    const std::int64_t v = detail::gguf_int(f, key);
    if (v < 1 || v > Llama2cModel::kMaxDim) fail("GGUF: ", key, " = ", v, " is out of range");
    return static_cast<int>(v);
  };
  Llama2cConfig c;
  c.dim = dim_of("llama.embedding_length");
  c.hidden_dim = dim_of("llama.feed_forward_length");
  c.n_layers = dim_of("llama.block_count");
  c.n_heads = dim_of("llama.attention.head_count");
  c.n_kv_heads =
      f.find("llama.attention.head_count_kv") ? dim_of("llama.attention.head_count_kv") : c.n_heads;
  c.seq_len = dim_of("llama.context_length");
  if (c.dim % c.n_heads != 0 || c.head_size() % 2 != 0 || c.n_heads % c.n_kv_heads != 0)
    fail("GGUF: head counts do not divide the embedding length");
  const GgufTensor* emb = f.tensor("token_embd.weight");
  if (!emb || emb->ne.size() != 2) fail("GGUF: llama model without a 2-D token_embd.weight");
  c.vocab_size = static_cast<int>(std::min<std::uint64_t>(emb->ne[1], Llama2cModel::kMaxDim));
  c.shared_classifier = f.tensor("output.weight") == nullptr;
  const GgufValue* base = f.find("llama.rope.freq_base");
  c.rope_theta = base && base->type == GgufType::F32 ? base->as_double() : 10000.0;
  if (!std::isfinite(c.rope_theta) || c.rope_theta <= 1.0)
    fail("GGUF: llama.rope.freq_base = ", c.rope_theta, " is not a finite base above 1");
  return c;
}

/// The llama-architecture model in f, decoded to fp32 (see the header). seq_len is
/// max(context_length, min_seq_len); the RoPE tables (freq_cos/freq_sin) cover
/// min(seq_len, max(min_seq_len, kRopeTablePositions)) positions.
inline Llama2cModel llama_from_gguf(const GgufFile& f, int min_seq_len = 0) {
  Llama2cModel m;
  Llama2cConfig& c = m.config;
  c = llama_gguf_config(f);
  c.seq_len = std::max(c.seq_len, min_seq_len);
  const Index D = c.dim, H = c.hidden_dim, KV = c.kv_dim(), V = c.vocab_size;
  m.tok_embeddings = detail::gguf_matrix(f, "token_embd.weight", V, D);
  auto append = [](std::vector<float>& dst, const std::vector<float>& src) {
    dst.insert(dst.end(), src.begin(), src.end());
  };
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    append(m.rms_att, detail::gguf_matrix(f, b + "attn_norm.weight", D, 1));
    append(m.wq, detail::gguf_matrix(f, b + "attn_q.weight", D, D));
    append(m.wk, detail::gguf_matrix(f, b + "attn_k.weight", KV, D));
    append(m.wv, detail::gguf_matrix(f, b + "attn_v.weight", KV, D));
    append(m.wo, detail::gguf_matrix(f, b + "attn_output.weight", D, D));
    append(m.rms_ffn, detail::gguf_matrix(f, b + "ffn_norm.weight", D, 1));
    append(m.w1, detail::gguf_matrix(f, b + "ffn_gate.weight", H, D));
    append(m.w2, detail::gguf_matrix(f, b + "ffn_down.weight", D, H));
    append(m.w3, detail::gguf_matrix(f, b + "ffn_up.weight", H, D));
  }
  m.rms_final = detail::gguf_matrix(f, "output_norm.weight", D, 1);
  if (!c.shared_classifier) m.wcls = detail::gguf_matrix(f, "output.weight", V, D);
  const double theta = c.rope_theta;
  // The tables are llama2.c's fields, computed, not read: only for the positions a caller
  // needs (min_seq_len) or the first kRopeTablePositions, so a context_length of 2^24 in
  // the metadata costs no memory.
  const int half = c.head_size() / 2;
  const int positions = std::min(c.seq_len, std::max(min_seq_len, kRopeTablePositions));
  for (int pos = 0; pos < positions; ++pos)
    for (int i = 0; i < half; ++i) {
      const double a = pos / std::pow(theta, 2.0 * i / c.head_size());
      m.freq_cos.push_back(static_cast<float>(std::cos(a)));
      m.freq_sin.push_back(static_cast<float>(std::sin(a)));
    }
  return m;
}

/// llama-quantize's result for an F32 (or F16) GGUF and a base block type (see the header).
inline GgufFile quantize_like_llama_cpp(const GgufFile& in, ggml::Type base) {
  using lowbit::detail::fail;
  const auto binfo = ggml::type_info(static_cast<std::uint32_t>(base));
  if (!binfo || binfo->block == 1) fail("quantize_like_llama_cpp: base type is not a block type");
  std::uint32_t file_type = 0;
  switch (base) {
    case ggml::Type::Q4_0:
      file_type = 2;
      break;
    case ggml::Type::Q4_1:
      file_type = 3;
      break;
    case ggml::Type::Q8_0:
      file_type = 7;
      break;
    case ggml::Type::Q5_0:
      file_type = 8;
      break;
    case ggml::Type::Q5_1:
      file_type = 9;
      break;
    default:
      fail("quantize_like_llama_cpp: base type ", binfo->name, " is not supported here");
  }
  GgufFile out;
  out.version = in.version;
  out.alignment = in.alignment;
  for (const auto& kv : in.kv)
    if (kv.first != "general.quantization_version" && kv.first != "general.file_type")
      out.kv.push_back(kv);
  GgufValue qv;
  qv.type = GgufType::U32;
  qv.bits = 2;
  out.kv.emplace_back("general.quantization_version", qv);
  GgufValue ft;
  ft.type = GgufType::U32;
  ft.bits = file_type;
  out.kv.emplace_back("general.file_type", ft);
  // llama.cpp's loader order.
  std::vector<const GgufTensor*> order;
  for (const auto& t : in.tensors) order.push_back(&t);
  auto key = [](const std::string& n) {
    if (n.rfind("blk.", 0) != 0) return std::make_pair(-1L, n);
    const std::size_t dot = n.find('.', 4);
    return std::make_pair(std::stol(n.substr(4, dot - 4)), n);
  };
  std::stable_sort(order.begin(), order.end(), [&](const GgufTensor* a, const GgufTensor* b) {
    return key(a->name) < key(b->name);
  });
  for (const GgufTensor* t : order) {
    GgufTensor o = *t;
    const std::vector<float> x = tensor_floats(in, *t);
    ggml::Type type = base;
    if (t->ne.size() == 1) {
      type = ggml::Type::F32;
    } else if (t->name == "output.weight" && t->ne[0] % 256 != 0) {
      type = ggml::Type::Q8_0;
    }
    if (type != ggml::Type::F32 &&
        t->ne[0] % static_cast<std::uint64_t>(
                       ggml::type_info(static_cast<std::uint32_t>(type))->block) !=
            0)
      type = ggml::Type::F16;
    o.type = static_cast<std::uint32_t>(type);
    const auto info = *ggml::type_info(o.type);
    o.bytes = static_cast<std::uint64_t>(t->numel() / info.block * info.bytes);
    o.offset = out.data.size();
    std::vector<std::byte> bytes(static_cast<std::size_t>(o.bytes));
    if (type == ggml::Type::F32) {
      std::memcpy(bytes.data(), x.data(), bytes.size());
    } else if (type == ggml::Type::F16) {
      for (std::size_t i = 0; i < x.size(); ++i) {
        const std::uint16_t h = f16(x[i]).bits;
        std::memcpy(bytes.data() + 2 * i, &h, 2);
      }
    } else {
      ggml::quantize_chunk(type, x.data(), t->numel(), bytes.data());
    }
    out.data.insert(out.data.end(), bytes.begin(), bytes.end());
    out.data.resize((out.data.size() + out.alignment - 1) / out.alignment * out.alignment,
                    std::byte{0});
    out.tensors.push_back(std::move(o));
  }
  return out;
}

// # Writing a Llama model as llama.cpp lays it out (llama_gguf_head)
// For models that arrive in Hugging Face's layout (or are generated) and leave as a GGUF file that
// llama.cpp loads, without a Python converter: the key/values llama.cpp's loader reads for the
// llama architecture, the tensor table in convert_hf_to_gguf.py's names and order, and one type
// per tensor by the rules of llama-quantize --pure for a base type: every layer matrix in the
// base type, 1-D tensors F32, the classifier (output.weight, or token_embd.weight when the
// embedding is tied) Q6_K (Q8_0 for a Q8_0 or F16 base: F16), an untied token_embd.weight in
// the base type, except Q4_K for the ternary bases (as llama-quantize does); a tensor whose
// rows are not whole blocks of its type falls back to F16. Hugging Face stores attn_q/attn_k
// rows for RoPE on split halves, llama.cpp on interleaved pairs: hf_row_of_gguf_row gives the
// permutation convert_hf_to_gguf.py applies.

/// llama.cpp's tensor name of a Hugging Face Llama tensor ("" if it has none).
inline std::string gguf_name_of_hf(const std::string& hf) {
  static constexpr std::pair<const char*, const char*> kLayer[] = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"}};
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  const std::string pre = "model.layers.";
  if (hf.rfind(pre, 0) != 0) return "";
  const std::size_t dot = hf.find('.', pre.size());
  if (dot == std::string::npos || dot == pre.size()) return "";
  const std::string layer = hf.substr(pre.size(), dot - pre.size());
  if (layer.find_first_not_of("0123456789") != std::string::npos) return "";
  for (const auto& [from, to] : kLayer)
    if (hf.compare(dot + 1, std::string::npos, from) == 0) return "blk." + layer + "." + to;
  return "";
}

/// The row of a Hugging Face q_proj/k_proj matrix that becomes row g of llama.cpp's attn_q /
/// attn_k (heads of head_dim rows; pair (2i, 2i+1) of a head comes from rows i and i + head/2).
inline Index hf_row_of_gguf_row(Index g, Index head_dim) {
  const Index h = g / head_dim, r = g % head_dim, half = head_dim / 2;
  return h * head_dim + (r % 2) * half + r / 2;
}

/// The type llama-quantize --pure gives tensor `name` (ne0 values a row, `dims` dimensions) for
/// a base type (see above).
inline ggml::Type llama_cpp_type(const std::string& name, std::uint64_t ne0, std::size_t dims,
                                 ggml::Type base, bool tied) {
  if (dims == 1) return ggml::Type::F32;
  ggml::Type t = base;
  const bool ternary = base == ggml::Type::TQ1_0 || base == ggml::Type::TQ2_0;
  if (name == "output.weight" || (tied && name == "token_embd.weight")) {
    t = base == ggml::Type::F16    ? ggml::Type::F16
        : base == ggml::Type::Q8_0 ? ggml::Type::Q8_0
                                   : ggml::Type::Q6_K;
    if (t == ggml::Type::Q6_K && ne0 % 256 != 0) t = ggml::Type::Q8_0;
  } else if (name == "token_embd.weight" && ternary) {
    t = ggml::Type::Q4_K;
  }
  const auto info = ggml::type_info(static_cast<std::uint32_t>(t));
  if (!info || ne0 % static_cast<std::uint64_t>(info->block) != 0) t = ggml::Type::F16;
  return t;
}

/// llama.cpp's general.file_type of a base type (the LLAMA_FTYPE_MOSTLY_* number).
inline std::uint32_t llama_cpp_file_type(ggml::Type base) {
  switch (base) {
    case ggml::Type::F32:
      return 0;
    case ggml::Type::F16:
      return 1;
    case ggml::Type::Q4_0:
      return 2;
    case ggml::Type::Q4_1:
      return 3;
    case ggml::Type::Q8_0:
      return 7;
    case ggml::Type::Q5_0:
      return 8;
    case ggml::Type::Q5_1:
      return 9;
    case ggml::Type::Q2_K:
      return 10;
    case ggml::Type::Q3_K:
      return 12;  // Q3_K_M
    case ggml::Type::Q4_K:
      return 14;  // Q4_K_S
    case ggml::Type::Q5_K:
      return 16;  // Q5_K_S
    case ggml::Type::Q6_K:
      return 18;
    case ggml::Type::IQ4_NL:
      return 25;
    case ggml::Type::BF16:
      return 32;
    case ggml::Type::TQ1_0:
      return 36;
    case ggml::Type::TQ2_0:
      return 37;
    case ggml::Type::MXFP4:
      return 38;
  }
  lowbit::detail::fail("GGUF: no llama.cpp file type for ggml type ",
                       static_cast<std::uint32_t>(base));
}

namespace detail {
inline GgufValue gguf_u32(std::uint32_t v) {
  GgufValue g;
  g.type = GgufType::U32;
  g.bits = v;
  return g;
}
inline GgufValue gguf_f32(float v) {
  GgufValue g;
  g.type = GgufType::F32;
  std::uint32_t b;
  std::memcpy(&b, &v, 4);
  g.bits = b;
  return g;
}
inline GgufValue gguf_str(std::string s) {
  GgufValue g;
  g.type = GgufType::String;
  g.str = std::move(s);
  return g;
}
}  // namespace detail

/// A vocabulary for a model without one (generated weights): llama.cpp's SentencePiece
/// ("llama") tokenizer keys with <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF>, then
/// "▁t<i>" for every other id, score -i. Enough for llama.cpp to load the model and run token
/// ids; its text is meaningless.
inline std::vector<std::pair<std::string, GgufValue>> synthetic_tokenizer(int vocab) {
  if (vocab < 259 || vocab > Llama2cModel::kMaxDim)
    lowbit::detail::fail("GGUF: a synthetic vocabulary needs 259..", Llama2cModel::kMaxDim,
                         " tokens, not ", vocab);
  GgufValue tokens, scores, types;
  tokens.type = scores.type = types.type = GgufType::Array;
  tokens.elem_type = GgufType::String;
  scores.elem_type = GgufType::F32;
  types.elem_type = GgufType::I32;
  for (int i = 0; i < vocab; ++i) {
    std::string t;
    int type = 1;  // normal
    if (i == 0) {
      t = "<unk>", type = 2;
    } else if (i <= 2) {
      t = i == 1 ? "<s>" : "</s>", type = 3;  // control
    } else if (i < 259) {
      char b[8];
      std::snprintf(b, sizeof(b), "<0x%02X>", i - 3);
      t = b, type = 6;  // byte
    } else {
      t = "\xE2\x96\x81t" + std::to_string(i);
    }
    tokens.items.push_back(detail::gguf_str(std::move(t)));
    scores.items.push_back(detail::gguf_f32(static_cast<float>(-i)));
    GgufValue ty;
    ty.type = GgufType::I32;
    ty.bits = static_cast<std::uint64_t>(type);
    types.items.push_back(ty);
  }
  return {{"tokenizer.ggml.model", detail::gguf_str("llama")},
          {"tokenizer.ggml.tokens", tokens},
          {"tokenizer.ggml.scores", scores},
          {"tokenizer.ggml.token_type", types},
          {"tokenizer.ggml.unknown_token_id", detail::gguf_u32(0)},
          {"tokenizer.ggml.bos_token_id", detail::gguf_u32(1)},
          {"tokenizer.ggml.eos_token_id", detail::gguf_u32(2)}};
}

/// The key/values and tensor table (names, shapes, types; no data) of a Llama model of config
/// c as llama.cpp lays it out (see above), with the tokenizer's keys appended; the tensors in
/// convert_hf_to_gguf.py's order. Feed it to GgufStreamWriter.
inline GgufFile llama_gguf_head(const Llama2cConfig& c, ggml::Type base, const std::string& name,
                                const std::vector<std::pair<std::string, GgufValue>>& tokenizer) {
  if (c.dim < 1 || c.n_heads < 1 || c.n_kv_heads < 1 || c.n_layers < 1 || c.hidden_dim < 1 ||
      c.vocab_size < 1 || c.dim % c.n_heads != 0 || c.n_heads % c.n_kv_heads != 0 ||
      c.head_size() % 2 != 0)
    lowbit::detail::fail("GGUF: the Llama configuration is not consistent (dim ", c.dim, ", heads ",
                         c.n_heads, "/", c.n_kv_heads, ")");
  GgufFile f;
  auto kv = [&](const char* k, GgufValue v) { f.kv.emplace_back(k, std::move(v)); };
  kv("general.architecture", detail::gguf_str("llama"));
  kv("general.name", detail::gguf_str(name));
  kv("llama.vocab_size", detail::gguf_u32(static_cast<std::uint32_t>(c.vocab_size)));
  kv("llama.context_length", detail::gguf_u32(static_cast<std::uint32_t>(c.seq_len)));
  kv("llama.embedding_length", detail::gguf_u32(static_cast<std::uint32_t>(c.dim)));
  kv("llama.block_count", detail::gguf_u32(static_cast<std::uint32_t>(c.n_layers)));
  kv("llama.feed_forward_length", detail::gguf_u32(static_cast<std::uint32_t>(c.hidden_dim)));
  kv("llama.rope.dimension_count", detail::gguf_u32(static_cast<std::uint32_t>(c.head_size())));
  kv("llama.attention.head_count", detail::gguf_u32(static_cast<std::uint32_t>(c.n_heads)));
  kv("llama.attention.head_count_kv", detail::gguf_u32(static_cast<std::uint32_t>(c.n_kv_heads)));
  kv("llama.rope.freq_base", detail::gguf_f32(static_cast<float>(c.rope_theta)));
  kv("llama.attention.layer_norm_rms_epsilon", detail::gguf_f32(1e-5f));
  kv("general.file_type", detail::gguf_u32(llama_cpp_file_type(base)));
  kv("general.quantization_version", detail::gguf_u32(2));
  for (const auto& [k, v] : tokenizer) f.kv.emplace_back(k, v);
  const bool tied = c.shared_classifier;
  auto add = [&](const std::string& n, std::vector<std::uint64_t> ne) {
    GgufTensor t;
    t.name = n;
    t.type = static_cast<std::uint32_t>(llama_cpp_type(n, ne[0], ne.size(), base, tied));
    t.ne = std::move(ne);
    f.tensors.push_back(std::move(t));
  };
  const auto D = static_cast<std::uint64_t>(c.dim), F = static_cast<std::uint64_t>(c.hidden_dim),
             KV = static_cast<std::uint64_t>(c.kv_dim()),
             V = static_cast<std::uint64_t>(c.vocab_size);
  add("token_embd.weight", {D, V});
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    add(b + "attn_norm.weight", {D});
    add(b + "attn_q.weight", {D, D});
    add(b + "attn_k.weight", {D, KV});
    add(b + "attn_v.weight", {D, KV});
    add(b + "attn_output.weight", {D, D});
    add(b + "ffn_norm.weight", {D});
    add(b + "ffn_gate.weight", {D, F});
    add(b + "ffn_up.weight", {D, F});
    add(b + "ffn_down.weight", {F, D});
  }
  add("output_norm.weight", {D});
  if (!tied) add("output.weight", {D, V});
  return f;
}

}  // namespace lowbit::io
