#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/compile_time.sh: compile time of one translation unit that calls a 4-bit GEMM, through the
# umbrella with the kernels inline, and through the narrow include (lowbit/weights.hpp +
# lowbit/dispatch/entry.hpp) with the kernels compiled once elsewhere. Median of REPS compiles
# (default 5) of each, -O2, run from the repository root:  bash bench/compile_time.sh [compiler]
set -euo pipefail
CXX=${1:-g++}
REPS=${REPS:-5}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
INC="-Iinclude -std=c++20 -O2"
W='using W = lowbit::PackedMatrix<lowbit::Symmetric<4, lowbit::SymmetricConvention::kSignedMax, lowbit::f16>, lowbit::PerGroup<32>, lowbit::Interleaved<16, 32>>;'
printf '#include <lowbit/lowbit.hpp>\n' > "$T/umbrella.cpp"
printf '#include <lowbit/lowbit.hpp>\n%s\nvoid layer(const W& w, lowbit::MatrixView<const float> x, lowbit::MatrixView<float> y, lowbit::Context& c) { lowbit::gemm(w, x, y, c); }\n' "$W" > "$T/inline.cpp"
printf '#include <lowbit/dispatch/entry.hpp>\n%s\nvoid layer(const W& w, lowbit::MatrixView<const float> x, lowbit::MatrixView<float> y, lowbit::Context& c) { lowbit::dispatch::gemm(w, x, y, c); }\n' "$W" > "$T/narrow.cpp"
printf '#include <lowbit/dispatch/instantiate.hpp>\n%s\nLOWBIT_INSTANTIATE_GEMM(LOWBIT_DISPATCH_ISA, W);\n' "$W" > "$T/kernels.cpp"
printf '#include <algorithm>\n#include <cmath>\n#include <sstream>\n#include <thread>\n#include <vector>\n' > "$T/std.cpp"
median() {  # median wall seconds of REPS runs of "$@"
  for _ in $(seq "$REPS"); do
    local s e
    s=$(date +%s.%N)
    "$@" > /dev/null
    e=$(date +%s.%N)
    echo "$e - $s" | bc
  done | sort -n | awk '{a[NR] = $1} END {printf "%.2f", a[int((NR + 1) / 2)]}'
}
row() { printf '| %s | %s | %s s |\n' "$1" "$2" "$(median "${@:3}")"; }
echo "| translation unit | flags | compile time (median of $REPS) |"
echo "|---|---|---|"
row "the standard headers the narrow include uses" "-O2" $CXX -std=c++20 -O2 -c "$T/std.cpp" -o "$T/o"
row "umbrella (lowbit/lowbit.hpp), nothing called" "-O2 -march=native" $CXX $INC -march=native -c "$T/umbrella.cpp" -o "$T/o"
row "umbrella, one gemm call, kernels inline" "-O2 -march=native" $CXX $INC -march=native -c "$T/inline.cpp" -o "$T/o"
row "narrow include, one dispatch::gemm call" "-O2 (baseline)" $CXX $INC -DLOWBIT_DISPATCH_WITH_AVX2=1 -c "$T/narrow.cpp" -o "$T/o"
row "narrow include, one dispatch::gemm call" "-O2 -march=native" $CXX $INC -march=native -DLOWBIT_DISPATCH_WITH_AVX2=1 -c "$T/narrow.cpp" -o "$T/o"
row "the kernels, once: LOWBIT_INSTANTIATE_GEMM for AVX2" "-O2 -march=x86-64-v3" $CXX $INC -march=x86-64-v3 -DLOWBIT_DISPATCH_ISA=lowbit::isa::avx2 -c "$T/kernels.cpp" -o "$T/o"
row "the kernels, once: LOWBIT_INSTANTIATE_GEMM for AVX-512" "-O2 -march=x86-64-v4 -mavx512vnni" $CXX $INC -march=x86-64-v4 -mavx512vnni -DLOWBIT_DISPATCH_ISA=lowbit::isa::avx512bw -c "$T/kernels.cpp" -o "$T/o"
