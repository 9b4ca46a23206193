"""The browser host: Python in Pyodide drives the browser's own WebAssembly engine.

Stdlib plus `js`/`pyodide.ffi` only (numpy is not there offline). Bytes cross between Python and
linear memory in one typed-array copy each way (`assign` / `to_bytes`), never element by
element through proxies, which is about a thousand times slower. Everything is checked before it
is written: the manifest's layout, every file's sha256, and the module's imports and exports.
"""

from __future__ import annotations

import asyncio
import json
from typing import Callable
from urllib.parse import urljoin, urlsplit

from ..bundle import BundleSpec, TensorSpec, VariantSpec
from ..errors import BundleError, ExecutionError, UnsupportedBrowserError
from .adaptive import Choice, Context, Policy
from .chunks import DEFAULT_CONCURRENCY, ChunkLoader, LoadReport, fetch_buffer, take_compiled_early
from .config import RuntimeConfig, page_memory_limit
from .core import Model, decode_tensor, sidecar_variant
from .monitor import LatencyMonitor
from .navigator import device_memory_gb, read_context
from .simd import PROBE as RELAXED_SIMD_PROBE, needs_relaxed, resolve, uses_relaxed_simd
from .sandbox import LOOP_VARIANT_OFFSET, LOOP_VARIANT_V8, audit_module, is_layer_entry, memory_limits, memory_pages

try:
    from pyodide.ffi import JsException
except ImportError:  # imported outside Pyodide (the server's tests and tools): nothing to catch
    JsException = ()

VIEW_CACHE_SIZE = 16  # subarray views kept per instance: a model's inputs and outputs, not its weight chunks

# (module (func (result v128) (v128.const i32x4 0 0 0 0))): validates only where SIMD128 exists.
SIMD_PROBE = bytes.fromhex("0061736d01000000" "0105016000017b" "03020100" "0a160114" "00fd0c" + "00" * 16 + "0b")


class BrowserInstance:
    """One instantiated module; its memory is reached through one Uint8Array over the whole buffer.

    Only the module can grow its memory (it imports nothing, and hosts never grow it), and only
    while one of its exports runs; growing detaches the old buffer, whose views then have length
    0. A memory whose maximum is its initial size (every compiled model's) can never grow, so its
    views are made once: the subarray of each input and output is kept, and a copy in or out is
    one crossing into JS (`assign` or `to_bytes`). A memory that can grow is looked at after
    every call and its views re-made when it did.
    """

    def __init__(self, js_instance, fixed_memory: bool = False):
        import js

        self.compiled_early = False  # True: from the page's compile while Python started (app.js)
        exports = js_instance.exports
        self.memory = exports.memory
        self.fixed_memory = fixed_memory
        names = [str(name) for name in js.Object.keys(exports)]
        self.functions = {name: getattr(exports, name) for name in names
                          if name in ("run", "init") or is_layer_entry(name)}

        self._refresh_view()

    def _refresh_view(self) -> None:
        import js

        self._bytes = js.Uint8Array.new(self.memory.buffer)
        self._size = int(self._bytes.length)
        self._views: dict[tuple[int, int], object] = {}

    @classmethod
    async def create(cls, wasm: bytes, compiled=None) -> "BrowserInstance":
        """Instantiate `wasm`, or `compiled` (a promise of the module compiled from these very bytes)."""
        import js

        module = None
        if compiled is not None:
            try:
                module = await compiled
            except JsException:  # the early compile failed: compile the verified bytes here
                module = None
        try:
            if module is not None:
                js_instance = await js.WebAssembly.instantiate(module, js.Object.new())
            else:
                js_instance = (await js.WebAssembly.instantiate(_uint8array(wasm), js.Object.new())).instance
        except JsException as exc:
            raise BundleError(f"the module does not compile or instantiate in this browser: {exc}") from None
        initial, maximum = memory_limits(wasm)
        instance = cls(js_instance, fixed_memory=maximum == initial)
        instance.compiled_early = module is not None
        return instance

    @property
    def memory_bytes(self) -> int:
        return self._size

    def _view(self, offset: int, nbytes: int):
        view = self._views.get((offset, nbytes))
        if view is None:
            if offset < 0 or nbytes < 0 or offset + nbytes > self._size:
                raise BundleError(f"[{offset}, {offset + nbytes}) lies outside the module's memory")
            view = self._bytes.subarray(offset, offset + nbytes)
            if len(self._views) >= VIEW_CACHE_SIZE:
                self._views.clear()
            self._views[(offset, nbytes)] = view
        return view

    def write(self, offset: int, data: bytes | memoryview) -> None:
        self._view(offset, len(data)).assign(data)

    def read(self, offset: int, nbytes: int) -> bytes:
        return self._view(offset, nbytes).to_bytes()

    def call(self, export: str) -> int:
        try:
            return int(self.functions[export]())
        except JsException as exc:
            raise ExecutionError(f"the module trapped in {export}(): {exc}") from None
        finally:
            if not self.fixed_memory and self._bytes.length != self._size:  # the module grew its memory
                self._refresh_view()


