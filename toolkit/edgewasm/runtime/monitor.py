"""Performance monitor: per-inference latency (p50 / p95, histogram) and memory in use.

Stdlib only and clock-agnostic: the browser host records `performance.now()` differences, a server
records `time.perf_counter()` ones; both report the same JSON-ready shape, which the demo page
draws and `model.stats()` returns.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Iterable

# Upper bucket edges in milliseconds, roughly x2 / x2.5 apart; a last bucket takes the rest.
BUCKET_EDGES_MS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
KEEP_SAMPLES = 1000  # percentiles cover the most recent runs; the histogram counts every run


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0 < fraction <= 1) of an ascending list: always a measured value."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


class LatencyMonitor:
    """Collects per-inference latencies (and per-layer ones, for a profiling build)."""

    def __init__(self, keep: int = KEEP_SAMPLES, edges_ms: Iterable[float] = BUCKET_EDGES_MS):
        self.edges_ms = tuple(edges_ms)
        self.keep = keep
        self.reset()

    def reset(self) -> None:
        self.recent: deque[float] = deque(maxlen=self.keep)
        self.counts = [0] * (len(self.edges_ms) + 1)
        self.total = 0
        self.sum_ms = 0.0
        self.layers: dict[str, deque[float]] = {}

    def record(self, ms: float) -> None:
        if not ms >= 0:  # also refuses NaN
            raise ValueError(f"a latency must be a non-negative number of milliseconds, got {ms!r}")
        self.recent.append(ms)
        self.total += 1
        self.sum_ms += ms
        self.counts[self._bucket(ms)] += 1

    def record_layers(self, layer_ms: dict[str, float]) -> None:
        """Per-layer times of one inference (a `--profile` build times each layer's entry point)."""
        for name, ms in layer_ms.items():
            self.layers.setdefault(name, deque(maxlen=self.keep)).append(ms)

    def _bucket(self, ms: float) -> int:
        for index, edge in enumerate(self.edges_ms):
            if ms <= edge:
                return index
        return len(self.edges_ms)

    def histogram(self) -> list[dict]:
        """Buckets as {"le": upper edge in ms or None for the last, "count": runs}."""
        edges: list[float | None] = [*self.edges_ms, None]
        return [{"le": edge, "count": count} for edge, count in zip(edges, self.counts)]

    def summary(self) -> dict:
        ordered = sorted(self.recent)
        layers = {name: {"p50_ms": percentile(sorted(times), 0.5), "runs": len(times)}
                  for name, times in self.layers.items()}
        return {
            "runs": self.total,
            "p50_ms": percentile(ordered, 0.50),
            "p95_ms": percentile(ordered, 0.95),
            "min_ms": ordered[0] if ordered else math.nan,
            "max_ms": ordered[-1] if ordered else math.nan,
            "mean_ms": self.sum_ms / self.total if self.total else math.nan,
            "last_ms": self.recent[-1] if self.recent else math.nan,
            "histogram": self.histogram(),
            "layers": layers,
        }
