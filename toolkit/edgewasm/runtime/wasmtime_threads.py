"""wasmtime host of a `--threads N` build: one store and instance per thread over one SharedMemory.

Thread 0's instance is called from the caller's thread (`run()`); threads 1..k-1 are Python
threads, each inside one long call of `serve(t, go)` on its own store (wasmtime calls go through
ctypes, which release the GIL, so the k instances compute at the same time). A worker waits inside
the module between runs, spinning a little before it sleeps, and `run()` bumps and notifies the GO
word: back-to-back runs start every thread at once, where waking a Python thread for each run cost
~50 us. The module's own barriers synchronise them (backend/threads.py). Thread 0 alone gets the
epoch deadline (a worker only waits for or works beside it); a thread that traps writes the abort
word, so the others trap at their next barrier (or, idle, leave `serve`) instead of waiting for
it forever, and then every store, instance and the shared memory are re-made (weights rewritten,
init re-run) exactly as the single-threaded host re-makes its instance. A model that is garbage
collected writes the abort word too, so its workers leave.
"""

from __future__ import annotations

import ctypes
import math
import os
import queue
import threading
import time
import weakref
from typing import Callable

import numpy as np
import wasmtime

from ..bundle import VariantSpec
from ..errors import BundleError, DeadlineExceeded, ExecutionError, ThreadsError
from .config import RuntimeConfig
from .sandbox import DEADLINE_STATUS
from .threads import ABORT_OFFSET, DONE_OFFSET, GO_OFFSET, SERVE_EXPORT, thread_words
from .wasmtime_host import EPOCH_TICK, NO_DEADLINE, WasmtimeInstance, engine
from .native_call import bind as bind_native_call


def splits_nothing(variant: VariantSpec) -> bool:
    """A --threads build of a model too small to split (its report says so): one thread runs it all."""
    return variant.threads > 1 and variant.report.get("threads", {}).get("split_calls") == 0


def thread_count(variant: VariantSpec, requested: int | None) -> int:
    """k for a variant built for `variant.threads`: the request, or min(N, cores) (1 when the
    compiler split nothing: other threads would only wait)."""
    if requested is None:
        return 1 if splits_nothing(variant) else max(1, min(variant.threads, os.cpu_count() or 1))
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
        raise ThreadsError(f"threads must be a positive integer, got {requested!r}")
    if requested > variant.threads:
        raise ThreadsError(f"variant {variant.name} was built for at most {variant.threads} thread(s) "
                         f"(compile with --threads {requested} for more), not {requested}")
    return 1 if splits_nothing(variant) else requested  # nothing split: more threads would only wait


