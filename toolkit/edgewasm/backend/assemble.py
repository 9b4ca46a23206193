"""wat -> wasm, audited: every module we emit must pass the same sandbox check the hosts apply."""

from __future__ import annotations

import wasmtime

from ..runtime.sandbox import audit_module


def assemble(wat: str) -> bytes:
    wasm = bytes(wasmtime.wat2wasm(wat))
    audit_module(wasm)
    return wasm
