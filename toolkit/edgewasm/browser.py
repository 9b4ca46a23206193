"""Run bundles in headless Chromium through Pyodide (Playwright), for tests and the CLI.

One `BrowserSession` boots Pyodide once and then runs any number of bundles: it stages the
runtime, serves it and the registered bundles from a local server, and blocks every request
that leaves that server. Inputs travel as base64 bytes and are rebuilt in the page as stdlib
objects (no numpy there), so the page exercises exactly what a user's page would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import errors
from .bundle import SUB_BYTE_BITS
from .runtime.core import unpack_codes
from .webassets import build_wheel, cache_dir, stage_runtime

INPUT_KINDS = ("array", "memoryview", "list")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

HARNESS_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>edgewasm harness</title>
<script src="/pyodide/pyodide.js"></script>
<script>
window.edgewasmState = "booting";
(async () => {
  const started = performance.now();
  const pyodide = await loadPyodide({indexURL: new URL("/pyodide/", location.href).href});
  window.edgewasmBootMs = performance.now() - started;
  const problems = [];
  const loaded = await pyodide.loadPackage("edgewasm",
    {messageCallback: () => {}, errorCallback: (message) => problems.push(message)});
  if (!loaded.length) throw new Error("loadPackage('edgewasm') loaded nothing: " + problems.join("; "));
  window.pyodide = pyodide;
  window.edgewasmState = "ready";
})().catch((error) => { window.edgewasmState = "error: " + (error && error.stack || error); });
</script></head><body>edgewasm harness</body></html>
"""

# Calls a function of the page's Python; a JS-side deadline catches stalls (e.g. a hung fetch).
CALL_PAGE_PYTHON = """async ([name, argument, timeoutMs]) => {
  const fn = pyodide.globals.get(name);
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try { return await Promise.race([fn(argument), deadline]); }
  finally { clearTimeout(timer); fn.destroy(); }
}"""

# The page's side (stdlib + edgewasm only). Results go back as JSON; exceptions as their
# class, module, message and traceback, which the host re-raises.
PAGE_PYTHON = r'''
import array, base64, json, traceback
import js
import edgewasm
from edgewasm.runtime.config import RuntimeConfig
from pyodide.code import eval_code_async

_models = {}  # (url, variant) -> model, least recently used first
_MAX_MODELS = 16  # each live model holds a wasm memory; Chromium refuses new ones past ~120
_namespace = {"__name__": "__main__"}


def _nest(flat, shape):
    if len(shape) <= 1:
        return flat
    step = len(flat) // shape[0]
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _typecode(kind, itemsize):
    """array.array's item sizes differ from the host's (wasm32: 'l' is 4 bytes), so match by size."""
    for code in {"f": "fd", "i": "bhilq", "u": "BHILQ"}.get(kind, ""):
        if array.array(code).itemsize == itemsize:
            return code
    raise TypeError(f"no array.array typecode for numpy kind {kind!r} of {itemsize} bytes")


def _rebuild(item, kind):
    if item["kind"] == "raw" or (item["kind"], item["itemsize"]) == ("f", 2):
        return _rebuild_raw(item, kind)
    typecode = "B" if item["kind"] == "bool" else _typecode(item["kind"], item["itemsize"])
    flat = array.array(typecode)
    flat.frombytes(base64.b64decode(item["data"]))
    shape = tuple(item["shape"])
    if kind == "array":
        return flat
    if kind == "memoryview":
        view = memoryview(flat)
        return view.cast("B").cast(typecode, shape) if len(shape) > 1 else view
    if kind == "list":
        values = [bool(v) for v in flat] if item["kind"] == "bool" else flat.tolist()
        return _nest(values, shape) if shape else values[0]
    raise ValueError(f"unknown input kind {kind!r}")


def _rebuild_raw(item, kind):
    """A dtype array.array lacks (float16, bfloat16, float8, int4, ...): its encoded bytes, as bytes or
    a byte memoryview; float16 can also travel as a list of Python floats (struct's 'e')."""
    raw = base64.b64decode(item["data"])
    if kind == "list" and (item["kind"], item["itemsize"]) == ("f", 2):
        import struct
        return _nest(list(struct.unpack(f"<{len(raw) // 2}e", raw)), tuple(item["shape"]))
    return memoryview(raw) if kind == "memoryview" else raw


def _failure(exc):
    kind = type(exc)
    return json.dumps({"error": {"type": kind.__name__, "module": kind.__module__, "message": str(exc),
                                 "traceback": traceback.format_exc()}})


async def edgewasm_harness_run(request):
    try:
        request = json.loads(request)
        key = (request["url"], request["variant"], request.get("memory_limit"))
        config = RuntimeConfig(memory_limit=key[2]) if key[2] else None
        model = _models.pop(key, None) or await edgewasm.load(request["url"], request["variant"], config=config)
        _models[key] = model
        while len(_models) > _MAX_MODELS:
            del _models[next(iter(_models))]
        inputs = {name: _rebuild(item, request["kind"]) for name, item in request["inputs"].items()}
        started = js.performance.now()
        outputs = model.run(inputs)
        elapsed = js.performance.now() - started
        return json.dumps({"variant": model.variant.name, "ms": elapsed, "outputs": {
            name: {"data": base64.b64encode(value.tobytes()).decode(), "shape": list(value.shape),
                   "dtype": str(value.dtype)} for name, value in outputs.items()}})
    except Exception as exc:
        return _failure(exc)


async def edgewasm_harness_eval(code):
    try:
        return json.dumps({"value": await eval_code_async(code, _namespace)}, default=repr)
    except Exception as exc:
        return _failure(exc)
'''


