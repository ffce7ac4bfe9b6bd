// SPDX-License-Identifier: Apache-2.0
// lowbit/pack/layouts.hpp: the layout tags. Plain is the canonical, persisted layout; kernel
// layouts (interleaved tiles, bit planes, trits, trellis streams) join here as they are added.
#pragma once

#include "lowbit/pack/base3.hpp"
#include "lowbit/pack/bitplanes.hpp"
#include "lowbit/pack/interleaved.hpp"
#include "lowbit/pack/plain.hpp"
#include "lowbit/pack/seq_tiles.hpp"
#include "lowbit/pack/sparse34.hpp"
