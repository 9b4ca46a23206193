"""The engines a benchmark compares, behind one interface; the two server-side ones live here.

An engine loads a prepared model into a `LoadedModel` whose `block(n, group)` returns n latency
samples in ms, each the mean of `group` consecutive inferences, timed where the inference runs
(here: `time.perf_counter` in this process). `group` is 1 unless an inference is too short for
the clock to resolve (the browser's is 5 us). `cold_start` measures a fresh load up to the first result.
The browser engines (edgewasm in Chromium through Pyodide, onnxruntime-web) are in `bench.browser`,
LiteRT.js (on `.tflite` twins) in `bench.litert`.
"""

from __future__ import annotations

import time
from typing import Protocol

from .prepare import BenchModel

ENGINE_IDS = ("wasmtime", "browser", "onnxruntime", "onnxruntime-web", "litert", "litert-compat")
# Not in the default run: the server host with the default RuntimeConfig (its 10 s deadline), beside
# `wasmtime` (deadline=None), to show what the deadline costs.
OPTIONAL_ENGINE_IDS = ("wasmtime-deadline",)
ENGINE_LABELS = {
    "wasmtime": "edgewasm/wasmtime",
    "wasmtime-deadline": "edgewasm/wasmtime, 10 s deadline",
    "browser": "edgewasm/chromium",
    "onnxruntime": "onnxruntime (native)",
    "onnxruntime-web": "onnxruntime-web",
    "litert": "LiteRT.js (relaxed SIMD)",  # bench.litert: its default build, on the model's .tflite twin
    "litert-compat": "LiteRT.js (SIMD128)",  # its build without relaxed SIMD
}
BENCH_MEMORY_LIMIT = 4 << 30  # wasm32's whole address space: the bench measures speed, not limits


class LoadedModel(Protocol):
    clock_resolution_ms: float  # of the clock that times the inferences

    def block(self, samples: int, group: int = 1) -> list[float]:
        """`samples` latencies in milliseconds, each the mean over `group` consecutive inferences."""

    def facts(self) -> dict:
        """What the engine knows about the loaded model (memory, call path, ...)."""

    def close(self) -> None: ...


class Engine(Protocol):
    id: str
    wasm_host: str | None  # whose SIMD128 peak applies ("wasmtime", "chromium"), None if not wasm

    def refusal(self, model: BenchModel) -> dict | None:
        """{"status": "skipped" | "error", "reason"} when this engine cannot run the model."""

    def cold_start(self, model: BenchModel) -> dict:
        """{"cold_start_ms", and whatever else a cold start reveals (bytes shipped, memory)}."""

    def load(self, model: BenchModel) -> LoadedModel: ...

    def close(self) -> None: ...


class _TimedCalls:
    """block() for engines whose inference is one Python call in this process."""

    clock_resolution_ms = time.get_clock_info("perf_counter").resolution * 1000.0

    def _infer(self) -> None:
        raise NotImplementedError

    def block(self, samples: int, group: int = 1) -> list[float]:
        infer, clock, times = self._infer, time.perf_counter, []
        for _ in range(samples):
            started = clock()
            for _ in range(group):
                infer()
            times.append((clock() - started) * 1000.0 / group)
        return times

    def close(self) -> None:
        pass


class WasmtimeModel(_TimedCalls):
    def __init__(self, model: BenchModel, deadline: bool = False):
        from ..runtime.config import RuntimeConfig
        from ..runtime.wasmtime_host import load

        config = RuntimeConfig(memory_limit=BENCH_MEMORY_LIMIT)  # the default deadline
        self.model = load(model.bundle, config=config if deadline else RuntimeConfig(memory_limit=BENCH_MEMORY_LIMIT,
                                                                                      deadline=None))
        self.inputs = model.inputs

    def _infer(self) -> None:
        self.model.run(self.inputs)

    def facts(self) -> dict:
        instance = self.model.instance
        return {"memory_bytes": instance.memory_bytes, "call_path": instance.call_path}


class WasmtimeEngine:
    """edgewasm's server host: the bundle's module in wasmtime, one `run` call per inference
    (`wasmtime`: deadline=None; `wasmtime-deadline`: the default RuntimeConfig's deadline)."""

    wasm_host = "wasmtime"

    def __init__(self, engine_id: str = "wasmtime"):
        self.id = engine_id
        self.deadline = engine_id == "wasmtime-deadline"

    def refusal(self, model: BenchModel) -> dict | None:
        return model.edgewasm_refusal

    def cold_start(self, model: BenchModel) -> dict:
        """load (read + verify + compile + instantiate + weights) and the first run, in-process."""
        started = time.perf_counter()
        loaded = WasmtimeModel(model, self.deadline)
        loaded.block(1)
        return {"cold_start_ms": (time.perf_counter() - started) * 1000.0}

    def load(self, model: BenchModel) -> WasmtimeModel:
        return WasmtimeModel(model, self.deadline)

    def close(self) -> None:
        pass


class OnnxruntimeModel(_TimedCalls):
    def __init__(self, model: BenchModel):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(model.onnx_path.read_bytes(), options, providers=["CPUExecutionProvider"])
        self.inputs = model.inputs

    def _infer(self) -> None:
        self.session.run(None, self.inputs)

    def facts(self) -> dict:
        return {}


class OnnxruntimeEngine:
    """onnxruntime's CPU provider on the original .onnx, one intra-op thread (like the others)."""

    id, wasm_host = "onnxruntime", None

    def __init__(self):
        try:
            import onnxruntime
        except ImportError:
            raise EngineUnavailable("the onnxruntime engine needs the onnxruntime package") from None
        self.version = onnxruntime.__version__

    def refusal(self, model: BenchModel) -> dict | None:
        return None

    def cold_start(self, model: BenchModel) -> dict:
        """Session creation (graph optimization included) and the first run, in-process."""
        started = time.perf_counter()
        OnnxruntimeModel(model).block(1)
        return {"cold_start_ms": (time.perf_counter() - started) * 1000.0}

    def load(self, model: BenchModel) -> OnnxruntimeModel:
        return OnnxruntimeModel(model)

    def close(self) -> None:
        pass


class EngineUnavailable(Exception):
    """An engine cannot run on this machine (missing package, browser, npm); the bench reports
    it for every model and goes on with the others."""