class BrowserError(errors.EdgewasmError):
    """Headless Chromium, the local server or Pyodide could not be started or stopped answering."""


class PageError(RuntimeError):
    """A non-edgewasm exception raised by Python inside the page (a bug, not a user error)."""

    def __init__(self, type_name: str, message: str, page_traceback: str = ""):
        super().__init__(f"{type_name} in the browser: {message}")
        self.type_name, self.message, self.page_traceback = type_name, message, page_traceback


def _stderr(message: str) -> None:
    print(f"[edgewasm browser] {message}", file=sys.stderr, flush=True)


def _prune_siblings(directory: Path, keep: int) -> None:
    """Drop all but the `keep` most recently used staging directories beside `directory`."""
    if not directory.parent.is_dir():
        return
    siblings = sorted((d for d in directory.parent.iterdir() if d.is_dir() and d != directory),
                      key=lambda d: d.stat().st_mtime, reverse=True)
    for stale in siblings[keep - 1:]:
        shutil.rmtree(stale, ignore_errors=True)


class BrowserSession:
    """Headless Chromium with Pyodide and edgewasm booted once; run bundles in it.

    Use as a context manager. `run` loads each bundle once per session (cached in the page).
    """

    def __init__(self, runtime_dir: Path | None = None, log: Callable[[str], None] = _stderr,
                 boot_timeout: float = 120.0, run_timeout: float = 60.0):
        self.runtime_dir = Path(runtime_dir) if runtime_dir else None  # default: one per source digest
        self.log = log
        self.boot_timeout = boot_timeout
        self.run_timeout = run_timeout
        self.boot_seconds: float | None = None  # loadPyodide alone, measured in the page
        self.last_run_ms: float | None = None  # the last model.run, measured in the page
        self.console: list[str] = []  # the harness page's console, for boot failures
        self._bundles: dict[str, Path] = {}
        self._server = self._playwright = self._browser = self.page = None
        self.origin = ""

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> "BrowserSession":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self) -> None:
        if self.runtime_dir is None:
            # One staging directory per source digest, so runs of different sources never swap
            # each other's wheel under a page that is loading it.
            self.runtime_dir = cache_dir() / "browser-runtime" / build_wheel(self.log).parent.name
            _prune_siblings(self.runtime_dir, keep=4)
        stage_runtime(self.runtime_dir, log=self.log)
        self._start_server()
        self._start_browser()
        self._boot()

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _start_server(self) -> None:
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse
        from starlette.routing import Mount, Route
        from starlette.staticfiles import StaticFiles

        from .serve import DevServerHeaders, ServerThread

        async def harness(request):
            return HTMLResponse(HARNESS_HTML)

        self._app = Starlette(routes=[Route("/", harness),
                                      Mount("/pyodide", app=StaticFiles(directory=self.runtime_dir / "pyodide"))])
        self._server = ServerThread(DevServerHeaders(self._app))
        self._server.start()
        self.origin = self._server.origin

    def _start_browser(self) -> None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise BrowserError("the browser engine needs Playwright (pip install playwright)") from None
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            raise BrowserError("no `chromium` on PATH; install it (e.g. `apt-get install chromium`)")
        self.log(f"starting {chromium}")
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        self.page = self.new_page(self.origin)
        self.page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))

    def new_page(self, origin: str):
        """A page in a fresh context of this session's Chromium that can reach `origin` only."""
        prefix = origin.rstrip("/") + "/"

        def only_local(route) -> None:
            if route.request.url.startswith(prefix):
                route.continue_()
            else:
                route.abort()

        context = self._browser.new_context()
        context.route("**/*", only_local)
        return context.new_page()

    def _boot(self) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        self.log("booting Pyodide and loading edgewasm")
        started = time.monotonic()
        self.page.goto(self.origin + "/")
        try:
            self.page.wait_for_function("window.edgewasmState !== 'booting'", timeout=self.boot_timeout * 1000)
            state = self.page.evaluate("window.edgewasmState")
        except PlaywrightTimeout:
            state = f"still booting after {self.boot_timeout:.0f} s"
        if state != "ready":
            raise BrowserError(f"Pyodide did not boot: {state}\nconsole:\n" + "\n".join(self.console[-20:]))
        self.page.evaluate("code => pyodide.runPython(code)", PAGE_PYTHON)
        self.boot_seconds = self.page.evaluate("window.edgewasmBootMs") / 1000
        self.log(f"ready in {time.monotonic() - started:.1f} s (Pyodide boot {self.boot_seconds:.1f} s)")

    # -- running -------------------------------------------------------------------------------

    def register(self, source: Path) -> str:
        """Serve a bundle directory, manifest or `.wasm` file; returns its URL path in the page.

        The key covers the manifest's bytes, so a bundle rebuilt in place is loaded afresh.
        """
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles

        source = Path(source).resolve()
        directory = source if source.is_dir() else source.parent
        manifest = directory / "manifest.json"
        fingerprint = hashlib.sha256(str(directory).encode())
        if manifest.is_file():
            fingerprint.update(manifest.read_bytes())
        key = fingerprint.hexdigest()[:16]
        if key not in self._bundles:
            self._app.router.routes.insert(0, Mount(f"/bundles/{key}", app=StaticFiles(directory=directory)))
            self._bundles[key] = directory
        return f"/bundles/{key}/" + ("" if source.is_dir() else source.name)

    def run(self, bundle: Path, inputs: dict[str, np.ndarray], variant: str | None = None,
            kind: str = "array", memory_limit: int | None = None) -> dict[str, np.ndarray]:
        """Run `bundle` in the page; inputs arrive there as `kind` (array, memoryview or list).

        The page loads each (bundle, variant, memory_limit) once and keeps the model for later runs;
        memory_limit (bytes) overrides the page's RuntimeConfig default.
        """
        if kind not in INPUT_KINDS:
            raise ValueError(f"input kind must be one of {INPUT_KINDS}, got {kind!r}")
        request = {"url": self.register(bundle), "variant": variant, "kind": kind, "memory_limit": memory_limit,
                   "inputs": {name: _encode(np.asarray(value)) for name, value in inputs.items()}}
        reply = self._call("edgewasm_harness_run", json.dumps(request))
        self.last_run_ms = reply["ms"]
        return {name: _decode(item) for name, item in reply["outputs"].items()}

    def evaluate_python(self, code: str) -> Any:
        """Run Python in the page (top-level await allowed); returns the last expression's value
        as it survives JSON (anything else comes back as its repr)."""
        return self._call("edgewasm_harness_eval", code)["value"]

    def _call(self, function: str, argument: str) -> dict:
        from playwright.sync_api import Error as PlaywrightError

        try:
            reply = json.loads(self.page.evaluate(CALL_PAGE_PYTHON, [function, argument, self.run_timeout * 1000]))
        except PlaywrightError as exc:
            raise BrowserError(f"the page did not answer: {exc.message}") from None
        if "error" in reply:
            raise _page_exception(reply["error"])
        return reply


