#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/model_table.sh BUILD_DIR [OUT.jsonl]: the stories260K policy table of bench/RESULTS.md: every policy evaluated with lowbit-eval on the first 1,000 documents of
# tinystories_val.tok512.ascii.i32, calibrated on the last 1,000 documents of
# tinystories_val.tok512.i32, int8 activations, 2 threads. Prints one JSON line per policy and
# a markdown table at the end.
set -euo pipefail
build=${1:?usage: bench/model_table.sh BUILD_DIR [OUT.jsonl]}
out=${2:-model_table.jsonl}
data=${LOWBIT_SHARED_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
policies=(
  fp32
  sym8-g32 sym4-g32 asym4-g64 asym3-g32 sym2-g32 asym2-g64
  sym4-g32-clip asym4-g64-clip asym3-g32-clip sym2-g32-clip asym2-g64-clip
  sym4-g32-clip-ls asym2-g64-clip-ls
  asym4-g64-clip-imp asym2-g64-clip-imp
  sym4-g32-rot asym4-g64-clip-rot asym2-g64-clip-rot
  sym4-g32-gptq sym4-g32-clip-gptq asym4-g64-clip-gptq asym3-g32-clip-gptq asym2-g64-clip-gptq
  sym4-g32-clip-imp-gptq-rot asym2-g64-clip-imp-gptq-rot
  sym4-g32-clip-ls-gptq sym4-g32-clip-ls-imp-gptq sym4-g32-clip-ls-imp-gptq-rot
  asym4-g64-clip-ls-imp-gptq-rot asym3-g32-clip-ls-gptq-rot
  asym2-g64-clip-ls-gptq asym2-g64-clip-ls-gptq-rot asym2-g64-clip-ls-imp-gptq-rot sym2-g32-clip-ls-gptq
  sym4-g32-clip-ls-imp-gptq-rot-seq asym2-g64-clip-ls-gptq-seq
  sym4-g32-clip-e2e sym4-g32-clip-ls-imp-gptq-rot-e2e sym4-g32-clip-ls-gptq-rot-e2e sym4-g32-clip-ls-gptq-e2e
  sym4-g32-clip-ls-imp-gptq-e2e sym4-g32-clip-imp-gptq-rot-e2e asym4-g64-clip-ls-imp-gptq-rot-e2e
  asym2-g64-clip-ls-gptq-e2e asym2-g64-clip-ls-gptq-rot-e2e
  bin-g64 binm-g64 arb-g64 arbx-g64 arbrc-g64 arbrc-g32 bin2-g64 arb2-g64 arbx2-g64 ter-g64 terls-g64 twn-g64 topt-g64 sherry-g64
  bin-g64-gptq binm-g64-gptq arb-g64-gptq bin2-g64-gptq arb2-g64-gptq ter-g64-gptq terls-g64-gptq
  twn-g64-gptq topt-g64-gptq arbx-g64-gptq arbrc-g64-gptq arbrc-g32-gptq arbx2-g64-gptq
)
: > "$out"
for p in "${policies[@]}"; do
  args=(--model "$data/stories260K.bin" --tokens "$data/tinystories_val.tok512.ascii.i32" --docs 1000
        --threads 2 --calib-tokens "$data/tinystories_val.tok512.i32" --calib-docs 1000 --json)
  [ "$p" != fp32 ] && args+=(--policy "$p")
  "$build/tools/lowbit-eval" "${args[@]}" | tee -a "$out"
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| policy | bpw | PPL | mean KL | top-1 | s |")
print("|---|---|---|---|---|---|")
for r in rows:
    bpw = "32" if r["policy"] == "fp32" else "%.3f" % r["bpw"]
    print("| %s | %s | %.3f | %.4f | %.1f %% | %.0f |" % (r["policy"], bpw, r["ppl"], r["kl"], 100 * r["top1"], r["seconds"]))
PY
