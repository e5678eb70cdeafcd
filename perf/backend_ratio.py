#!/usr/bin/env python3
"""Side-by-side table of fkm_bench rows (JSON, one object a line) of two backends on the same
configs: ms/iter of each, the ratio other / base, and each row's roofline floor (fkm_bench's
floor_ms: max(2*N*K*D / matrix rate, N*D*bytes / bandwidth) with the rates it was given).
A row named CONFIG/VARIANT (e.g. n1m_k1024/scratch) is a variant of the other backend on CONFIG.

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
    base, other = {}, []
    with open(a.rows) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            if r.get("backend", "cuda") == a.base:
                base[r["name"]] = r
            elif r.get("backend") == a.other:
                other.append(r)
    other.sort(key=lambda r: (r["n"], r["name"]))
    fmt = lambda r, k: ("%.3f" % r[k]) if r else "-"
    print("%-22s %-6s %11s %11s %11s %12s %12s" % ("config", "dtype", a.base + " ms", a.other + " ms",
                                                   a.other + "/" + a.base, a.base + " floor", a.other + " floor"))
    table = []
    for o in other:
        config = o["name"].split("/")[0]
        b = base.get(config)
        ratio = o["ms_per_iter"] / b["ms_per_iter"] if b and b["ms_per_iter"] > 0 else None
        print("%-22s %-6s %11s %11s %11s %12s %12s" % (o["name"], o["dtype"], fmt(b, "ms_per_iter"), fmt(o, "ms_per_iter"),
                                                       ("%.2fx" % ratio) if ratio else "-", fmt(b, "floor_ms"),
                                                       fmt(o, "floor_ms")))
        table.append({"config": o["name"], "base": b, "other": o, "ratio": ratio})
    for name, b in sorted(base.items(), key=lambda kv: kv[1]["n"]):
        if not any(o["name"].split("/")[0] == name for o in other):
            print("%-22s %-6s %11s %11s %11s %12s %12s" % (name, b["dtype"], fmt(b, "ms_per_iter"), "-", "-",
                                                           fmt(b, "floor_ms"), "-"))
            table.append({"config": name, "base": b, "other": None, "ratio": None})
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"base": a.base, "other": a.other, "rows": table}, f, indent=1)


if __name__ == "__main__":
    main()
