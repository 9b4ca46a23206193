"""The browser side of the bench: edgewasm through Pyodide and onnxruntime-web, in one Chromium.

Steady state runs in the `BrowserSession` page (Pyodide booted once, onnxruntime-web imported
into the same page), and every latency is measured INSIDE the page with `performance.now()`
(fine-grained there: the server sends COOP/COEP, so the page is cross-origin isolated), N
inferences per call, so Playwright's round trips never enter a sample. Cold starts use a fresh
browser context per run (empty HTTP and code caches): page open to first result, the bytes the
page fetched (Resource Timing) and the WebAssembly memory it holds afterwards (every
`WebAssembly.Memory` the page creates or instantiates is observed: onnxruntime-web exposes no
memory figure of its own).
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

from ..runtime.sandbox import LOOP_VARIANT_OFFSET
from .engines import EngineUnavailable
from .microbench import LOOP_EXPORT, SETUP_EXPORT, Microbench
from .ortweb import ENTRY as ORT_ENTRY
from .ortweb import ORT_WEB_VERSION, fetch_ort_web
from .prepare import BenchModel
from .shipped import ServedFiles, bytes_shipped

COLD_TIMEOUT_S = 180.0
TIER_UP_PAUSE_MS = 100  # V8 compiles optimized code in the background: let it land before timing

# Observes every wasm memory a page makes, and its resource entries. Runs before anything else.
MEMORY_HOOK_JS = """
(() => {
  const memories = new Set();
  const note = (instance) => {
    for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.add(value);
  };
  const Memory = WebAssembly.Memory;
  WebAssembly.Memory = new Proxy(Memory, {construct(target, args, newTarget) {
    const memory = Reflect.construct(target, args, newTarget); memories.add(memory); return memory; }});
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = new Proxy(Instance, {construct(target, args, newTarget) {
    const instance = Reflect.construct(target, args, newTarget); note(instance); return instance; }});
  for (const name of ["instantiate", "instantiateStreaming"]) {
    const original = WebAssembly[name];
    if (!original) continue;
    WebAssembly[name] = function (...args) {
      return original.apply(this, args).then((result) => { note(result.instance || result); return result; });
    };
  }
  performance.setResourceTimingBufferSize(10000);
  window.benchWasmMemoryBytes = () => [...memories].reduce((sum, m) => sum + m.buffer.byteLength, 0);
  window.benchResources = () => performance.getEntriesByType("resource").map(
    (e) => ({name: e.name, size: e.decodedBodySize}));
})();
"""

# onnxruntime-web's configuration, the same in the session page and the cold pages. `threads` > 1
# needs a cross-origin isolated page (SharedArrayBuffer): the bench's server sends COOP/COEP.
ORT_CONFIGURE_JS = """(ort, base, threads) => {
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = base;
  return {executionProviders: ["wasm"], graphOptimizationLevel: "all"};
}"""

# Typed arrays of the model's inputs, made from raw little-endian bytes.
ORT_FEEDS_JS = """(ort, specs, bytesOf) => {
  const arrays = {float32: Float32Array, int32: Int32Array, int64: BigInt64Array, uint8: Uint8Array, int8: Int8Array};
  const feeds = {};
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const Kind = arrays[spec.dtype];
    const raw = bytesOf(spec, size * Kind.BYTES_PER_ELEMENT);
    feeds[spec.name] = new ort.Tensor(spec.dtype, new Kind(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)),
                                      spec.shape);
  }
  return feeds;
}"""

EDGEWASM_COLD_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>edgewasm cold start</title>
<script>{hook}</script>
<script src="/pyodide/pyodide.js"></script>
<script>
(async () => {{
  const query = new URLSearchParams(location.search);
  const pyodide = await loadPyodide({{indexURL: new URL("/pyodide/", location.href).href}});
  const problems = [];
  const loaded = await pyodide.loadPackage("edgewasm",
    {{messageCallback: () => {{}}, errorCallback: (message) => problems.push(message)}});
  if (!loaded.length) throw new Error("loadPackage('edgewasm') loaded nothing: " + problems.join("; "));
  pyodide.globals.set("bundle_url", query.get("bundle"));
  const modelMemory = await pyodide.runPythonAsync(`
import array, edgewasm
from edgewasm.bundle import DTYPES
from edgewasm.runtime.config import PAGE_MAX_LIMIT, RuntimeConfig
model = await edgewasm.load(bundle_url, config=RuntimeConfig(memory_limit=PAGE_MAX_LIMIT))  # speed, not limits
model.run({{t.name: array.array(DTYPES[t.dtype][0], bytes(t.nbytes)) for t in model.inputs}})
model.instance.memory_bytes
`);
  const firstResult = performance.now();
  window.benchResult = {{first_result_ms: firstResult, model_memory_bytes: modelMemory,
                        wasm_memory_bytes: benchWasmMemoryBytes(), resources: benchResources()}};
}})().catch((error) => {{
  // A Python exception arrives as a PythonError whose message is the traceback: its last line is
  // the typed error's own "Type: message", which is what a bench row must show.
  const lines = String(error && (error.type ? error.message : error.stack) || error).trim().split("\\n");
  window.benchError = error && error.type ? lines[lines.length - 1] : lines[0];
}});
</script></head><body>edgewasm cold start</body></html>
"""

