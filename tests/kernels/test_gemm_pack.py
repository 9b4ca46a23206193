"""f32_gemm_pack_b: run-time packing gives exactly pack_f32_gemm's layout (zero bias), and the
GEMM kernels on a run-time packed operand give the reference GEMM's bits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewasm.backend.packing import pack_f32_gemm, packed_f32_gemm_size

from . import reference as ref
from .harness import KernelRunner, assert_same_bits, interesting_f32


def pack(b: np.ndarray, row_pad: int = 0) -> np.ndarray:
    """Pack b (rows padded by row_pad floats in memory, to exercise the stride)."""
    k, n = b.shape
    stored = np.concatenate([b, np.full((k, row_pad), np.nan, np.float32)], axis=1)
    runner = KernelRunner("f32_gemm_pack_b")
    b_off = runner.put_at_end(stored)
    size = packed_f32_gemm_size(k, n)
    w_off = runner.put(np.full(size + 3, 9.0, np.float32))  # sentinel past the end
    runner.call("f32_gemm_pack_b", k, n, b_off, 4 * (n + row_pad), w_off)
    packed = runner.read(w_off, (size + 3,))
    assert (packed[size:] == 9.0).all(), "wrote past the packed size"
    return packed[:size]


@pytest.mark.parametrize("k, n", [(0, 5), (1, 1), (3, 7), (4, 8), (5, 9), (2, 16), (7, 17), (16, 64)])
@pytest.mark.parametrize("row_pad", [0, 3])
def test_layout_equals_compile_time_packing(k, n, row_pad):
    b = interesting_f32(np.random.default_rng([k, n]), (k, n))
    packed = pack(b, row_pad)
    assert np.array_equal(packed.view(np.uint32), pack_f32_gemm(b, None).view(np.uint32))


def test_zero_columns_write_nothing():
    runner = KernelRunner("f32_gemm_pack_b")
    w = runner.put(np.full(8, 3.0, np.float32))
    runner.call("f32_gemm_pack_b", 4, 0, runner.put(np.zeros(4, np.float32)), 0, w)
    assert (runner.read(w, (8,)) == 3.0).all()


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 9), st.integers(0, 12), st.integers(1, 19), st.integers(0, 2**32 - 1))
def test_property_gemm_on_packed_activation(m, k, n, seed):
    rng = np.random.default_rng(seed)
    a, b = interesting_f32(rng, (m, k)), interesting_f32(rng, (k, n))
    runner = KernelRunner("f32_gemm_pack_b", "f32_gemm_4x8")
    b_off, a_off = runner.put(b), runner.put(a)
    w_off = runner.alloc(4 * packed_f32_gemm_size(k, n))
    c_off = runner.alloc(4 * m * n)
    runner.call("f32_gemm_pack_b", k, n, b_off, 4 * n, w_off)
    runner.call("f32_gemm_4x8", m, n, k, a_off, 4 * k, w_off, c_off, 4 * n, float("-inf"), float("inf"))
    assert_same_bits(runner.read(c_off, (m, n)), ref.gemm(a, b, None, float("-inf"), float("inf")))
