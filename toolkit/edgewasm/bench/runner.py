"""Run the suite: prepare models, start engines, measure, and return the report as a dict.

Fairness rules: every engine gets the same inputs and one thread; each engine is warmed up and
calibrated to blocks of about `block_seconds`; then the engines take turns, one block each per
repeat, with the starting engine rotated, so a noisy neighbour (the machines are shared) hits all
of them alike. Latency is p50/p95 over every timed inference. An engine that cannot start, a
model edgewasm cannot compile, or a failure in one (model, engine) is reported, never fatal.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .engines import ENGINE_IDS, ENGINE_LABELS, OPTIONAL_ENGINE_IDS, EngineUnavailable, OnnxruntimeEngine, WasmtimeEngine
from .machine import describe_machine
from .microbench import WasmtimeLoops, measure_rates
from .ortweb import ORT_WEB_VERSION
from .prepare import BenchModel, prepare_file_model, prepare_suite_model
from .progress import Progress
from .stats import latency_summary, median
from .suite import SUITE_NAMES, expand_names, model_names, suite_model

SCHEMA = "edgewasm-bench/1"
REFERENCES = ("onnxruntime-web", "onnxruntime", "litert")  # speedups are reported against these
LITERT_ENGINES = ("litert", "litert-compat")
EDGEWASM_ENGINES = ("wasmtime", "wasmtime-deadline", "browser")  # the engines that run the compiled (maybe compressed) variant
MICRO_SECONDS = 0.1  # one microbenchmark sample
MAX_BLOCK = 100_000
MIN_BLOCK = 5  # samples per block even for slow models, so p95 rests on 5 x repeats samples
CLOCK_TICKS_PER_SAMPLE = 100  # a sample spans >= 100 clock ticks (group inferences if need be)
# Whose f32 peak is a host's ceiling. wasmtime's is measured without epoch interruption: the
# check costs the peak loop ~40%, which would make the ceiling lower than real kernels reach.
CEILING = {"wasmtime": "wasmtime-no-epoch", "wasmtime-no-epoch": "wasmtime-no-epoch", "chromium": "chromium"}


@dataclass
class BenchOptions:
    models: list[str] = field(default_factory=lambda: list(SUITE_NAMES))
    model_files: list[Path] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)  # compression recipes: one row per model and variant
    calibrate: bool = False  # int8 variants static, calibrated on seeded random inputs
    engines: list[str] = field(default_factory=lambda: list(ENGINE_IDS))
    repeats: int = 5
    block_seconds: float = 0.25
    warmup_seconds: float = 0.5
    cold_starts: int = 1
    microbenchmarks: bool = True
    workdir: Path | None = None
    ort_web_version: str = ORT_WEB_VERSION
    command: str = ""
    threads: list[int] = field(default_factory=lambda: [1])  # k > 1: <engine>@k columns (bench/threads.py)


class Bench:
    """One run: the engines it started (or why they are unavailable) and its progress bar."""

    def __init__(self, options: BenchOptions, progress: Progress | None = None):
        self.options = options
        self.progress = progress or Progress(1)
        self.engines: dict[str, object] = {}
        self.unavailable: dict[str, str] = {}
        self.browser = None

    def log(self, message: str) -> None:
        self.progress.log(message)

    # -- engines -------------------------------------------------------------------------------

    def start_engines(self, workdir: Path) -> None:
        wanted = self.options.engines
        for engine_id in [e for e in ("wasmtime", "wasmtime-deadline") if e in wanted]:
            self.engines[engine_id] = WasmtimeEngine(engine_id)
        if "onnxruntime" in wanted:
            try:
                self.engines["onnxruntime"] = OnnxruntimeEngine()
            except EngineUnavailable as exc:
                self.unavailable["onnxruntime"] = str(exc)
        browser_engines = [e for e in ("browser", "onnxruntime-web") + LITERT_ENGINES if e in wanted]
        if browser_engines:
            from .browser import BenchBrowser, ChromiumEngine, OrtWebEngine

            self.progress.show("starting Chromium and Pyodide")
            try:
                self.browser = BenchBrowser(workdir, "onnxruntime-web" in wanted, self.options.ort_web_version,
                                            log=self.log)
            except EngineUnavailable as exc:
                for engine in browser_engines:
                    self.unavailable[engine] = str(exc)
                return
            if "browser" in wanted:
                self.engines["browser"] = ChromiumEngine(self.browser)
            if "onnxruntime-web" in wanted:
                try:
                    self.engines["onnxruntime-web"] = OrtWebEngine(self.browser)
                except EngineUnavailable as exc:
                    self.unavailable["onnxruntime-web"] = str(exc)
            for engine_id in [e for e in LITERT_ENGINES if e in wanted]:
                from .litert import LiteRtEngine

                try:
                    self.engines[engine_id] = LiteRtEngine(self.browser, engine_id)
                except EngineUnavailable as exc:
                    self.unavailable[engine_id] = str(exc)

        if max(self.options.threads) > 1:  # the --threads build's columns
            from .threads import ThreadedChromiumEngine, ThreadedWasmtimeEngine

            built = max(self.options.threads)
            for engine_id in [e for e in wanted if "@" in e]:
                base, k = engine_id.split("@")
                if base in self.unavailable:
                    self.unavailable[engine_id] = self.unavailable[base]
                elif base == "wasmtime":
                    self.engines[engine_id] = ThreadedWasmtimeEngine(int(k), built)
                elif base == "onnxruntime-web":
                    from .browser import OrtWebEngine

                    try:
                        self.engines[engine_id] = OrtWebEngine(self.browser, int(k))
                    except EngineUnavailable as exc:
                        self.unavailable[engine_id] = str(exc)
                elif self.browser is not None:
                    self.engines[engine_id] = ThreadedChromiumEngine(self.browser, int(k), built)

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()
            self.browser = None

    # -- microbenchmarks -----------------------------------------------------------------------

    def loop_hosts(self) -> dict[str, Callable]:
        """Where the SIMD128 peak and the kernels are measured: the wasm engines in use.
        `wasmtime-no-epoch` is wasmtime without epoch interruption (the runtime's deadline), to
        show what that check costs inside hot loops."""
        hosts: dict[str, Callable] = {}
        if "wasmtime" in self.engines:
            hosts["wasmtime"] = WasmtimeLoops().time_loop
            hosts["wasmtime-no-epoch"] = WasmtimeLoops(epoch_interruption=False).time_loop
        if self.browser is not None:
            hosts["chromium"] = self.browser.time_loop
        return hosts

    def microbenchmarks(self) -> tuple[dict, list[dict]]:
        from .kernels import kernel_benches
        from .peak import peaks

        hosts = self.loop_hosts()
        if not hosts or not self.options.microbenchmarks:
            return {}, []
        peak_benches = peaks()
        kernels, skipped = kernel_benches()
        repeats = self.options.repeats
        self.progress.grow(len(hosts) * repeats * (len(peak_benches) + len(kernels)))

        def tick(label: str) -> None:
            self.progress.advance(f"SIMD128 peak and kernels: {label}")

        peak_rates = measure_rates(peak_benches, hosts, repeats, MICRO_SECONDS, tick)
        kernel_rates = measure_rates(kernels, hosts, repeats, MICRO_SECONDS, tick)
        peak = {}
        for host in hosts:
            peak[host] = {}
            for bench in peak_benches:
                entry = peak_rates[bench.name].get(host, {})
                key = "f32_gflops" if bench.unit == "GFLOP/s" else "i8_gmacs"
                peak[host][key] = entry.get("rate")
                peak[host][key + "_samples"] = entry.get("samples", [])
                peak[host][key + "_best"] = max(entry["samples"]) if entry.get("samples") else None
                if entry.get("status") == "error":
                    peak[host][key + "_error"] = entry["reason"]
        rows = []
        for bench in kernels:
            row = {key: value for key, value in bench.details.items() if key != "operands"}
            row["hosts"] = {}
            for host, entry in kernel_rates[bench.name].items():
                result = dict(entry)
                if "rate" in result:
                    result["gflops"] = result.pop("rate")
                    f32_peak = ceiling(peak, host)
                    result["percent_of_peak"] = 100.0 * result["gflops"] / f32_peak if f32_peak else None
                row["hosts"][host] = result
            rows.append(row)
        return peak, rows + skipped

    # -- models --------------------------------------------------------------------------------

    def prepare(self, workdir: Path) -> list[BenchModel]:
        models = []
        for name in self.options.models:
            self.progress.show(f"compiling {name}")
            models.extend(prepare_suite_model(suite_model(name), workdir, self.options.variants, self.options.calibrate))
        taken = set(self.options.models)
        for path in self.options.model_files:
            self.progress.show(f"compiling {Path(path).name}")
            rows = prepare_file_model(Path(path), workdir, taken, self.options.variants, self.options.calibrate)
            taken.update(row.name.split("[")[0] for row in rows)
            models.extend(rows)
        for model in models:
            if model.edgewasm_refusal:
                self.log(f"{model.name}: edgewasm {model.edgewasm_refusal['reason']}")
        if any(e in self.options.engines for e in LITERT_ENGINES):
            self.add_twins(models)
        return models

    def add_twins(self, models: list[BenchModel]) -> None:
        """Each model's `.tflite` twin for LiteRT.js (bench.twins), or the reason it has none."""
        import onnx

        from .twins import NoTwin, twin_for, twin_summary

        for model in models:
            self.progress.show(f"{model.name}: .tflite twin")
            try:
                model.twin = twin_for(onnx.load(str(model.onnx_path)), model.name.split("[")[0], model.inputs,
                                      log=self.log)
                self.log(f"{model.name}: twin {twin_summary(model.twin.info)}")
            except NoTwin as exc:
                model.twin = str(exc)
                self.log(f"{model.name}: {exc}")

    def run_model(self, model: BenchModel) -> dict:
        results: dict[str, dict] = {}
        for engine_id in self.options.engines:
            if engine_id in self.unavailable:
                results[engine_id] = {"status": "unavailable", "reason": self.unavailable[engine_id]}
            elif (refusal := self.engines[engine_id].refusal(model)) is not None:
                results[engine_id] = dict(refusal)
        active = [e for e in self.options.engines if e not in results]

        def fail(engine_id: str, exc: Exception) -> None:
            results[engine_id] = {"status": "error", "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
            self.log(f"{model.name} on {engine_id}: {results[engine_id]['reason']}")
            if engine_id in active:
                active.remove(engine_id)

        cold: dict[str, list[dict]] = {e: [] for e in active}
        for attempt in range(self.options.cold_starts):
            for engine_id in _rotated(list(active), attempt):
                self.progress.advance(f"{model.name}: cold start on {engine_id}")
                try:
                    cold[engine_id].append(self.engines[engine_id].cold_start(model))
                except Exception as exc:  # noqa: BLE001 - one (model, engine) failing must not stop the suite
                    fail(engine_id, exc)

        loaded, plans = {}, {}
        for engine_id in list(active):
            self.progress.advance(f"{model.name}: warm-up on {engine_id}")
            try:
                loaded[engine_id] = self.engines[engine_id].load(model)
                plans[engine_id] = self.calibrate(loaded[engine_id])
            except Exception as exc:  # noqa: BLE001
                fail(engine_id, exc)
        samples: dict[str, list[float]] = {e: [] for e in active}
        block_medians: dict[str, list[float]] = {e: [] for e in active}
        for repeat in range(self.options.repeats):
            for engine_id in _rotated(list(active), repeat):
                self.progress.advance(f"{model.name}: repeat {repeat + 1}/{self.options.repeats} on {engine_id}")
                try:
                    times = loaded[engine_id].block(*plans[engine_id])
                except Exception as exc:  # noqa: BLE001
                    fail(engine_id, exc)
                    continue
                samples[engine_id].extend(times)
                block_medians[engine_id].append(median(times))
        for engine_id, handle in loaded.items():
            facts = {}
            try:
                facts = handle.facts()
                handle.close()
            except Exception as exc:  # noqa: BLE001
                self.log(f"{model.name} on {engine_id}: closing failed: {exc}")
            if engine_id in active:
                results[engine_id] = self.summarize(model, engine_id, samples[engine_id], block_medians[engine_id],
                                                    plans[engine_id], cold[engine_id], facts)
        return {"name": model.name, "description": model.description, "source": model.source,
                "variant": model.variant, "batch": model.batch, "flops": model.flops, "inputs": model.input_specs(),
                "edgewasm": self.compile_summary(model),
                **({"twin": getattr(model.twin, "info", model.twin)} if model.twin is not None else {}),
                "results": {e: results[e] for e in self.options.engines if e in results}}

    def calibrate(self, handle) -> tuple[int, int]:
        """Warm up for at least `warmup_seconds` (JIT tiers, caches, arenas), then plan a block:
        (samples, inferences per sample) for about `block_seconds` of inferences."""
        started, iterations, last = time.perf_counter(), 1, []
        while True:
            last = handle.block(iterations)
            if time.perf_counter() - started >= self.options.warmup_seconds and len(last) >= 3:
                break
            iterations = min(iterations * 2, MAX_BLOCK)
        per_inference_ms = max(median(last), 1e-4)
        group = max(1, math.ceil(CLOCK_TICKS_PER_SAMPLE * handle.clock_resolution_ms / per_inference_ms))
        inferences = math.ceil(self.options.block_seconds * 1000.0 / per_inference_ms)
        return max(MIN_BLOCK, min(MAX_BLOCK, math.ceil(inferences / group))), group

    @staticmethod
    def compile_summary(model: BenchModel) -> dict:
        if model.edgewasm_refusal:
            return dict(model.edgewasm_refusal)
        report = model.compile_report
        return {"status": "compiled", "kernels": report.get("kernels", []), "module_bytes": report.get("module_bytes"),
                "weight_bytes": report.get("weight_bytes"), "memory_bytes": report.get("memory_bytes")}

    def summarize(self, model: BenchModel, engine_id: str, samples: list[float], block_medians: list[float],
                  plan: tuple[int, int], cold: list[dict], facts: dict) -> dict:
        if not samples:
            return {"status": "error", "reason": "no timed inference completed"}
        result = {"status": "ok", "label": ENGINE_LABELS[engine_id], **latency_summary(samples, block_medians),
                  "samples_per_block": plan[0], "inferences_per_sample": plan[1]}
        p50_s = result["p50_ms"] / 1000.0
        result["inferences_per_s"] = 1.0 / p50_s
        result["items_per_s"] = model.batch / p50_s
        flops = model.flops if engine_id.split("@")[0] in EDGEWASM_ENGINES else model.original_flops
        result["gflops"] = flops / p50_s / 1e9 if flops else None
        result["memory_bytes"] = facts.get("memory_bytes")
        for key in ("call_path", "threads", "pthread_workers"):  # pthread_workers: onnxruntime-web's, counted
            if key in facts:
                result[key] = facts[key]
        if cold:
            result["cold_start_ms"] = median([c["cold_start_ms"] for c in cold])
            result["cold_start_samples_ms"] = [c["cold_start_ms"] for c in cold]
            last = cold[-1]
            for key in ("bytes_shipped", "memory_bytes", "runtime_memory_bytes"):
                if last.get(key) is not None:
                    result[key] = last[key]
        return result

    # -- the whole run -------------------------------------------------------------------------

    def run(self) -> dict:
        started = time.monotonic()
        owned = self.options.workdir is None
        workdir = Path(tempfile.mkdtemp(prefix="edgewasm-bench-")) if owned else Path(self.options.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            models = self.prepare(workdir)
            self.start_engines(workdir)
            engines_active = [e for e in self.options.engines if e not in self.unavailable]
            per_model = self.options.cold_starts * len(engines_active) + len(engines_active) * (1 + self.options.repeats)
            self.progress.grow(per_model * len(models))
            peak, kernels = self.microbenchmarks()
            overhead = None
            if "wasmtime" in self.engines:
                from .overhead import measure_host_overhead

                self.progress.show("wasmtime host overhead")
                overhead = measure_host_overhead()
            model_reports = [self.run_model(model) for model in models]
            add_variant_speedups(model_reports)
            add_derived(model_reports, peak, {e: getattr(self.engines.get(e), "wasm_host", None)
                                              for e in self.options.engines})
            if max(self.options.threads) > 1:
                from .threads import add_thread_ratios

                add_thread_ratios(model_reports)
            return {
                "schema": SCHEMA,
                "command": self.options.command,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "seconds": time.monotonic() - started,
                "machine": describe_machine(getattr(self.engines.get("onnxruntime"), "version", None),
                                            self.browser.page_info if self.browser else None),
                "settings": {"repeats": self.options.repeats, "block_seconds": self.options.block_seconds,
                             "warmup_seconds": self.options.warmup_seconds, "cold_starts": self.options.cold_starts,
                             "engines": self.options.engines, "threads": self.options.threads},
                "engines": {e: {"label": ENGINE_LABELS[e], "status": "unavailable" if e in self.unavailable else "ok",
                                **({"reason": self.unavailable[e]} if e in self.unavailable else {})}
                            for e in self.options.engines},
                "peak": peak,
                "kernels": kernels,
                "host_overhead": {"wasmtime": overhead} if overhead else {},
                "models": model_reports,
                "notes": NOTES,
            }
        finally:
            self.close()
            self.progress.finish()
            if owned:
                shutil.rmtree(workdir, ignore_errors=True)


NOTES = [
    "p50/p95: percentiles over every timed inference; engines interleaved block by block, one thread each.",
    "When one inference is shorter than 100 ticks of the clock timing it (the page's performance.now() ticks "
    "every 5 us), a sample is the mean of inferences_per_sample consecutive inferences; p95 is then over those means.",
    "Browser latencies are timed inside the page with performance.now() around each inference "
    "(edgewasm: Model.run in Pyodide's Python; onnxruntime-web: await session.run).",
    "Cold start: browser engines from page open (navigation start, fresh context, empty cache) to the first result; "
    "server engines from load (compile, instantiate, weights / session creation) to the first result.",
    "Memory: edgewasm engines report the model's linear memory (edgewasm/chromium additionally keeps Pyodide's heap, "
    "runtime_memory_bytes); onnxruntime-web reports its wasm heap after the first result (it exposes no figure "
    "of its own, so the page observes every WebAssembly.Memory); native onnxruntime is not measured.",
    "Bytes shipped: what the cold page fetched (Resource Timing), uncompressed, split into model and runtime; "
    "total_gzip is the same files at gzip level 6.",
    "GFLOP/s uses the FLOP count from edgewasm's compiler report (a multiply-add counts 2); models edgewasm "
    "cannot compile yet have none.",
    "percent_of_peak compares with the best sample of the SIMD128 f32 peak (12 chains of f32x4 mul + add) measured "
    "on the same wasm engine (Chromium's V8; for wasmtime, the peak without epoch interruption: the deadline's check "
    "in every loop costs the peak loop ~40%, see the wasmtime rows of the peak table).",
]


def ceiling(peak: dict, host: str | None) -> float | None:
    """The f32 peak a host's kernels and models are a percentage of (its own if the ceiling's is
    missing): the best sample, since noise only ever lowers a peak (the rest are medians)."""
    if not host:
        return None
    return peak.get(CEILING.get(host, host), {}).get("f32_gflops_best") or peak.get(host, {}).get("f32_gflops_best")


def _rotated(items: list, shift: int) -> list:
    if not items:
        return items
    shift %= len(items)
    return items[shift:] + items[:shift]


def add_derived(models: list[dict], peak: dict, wasm_hosts: dict[str, str | None]) -> None:
    """Percent of the engine's SIMD128 peak, and speedups against the references (> 1: faster)."""
    for model in models:
        results = model["results"]
        for engine_id, result in results.items():
            if result.get("status") != "ok":
                continue
            host_peak = ceiling(peak, wasm_hosts.get(engine_id))
            if result.get("gflops") and host_peak:
                result["percent_of_peak"] = 100.0 * result["gflops"] / host_peak
            result["speedup_vs"] = {
                ref: results[ref]["p50_ms"] / result["p50_ms"]
                for ref in REFERENCES if ref != engine_id and results.get(ref, {}).get("status") == "ok"
            }


def add_variant_speedups(models: list[dict]) -> None:
    """With --variants: each row's speedup over the first variant of the same model, engine by
    engine (> 1: the compressed variant is faster), as `speedup_vs_variant: {variant: x}`."""
    base: dict[str, dict] = {}
    for model in models:
        if model.get("variant") is None:
            continue
        family = model["name"].rsplit("[", 1)[0]  # "m[int8 static]": the row names its variant
        first = base.setdefault(family, model)
        for engine_id, result in model["results"].items():
            if engine_id not in EDGEWASM_ENGINES:
                continue  # the onnxruntime engines run the original model on every row
            reference = first["results"].get(engine_id, {})
            if result.get("status") == "ok" and reference.get("status") == "ok":
                result["speedup_vs_variant"] = {first["variant"]: reference["p50_ms"] / result["p50_ms"]}


def run_bench(options: BenchOptions, progress: Progress | None = None) -> dict:
    everything = options.models == ["all"]
    options.models = expand_names(options.models)
    try:
        from .real import zoo_module

        zoo_module()
    except Exception as exc:  # noqa: BLE001 - ZooUnavailable, or a zoo that does not import
        real = [m for m in options.models if m in model_names("real")]
        if real and not everything:
            raise ValueError(f"{', '.join(real)}: {exc}") from None
        options.models = [m for m in options.models if m not in real]  # the default run: the suite alone
    known = model_names("all")
    unknown = [m for m in options.models if m not in known]
    if unknown:
        raise ValueError(f"unknown suite model(s) {', '.join(unknown)}; the suite is {', '.join(SUITE_NAMES)}, "
                         f"the real models {', '.join(model_names('real'))} (groups: suite, real, all)")
    if options.variants:
        from ..errors import CompressionError
        from ..variants import parse_variants

        try:
            options.variants = [recipe.name for recipe in parse_variants(",".join(options.variants))]
        except CompressionError as exc:
            raise ValueError(str(exc)) from None
    unknown = [e for e in options.engines if e not in ENGINE_IDS + OPTIONAL_ENGINE_IDS]
    if unknown:
        raise ValueError(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINE_IDS + OPTIONAL_ENGINE_IDS)}")
    if max(options.threads) > 1:
        from .threads import thread_engine_ids

        options.engines = list(options.engines) + thread_engine_ids(options.engines, options.threads)
    return Bench(options, progress).run()


__all__ = ["BenchOptions", "run_bench"]
