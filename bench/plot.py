#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/plot.py: GFLOP/s-equivalent against bits per weight from bench_gemv JSON output.

Usage: python3 bench/plot.py gemv.json [-o bench/gemv.png] [--shape 0] [--threads 1]
Draws one point per kernel (median of repetitions, or the single run), the Eigen fp32 GEMV of
the same shape as a horizontal line, and the DRAM roofline 2·B/bpw·8 from the streaming
baseline's median bandwidth B (bytes/s). Needs Debian's python3-matplotlib.
"""
import argparse
import json
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def medians(path):
    data = json.load(open(path))
    runs = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b["run_name"] if "run_name" in b else b["name"]
        name = name.replace("/real_time", "")
        runs.setdefault(name, []).append(b)
    out = {}
    for name, bs in runs.items():
        med = [b for b in bs if b.get("aggregate_name") == "median"]
        pick = med[0] if med else bs[0]
        out[name] = {
            "gflops": pick["GFLOPs"] / 1e9,
            "bpw": pick.get("bits_per_weight", 32.0),
            "bps": pick.get("bytes_per_second", 0.0),
        }
    return out, data.get("context", {})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("-o", "--out", default="bench/gemv.png")
    ap.add_argument("--shape", default="0")
    ap.add_argument("--threads", default="1")
    a = ap.parse_args()
    runs, ctx = medians(a.json)
    suffix = f"/{a.shape}/{a.threads}"
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    eigen = runs.get(f"Eigen/{a.shape}")
    if eigen:
        ax.axhline(eigen["gflops"], color="grey", ls="--", label=f"Eigen fp32 ({eigen['gflops']:.1f})")
    streams = [v["bps"] for k, v in runs.items() if k.startswith("Stream/") and k.endswith(suffix)]
    if streams:
        bw = statistics.median(streams)
        xs = [1.5 + 0.05 * i for i in range(150)]
        ax.plot(xs, [2 * bw / (x / 8) / 1e9 for x in xs], color="black", lw=1,
                label=f"DRAM roofline ({bw / 1e9:.1f} GB/s streamed)")
    isas = sorted({k.split("/")[1] for k in runs if k.startswith("Gemv/") and k.endswith(suffix)})
    for isa in isas:
        pts = sorted((v["bpw"], v["gflops"], k.split("/")[2]) for k, v in runs.items()
                     if k.startswith(f"Gemv/{isa}/") and k.endswith(suffix))
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=f"lowbit {isa}")
        for bpw, g, s in pts:
            ax.annotate(s, (bpw, g), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("bits per weight (codes + scales)")
    ax.set_ylabel("GFLOP/s-equivalent (2·m·k / t)")
    shapes = {"0": "m=4096 k=14336", "1": "m=14336 k=4096", "2": "m=4096 k=4096"}
    ax.set_title(f"GEMV n=1, {shapes.get(a.shape, a.shape)}, {a.threads} thread(s), DRAM-resident")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