class ThreadedWasmtimeInstance(WasmtimeInstance):
    """A WasmtimeInstance whose `call('run')` runs on `threads` threads (see the module docstring)."""

    def __init__(self, wasm: bytes, config: RuntimeConfig, setup: Callable, pages: int, threads: int,
                 deadline_checks: bool = False):
        self.pages, self.threads = pages, threads
        self.config = config
        self.deadline_checks = deadline_checks  # thread 0 checks the deadline words before each barrier
        self.engine = engine(config.stack_limit, interruptible=config.deadline is not None and not deadline_checks,
                             threads=True)
        try:
            self.module = wasmtime.Module(self.engine, wasm)
        except wasmtime.WasmtimeError as exc:
            raise BundleError(f"the module does not compile: {str(exc).splitlines()[0]}") from None
        self.setup = setup
        self._instantiate()

    def _instantiate(self) -> None:
        self.shared = _SharedMemory(self.engine, wasmtime.MemoryType(
            wasmtime.Limits(self.pages, self.pages), shared=True))
        self.stores, self.instances = [], []
        for _ in range(self.threads):
            store = wasmtime.Store(self.engine)
            store.set_limits(memory_size=self.config.memory_limit)
            store.set_epoch_deadline(NO_DEADLINE)
            try:
                instance = wasmtime.Instance(store, self.module, [self.shared])
            except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
                raise BundleError(f"the module does not instantiate: {str(exc).splitlines()[0]}") from None
            self.stores.append(store)
            self.instances.append(instance.exports(store))
        self.store = self.stores[0]
        exports = self.instances[0]
        self._fixed_memory = (ctypes.addressof(self.shared.data_ptr().contents), self.shared.data_len())
        self.memory_array = self._memory_array()
        self._clock_words()
        self.functions = {name: exports[name] for name in exports if name in ("run", "init")}
        self.native_calls = {name: call for name, func in self.functions.items()
                             if (call := bind_native_call(self.store, func)) is not None}
        # serve_calls[t](go) runs serve(t, go) on store t until the abort word stops it
        self.serve_calls = [self._serve_call(t, exports_t[SERVE_EXPORT]) for t, exports_t in enumerate(self.instances)]
        self._workers: list[threading.Thread] = []  # serving threads 1..k-1, started by the first run
        self._left: queue.SimpleQueue = queue.SimpleQueue()  # what each worker's serve() ended with
        self._words_written = None  # the thread count the shared words were last reset for
        self._stale = False  # a run was interrupted: re-make everything before the next
        self._runs = 0  # runs started on these instances (each worker bumps DONE after its share)
        self.setup(self)

    def _memory_array(self) -> np.ndarray:
        base, size = self._fixed_memory
        buffer = (ctypes.c_uint8 * size).from_address(base)
        buffer.shared = self.shared  # the memory outlives every view of it
        return np.frombuffer(buffer, np.uint8)

    @property
    def memory_bytes(self) -> int:
        return self.shared.data_len()

    def _words(self, threads: int) -> None:
        """Reset the shared words for a run on `threads` threads. A run that returned leaves them
        clean (the barrier counter back at 0, no abort), so they are written only when the count
        changes or after a failure."""
        if self._words_written == threads:
            return
        self._words_written = threads
        # Thread 0 spins at barriers (as a page's main thread must) unless the threads outnumber the
        # cores: sleeping there costs a futex wake per barrier (MobileNetV2: 13.8 ms -> 12.5 ms spinning).
        main_may_block = threads > (os.cpu_count() or 1)
        for offset, value in thread_words(threads, main_may_block=main_may_block):
            self.write(offset, value.to_bytes(4, "little"))

    def _serve(self) -> None:
        """Start the workers (once per set of instances): each enters serve(t, go) with the GO word
        as it is now, before any run bumps it, so none can miss the first run."""
        if self._workers:
            return
        go = int.from_bytes(self.read(GO_OFFSET, 4), "little", signed=True)
        for t in range(1, self.threads):
            worker = threading.Thread(target=_serve, args=(self.serve_calls[t], go, self._left, self.memory_array),
                                      name=f"edgewasm-thread-{t}", daemon=True)
            worker.start()
            self._workers.append(worker)
        # a model dropped without a trap: its workers see the abort word and leave serve()
        weakref.finalize(self, _stop, self.memory_array)

    def call(self, export: str) -> int:
        if export != "run" or self.threads == 1:
            if export == "run":
                self._words(1)
            return super().call(export)
        if self._stale:
            self._remake()
        deadline = self.config.deadline
        ticks = NO_DEADLINE if deadline is None else max(1, math.ceil(deadline / EPOCH_TICK)) + 1
        self._settle()
        self._words(self.threads)
        self.set_deadline_word()
        self._serve()
        self._runs += 1
        try:
            native = self.native_calls.get("run")
            if native is not None:
                status = native(ticks)
            else:
                self.store.set_epoch_deadline(ticks)
                status = self.functions["run"](self.store)
        except wasmtime.Trap as exc:
            self.abort()
            errors = [exc] + [self._left.get() for _ in self._workers]
        except BaseException:  # not a trap (an interrupt in Python): free the workers, re-make at the next run
            self.abort()
            self._stale = True
            raise
        else:
            if status == DEADLINE_STATUS and self.deadline_words is not None:  # every thread left at one barrier
                raise DeadlineExceeded(f"run() exceeded the {deadline} s deadline on {self.threads} threads "
                                       "(stopped at a barrier); the model is usable again")
            return status
        self._instantiate()
        trap = next((e for e in errors if isinstance(e, wasmtime.Trap)
                     and e.trap_code == wasmtime.TrapCode.INTERRUPT), None)
        if trap is not None:
            raise DeadlineExceeded(f"run() exceeded the {deadline} s deadline on {self.threads} threads; the "
                                   "instances were re-made and the model is usable again") from None
        failures = [e for e in errors if e is not None]
        first = next((e for e in failures if isinstance(e, wasmtime.Trap)
                      and e.trap_code != wasmtime.TrapCode.UNREACHABLE), failures[0])
        if isinstance(first, wasmtime.Trap):
            reason = first.trap_code.name.lower().replace("_", " ") if first.trap_code else first.message.splitlines()[0]
        else:
            reason = str(first).splitlines()[0] if str(first) else type(first).__name__
        raise ExecutionError(f"the module trapped in run() on {self.threads} threads: {reason} "
                             "(the instances were re-made)") from None

    def _settle(self) -> None:
        """Wait until every worker finished its share of the last run. Thread 0 returns after the
        run's last barrier, so they are normally done; but a worker that left at a deadline or
        status barrier still has to read the status word, which the next run's thread 0 clears."""
        expected = self._runs * len(self._workers)
        spins = 0
        while int(self.memory_array[DONE_OFFSET:DONE_OFFSET + 4].view("<i4")[0]) < expected:
            spins += 1
            time.sleep(0 if spins < 1000 else 0.0001)

    def _remake(self) -> None:
        """After an interrupted run: wait for the freed workers to leave, then re-make everything."""
        for _ in self._workers:
            self._left.get()
        self._instantiate()

    def abort(self) -> None:
        """Make every other thread trap at its next barrier, or leave serve() when idle."""
        _stop(self.memory_array)

    def _serve_call(self, t: int, func: wasmtime.Func) -> Callable[[int], int]:
        store = self.stores[t]
        return lambda go: func(store, t, go)  # one call for the worker's whole life: the generic path


def _stop(memory: np.ndarray) -> None:
    """Write the abort word (its four bytes: no thread reads a torn value of 0 -> 1)."""
    memory[ABORT_OFFSET:ABORT_OFFSET + 4] = np.frombuffer((1).to_bytes(4, "little"), np.uint8)


def _serve(call: Callable[[int], int], go: int, left: queue.SimpleQueue, memory: np.ndarray) -> None:
    """A worker thread: serve(t, go) until the abort word stops it; what it ended with goes to `left`
    (None, or the trap or error, after which the others are freed)."""
    try:
        call(go)
        left.put(None)
    except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
        _stop(memory)
        left.put(exc)


class _SharedMemory(wasmtime.SharedMemory):
    """wasmtime-py 51's SharedMemory._as_extern wraps its pointer once too often (ctypes refuses it
    as an import); this builds the extern from the pointer itself, as the C API expects."""

    def _as_extern(self):
        try:
            return super()._as_extern()
        except TypeError:
            from wasmtime import _ffi as ffi
            union = ffi.wasmtime_extern_union(sharedmemory=self.ptr())
            return ffi.wasmtime_extern_t(ffi.WASMTIME_EXTERN_SHAREDMEMORY, union)
