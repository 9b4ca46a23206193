"""Scalar numpy references for the reduction kernels (wasm-kernels/f32_reduce.wat and x_reduce.wat),
each repeating the kernel's arithmetic in its order so results can be compared bit for bit
(log-sum-exp and the log of a sum in f64 excepted: $f64_exp/$f64_log are within 2 ulp of numpy's).

Shapes are [outer, r, inner] -> [outer, inner] (ArgMax: int64; CumSum and TopK keep r / k)."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np

from .reference import softmax_sum, vexp, wasm_max
from .reference_elementwise import log as vlog

f32 = np.float32
u32 = np.uint32
FLOATS = ("float32", "float64", "float16", "bfloat16")
OPS = ("max", "min", "sum", "mean", "prod", "l1", "l2", "sumsquare", "logsum", "logsumexp")


def np_dtype(name: str) -> np.dtype:
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


# -- f32_reduce.wat ---------------------------------------------------------------------------


def _flip(x: np.ndarray, flip: bool) -> np.ndarray:
    return (x.astype(f32).view(u32) ^ u32(0x80000000)).view(f32) if flip else x.astype(f32)


def rmax(x: np.ndarray, outer: int, r: int, inner: int, minimum: bool) -> np.ndarray:
    """f32_rmax: wasm max over j (order-independent), the minimum as -max(-x)."""
    x = _flip(x.reshape(outer, r, inner), minimum)
    acc = np.full((outer, inner), -np.inf, f32)
    for j in range(r):
        acc = wasm_max(acc, x[:, j, :])
    return _flip(acc, minimum)


def rnorm(x: np.ndarray, outer: int, r: int, inner: int, mode: int) -> np.ndarray:
    """f32_rnorm: terms |x| (mode 0) or |x|*|x| (1, 2) summed in f32_rsum's order; sqrt for mode 2."""
    a = np.abs(x.astype(f32).reshape(outer, r, inner))
    with np.errstate(over="ignore", invalid="ignore"):
        terms = a if mode == 0 else a * a
        if inner == 1:
            total = softmax_sum(terms[:, :, 0])[:, None]
        else:
            total = np.zeros((outer, inner), f32)
            for j in range(r):
                total = total + terms[:, j, :]
        return np.sqrt(total) if mode == 2 else total


def rlogsumexp(x: np.ndarray, outer: int, r: int, inner: int) -> np.ndarray:
    """f32_rlogsumexp: mx, the sum of vexp(x - mx) (lane sums for rows, ascending for columns),
    log(sum) + mx, or mx where it is +-inf."""
    x = x.astype(f32).reshape(outer, r, inner)
    mx = np.full((outer, inner), -np.inf, f32)
    for j in range(r):
        mx = wasm_max(mx, x[:, j, :])
    with np.errstate(invalid="ignore", over="ignore"):
        e = vexp(x - mx[:, None, :])
        if inner == 1:
            total = softmax_sum(e[:, :, 0])[:, None]
        else:
            total = np.zeros((outer, inner), f32)
            for j in range(r):
                total = total + e[:, j, :]
        y = vlog(total) + mx
    return np.where(np.isinf(mx), mx, y)


# -- x_reduce.wat -----------------------------------------------------------------------------


def _fmax(a, b, minimum=False):
    """f64.max / f64.min: NaN propagates; +0 beats -0 for max, -0 beats +0 for min."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    picked = np.minimum(a, b) if minimum else np.maximum(a, b)
    zero = (a == 0) & (b == 0)
    signed = (np.signbit(a) | np.signbit(b)) if minimum else (np.signbit(a) & np.signbit(b))
    return np.where(zero, np.where(signed, -0.0, 0.0), picked)


def _store_float(values: np.ndarray, dtype: str) -> np.ndarray:
    """$x_reduce_store: one rounding into a float dtype; into an integer one, truncation toward
    zero saturated to the dtype's range, NaN and -inf giving its smallest value."""
    target = np_dtype(dtype)
    if dtype in FLOATS:
        return values.astype(target)
    lo, hi = LIMITS[dtype]
    out = []
    for v in values.reshape(-1):
        out.append(lo if math.isnan(v) or v <= lo else hi if v >= hi else int(v))
    return _wrap(out, dtype).reshape(values.shape)


