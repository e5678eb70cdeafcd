#!/usr/bin/env python3
"""Side-by-side GPU k-means timings: fkm (perf/fkm_bench) vs flash-kmeans vs a torch GEMM+argmin
baseline, on the same data, in one process tree on one device.

  python3 perf/peers.py --bench build/perf/fkm_bench --out results.json [--only NAME,...]

flash-kmeans is imported from PYTHONPATH (a fetched, git-ignored copy; never committed).
Every implementation starts from the same centroids (K evenly spaced points) and runs
Lloyd iterations; each time is the median (or mean of a timed block) per iteration measured
with CUDA events after warm-up. The floor is max(2*B*N*K*D / matrix rate, B*N*D*bytes / HBM
bandwidth), with both rates measured here first.
"""
import argparse, json, os, subprocess, sys, time
import torch

CONFIGS = [  # name, B, N, D, K, dtype
    ("b32_n74256_k1000", 32, 74256, 128, 1000, "f16"),
    ("n1m_k1024", 1, 1 << 20, 128, 1024, "f16"),
    ("n1m_k16", 1, 1 << 20, 128, 16, "f16"),
    ("n1m_k65536", 1, 1 << 20, 128, 65536, "f16"),
    ("n8m_k1024", 1, 8 << 20, 128, 1024, "f16"),
    ("n1m_d768_k1024_f32", 1, 1 << 20, 768, 1024, "f32"),
    ("n32m_k4096", 1, 32 << 20, 128, 4096, "f16"),
]
TORCH_DTYPE = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}


def events_ms(fn, reps):
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(reps):
        fn()
    e.record()
    torch.cuda.synchronize()
    return s.elapsed_time(e) / reps


def measure_rates():
    torch.manual_seed(0)
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
    for _ in range(3):
        a @ b
    f16 = 2 * 8192**3 / (events_ms(lambda: a @ b, 10) * 1e-3) / 1e12
    torch.backends.cuda.matmul.allow_tf32 = True
    a32, b32 = a.float(), b.float()
    for _ in range(3):
        a32 @ b32
    tf32 = 2 * 8192**3 / (events_ms(lambda: a32 @ b32, 10) * 1e-3) / 1e12
    torch.backends.cuda.matmul.allow_tf32 = False
    big = torch.randn(1 << 30, device="cuda", dtype=torch.float16)  # 2 GiB
    dst = torch.empty_like(big)
    dst.copy_(big)
    bw = 2 * big.numel() * 2 / (events_ms(lambda: dst.copy_(big), 10) * 1e-3) / 1e9
    del a, b, a32, b32, big, dst
    torch.cuda.empty_cache()
    return f16, tf32, bw


def make_data(B, N, D, K, dtype):
    g = torch.Generator(device="cuda").manual_seed(1234)
    blobs = max(2, K)
    centres = torch.randn(B, blobs, D, device="cuda", generator=g) * 2
    x = torch.empty(B, N, D, device="cuda", dtype=TORCH_DTYPE[dtype])
    step = 1 << 22
    for b in range(B):
        for s in range(0, N, step):
            e = min(N, s + step)
            idx = torch.randint(0, blobs, (e - s,), device="cuda", generator=g)
            x[b, s:e] = (centres[b, idx] + 0.5 * torch.randn(e - s, D, device="cuda", generator=g)).to(x.dtype)
    return x


