// SPDX-License-Identifier: Apache-2.0
// tests/dispatch/kernels.cpp: compiled once per ISA by lowbit_add_dispatch_library.
#include "lowbit/dispatch/instantiate.hpp"
#include "problem.hpp"

LOWBIT_INSTANTIATE_GEMM(LOWBIT_DISPATCH_ISA, dispatch_test::W4);
LOWBIT_INSTANTIATE_GEMM(LOWBIT_DISPATCH_ISA, dispatch_test::W2);
