#!/usr/bin/python3
"""A host model of the CUDA exact mode's screen (core/kernels/screen.hpp), to predict how many
rows it sends to the re-score on the perf suite's data, and to check on the host that the bound
never proves a wrong label (numpy; no GPU).

  /usr/bin/python3 perf/screen_model.py [--rows 4000] [--iters 12] [--only NAME,...]

For each config of perf/peers.py (data made the same way: blobs = K, centres 2 * randn, noise
0.5 * randn; initial centroids K evenly spaced points) it takes a sample of rows, scores them
against every centroid as the screen does (one fp16/bf16 term per centroid, or TF32 points and
centroids, fp32 accumulation, scores fma(mul, acc, bias)), derives the bound of screen.hpp with
the constants of operands.cuh, and counts the rows proof 1 leaves (near: the pairs pass runs
them) and the rows proof 2 leaves (open: the fp32-accurate re-score runs them), at the
first assignment (K data points as centroids) and with converged centroids (the blob centres),
and along a scaled-down Lloyd run (lloyd_fractions). It stops with an error if a proof claims a
label (or a pair) that does not hold the fp64 argmin. numpy's fp32 products are not the tensor cores' (their sums are
truncated, numpy's rounded), so this checks the derivation, not the hardware: the device tests
do that.
"""
import argparse, math, sys
import numpy as np

CONFIGS = [  # name, N, D, K, dtype (as perf/peers.py)
    ("b32_n74256_k1000", 74256, 128, 1000, "f16"),
    ("n1m_k1024", 1 << 20, 128, 1024, "f16"),
    ("n1m_k16", 1 << 20, 128, 16, "f16"),
    ("n1m_k65536", 1 << 20, 128, 65536, "f16"),
    ("n8m_k1024", 8 << 20, 128, 1024, "f16"),
    ("n1m_d768_k1024_f32", 1 << 20, 768, 1024, "f32"),
    ("n32m_k4096", 32 << 20, 128, 4096, "f16"),
]


def tf32(a):
    """Round fp32 to tf32 (10 fraction bits), ties away from zero, as cvt.rna.tf32.f32."""
    b = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x1000) & 0xFFFFE000
    return b.astype(np.uint32).view(np.float32)


def bf16(a):
    """Round to bfloat16 (nearest, ties to even), kept in fp32."""
    b = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return b.astype(np.uint32).view(np.float32)


def operands(c, fmt, dpad, s_total, wide_shift):
    """c~ (fp32 array holding the operand values), mul, bias, kappa, lambda as operands.cuh."""
    k, d = c.shape
    amax = np.abs(c).max(axis=1)
    e = np.array([math.frexp(v)[1] - 1 if v > 0 else 0 for v in amax])  # ilogb
    t = np.where(amax > 0, e - 13 if fmt == "f16" else e + wide_shift, s_total)
    t = np.maximum(t, s_total - 120)
    want = c * np.ldexp(1.0, -t)[:, None]
    if fmt == "f16":
        ct = want.astype(np.float16).astype(np.float32)
    elif fmt == "bf16":
        ct = bf16(want.astype(np.float32))
    else:
        ct = tf32(want.astype(np.float32))
    mul = np.ldexp(-2.0, t - s_total)
    norm2 = (c.astype(np.float64) ** 2).sum(axis=1)
    bias64 = norm2 * math.ldexp(1.0, -s_total)
    bias = bias64.astype(np.float32)
    steps = dpad // (8 if fmt == "f32" else 16)
    sd = steps * 2.0 ** -20
    gamma = sd / (1 - sd)
    mu = 2.0 ** -14 if fmt == "f16" else 2.0 ** -126
    grow = 1 + (dpad + 8) * 2.0 ** -52
    cn = np.sqrt((ct.astype(np.float64) ** 2).sum(axis=1)) * grow
    rho = np.sqrt(((want - ct) ** 2).sum(axis=1)) * grow
    root = math.sqrt(dpad) * (1 + 2.0 ** -50)
    am = np.abs(mul)
    beta = (2.0 ** -23 + (dpad + 4) * 2.0 ** -52) * bias64 + 2.0 ** -149
    kappa = am * (gamma * cn + rho + mu * root)
    nu = am * ((1 + gamma) * cn + mu * root)
    lam = beta + 2.0 ** -149 + am * (mu * root * cn + steps * 2.0 ** -126)
    up = 1 + 2 ** -30
    return ct, mul.astype(np.float32), bias, float(kappa.max()) * up, float(nu.max()) * up, float(lam.max()) * up