def init_centroids(x, K):
    B, N, D = x.shape
    idx = torch.arange(K, device=x.device) * (N // K)
    return x[:, idx].clone()


def torch_baseline(x, c0, iters):
    """GEMM + argmin per chunk of rows (the N x K matrix of a chunk is materialised), then a
    scatter-add update. fp16/bf16 GEMM with fp32 accumulation; fp32 data with TF32 off."""
    B, N, D = x.shape
    K = c0.shape[1]
    chunk = max(1, min(N, (1 << 28) // K))
    c = c0.float().clone()

    def one_iter():
        nonlocal c
        new = []
        for b in range(B):
            cb = c[b]
            cn = (cb * cb).sum(-1)
            ct = cb.to(x.dtype).t().contiguous()
            labels = torch.empty(N, dtype=torch.int64, device=x.device)
            for s in range(0, N, chunk):
                xs = x[b, s:s + chunk]
                cross = (xs @ ct).float()
                labels[s:s + chunk] = (cn[None, :] - 2 * cross).argmin(dim=1)
            sums = torch.zeros(K, D, device=x.device, dtype=torch.float32)
            for s in range(0, N, chunk):
                sums.index_add_(0, labels[s:s + chunk], x[b, s:s + chunk].float())
            counts = torch.bincount(labels, minlength=K).clamp_min(1).float()
            new.append(sums / counts[:, None])
        c = torch.stack(new)

    one_iter()
    torch.cuda.synchronize()
    return events_ms(one_iter, iters)


def flash_kmeans(x, c0, iters):
    from flash_kmeans import batch_kmeans_Euclid
    K = c0.shape[1]
    batch_kmeans_Euclid(x, K, max_iters=2, tol=0.0, init_centroids=c0.clone())  # compile + autotune
    torch.cuda.synchronize()
    return events_ms(lambda: batch_kmeans_Euclid(x, K, max_iters=iters, tol=0.0, init_centroids=c0.clone()), 1) / iters


def run_fkm(bench, name, x, B, N, D, K, dtype, precision, rate, bw, path, env=None):
    """fkm_bench's JSON; a batch (B > 1) runs through fkm::fit_batched (fkm_batched_bench beside
    fkm_bench: one launch per phase over all problems), its ms_per_iter that of the batched path."""
    batched = os.path.join(os.path.dirname(bench), "fkm_batched_bench")
    use_batched = B > 1 and os.path.exists(batched)
    # fit_batched is timed by whole calls: 30 iterations a difference, so that a call's varying
    # setup (milliseconds) weighs a third of what it did with 10
    iters = "30" if use_batched else "10"
    shape = ["--batch", str(B), "--n", str(N), "--d", str(D), "--k", str(K), "--dtype", dtype, "--precision", precision,
             "--data", path, "--iters", iters, "--matrix-tflops", f"{rate:.1f}", "--hbm-gbps", f"{bw:.1f}"]
    if use_batched:
        cmd = [batched] + shape
    else:
        cmd = [bench, "--name", name, "--warmup", "3"] + shape
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    if r.returncode != 0:
        print(r.stdout, r.stderr, file=sys.stderr)
        return None
    out = json.loads(r.stdout.strip().splitlines()[-1])
    log = os.environ.get("FKM_PEERS_TIMING_LOG")
    if log and use_batched:  # the batched path's phases on this very data
        t = subprocess.run(cmd + ["--once", "1"], capture_output=True, text=True,
                           env=dict(os.environ, FKM_CUDA_TIMING="1", **(env or {})))
        with open(log, "a") as f:
            f.write(f"##### {name} {precision} {env or ''}\n{t.stderr}")
    if "ms_per_iter_batched" in out:
        out["ms_per_iter"] = out["ms_per_iter_batched"]
        out["name"] = name
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--tmp", default="/tmp/fkm_peer_data.bin")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--also", action="append", default=[], metavar="TAG:VAR=VALUE",
                    help="fkm again with an environment variable set (e.g. mma:FKM_CUDA_WGMMA=0): "
                         "rows get fkm_exact_TAG and fkm_fast_TAG, timed in the same run")
    args = ap.parse_args()
    variants = []
    for spec in args.also:
        tag, _, assign = spec.partition(":")
        var, _, value = assign.partition("=")
        variants.append((tag, {var: value}))
    only = set(filter(None, args.only.split(",")))
    f16, tf32, bw = measure_rates()
    dev = torch.cuda.get_device_name()
    print(f"device {dev}: fp16 GEMM {f16:.0f} TFLOP/s, tf32 GEMM {tf32:.0f} TFLOP/s, copy {bw:.0f} GB/s", flush=True)
    rows = []
    for name, B, N, D, K, dtype in CONFIGS:
        if only and name not in only:
            continue
        t0 = time.time()
        x = make_data(B, N, D, K, dtype)
        c0 = init_centroids(x, K)
        xs = x.view(torch.int16) if x.element_size() == 2 else x
        xs.cpu().numpy().tofile(args.tmp)
        rate = tf32 if dtype == "f32" else f16
        row = {"name": name, "batch": B, "n": N, "d": D, "k": K, "dtype": dtype, "device": dev,
               "matrix_tflops": rate, "hbm_gbps": bw, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        row["floor_ms"] = max(2 * B * N * K * D / (rate * 1e12), B * N * D * x.element_size() / (bw * 1e9)) * 1e3
        for precision in ("exact", "fast"):
            r = run_fkm(args.bench, name, x, B, N, D, K, dtype, precision, rate, bw, args.tmp)
            row[f"fkm_{precision}"] = r
            for tag, env in variants:
                row[f"fkm_{precision}_{tag}"] = run_fkm(args.bench, name, x, B, N, D, K, dtype, precision, rate, bw,
                                                        args.tmp, env)
        try:
            row["flash_kmeans_ms"] = flash_kmeans(x, c0, 10)
        except Exception as e:  # report, keep going
            row["flash_kmeans_ms"] = None
            row["flash_kmeans_error"] = repr(e)[:300]
        if not args.no_torch:
            try:
                row["torch_ms"] = torch_baseline(x, c0, 3)
            except Exception as e:
                row["torch_ms"] = None
                row["torch_error"] = repr(e)[:300]
        rows.append(row)
        del x, c0, xs
        torch.cuda.empty_cache()
        os.remove(args.tmp)
        print(json.dumps(row), flush=True)
        print(f"  ({time.time() - t0:.0f} s)", flush=True)
        with open(args.out, "w") as f:
            json.dump({"device": dev, "fp16_tflops": f16, "tf32_tflops": tf32, "copy_gbps": bw, "rows": rows}, f, indent=1)

    def ms(r, key):
        v = r.get(key)
        return v["ms_per_iter"] if isinstance(v, dict) else v

    print(f"\n{'config':22s} {'floor':>8s} {'fkm':>8s} {'fkm-fast':>8s} {'flash':>8s} {'torch':>8s} {'flash/fkm':>9s} {'fkm/floor':>9s}")
    for r in rows:
        e, f, fl, t = ms(r, "fkm_exact"), ms(r, "fkm_fast"), r.get("flash_kmeans_ms"), r.get("torch_ms")
        fmt = lambda v: f"{v:8.3f}" if v else f"{'-':>8s}"
        ratio = f"{fl / e:9.2f}" if (fl and e) else f"{'-':>9s}"
        over = f"{e / r['floor_ms']:9.2f}" if e else f"{'-':>9s}"
        print(f"{r['name']:22s} {fmt(r['floor_ms'])} {fmt(e)} {fmt(f)} {fmt(fl)} {fmt(t)} {ratio} {over}")
    for tag, _ in variants:
        print(f"\n{'config':22s} {'exact':>8s} {'exact-' + tag:>12s} {'ratio':>6s} {'fast':>8s} {'fast-' + tag:>12s} {'ratio':>6s}")
        for r in rows:
            e, eo, f, fo = ms(r, "fkm_exact"), ms(r, f"fkm_exact_{tag}"), ms(r, "fkm_fast"), ms(r, f"fkm_fast_{tag}")
            fmt = lambda v, w: f"{v:{w}.3f}" if v else f"{'-':>{w}s}"
            rat = lambda a, b: f"{b / a:6.2f}" if (a and b) else f"{'-':>6s}"
            print(f"{r['name']:22s} {fmt(e, 8)} {fmt(eo, 12)} {rat(e, eo)} {fmt(f, 8)} {fmt(fo, 12)} {rat(f, fo)}")


if __name__ == "__main__":
    main()
