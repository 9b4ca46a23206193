"""f32_transpose: exact bit moves (NaN payloads included) for odd shapes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import reference as ref
from .harness import KernelRunner


def transpose(x: np.ndarray) -> np.ndarray:
    runner = KernelRunner("f32_transpose")
    x_off = runner.put(x)
    y_off = runner.alloc(x.nbytes + 8) + 4  # 4 guard bytes either side
    runner.write(y_off - 4, np.full(x.size + 2, 0xA5A5A5A5, np.uint32))
    runner.call("f32_transpose", x.shape[0], x.shape[1], x_off, y_off)
    guards = runner.read(y_off - 4, 1, np.uint32), runner.read(y_off + x.nbytes, 1, np.uint32)
    assert all(g[0] == 0xA5A5A5A5 for g in guards), "wrote outside y"
    return runner.read(y_off, (x.shape[1], x.shape[0]), np.uint32).view(np.float32)


def random_bits(rng, shape) -> np.ndarray:
    """Every 32-bit pattern is fair game, NaNs with payloads included: a transpose moves bits."""
    return rng.integers(0, 2**32, shape, dtype=np.uint64).astype(np.uint32).view(np.float32)


@pytest.mark.parametrize("rows", [1, 2, 3, 4, 5, 8, 13])
@pytest.mark.parametrize("cols", [1, 3, 4, 7, 16, 31])
def test_exact_bits(rows, cols):
    x = random_bits(np.random.default_rng([rows, cols]), (rows, cols))
    y = transpose(x)
    np.testing.assert_array_equal(y.view(np.uint32), ref.transpose(x).view(np.uint32))


@pytest.mark.parametrize("shape", [(0, 5), (5, 0)])
def test_empty_writes_nothing(shape):
    assert transpose(np.zeros(shape, np.float32)).size == 0


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_property_exact_bits(rows, cols, seed):
    x = random_bits(np.random.default_rng(seed), (rows, cols))
    np.testing.assert_array_equal(transpose(x).view(np.uint32), ref.transpose(x).view(np.uint32))
