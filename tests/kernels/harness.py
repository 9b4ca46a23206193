"""Run library kernels in wasmtime on numpy data, and compare float results bit for bit.

A test module is `(module (memory (export "memory") P) <wat_functions(names)> exports...)`:
the kernels exactly as codegen splices them, each exported under its own name. Compiled
modules are cached per kernel set; every KernelRunner is a fresh instance with zeroed memory.
"""

from __future__ import annotations

import functools

import numpy as np
import wasmtime

from edgewasm.backend.kernels import wat_functions

PAGE_BYTES = 65536
ENGINE = wasmtime.Engine()  # SIMD128 is on by default


@functools.cache
def _module(names: tuple[str, ...], pages: int) -> wasmtime.Module:
    exports = "\n".join(f'(export "{name}" (func ${name}))' for name in names)
    wat = f'(module\n(memory (export "memory") {pages})\n{wat_functions(names)}\n{exports})'
    return wasmtime.Module(ENGINE, wasmtime.wat2wasm(wat))


class KernelRunner:
    """A fresh instance of the named kernels with a bump allocator over its linear memory."""

    def __init__(self, *names: str, pages: int = 16):
        self.store = wasmtime.Store(ENGINE)
        instance = wasmtime.Instance(self.store, _module(tuple(sorted(names)), pages), [])
        exports = instance.exports(self.store)
        self.memory = exports["memory"]
        self._funcs = {name: exports[name] for name in names}
        self.size = pages * PAGE_BYTES
        self._top = 64  # offset 0 stays unused so a null pointer bug does not pass silently

    def call(self, name: str, *args):
        return self._funcs[name](self.store, *args)

    def alloc(self, nbytes: int, misalign: int = 4) -> int:
        """Reserve nbytes at an offset that is `misalign` bytes past a 16-byte boundary.

        The default (4) makes every v128 access unaligned, as kernels must allow.
        """
        offset = (self._top + 15) // 16 * 16 + misalign
        if offset + nbytes > self.size:
            raise MemoryError(f"test memory of {self.size} bytes is full")
        self._top = offset + nbytes
        return offset

    def put(self, array: np.ndarray, misalign: int = 4) -> int:
        """Copy an array into fresh memory and return its offset."""
        data = np.ascontiguousarray(array)
        offset = self.alloc(data.nbytes, misalign)
        self.write(offset, data)
        return offset

    def put_at_end(self, array: np.ndarray) -> int:
        """Copy an array so that it ends exactly at the end of memory: any over-read traps."""
        data = np.ascontiguousarray(array)
        offset = self.size - data.nbytes
        if offset < self._top:
            raise MemoryError("no room at the end of test memory")
        self.write(offset, data)
        return offset

    def write(self, offset: int, array: np.ndarray) -> None:
        data = np.ascontiguousarray(array).tobytes()
        if data:
            self.memory.write(self.store, data, offset)

    def read(self, offset: int, shape, dtype=np.float32) -> np.ndarray:
        dtype = np.dtype(dtype)
        raw = self.read_bytes(offset, int(np.prod(shape)) * dtype.itemsize)
        return np.frombuffer(raw, dtype=dtype).reshape(shape)

    def read_bytes(self, offset: int, nbytes: int) -> bytes:
        return bytes(self.memory.read(self.store, offset, offset + nbytes)) if nbytes else b""


def assert_same_bits(actual: np.ndarray, expected: np.ndarray, what: str = "") -> None:
    """Assert float32 arrays are bit-identical; any NaN matches any NaN (wasm leaves payloads open)."""
    actual = np.asarray(actual, np.float32)
    expected = np.asarray(expected, np.float32)
    assert actual.shape == expected.shape, f"{what} shape {actual.shape} != {expected.shape}"
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    differs = (nan_a != nan_e) | (~nan_a & (actual.view(np.uint32) != expected.view(np.uint32)))
    if differs.any():
        where = np.argwhere(differs)
        first = tuple(where[0])
        raise AssertionError(
            f"{what} {len(where)} of {actual.size} elements differ in bits; first at {first}: "
            f"got {actual[first]!r} ({actual.view(np.uint32)[first]:#010x}), "
            f"expected {expected[first]!r} ({expected.view(np.uint32)[first]:#010x})"
        )


def interesting_f32(rng: np.random.Generator, shape, scale: float = 1.0) -> np.ndarray:
    """Random float32 values with a few specials mixed in (signed zeros, tiny, huge)."""
    values = (rng.standard_normal(shape) * scale).astype(np.float32)
    flat = values.reshape(-1)
    specials = np.array([0.0, -0.0, 1e-40, -1e-40, 3e38, -3e38, 1.0, -1.0], np.float32)
    picks = rng.random(flat.size) < 0.1
    flat[picks] = rng.choice(specials, picks.sum())
    return values
