"""The server host: wasmtime, numpy in and out, one `run` call per inference.

Relaxed SIMD is off, so the engine computes exactly what the browser computes. Each `load`
gets its own Store and memory: models never share state.
"""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np
import wasmtime

from ..bundle import TensorSpec, VariantSpec, parse_manifest, verify_bytes
from ..errors import BundleError, ExecutionError
from .core import Model, load_weights, sidecar_variant
from .sandbox import audit_module

_ENGINE: wasmtime.Engine | None = None


def engine() -> wasmtime.Engine:
    """One engine per process (compiled code is shared; stores are not)."""
    global _ENGINE
    if _ENGINE is None:
        config = wasmtime.Config()
        config.wasm_simd = True
        config.wasm_relaxed_simd = False
        _ENGINE = wasmtime.Engine(config)
    return _ENGINE


class WasmtimeInstance:
    """An instantiated module: memory copies are plain memmoves into its linear memory."""

    def __init__(self, wasm: bytes):
        self.store = wasmtime.Store(engine())
        try:
            module = wasmtime.Module(engine(), wasm)
            instance = wasmtime.Instance(self.store, module, [])
        except wasmtime.WasmtimeError as exc:
            raise BundleError(f"the module does not compile or instantiate: {str(exc).splitlines()[0]}") from None
        exports = instance.exports(self.store)
        self.memory = exports["memory"]
        self.functions = {name: exports[name] for name in ("run", "init") if name in exports}

    @property
    def memory_bytes(self) -> int:
        return self.memory.data_len(self.store)

    def _address(self, offset: int, nbytes: int) -> int:
        if offset < 0 or offset + nbytes > self.memory_bytes:
            raise BundleError(f"[{offset}, {offset + nbytes}) lies outside the module's memory")
        return ctypes.addressof(self.memory.data_ptr(self.store).contents) + offset

    def write(self, offset: int, data: bytes | memoryview) -> None:
        data = bytes(data)
        ctypes.memmove(self._address(offset, len(data)), data, len(data))

    def read(self, offset: int, nbytes: int) -> bytes:
        return ctypes.string_at(self._address(offset, nbytes), nbytes)

    def call(self, export: str) -> int:
        try:
            return self.functions[export](self.store)
        except wasmtime.Trap as exc:
            raise ExecutionError(f"the module trapped in {export}(): {str(exc).splitlines()[0]}") from None


def to_numpy(spec: TensorSpec, raw: bytes) -> np.ndarray:
    return np.frombuffer(bytearray(raw), dtype=np.dtype(spec.dtype).newbyteorder("<")).reshape(spec.shape)


def load(source: str | Path, variant: str | None = None) -> Model:
    """Load a bundle directory / manifest path, or a bring-your-own `.wat` or `.wasm` module."""
    path = Path(source)
    if path.suffix in (".wat", ".wasm"):
        return _load_module_file(path)
    root = path if path.is_dir() else path.parent
    manifest = root / "manifest.json" if path.is_dir() else path
    try:
        spec = parse_manifest(manifest.read_bytes())
    except OSError as exc:
        raise BundleError(f"cannot read bundle manifest {manifest}: {exc.strerror or exc}") from None
    chosen = spec.variant(variant)
    wasm = verify_bytes(chosen.module, _read(root, chosen.module.file))
    audit_module(wasm)
    instance = WasmtimeInstance(wasm)
    _check_memory(chosen, instance)
    load_weights(chosen, instance, lambda rel: _read(root, rel), verify_bytes)
    return Model(chosen, instance, to_numpy, host="wasmtime")


def _read(root: Path, rel: str) -> bytes:
    try:
        return (root / rel).read_bytes()
    except OSError as exc:
        raise BundleError(f"bundle file {rel} is missing or unreadable: {exc.strerror or exc}") from None


def _check_memory(variant: VariantSpec, instance: WasmtimeInstance) -> None:
    if instance.memory_bytes < variant.memory_bytes:
        raise BundleError(f"the module's memory ({instance.memory_bytes} bytes) is smaller than its manifest "
                          f"declares ({variant.memory_bytes} bytes)")


def _load_module_file(path: Path) -> Model:
    """Bring your own module: `model.wat` or `model.wasm` beside a small `model.json`."""
    sidecar = path.with_suffix(".json")
    try:
        meta = json.loads(sidecar.read_text())
        text = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read {exc.filename}: {exc.strerror}") from None
    except ValueError as exc:
        raise BundleError(f"{sidecar} is not valid JSON: {exc}") from None
    try:
        wasm = bytes(wasmtime.wat2wasm(text.decode())) if path.suffix == ".wat" else text
    except (wasmtime.WasmtimeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path} is not valid WebAssembly text: {str(exc).splitlines()[0]}") from None
    audit_module(wasm)
    instance = WasmtimeInstance(wasm)
    variant = sidecar_variant(meta, path.name, wasm, instance.memory_bytes // 65536)
    if variant.has_init and instance.call("init") != 0:
        raise ExecutionError("model init returned a non-zero status")
    return Model(variant, instance, to_numpy, host="wasmtime")
