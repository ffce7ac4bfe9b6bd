#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Writes tests/data/tiny.safetensors, the input of the lowbit-quantize safetensors smoke test:
# an F16 48x96 and a BF16 16x40 matrix (quantized), an F32 norm vector and embedding (kept).
# Run once with /usr/bin/python3 (numpy); the output is committed.
import json
import os
import struct

import numpy as np

rng = np.random.default_rng(7)
tensors = {
    "layers.0.mlp.weight": ("F16", rng.standard_normal((48, 96)).astype(np.float16)),
    "layers.0.attn.weight": ("BF16", rng.standard_normal((16, 40)).astype(np.float32)),
    "layers.0.norm.weight": ("F32", np.ones(96, np.float32)),
    "embed.weight": ("F32", rng.standard_normal((10, 8)).astype(np.float32)),
}
header, data = {}, b""
for name, (dtype, a) in tensors.items():
    raw = (a.view(np.uint32) >> 16).astype(np.uint16).tobytes() if dtype == "BF16" else a.tobytes()
    header[name] = {"dtype": dtype, "shape": list(a.shape),
                    "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny.safetensors")
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + data)
