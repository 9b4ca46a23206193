"""wasmtime host of a `--threads N` build: one store and instance per thread over one SharedMemory.

Thread 0's instance is called from the caller's thread (`run()`); threads 1..k-1 are persistent
Python threads, each calling `run_thread(t)` on its own store (wasmtime calls go through ctypes,
which releases the GIL, so the k instances compute at the same time). The module's own barriers
synchronise them (backend/threads.py). Every store gets the same epoch deadline; a thread that
traps writes the abort word, so the others trap at their next barrier instead of waiting for it
forever, and then every store, instance and the shared memory are re-made (weights rewritten,
init re-run) exactly as the single-threaded host re-makes its instance.
"""

from __future__ import annotations

import ctypes
import math
import os
import queue
import threading
from typing import Callable

import numpy as np
import wasmtime

from ..bundle import VariantSpec
from ..errors import BundleError, DeadlineExceeded, ExecutionError, ThreadsError
from .config import RuntimeConfig
from .sandbox import DEADLINE_STATUS
from .threads import ABORT_OFFSET, WORKER_EXPORT, thread_words
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
        self._workers: list[_Worker] = []
        self._done: queue.SimpleQueue = queue.SimpleQueue()  # each worker's result of each run
        self._outstanding = 0  # results of the last successful run not collected yet
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
        # worker_calls[t](ticks) runs run_thread(t) on store t: the cached native call when it binds
        self.worker_calls = [self._worker_call(t, exports_t[WORKER_EXPORT]) for t, exports_t in enumerate(self.instances)]
        self._words_written = None  # the thread count the shared words were last reset for
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

    def call(self, export: str) -> int:
        if export != "run" or self.threads == 1:
            if export == "run":
                self._words(1)
            return super().call(export)
        deadline = self.config.deadline
        ticks = NO_DEADLINE if deadline is None else max(1, math.ceil(deadline / EPOCH_TICK)) + 1
        self._collect()
        self._words(self.threads)
        self.set_deadline_word()
        while len(self._workers) < self.threads - 1:
            self._workers.append(_Worker(len(self._workers) + 1))
        done = self._done
        for worker in self._workers[:self.threads - 1]:
            worker.jobs.put((self, ticks, done))
        errors: list[BaseException] = []
        status = 0
        try:
            native = self.native_calls.get("run")
            if native is not None:
                status = native(ticks)
            else:
                self.store.set_epoch_deadline(ticks)
                status = self.functions["run"](self.store)
        except wasmtime.Trap as exc:
            self.abort()
            errors.append(exc)
        except BaseException:  # not a trap (an interrupt in Python): free the workers, re-make at the next run
            self.abort()
            self._words_written = None
            self._outstanding = self.threads - 1
            raise
        if not errors:
            # Thread 0 returned, so every worker has passed the run's last barrier: its work is done
            # and it is only returning to Python. Its result is collected before the next run, so
            # this run does not wait for a worker thread to wake the caller's thread.
            self._outstanding = self.threads - 1
            if status == DEADLINE_STATUS and self.deadline_words is not None:  # every thread left at one barrier
                raise DeadlineExceeded(f"run() exceeded the {deadline} s deadline on {self.threads} threads "
                                       "(stopped at a barrier); the model is usable again")
            return status
        for _ in range(self.threads - 1):
            result = done.get()
            if isinstance(result, BaseException):
                errors.append(result)
        self._instantiate()
        trap = next((e for e in errors if isinstance(e, wasmtime.Trap)
                     and e.trap_code == wasmtime.TrapCode.INTERRUPT), None)
        if trap is not None:
            raise DeadlineExceeded(f"run() exceeded the {deadline} s deadline on {self.threads} threads; the "
                                   "instances were re-made and the model is usable again") from None
        first = next((e for e in errors if isinstance(e, wasmtime.Trap)
                      and e.trap_code != wasmtime.TrapCode.UNREACHABLE), errors[0])
        if isinstance(first, wasmtime.Trap):
            reason = first.trap_code.name.lower().replace("_", " ") if first.trap_code else first.message.splitlines()[0]
        else:
            reason = str(first).splitlines()[0] if str(first) else type(first).__name__
        raise ExecutionError(f"the module trapped in run() on {self.threads} threads: {reason} "
                             "(the instances were re-made)") from None

    def _collect(self) -> None:
        """Wait for the workers' results of the last run that returned. One can only have failed
        after that run's last barrier (its deadline's epoch check on the way out) or after an
        interrupt freed it: the module's state is whole either way, only the shared words are
        written again before the next run."""
        while self._outstanding:
            self._outstanding -= 1
            if isinstance(self._done.get(), BaseException):
                self._words_written = None

    def abort(self) -> None:
        """Make every other thread trap at its next barrier (one of them trapped)."""
        self.write(ABORT_OFFSET, (1).to_bytes(4, "little"))

    def _worker_call(self, t: int, func: wasmtime.Func) -> Callable[[int], int]:
        store = self.stores[t]
        native = bind_native_call(store, func, arg=t)
        if native is not None:
            return native

        def generic(ticks: int) -> int:
            store.set_epoch_deadline(ticks)
            return func(store, t)
        return generic

    def run_worker(self, t: int, ticks: int) -> int:
        return self.worker_calls[t](ticks)


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


class _Worker:
    """A daemon thread that runs `run_thread(t)` whenever a job arrives (one per thread index)."""

    def __init__(self, t: int):
        self.t = t
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._loop, name=f"edgewasm-thread-{t}", daemon=True).start()

    def _loop(self) -> None:
        while True:
            instance, ticks, done = self.jobs.get()
            try:
                instance.run_worker(self.t, ticks)
                done.put(None)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                if isinstance(exc, wasmtime.Trap):
                    instance.abort()
                done.put(exc)
