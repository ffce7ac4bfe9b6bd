// SPDX-License-Identifier: Apache-2.0
// lowbit/lowbit.hpp: umbrella header: core types, schemes, granularities, packing, quantize,
// and the reference kernels. io/, interop/ and calib/ beyond range fitting are included apart.
#pragma once

#include "lowbit/calib/minmax.hpp"
#include "lowbit/config.hpp"
#include "lowbit/core/bits.hpp"
#include "lowbit/core/buffer.hpp"
#include "lowbit/core/concepts.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/gemm/gemm.hpp"
#include "lowbit/kernels/reference/gemv.hpp"
#include "lowbit/kernels/reference/gemv_int8.hpp"
#include "lowbit/pack/layouts.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/quantize.hpp"
#include "lowbit/pack/repack.hpp"
#include "lowbit/quant/activation.hpp"
#include "lowbit/quant/asymmetric.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/quant/options.hpp"
#include "lowbit/quant/reference.hpp"
#include "lowbit/quant/symmetric.hpp"
#include "lowbit/simd/isa.hpp"
#include "lowbit/version.hpp"
