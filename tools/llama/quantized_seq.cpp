// SPDX-License-Identifier: Apache-2.0
// tools/llama/quantized_seq.cpp: the trellis and CCQ policies (policy.hpp): their
// encoders and Linear layers. The trellis (CodeMix7) and WINT2 weights are repacked to
// SeqTiles<16>, WINT2.5's to Wint25Words<16> (FastDeploy's words), and run the fused kernels
// (kernels/seq_tile.hpp).
// CCQ matrices whose inputs are not whole 64-groups are padded with zero columns here (the
// layer pads its inputs to match: PaddedLinear, model.hpp).
#include <memory>
#include <type_traits>

#include "lowbit/calib/ccq.hpp"
#include "lowbit/calib/trellis_ldlq.hpp"
#include "quantized_impl.hpp"

namespace lowbit::llama::detail {

namespace {

using TrellisS = ConvCode<16, 2, 1, CodeMix7>;
using TrellisS2 = ConvCode<16, 2, 2, CodeMx2>;
using TrellisTap7 = ConvCode<16, 2, 1, CodeTap7>;
using TrellisLut7 = ConvCode<8, 2, 1, CodeLut7>;

/// Encoder threads: the tools quantize one matrix at a time.
constexpr int kThreads = 2;

template <class S, int G>
QuantizedTensor quantize_trellis(MatrixView<const float> w, const Policy& p,
                                 const TensorCalibration* cal, std::uint64_t seed) {
  return quantize_with<S, G>(w, p, cal, seed,
                             [&](MatrixView<const float> wv, const Eigen::MatrixXd* h,
                                 std::span<const float>, std::vector<float>&) {
                               calib::TrellisOptions o;
                               o.threads = kThreads;
                               if (p.gptq)
                                 return calib::trellis_quantize_ldlq<S, PerGroup<G>>(wv, *h, o);
                               return calib::trellis_quantize<S, PerGroup<G>>(wv, o);
                             });
}

/// wv with zero columns appended up to a multiple of 64 (a copy only when needed).
MatrixView<const float> pad64(MatrixView<const float> wv, std::vector<float>& buf) {
  const Index cols = wv.cols(), pc = (cols + 63) / 64 * 64;
  if (pc == cols) return wv;
  buf.assign(static_cast<std::size_t>(wv.rows() * pc), 0.0f);
  for (Index r = 0; r < wv.rows(); ++r) std::copy_n(wv.row_ptr(r), cols, buf.data() + r * pc);
  return MatrixView<const float>(buf.data(), wv.rows(), pc);
}

template <class S, int G, class Encode>
QuantizedTensor quantize_ccq(MatrixView<const float> w, const Policy& p,
                             const TensorCalibration* cal, std::uint64_t seed, Encode&& encode) {
  return quantize_with<S, G>(w, p, cal, seed,
                             [&](MatrixView<const float> wv, const Eigen::MatrixXd*,
                                 std::span<const float>, std::vector<float>&) {
                               std::vector<float> buf;
                               calib::CcqOptions o;
                               o.threads = kThreads;
                               return encode(pad64(wv, buf), o);
                             });
}

template <class S, int G, class L = Plain>
std::unique_ptr<Linear> load_seq(const io::FileInfo& info, const QuantizedTensor& t, bool fa) {
  if (info.scheme_name != S::name() || info.group_size != static_cast<std::uint32_t>(G))
    return nullptr;
  using W = PackedMatrix<S, PerGroup<G>, Plain>;
  if constexpr (std::is_same_v<L, Plain>) {
    return std::make_unique<PackedLinear<W>>(io::deserialize<W>(t.image), fa);
  } else {
    return std::make_unique<PackedLinear<PackedMatrix<S, PerGroup<G>, L>>>(
        repack<L>(io::deserialize<W>(t.image), kThreads), fa);
  }
}

}  // namespace

QuantizedTensor quantize_tensor_seq(MatrixView<const float> w, const Policy& p,
                                    const TensorCalibration* cal, std::uint64_t seed) {
  switch (p.family) {
    case Family::kTrellis:
      if (p.v2)
        return p.group == 32 ? quantize_trellis<TrellisS2, 32>(w, p, cal, seed)
                             : quantize_trellis<TrellisS2, 64>(w, p, cal, seed);
      if (p.tap7)
        return p.group == 32 ? quantize_trellis<TrellisTap7, 32>(w, p, cal, seed)
                             : quantize_trellis<TrellisTap7, 64>(w, p, cal, seed);
      if (p.lut7)
        return p.group == 32 ? quantize_trellis<TrellisLut7, 32>(w, p, cal, seed)
                             : quantize_trellis<TrellisLut7, 64>(w, p, cal, seed);
      return p.group == 32 ? quantize_trellis<TrellisS, 32>(w, p, cal, seed)
                           : quantize_trellis<TrellisS, 64>(w, p, cal, seed);
    case Family::kWint2:
      return quantize_ccq<CcqWint2, 128>(w, p, cal, seed,
                                         [](MatrixView<const float> x, const calib::CcqOptions& o) {
                                           return calib::ccq_wint2_quantize(x, o);
                                         });
    default:
      return quantize_ccq<CcqWint25, 64>(w, p, cal, seed,
                                         [](MatrixView<const float> x, const calib::CcqOptions& o) {
                                           return calib::ccq_wint25_quantize(x, o);
                                         });
  }
}

std::unique_ptr<Linear> make_linear_seq(const io::FileInfo& info, const QuantizedTensor& t,
                                        bool fa) {
  std::unique_ptr<Linear> l = load_seq<TrellisS, 32, SeqTiles<16>>(info, t, fa);
  if (!l) l = load_seq<TrellisS, 64, SeqTiles<16>>(info, t, fa);
  if (!l) l = load_seq<TrellisS2, 32, SeqTiles<16>>(info, t, fa);
  if (!l) l = load_seq<TrellisS2, 64, SeqTiles<16>>(info, t, fa);
  if (!l) l = load_seq<TrellisTap7, 32, SeqTiles<16, 64>>(info, t, fa);
  if (!l) l = load_seq<TrellisTap7, 64, SeqTiles<16, 64>>(info, t, fa);
  if (!l) l = load_seq<TrellisLut7, 32, SeqTiles<16, 64>>(info, t, fa);
  if (!l) l = load_seq<TrellisLut7, 64, SeqTiles<16, 64>>(info, t, fa);
  if (!l) l = load_seq<CcqWint2, 128, SeqTiles<16>>(info, t, fa);
  if (!l) l = load_seq<CcqWint25, 64, Wint25Words<16>>(info, t, fa);
  return l;
}

}  // namespace lowbit::llama::detail
