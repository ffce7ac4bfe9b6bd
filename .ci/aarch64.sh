#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# .ci/aarch64.sh: the AArch64 cross build of the kernel tests (NEON vector struct, with and without
# the dot-product extension) and of the tests of the other vector-extension loops, run under
# qemu-user. Needs g++-aarch64-linux-gnu and qemu-user;
# Catch2 v2 and xsimd are header-only, so their headers are copied beside the build (the host's
# /usr/include must not be on a cross compiler's path).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/aarch64
mkdir -p "$out/catch2"
cp /usr/include/catch2/catch.hpp "$out/catch2/"
cp -r /usr/include/xsimd "$out/"  # header-only too: the NEON kernels' float side is xsimd
printf '#define CATCH_CONFIG_MAIN\n#include <catch2/catch.hpp>\n' > "$out/main.cpp"
cxx=aarch64-linux-gnu-g++
# -O1: the kernels are written in intrinsics and xsimd, so -O1 runs the same vector operations
# as -O2 and compiles a quarter faster.
flags=(-std=c++20 -O1 -Wall -Wextra -Werror -DLOWBIT_CATCH2_MAJOR=2 -DLOWBIT_HAS_XSIMD=1 -Iinclude -Itests -I"$out")
"$cxx" -std=c++20 -O1 -I"$out" -c "$out/main.cpp" -o "$out/main.o"
for arch in armv8.2-a+dotprod armv8-a; do
  objs=()
  for src in tests/kernels/test_gemm_int_a.cpp tests/kernels/test_gemm_int_b.cpp \
             tests/kernels/test_gemm_f32.cpp tests/kernels/test_gemm_misc.cpp \
             tests/kernels/test_gemm_ternary.cpp tests/kernels/test_gemm_planes.cpp \
             tests/pack/test_interleaved.cpp; do
    o="$out/$(basename "$src" .cpp).${arch//[+.]/_}.o"
    "$cxx" "${flags[@]}" -march="$arch" -c "$src" -o "$o" &
    objs+=("$o")
  done
  wait
  "$cxx" -static "$out/main.o" "${objs[@]}" -o "$out/kernels_${arch//[+.]/_}" -pthread
  echo "== aarch64 -march=$arch (qemu-aarch64)"
  qemu-aarch64 "$out/kernels_${arch//[+.]/_}"
done
# The vector-extension loops outside the kernels, at NEON's width: Plain's bulk packing against
# its per-code path, and the trellis Viterbi step (4-float vectors) against every stream.
for src in tests/pack/test_plain.cpp tests/calib/test_trellis.cpp; do
  "$cxx" "${flags[@]}" -march=armv8-a -c "$src" -o "$out/$(basename "$src" .cpp).o" &
done
wait
"$cxx" -static "$out/main.o" "$out/test_plain.o" "$out/test_trellis.o" -o "$out/vector_ext" -pthread
echo "== aarch64 vector extensions (qemu-aarch64)"
qemu-aarch64 "$out/vector_ext" '[plain],trellis Viterbi: exact for its overlap*,trellis codes*'

