// SPDX-License-Identifier: Apache-2.0
// lowbit/kernels/gemv.hpp: kept for includes written against the first kernel family; the GEMV
// and GEMM entry points (gemv_int8, gemv, gemv_f32, gemm_int8, gemm, gemm_f32) live in
// gemm/gemm.hpp.
#pragma once

#include "lowbit/gemm/gemm.hpp"
