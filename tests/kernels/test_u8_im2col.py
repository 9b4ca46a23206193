"""u8_im2col: rows of every output pixel's taps, zero point in padding, through the indirection
buffer the convolutions use (strides, dilations, padding), channel groups; short copies (under 16
bytes, in 8/4/2/1-byte parts) and long ones (16 bytes at a time); rows padded with the zero point."""

import numpy as np
import pytest

from edgewasm.backend.indirection import indirection
from edgewasm.window import Window

from .harness import KernelRunner


def reference(x: np.ndarray, window: Window, ind: np.ndarray, group_offset: int, cg: int, zp: int,
              row_pad: int = 0) -> np.ndarray:
    flat = x.reshape(-1)
    rows = np.full((ind.shape[0], ind.shape[1] * cg + row_pad), zp, np.uint8)
    for p in range(ind.shape[0]):
        for t in range(ind.shape[1]):
            off = ind[p, t]
            rows[p, t * cg:(t + 1) * cg] = zp if off == -1 else flat[group_offset + off:group_offset + off + cg]
    return rows


@pytest.mark.parametrize("spatial, kernel, strides, dilations, pads, channels, cg", [
    ((5, 6), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 4, 4), ((7, 5), (3, 2), (2, 1), (1, 2), (0, 1, 2, 0), 6, 3),
    ((4, 4), (1, 1), (2, 2), (1, 1), (0, 0, 0, 0), 5, 1), ((9,), (4,), (3,), (1,), (2, 1), 3, 3),
    ((5, 5), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 40, 20), ((4, 6), (2, 2), (1, 1), (1, 1), (1, 0, 0, 1), 16, 16),
])
@pytest.mark.parametrize("row_pad", [0, 5])
def test_rows_match_reference(spatial, kernel, strides, dilations, pads, channels, cg, row_pad):
    dims = len(spatial)
    out = tuple((s + pads[d] + pads[dims + d] - dilations[d] * (k - 1) - 1) // strides[d] + 1
                for d, (s, k) in enumerate(zip(spatial, kernel)))
    window = Window(spatial, out, kernel, strides, dilations, tuple(pads[:dims]), tuple(pads[dims:]))
    ind = indirection(window, 1, channels)
    rng = np.random.default_rng(channels)
    x = rng.integers(0, 256, (*spatial, channels)).astype(np.uint8)
    zp = 201
    for g in range(channels // cg):
        runner = KernelRunner("u8_im2col")
        x_off = runner.put_at_end(x.reshape(-1))
        ind_off, zp_off = runner.put(ind), runner.put(np.array([zp], np.uint8))
        expected = reference(x, window, ind, g * cg, cg, zp, row_pad)
        out_off = runner.put(np.full(expected.size + 16, 7, np.uint8), misalign=1)
        runner.call("u8_im2col", ind.shape[0], ind.shape[1], cg, ind_off, x_off + g * cg, zp_off, out_off, row_pad)
        got = np.frombuffer(runner.read_bytes(out_off, expected.size + 16), np.uint8)
        np.testing.assert_array_equal(got[:expected.size].reshape(expected.shape), expected)
        assert (got[expected.size:] == 7).all()


@pytest.mark.parametrize("cg", range(1, 17))
def test_every_short_tap_width(cg):
    """Taps of 1..15 bytes move in 8/4/2/1-byte parts (every combination), 16 in one vector; the
    input ends at the end of memory and padding taps store the zero point byte."""
    window = Window((5, 4), (5, 4), (3, 3), (1, 1), (1, 1), (1, 1), (1, 1))
    channels = cg + 3
    ind = indirection(window, 1, channels)
    x = np.random.default_rng(cg).integers(0, 256, (5, 4, channels)).astype(np.uint8)
    runner = KernelRunner("u8_im2col")
    x_off = runner.put_at_end(x.reshape(-1))
    ind_off, zp_off = runner.put(ind), runner.put(np.array([0x9c], np.uint8))
    for g_offset in (0, 3):
        expected = reference(x, window, ind, g_offset, cg, 0x9c)
        out_off = runner.put(np.full(expected.size + 16, 7, np.uint8), misalign=3)
        runner.call("u8_im2col", ind.shape[0], ind.shape[1], cg, ind_off, x_off + g_offset, zp_off, out_off, 0)
        got = np.frombuffer(runner.read_bytes(out_off, expected.size + 16), np.uint8)
        np.testing.assert_array_equal(got[:expected.size].reshape(expected.shape), expected)
        assert (got[expected.size:] == 7).all()
