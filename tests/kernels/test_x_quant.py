"""i32_matmul (wasm-kernels/x_quant.wat) against a scalar int32 reference: odd sizes, batches with
and without a repeated operand, k = 0, extreme values that wrap."""

from __future__ import annotations

import numpy as np
import pytest

from .harness import KernelRunner


def reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Scalar loops, wrapping modulo 2^32 like int32 arithmetic."""
    batch, m, k = a.shape
    n = b.shape[2]
    out = np.zeros((batch, m, n), np.int32)
    for t in range(batch):
        for i in range(m):
            for j in range(n):
                acc = 0
                for l in range(k):
                    acc = (acc + int(a[t, i, l]) * int(b[t, l, j])) % 2**32
                out[t, i, j] = acc - 2**32 if acc >= 2**31 else acc
    return out


def run(a: np.ndarray, b: np.ndarray, a_repeat: bool = False, b_repeat: bool = False) -> np.ndarray:
    runner = KernelRunner("i32_matmul")
    batch = max(a.shape[0], b.shape[0])
    m, k, n = a.shape[1], a.shape[2], b.shape[2]
    a_off, b_off = runner.put(np.ascontiguousarray(a, np.int32)), runner.put(np.ascontiguousarray(b, np.int32))
    c_off = runner.alloc(max(batch * m * n * 4, 4))
    runner.call("i32_matmul", batch, m, k, n, a_off, 0 if a_repeat else m * k * 4, b_off, 0 if b_repeat else k * n * 4,
                c_off)
    return runner.read(c_off, (batch, m, n), np.int32)


@pytest.mark.parametrize("batch, m, k, n", [(1, 1, 1, 1), (1, 3, 5, 7), (2, 4, 1, 3), (3, 1, 17, 1), (2, 5, 9, 6)])
def test_i32_matmul_matches_reference(batch, m, k, n):
    rng = np.random.default_rng([batch, m, k, n])
    a = rng.integers(-300, 300, (batch, m, k), dtype=np.int32)
    b = rng.integers(-300, 300, (batch, k, n), dtype=np.int32)
    np.testing.assert_array_equal(run(a, b), reference(a, b))


def test_i32_matmul_repeats_an_operand():
    rng = np.random.default_rng(1)
    a = rng.integers(-255, 256, (1, 3, 4), dtype=np.int32)
    b = rng.integers(-255, 256, (4, 4, 2), dtype=np.int32)
    np.testing.assert_array_equal(run(a, b, a_repeat=True), reference(np.repeat(a, 4, axis=0), b))
    np.testing.assert_array_equal(run(b.transpose(0, 2, 1).copy(), a.transpose(0, 2, 1).copy(), b_repeat=True),
                                  reference(b.transpose(0, 2, 1), np.repeat(a.transpose(0, 2, 1), 4, axis=0)))


def test_i32_matmul_wraps_and_k_zero():
    big = np.array([[[2**31 - 1, 2**31 - 1]]], np.int32)
    got = run(big, np.array([[[2], [3]]], np.int32))
    np.testing.assert_array_equal(got, reference(big, np.array([[[2], [3]]], np.int32)))
    assert run(np.zeros((1, 2, 0), np.int32), np.zeros((1, 0, 3), np.int32)).tolist() == [[[0] * 3] * 2]
