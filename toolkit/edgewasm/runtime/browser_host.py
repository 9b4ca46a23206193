"""The browser host: Python in Pyodide drives the browser's own WebAssembly engine.

Stdlib plus `js`/`pyodide.ffi` only (numpy is not there offline). Bytes cross between Python and
linear memory in one typed-array copy each way (`assign` / `to_bytes`), never element by
element through proxies, which is about a thousand times slower. Everything is checked before it
is written: the manifest's layout, every file's sha256, and the module's imports and exports.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urljoin, urlsplit

from ..bundle import TensorSpec, VariantSpec, parse_manifest, verify_bytes
from ..errors import BundleError, ExecutionError
from .core import Model, decode_tensor, sidecar_variant
from .config import RuntimeConfig
from .sandbox import audit_module, memory_pages

PARALLEL_FETCHES = 6
# (module (func (result v128) (v128.const i32x4 0 0 0 0))): validates only where SIMD128 exists.
SIMD_PROBE = bytes.fromhex("0061736d01000000" "0105016000017b" "03020100" "0a160114" "00fd0c" + "00" * 16 + "0b")


class BrowserInstance:
    """One instantiated module; its memory is reached through fresh typed-array views.

    Views are made per access because growing memory detaches the old `buffer`.
    """

    def __init__(self, js_instance):
        exports = js_instance.exports
        self.memory = exports.memory
        self.functions = {name: getattr(exports, name) for name in ("run", "init") if hasattr(exports, name)}

    @classmethod
    async def create(cls, wasm: bytes) -> "BrowserInstance":
        import js
        from pyodide.ffi import JsException

        try:
            result = await js.WebAssembly.instantiate(_uint8array(wasm), js.Object.new())
        except JsException as exc:
            raise BundleError(f"the module does not compile or instantiate in this browser: {exc}") from None
        return cls(result.instance)

    @property
    def memory_bytes(self) -> int:
        return int(self.memory.buffer.byteLength)

    def _view(self, offset: int, nbytes: int):
        import js

        if offset < 0 or nbytes < 0 or offset + nbytes > self.memory_bytes:
            raise BundleError(f"[{offset}, {offset + nbytes}) lies outside the module's memory")
        return js.Uint8Array.new(self.memory.buffer, offset, nbytes)

    def write(self, offset: int, data: bytes | memoryview) -> None:
        self._view(offset, len(data)).assign(data)

    def read(self, offset: int, nbytes: int) -> bytes:
        return self._view(offset, nbytes).to_bytes()

    def call(self, export: str) -> int:
        from pyodide.ffi import JsException

        try:
            return int(self.functions[export]())
        except JsException as exc:
            raise ExecutionError(f"the module trapped in {export}(): {exc}") from None


async def load_async(url: str, variant: str | None = None, config: RuntimeConfig | None = None) -> Model:
    """Load a bundle (directory URL or `.../manifest.json`) or a bring-your-own `.wasm` URL.

    The memory limit of `config` is checked before instantiation; the browser cannot interrupt a
    running module from Python, so the deadline applies to the wasmtime host only.
    """
    config = config or RuntimeConfig()
    require_simd()
    url = absolute_url(url)
    path = urlsplit(url).path
    if path.endswith(".wat"):
        raise BundleError(f"{url}: WebAssembly text cannot be assembled in the browser; "
                          "assemble it to .wasm first (e.g. with wasmtime.wat2wasm or wat2wasm)")
    if path.endswith(".wasm"):
        return await _load_module_url(url, config)
    if path.endswith(".json"):
        manifest_url = url
    else:
        manifest_url = urljoin(url if path.endswith("/") else _with_path(url, path + "/"), "manifest.json")
    spec = parse_manifest(await fetch_bytes(manifest_url))
    chosen = spec.variant(variant)
    config.check_memory(chosen.memory_bytes, f"variant {chosen.name}")
    wasm = verify_bytes(chosen.module, await fetch_bytes(urljoin(manifest_url, chosen.module.file)))
    audit_module(wasm)
    instance = await BrowserInstance.create(wasm)
    _check_memory(chosen, instance)
    await _load_weights(chosen, instance, manifest_url)
    return Model(chosen, instance, output_maker(), host="browser")


async def _load_weights(variant: VariantSpec, instance: BrowserInstance, manifest_url: str) -> None:
    """Fetch the chunks in parallel; each is verified before a byte of it reaches memory."""
    gate = asyncio.Semaphore(PARALLEL_FETCHES)

    async def load_chunk(chunk) -> None:
        async with gate:
            data = verify_bytes(chunk, await fetch_bytes(urljoin(manifest_url, chunk.file)))
        instance.write(chunk.offset, data)

    await asyncio.gather(*(load_chunk(chunk) for chunk in variant.weights))
    if variant.has_init and instance.call("init") != 0:
        raise ExecutionError("model init returned a non-zero status")


async def _load_module_url(url: str, config: RuntimeConfig) -> Model:
    """Bring your own module: `model.wasm` beside a small `model.json` (as on the server)."""
    sidecar = _with_path(url, urlsplit(url).path[: -len(".wasm")] + ".json")
    wasm = await fetch_bytes(url)
    try:
        meta = json.loads(await fetch_bytes(sidecar))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{sidecar} is not valid JSON: {exc}") from None
    audit_module(wasm)
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
        raise BundleError("this browser does not support WebAssembly SIMD128, which every edgewasm model "
                          "needs (Chrome/Edge 91+, Firefox 89+, Safari 16.4+)")


def absolute_url(url: str) -> str:
    """Resolve `url` against the page's address, as `fetch` would."""
    import js

    return str(js.URL.new(str(url), js.location.href).href)


def _with_path(url: str, path: str) -> str:
    return urlsplit(url)._replace(path=path, query="", fragment="").geturl()


async def fetch_bytes(url: str) -> bytes:
    """GET `url`; any failure is a BundleError naming the URL (and the HTTP status)."""
    import js
    from pyodide.ffi import JsException

    try:
        response = await js.fetch(url)
        if not response.ok:
            raise BundleError(f"GET {url} failed with HTTP {response.status} {response.statusText}".rstrip())
        return (await response.arrayBuffer()).to_bytes()
    except JsException as exc:
        raise BundleError(f"cannot fetch {url}: {exc}") from None


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
