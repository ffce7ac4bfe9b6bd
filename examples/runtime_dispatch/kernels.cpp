// SPDX-License-Identifier: Apache-2.0
// examples/runtime_dispatch/kernels.cpp: compiled once per ISA by lowbit_add_dispatch_library.
#include "lowbit/dispatch/instantiate.hpp"
#include "weights.hpp"

LOWBIT_INSTANTIATE_GEMM(LOWBIT_DISPATCH_ISA, demo::Weights);
