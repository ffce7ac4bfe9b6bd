// SPDX-License-Identifier: Apache-2.0
// lowbit/quant/reference.hpp: ref::quantize / ref::dequantize, the executable specification.
//
// These scalar loops define what quantization means, independently of any byte layout: every
// parameter set is fitted by fit_group on its own weights (QuantizeOptions::fit), then
// every weight gets S::encode(x, params). Codes come back unpacked, one per weight, row-major.
// lowbit::quantize (pack/quantize.hpp) must produce the same codes and parameters bit for bit;
// tests hold it to that.
#pragma once

#include <vector>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/quant/options.hpp"
#include "lowbit/quant/range_fit.hpp"

namespace lowbit::ref {

/// Unpacked result of ref::quantize: one code per weight (row-major) and the parameter sets.
template <class Scheme, class Gran>
struct Quantized {
  Index rows = 0;
  Index cols = 0;
  std::vector<typename Scheme::Code> codes;
  std::vector<typename Scheme::Params> params;
};

/// Quantizes x (rows × cols) with scheme S at granularity G. Throws Error on NaN/Inf weights,
/// a bad importance view, bad options, or a range whose scale S cannot store.
template <RangeFitScheme S, Granularity G>
Quantized<S, G> quantize(MatrixView<const float> x, const QuantizeOptions& opt) {
  detail::check_quantize_input(x, opt);
  Quantized<S, G> q;
  q.rows = x.rows();
  q.cols = x.cols();
  q.codes.resize(
      static_cast<std::size_t>(detail::checked_mul(x.rows(), x.cols(), "ref::quantize")));
  q.params.resize(static_cast<std::size_t>(G::param_count(x.rows(), x.cols())));
  std::vector<float> xs, ws;
  std::vector<typename S::Code> scratch;
  detail::for_each_group<G>(x.rows(), x.cols(), [&](const detail::GroupExtent& g) {
    const auto xv = detail::gather(x, g, xs);
    const auto wv = detail::gather(opt.importance, g, ws);
    typename S::Params p;
    try {
      p = fit_group<S>(xv, wv, opt.fit, scratch);
    } catch (const Error& e) {
      detail::fail("quantize: group ", g.param, " (rows ", g.r0, "..", g.r1 - 1, ", columns ", g.k0,
                   "..", g.k1 - 1, "): ", e.what());
    }
    q.params[static_cast<std::size_t>(g.param)] = p;
    for (Index r = g.r0; r < g.r1; ++r) {
      for (Index k = g.k0; k < g.k1; ++k)
        q.codes[static_cast<std::size_t>(r * x.cols() + k)] = S::encode(x(r, k), p);
    }
  });
  return q;
}

/// Decodes every weight: out[r*cols + k] = S::decode(code, params of (r, k)).
template <ElementwiseScheme S, Granularity G>
std::vector<float> dequantize(const Quantized<S, G>& q) {
  std::vector<float> out(q.codes.size());
  for (Index r = 0; r < q.rows; ++r) {
    for (Index k = 0; k < q.cols; ++k) {
      const auto i = static_cast<std::size_t>(r * q.cols + k);
      out[i] =
          S::decode(q.codes[i], q.params[static_cast<std::size_t>(G::param_index(r, k, q.cols))]);
    }
  }
  return out;
}

}  // namespace lowbit::ref