def _encode(value: np.ndarray) -> dict:
    value = np.ascontiguousarray(value)
    if value.dtype.type.__module__ == "ml_dtypes":  # bfloat16, float8, int4, ...: sent as their bytes
        return {"data": base64.b64encode(value.tobytes()).decode(), "shape": list(value.shape), "kind": "raw",
                "itemsize": value.dtype.itemsize}
    if value.dtype.kind == "b":  # bool: one byte per element, rebuilt as array.array('B') or a list of bools
        return {"data": base64.b64encode(value.tobytes()).decode(), "shape": list(value.shape), "kind": "bool",
                "itemsize": 1}
    if value.dtype.kind not in "fiu":
        raise errors.InputError(f"dtype {value.dtype} has no array.array counterpart to send to the browser")
    return {"data": base64.b64encode(value.astype(value.dtype.newbyteorder("<")).tobytes()).decode(),
            "shape": list(value.shape), "kind": value.dtype.kind, "itemsize": value.dtype.itemsize}


def _decode(item: dict) -> np.ndarray:
    raw = bytearray(base64.b64decode(item["data"]))
    if item["dtype"] in SUB_BYTE_BITS and len(raw) < math.prod(item["shape"]):  # a stdlib Tensor's packed bytes
        raw = bytearray(unpack_codes(item["dtype"], bytes(raw), math.prod(item["shape"])))
    return np.frombuffer(raw, dtype=np.dtype(item["dtype"]).newbyteorder("<")).reshape(item["shape"])


def _page_exception(error: dict) -> Exception:
    """The page's exception as the same edgewasm error class here (or a PageError)."""
    cls = getattr(errors, error["type"], None)
    if error["module"].startswith("edgewasm") and isinstance(cls, type) and issubclass(cls, errors.EdgewasmError):
        exc = cls(f"{error['message']} (in the browser)")
    else:
        exc = PageError(error["type"], error["message"], error["traceback"])
    exc.add_note("traceback in the page:\n" + error["traceback"].rstrip())
    return exc


def run_in_browser(bundle: Path, inputs: dict[str, np.ndarray], variant: str | None = None,
                   kind: str = "array", memory_limit: int | None = None) -> dict[str, np.ndarray]:
    """One-shot: boot a session, run `bundle` once, shut down (about 5 s of boot)."""
    with BrowserSession() as session:
        return session.run(bundle, inputs, variant=variant, kind=kind, memory_limit=memory_limit)
