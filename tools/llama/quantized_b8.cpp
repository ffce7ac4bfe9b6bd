// SPDX-License-Identifier: Apache-2.0
// tools/llama/quantized_b8.cpp: the 8-bit instantiations of quantized_impl.hpp.
#include "quantized_impl.hpp"

namespace lowbit::llama::detail {
LOWBIT_LLAMA_INSTANTIATE(8)
}  // namespace lowbit::llama::detail
