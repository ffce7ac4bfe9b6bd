#!/bin/bash
# bench/device_run.sh: the AVX-512 device machine's run (see bench/RESULTS.md): builds the kernel
# tests and benchmarks with -march=native, runs the
# conformance tests on every ISA the CPU has, the runtime-dispatch example, then AVX-512 vs AVX2
# GEMV/GEMM per core, GEMM n = 512 at 1 and 16 threads, and the thread-scaling ceiling probe.
# Writes logs and JSON under $OUT. `bash bench/device_run.sh model` times whole models: lowbit-bench
# and llama-bench (built from LLAMA_CPP_SRC) on 1B-shaped GGUF files of TYPES (`model-build`
# only builds and writes the files; LOWBIT_BUILD, LLAMA_BUILD and GGUF_DIR in the repository keep
# them for the next call). `bash bench/device_run.sh seq` runs the sequence-code kernels
# instead: their conformance tests and bench_trellis's GEMV/GEMM cases;
# `bash bench/device_run.sh act` the zero-point activation kernels: the gemm_zp
# conformance tests and bench_act (W4A4/W4A8/W2A8, n = 1 and 512, 1 and 16 threads);
# `bash bench/device_run.sh ggml` llama.cpp's block types on the kernels: every gemm
# conformance test, then bench_ggml's GEMV and GEMM n = 512 for six types at 1 and 16 threads.
# The kernels need xsimd (header-only): on a machine without it, carry an install prefix (a folder
# with include/xsimd and lib/cmake/xsimd, e.g. `cmake --install` of xsimd's source) and set
# XSIMD_PREFIX to it.

set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
B=${LOWBIT_BUILD:-/tmp/lowbit-build}  # a folder in the repository survives between device calls
LB=${LLAMA_BUILD:-/tmp/llama-build}
GG=${GGUF_DIR:-/tmp}
{ lscpu; g++ --version; cmake --version; } > "$OUT/machine.txt" 2>&1
cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DLOWBIT_ISA=native -DLOWBIT_TEST_ISAS=native \
  ${XSIMD_PREFIX:+-DCMAKE_PREFIX_PATH=$XSIMD_PREFIX} \
  -DLOWBIT_BUILD_BENCH=ON -DLOWBIT_WERROR=OFF > "$OUT/configure.txt" 2>&1 || { tail -30 "$OUT/configure.txt"; exit 1; }
# One family's run: its gemm conformance tests (Catch2 filter), then its benchmark binary at 1
# and 16 threads (Google Benchmark filter); medians printed.
family_run() {  # <bench binary> <test filter> <benchmark filter> <output name>
  cmake --build $B -j16 --target lowbit_test_gemm_native "$1" > "$OUT/build.txt" 2>&1 ||
    { grep -m20 error "$OUT/build.txt"; exit 1; }
  $B/tests/lowbit_test_gemm_native "$2" 2>&1 | tail -3 | tee "$OUT/tests.txt"
  LOWBIT_BENCH_THREADS=1,16 $B/bench/"$1" --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true --benchmark_min_time=0.2 \
    "--benchmark_filter=$3" --benchmark_out="$OUT/$4.json" > "$OUT/$4.txt" 2>&1
  grep median "$OUT/$4.txt" | sed 's/  */ /g' | cut -c1-120
  exit 0
}
if [ "${1:-}" = act ]; then
  family_run bench_act "[zp]" '^(Eigen/2/.*|Act/.*/2/.*)$' act
fi
if [ "${1:-}" = ggml ]; then
  family_run bench_ggml "*" \
    '^((Eigen/0|EigenGemm/0/512)|(Gemv|Gemm)/.*/(q8_0|q4_0|q4_K|q2_K|q6_K|tq2_0)/0/(1|512/1|16|512/16))/real_time$' ggml
fi
if [ "${1:-}" = model ] || [ "${1:-}" = model-build ]; then
  cmake --build $B -j16 --target lowbit-bench lowbit-synth > "$OUT/build.txt" 2>&1 ||
    { grep -m20 error "$OUT/build.txt"; exit 1; }
  if [ -n "${LLAMA_CPP_SRC:-}" ] && [ ! -x $LB/bin/llama-bench ]; then
    cmake -S "$LLAMA_CPP_SRC" -B $LB -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
      -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
      -DLLAMA_BUILD_SERVER=OFF > "$OUT/llama_cfg.txt" 2>&1 &&
      cmake --build $LB -j16 --target llama-bench > "$OUT/llama_build.txt" 2>&1 ||
      { tail -n 20 "$OUT/llama_cfg.txt" "$OUT/llama_build.txt"; }
  fi
  for t in ${TYPES:-q4_0 tq2_0 q4_K q2_K}; do
    F=$GG/1b-$t.gguf
    [ -f $F ] || $B/tools/lowbit-synth --shape llama-3.2-1b --gguf $t --out $F --threads 16 > /dev/null
  done
  [ "$1" = model-build ] && exit 0
  for t in ${TYPES:-q4_0 tq2_0 q4_K q2_K}; do
    F=$GG/1b-$t.gguf
    for act in ${ACTS:-int8 f32}; do
      $B/tools/lowbit-bench --model $F -p 512 -n 128 -t ${THREADS:-1,16} -r ${REPS:-3} --act $act --json |
        tee -a "$OUT/lowbit.jsonl" | cut -c1-200
    done
    if [ -x $LB/bin/llama-bench ]; then
      $LB/bin/llama-bench -m $F -p 512 -n 128 -t ${THREADS:-1,16} -r ${REPS:-3} -o jsonl \
        2> /dev/null | tee -a "$OUT/llama.jsonl" | cut -c1-200
    fi
  done
  exit 0
fi
if [ "${1:-}" = seq ]; then
  family_run bench_trellis "[trellis],[ccq]" \
    '^(Eigen/0|Gemv/.*/0/(1|16)|Stream/.*/0/1|Gemm/avx512.*/0/512/(1|16))/' trellis
fi
cmake --build $B -j16 --target lowbit_test_gemm_native lowbit_test_pack_native \
  lowbit_test_kernels_native bench_gemv bench_gemm bench_scaling runtime_dispatch > "$OUT/build.txt" 2>&1 || { grep -m20 error "$OUT/build.txt"; exit 1; }
for t in gemm pack kernels; do
  $B/tests/lowbit_test_${t}_native 2>&1 | tail -3 | tee -a "$OUT/tests.txt"
done
$B/examples/runtime_dispatch | tee -a "$OUT/tests.txt"
LOWBIT_BENCH_THREADS=1 $B/bench/bench_gemv --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  '--benchmark_filter=^Eigen/0/|/sym[234]_g32/0/1/' --benchmark_out="$OUT/gemv.json" > "$OUT/gemv.txt" 2>&1
LOWBIT_BENCH_THREADS=1,16 $B/bench/bench_gemm --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  '--benchmark_filter=^Eigen/0/(32|512)/|/sym[24]_g32/0/(32|512)/' --benchmark_out="$OUT/gemm.json" > "$OUT/gemm.txt" 2>&1
$B/bench/bench_scaling --benchmark_min_time=1 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out="$OUT/scaling.json" > "$OUT/scaling.txt" 2>&1
grep -E "median" "$OUT/gemv.txt" "$OUT/gemm.txt" "$OUT/scaling.txt" | grep -v "_cv\|stddev\|mean" | sed 's/  */ /g' | cut -c1-160
