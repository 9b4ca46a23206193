"""Order statistics for latency samples (medians and percentiles, never means: the machines
are shared and noisy, and a slow outlier must not move the headline number)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between order statistics
    (numpy's default method), so results match `numpy.percentile`."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


def latency_summary(samples_ms: Sequence[float], block_medians_ms: Sequence[float]) -> dict:
    """p50/p95 over every timed inference, plus the spread of the per-block medians."""
    return {
        "p50_ms": percentile(samples_ms, 50.0),
        "p95_ms": percentile(samples_ms, 95.0),
        "min_ms": min(samples_ms),
        "samples": len(samples_ms),
        "block_medians_ms": list(block_medians_ms),
    }
