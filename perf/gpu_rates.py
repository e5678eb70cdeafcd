#!/usr/bin/env python3
"""The GPU's rates for roofline floors, measured here with torch (as perf/peers.py does):
fp16 tensor-core GEMM, plain fp32 GEMM (TF32 off: the FMA rate a SIMT kernel can reach), and a
device-to-device copy (read + write bytes per second). Prints one JSON object:
  {"f16_tflops": ..., "f32_tflops": ..., "copy_gbps": ..., "source": "measured (torch ...)"}
Without torch (or a GPU) it exits 1 and prints nothing: the caller then has no floor.
"""
import json
import sys

try:
    import torch
except ImportError:
    sys.exit(1)


def events_ms(fn, reps):
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(reps):
        fn()
    e.record()
    torch.cuda.synchronize()
    return s.elapsed_time(e) / reps


def gemm_tflops(dtype, n=8192, reps=10):
    a = torch.randn(n, n, device="cuda", dtype=dtype)
    b = torch.randn(n, n, device="cuda", dtype=dtype)
    for _ in range(3):
        a @ b
    return 2 * n**3 / (events_ms(lambda: a @ b, reps) * 1e-3) / 1e12


def main():
    if not torch.cuda.is_available():
        sys.exit(1)
    torch.manual_seed(0)
    f16 = gemm_tflops(torch.float16)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    f32 = gemm_tflops(torch.float32, reps=5)
    big = torch.randn(1 << 30, device="cuda", dtype=torch.float16)  # 2 GiB
    dst = torch.empty_like(big)
    dst.copy_(big)
    bw = 2 * big.numel() * 2 / (events_ms(lambda: dst.copy_(big), 10) * 1e-3) / 1e9
    print(json.dumps({"f16_tflops": round(f16, 1), "f32_tflops": round(f32, 1), "copy_gbps": round(bw, 1),
                      "source": "measured (torch %s: fp16 and fp32 8192^3 GEMM, 2 GiB copy)" % torch.__version__,
                      "device": torch.cuda.get_device_name(0)}))


if __name__ == "__main__":
    main()
