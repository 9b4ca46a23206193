"""The server host: wasmtime, numpy in and out, one `run` call per inference.

Relaxed SIMD is on only for a variant of the relaxed tier (runtime/wasmtime_simd.py refuses it
in every other module), so the engine computes exactly what the browser computes. Each `load`
gets its own Store and memory: models never share state. Bounds come from `RuntimeConfig`:
memory is checked before instantiation, the stack is capped by the engine, and a deadline
stops a long `run`: between layers for a compiled module (it checks a clock word this host's ticker
writes, so the engine needs no epoch checks in its loops; a --threads build at its barriers),
through epoch interruption for a bring-your-own module. After any trap the instance is re-made.
"""

from __future__ import annotations

import ctypes
import functools
import json
import math
import threading
import time
import weakref
from pathlib import Path
from typing import Callable

import numpy as np
import wasmtime

from ..bundle import TensorSpec, VariantSpec, check_manifest_digest, parse_manifest, verify_bytes
from ..errors import BundleError, DeadlineExceeded, ExecutionError
from .config import RuntimeConfig
from .core import Model, check_status, load_weights, sidecar_variant
from . import wasmtime_simd
from .native_call import bind as bind_native_call
from .sandbox import (CLOCK_OFFSET, DEADLINE_OFFSET, DEADLINE_STATUS, LOOP_VARIANT_NO_EPOCH, LOOP_VARIANT_OFFSET,
                      audit_module, is_layer_entry, memory_pages)

EPOCH_TICK = 0.005  # seconds between ticks: epoch increments, and the clock word of deadline-checked modules
NO_DEADLINE = 1 << 62
MAX_DEADLINE_TICKS = 1 << 30  # the clock word wraps at 2**32 ticks; a deadline is at most ~62 days ahead

_engines: dict[tuple, wasmtime.Engine] = {}
_engines_lock = threading.Lock()
_ticking = False
_clock = 0  # ticks since the ticker started, as the module reads them: a wrapping signed 32-bit count
_clocked: "weakref.WeakSet[WasmtimeInstance]" = weakref.WeakSet()  # instances whose clock word it writes


def engine(stack_limit: int, interruptible: bool = True, threads: bool = False) -> wasmtime.Engine:
    """One engine per (stack limit, interruptible) (compiled code is shared; stores are not).

    Epoch interruption puts a check in every loop (20-50% of kernel time under Cranelift), so an
    engine gets it only when a deadline will use it.
    """
    key = (stack_limit, interruptible) + ((True,) if threads else ())  # threads: a --threads build's engine
    with _engines_lock:
        if key not in _engines:
            config = wasmtime.Config()
            config.wasm_simd = True
            config.wasm_relaxed_simd = True  # the relaxed tier only: wasmtime_simd.check_module
            config.epoch_interruption = interruptible
            config.max_wasm_stack = stack_limit
            if threads:
                config.wasm_threads = True
                config.shared_memory = True
            _engines[key] = wasmtime.Engine(config)
            if interruptible:
                _start_ticker()
        return _engines[key]


def _start_ticker() -> None:
    """Start the one ticker thread (call with _engines_lock held)."""
    global _ticking
    if not _ticking:
        _ticking = True
        threading.Thread(target=_tick, name="edgewasm-ticker", daemon=True).start()


def _tick() -> None:
    """Every EPOCH_TICK: advance the epoch of interruptible engines and the clock word of every
    instance that checks its deadline between layers (a plain store into its memory; the module
    reads it between layers)."""
    global _clock
    while True:
        time.sleep(EPOCH_TICK)
        with _engines_lock:
            engines = [e for key, e in _engines.items() if key[1]]
            _clock = _wrap_i32(_clock + 1)
            clocked = list(_clocked)
        for e in engines:
            e.increment_epoch()
        for instance in clocked:
            instance.deadline_words[0] = _clock
        # no strong reference across the sleep: a dropped model's instance would be listed again
        # from the WeakSet at the next tick, and so live for ever
        clocked = instance = None


def _wrap_i32(value: int) -> int:
    return ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _deadline_tick(ticks: int) -> int:
    """The deadline word for a run starting now: `ticks` after the clock, never 0 (= no deadline)."""
    return _wrap_i32(_clock + min(ticks, MAX_DEADLINE_TICKS)) or 1


