// SPDX-License-Identifier: Apache-2.0
// lowbit/io/hf_gguf.hpp: the vocabulary of a Hugging Face model directory as llama.cpp's GGUF
// tokenizer keys, for writing the model as a GGUF file llama.cpp loads (the weights are laid out
// by io::llama_gguf_head; the tools stream them).
//
// What is converted, as convert_hf_to_gguf.py converts it for Llama models:
// - tokenizer.json with a byte-level BPE model (Llama 3's; "byte_fallback" false): the
//   vocabulary by id (tokenizer.ggml.tokens), the merges ("a b"; either of the file's two
//   spellings, a string or a pair), token types (added tokens: 3 control if "special", else 4
//   user-defined; the rest 1 normal), tokenizer.ggml.model "gpt2", and tokenizer.ggml.pre
//   "llama-bpe" when the pre-tokenizer is Llama 3's split pattern, else "default";
//   bos/eos token ids from config.json when it names them.
// - no tokenizer.json at all (a generated model, tools/lowbit_synth): a synthetic vocabulary
//   (io::synthetic_tokenizer), so llama.cpp runs token ids; the caller says so.
// Anything else (a SentencePiece model with byte fallback, a Unigram model, ids past the
// model's vocabulary, duplicate ids) throws Error naming the file, rather than writing a GGUF
// whose text would silently be wrong.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/io/gguf_llama.hpp"
#include "lowbit/io/hf.hpp"

namespace lowbit::io {

/// The GGUF tokenizer keys of m (see the header); `synthetic` tells whether the vocabulary was
/// made up (no tokenizer.json).
inline std::vector<std::pair<std::string, GgufValue>> hf_tokenizer_kv(const HfModel& m,
                                                                      int vocab_size,
                                                                      bool& synthetic) {
  using lowbit::detail::fail;
  const std::string path = m.dir + "/tokenizer.json";
  synthetic = !std::filesystem::exists(path);
  if (synthetic) return synthetic_tokenizer(vocab_size);
  const JsonValue tj = read_json_file(path);
  const JsonValue* model = tj.find("model");
  const JsonValue* type = model ? model->find("type") : nullptr;
  if (type == nullptr || type->kind != JsonValue::Kind::kString || type->string != "BPE")
    fail("hf: '", path, "': model.type is not \"BPE\" (only byte-level BPE vocabularies convert)");
  if (const JsonValue* bf = model->find("byte_fallback");
      bf != nullptr && bf->kind == JsonValue::Kind::kBool && bf->boolean)
    fail("hf: '", path,
         "': a BPE model with byte_fallback (SentencePiece-style) does not convert here");
  const JsonValue* vocab = model->find("vocab");
  const JsonValue* merges = model->find("merges");
  if (vocab == nullptr || vocab->kind != JsonValue::Kind::kObject || merges == nullptr ||
      merges->kind != JsonValue::Kind::kArray)
    fail("hf: '", path, "': model.vocab (object) or model.merges (array) is missing");
  std::vector<std::string> tokens(static_cast<std::size_t>(vocab_size));
  std::vector<int> types(static_cast<std::size_t>(vocab_size), 0);
  auto put = [&](const std::string& text, const JsonValue& id, int t) {
    if (id.kind != JsonValue::Kind::kNumber || id.number < 0 || id.number >= vocab_size ||
        id.number != static_cast<double>(static_cast<int>(id.number)))
      fail("hf: '", path, "': token '", text, "' has id ", id.number, ", not in 0..",
           vocab_size - 1);
    const auto i = static_cast<std::size_t>(id.number);
    if (types[i] != 0 && !(t != 1 && tokens[i] == text))
      fail("hf: '", path, "': id ", i, " names two tokens");
    tokens[i] = text;
    types[i] = t;
  };
  for (const JsonMember& v : vocab->members) put(v.key, v.value, 1);
  if (const JsonValue* added = tj.find("added_tokens");
      added != nullptr && added->kind == JsonValue::Kind::kArray)
    for (const JsonValue& a : added->items) {
      const JsonValue* id = a.find("id");
      const JsonValue* content = a.find("content");
      const JsonValue* special = a.find("special");
      if (id == nullptr || content == nullptr || content->kind != JsonValue::Kind::kString)
        fail("hf: '", path, "': an added token without id or content");
      const bool sp =
          special != nullptr && special->kind == JsonValue::Kind::kBool && special->boolean;
      put(content->string, *id, sp ? 3 : 4);
    }
  // Ids the files leave unnamed are padding, as the converter writes them.
  for (std::size_t i = 0; i < tokens.size(); ++i)
    if (types[i] == 0) {
      tokens[i] = "[PAD" + std::to_string(i) + "]";
      types[i] = 4;
    }
  GgufValue gt, gm, gty;
  gt.type = gm.type = gty.type = GgufType::Array;
  gt.elem_type = gm.elem_type = GgufType::String;
  gty.elem_type = GgufType::I32;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    gt.items.push_back(detail::gguf_str(std::move(tokens[i])));
    GgufValue ty;
    ty.type = GgufType::I32;
    ty.bits = static_cast<std::uint64_t>(types[i]);
    gty.items.push_back(ty);
  }
  for (const JsonValue& mv : merges->items) {
    if (mv.kind == JsonValue::Kind::kString) {
      gm.items.push_back(detail::gguf_str(mv.string));
    } else if (mv.kind == JsonValue::Kind::kArray && mv.items.size() == 2 &&
               mv.items[0].kind == JsonValue::Kind::kString &&
               mv.items[1].kind == JsonValue::Kind::kString) {
      gm.items.push_back(detail::gguf_str(mv.items[0].string + " " + mv.items[1].string));
    } else {
      fail("hf: '", path, "': a merge is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  // Llama 3's pre-tokenizer: a Split on its regex (the converter identifies it by hashing the
  // tokenization of a test text; the pattern is the same evidence).
  std::string pre = "default";
  const auto text_of = [](const JsonValue& v) {
    std::string out;
    std::vector<const JsonValue*> stack{&v};
    while (!stack.empty()) {
      const JsonValue* x = stack.back();
      stack.pop_back();
      if (x->kind == JsonValue::Kind::kString) out += x->string;
      for (const auto& it : x->items) stack.push_back(&it);
      for (const auto& mb : x->members) stack.push_back(&mb.value);
    }
    return out;
  };
  if (const JsonValue* pt = tj.find("pre_tokenizer"); pt != nullptr) {
    const std::string s = text_of(*pt);
    if (s.find("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}") !=
        std::string::npos)
      pre = "llama-bpe";
  }
  std::vector<std::pair<std::string, GgufValue>> kv = {
      {"tokenizer.ggml.model", detail::gguf_str("gpt2")},
      {"tokenizer.ggml.pre", detail::gguf_str(pre)},
      {"tokenizer.ggml.tokens", std::move(gt)},
      {"tokenizer.ggml.token_type", std::move(gty)},
      {"tokenizer.ggml.merges", std::move(gm)}};
  for (const auto& [key, gkey] :
       {std::pair<const char*, const char*>{"bos_token_id", "tokenizer.ggml.bos_token_id"},
        {"eos_token_id", "tokenizer.ggml.eos_token_id"}}) {
    const JsonValue* v = m.config.find(key);
    if (v != nullptr && v->kind == JsonValue::Kind::kNumber && v->number >= 0 &&
        v->number < vocab_size)
      kv.emplace_back(gkey, detail::gguf_u32(static_cast<std::uint32_t>(v->number)));
  }
  return kv;
}

}  // namespace lowbit::io