def screen(x, c, fmt):
    """Fraction of rows not proved; raises if a proved label is not the fp64 argmin."""
    n, d = x.shape
    dpad = -(-d // (32 if fmt == "f32" else 64)) * (32 if fmt == "f32" else 64)
    a = math.frexp(float(np.abs(x).max()))[1] - 1
    s_total = 2 * a - 20
    sigma = math.ldexp(1.0, -s_total)
    ct, mul, bias, kappa, nu, lam = operands(c, fmt, dpad, s_total, max(a - 20, -100))
    xs = tf32(x) if fmt == "f32" else x.astype(np.float32)
    acc = xs @ ct.T  # fp32
    s = (mul[None, :].astype(np.float64) * acc + bias[None, :]).astype(np.float32)  # one rounding, as fmaf
    order = np.argsort(s, axis=1, kind="stable")[:, :3]
    rows = np.arange(n)
    j1, j2 = order[:, 0], order[:, 1]
    s1, s2 = s[rows, j1].astype(np.float64), s[rows, j2].astype(np.float64)
    s3 = s[rows, order[:, 2]].astype(np.float64) if c.shape[0] > 2 else np.full(n, np.inf)
    x64 = x.astype(np.float64)
    exact_all = (c ** 2).sum(axis=1)[None, :] - 2 * x64 @ c.T
    xx = (x64 ** 2).sum(axis=1)
    grow = 1 + (d + 8) * 2.0 ** -52
    norm = np.sqrt(xx) * grow
    dnorm = np.sqrt(((x64 - xs.astype(np.float64)) ** 2).sum(axis=1)) * grow

    def highest(j):  # the upper end of j's exact score (sigma units)
        dist = ((x64 - c[j]) ** 2).sum(axis=1)
        v = exact_all[rows, j] * sigma
        return v + (d + 8) * 2.0 ** -51 * (dist + xx) * sigma + 2.0 ** -40 * np.abs(v)

    def lowest(v):  # the least exact score of a centroid computed at >= v
        return v - (2.0 ** -23 + 2.0 ** -40) * np.abs(v) - norm * kappa - dnorm * nu - lam

    truth = exact_all.argmin(axis=1)
    proved = lowest(s2) > highest(j1)
    if int((proved & (truth != j1)).sum()):
        raise AssertionError("proof 1 proved a label that is not the fp64 argmin")
    pair = ~proved & (lowest(s3) > np.minimum(highest(j1), highest(j2)))
    if int((pair & (truth != j1) & (truth != j2)).sum()):
        raise AssertionError("proof 2 proved a pair that does not hold the fp64 argmin")
    return 1 - proved.mean(), 1 - (proved | pair).mean()


def make_data(rng, n_total, rows, d, k, dtype):
    """Sample rows, the initial centroids (K data points: each a random blob's centre plus
    noise) and the converged ones (blob centres plus the noise of a mean of N / K points)."""
    blobs = max(2, k)
    centres = rng.standard_normal((blobs, d)) * 2
    x = centres[rng.integers(blobs, size=rows)] + 0.5 * rng.standard_normal((rows, d))
    c0 = centres[rng.integers(blobs, size=k)] + 0.5 * rng.standard_normal((k, d))
    c_end = centres[:k] + 0.5 / math.sqrt(max(1, n_total // k)) * rng.standard_normal((k, d))
    cast = np.float16 if dtype == "f16" else np.float32
    return x.astype(cast).astype(np.float64), c0.astype(cast).astype(np.float64), c_end


def lloyd_fractions(rng, n_total, d, k, dtype, iters):
    """The screen's re-score fraction along a Lloyd run on a scaled-down copy of the config:
    at most 64 blobs and 1000 points per centroid (the per-blob dynamics of the real config:
    evenly spaced initial centroids put several centroids into some blobs, whose points then
    sit near the boundaries between them)."""
    ks = min(k, 64)
    per = max(1, min(n_total // k, 1000))
    n = ks * per
    blobs = max(2, ks)
    centres = rng.standard_normal((blobs, d)) * 2
    cast = np.float16 if dtype == "f16" else np.float32
    x = (centres[rng.integers(blobs, size=n)] + 0.5 * rng.standard_normal((n, d))).astype(cast).astype(np.float64)
    c = x[np.arange(ks) * (n // ks)].copy()
    out = []
    for _ in range(iters + 1):
        out.append(screen(x, c, dtype))
        lab = ((c ** 2).sum(1)[None, :] - 2 * x @ c.T).argmin(1)
        for j in np.unique(lab):
            c[j] = x[lab == j].mean(0)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--only", default="")
    ap.add_argument("--iters", type=int, default=12, help="Lloyd iterations of the scaled-down run")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    rng = np.random.default_rng(1234)
    for name, n, d, k, dtype in CONFIGS:
        if only and name not in only:
            continue
        x, c0, c_end = make_data(rng, n, args.rows, d, k, dtype)
        first = screen(x, c0, dtype)
        last = screen(x, c_end, dtype)
        print(f"{name:22s} near / open rows: {100 * first[0]:.2f} / {100 * first[1]:.2f}% from the initial centroids, "
              f"{100 * last[0]:.2f} / {100 * last[1]:.2f}% at the blob centres", flush=True)
        run = lloyd_fractions(rng, n, d, k, dtype, args.iters)
        print(f"{'':22s} scaled-down Lloyd run, assignment 0..{args.iters}, near / open %: " +
              " ".join(f"{100 * f:.2f}/{100 * o:.2f}" for f, o in run), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