class WasmtimeInstance:
    """An instantiated module: memory copies are plain memmoves into its linear memory.

    `setup` (write the weights, call init) runs after every instantiation, so an instance that
    trapped is replaced by a fresh one in the same state as after `load`.
    """

    deadline_checks = False
    deadline_words: np.ndarray | None = None  # [clock, deadline] (sandbox.CLOCK_OFFSET): None when epochs bound runs

    def __init__(self, wasm: bytes, config: RuntimeConfig, setup: Callable[["WasmtimeInstance"], None] = lambda i: None,
                 deadline_checks: bool = False):
        """deadline_checks: the module checks the deadline words between layers (a compiled
        module), so the engine runs without epoch checks even with a deadline."""
        self.config = config
        self.deadline_checks = deadline_checks
        self.engine = engine(config.stack_limit, interruptible=config.deadline is not None and not deadline_checks)
        try:
            self.module = wasmtime.Module(self.engine, wasm)
        except wasmtime.WasmtimeError as exc:
            raise BundleError(f"the module does not compile: {str(exc).splitlines()[0]}") from None
        self.setup = setup
        self._instantiate()

    def _instantiate(self) -> None:
        self.store = wasmtime.Store(self.engine)
        self.store.set_limits(memory_size=self.config.memory_limit)
        self.store.set_epoch_deadline(NO_DEADLINE)
        try:
            instance = wasmtime.Instance(self.store, self.module, [])
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            raise BundleError(f"the module does not instantiate: {str(exc).splitlines()[0]}") from None
        exports = instance.exports(self.store)
        self.memory = exports["memory"]
        limits = self.memory.type(self.store).limits
        # A memory that cannot grow (min == max: every compiled model) never moves or resizes, so
        # its address and size are read once per instance instead of twice per copy.
        self._fixed_memory = (ctypes.addressof(self.memory.data_ptr(self.store).contents), self.memory_bytes) \
            if limits.max is not None and limits.max == limits.min else None
        self.memory_array = self._memory_array()
        self._clock_words()
        self.functions = {name: exports[name] for name in exports if name in ("run", "init") or is_layer_entry(name)}
        # One cached C call per export when wasmtime-py allows it (about 2 us instead of about 15 us).
        self.native_calls = {name: call for name, func in self.functions.items()
                             if (call := bind_native_call(self.store, func)) is not None}
        self.setup(self)

    def _clock_words(self) -> None:
        """A module with deadline checks: view its [clock, deadline] words and have the ticker write the clock."""
        self.deadline_words = None
        if self.deadline_checks and self.memory_array is not None:
            self.deadline_words = self.memory_array[CLOCK_OFFSET:DEADLINE_OFFSET + 4].view("<i4")
            with _engines_lock:
                self.deadline_words[0] = _clock
                _clocked.add(self)
                _start_ticker()

    def set_deadline_word(self) -> None:
        """Before a call: the deadline word for the config's deadline from now (0: none)."""
        deadline, words = self.config.deadline, self.deadline_words
        if words is None:
            return
        if deadline is None:
            words[1] = 0
        else:
            ticks = max(1, math.ceil(deadline / EPOCH_TICK)) + 1
            tick = _clock + ticks
            words[1] = tick if 0 < tick < 1 << 31 else _deadline_tick(ticks)

    def _memory_array(self) -> np.ndarray | None:
        """A uint8 array over a fixed memory (None for one that can grow), for numpy copies in and out.

        The ctypes buffer under it holds the store, so the memory outlives every view of it even
        after a trap replaced this instance's store.
        """
        if self._fixed_memory is None:
            return None
        base, size = self._fixed_memory
        buffer = (ctypes.c_uint8 * size).from_address(base)
        buffer.store = self.store
        return np.frombuffer(buffer, np.uint8)

    @property
    def call_path(self) -> str:
        """'native' when `run` goes through the cached C call, 'generic' for wasmtime-py's Func call."""
        return "native" if "run" in self.native_calls else "generic"

    @property
    def memory_bytes(self) -> int:
        return self.memory.data_len(self.store)

    def _address(self, offset: int, nbytes: int) -> int:
        base, size = self._fixed_memory or (ctypes.addressof(self.memory.data_ptr(self.store).contents),
                                            self.memory_bytes)
        if offset < 0 or offset + nbytes > size:
            raise BundleError(f"[{offset}, {offset + nbytes}) lies outside the module's memory")
        return base + offset

    def write(self, offset: int, data: bytes | memoryview) -> None:
        data = bytes(data)
        ctypes.memmove(self._address(offset, len(data)), data, len(data))

    def read(self, offset: int, nbytes: int) -> bytes:
        return ctypes.string_at(self._address(offset, nbytes), nbytes)

    @property
    def uses_epochs(self) -> bool:
        """Whether the engine's epoch interruption bounds a run (else: the module's own checks, or nothing)."""
        return self.deadline_words is None and self.config.deadline is not None

    def call(self, export: str) -> int:
        deadline = self.config.deadline
        ticks = NO_DEADLINE if deadline is None else max(1, math.ceil(deadline / EPOCH_TICK)) + 1
        if export not in self.functions:
            raise BundleError(f"the manifest expects the module to export {export}(), and it does not")
        words = self.deadline_words
        if words is not None:
            if deadline is None:
                words[1] = 0
            else:  # set_deadline_word inline (a 5 us model notices a method call)
                tick = _clock + ticks
                words[1] = tick if 0 < tick < 1 << 31 else _deadline_tick(ticks)
        native = self.native_calls.get(export)
        try:
            if native is not None:
                status = native(ticks)  # sets the same epoch deadline, then calls
            else:
                self.store.set_epoch_deadline(ticks)
                status = self.functions[export](self.store)
        except wasmtime.Trap as exc:
            self._instantiate()
            if exc.trap_code == wasmtime.TrapCode.INTERRUPT:
                raise DeadlineExceeded(f"{export}() exceeded the {deadline} s deadline; the instance was "
                                       "re-made and the model is usable again") from None
            reason = exc.trap_code.name.lower().replace("_", " ") if exc.trap_code else exc.message.splitlines()[0]
            raise ExecutionError(f"the module trapped in {export}(): {reason} (the instance was re-made)") from None
        if status == DEADLINE_STATUS and words is not None:  # stopped between layers: nothing to re-make
            raise DeadlineExceeded(f"{export}() exceeded the {deadline} s deadline (stopped between layers); the "
                                   "model is usable again")
        return status


