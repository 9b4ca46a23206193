"""`edgewasm bench --threads 1,2`: columns for edgewasm's threaded build (`--threads N`).

For every k > 1 in the list, each edgewasm engine that is benchmarked (wasmtime, browser) gets a
column `<engine>@<k>`: the same model compiled once more with `--threads max(k)` (beside the
bench's own bundle, in `bundle-threads<N>/`), loaded with `threads=k`. The k = 1 columns stay the
default single-threaded build, so every ratio compares against what ships without threads.
onnxruntime-web gets `onnxruntime-web@<k>` (`ort.env.wasm.numThreads = k`) in the same page,
interleaved with the others like every column; the threads table gives the latency ratios.
"""

from __future__ import annotations

import time
from pathlib import Path

from .engines import ENGINE_LABELS, BENCH_MEMORY_LIMIT, _TimedCalls
from .prepare import BenchModel

THREADED_BASES = ("wasmtime", "browser", "onnxruntime-web")
BASE_LABELS = {"wasmtime": "edgewasm/wasmtime", "browser": "edgewasm/chromium", "onnxruntime-web": "onnxruntime-web"}
ORT_WEB = "onnxruntime-web"


def parse_threads(text: str | None) -> list[int]:
    """'1,2' -> [1, 2] (sorted, unique); ValueError on anything else."""
    if text is None:
        return [1]
    try:
        counts = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ValueError(f"--threads takes thread counts like 1,2, got {text!r}") from None
    if not counts or counts[0] < 1 or counts[-1] > 64:
        raise ValueError(f"--threads takes thread counts between 1 and 64, got {text!r}")
    return counts


def thread_engine_ids(engines: list[str], counts: list[int]) -> list[str]:
    """The extra engine ids `<base>@<k>` for the k > 1 in `counts` (labels registered for reports)."""
    extra = []
    for k in counts:
        if k == 1:
            continue
        for base in THREADED_BASES:
            if base in engines:
                engine_id = f"{base}@{k}"
                ENGINE_LABELS.setdefault(engine_id, f"{BASE_LABELS[base]} x{k} threads")
                extra.append(engine_id)
    try:  # the HTML report's palette: a threaded column is drawn in its base engine's colour
        from .html_report import COLORS

        for engine_id in extra:
            COLORS.setdefault(engine_id, COLORS.get(engine_id.split("@")[0], "#4a5568"))
    except ImportError:
        pass
    return extra


def split(engine_id: str) -> tuple[str, int]:
    """'browser@2' -> ('browser', 2); 'browser' -> ('browser', 1)."""
    base, _, k = engine_id.partition("@")
    return base, int(k) if k else 1


def add_thread_ratios(models: list[dict]) -> None:
    """Latency ratios (< 1: faster) of every `<engine>@k` result, as `latency_ratio_vs`:
    against the same engine on 1 thread, and for edgewasm's engines against onnxruntime-web on k
    threads and on 1 thread."""
    for model in models:
        results = model["results"]

        def p50(engine_id: str) -> float | None:
            result = results.get(engine_id, {})
            return result["p50_ms"] if result.get("status") == "ok" else None

        for engine_id, result in results.items():
            base, k = split(engine_id)
            if k == 1 or result.get("status") != "ok":
                continue
            references = [base] + ([f"{ORT_WEB}@{k}", ORT_WEB] if base != ORT_WEB else [])
            result["latency_ratio_vs"] = {ref: result["p50_ms"] / p50(ref) for ref in references if p50(ref)}


def threads_lines(report: dict) -> list[str]:
    """The threads table: p50 on 1 and k threads and the ratios (latency / reference latency)."""
    from .report import _table, ms

    rows = []
    for model in report["models"]:
        results = model["results"]
        for engine_id, result in results.items():
            base, k = split(engine_id)
            if k == 1 or result.get("status") != "ok":
                continue
            ratios = result.get("latency_ratio_vs", {})
            one = results.get(base, {})
            rows.append([model["name"], BASE_LABELS.get(base, base), str(k),
                         ms(one.get("p50_ms")) if one.get("status") == "ok" else "-", ms(result["p50_ms"]),
                         _ratio(ratios.get(base)), _ratio(ratios.get(f"{ORT_WEB}@{k}")), _ratio(ratios.get(ORT_WEB))])
    if not rows:
        return []
    return (["Threads (p50; ratios are latency / the reference's latency, < 1 is faster; ort-web is "
             "onnxruntime-web with numThreads = k or 1 in the same page)"]
            + _table(["model", "engine", "k", "1 thread ms", "k threads ms", "/ 1 thread", "/ ort-web k",
                      "/ ort-web 1"], rows, {2, 3, 4, 5, 6, 7}))


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def threaded_bundle(model: BenchModel, threads: int) -> Path:
    """The model compiled with --threads `threads` (once per bench run and model), with the options of
    its single-threaded build (a static int8 row stays static)."""
    from ..compiler import compile_model

    out = model.directory / f"bundle-threads{threads}"
    if not (out / "manifest.json").is_file():
        compile_model(model.onnx_path, out, batch=1, name=model.name, variants=model.variant, threads=threads,
                      options=model.options)
    return out


class ThreadedWasmtimeModel(_TimedCalls):
    def __init__(self, bundle: Path, inputs: dict, threads: int):
        from ..runtime.config import RuntimeConfig
        from ..runtime.wasmtime_host import load

        self.model = load(bundle, config=RuntimeConfig(memory_limit=BENCH_MEMORY_LIMIT, deadline=None),
                          threads=threads)
        self.inputs = inputs

    def _infer(self) -> None:
        self.model.run(self.inputs)

    def facts(self) -> dict:
        return {"memory_bytes": self.model.instance.memory_bytes, "threads": self.model.instance.threads}


class ThreadedWasmtimeEngine:
    """wasmtime running the --threads build on k threads."""

    wasm_host = "wasmtime"

    def __init__(self, threads: int, built: int):
        self.threads, self.built, self.id = threads, built, f"wasmtime@{threads}"

    def refusal(self, model: BenchModel) -> dict | None:
        return model.edgewasm_refusal

    def cold_start(self, model: BenchModel) -> dict:
        bundle = threaded_bundle(model, self.built)
        started = time.perf_counter()
        ThreadedWasmtimeModel(bundle, model.inputs, self.threads).block(1)
        return {"cold_start_ms": (time.perf_counter() - started) * 1000.0}

    def load(self, model: BenchModel) -> ThreadedWasmtimeModel:
        return ThreadedWasmtimeModel(threaded_bundle(model, self.built), model.inputs, self.threads)

    def close(self) -> None:
        pass


class ThreadedChromiumEngine:
    """edgewasm in Chromium running the --threads build: the page plus k - 1 module workers."""

    wasm_host = "chromium"

    def __init__(self, browser, threads: int, built: int):
        self.browser, self.threads, self.built, self.id = browser, threads, built, f"browser@{threads}"

    def refusal(self, model: BenchModel) -> dict | None:
        return model.edgewasm_refusal

    def cold_start(self, model: BenchModel) -> dict:
        started = time.perf_counter()
        self.load(model).block(1)
        return {"cold_start_ms": (time.perf_counter() - started) * 1000.0}

    def load(self, model: BenchModel):
        from .browser import ChromiumLoaded

        key = f"edgewasm@{self.threads}:{model.name}"
        self.browser.stage_inputs(key, model)
        url = self.browser.serve(threaded_bundle(model, self.built))
        facts = self.browser.session.evaluate_python(f"await _bench_load({key!r}, {url!r}, {self.threads})")
        return ChromiumLoaded(self.browser, key, facts)

    def close(self) -> None:
        pass
