// SPDX-License-Identifier: Apache-2.0
// fuzz/fuzz_targets.cpp: libFuzzer targets for every lowbit parser (clang, -fsanitize=fuzzer
// with ASan + UBSan; fuzz/README.md). One source, one target per LOWBIT_FUZZ_TARGET value:
//   1 format      io::deserialize of a lowbit matrix file (the CRC is recomputed first, so the
//                 fuzzer reaches the fields behind it)
//   2 archive     io::Archive::parse (CRC recomputed likewise)
//   3 gguf        io::read_gguf, then every tensor decoded to floats
//   4 safetensors io::read_safetensors
//   5 llama2c     io::read_llama2c
//   6 tokenizer   io::Tokenizer::read (the first byte picks the vocabulary size) and, on
//                 success, encode/decode of the rest
//   7 json        io::parse_json (Hugging Face's config.json and index), then, on success,
//                 io::llama_config of it
// A parser may throw lowbit::Error; anything else (a crash, a sanitizer report, another
// exception, a hang) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "lowbit/io/archive.hpp"
#include "lowbit/io/format.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/io/llama2c.hpp"
#include "lowbit/io/safetensors.hpp"
#include "lowbit/io/serialize.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/pack/plain.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/quant/symmetric.hpp"

namespace {

/// A copy of the input with its trailing CRC-32 recomputed over the rest.
[[maybe_unused]] std::vector<std::byte> with_crc(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> b(size);
  if (size > 0) std::memcpy(b.data(), data, size);
  if (size >= 4) {
    const std::uint32_t crc = lowbit::io::crc32(std::span<const std::byte>(b.data(), size - 4));
    lowbit::detail::store_le<std::uint32_t>(b.data() + size - 4, crc);
  }
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lowbit;
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  try {
#if LOWBIT_FUZZ_TARGET == 1
    using M = PackedMatrix<Symmetric<4, SymmetricConvention::kSignedMax, f16>, PerGroup<32>, Plain>;
    const std::vector<std::byte> b = with_crc(data, size);
    const M m = io::deserialize<M>(b);
    volatile std::uint32_t sink = m.rows() > 0 && m.cols() > 0 ? m.code(0, 0) : 0u;
    (void)sink;
#elif LOWBIT_FUZZ_TARGET == 2
    const std::vector<std::byte> b = with_crc(data, size);
    const io::Archive a = io::Archive::parse(b);
    (void)a;
#elif LOWBIT_FUZZ_TARGET == 3
    const io::GgufFile f = io::read_gguf(in);
    for (const auto& t : f.tensors) {
      if (t.numel() > (Index{1} << 20)) continue;  // decoding is linear; keep runs fast
      try {
        const std::vector<float> v = io::tensor_floats(f, t);
        (void)v;
      } catch (const Error&) {  // a type without a codec
      }
    }
#elif LOWBIT_FUZZ_TARGET == 4
    const auto t = io::read_safetensors(in);
    (void)t;
#elif LOWBIT_FUZZ_TARGET == 5
    const io::Llama2cModel m = io::read_llama2c(in);
    (void)m;
#elif LOWBIT_FUZZ_TARGET == 6
    if (size < 1) return 0;
    const int vocab = 1 + data[0] % 64;
    const auto t = io::Tokenizer::read(in.subspan(1), vocab);
    const std::string text(reinterpret_cast<const char*>(data), size < 64 ? size : 64);
    const auto ids = t.encode(text);
    for (int id : ids) (void)t.decode(id > 0 ? id - 1 : 1, id);
#elif LOWBIT_FUZZ_TARGET == 7
    io::HfModel m;
    m.config = io::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    const io::Llama2cConfig c = io::llama_config(m);
    (void)c;
#else
#error "LOWBIT_FUZZ_TARGET must be 1..7"
#endif
  } catch (const Error&) {
  }
  return 0;
}
