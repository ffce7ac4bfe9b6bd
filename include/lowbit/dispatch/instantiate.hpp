// SPDX-License-Identifier: Apache-2.0
// lowbit/dispatch/instantiate.hpp: the definitions behind dispatch/entry.hpp, for a per-ISA TU
// (see the recipe there). Include only from files built by lowbit_add_dispatch_library.
#pragma once

#include "lowbit/dispatch/entry.hpp"
#include "lowbit/gemm/gemm.hpp"

namespace lowbit::dispatch {

template <class Isa, class W>
void gemm_entry(const W& w, MatrixView<const float> x, MatrixView<float> y, Context& ctx) {
  lowbit::gemm<Isa>(w, x, y, ctx);
}
template <class Isa, class W>
void gemm_int8_entry(const W& w, const Int8Activations& x, MatrixView<float> y, Context& ctx) {
  lowbit::gemm_int8<Isa>(w, x, y, ctx);
}

}  // namespace lowbit::dispatch

/// Explicitly instantiates both entry points of weight type W (a type name without commas, or a
/// using-alias) for ISA tag Isa.
#define LOWBIT_INSTANTIATE_GEMM(Isa, W)                                                            \
  template void lowbit::dispatch::gemm_entry<Isa, W>(const W&, lowbit::MatrixView<const float>,    \
                                                     lowbit::MatrixView<float>, lowbit::Context&); \
  template void lowbit::dispatch::gemm_int8_entry<Isa, W>(                                         \
      const W&, const lowbit::Int8Activations&, lowbit::MatrixView<float>, lowbit::Context&)
