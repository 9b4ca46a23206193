"""`POST /api/infer`: the server twin of the page's in-browser inference, on wasmtime.

Request:  {"model": "digits", "variant": "fp32" (optional),
           "inputs": {"pixels": {"shape": [1, 64], "dtype": "float32", "data": [..] | "b64": ".."}}}
           (dtype: the input's own, see bundle.DTYPES; b64 holds its little-endian encoding)
Response: {"model", "variant", "outputs": {name: {"shape", "dtype", "b64"}}, "latency_ms", "threads"}

Outputs travel as base64 of their little-endian bytes, so the page can compare them with its own
bit for bit. Bodies are size-limited, every field is validated (400 with a one-line reason), and
inference runs on a bounded number of worker threads; past the queue limit the answer is 503.
A `--threads N` build runs each request on min(threads, N) threads (`threads=None`: the wasmtime
host's default, min(N, cores)); the bits are those of the single-threaded build either way.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import re
import threading
import time
from pathlib import Path

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from ..errors import BundleError, DeadlineExceeded, EdgewasmError, InputError

MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class InferenceApi:
    """Loads each model once (per variant) and serializes calls on its instance."""

    def __init__(self, models_dir: Path, max_body: int = 8 << 20, workers: int = 4, queue: int = 64,
                 threads: int | None = None):
        self.models_dir = Path(models_dir).resolve()
        self.threads = threads
        self.max_body = max_body
        self.workers = asyncio.Semaphore(workers)
        self.queue = queue
        self.waiting = 0
        self._models: dict[tuple[str, str | None], tuple[object, threading.Lock]] = {}
        self._models_lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        try:
            if request.method != "POST":
                raise ApiError(405, "use POST with a JSON body")
            body = await self._read_body(request)
            response = await self._admit(body)
        except ApiError as exc:
            response = JSONResponse({"error": str(exc)}, status_code=exc.status)
        except ClientDisconnect:
            return
        response.headers["x-edgewasm-pid"] = str(os.getpid())  # which server process answered
        await response(scope, receive, send)

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            raise ApiError(413, f"request body larger than {self.max_body} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise ApiError(413, f"request body larger than {self.max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _admit(self, body: bytes) -> JSONResponse:
        if self.waiting >= self.queue:
            raise ApiError(503, "server busy: too many inference requests in flight; retry")
        self.waiting += 1
        try:
            async with self.workers:
                return await run_in_threadpool(self._infer, body)
        finally:
            self.waiting -= 1

    def _infer(self, body: bytes) -> JSONResponse:
        request = _parse_request(body)
        model, lock = self._model(request["model"], request.get("variant"))
        inputs = {name: _decode_input(name, spec) for name, spec in request["inputs"].items()}
        with lock:
            started = time.perf_counter()
            try:
                outputs = model.run(inputs)
            except InputError as exc:
                raise ApiError(400, str(exc)) from None
            except DeadlineExceeded as exc:
                raise ApiError(504, str(exc)) from None
            except EdgewasmError as exc:
                raise ApiError(500, str(exc)) from None
            latency = (time.perf_counter() - started) * 1000
        return JSONResponse({
            "model": request["model"],
            "variant": model.variant.name,
            "outputs": {name: {"shape": list(value.shape), "dtype": str(value.dtype),
                               "b64": base64.b64encode(value.astype(value.dtype.newbyteorder("<")).tobytes()).decode()}
                        for name, value in outputs.items()},
            "latency_ms": latency,
            "threads": getattr(model.instance, "threads", 1),
        })

    def _model(self, name: str, variant: str | None):
        from ..runtime.wasmtime_host import load

        key = (name, variant)
        with self._models_lock:
            if key not in self._models:
                bundle = self.models_dir / name
                if not (bundle / "manifest.json").is_file():
                    raise ApiError(404, f"no model named {name!r}")
                try:
                    self._models[key] = (load(bundle, variant, threads=self._threads(bundle, variant)),
                                         threading.Lock())
                except BundleError as exc:
                    raise ApiError(404 if "no variant" in str(exc) else 500, str(exc)) from None
            return self._models[key]


    def _threads(self, bundle: Path, variant: str | None) -> int | None:
        """min(self.threads, what the variant was built for); None: the host's default."""
        from ..bundle import parse_manifest

        if self.threads is None:
            return None
        return min(self.threads, parse_manifest((bundle / "manifest.json").read_bytes()).variant(variant).threads)


def _parse_request(body: bytes) -> dict:
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "body is not valid JSON") from None
    if not isinstance(request, dict):
        raise ApiError(400, "body must be a JSON object")
    model = request.get("model")
    if not isinstance(model, str) or not MODEL_NAME.match(model):
        raise ApiError(400, "'model' must be a model name (letters, digits, _ . -)")
    if "variant" in request and not (isinstance(request["variant"], str) and MODEL_NAME.match(request["variant"])):
        raise ApiError(400, "'variant' must be a variant name")
    if not isinstance(request.get("inputs"), dict) or not request["inputs"]:
        raise ApiError(400, "'inputs' must be an object of {name: {shape, data | b64}}")
    return request


def _decode_input(name: str, spec) -> np.ndarray:
    where = f"input {name!r}"
    if not isinstance(spec, dict):
        raise ApiError(400, f"{where} must be an object with 'shape' and 'data' or 'b64'")
    shape = spec.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and 0 < d < 1 << 24
                                              for d in shape):
        raise ApiError(400, f"{where}: 'shape' must be a list of positive integers")
    dtype = _dtype(where, spec.get("dtype", "float32"))
    size = int(np.prod(shape, dtype=np.int64))
    if "b64" in spec:
        try:
            raw = base64.b64decode(spec["b64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ApiError(400, f"{where}: 'b64' is not valid base64") from None
        if len(raw) != dtype.itemsize * size:
            raise ApiError(400, f"{where}: 'b64' holds {len(raw)} bytes, shape {shape} needs {dtype.itemsize * size}")
        return np.frombuffer(raw, dtype=dtype.newbyteorder("<") if dtype.kind in "fiu" else dtype).reshape(shape)
    data = spec.get("data")
    if not isinstance(data, list):
        raise ApiError(400, f"{where}: give 'data' (a flat list of numbers) or 'b64'")
    booleans = dtype == np.bool_
    if len(data) != size or not all(isinstance(v, bool) if booleans else isinstance(v, (int, float)) and not isinstance(v, bool)
                                     for v in data):
        kind = "true/false values" if booleans else "numbers"
        raise ApiError(400, f"{where}: 'data' must be {size} {kind} for shape {shape}")
    if booleans:
        return np.asarray(data, np.bool_).reshape(shape)
    values = np.asarray(data, dtype=np.float64)
    converted = values.astype(dtype)
    if dtype.name.startswith(("int", "uint")) and not np.array_equal(converted.astype(np.float64), values):
        raise ApiError(400, f"{where}: 'data' holds values that are not {dtype.name} integers")
    return converted.reshape(shape)


def _dtype(where: str, name) -> np.dtype:
    """An input dtype the module boundary takes (bundle.DTYPES); ml_dtypes' names need ml_dtypes."""
    from ..bundle import DTYPES

    if name not in DTYPES:
        raise ApiError(400, f"{where}: dtype {name!r} is not an input dtype ({', '.join(DTYPES)})")
    if hasattr(np, name):
        return np.dtype(name)
    try:
        import ml_dtypes
    except ImportError:
        raise ApiError(400, f"{where}: dtype {name!r} needs the ml_dtypes package on the server") from None
    return np.dtype(getattr(ml_dtypes, name))
