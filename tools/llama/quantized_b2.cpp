// SPDX-License-Identifier: Apache-2.0
// tools/llama/quantized_b2.cpp: the 2-bit instantiations of quantized_impl.hpp.
#include "quantized_impl.hpp"

namespace lowbit::llama::detail {
LOWBIT_LLAMA_INSTANTIATE(2)
}  // namespace lowbit::llama::detail
