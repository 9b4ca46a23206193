"""The wasmtime host's fixed cost per inference, measured on a model that does nothing.

`run` returns at once, so what is left is the host: the call into wasmtime (the cached native
call, and for comparison the path it replaced: `Store.set_epoch_deadline` plus wasmtime-py's
generic `Func.__call__`) and a whole `Model.run` with one
small input and output (validation, copies in and out, output arrays). Calls are interleaved
per repeat and the median reported, in microseconds.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from .stats import median

EMPTY_MODEL_WAT = '''(module
  (memory (export "memory") 1 1)
  (func (export "run") (result i32) (i32.const 0)))'''
EMPTY_MODEL_SIDECAR = {"inputs": [{"name": "x", "dtype": "float32", "shape": [1, 64], "offset": 1024, "nbytes": 256}],
                       "outputs": [{"name": "y", "dtype": "float32", "shape": [1, 10], "offset": 2048, "nbytes": 40}]}
CALLS_PER_SAMPLE = 2000


def _per_call_us(fn, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls * 1e6


def measure_host_overhead(repeats: int = 5) -> dict:
    import numpy as np

    from ..runtime.wasmtime_host import NO_DEADLINE, load

    with tempfile.TemporaryDirectory() as tmp:
        wat = Path(tmp) / "empty.wat"
        wat.write_text(EMPTY_MODEL_WAT)
        wat.with_suffix(".json").write_text(json.dumps(EMPTY_MODEL_SIDECAR))
        model = load(wat)
    instance = model.instance
    run = instance.functions["run"]
    inputs = {"x": np.zeros((1, 64), np.float32)}
    paths = {
        "call_us": lambda: instance.call("run"),
        "generic_call_us": lambda: (instance.store.set_epoch_deadline(NO_DEADLINE), run(instance.store)),
        "model_run_us": lambda: model.run(inputs),
    }
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, fn in paths.items():
            samples[name].append(_per_call_us(fn, CALLS_PER_SAMPLE))
    result = {name: median(values) for name, values in samples.items()}
    result["call_path"] = instance.call_path
    return result
