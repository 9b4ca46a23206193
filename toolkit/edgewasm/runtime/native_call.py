"""The cheapest way to call a `() -> i32` export from Python: one cached C call into wasmtime.

wasmtime-py's `Func.__call__` re-reads the function type, converts every value and builds ctypes
arrays on each call (about 15 us); an inference is one call, so for small models that is most of
the host overhead. A `NativeCall` checks the type once, then calls `wasmtime_func_call_unchecked`
through its own ctypes prototype (plain integer arguments, nothing converted) with a reused result
slot, and sets the epoch deadline with the same C function `Store.set_epoch_deadline` uses (about
2 us in all). Traps and errors come back as the same `wasmtime.Trap` / `wasmtime.WasmtimeError`
objects the generic path raises, so callers handle both paths alike.

The bindings reach into wasmtime-py's private modules; when they are missing (another wasmtime-py
release), `bind` returns None and the host keeps the generic path.
"""

from __future__ import annotations

import ctypes

import wasmtime

try:
    from wasmtime import _ffi as _wasmtime_ffi
except ImportError:  # another wasmtime-py layout: the generic path is used
    _wasmtime_ffi = None

_PROTOTYPES: tuple | None = None


def _prototypes() -> tuple | None:
    """(func_call_unchecked, set_epoch_deadline) as private ctypes prototypes, or None.

    Fresh prototypes, not wasmtime-py's own function objects: changing those would change
    wasmtime-py itself.
    """
    global _PROTOTYPES
    if _PROTOTYPES is None:
        try:
            dll = _wasmtime_ffi.dll
            call = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                    ctypes.c_size_t, ctypes.c_void_p)(("wasmtime_func_call_unchecked", dll))
            deadline = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64)(
                ("wasmtime_context_set_epoch_deadline", dll))
            _PROTOTYPES = (call, deadline, _wasmtime_ffi.wasmtime_val_raw_t, _wasmtime_ffi.wasm_trap_t,
                           _wasmtime_ffi.wasmtime_error_t)
        except (AttributeError, TypeError):
            _PROTOTYPES = ()
    return _PROTOTYPES or None


class NativeCall:
    """`call(ticks) -> i32`: set the epoch deadline, call the export (with its one i32 argument
    `arg`, when it takes one: a threaded module's `run_thread(t)`), raise its trap or error."""

    def __init__(self, store: wasmtime.Store, func: wasmtime.Func, prototypes: tuple, arg: int | None = None):
        self._call, self._set_deadline, val_raw, self._trap_type, self._error_type = prototypes
        self._store, self._func = store, func  # keep both alive: we hold raw pointers into them
        self._context = ctypes.cast(store._context(), ctypes.c_void_p).value
        self._func_address = ctypes.addressof(func._func)
        self._slot = (val_raw * 1)()  # args_and_results: at most one i32 param, one i32 result
        self._arg = arg
        self._slot_address = ctypes.addressof(self._slot)
        self._trap = ctypes.c_void_p()
        self._trap_address = ctypes.addressof(self._trap)

    def __call__(self, ticks: int) -> int:
        self._set_deadline(self._context, ticks)
        self._trap.value = None
        if self._arg is not None:
            self._slot[0].i32 = self._arg  # the result overwrites it
        error = self._call(self._context, self._func_address, self._slot_address, 1, self._trap_address)
        if error:
            raise wasmtime.WasmtimeError._from_ptr(ctypes.cast(error, ctypes.POINTER(self._error_type)))
        if self._trap.value:
            raise wasmtime.Trap._from_ptr(ctypes.cast(self._trap.value, ctypes.POINTER(self._trap_type)))
        return self._slot[0].i32


def bind(store: wasmtime.Store, func: wasmtime.Func, arg: int | None = None) -> NativeCall | None:
    """A NativeCall for `func` if it is `() -> i32` (or `(i32) -> i32`, called with `arg`) and the
    bindings exist; else None."""
    prototypes = _prototypes()
    if prototypes is None:
        return None
    try:
        kind = func.type(store)
        params = [str(t) for t in kind.params]
        if params != ([] if arg is None else ["i32"]) or [str(t) for t in kind.results] != ["i32"]:
            return None
        return NativeCall(store, func, prototypes, arg)
    except (AttributeError, TypeError, ValueError):
        return None
