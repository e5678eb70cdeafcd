#!/usr/bin/env python3
"""Renders perf results (peers.py JSON) as a bar chart: fkm (exact, fast) vs flash-kmeans vs
torch vs the roofline floor, ms/iter on a log scale.
  python3 perf/plot.py perf/results/h100_<date>.json docs/performance_h100.png
"""
import json, sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(src, dst):
    data = json.load(open(src))
    rows = data["rows"]
    names = [r["name"] for r in rows]

    def ms(r, key):
        v = r.get(key)
        return (v["ms_per_iter"] if isinstance(v, dict) else v) or float("nan")

    series = [("floor", [r["floor_ms"] for r in rows], "#888888"),
              ("fkm exact", [ms(r, "fkm_exact") for r in rows], "#1f77b4"),
              ("fkm fast", [ms(r, "fkm_fast") for r in rows], "#6baed6"),
              ("flash-kmeans", [ms(r, "flash_kmeans_ms") for r in rows], "#d62728"),
              ("torch GEMM+argmin", [ms(r, "torch_ms") for r in rows], "#ff7f0e")]
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.16
    for s, (label, values, colour) in enumerate(series):
        ax.bar([i + (s - 2) * width for i in range(len(rows))], values, width, label=label, color=colour)
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(names, rotation=20, ha="right")
    ax.set_ylabel("ms per Lloyd iteration (log)")
    ax.set_title(f"k-means iteration time on {data['device']} (lower is better)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
