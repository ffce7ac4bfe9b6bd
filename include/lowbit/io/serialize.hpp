// SPDX-License-Identifier: Apache-2.0
// lowbit/io/serialize.hpp: save/load of PackedMatrix<Scheme, Granularity, Plain> (format.hpp).
//
// Only the canonical Plain layout is persisted; kernel layouts are rebuilt with repack after
// loading. deserialize<M> checks that the file holds exactly M's scheme, granularity and layout
// and names the difference when it does not.
#pragma once

#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/io/file.hpp"
#include "lowbit/io/format.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/plain.hpp"

namespace lowbit::io {

template <class M>
concept PersistableMatrix = requires {
  typename M::scheme_type;
  typename M::granularity_type;
}
&&SerializableScheme<typename M::scheme_type>&& std::is_same_v<typename M::layout_type, Plain>;

/// The file image of m (format.hpp) into `out`, resized to it: a caller writing many matrices
/// reuses one buffer (no fresh pages to fault in and zero for every matrix).
template <PersistableMatrix M>
void serialize_into(const M& m, std::vector<std::byte>& out) {
  using S = typename M::scheme_type;
  using G = typename M::granularity_type;
  using lowbit::detail::store_le;
  const std::string name = S::name();
  const std::string_view layout = Plain::name();
  const std::size_t header = kFixedHeaderBytes + name.size() + layout.size();
  const std::size_t params_bytes = m.params().size() * static_cast<std::size_t>(S::kParamBytes);
  std::size_t row_param_bytes = 0;
  if constexpr (M::kHasRowParams)
    row_param_bytes = m.row_params().size() * static_cast<std::size_t>(S::kRowParamBytes);
  const std::size_t total =
      header + params_bytes + row_param_bytes + m.codes().size() + kChecksumBytes;
  out.resize(total);
  std::byte* p = out.data();
  std::memset(p, 0, header);  // reserved and unused fields are zero (out may hold old bytes)
  std::memcpy(p, kMagic.data(), kMagic.size());
  store_le<std::uint32_t>(p + 8, kFormatVersion);
  store_le<std::uint32_t>(p + 12, static_cast<std::uint32_t>(header));
  const SchemeDescriptor d = S::descriptor();
  store_le<std::uint8_t>(p + 16, d.family);
  store_le<std::uint8_t>(p + 17, d.bits);
  store_le<std::uint8_t>(p + 18, d.variant);
  store_le<std::uint8_t>(p + 19, d.scale_storage);
  store_le<std::uint8_t>(p + 20, static_cast<std::uint8_t>(G::kKind));
  if constexpr (M::kHasRowParams)
    store_le<std::uint8_t>(p + 21, static_cast<std::uint8_t>(S::kRowParamBytes));
  store_le<std::uint32_t>(p + 24, static_cast<std::uint32_t>(G::kGroupSize));
  store_le<std::uint32_t>(p + 28, static_cast<std::uint32_t>(S::kParamBytes));
  store_le<std::uint64_t>(p + 32, static_cast<std::uint64_t>(m.rows()));
  store_le<std::uint64_t>(p + 40, static_cast<std::uint64_t>(m.cols()));
  store_le<std::uint64_t>(p + 48, static_cast<std::uint64_t>(m.params().size()));
  store_le<std::uint64_t>(p + 56, static_cast<std::uint64_t>(m.codes().size()));
  store_le<std::uint16_t>(p + 64, static_cast<std::uint16_t>(name.size()));
  store_le<std::uint16_t>(p + 66, static_cast<std::uint16_t>(layout.size()));
  std::memcpy(p + kFixedHeaderBytes, name.data(), name.size());
  std::memcpy(p + kFixedHeaderBytes + name.size(), layout.data(), layout.size());
  std::byte* q = p + header;
  for (const auto& prm : m.params()) {
    S::write_params(prm, q);
    q += S::kParamBytes;
  }
  if constexpr (M::kHasRowParams) {
    for (const auto& rp : m.row_params()) {
      S::write_row_params(rp, q);
      q += S::kRowParamBytes;
    }
  }
  if (!m.codes().empty()) std::memcpy(q, m.codes().data(), m.codes().size());
  store_le<std::uint32_t>(p + total - kChecksumBytes,
                          crc32(std::span<const std::byte>(p, total - kChecksumBytes)));
}

/// The file image of m (format.hpp).
template <PersistableMatrix M>
std::vector<std::byte> serialize(const M& m) {
  std::vector<std::byte> out;
  serialize_into(m, out);
  return out;
}

/// Rebuilds an M from a file image, validating everything (format.hpp); throws Error.
template <PersistableMatrix M>
M deserialize(std::span<const std::byte> file) {
  using S = typename M::scheme_type;
  using G = typename M::granularity_type;
  using lowbit::detail::fail;
  const FileInfo info = read_header(file);
  if (info.scheme_name != S::name())
    fail("io: file holds scheme '", info.scheme_name, "', expected '", S::name(), "'");
  // Same name, different descriptor bytes (offsets 16-19): a damaged or hand-edited header.
  const SchemeDescriptor want = S::descriptor();
  const std::pair<const char*, std::pair<int, int>> fields[] = {
      {"family (offset 16)", {info.scheme.family, want.family}},
      {"code bits (offset 17)", {info.scheme.bits, want.bits}},
      {"variant (offset 18)", {info.scheme.variant, want.variant}},
      {"scale storage (offset 19)", {info.scheme.scale_storage, want.scale_storage}}};
  for (const auto& [field, v] : fields)
    if (v.first != v.second)
      fail("io: header field scheme ", field, " is ", v.first, ", but '", S::name(),
           "' (the scheme name in the file) has ", v.second);
  if (info.granularity != G::kKind ||
      info.group_size != static_cast<std::uint32_t>(G::kGroupSize)) {
    fail("io: file granularity (kind ", int(info.granularity), ", group ", info.group_size,
         ") is not ", G::name());
  }
  if (info.layout_name != Plain::name())
    fail("io: file layout '", info.layout_name, "' is not 'plain'");
  if (info.param_bytes != static_cast<std::uint32_t>(S::kParamBytes)) {
    fail("io: parameter set size ", info.param_bytes, " is not ", S::kParamBytes, " for ",
         S::name());
  }
  std::uint32_t want_row_bytes = 0;
  if constexpr (M::kHasRowParams) want_row_bytes = static_cast<std::uint32_t>(S::kRowParamBytes);
  if (info.row_param_bytes != want_row_bytes)
    fail("io: row parameter set size ", info.row_param_bytes, " does not match ", S::name());
  M m(static_cast<Index>(info.rows), static_cast<Index>(info.cols));
  const std::byte* p = file.data() + info.params_offset;
  auto params = m.params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    params[i] = S::read_params(p + i * static_cast<std::size_t>(S::kParamBytes));
    if (const char* why = S::check_params(params[i])) fail("io: parameter set ", i, ": ", why);
  }
  if constexpr (M::kHasRowParams) {
    const std::byte* rp = file.data() + info.row_params_offset;
    auto rows_p = m.row_params();
    for (std::size_t i = 0; i < rows_p.size(); ++i) {
      rows_p[i] = S::read_row_params(rp + i * static_cast<std::size_t>(S::kRowParamBytes));
      if (const char* why = S::check_row_params(rows_p[i]))
        fail("io: row parameters of row ", i, ": ", why);
    }
  }
  if (!m.codes().empty())
    std::memcpy(m.codes().data(), file.data() + info.codes_offset, m.codes().size());
  // Every code inside the scheme's range, and the padding bits at the end of each row zero.
  const Index cols = m.cols();
  const Index row_bytes = Plain::row_bytes<S>(cols);
  const int pad_bits = static_cast<int>(row_bytes * 8 - cols * S::kCodeBits);
  for (Index r = 0; r < m.rows(); ++r) {
    const std::byte* row = m.codes().data() + r * row_bytes;
    if (pad_bits > 0) {
      const auto last = std::to_integer<unsigned>(row[row_bytes - 1]);
      if ((last >> (8 - pad_bits)) != 0)
        fail("io: row ", r, ": padding bits after the last code are not zero");
    }
    if constexpr (S::kMinCode > 0 || S::kMaxCode < (1u << S::kCodeBits) - 1u) {
      for (Index k = 0; k < cols; ++k) {
        const std::uint32_t c = Plain::get_bits(row, S::kCodeBits, k);
        if (c < S::kMinCode || c > S::kMaxCode)
          fail("io: code ", c, " at row ", r, ", column ", k, " is outside ", S::name());
      }
    }
  }
  return m;
}

/// Writes m to `path` (format.hpp). Throws Error if the file cannot be written.
template <PersistableMatrix M>
void save(const M& m, const std::string& path) {
  write_file(serialize(m), path);
}

/// Loads an M from `path`, validating everything; throws Error.
template <PersistableMatrix M>
M load(const std::string& path) {
  const std::vector<std::byte> bytes = read_file(path);
  return deserialize<M>(bytes);
}

}  // namespace lowbit::io
