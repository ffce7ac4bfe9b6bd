// SPDX-License-Identifier: Apache-2.0
// bench/llama_cpp/bench.mjs: llama.cpp's tokens per second on a GGUF file, measured as
// lowbit-bench measures lowbit, through llama.cpp as users install it: the prebuilt CPU
// libraries of node-llama-cpp (npm i -E node-llama-cpp@3.21.1, llama.cpp release v0.4.0; the
// CPU variant for this machine is picked at load, e.g. libggml-cpu-icelake.so).
//
// setup (once; package.json pins the version; the second line takes only the x64 CPU build
// instead of every GPU variant):
//   cd bench/llama_cpp && npm i --omit=optional && npm i --no-save @node-llama-cpp/linux-x64@3.21.1
// usage: node bench/llama_cpp/bench.mjs --model FILE.gguf [-p 512] [-n 128] [-t 1,2] [-r 3]
//
// For each thread count: pp<P> evaluates P random tokens from an empty cache as one batch
// (logits of the last token), tg<N> evaluates N random tokens one at a time from an empty cache,
// each producing logits and a sampled next token (greedy), as lowbit-bench and llama-bench do.
// One untimed warm-up run, then -r timed runs; one JSON line per test with avg_ts/stddev_ts.
// The context holds max(P, N) tokens, batch 512 (a larger P is split as llama.cpp splits it),
// the KV cache in f16 (llama.cpp's default), flash attention off, weights memory-mapped.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import process from "node:process";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const modelPath = opt("--model");
if (!modelPath) {
  console.error("usage: node bench.mjs --model FILE.gguf [-p 512] [-n 128] [-t 1,2] [-r 3]");
  process.exit(2);
}
const nPrompt = Number(opt("-p", "512"));
const nGen = Number(opt("-n", "128"));
const reps = Number(opt("-r", "3"));
const threadList = opt("-t", "1").split(",").map(Number);

const llama = await getLlama({gpu: false, build: "never", maxThreads: 0,
                              logLevel: LlamaLogLevel.error});
const t0 = performance.now();
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
const loadS = (performance.now() - t0) / 1000;
const nVocab = model.fileInfo.metadata.llama?.vocab_size ??
  model.fileInfo.metadata.tokenizer.ggml.tokens.length;

// The same generator of tokens as a fixed-seed stream (values differ from lowbit-bench's; speed
// does not depend on them).
let seed = 1234;
const rand = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed;
};
const randomTokens = n => Array.from({length: n}, () => 3 + (rand() % (nVocab - 3)));

for (const threads of threadList) {
  const context = await model.createContext({
    contextSize: Math.max(nPrompt, nGen, 32), batchSize: 512, threads, flashAttention: false,
    sequences: 1,
  });
  const seq = context.getSequence();
  for (const test of ["pp", "tg"]) {
    const n = test === "pp" ? nPrompt : nGen;
    if (n === 0) continue;
    const samples = [];
    for (let r = 0; r <= reps; r++) {
      await seq.clearHistory();
      const tokens = randomTokens(n);
      const s0 = performance.now();
      if (test === "pp") {
        const items = tokens.map((t, i) => i === n - 1 ? [t, {generateNext: {token: true}}] : t);
        await seq.controlledEvaluate(items);
      } else {
        for (const t of tokens) await seq.controlledEvaluate([[t, {generateNext: {token: true}}]]);
      }
      const s = (performance.now() - s0) / 1000;
      if (r > 0) samples.push(n / s);
    }
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const sd = samples.length > 1
      ? Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (samples.length - 1)) : 0;
    console.log(JSON.stringify({
      engine: "llama.cpp (node-llama-cpp 3.21.1, release v0.4.0)", build: llama.buildType,
      cpu_math_cores: llama.cpuMathCores, model: modelPath, load_s: loadS,
      threads, test: test + n, avg_ts: mean, stddev_ts: sd, samples_ts: samples,
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    }));
  }
  await context.dispose();
}
await model.dispose();
