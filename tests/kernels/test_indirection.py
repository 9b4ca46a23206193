"""Indirection buffers and average-pool divisors against plain loops over coordinates."""

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewasm.backend.indirection import PADDING, indirection, window_counts
from edgewasm.window import Window


def naive(window: Window, batch: int, pixel_bytes: int, transposed: bool) -> np.ndarray:
    rows = []
    dims = range(len(window.in_spatial))
    for n in range(batch):
        for out in itertools.product(*(range(o) for o in window.out_spatial)):
            row = []
            for tap in itertools.product(*(range(k) for k in window.kernel)):
                pos = []
                for d in dims:
                    if transposed:
                        q = out[d] + window.pads_begin[d] - tap[d] * window.dilations[d]
                        p = q // window.strides[d] if q % window.strides[d] == 0 else -1
                    else:
                        p = out[d] * window.strides[d] - window.pads_begin[d] + tap[d] * window.dilations[d]
                    pos.append(p)
                if all(0 <= p < s for p, s in zip(pos, window.in_spatial)):
                    flat = n * window.in_pixels + int(np.ravel_multi_index(pos, window.in_spatial))
                    row.append(flat * pixel_bytes)
                else:
                    row.append(PADDING)
            rows.append(row)
    return np.array(rows, np.int32)


def naive_counts(window: Window, include_pad: bool) -> np.ndarray:
    counts = []
    for out in itertools.product(*(range(o) for o in window.out_spatial)):
        total = 1
        for d, o in enumerate(out):
            lo, hi = ((-window.pads_begin[d], window.in_spatial[d] + window.pads_end[d]) if include_pad
                      else (0, window.in_spatial[d]))
            positions = [o * window.strides[d] - window.pads_begin[d] + k * window.dilations[d]
                         for k in range(window.kernel[d])]
            total *= sum(lo <= p < hi for p in positions)
        counts.append(total)
    return np.array(counts, np.float32)


@st.composite
def windows(draw):
    dims = draw(st.integers(1, 3))
    in_spatial = tuple(draw(st.integers(1, 6)) for _ in range(dims))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    strides = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilations = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    begin = tuple(draw(st.integers(0, 2)) for _ in range(dims))
    end = tuple(draw(st.integers(-1, 2)) for _ in range(dims))
    out = tuple(draw(st.integers(1, 5)) for _ in range(dims))
    return Window(in_spatial, out, kernel, strides, dilations, begin, end)


@settings(max_examples=60, deadline=None)
@given(window=windows(), batch=st.integers(1, 2), channels=st.integers(1, 5), transposed=st.booleans())
def test_indirection_matches_coordinate_loops(window, batch, channels, transposed):
    got = indirection(window, batch, 4 * channels, transposed)
    assert got.dtype == np.int32 and got.shape == (batch * window.out_pixels, window.taps)
    np.testing.assert_array_equal(got, naive(window, batch, 4 * channels, transposed))


@settings(max_examples=60, deadline=None)
@given(window=windows(), include_pad=st.booleans())
def test_window_counts_match_coordinate_loops(window, include_pad):
    np.testing.assert_array_equal(window_counts(window, include_pad), naive_counts(window, include_pad))


def test_window_predicates():
    pointwise = Window((5, 4), (5, 4), (1, 1), (1, 1), (1, 1), (0, 0), (0, 0))
    assert pointwise.is_pointwise and not pointwise.is_global
    strided = Window((5, 4), (3, 2), (1, 1), (2, 2), (1, 1), (0, 0), (0, 0))
    assert not strided.is_pointwise
    whole = Window((5, 4), (1, 1), (5, 4), (1, 1), (1, 1), (0, 0), (0, 0))
    assert whole.is_global and whole.taps == math.prod((5, 4))
