// SPDX-License-Identifier: Apache-2.0
// examples/runtime_dispatch/weights.hpp: the weight types this program dispatches.
#pragma once

#include "lowbit/lowbit.hpp"

namespace demo {
using Sym4 = lowbit::Symmetric<4, lowbit::SymmetricConvention::kSignedMax, lowbit::f16>;
/// 16-row tiles serve every width: AVX-512 (1 vector), AVX2 (2), SSE4.2 (4).
using Weights = lowbit::PackedMatrix<Sym4, lowbit::PerGroup<32>, lowbit::Interleaved<16, 32>>;
}  // namespace demo
