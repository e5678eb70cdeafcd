#!/usr/bin/env python3
"""flash-kmeans on one batched config, with its data written for fkm_batched_bench --data (the
same numbers for both). Prints one JSON line: flash-kmeans ms/iter (batch_kmeans_Euclid, tol 0,
K evenly spaced initial points as perf/peers.py) or the error it raised.
  PYTHONPATH=<dir holding flash_kmeans> perf/batched_peer.py B N D K OUT.bin"""
import json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from peers import make_data, init_centroids, flash_kmeans  # noqa: E402

B, N, D, K = (int(v) for v in sys.argv[1:5])
path = sys.argv[5]
x = make_data(B, N, D, K, "f16")
c0 = init_centroids(x, K)
x.view(torch.int16).cpu().numpy().tofile(path)
row = {"impl": "flash-kmeans", "batch": B, "n": N, "d": D, "k": K, "dtype": "f16", "device": torch.cuda.get_device_name()}
try:
    row["ms_per_iter"] = flash_kmeans(x, c0, 10)
except Exception as e:  # the peer may not run on this device: say why
    row["error"] = repr(e)[:300]
print(json.dumps(row), flush=True)
