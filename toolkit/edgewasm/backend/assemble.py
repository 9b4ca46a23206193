"""wat -> wasm, audited: every module we emit must pass the same sandbox check the hosts apply."""

from __future__ import annotations

import wasmtime

from ..runtime.sandbox import sections, audit_module

CUSTOM_SECTION = 0


def assemble(wat: str) -> bytes:
    wasm = without_custom_sections(bytes(wasmtime.wat2wasm(wat)))
    audit_module(wasm)
    return wasm


def without_custom_sections(wasm: bytes) -> bytes:
    """Drop custom sections: wat2wasm's `name` section (function and local names, for debuggers)
    is about a quarter of a small model's module, and no engine needs it to run."""
    kept, previous_end = [wasm[:8]], 8
    for section, _, end in sections(wasm):
        if section != CUSTOM_SECTION:
            kept.append(wasm[previous_end:end])
        previous_end = end
    return b"".join(kept)
