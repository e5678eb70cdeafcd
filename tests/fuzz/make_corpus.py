#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus (tests/fuzz/corpus/): small valid files of every layout the
readers accept and broken ones next to each error path. The output is committed; rerun this
script (numpy needed) only to change it. Deterministic: the same bytes every run."""
import io
import os
import struct
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
npy_dir = os.path.join(here, "corpus", "npy")
vecs_dir = os.path.join(here, "corpus", "vecs")
for d in (npy_dir, vecs_dir):
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))

rng = np.random.default_rng(7)


def npy_bytes(a, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, a)
    else:
        np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def raw_npy(dict_text, data=b"", major=1):
    prefix = 10 if major == 1 else 12
    body = dict_text.encode("latin1")
    total = (prefix + len(body) + 1 + 63) // 64 * 64
    hlen = total - prefix
    head = b"\x93NUMPY" + bytes([major, 0]) + (struct.pack("<H", hlen) if major == 1 else struct.pack("<I", hlen))
    return head + body + b" " * (hlen - len(body) - 1) + b"\n" + data


npy = {}
m = rng.standard_normal((5, 3))
npy["f32"] = npy_bytes(m.astype("<f4"))
npy["f64"] = npy_bytes(m.astype("<f8"))
npy["f16"] = npy_bytes(m.astype("<f2"))
npy["u2_bf16"] = npy_bytes((m.astype("<f4").view("<u4") >> 16).astype("<u2"))
npy["f32_big_endian"] = npy_bytes(m.astype(">f4"))
npy["f64_fortran"] = npy_bytes(np.asfortranarray(m.astype("<f8")))
npy["f32_v2"] = npy_bytes(m.astype("<f4"), version=(2, 0))
npy["f32_v3"] = npy_bytes(m.astype("<f4"), version=(3, 0))
npy["f32_1d"] = npy_bytes(rng.standard_normal(7).astype("<f4"))
npy["i4_1d"] = npy_bytes(np.arange(6, dtype="<i4"))
npy["u1_2d"] = npy_bytes(np.arange(12, dtype="|u1").reshape(4, 3))
npy["f32_3d"] = npy_bytes(rng.standard_normal((2, 2, 3)).astype("<f4"))
npy["f32_0d"] = npy_bytes(np.float32(1.5))
npy["f32_zero_rows"] = npy_bytes(np.zeros((0, 3), dtype="<f4"))
npy["f32_one_col"] = npy_bytes(np.ones((4, 1), dtype="<f4"))
npy["nan_inf"] = npy_bytes(np.array([[np.nan, np.inf], [-np.inf, 0.0]], dtype="<f4"))
npy["complex"] = npy_bytes(np.ones((2, 2), dtype="<c8"))
npy["bool"] = npy_bytes(np.ones((2, 2), dtype="?"))
# Integer and bool data, converted exactly (or refused beyond 2^53), and the usual mix-ups.
npy["i8_2d"] = npy_bytes(np.array([[1, -2], [2**53 + 1, 4]], dtype="<i8"))
npy["u8_2d"] = npy_bytes(np.array([[0, 2**64 - 1]], dtype="<u8"))
npy["i1_2d"] = npy_bytes(np.arange(-3, 3, dtype="|i1").reshape(2, 3))
npy["i2_big_endian"] = npy_bytes(np.arange(6, dtype=">i2").reshape(3, 2))
npy["u4_fortran"] = npy_bytes(np.asfortranarray(np.arange(6, dtype="<u4").reshape(2, 3)))
npy["bool_2d"] = npy_bytes(np.array([[True, False], [False, True]]))
npy["trailing_bytes"] = npy["f32"] + b"\0" * 7
npy["gzip"] = b"\x1f\x8b\x08\x00" + b"\0" * 20
npy["zip"] = b"PK\x03\x04" + b"\0" * 20
good = npy["f32"]
npy["truncated_data"] = good[:-5]
npy["truncated_header"] = good[:40]
npy["magic_only"] = good[:6]
npy["bad_magic"] = b"\x93NUMPZ" + good[6:]
npy["bad_version"] = good[:6] + b"\x04\x00" + good[8:]
npy["header_len_past_end"] = good[:8] + b"\xff\xff" + good[10:]
npy["dict_missing_shape"] = raw_npy("{'descr': '<f4', 'fortran_order': False, }", b"\0" * 8)
npy["dict_extra_key"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1, }", b"\0" * 8)
npy["dict_duplicate_key"] = raw_npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }")
npy["shape_not_tuple"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", b"\0" * 8)
npy["shape_negative"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }")
npy["shape_huge"] = raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }")
npy["shape_overflow"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 1), }")
npy["shape_long_literal"] = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L), }", b"\0" * 8)
npy["descr_record"] = raw_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", b"\0" * 4)
npy["descr_datetime"] = raw_npy("{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8)
npy["descr_no_order"] = raw_npy("{'descr': 'f4', 'fortran_order': False, 'shape': (1,), }", b"\0" * 4)
npy["descr_pipe_f4"] = raw_npy("{'descr': '|f4', 'fortran_order': False, 'shape': (1, 1), }", b"\0" * 4)
npy["fortran_3d"] = raw_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2, 2), }", b"\0" * 32)
npy["unterminated_string"] = raw_npy("{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }", b"\0" * 4)
npy["double_quotes"] = raw_npy('{"descr": "<f4", "fortran_order": False, "shape": (1, 2), }', b"\0" * 8)
npy["v2_header"] = raw_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }", b"\0" * 8, major=2)
for name, data in npy.items():
    with open(os.path.join(npy_dir, name + ".npy"), "wb") as f:
        f.write(data)

# *vecs inputs: the first byte picks the format (0 fvecs, 1 bvecs, 2 ivecs), the rest is the file.
def vecs_rows(rows, elem_fmt, dim=None):
    out = b""
    for r in rows:
        out += struct.pack("<i", len(r) if dim is None else dim)
        out += struct.pack("<%d%s" % (len(r), elem_fmt), *r)
    return out


fv = [[0.5, -1.0, 2.0], [3.0, 4.0, 5.25], [1e30, -0.0, 7.0]]
bv = [[1, 2, 3, 255], [0, 9, 8, 7]]
iv = [[1, 2], [3, 4], [5, 6]]
vecs = {
    "fvecs": b"\0" + vecs_rows(fv, "f"),
    "bvecs": b"\1" + vecs_rows(bv, "B"),
    "ivecs": b"\2" + vecs_rows(iv, "i"),
    "fvecs_one_row": b"\0" + vecs_rows([[1.0]], "f"),
    "fvecs_truncated": b"\0" + vecs_rows(fv, "f")[:-3],
    "fvecs_ragged": b"\0" + vecs_rows([[1.0, 2.0], [3.0, 4.0, 5.0], [6.0]], "f"),
    "fvecs_second_row_lies": b"\0" + vecs_rows([[1.0, 2.0]], "f") + vecs_rows([[3.0, 4.0]], "f", dim=3)[:12],
    "bvecs_negative_dim": b"\1" + struct.pack("<i", -4) + b"\0" * 4,
    "ivecs_zero_dim": b"\2" + struct.pack("<i", 0),
    "fvecs_huge_dim": b"\0" + struct.pack("<i", 2**31 - 1) + b"\0" * 8,
    "short_header": b"\0\1\0",
    "nan_row": b"\0" + vecs_rows([[float("nan"), 1.0]], "f"),
}
for name, data in vecs.items():
    with open(os.path.join(vecs_dir, name), "wb") as f:
        f.write(data)
print("wrote %d .npy and %d *vecs seeds" % (len(npy), len(vecs)))
