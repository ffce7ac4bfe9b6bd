// SPDX-License-Identifier: Apache-2.0
// tools/llama/quantized_b4.cpp: the 4-bit instantiations of quantized_impl.hpp.
#include "quantized_impl.hpp"

namespace lowbit::llama::detail {
LOWBIT_LLAMA_INSTANTIATE(4)
}  // namespace lowbit::llama::detail