def _wrap(values, dtype: str) -> np.ndarray:
    """Python ints wrapped to the dtype's width (two's complement), or bool (nonzero)."""
    if dtype == "bool":
        return np.array([v != 0 for v in values], np.bool_)
    bits = np_dtype(dtype).itemsize * 8
    raw = np.array([v & (2**bits - 1) for v in values], np.uint64)
    return raw.astype(np.dtype(f"uint{bits}")).view(np_dtype(dtype))


def x_reduce(x: np.ndarray, op: str, outer: int, r: int, inner: int) -> np.ndarray:
    """x_reduce on an array of any dtype (numpy / ml_dtypes), [outer, r, inner] -> [outer, inner]."""
    dtype = "bool" if x.dtype == np.bool_ else x.dtype.name
    x = x.reshape(outer, r, inner)
    if dtype in FLOATS or op == "logsumexp":
        return _store_float(_fold_float(x.astype(np.float64), op, r), dtype)
    return _reduce_int(x, op, r, dtype)


def _fold_float(x: np.ndarray, op: str, r: int) -> np.ndarray:
    outer, _, inner = x.shape
    with np.errstate(all="ignore"):
        if op == "logsumexp":
            m = _fold_float(x, "max", r)
            s = np.zeros((outer, inner))
            for j in range(r):
                s = s + np.exp(x[:, j, :] - m)
            return np.where(np.isnan(m) | np.isinf(m), m, np.log(s) + m)
        init = {"max": -np.inf, "min": np.inf, "prod": 1.0}.get(op, 0.0)
        acc = np.full((outer, inner), init)
        for j in range(r):
            v = x[:, j, :]
            if op in ("max", "min"):
                acc = _fmax(acc, v, op == "min")
            elif op == "prod":
                acc = acc * v
            elif op == "l1":
                acc = acc + np.abs(v)
            elif op in ("l2", "sumsquare"):
                acc = acc + v * v
            else:
                acc = acc + v
        if op == "mean":
            return acc / r if r else np.zeros_like(acc)
        if op == "l2":
            return np.sqrt(acc)
        if op == "logsum":
            return np.log(acc)
        return acc


LIMITS = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "uint16": (0, 65535),
          "int32": (-2**31, 2**31 - 1), "uint32": (0, 2**32 - 1), "int64": (-2**63, 2**63 - 1),
          "uint64": (0, 2**64 - 1), "bool": (0, 1)}


