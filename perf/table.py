#!/usr/bin/env python3
"""Markdown table of a peers.py result: ms/iter of each implementation, the floor, and ratios.
  python3 perf/table.py perf/results/<file>.json
"""
import json, sys


def ms(r, key):
    v = r.get(key)
    return v["ms_per_iter"] if isinstance(v, dict) else v


def main(src):
    d = json.load(open(src))
    print(f"Device: {d['device']}; measured in the same run: fp16 GEMM {d['fp16_tflops']:.0f} TFLOP/s, "
          f"tf32 GEMM {d['tf32_tflops']:.0f} TFLOP/s, device copy {d['copy_gbps']:.0f} GB/s.\n")
    print("| config | floor ms | fkm exact ms (assign) | fkm fast ms (assign) | flash-kmeans ms | torch ms | "
          "flash / fkm exact | flash / fkm fast | fkm exact / floor | fkm fast / floor | fkm exact / fast |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in d["rows"]:
        e, f = r.get("fkm_exact"), r.get("fkm_fast")
        fl, t = r.get("flash_kmeans_ms"), r.get("torch_ms")
        fmt = lambda v: f"{v:.3f}" if v else "-"
        cell = lambda x: f"{x['ms_per_iter']:.3f} ({x['ms_assign']:.3f})" if x else "-"
        ratio = lambda a, b: f"{a / b:.2f}" if (a and b) else "-"
        print(f"| {r['name']} | {r['floor_ms']:.3f} | {cell(e)} | {cell(f)} | {fmt(fl)} | {fmt(t)} | "
              f"{ratio(fl, ms(r, 'fkm_exact'))} | {ratio(fl, ms(r, 'fkm_fast'))} | "
              f"{ratio(ms(r, 'fkm_exact'), r['floor_ms'])} | {ratio(ms(r, 'fkm_fast'), r['floor_ms'])} | "
              f"{ratio(ms(r, 'fkm_exact'), ms(r, 'fkm_fast'))} |")


if __name__ == "__main__":
    main(sys.argv[1])