async def load_async(url: str, variant: str | None = None, config: RuntimeConfig | None = None, *,
                     priority: str = "balanced", context: Context | None = None, policy: Policy | None = None,
                     on_progress: Callable | None = None, cache: bool = True,
                     concurrency: int = DEFAULT_CONCURRENCY, manifest_sha256: str | None = None,
                     threads: int | None = None,
                     worker: bool = False) -> Model:
    """Load a bundle (directory URL or `.../manifest.json`) or a bring-your-own `.wasm` URL.

    `variant`: a name, None for the manifest's default, or "auto" to let `policy` choose from
    `context` (read from `navigator` with `priority` when not given). Files come through the chunk
    loader: in parallel, sha256-verified, cached for offline visits (`cache=False` to bypass);
    `on_progress(Progress)` follows every file; `manifest_sha256` refuses (ManifestDigestError) a
    manifest.json with other bytes, from the network or the cache. The memory limit of `config` (by default
    half the device's memory, 512 MiB .. 4 GiB: runtime/config.py) is checked before
    instantiation; the browser cannot interrupt a running module from Python, so the deadline
    applies to the wasmtime host only. `threads`: how many threads a `--threads N` build runs on
    (default min(N, hardware threads); one when the page is not cross-origin isolated, and
    `model.choice` says why; runtime/browser_threads.py). `worker=True`: the model runs in a
    dedicated worker, `await model.run_async(inputs)`, with the deadline enforced by terminating it
    (runtime/browser_worker.py).
    """
    config = config or RuntimeConfig(memory_limit=page_memory_limit(device_memory_gb()))
    require_simd()
    url = absolute_url(url)
    path = urlsplit(url).path
    if path.endswith(".wat"):
        raise BundleError(f"{url}: WebAssembly text cannot be assembled in the browser; "
                          "assemble it to .wasm first (e.g. with wasmtime.wat2wasm or wat2wasm)")
    if path.endswith(".wasm"):
        if manifest_sha256 is not None:
            raise BundleError(f"manifest_sha256 pins a bundle's manifest.json; {url} is a bare module")
        return await _load_module_url(url, config)
    if path.endswith(".json"):
        manifest_url = url
    else:
        manifest_url = urljoin(url if path.endswith("/") else _with_path(url, path + "/"), "manifest.json")
    loader = ChunkLoader(manifest_url, use_cache=cache, concurrency=concurrency, on_progress=on_progress,
                         manifest_sha256=manifest_sha256)
    spec = await loader.manifest()
    policy = policy or Policy()
    if variant == "auto":
        choice = policy.choose(spec.variants.values(), context or await read_context(priority))
    else:
        chosen = spec.variant(variant)
        choice = _explicit_choice(spec, policy, chosen.name, "the manifest's default" if variant is None
                                  else "chosen by name", context)
    choice = _loadable(spec, choice)
    if worker:
        from .browser_worker import WorkerModel

        variant_spec, staged, report = await _load_variant(spec, loader, config, choice.variant, threads, stage=True)
        model = WorkerModel(variant_spec, staged, output_maker(), config, choice, report)
        await model.start()
        return model
    variant_spec, instance, report = await _load_variant(spec, loader, config, choice.variant, threads)
    if getattr(instance, "threads_reason", None):
        choice = Choice(choice.variant, choice.ranking, choice.reasons + (instance.threads_reason,), choice.context)
    model = BrowserModel(spec, loader, config, policy, variant_spec, instance, choice, report)
    model.threads = threads
    return model


def _loadable(spec: BundleSpec, choice: Choice) -> Choice:
    """`choice`, or its baseline twin (the reason added) when its variant needs relaxed SIMD and
    this browser does not validate it (runtime/simd.py)."""
    import js

    supported = not needs_relaxed(spec.variant(choice.variant)) or \
        bool(js.WebAssembly.validate(_uint8array(RELAXED_SIMD_PROBE)))
    name, why = resolve(spec, choice.variant, supported, "this browser")
    return choice if why is None else Choice(name, choice.ranking, choice.reasons + (why,), choice.context)


def _refuse_undeclared_relaxed_simd(wasm: bytes, variant: VariantSpec | None) -> None:
    """The browser cannot switch relaxed SIMD off, so a module that uses it without declaring the
    tier (a relaxed-tier kernel in its manifest's kernels; variant None: a bring-your-own module)
    is refused: its results could differ between engines."""
    if (variant is None or not needs_relaxed(variant)) and uses_relaxed_simd(wasm):
        raise BundleError("the module uses relaxed SIMD but does not declare the relaxed tier: refused, its results "
                          "could differ between engines")


