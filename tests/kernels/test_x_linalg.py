"""x_det (wasm-kernels/x_linalg.wat) against a scalar LU reference with the same pivoting in f64:
orders 0..9, batches, singular matrices, row swaps, float32/float64/float16/bfloat16, NaN."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from edgewasm.dtypes import KERNEL_CODES

from .harness import KernelRunner

DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64), "float16": np.dtype(np.float16),
          "bfloat16": np.dtype(ml_dtypes.bfloat16)}


def reference(a: np.ndarray) -> float:
    """Gaussian elimination with partial pivoting (first row of largest magnitude), in f64 scalars."""
    n = a.shape[0]
    m = [[float(a[i, j]) for j in range(n)] for i in range(n)]
    det = 1.0
    for k in range(n):
        p = k
        for i in range(k + 1, n):
            if abs(m[i][k]) > abs(m[p][k]):
                p = i
        if p != k:
            m[p], m[k] = m[k], m[p]
            det = -det
        pivot = m[k][k]
        if pivot == 0:
            return 0.0
        det *= pivot
        for i in range(k + 1, n):
            f = m[i][k] / pivot
            for j in range(k + 1, n):
                m[i][j] = m[i][j] - f * m[k][j]
    return det


def run_det(x: np.ndarray) -> np.ndarray:
    *batch_shape, n, _ = x.shape
    batch = int(np.prod(batch_shape)) if batch_shape else 1
    name = "bfloat16" if x.dtype == ml_dtypes.bfloat16 else x.dtype.name
    runner = KernelRunner("x_det")
    x_off = runner.put_at_end(np.ascontiguousarray(x)) if x.nbytes else runner.alloc(0)
    y_off = runner.alloc(batch * x.dtype.itemsize)
    scratch = runner.alloc(8 * n * n + 8)
    runner.call("x_det", KERNEL_CODES[name], batch, n, x_off, y_off, scratch)
    return runner.read(y_off, (batch,), x.dtype)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    fa, fb = a.astype(np.float64), b.astype(np.float64)
    return bool(np.all((np.isnan(fa) & np.isnan(fb)) | (fa == fb)))


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 9])
def test_x_det_matches_reference(dtype, n):
    rng = np.random.default_rng([n, list(DTYPES).index(dtype)])
    x = rng.standard_normal((5, n, n)).astype(DTYPES[dtype])
    want = np.array([reference(m) for m in x]).astype(DTYPES[dtype])
    assert same(run_det(x), want)
    if n:
        np.testing.assert_allclose(run_det(x).astype(np.float64), np.linalg.det(x.astype(np.float64)),
                                   rtol=1e-2 if dtype in ("float16", "bfloat16") else 1e-5, atol=1e-6)


def test_x_det_special_matrices():
    singular = np.array([[1, 2, 3], [2, 4, 6], [1, 0, 1]], np.float64)
    swap = np.array([[0, 1], [1, 0]], np.float64)  # a row swap: -1
    zero_column = np.array([[0, 1], [0, 5]], np.float64)
    nan = np.array([[np.nan, 1], [2, 3]], np.float64)
    assert run_det(singular[None]).tolist() == [0.0]
    got = run_det(np.stack([swap, zero_column, nan]))
    assert got[0] == -1 and got[1] == 0 and not np.signbit(got[1]) and np.isnan(got[2])
    assert run_det(np.eye(6, dtype=np.float32)[None]).tolist() == [1.0]
    assert run_det(np.zeros((3, 0, 0), np.float32)).tolist() == [1.0, 1.0, 1.0]


# -- f64_matmul -----------------------------------------------------------------------------------

def run_f64_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    rows, k = x.shape
    m = w.shape[1]
    runner = KernelRunner("f64_matmul")
    x_off = runner.put(x)
    w_off = runner.put_at_end(w) if w.nbytes else runner.alloc(0)
    y_off = runner.alloc(8 * rows * m)
    runner.write(y_off, np.full(rows * m, 7.0))  # stale values must be overwritten
    runner.call("f64_matmul", rows, k, m, x_off, w_off, y_off)
    return runner.read(y_off, (rows, m), np.float64)


def ordered_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Each output's products added in order of t, one rounding per multiply and per add."""
    y = np.zeros((x.shape[0], w.shape[1]))
    for t in range(x.shape[1]):
        y = y + x[:, t:t + 1] * w[t:t + 1, :]
    return y


@pytest.mark.parametrize("rows, k, m", [(1, 1, 1), (3, 5, 7), (2, 16, 2), (4, 9, 33), (1, 0, 3), (5, 31, 1)])
def test_f64_matmul_matches_the_ordered_sum_bit_for_bit(rows, k, m):
    rng = np.random.default_rng([rows, k, m])
    x, w = rng.standard_normal((rows, k)) * 1e3, rng.standard_normal((k, m))
    got = run_f64_matmul(x, w)
    assert got.tobytes() == ordered_matmul(x, w).tobytes()


def test_f64_matmul_specials():
    x = np.array([[np.inf, 1.0], [np.nan, 0.0], [1e308, 1e308]])
    w = np.array([[1.0, 0.0], [2.0, -1.0]])
    got = run_f64_matmul(x, w)
    assert got[0, 0] == np.inf and np.isnan(got[0, 1]) and np.isnan(got[1]).all() and got[2, 0] == np.inf
    assert got[0, 1].tobytes() == np.float64(np.nan).tobytes()  # inf * 0: the canonical positive NaN
    assert {got[1, 0].view(np.uint64), got[1, 1].view(np.uint64)} == {np.uint64(0x7ff8000000000000)}


@pytest.mark.parametrize("dtype, bits", [(np.float32, 0x7fc00000), (np.float64, 0x7ff8000000000000)])
def test_x_det_nan_is_canonical(dtype, bits):
    x = np.array([[[np.inf, 1], [np.inf, 1]], [[-np.nan, 1], [2, 3]]], dtype)
    got = run_det(x)
    assert [int(v) for v in got.view(np.uint32 if dtype == np.float32 else np.uint64)] == [bits, bits]
