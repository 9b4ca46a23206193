"""Bit-for-bit comparison of float32 outputs, as the numerics contract defines it across hosts."""

from __future__ import annotations

import numpy as np


def assert_same_bits(actual: np.ndarray, expected: np.ndarray) -> None:
    """Same dtype (float32), shape and bits, except that any NaN equals any NaN (payloads may differ)."""
    assert actual.dtype == expected.dtype == np.float32 and actual.shape == expected.shape
    nan_actual, nan_expected = np.isnan(actual), np.isnan(expected)
    np.testing.assert_array_equal(nan_actual, nan_expected)
    np.testing.assert_array_equal(actual[~nan_actual].view(np.uint32), expected[~nan_expected].view(np.uint32))
