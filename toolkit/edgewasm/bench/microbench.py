"""Loop microbenchmarks: one wasm call does `n` iterations of known work, timed by the host.

A `Microbench` is a module (zero imports) exporting `loop(n)` and optionally `setup()`, plus the
work one iteration does. Every host (wasmtime here, Chromium in `bench.browser`) answers the
same question, "how long do n iterations take", so the calibration and the statistics are shared.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from ..runtime.sandbox import LOOP_VARIANT_NO_EPOCH, LOOP_VARIANT_OFFSET
from .stats import median

LOOP_EXPORT, SETUP_EXPORT = "loop", "setup"
CALIBRATION_FLOOR = 0.02  # seconds a calibration run must reach before it is scaled up


@dataclass(frozen=True)
class Microbench:
    name: str
    wasm: bytes
    work_per_iteration: float  # FLOPs (or MACs) of one iteration
    unit: str  # "GFLOP/s" or "GMAC/s"
    has_setup: bool = False
    details: dict = field(default_factory=dict)


TimeLoop = Callable[[Microbench, int], float]  # (bench, iterations) -> seconds


def calibrate(bench: Microbench, time_loop: TimeLoop, target_seconds: float) -> int:
    """Iterations for one timed run of about `target_seconds` (doubling from 1, then scaled)."""
    iterations = 1
    while True:
        seconds = time_loop(bench, iterations)
        if seconds >= CALIBRATION_FLOOR or iterations >= 1 << 30:
            return max(1, int(iterations * target_seconds / max(seconds, 1e-9)))
        iterations *= 2 if seconds * 16 > CALIBRATION_FLOOR else 16


def rate(bench: Microbench, iterations: int, seconds: float) -> float:
    """Giga-units of work per second."""
    return bench.work_per_iteration * iterations / seconds / 1e9


class WasmtimeLoops:
    """Runs microbenchmarks in wasmtime with the runtime's engine (SIMD on, relaxed SIMD off,
    epoch interruption for the deadline), or the same without epoch interruption, which adds a
    check to every loop back-edge."""

    def __init__(self, epoch_interruption: bool = True):
        import wasmtime

        from ..runtime.config import RuntimeConfig
        from ..runtime.wasmtime_host import engine

        self._wasmtime = wasmtime
        if epoch_interruption:
            self._engine = engine(RuntimeConfig().stack_limit)  # the engine models run on
        else:
            config = wasmtime.Config()
            config.wasm_simd = True
            config.wasm_relaxed_simd = False
            config.max_wasm_stack = RuntimeConfig().stack_limit
            self._engine = wasmtime.Engine(config)
        self._epochs = epoch_interruption
        self._instances: dict[str, tuple] = {}

    def _instance(self, bench: Microbench) -> tuple:
        if bench.name not in self._instances:
            wasmtime = self._wasmtime
            store = wasmtime.Store(self._engine)
            if self._epochs:
                store.set_epoch_deadline(1 << 62)
            exports = wasmtime.Instance(store, wasmtime.Module(self._engine, bench.wasm), []).exports(store)
            if not self._epochs and "memory" in exports:  # the loop-variant word, as the wasmtime host writes it
                exports["memory"].write(store, LOOP_VARIANT_NO_EPOCH.to_bytes(4, "little"), LOOP_VARIANT_OFFSET)
            if bench.has_setup:
                exports[SETUP_EXPORT](store)
            self._instances[bench.name] = (store, exports[LOOP_EXPORT])
        return self._instances[bench.name]

    def time_loop(self, bench: Microbench, iterations: int) -> float:
        store, loop = self._instance(bench)
        started = time.perf_counter()
        loop(store, iterations)
        return time.perf_counter() - started


def measure_rates(benches: list[Microbench], hosts: dict[str, TimeLoop], repeats: int, target_seconds: float,
                  tick: Callable[[str], None] = lambda label: None) -> dict[str, dict[str, dict]]:
    """{bench name: {host: {"rate", "samples", "iterations"}}}: hosts interleaved per repeat,
    each sample a run of about `target_seconds`, the rate the median of the samples."""
    results: dict[str, dict[str, dict]] = {}
    for bench in benches:
        per_host: dict[str, dict] = {}
        plan: dict[str, int] = {}

        def fail(host: str, exc: Exception) -> None:  # that host reports why; the others go on
            per_host[host] = {"status": "error", "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
            plan.pop(host, None)

        for host, time_loop in hosts.items():
            try:
                plan[host] = calibrate(bench, time_loop, target_seconds)
            except Exception as exc:  # noqa: BLE001
                fail(host, exc)
        samples: dict[str, list[float]] = {host: [] for host in plan}
        for repeat in range(repeats):
            order = list(plan)
            for host in order[repeat % len(order):] + order[:repeat % len(order)] if order else []:
                tick(f"{bench.name} on {host}")
                try:
                    samples[host].append(rate(bench, plan[host], hosts[host](bench, plan[host])))
                except Exception as exc:  # noqa: BLE001
                    fail(host, exc)
        for host in plan:
            values = samples[host]
            per_host[host] = {"status": "ok", "rate": median(values), "samples": values, "iterations": plan[host]}
        results[bench.name] = per_host
    return results
