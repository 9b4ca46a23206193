"""u8_transpose and u8_maxpool_c16 (statically quantized activations): bit-exact against numpy for
odd sizes, channel tails (c % 16), padding taps and strided windows; nothing written outside Y."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewasm.backend.indirection import indirection
from edgewasm.window import Window

from .harness import KernelRunner

GUARD = 16


def transpose(x: np.ndarray) -> np.ndarray:
    runner = KernelRunner("u8_transpose")
    x_off = runner.put(x, misalign=3)
    y_off = runner.put(np.full(x.size + 2 * GUARD, 0xA5, np.uint8), misalign=1)
    runner.call("u8_transpose", x.shape[0], x.shape[1], x_off, y_off + GUARD)
    got = np.frombuffer(runner.read_bytes(y_off, x.size + 2 * GUARD), np.uint8)
    assert (got[:GUARD] == 0xA5).all() and (got[GUARD + x.size:] == 0xA5).all(), "wrote outside y"
    return got[GUARD:GUARD + x.size].reshape(x.shape[1], x.shape[0])


@pytest.mark.parametrize("rows", [1, 2, 3, 7, 16, 33])
@pytest.mark.parametrize("cols", [1, 4, 5, 17])
def test_transpose_exact(rows, cols):
    x = np.random.default_rng([rows, cols]).integers(0, 256, (rows, cols)).astype(np.uint8)
    np.testing.assert_array_equal(transpose(x), x.T)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0)])
def test_transpose_empty_writes_nothing(shape):
    assert transpose(np.zeros(shape, np.uint8)).size == 0


def maxpool_reference(x: np.ndarray, ind: np.ndarray, channels: int) -> np.ndarray:
    """Y[p, c] = max over taps of x at the tap's pixel, 0 for a padding tap (scalar loops)."""
    flat = x.reshape(-1)
    y = np.zeros((ind.shape[0], channels), np.uint8)
    for p in range(ind.shape[0]):
        for c in range(channels):
            y[p, c] = max(0 if off < 0 else int(flat[off + c]) for off in ind[p])
    return y


def run_maxpool(x: np.ndarray, window: Window, channels: int) -> tuple[np.ndarray, np.ndarray]:
    ind = indirection(window, 1, channels)
    m, taps = ind.shape
    runner = KernelRunner("u8_maxpool_c16")
    pad_off = runner.put_at_end(np.zeros(-(-channels // 16) * 16, np.uint8))
    x_off = pad_off - x.size  # an over-read of X hits the pad row; one of the pad row traps
    runner.write(x_off, x.reshape(-1))
    ind_off = runner.put(ind)
    y_off = runner.put(np.full(m * channels + 2 * GUARD, 0x5A, np.uint8), misalign=1)
    runner.call("u8_maxpool_c16", m, channels, taps, ind_off, x_off, pad_off, y_off + GUARD)
    got = np.frombuffer(runner.read_bytes(y_off, m * channels + 2 * GUARD), np.uint8)
    assert (got[:GUARD] == 0x5A).all() and (got[GUARD + m * channels:] == 0x5A).all(), "wrote outside Y"
    return got[GUARD:GUARD + m * channels].reshape(m, channels), maxpool_reference(x, ind, channels)


def window_of(spatial, kernel, strides, pads, dilations=None):
    dims = len(spatial)
    dilations = dilations or (1,) * dims
    out = tuple((s + pads[d] + pads[dims + d] - dilations[d] * (k - 1) - 1) // strides[d] + 1
                for d, (s, k) in enumerate(zip(spatial, kernel)))
    return Window(tuple(spatial), out, tuple(kernel), tuple(strides), tuple(dilations), tuple(pads[:dims]),
                  tuple(pads[dims:]))


@pytest.mark.parametrize("channels", [1, 3, 15, 16, 17, 35])
@pytest.mark.parametrize("geometry", [((6, 6), (2, 2), (2, 2), (0, 0, 0, 0)), ((5, 7), (3, 3), (1, 2), (1, 1, 1, 1)),
                                      ((9,), (3,), (2,), (1, 2))])
def test_maxpool_exact(channels, geometry):
    spatial, kernel, strides, pads = geometry
    x = np.random.default_rng(channels).integers(0, 256, (*spatial, channels)).astype(np.uint8)
    got, want = run_maxpool(x, window_of(spatial, kernel, strides, pads), channels)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(2, 7), st.integers(2, 7), st.integers(1, 3), st.integers(1, 2),
       st.integers(0, 1), st.integers(0, 2**32 - 1))
def test_maxpool_property(channels, h, w, k, stride, pad, seed):
    k = min(k, h + 2 * pad, w + 2 * pad)
    x = np.random.default_rng(seed).integers(0, 256, (h, w, channels)).astype(np.uint8)
    got, want = run_maxpool(x, window_of((h, w), (k, k), (stride, stride), (pad,) * 4), channels)
    np.testing.assert_array_equal(got, want)
