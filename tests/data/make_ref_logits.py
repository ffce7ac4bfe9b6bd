#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/data/make_ref_logits.py: the stored reference of tests/llama/test_forward.cpp.

Runs the numpy reference forward pass (../shared/tools/model_check.py, float64 arithmetic on
the fp32 weights) on stories260K and writes tests/data/stories260K_ref.bin:
  int32 ndocs, then per document: int32 T, T int32 tokens, T*vocab float32 logits
  (the first 24 tokens of each of the first 2 documents of tinystories_val.tok512.i32),
  then float64 perplexity and int32 predicted tokens over the first 50 documents of
  tinystories_val.tok512.ascii.i32 (the per-paragraph protocol of the data README).
usage: /usr/bin/python3 tests/data/make_ref_logits.py ../shared
"""
import math
import os
import struct
import sys

import numpy as np

shared = sys.argv[1] if len(sys.argv) > 1 else "../shared"
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(shared, "tools"))
import model_check as mc  # noqa: E402

cfg, t, _ = mc.load_model(os.path.join(shared, "data", "stories260K.bin"))


def docs(path):
    ids = np.fromfile(path, dtype="<i4")
    starts = list(np.where(ids == 1)[0]) + [len(ids)]
    return [list(ids[a:b]) for a, b in zip(starts[:-1], starts[1:])]


out = bytearray()
all_docs = docs(os.path.join(shared, "data", "tinystories_val.tok512.i32"))
out += struct.pack("<i", 2)
for d in all_docs[:2]:
    d = [int(x) for x in d[:24]]
    logits = mc.forward(cfg, t, d).astype("<f4")
    out += struct.pack("<i", len(d)) + struct.pack("<%di" % len(d), *d) + logits.tobytes()
nll, count = 0.0, 0
for d in docs(os.path.join(shared, "data", "tinystories_val.tok512.ascii.i32"))[:50]:
    d = [int(x) for x in d[:cfg["seq_len"]]]
    logits = mc.forward(cfg, t, d)[:-1]
    m = logits.max(-1, keepdims=True)
    lse = (m + np.log(np.exp(logits - m).sum(-1, keepdims=True)))[:, 0]
    tgt = np.array(d[1:])
    nll += float((lse - logits[np.arange(len(tgt)), tgt]).sum())
    count += len(tgt)
out += struct.pack("<di", math.exp(nll / count), count)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stories260K_ref.bin")
open(path, "wb").write(out)
print("wrote", path, len(out), "bytes; ppl(50 ascii docs) = %.6f over %d tokens" % (math.exp(nll / count), count))