def _explicit_choice(spec: BundleSpec, policy: Policy, name: str, why: str, context: Context | None) -> Choice:
    ranking = tuple(v.name for v in policy.rank(spec.variants.values()))
    return Choice(name, ranking, (why,), context or Context())


async def _load_variant(bundle: BundleSpec, loader: ChunkLoader, config: RuntimeConfig,
                        name: str, threads: int | None = None,
                        stage: bool = False) -> tuple[VariantSpec, "BrowserInstance", LoadReport]:
    """Fetch, verify and instantiate one variant, its weights written and `init` called."""
    variant = bundle.variant(name)
    config.check_memory(variant.memory_bytes, f"variant {variant.name}")
    from .browser_threads import BrowserThreadedInstance, plan_threads
    k, why = plan_threads(variant.threads, threads,
                          variant.threads > 1 and variant.report.get("threads", {}).get("split_calls") == 0)

    async def instantiate(wasm: bytes) -> BrowserInstance:
        audit_module(wasm)
        _refuse_undeclared_relaxed_simd(wasm, variant)
        if stage:  # worker=True: what a load writes is kept for the model's worker (browser_worker.py)
            from .browser_worker import StagedInstance

            instance = StagedInstance(wasm, variant.memory_bytes)
        elif variant.threads > 1:  # a --threads build: one shared memory, k - 1 workers
            instance = await BrowserThreadedInstance.create(wasm, variant.pages, k)
            instance.threads_reason = why
        else:
            instance = await BrowserInstance.create(wasm, take_compiled_early(loader.url(variant.module)))
        _check_memory(variant, instance)
        # V8 runs the load-splat kernel loops faster; same bits (runtime/sandbox.py). Compiled
        # bundles only: a bring-your-own module owns every byte of its memory.
        instance.write(LOOP_VARIANT_OFFSET, LOOP_VARIANT_V8.to_bytes(4, "little"))
        return instance

    instance, report = await loader.load_variant(variant, instantiate,
                                                 lambda instance, offset, data: instance.write(offset, data))
    if variant.has_init and instance.call("init") != 0:
        raise ExecutionError("model init returned a non-zero status")
    return variant, instance, report


class BrowserModel(Model):
    """A bundle's model in the page: runs one variant, times every run, can switch variants.

    `choice` says which variant and why; `load_report` where its bytes came from; `stats()` the
    latency percentiles and memory in use. Latency covers what a caller waits for in `run`:
    encoding the inputs, the module's `run`, and decoding the outputs.
    """

    def __init__(self, bundle: BundleSpec, loader: ChunkLoader, config: RuntimeConfig, policy: Policy,
                 variant: VariantSpec, instance: BrowserInstance, choice: Choice, report: LoadReport):
        import js

        super().__init__(variant, instance, output_maker(), host="browser")
        self._now = js.performance.now  # one lookup: `js.performance.now` costs two FFI crossings
        self.bundle, self.loader, self.config, self.policy = bundle, loader, config, policy
        self.choice, self.load_report = choice, report
        self.monitor = LatencyMonitor()
        self.prefetched: dict[str, LoadReport] = {}

    async def _load(self, choice: Choice) -> None:
        """Load `choice.variant` into a new instance; the current one keeps serving until it is ready."""
        variant, instance, report = await _load_variant(self.bundle, self.loader, self.config, choice.variant,
                                                        getattr(self, "threads", None))
        self.variant, self.instance, self.choice, self.load_report = variant, instance, choice, report
        self.monitor.reset()  # latencies of different variants are not one distribution

    @property
    def variants(self) -> list[str]:
        return list(self.bundle.variants)

    def run(self, inputs: dict) -> dict:
        started = self._now()
        outputs = super().run(inputs)
        self.monitor.record(self._now() - started)
        return outputs

    def profile(self, inputs: dict) -> dict:
        """Per-layer times of one inference (a --profile build), also kept by the monitor."""
        result = super().profile(inputs)
        self.monitor.record_layers({layer["node"]: layer["ms"] for layer in result["layers"]})
        return result

    async def switch(self, variant: str) -> Choice:
        """Load another variant by name (from the cache when it was prefetched) and run it from now on."""
        if variant != self.variant.name:
            context = self.choice.context if self.choice else None
            await self._load(_loadable(self.bundle, _explicit_choice(self.bundle, self.policy, variant, "chosen by name",
                                                                     context)))
        return self.choice

    async def adapt(self, priority: str | None = None, context: Context | None = None) -> Choice:
        """Ask the policy again (a new priority, or the device's state has changed) and switch if it
        picks another variant."""
        if context is None:
            context = await read_context(priority or (self.choice.context.priority if self.choice else "balanced"))
        choice = _loadable(self.bundle, self.policy.choose(self.bundle.variants.values(), context))
        if choice.variant != self.variant.name:
            await self._load(choice)
        self.choice = choice
        return choice

    async def prefetch(self, variant: str | None = None) -> LoadReport | None:
        """Cache another variant's files (verified, not instantiated); default: the policy's next one."""
        name = variant or (self.choice.next_variant() if self.choice else None)
        if name is None:
            return None
        report = await self.loader.prefetch(self.bundle.variant(name))
        self.prefetched[name] = report
        return report

    def prefetch_when_idle(self, variant: str | None = None) -> "asyncio.Future":
        """`prefetch` once the page is idle (`requestIdleCallback`; a 1 s timer where it is missing)."""
        import js
        from pyodide.ffi import create_once_callable

        done = asyncio.get_event_loop().create_future()

        def settle(task: asyncio.Task) -> None:
            if task.cancelled():
                done.cancel()
            elif task.exception() is not None:
                done.set_exception(task.exception())
            else:
                done.set_result(task.result())

        def start(*_) -> None:
            asyncio.ensure_future(self.prefetch(variant)).add_done_callback(settle)

        if hasattr(js, "requestIdleCallback"):
            js.requestIdleCallback(create_once_callable(start))
        else:
            js.setTimeout(create_once_callable(start), 1000)
        return done

    async def cached_variants(self) -> list[str]:
        return [name for name, spec in self.bundle.variants.items() if await self.loader.is_cached(spec)]

    def stats(self) -> dict:
        """Latency (p50/p95/histogram), memory in use, the choice and the load, as JSON-ready dicts."""
        import js

        memory = {"model_bytes": self.instance.memory_bytes, "js_heap_bytes": None}
        heap = getattr(getattr(js, "performance", None), "memory", None)  # Chromium only
        if heap is not None:
            memory["js_heap_bytes"] = int(heap.usedJSHeapSize)
        return {"variant": self.variant.name, "latency": self.monitor.summary(), "memory": memory,
                "choice": self.choice.to_json() if self.choice else None,
                "load": self.load_report.to_json() if self.load_report else None}