def _reduce_int(x: np.ndarray, op: str, r: int, dtype: str) -> np.ndarray:
    outer, _, inner = x.shape
    lo64, hi64 = LIMITS["uint64" if dtype == "uint64" else "int64"]
    out = np.zeros((outer, inner), np_dtype(dtype))
    for o in range(outer):
        for i in range(inner):
            column = [int(v) for v in x[o, :, i]]
            if op in ("max", "min"):
                lo, hi = LIMITS[dtype]
                value = (max(column) if op == "max" else min(column)) if column else (lo if op == "max" else hi)
                out[o, i] = _wrap([value], dtype)[0]
                continue
            value, over = (1 if op == "prod" else 0), False
            for v in column:  # exact, unless a term or partial result leaves the 64-bit range
                term = v * value if op == "prod" else abs(v) if op == "l1" else v * v if op in ("l2", "sumsquare") else v
                value = term if op == "prod" else value + term
                over = over or not (lo64 <= term <= hi64 and lo64 <= value <= hi64)
            if over:  # the column again in f64
                out[o, i] = _store_float(_fold_float(x[o:o + 1, :, i:i + 1].astype(np.float64), op, r), dtype)[0, 0]
                continue
            if op == "mean":
                value = 0 if r == 0 else (abs(value) // r) * (1 if value >= 0 else -1)
            if op == "l2":
                out[o, i] = _store_float(np.array([[math.sqrt(value)]]), dtype)[0, 0]
            elif op == "logsum":
                log = math.log(value) if value > 0 else (-math.inf if value == 0 else math.nan)
                out[o, i] = _store_float(np.array([[log]]), dtype)[0, 0]
            else:
                if dtype not in ("int64", "uint64", "bool"):
                    lo, hi = LIMITS[dtype]
                    value = min(max(value, lo), hi)  # saturated to a narrower dtype
                out[o, i] = _wrap([value], dtype)[0]
    return out


def _wrap64(value: int, dtype: str) -> int:
    """The kernel's i64 accumulator: wrapped to 64 bits, read signed (unsigned for u64)."""
    value &= 2**64 - 1
    return value if dtype == "uint64" or value < 2**63 else value - 2**64


def argreduce(x: np.ndarray, outer: int, r: int, inner: int, minimum: bool, last: bool) -> np.ndarray:
    """x_argreduce: the best moves from j = 0 to j only on a comparison that holds (NaN: never)."""
    x = x.reshape(outer, r, inner)
    values = x.astype(np.float64) if x.dtype.kind == "f" or x.dtype == np_dtype("bfloat16") else x.astype(object)
    out = np.zeros((outer, inner), np.int64)
    for o in range(outer):
        for i in range(inner):
            best, at = values[o, 0, i], 0
            for j in range(1, r):
                v = values[o, j, i]
                if (v < best if minimum else v > best) or (last and v == best):
                    best, at = v, j
            out[o, i] = at
    return out


def cumsum(x: np.ndarray, outer: int, r: int, inner: int, exclusive: bool, reverse: bool) -> np.ndarray:
    """x_cumsum: float64 in f64, other floats with each partial sum rounded to f32, integers wrapping."""
    dtype = "bool" if x.dtype == np.bool_ else x.dtype.name
    x = x.reshape(outer, r, inner)
    order = range(r - 1, -1, -1) if reverse else range(r)
    out = np.zeros_like(x)
    if dtype in FLOATS:
        acc = np.zeros((outer, inner))
        with np.errstate(all="ignore"):
            for j in order:
                if exclusive:
                    out[:, j, :] = acc.astype(x.dtype)
                acc = acc + x[:, j, :].astype(np.float64)
                if dtype != "float64":
                    acc = acc.astype(f32).astype(np.float64)
                if not exclusive:
                    out[:, j, :] = acc.astype(x.dtype)
        return out
    acc = [[0] * inner for _ in range(outer)]
    for j in order:
        for o in range(outer):
            for i in range(inner):
                before = acc[o][i]
                acc[o][i] = _wrap64(before + int(x[o, j, i]), "int64")
                out[o, j, i] = _wrap([before if exclusive else acc[o][i]], dtype)[0]
    return out


def topk(x: np.ndarray, outer: int, r: int, inner: int, k: int, largest: bool) -> tuple[np.ndarray, np.ndarray]:
    """x_topk: sorted by value (NaN above +inf, -0 == +0), equal values by lower index."""
    x = x.reshape(outer, r, inner)
    is_float = x.dtype.kind == "f" or x.dtype == np_dtype("bfloat16")
    values = np.zeros((outer, k, inner), x.dtype)
    indices = np.zeros((outer, k, inner), np.int64)
    for o in range(outer):
        for i in range(inner):
            column = x[o, :, i]

            def key(j):
                v = float(column[j]) if is_float else int(column[j])
                if is_float and math.isnan(v):
                    rank = (1, 0.0)
                else:
                    rank = (0, v + 0.0)
                return (tuple(-part for part in rank) if largest else rank), j

            order = sorted(range(r), key=key)[:k]
            values[o, :, i] = column[order]
            indices[o, :, i] = order
    return values, indices
