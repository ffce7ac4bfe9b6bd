// SPDX-License-Identifier: Apache-2.0
// tools/llama/quantized_b3.cpp: the 3-bit instantiations of quantized_impl.hpp.
#include "quantized_impl.hpp"

namespace lowbit::llama::detail {
LOWBIT_LLAMA_INSTANTIATE(3)
}  // namespace lowbit::llama::detail