@functools.cache
def _little_endian_dtype(name: str) -> np.dtype:
    return np.dtype(name).newbyteorder("<")


def to_numpy(spec: TensorSpec, raw: bytes) -> np.ndarray:
    return np.frombuffer(bytearray(raw), dtype=_little_endian_dtype(spec.dtype)).reshape(spec.shape)


class WasmtimeModel(Model):
    """A Model whose numpy inputs and outputs are copied by numpy straight into and out of memory.

    `run` is the whole host overhead of a small model (a batch-1 MLP computes in ~50 us), so when
    every input is an ndarray of exactly the tensor's dtype and shape it is copied into a view of
    the memory and every output is one copy out of another: no bytes objects in between. Anything
    else takes the general path, which validates, converts and reports errors.
    """

    def __init__(self, variant: VariantSpec, instance: WasmtimeInstance):
        super().__init__(variant, instance, to_numpy, host="wasmtime")
        self._views_of: np.ndarray | None = None  # the memory array the views below look into
        self._input_views: list[tuple[str, np.ndarray]] = []
        self._output_views: list[tuple[str, np.ndarray]] = []

    def _views(self) -> bool:
        memory = self.instance.memory_array
        if memory is None:
            return False
        if self._views_of is not memory:  # first run, or the instance was re-made after a trap
            try:
                self._input_views = [(t.name, _view(memory, t)) for t in self.variant.inputs]
                self._output_views = [(t.name, _view(memory, t)) for t in self.variant.outputs]
            except TypeError:  # a dtype numpy does not know (ml_dtypes not imported): general path
                return False
            self._views_of = memory
        return True

    def run(self, inputs: dict) -> dict:
        if not (type(inputs) is dict and len(inputs) == len(self.variant.inputs) and self._views()):
            return super().run(inputs)
        for name, view in self._input_views:
            value = inputs.get(name)
            if type(value) is not np.ndarray or value.shape != view.shape or \
                    (value.dtype is not view.dtype and value.dtype != view.dtype):
                return super().run(inputs)
        for name, view in self._input_views:
            np.copyto(view, inputs[name])
        check_status(self.variant, "run", self.instance.call("run"))
        return {name: view.copy() for name, view in self._output_views}


