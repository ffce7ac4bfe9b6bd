// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/step_codec.hpp: StepCodec<L>, how a lane-tiled layout hands its codes to the SIMD
// micro-kernels (kernels/interleaved_tile.hpp), one step at a time.
//
// A lane-tiled layout (Interleaved, Trit5Tiles, Sparse34Tiles, BitPlanes) stores a tile of NR rows
// so that one vector load serves kLanes rows at once (lane r = row r). The micro-kernels are the
// same for all of them; what differs is how a step's codes (columns 4J .. 4J+3 of each row, four
// code bytes per 32-bit lane) come out of the stored bytes: shifts and masks of bit fields,
// base-3 digits by byte arithmetic, a table lookup of sparse patterns, bit planes ORed together.
// That is the layout's step codec, and it is specified beside the layout it decodes (each
// layout's header specializes StepCodec), so a new layout brings its own and the kernels do not
// change.
//
// A codec is a struct with
//   kUnit                      steps decoded from one begin() (1 for Interleaved: each step is
//                              its own loads; 5 for base-3 bytes; 8 for 8-step chunks);
//   State<V>                   what begin() loads;
//   begin<V, Bits, U>(block, v)  loads unit U of vector v (rows v·kLanes ..) of one block;
//   step<V, Bits, U, T>(state)   step U·kUnit + T as code bytes, lane r = row r.
// V is a vector struct (kernels/vec_ops.hpp: loads, byte and 16/32-bit shifts, masks, saturating
// byte arithmetic, a 32-entry lane table); the codec names no ISA. Layouts without a codec run
// the scalar reference only (HasCodec false).
#pragma once

namespace lowbit {

template <class L>
struct StepCodec;

/// A layout whose steps the SIMD micro-kernels can decode.
template <class L>
concept HasCodec = requires {
  StepCodec<L>::kUnit;
};

}  // namespace lowbit