ORT_COLD_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>onnxruntime-web cold start</title>
<script>{hook}</script>
<script type="module">
const configure = {configure};
const makeFeeds = {feeds};
try {{
  const query = new URLSearchParams(location.search);
  const base = new URL(query.get("ort"), location.href).href;
  const threads = Number(query.get("threads") || 1);
  const ort = await import(base + "{entry}" + (threads > 1 ? "?threads=" + threads : ""));
  const options = configure(ort, base, threads);
  const session = await ort.InferenceSession.create(query.get("model"), options);
  const feeds = makeFeeds(ort, JSON.parse(query.get("inputs")), (spec, n) => new Uint8Array(n));
  await session.run(feeds);
  const firstResult = performance.now();
  window.benchResult = {{first_result_ms: firstResult, model_memory_bytes: null,
                        wasm_memory_bytes: benchWasmMemoryBytes(), resources: benchResources()}};
}} catch (error) {{
  window.benchError = String(error && error.stack || error);
}}
</script></head><body>onnxruntime-web cold start</body></html>
"""

# The session page's Python side of edgewasm/chromium: load a bundle with the staged inputs,
# then time blocks of inferences with performance.now() around each `model.run`.
PAGE_PYTHON = r'''
import array, js, edgewasm
from edgewasm.bundle import DTYPES
from edgewasm.runtime.config import PAGE_MAX_LIMIT, RuntimeConfig

_bench_models = {}


async def _bench_load(key, url, threads=None):
    # the bench measures speed, not limits: wasm32's whole reach, as the wasmtime engine (bench/engines.py)
    model = await edgewasm.load(url, threads=threads, config=RuntimeConfig(memory_limit=PAGE_MAX_LIMIT))
    staged = js.edgewasmBench.inputs.get(key)
    inputs = {}
    for spec in model.inputs:
        values = array.array(DTYPES[spec.dtype][0])
        values.frombytes(staged.get(spec.name).to_bytes())
        inputs[spec.name] = values
    _bench_models[key] = (model, inputs)
    return {"memory_bytes": model.instance.memory_bytes}


def _bench_block(key, samples, group):
    model, inputs = _bench_models[key]
    now, run, times = js.performance.now, model.run, []
    for _ in range(samples):
        started = now()
        for _ in range(group):
            run(inputs)
        times.append((now() - started) / group)
    return times


def _bench_drop(key):
    _bench_models.pop(key, None)
'''

PAGE_JS = """() => {
  window.edgewasmBench = {inputs: new Map(), sessions: new Map(), loops: new Map(), orts: new Map(), pthreads: 0};
  // onnxruntime-web's threads are Emscripten pthreads, each a module worker named "em-pthread":
  // counting them shows that numThreads = k really started k - 1 workers.
  const Worker = window.Worker;
  window.Worker = new Proxy(Worker, {construct(target, args, newTarget) {
    if (args[1] && args[1].name === "em-pthread") window.edgewasmBench.pthreads += 1;
    return Reflect.construct(target, args, newTarget); }});
  let resolution = Infinity;
  for (let i = 0; i < 200; i++) {
    const a = performance.now(); let b = performance.now();
    while (b === a) b = performance.now();
    resolution = Math.min(resolution, b - a);
  }
  return {crossOriginIsolated: self.crossOriginIsolated, timerResolutionMs: resolution, userAgent: navigator.userAgent};
}"""

# One import of onnxruntime-web per thread count: its thread count is fixed when its wasm backend
# first starts, so k > 1 imports the module under another URL (`?threads=k`), which gives a
# separate module instance (its own `env` and wasm backend) in the same page.
ORT_IMPORT_JS = """async ([ortBase, threads]) => {
  const bench = window.edgewasmBench;
  const configure = %s;
  const ort = await import(ortBase + "%s" + (threads > 1 ? "?threads=" + threads : ""));
  bench.orts.set(threads, {ort, options: configure(ort, new URL(ortBase, location.href).href, threads)});
  bench.makeFeeds = %s;
  return ort.env.versions;
}""" % (ORT_CONFIGURE_JS, ORT_ENTRY, ORT_FEEDS_JS)

STAGE_INPUTS_JS = """([key, inputs]) => {
  const staged = new Map();
  for (const [name, b64] of Object.entries(inputs)) staged.set(name, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  window.edgewasmBench.inputs.set(key, staged);
}"""

ORT_LOAD_JS = """async ([key, modelUrl, specs, threads]) => {
  const bench = window.edgewasmBench;
  const {ort, options} = bench.orts.get(threads);
  const session = await ort.InferenceSession.create(modelUrl, options);
  const staged = bench.inputs.get(key);
  bench.sessions.set(key, {session, feeds: bench.makeFeeds(ort, specs, (spec) => staged.get(spec.name))});
  return {pthreads: bench.pthreads, numThreads: ort.env.wasm.numThreads};
}"""

ORT_BLOCK_JS = """async ([key, samples, group]) => {
  const {session, feeds} = window.edgewasmBench.sessions.get(key);
  const times = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    for (let j = 0; j < group; j++) {
      const outputs = await session.run(feeds);
      for (const tensor of Object.values(outputs)) if (tensor.dispose) tensor.dispose();
    }
    times.push((performance.now() - started) / group);
  }
  return times;
}"""

ORT_RELEASE_JS = """async (key) => {
  const entry = window.edgewasmBench.sessions.get(key);
  window.edgewasmBench.sessions.delete(key);
  window.edgewasmBench.inputs.delete(key);
  if (entry) await entry.session.release();
}"""

LOOP_LOAD_JS = """async ([name, b64, hasSetup, pauseMs]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const {instance} = await WebAssembly.instantiate(bytes, {});
  // the loop-variant word, as the browser host writes it (kernel cases: V8's loops)
  if (instance.exports.memory) new Int32Array(instance.exports.memory.buffer, %d, 1).fill(1);
  if (hasSetup) instance.exports.%s();
  const loop = instance.exports.%s;
  // Leave V8's baseline tier before anything is timed: run until a call takes 20 ms (which
  // spends the tier-up budget), then give the optimizing compiler time to finish.
  for (let n = 1, ms = 0; ms < 20; n *= 4) {
    const started = performance.now();
    loop(n);
    ms = performance.now() - started;
  }
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
  loop(1);
  window.edgewasmBench.loops.set(name, loop);
}""" % (LOOP_VARIANT_OFFSET, SETUP_EXPORT, LOOP_EXPORT)

LOOP_TIME_JS = """([name, iterations]) => {
  const loop = window.edgewasmBench.loops.get(name);
  const started = performance.now();
  loop(iterations);
  return performance.now() - started;
}"""


def page_error(line: str) -> Exception:
    """The page's "Type: message" as that edgewasm error (so a bench row shows the typed error's own
    message, e.g. the memory limit a variant exceeds), or a RuntimeError for anything else."""
    from .. import errors

    kind, _, message = line.partition(": ")
    cls = getattr(errors, kind.rsplit(".", 1)[-1], None)
    if message and isinstance(cls, type) and issubclass(cls, errors.EdgewasmError):
        return cls(message)
    return RuntimeError(f"cold start failed in the page: {line}")


class BenchBrowser:
    """One Chromium for the browser engines: the Pyodide session page, onnxruntime-web staged
    and imported into it, and fresh contexts for cold starts."""

    def __init__(self, workdir: Path, with_ort_web: bool, ort_web_version: str = ORT_WEB_VERSION,
                 log: Callable[[str], None] = print):
        from ..browser import BrowserSession

        self.log = log
        self.served = ServedFiles()
        self.ort_url = ""
        self.ort_error: str | None = None
        self.ort_threads: dict[int, dict] = {}  # thread count -> onnxruntime-web's versions, once imported
        self.ort_web_version = ort_web_version
        # A runtime staged for this run alone: the shared default directory can be restaged by a
        # concurrent session built from other sources, which breaks the wheel's lockfile digest.
        self.session = BrowserSession(runtime_dir=Path(workdir) / "browser-runtime", log=log, run_timeout=600.0)
        try:
            self.session.start()
            self.page_info = self.session.page.evaluate(PAGE_JS)
            self.session.evaluate_python(PAGE_PYTHON)
        except Exception as exc:  # noqa: BLE001 - Playwright, npm, pip, Pyodide: the engines are unavailable
            self.session.close()
            raise EngineUnavailable(f"Chromium with Pyodide did not start: {exc}") from None
        self.served.add("/pyodide/", self.session.runtime_dir / "pyodide")
        if with_ort_web:
            self._import_ort_web(ort_web_version)
        pages = Path(workdir) / "pages"
        pages.mkdir(parents=True, exist_ok=True)
        (pages / "edgewasm.html").write_text(EDGEWASM_COLD_HTML.format(hook=MEMORY_HOOK_JS))
        (pages / "ort-web.html").write_text(ORT_COLD_HTML.format(hook=MEMORY_HOOK_JS, configure=ORT_CONFIGURE_JS,
                                                                  feeds=ORT_FEEDS_JS, entry=ORT_ENTRY))
        self.pages_url = self.serve(pages)
        if not self.page_info["crossOriginIsolated"]:
            log("warning: the bench page is not cross-origin isolated; performance.now() is coarse (100 us)")

    def _import_ort_web(self, version: str) -> None:
        """Stage onnxruntime-web and import it into the session page; on failure only the
        onnxruntime-web engines are unavailable."""
        try:
            url = self.serve(fetch_ort_web(version, log=self.log))
            self.page_info["ort"] = self.evaluate(ORT_IMPORT_JS, [url, 1])
            self.ort_url = url
            self.ort_threads[1] = self.page_info["ort"]
        except Exception as exc:  # noqa: BLE001
            self.ort_error = " ".join(str(exc).split())

    def ort_web_threads(self, threads: int) -> None:
        """Import onnxruntime-web configured for `threads` (once per count); EngineUnavailable when
        it cannot run them (no SharedArrayBuffer outside a cross-origin isolated page)."""
        if self.ort_error or not self.ort_url:
            raise EngineUnavailable(f"onnxruntime-web could not be staged: {self.ort_error}")
        if threads > 1 and not self.page_info["crossOriginIsolated"]:
            raise EngineUnavailable(f"onnxruntime-web on {threads} threads needs a cross-origin isolated page "
                                    "(SharedArrayBuffer); the bench page is not")
        if threads not in self.ort_threads:
            self.ort_threads[threads] = self.evaluate(ORT_IMPORT_JS, [self.ort_url, threads])

    def serve(self, directory: Path) -> str:
        url = self.session.register(Path(directory))
        self.served.add(url, Path(directory))
        return url

    def evaluate(self, script: str, argument=None):
        return self.session.page.evaluate(script, argument)

    def stage_inputs(self, key: str, model: BenchModel) -> None:
        encoded = {name: base64.b64encode(value.astype(value.dtype.newbyteorder("<")).tobytes()).decode()
                   for name, value in model.inputs.items()}
        self.evaluate(STAGE_INPUTS_JS, [key, encoded])

    # -- microbenchmarks -----------------------------------------------------------------------

    def time_loop(self, bench: Microbench, iterations: int) -> float:
        """Seconds for `loop(iterations)` of `bench`'s module, timed in the page."""
        loaded = self.session.page.evaluate("(name) => window.edgewasmBench.loops.has(name)", bench.name)
        if not loaded:
            self.evaluate(LOOP_LOAD_JS, [bench.name, base64.b64encode(bench.wasm).decode(), bench.has_setup,
                                         TIER_UP_PAUSE_MS])
        return self.evaluate(LOOP_TIME_JS, [bench.name, iterations]) / 1000.0

    # -- cold starts ---------------------------------------------------------------------------

    def cold_page(self, page: str, query: dict, model_prefix: str) -> dict:
        """Open `page` in a fresh context; page open (navigation start) to first result."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        tab = self.session.new_page(self.session.origin)
        console: list[str] = []
        tab.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        try:
            tab.goto(f"{self.session.origin}{self.pages_url}{page}?{urlencode(query)}")
            try:
                tab.wait_for_function("window.benchResult || window.benchError", timeout=COLD_TIMEOUT_S * 1000)
            except PlaywrightTimeout:
                raise RuntimeError(f"no first result within {COLD_TIMEOUT_S:.0f} s; console: {console[-5:]}") from None
            error = tab.evaluate("window.benchError || null")
            if error:
                raise page_error(error.splitlines()[0])
            result = tab.evaluate("window.benchResult")
        finally:
            tab.context.close()
        shipped = bytes_shipped(result["resources"], model_prefix, self.served)
        return {"cold_start_ms": result["first_result_ms"], "bytes_shipped": shipped,
                "wasm_memory_bytes": result["wasm_memory_bytes"], "model_memory_bytes": result["model_memory_bytes"]}

    def close(self) -> None:
        self.session.close()


class ChromiumLoaded:
    def __init__(self, browser: BenchBrowser, key: str, facts: dict):
        self.browser, self.key, self._facts = browser, key, facts
        self.clock_resolution_ms = browser.page_info["timerResolutionMs"]

    def block(self, samples: int, group: int = 1) -> list[float]:
        return self.browser.session.evaluate_python(f"_bench_block({self.key!r}, {int(samples)}, {int(group)})")

    def facts(self) -> dict:
        return dict(self._facts)

    def close(self) -> None:
        self.browser.session.evaluate_python(f"_bench_drop({self.key!r})")
        self.browser.evaluate("(key) => window.edgewasmBench.inputs.delete(key)", self.key)


class ChromiumEngine:
    """edgewasm in Chromium: Python in Pyodide drives the bundle's module (one `run` per inference)."""

    id, wasm_host = "browser", "chromium"

    def __init__(self, browser: BenchBrowser):
        self.browser = browser

    def refusal(self, model: BenchModel) -> dict | None:
        return model.edgewasm_refusal

    def cold_start(self, model: BenchModel) -> dict:
        bundle_url = self.browser.serve(model.bundle)
        result = self.browser.cold_page("edgewasm.html", {"bundle": bundle_url}, bundle_url)
        model_memory = result.pop("model_memory_bytes")
        result["memory_bytes"] = model_memory
        result["runtime_memory_bytes"] = result.pop("wasm_memory_bytes") - model_memory
        return result

    def load(self, model: BenchModel) -> ChromiumLoaded:
        key = f"edgewasm:{model.name}"
        self.browser.stage_inputs(key, model)
        facts = self.browser.session.evaluate_python(
            f"await _bench_load({key!r}, {self.browser.serve(model.bundle)!r})")
        return ChromiumLoaded(self.browser, key, facts)

    def close(self) -> None:
        pass


