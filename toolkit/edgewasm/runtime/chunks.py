"""The chunk loader: a bundle's files fetched in parallel, verified, and kept in Cache Storage.

Browser only (stdlib + `js`/`pyodide.ffi`). Why each rule:

- Every module and weight chunk is checked against the manifest's sha256 before a byte of it
  reaches linear memory, whether it came from the network or from the cache: a cache can be
  stale or tampered with as easily as a server.
- Files are cached under their URL plus their sha256 (`...weights-000.bin?edgewasm-sha256=...`),
  so a rebuilt bundle never mixes old and new chunks, and they are looked up cache-first: a hit
  is the exact bytes the manifest names. Entries of older builds are dropped after a good load.
- The manifest is fetched network-first (that is how a new build is noticed) and read from the
  cache only when the network cannot be reached at all, so a second visit works offline, but an
  HTTP error (a bundle that is gone) is still an error.
- Caching is best effort: without Cache Storage (an insecure origin) or over quota, loading
  still works, from the network.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable
from urllib.parse import urljoin, urlsplit

from ..bundle import (BundleSpec, FileSpec, VariantSpec, check_manifest_digest, manifest_pin, parse_manifest,
                      verify_bytes)
from ..errors import BundleError, IntegrityError, NetworkError

CACHE_NAME = "edgewasm-bundles-v1"
SHA_PARAMETER = "edgewasm-sha256"
DEFAULT_CONCURRENCY = 6


@dataclass(frozen=True)
class Progress:
    """One file of a load is done (verified); `loaded` / `total` are bytes over the whole load."""

    stage: str  # "module" or "weights"
    file: str  # bundle-relative path
    nbytes: int
    source: str  # "network" or "cache"
    loaded: int
    total: int
    files_done: int
    files_total: int

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class LoadReport:
    """Where a load's bytes came from and how long it took (the page shows it)."""

    variant: str
    network_bytes: int = 0
    cache_bytes: int = 0
    files: int = 0
    ms: float = 0.0
    cache_errors: list[str] = field(default_factory=list)

    def count(self, source: str, nbytes: int) -> None:
        self.files += 1
        if source == "cache":
            self.cache_bytes += nbytes
        else:
            self.network_bytes += nbytes

    @property
    def from_cache(self) -> bool:
        return self.files > 0 and self.network_bytes == 0

    def to_json(self) -> dict:
        return {"variant": self.variant, "network_bytes": self.network_bytes, "cache_bytes": self.cache_bytes,
                "files": self.files, "ms": self.ms, "from_cache": self.from_cache,
                "cache_errors": list(self.cache_errors)}


_COMPILED_EARLY: dict[str, object] = {}  # url -> the page's compile of the response fetch_buffer read


def _take_early(url: str):
    """The response the page started fetching while Python started (app.js), once; or None."""
    import js

    early = getattr(js, "edgewasmEarly", None)
    response = early.get(url) if early is not None else None
    if response is None:
        return None
    early.delete(url)
    compiled = js.edgewasmEarlyModules.get(url)
    if compiled is not None:
        _COMPILED_EARLY[url] = compiled
    return response


def take_compiled_early(url: str):
    """The page's WebAssembly.compileStreaming of the response `fetch_buffer(url)` read, or None.

    Only a compile of that very response: the caller verified its bytes, so the module is theirs."""
    return _COMPILED_EARLY.pop(url, None)


async def fetch_buffer(url: str):
    """GET `url` -> its JS ArrayBuffer; HTTP errors and unreachable networks raise BundleError."""
    import js
    from pyodide.ffi import JsException

    _COMPILED_EARLY.pop(url, None)
    try:
        response = await (_take_early(url) or js.fetch(url))
    except JsException as exc:
        raise NetworkError(f"cannot fetch {url}: {exc}") from None
    if not response.ok:
        raise BundleError(f"GET {url} failed with HTTP {response.status} {response.statusText}".rstrip())
    try:
        return await response.arrayBuffer()
    except JsException as exc:
        raise NetworkError(f"cannot read {url}: {exc}") from None


def cache_key(url: str, sha256: str) -> str:
    return urlsplit(url)._replace(query=f"{SHA_PARAMETER}={sha256}", fragment="").geturl()


def _without_query(url: str) -> str:
    return urlsplit(url)._replace(query="", fragment="").geturl()


