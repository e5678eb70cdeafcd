#!/usr/bin/env python3
"""Side-by-side table of fkm_bench rows (JSON, one object a line) of two backends on the same
configs: ms/iter of each, the ratio other / base, and each row's roofline floor (fkm_bench's
floor_ms: max(2*N*K*D / matrix rate, N*D*bytes / bandwidth) with the rates it was given).

  python3 perf/backend_ratio.py rows.jsonl [--base cuda] [--other kokkos] [--json out.json]
"""
import argparse
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rows")
    ap.add_argument("--base", default="cuda")
    ap.add_argument("--other", default="kokkos")
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = {}
    with open(a.rows) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                rows[(r["name"], r.get("backend", "cuda"))] = r
    names = sorted({n for n, _ in rows}, key=lambda n: [r for (m, _), r in rows.items() if m == n][0]["n"])
    table = []
    print("%-12s %-6s %12s %12s %9s %14s %14s" % ("config", "dtype", a.base + " ms", a.other + " ms",
                                                  a.other + "/" + a.base, a.base + " floor", a.other + " floor"))
    for n in names:
        b, o = rows.get((n, a.base)), rows.get((n, a.other))
        ratio = o["ms_per_iter"] / b["ms_per_iter"] if b and o and b["ms_per_iter"] > 0 else None
        fmt = lambda r, k: ("%.3f" % r[k]) if r else "-"
        print("%-12s %-6s %12s %12s %9s %14s %14s" % (n, (b or o)["dtype"], fmt(b, "ms_per_iter"), fmt(o, "ms_per_iter"),
                                                      ("%.2fx" % ratio) if ratio else "-", fmt(b, "floor_ms"),
                                                      fmt(o, "floor_ms")))
        table.append({"config": n, "base": b, "other": o, "ratio": ratio})
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"base": a.base, "other": a.other, "rows": table}, f, indent=1)


if __name__ == "__main__":
    main()