def _view(memory: np.ndarray, spec: TensorSpec) -> np.ndarray:
    return memory[spec.offset:spec.offset + spec.nbytes].view(_little_endian_dtype(spec.dtype)).reshape(spec.shape)


def load(source: str | Path, variant: str | None = None, config: RuntimeConfig | None = None,
         threads: int | None = None, manifest_sha256: str | None = None) -> Model:
    """Load a bundle directory / manifest path, or a bring-your-own `.wat` or `.wasm` module.

    threads: how many threads a `--threads N` build runs on (1 <= threads <= N; default min(N, cores));
    a single-threaded build accepts only 1 (or None). manifest_sha256: refuse (ManifestDigestError) a
    manifest.json whose sha256 differs."""
    config = config or RuntimeConfig()
    path = Path(source)
    if path.suffix in (".wat", ".wasm"):
        if manifest_sha256 is not None:
            raise BundleError(f"manifest_sha256 pins a bundle's manifest.json; {path.name} is a bare module")
        return _load_module_file(path, config)
    root = path if path.is_dir() else path.parent
    manifest = root / "manifest.json" if path.is_dir() else path
    try:
        spec = parse_manifest(check_manifest_digest(manifest.read_bytes(), manifest_sha256, str(manifest)))
    except OSError as exc:
        raise BundleError(f"cannot read bundle manifest {manifest}: {exc.strerror or exc}") from None
    chosen, choice = wasmtime_simd.choose(spec, variant)  # or its baseline twin without relaxed SIMD
    config.check_memory(chosen.memory_bytes, f"variant {chosen.name}")
    from .wasmtime_threads import thread_count
    threads = thread_count(chosen, threads)
    wasm = verify_bytes(chosen.module, _read(root, chosen.module.file))
    audit_module(wasm)
    wasmtime_simd.check_module(chosen, wasm)

    def setup(instance: WasmtimeInstance) -> None:
        _check_memory(chosen, instance)
        if not instance.uses_epochs:  # an engine without epoch checks: its own Cranelift loops, same bits
            instance.write(LOOP_VARIANT_OFFSET, LOOP_VARIANT_NO_EPOCH.to_bytes(4, "little"))
        load_weights(chosen, instance, lambda rel: _read(root, rel), verify_bytes)

    if chosen.threads > 1:  # one store and instance per thread over one shared memory
        from .wasmtime_threads import ThreadedWasmtimeInstance
        return _chosen(WasmtimeModel(chosen, ThreadedWasmtimeInstance(
            wasm, config, setup, chosen.pages, threads, deadline_checks=chosen.deadline_checks)), choice)
    return _chosen(WasmtimeModel(chosen, WasmtimeInstance(wasm, config, setup, deadline_checks=chosen.deadline_checks)), choice)


def _chosen(model: WasmtimeModel, choice) -> WasmtimeModel:
    model.choice = choice  # which variant and why (a relaxed-tier fallback says so), as in the browser
    return model


def _read(root: Path, rel: str) -> bytes:
    try:
        return (root / rel).read_bytes()
    except OSError as exc:
        raise BundleError(f"bundle file {rel} is missing or unreadable: {exc.strerror or exc}") from None


def _check_memory(variant: VariantSpec, instance: WasmtimeInstance) -> None:
    if instance.memory_bytes < variant.memory_bytes:
        raise BundleError(f"the module's memory ({instance.memory_bytes} bytes) is smaller than its manifest "
                          f"declares ({variant.memory_bytes} bytes)")


def _load_module_file(path: Path, config: RuntimeConfig) -> Model:
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
    wasmtime_simd.check_module(None, wasm)
    variant = sidecar_variant(meta, path.name, wasm, memory_pages(wasm))
    config.check_memory(variant.memory_bytes, path.name)

    def setup(instance: WasmtimeInstance) -> None:
        if variant.has_init and instance.call("init") != 0:
            raise ExecutionError("model init returned a non-zero status")

    return WasmtimeModel(variant, WasmtimeInstance(wasm, config, setup))