class ChunkLoader:
    """Loads one bundle's manifest and its variants' files, through Cache Storage.

    `on_progress(Progress)` is called as each file is verified (a Python callable, or a JS
    function, which receives a plain object).
    """

    def __init__(self, manifest_url: str, use_cache: bool = True, concurrency: int = DEFAULT_CONCURRENCY,
                 on_progress: Callable[[Progress], None] | None = None, manifest_sha256: str | None = None):
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.manifest_sha256 = manifest_pin(manifest_sha256)  # a pinned manifest: any other bytes are refused
        self.manifest_url = manifest_url
        self.use_cache = use_cache
        self.concurrency = concurrency
        self.on_progress = on_progress
        self._cache = None

    async def cache(self):
        """The Cache Storage cache, or None where the page cannot have one."""
        if not self.use_cache:
            return None
        if self._cache is None:
            import js
            from pyodide.ffi import JsException

            storage = getattr(js, "caches", None)
            if storage is None:  # insecure origins have no Cache Storage
                self.use_cache = False
                return None
            try:
                self._cache = await storage.open(CACHE_NAME)
            except JsException:  # e.g. storage disabled by the user
                self.use_cache = False
                return None
        return self._cache

    def url(self, spec: FileSpec) -> str:
        return urljoin(self.manifest_url, spec.file)

    async def manifest(self) -> BundleSpec:
        """Network first; the cached copy only when the network is unreachable."""
        import js

        cache = await self.cache()
        try:
            buffer = await fetch_buffer(self.manifest_url)
        except NetworkError:
            cached = await cache.match(self.manifest_url) if cache is not None else None
            if not cached:
                raise
            data = (await cached.arrayBuffer()).to_bytes()
            return parse_manifest(check_manifest_digest(data, self.manifest_sha256, self.manifest_url))
        # never cache what we would refuse to read (nor fall back to a cached copy of a refused one)
        spec = parse_manifest(check_manifest_digest(buffer.to_bytes(), self.manifest_sha256, self.manifest_url))
        if cache is not None:
            await self._put(cache, self.manifest_url, js.Response.new(buffer), None)
        return spec

    async def file(self, spec: FileSpec, report: LoadReport | None = None) -> tuple[bytes, str]:
        """(verified bytes, "cache" | "network"): cache-first under the file's sha256."""
        import js

        url = self.url(spec)
        key = cache_key(url, spec.sha256)
        cache = await self.cache()
        if cache is not None:
            hit = await cache.match(key)
            if hit:
                data = (await hit.arrayBuffer()).to_bytes()
                try:
                    return verify_bytes(spec, data), "cache"
                except IntegrityError:
                    await cache.delete(key)  # a damaged entry: fetch it again
        buffer = await fetch_buffer(url)
        data = verify_bytes(spec, buffer.to_bytes())
        if cache is not None:
            await self._put(cache, key, js.Response.new(buffer), report)
        return data, "network"

    async def _put(self, cache, key: str, response, report: LoadReport | None) -> None:
        from pyodide.ffi import JsException

        try:
            await cache.put(key, response)
        except JsException as exc:  # over quota and the like: loading goes on without the cache
            if report is not None:
                report.cache_errors.append(f"{key}: {exc}")

    async def load_variant(self, variant: VariantSpec,
                           instantiate: Callable[[bytes], Awaitable[object]],
                           write: Callable[[object, int, bytes], None]) -> tuple[object, LoadReport]:
        """Fetch the module and every weight chunk at once; instantiate the module as soon as it is
        verified, then write each verified chunk at its offset. Returns (instance, report)."""
        report = LoadReport(variant.name)
        started = time.monotonic()
        files = [variant.module, *variant.weights]
        total = sum(f.nbytes for f in files)
        gate = asyncio.Semaphore(self.concurrency)
        done = {"bytes": 0, "files": 0}

        async def fetch(spec: FileSpec, stage: str) -> bytes:
            async with gate:
                data, source = await self.file(spec, report)
            report.count(source, len(data))
            done["bytes"] += len(data)
            done["files"] += 1
            self._report(Progress(stage, spec.file, len(data), source, done["bytes"], total,
                                  done["files"], len(files)))
            return data

        module_task = asyncio.ensure_future(fetch(variant.module, "module"))
        chunk_tasks = [(chunk, asyncio.ensure_future(fetch(chunk, "weights"))) for chunk in variant.weights]
        try:
            instance = await instantiate(await module_task)
            for chunk, task in chunk_tasks:
                write(instance, chunk.offset, await task)
        except BaseException:
            for _, task in chunk_tasks:
                task.cancel()
            raise
        report.ms = (time.monotonic() - started) * 1000
        await self.prune(files)
        return instance, report

    async def prefetch(self, variant: VariantSpec) -> LoadReport:
        """Put a variant's files into the cache (verified) without instantiating anything."""
        report = LoadReport(variant.name)
        started = time.monotonic()
        gate = asyncio.Semaphore(self.concurrency)

        async def fetch(spec: FileSpec) -> None:
            async with gate:
                data, source = await self.file(spec, report)
            report.count(source, len(data))

        await asyncio.gather(*(fetch(spec) for spec in [variant.module, *variant.weights]))
        report.ms = (time.monotonic() - started) * 1000
        return report

    async def is_cached(self, variant: VariantSpec) -> bool:
        cache = await self.cache()
        if cache is None:
            return False
        for spec in [variant.module, *variant.weights]:
            if not await cache.match(cache_key(self.url(spec), spec.sha256)):
                return False
        return True

    async def prune(self, current: list[FileSpec]) -> int:
        """Drop cached copies of these files' URLs whose sha256 is not the current one."""
        cache = await self.cache()
        if cache is None:
            return 0
        keep = {cache_key(self.url(spec), spec.sha256) for spec in current}
        paths = {_without_query(key) for key in keep}
        dropped = 0
        for request in await cache.keys():
            url = str(request.url)
            if _without_query(url) in paths and url not in keep:
                await cache.delete(request)
                dropped += 1
        return dropped

    def _report(self, event: Progress) -> None:
        if self.on_progress is None:
            return
        from pyodide.ffi import JsProxy, to_js

        if isinstance(self.on_progress, JsProxy):
            import js

            self.on_progress(to_js(event.to_json(), dict_converter=js.Object.fromEntries))
        else:
            self.on_progress(event)