async def _load_module_url(url: str, config: RuntimeConfig) -> Model:
    """Bring your own module: `model.wasm` beside a small `model.json` (as on the server)."""
    sidecar = _with_path(url, urlsplit(url).path[: -len(".wasm")] + ".json")
    wasm = await fetch_bytes(url)
    try:
        meta = json.loads(await fetch_bytes(sidecar))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{sidecar} is not valid JSON: {exc}") from None
    audit_module(wasm)
    _refuse_undeclared_relaxed_simd(wasm, None)
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    variant = sidecar_variant(meta, name, wasm, memory_pages(wasm))
    config.check_memory(variant.memory_bytes, name)
    instance = await BrowserInstance.create(wasm)
    if variant.has_init and instance.call("init") != 0:
        raise ExecutionError("model init returned a non-zero status")
    return Model(variant, instance, output_maker(), host="browser")


def _check_memory(variant: VariantSpec, instance: BrowserInstance) -> None:
    if instance.memory_bytes < variant.memory_bytes:
        raise BundleError(f"the module's memory ({instance.memory_bytes} bytes) is smaller than its manifest "
                          f"declares ({variant.memory_bytes} bytes)")


# -- the page's environment ------------------------------------------------------------------


def require_simd() -> None:
    import js

    if not js.WebAssembly.validate(_uint8array(SIMD_PROBE)):
        raise UnsupportedBrowserError("this browser does not support WebAssembly SIMD128, which every edgewasm "
                                      "model needs (Chrome/Edge 91+, Firefox 89+, Safari 16.4+)")


def absolute_url(url: str) -> str:
    """Resolve `url` against the page's address, as `fetch` would."""
    import js

    return str(js.URL.new(str(url), js.location.href).href)


def _with_path(url: str, path: str) -> str:
    return urlsplit(url)._replace(path=path, query="", fragment="").geturl()


async def fetch_bytes(url: str) -> bytes:
    """GET `url`; any failure is a BundleError naming the URL (and the HTTP status)."""
    return (await fetch_buffer(url)).to_bytes()


def _uint8array(data: bytes):
    import js

    array = js.Uint8Array.new(len(data))
    array.assign(data)
    return array


def output_maker():
    """numpy arrays when the page has numpy, stdlib `Tensor`s otherwise."""
    try:
        import numpy
    except ImportError:
        return decode_tensor

    def to_numpy(spec: TensorSpec, raw: bytes):
        return numpy.frombuffer(bytearray(raw), dtype=numpy.dtype(spec.dtype).newbyteorder("<")).reshape(spec.shape)

    return to_numpy
