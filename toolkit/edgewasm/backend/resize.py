"""Compile-time sampling taps for ONNX Resize, one axis at a time (Resize is separable): for each
output index, the input indices it reads and their weights.

Follows onnx's reference implementation (onnx/reference/ops/op_resize.py) in float64: the
coordinate transformation modes, nearest rounding modes, linear and cubic coefficients with
antialiasing and exclude_outside, edge clamping of neighbours, tf_crop_and_resize's extrapolation. The weights are rounded to
float32 once, when they go into the kernel's table.
"""

from __future__ import annotations

import math

import numpy as np

COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
                    "tf_crop_and_resize", "tf_half_pixel_for_nn")  # the last: opsets 11-12 only
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def source_coordinates(mode: str, out_size: int, in_size: int, scale: float,
                       roi: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """x_original of every output index along one axis (roi: tf_crop_and_resize's start and end)."""
    y = np.arange(out_size, dtype=np.float64)
    out_width = scale * in_size
    if mode == "tf_crop_and_resize":
        start, end = roi
        x = np.full(out_size, (end - start) * (in_size - 1) / 2) if out_width == 1 else \
            y * (end - start) * (in_size - 1) / (out_width - 1)
        return x + start * (in_size - 1)
    if mode == "align_corners":
        return np.zeros(out_size) if out_width == 1 else y * (in_size - 1) / (out_width - 1)
    if mode == "asymmetric":
        return y / scale
    if mode == "tf_half_pixel_for_nn":
        return (y + 0.5) / scale
    if mode == "pytorch_half_pixel":
        return np.full(out_size, -0.5) if out_width == 1 else (y + 0.5) / scale - 0.5
    if mode == "half_pixel":
        return (y + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        offset = in_size / 2 * (1 - out_size / out_width)
        return offset + (y + 0.5) / scale - 0.5
    raise ValueError(f"unknown coordinate_transformation_mode {mode!r}")


def _nearest(ratio: float, mode: str) -> list[float]:
    if ratio == int(ratio):
        return [0.0, 1.0]
    return {"round_prefer_floor": [ratio <= 0.5, ratio > 0.5], "round_prefer_ceil": [ratio < 0.5, ratio >= 0.5],
            "floor": [1.0, 0.0], "ceil": [0.0, 1.0]}[mode]


def _linear(ratio: float, scale: float, antialias: bool) -> list[float]:
    if not antialias:
        return [1 - ratio, ratio]
    scale = min(scale, 1.0)
    start = int(np.floor(-1 / scale) + 1)
    args = (np.arange(start, 2 - start) - ratio) * scale
    coeffs = np.clip(1 - np.abs(args), 0, 1)
    return list(coeffs / coeffs.sum())


def _cubic(ratio: float, scale: float, a: float, antialias: bool) -> list[float]:
    if not antialias:
        r1 = 1 - ratio
        return [((a * (ratio + 1) - 5 * a) * (ratio + 1) + 8 * a) * (ratio + 1) - 4 * a,
                ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1,
                ((a + 2) * r1 - (a + 3)) * r1 * r1 + 1,
                ((a * (r1 + 1) - 5 * a) * (r1 + 1) + 8 * a) * (r1 + 1) - 4 * a]
    scale = min(scale, 1.0)

    def weight(x: float) -> float:
        x = abs(x)
        if x <= 1:
            return (a + 2) * x**3 - (a + 3) * x**2 + 1
        return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a if x < 2 else 0.0

    start = int(np.floor(-2 / scale) + 1)
    coeffs = np.array([weight(scale * (i - ratio)) for i in range(start, 2 - start)])
    return list(coeffs / coeffs.sum())


def axis_taps(mode: str, coordinate_mode: str, nearest_mode: str, cubic_a: float, exclude_outside: bool,
              antialias: bool, in_size: int, out_size: int, scale: float,
              roi: tuple[float, float] = (0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """(indices [out, taps] into [0, in_size), weights [out, taps] float64) for one axis.

    tf_crop_and_resize: indices are into the axis padded by one fill element at each end (the
    extrapolation value), and an output whose source lies outside the input reads only that element.
    """
    x = source_coordinates(coordinate_mode, out_size, in_size, scale, roi)
    whole = np.floor(x)
    ratios = np.where(x == whole, 1.0, x - whole)
    if mode == "nearest":
        coeffs = np.array([_nearest(r, nearest_mode) for r in ratios], np.float64)
    elif mode == "linear":
        coeffs = np.array([_linear(r, scale, antialias) for r in ratios], np.float64)
    else:
        coeffs = np.array([_cubic(r, scale, cubic_a, antialias) for r in ratios], np.float64)
    n = coeffs.shape[1]
    pad = math.ceil(n / 2)
    x_padded = x + pad
    p = np.floor(x_padded).astype(np.int64)
    frac = x_padded - p
    if n % 2 == 0:  # window centres are half-integers; ties go to the smaller one
        start = p + np.where(frac == 0, -(n // 2), -(n // 2) + 1)
    else:
        start = p + np.where(frac <= 0.5, -((n - 1) // 2), -((n - 1) // 2) + 1)
    indices = start[:, None] + np.arange(n)[None, :] - pad
    if exclude_outside:
        coeffs = np.where((indices < 0) | (indices >= in_size), 0.0, coeffs)
        total = coeffs.sum(axis=1, keepdims=True)
        coeffs = coeffs / np.where(total == 0, 1.0, total)
    indices = np.clip(indices, 0, in_size - 1)
    if coordinate_mode == "tf_crop_and_resize":
        outside = (x < 0) | (x > in_size - 1)
        indices = indices + 1
        indices[outside] = np.where(x[outside] < 0, 0, in_size + 1)[:, None]
        coeffs[outside] = 0.0
        coeffs[outside, 0] = 1.0
    return indices, coeffs


def nearest_indices(indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The one input index each output copies (the tap whose weight is 1)."""
    return indices[np.arange(len(indices)), np.argmax(weights, axis=1)]