class OrtWebLoaded:
    def __init__(self, browser: BenchBrowser, key: str, facts: dict | None = None):
        self.browser, self.key, self._facts = browser, key, facts or {}
        self.clock_resolution_ms = browser.page_info["timerResolutionMs"]

    def block(self, samples: int, group: int = 1) -> list[float]:
        return self.browser.evaluate(ORT_BLOCK_JS, [self.key, int(samples), int(group)])

    def facts(self) -> dict:
        return dict(self._facts)

    def close(self) -> None:
        self.browser.evaluate(ORT_RELEASE_JS, self.key)


class OrtWebEngine:
    """onnxruntime-web's wasm backend (SIMD, no proxy worker) on the original .onnx: one thread,
    or `threads` (Emscripten pthreads: the page plus threads - 1 workers) as `onnxruntime-web@k`."""

    wasm_host = "chromium"

    def __init__(self, browser: BenchBrowser, threads: int = 1):
        browser.ort_web_threads(threads)
        self.browser, self.threads = browser, threads
        self.id = "onnxruntime-web" if threads == 1 else f"onnxruntime-web@{threads}"
        self.version = (browser.page_info.get("ort") or {}).get("web", browser.ort_web_version)

    def refusal(self, model: BenchModel) -> dict | None:
        return None

    def _model_url(self, model: BenchModel) -> tuple[str, str]:
        directory_url = self.browser.serve(model.directory)
        return directory_url, directory_url + model.onnx_path.name

    def cold_start(self, model: BenchModel) -> dict:
        directory_url, model_url = self._model_url(model)
        query = {"ort": self.browser.ort_url, "model": model_url, "inputs": json.dumps(model.input_specs()),
                 "threads": self.threads}
        result = self.browser.cold_page("ort-web.html", query, model_url)
        result.pop("model_memory_bytes")
        result["memory_bytes"] = result.pop("wasm_memory_bytes")  # onnxruntime's heap: weights, arena, runtime
        return result

    def load(self, model: BenchModel) -> OrtWebLoaded:
        key = f"ort-web@{self.threads}:{model.name}:{time.monotonic_ns()}"
        self.browser.stage_inputs(key, model)
        started = self.browser.evaluate(ORT_LOAD_JS, [key, self._model_url(model)[1], model.input_specs(), self.threads])
        if started["numThreads"] != self.threads:
            raise RuntimeError(f"onnxruntime-web runs {started['numThreads']} thread(s), not {self.threads}")
        return OrtWebLoaded(self.browser, key, {"threads": self.threads, "pthread_workers": started["pthreads"]})

    def close(self) -> None:
        pass
