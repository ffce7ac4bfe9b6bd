// SPDX-License-Identifier: Apache-2.0
// lowbit/lowbit.hpp: umbrella header: core types, schemes, granularities, packing, quantize,
// and the kernels, inline. io/, interop/ and calib/ beyond range fitting are included apart.
// Files that only hold weights and call the kernels compiled elsewhere include the narrow
// lowbit/weights.hpp and lowbit/dispatch/entry.hpp instead.
#pragma once

#include "lowbit/config.hpp"
#include "lowbit/core/bits.hpp"
#include "lowbit/core/buffer.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/gemm/gemm.hpp"
#include "lowbit/gemm/xnor.hpp"
#include "lowbit/kernels/reference/gemv.hpp"
#include "lowbit/kernels/reference/gemv_int8.hpp"
#include "lowbit/kernels/reference/sequence.hpp"
#include "lowbit/pack/layouts.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/quantize.hpp"
#include "lowbit/pack/repack.hpp"
#include "lowbit/quant/activation.hpp"
#include "lowbit/quant/asymmetric.hpp"
#include "lowbit/quant/binary.hpp"
#include "lowbit/quant/ccq.hpp"
#include "lowbit/quant/conv_code.hpp"
#include "lowbit/quant/dual_bound.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/quant/options.hpp"
#include "lowbit/quant/range_fit.hpp"
#include "lowbit/quant/reference.hpp"
#include "lowbit/quant/symmetric.hpp"
#include "lowbit/quant/ternary.hpp"
#include "lowbit/simd/isa.hpp"
#include "lowbit/version.hpp"
