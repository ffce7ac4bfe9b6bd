// SPDX-License-Identifier: Apache-2.0
// lowbit/weights.hpp: the narrow include: everything that names, holds, saves, loads and repacks
// quantized weights (core types and views, every scheme, granularity and layout, PackedMatrix,
// io::save, io::load, repack), and no kernel or xsimd header.
//
// A program's translation units that only hold weights and call the kernels include this (and
// dispatch/entry.hpp for the calls); the kernels are compiled once, in the translation units of
// lowbit_add_dispatch_library (dispatch/entry.hpp has the recipe). lowbit/lowbit.hpp, the umbrella,
// adds quantize, repack and the kernels themselves, inline, for programs of one translation unit.
#pragma once

#include "lowbit/config.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/core/view.hpp"
#include "lowbit/pack/layouts.hpp"
#include "lowbit/pack/packed_matrix.hpp"
#include "lowbit/pack/repack.hpp"
#include "lowbit/quant/asymmetric.hpp"
#include "lowbit/quant/binary.hpp"
#include "lowbit/quant/ccq.hpp"
#include "lowbit/quant/conv_code.hpp"
#include "lowbit/quant/dual_bound.hpp"
#include "lowbit/quant/granularity.hpp"
#include "lowbit/quant/symmetric.hpp"
#include "lowbit/quant/ternary.hpp"
#include "lowbit/version.hpp"
