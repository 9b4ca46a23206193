"""x8/x16/x32_bitmask_expand rebuild a dense array from numpy.packbits(nonzero, bitorder="little")
plus the nonzero elements, bit for bit, writing exactly n elements."""

import numpy as np
import pytest

from .harness import KernelRunner

KERNELS = {1: "x8_bitmask_expand", 2: "x16_bitmask_expand", 4: "x32_bitmask_expand"}


def expand(dense: np.ndarray, guard: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Encode `dense`, run the kernel over a sentinel buffer; returns (result, untouched guard bytes)."""
    kernel = KERNELS[dense.dtype.itemsize]
    bits = dense.view(np.dtype(f"u{dense.dtype.itemsize}"))
    keep = bits != 0
    runner = KernelRunner(kernel)
    mask = runner.put(np.packbits(keep, bitorder="little"), misalign=1)
    values = runner.put(dense[keep], misalign=3)
    region = runner.put(np.full(dense.nbytes + 2 * guard, 0xA5, np.uint8))
    runner.call(kernel, dense.size, mask, values, region + guard)
    raw = np.frombuffer(runner.read_bytes(region, dense.nbytes + 2 * guard), np.uint8)
    return raw[guard:guard + dense.nbytes].view(dense.dtype), np.concatenate([raw[:guard], raw[guard + dense.nbytes:]])


@pytest.mark.parametrize("dtype", [np.int8, np.float16, np.float32])
@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 63, 200])
@pytest.mark.parametrize("density", [0.0, 0.3, 1.0])
def test_round_trip(dtype, n, density):
    rng = np.random.default_rng([n, int(density * 10)])
    dense = (rng.standard_normal(n) * 50).astype(dtype)
    dense[rng.random(n) >= density] = 0
    if n > 3 and dtype != np.int8:
        dense[3] = -0.0  # a nonzero bit pattern: must survive
    got, guard = expand(dense)
    np.testing.assert_array_equal(got.view(np.uint8), dense.view(np.uint8))
    assert (guard == 0xA5).all()
