"""The relaxed-SIMD tier in the wasmtime host (runtime/simd.py says what the tier is).

The host's engines validate relaxed SIMD, so an `int8-relaxed` module compiles; every other module
(a baseline variant, a bring-your-own module) must also validate in an engine without it, so no
relaxed instruction reaches a module whose bits are promised engine-independent unless its manifest
declares the relaxed tier.
"""

from __future__ import annotations

import functools

import wasmtime

from ..errors import BundleError
from .adaptive import Choice
from .simd import PROBE, needs_relaxed, resolve


@functools.cache
def _engine(relaxed: bool) -> wasmtime.Engine:
    config = wasmtime.Config()
    config.wasm_simd = True
    config.wasm_relaxed_simd = relaxed
    return wasmtime.Engine(config)


def _strict_engine() -> wasmtime.Engine:
    return _engine(False)


@functools.cache
def relaxed_supported() -> bool:
    """Whether wasmtime, configured as the host's engines are (relaxed SIMD on), validates the
    tier's relaxed dot product on this machine."""
    try:
        wasmtime.Module.validate(_engine(True), PROBE)
        return True
    except wasmtime.WasmtimeError:
        return False


def check_module(variant, wasm: bytes) -> None:
    """Refuse a module that uses relaxed SIMD when its variant (None: a bring-your-own module) does
    not declare the relaxed tier."""
    if variant is not None and needs_relaxed(variant):
        return
    try:
        wasmtime.Module.validate(_strict_engine(), wasm)
    except wasmtime.WasmtimeError as exc:
        if "relaxed" in str(exc).lower():
            raise BundleError("the module uses relaxed SIMD but does not declare the relaxed tier (a relaxed-tier "
                              "kernel in its manifest's kernels): refused, its results could differ between "
                              "engines") from None
        raise BundleError(f"the module does not validate: {str(exc).splitlines()[0]}") from None


def choose(bundle, name: str | None):
    """(the VariantSpec to load, the Choice saying why): `name` (None: the manifest's default), or
    its baseline twin when it needs relaxed SIMD and wasmtime does not validate it here."""
    wanted = bundle.variant(name)
    loaded, fallback = resolve(bundle, wanted.name, not needs_relaxed(wanted) or relaxed_supported(),
                               "this wasmtime engine")
    why = "the manifest's default" if name is None else "chosen by name"
    return bundle.variant(loaded), Choice(loaded, tuple(bundle.variants), (why, *([fallback] if fallback else [])))
