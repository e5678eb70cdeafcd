#!/usr/bin/python3
"""numpy and fkm read each other's files.

fkm reads what numpy.save writes (format versions 1.0, 2.0 and 3.0, float16/32/64,
big-endian, Fortran order, 2-D matrices and 3-D batches of problems), gives the same clustering
for the same values however they are stored, and numpy.load reads every file fkm writes
(labels <i4, centroids <f4 / <f8, (B, N) and (B, K, D) for a batch) and the JSON report. Exits 77 (skipped under CTest) when numpy is missing.

usage: numpy_interop.py PATH/TO/fkm
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import numpy.lib.format as npf
except ImportError:
    print("numpy is not installed: skipped")
    sys.exit(77)

FKM = sys.argv[1]


def run(*args):
    r = subprocess.run([FKM, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"fkm {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r


def fit(data, out, *extra):
    run("fit", data, "--k", "5", "--seed", "3", "--labels-out", f"{out}.labels.npy",
        "--centroids-out", f"{out}.centroids.npy", "--report", f"{out}.json", "--quiet", *extra)
    labels = np.load(f"{out}.labels.npy")
    centroids = np.load(f"{out}.centroids.npy")
    with open(f"{out}.json") as f:
        report = json.load(f)
    return labels, centroids, report


def check(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)


def check_layouts(p, values, stem, labels, centroids, what):
    """The same values big-endian, in Fortran order, and both, fit exactly as the C-order <f4 file."""
    layouts = {
        "big-endian float32": values.astype(">f4"),
        "Fortran-order float32": np.asfortranarray(values.astype(np.float32)),
        "big-endian Fortran-order float32": np.asfortranarray(values.astype(">f4")),
    }
    for i, (name, arr) in enumerate(layouts.items()):
        np.save(p(f"{stem}{i}.npy"), arr)
        l2, c2, _ = fit(p(f"{stem}{i}.npy"), p(f"{stem}{i}"))
        check(np.array_equal(l2, labels) and np.array_equal(c2, centroids), f"{name} {what}: same result as C-order <f4")


with tempfile.TemporaryDirectory() as tmp:
    p = lambda name: os.path.join(tmp, name)
    rng = np.random.default_rng(0)
    centres = rng.integers(-50, 50, size=(5, 9)).astype(np.float64)
    x = centres[np.arange(211) % 5] + rng.integers(-8, 9, size=(211, 9)) / 8.0  # exact in float16

    np.save(p("x32.npy"), x.astype(np.float32))
    labels, centroids, report = fit(p("x32.npy"), p("ref"))
    check(labels.dtype == np.dtype("<i4") and labels.shape == (211,), f"labels {labels.dtype} {labels.shape}")
    check(centroids.dtype == np.dtype("<f4") and centroids.shape == (5, 9), f"centroids {centroids.dtype}")
    check(labels.min() >= 0 and labels.max() < 5, "labels in [0, k)")
    check(report["n"] == 211 and report["d"] == 9 and report["k"] == 5, "report shape keys")
    # The centroids are the means of their clusters (the last Lloyd step), to float32 rounding.
    for j in range(5):
        mean = x[labels == j].mean(axis=0)
        check(np.allclose(centroids[j], mean, rtol=1e-5, atol=1e-4), f"centroid {j} is its cluster's mean")

    check_layouts(p, x, "v", labels, centroids, "matrix")
    for version in [(1, 0), (2, 0), (3, 0)]:
        with open(p("ver.npy"), "wb") as f:
            npf.write_array(f, x.astype(np.float32), version=version)
        l2, c2, _ = fit(p("ver.npy"), p("ver"))
        check(np.array_equal(l2, labels) and np.array_equal(c2, centroids), f"format version {version}")

    np.save(p("x16.npy"), x.astype(np.float16))
    l16, c16, r16 = fit(p("x16.npy"), p("h"))
    check(c16.dtype == np.dtype("<f4") and r16["dtype"] == "float16", "float16 data gives float32 centroids")
    np.save(p("x64.npy"), x)
    l64, c64, r64 = fit(p("x64.npy"), p("d"))
    check(c64.dtype == np.dtype("<f8") and r64["dtype"] == "float64", "float64 data gives float64 centroids")

    np.save(p("w.npy"), (np.arange(211) % 4).astype(np.float64))
    lw, cw, _ = fit(p("x64.npy"), p("w"), "--weights", p("w.npy"))
    # numpy's default integer (int64) weights are the same weights.
    np.save(p("wi.npy"), np.arange(211) % 4)
    lwi, cwi, _ = fit(p("x64.npy"), p("wi"), "--weights", p("wi.npy"))
    check(np.array_equal(lwi, lw) and np.array_equal(cwi, cw), "int64 weights: same result as float64 weights")

    # Integer and bool arrays as numpy writes them (uint8 images, numpy's default int64, a
    # big-endian int32, bool features) are clustered as their exact float values.
    xi = (x * 8).astype(np.int64)
    for name, arr, as_float in [
        ("uint8", (xi % 256).astype(np.uint8), np.float32),
        ("int64", xi, np.float64),
        ("big-endian int32", xi.astype(">i4"), np.float64),
        ("bool", xi % 3 == 0, np.float32),
    ]:
        np.save(p("xi.npy"), arr)
        np.save(p("xf.npy"), arr.astype(as_float))
        li, ci, ri = fit(p("xi.npy"), p("xi"))
        lf, cf, rf = fit(p("xf.npy"), p("xf"))
        check(ri["dtype"] == np.dtype(as_float).name, f"{name} data is clustered as {np.dtype(as_float).name}")
        check(np.array_equal(li, lf) and np.array_equal(ci, cf), f"{name}: same result as the array converted by numpy")

    run("predict", p("x64.npy"), "--centroids", p("d.centroids.npy"), "--labels-out", p("pred.npy"), "--quiet")
    check(np.array_equal(np.load(p("pred.npy")), l64), "predict reproduces the fit's labels")
    r = run("predict", p("x32.npy"), "--centroids", p("ref.centroids.npy"), "--labels-out", p("pred32.npy"), "--quiet", "--report", "-")
    pr = json.loads(r.stdout)
    inertia = ((x.astype(np.float32).astype(np.float64) - centroids.astype(np.float64)[labels]) ** 2).sum()
    check(abs(pr["inertia"] - inertia) <= 1e-6 * inertia, f"predict inertia {pr['inertia']} vs numpy {inertia}")

    # A 3-D array is a batch of independent problems: each gives exactly its own 2-D fit,
    # whatever its layout; labels come back (B, N) and centroids (B, K, D).
    xb = np.stack([centres[np.arange(97) % 5] + rng.integers(-8, 9, size=(97, 9)) / 8.0 + 10 * b for b in range(3)])
    np.save(p("xb.npy"), xb.astype(np.float32))
    lb, cb, rb = fit(p("xb.npy"), p("batch"))
    check(lb.dtype == np.dtype("<i4") and lb.shape == (3, 97), f"batch labels {lb.dtype} {lb.shape}")
    check(cb.dtype == np.dtype("<f4") and cb.shape == (3, 5, 9), f"batch centroids {cb.dtype} {cb.shape}")
    check(rb["problems"] == 3 and len(rb["per_problem"]) == 3, "batch report has one entry per problem")
    for b in range(3):
        np.save(p(f"xb{b}.npy"), xb[b].astype(np.float32))
        l1, c1, r1 = fit(p(f"xb{b}.npy"), p(f"batch{b}"))
        check(np.array_equal(lb[b], l1) and np.array_equal(cb[b], c1), f"batch problem {b} equals its own 2-D fit")
        check(rb["per_problem"][b]["inertia"] == r1["inertia"], f"batch problem {b}: same inertia in the report")
    check_layouts(p, xb, "vb", lb, cb, "batch")
    np.save(p("xb64.npy"), xb)
    np.save(p("wb.npy"), rng.random((3, 97)))
    lb64, cb64, _ = fit(p("xb64.npy"), p("batch64"), "--weights", p("wb.npy"))
    check(cb64.dtype == np.dtype("<f8") and cb64.shape == (3, 5, 9), "float64 batch gives float64 centroids")
    run("predict", p("xb64.npy"), "--centroids", p("batch64.centroids.npy"), "--labels-out", p("predb.npy"), "--quiet")
    check(np.array_equal(np.load(p("predb.npy")), lb64), "predict on a batch reproduces the fit's labels")

print("numpy interop: ok")
