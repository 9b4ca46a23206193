"""The sandbox audit: a model module imports nothing and exports only the ABI.

Read from the binary itself (stdlib only, so both hosts and the compiler share it): nothing
spliced into a module, and nothing a bundle author hand-wrote, can smuggle an import past it.
"""

from __future__ import annotations

from ..errors import BundleError

ABI_EXPORTS = {"memory", "run", "init"}
# The i32 at this byte offset (inside the 64 bytes the memory plan never uses) picks the inner
# loops of kernels whose fastest loop differs between engines: 0 (memory starts zeroed) = the
# loops Cranelift prefers with epoch interruption, 1 = the load-splat loops V8 prefers (written by
# the browser host), 2 = Cranelift without epoch checks (written by the wasmtime host when it has
# no deadline). All give the same bits, so a host that never writes it is only slower
# (backend/codegen.py). Hosts write it for compiled bundles only, never into a bring-your-own module.
LOOP_VARIANT_OFFSET = 16
LOOP_VARIANT_V8 = 1
LOOP_VARIANT_NO_EPOCH = 2
# The deadline between layers (a compiled single-threaded module; manifest `deadline_checks`):
# before each layer `run` compares two i32 words, the clock the wasmtime host's ticker writes every
# few ms and the deadline (in the same ticks) the host writes before the call, and returns
# DEADLINE_STATUS once the clock has reached a nonzero deadline (wrapping compare). The engine then
# needs no epoch checks in its loops; a run ends at most one layer late. The browser writes neither
# word (0 = no deadline): it bounds a run by terminating its worker.
# (20-40: a threaded build's words, runtime/threads.py; 44, 48: the page's GO and DONE words,
# runtime/browser_threads.py.)
CLOCK_OFFSET = 52
DEADLINE_OFFSET = 56
DEADLINE_STATUS = -1


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _name(data: bytes, pos: int) -> tuple[str, int]:
    n, pos = _uleb(data, pos)
    return data[pos:pos + n].decode("utf-8"), pos + n


def sections(wasm: bytes):
    """Yield (section id, body start, body end) of a wasm binary."""
    if wasm[:8] != b"\0asm\x01\0\0\0":
        raise BundleError("not a WebAssembly 1.0 binary")
    pos = 8
    while pos < len(wasm):
        section, pos = wasm[pos], pos + 1
        size, pos = _uleb(wasm, pos)
        if pos + size > len(wasm):
            raise IndexError
        yield section, pos, pos + size
        pos += size


def module_interface(wasm: bytes) -> tuple[int, dict[str, int]]:
    """(number of imports, {export name: export kind}) read from the binary's sections."""
    imports, exports = 0, {}
    try:
        for section, body, _ in sections(wasm):
            if section == 2:
                imports, _ = _uleb(wasm, body)
            elif section == 7:
                count, p = _uleb(wasm, body)
                for _ in range(count):
                    name, p = _name(wasm, p)
                    kind = wasm[p]
                    _, p = _uleb(wasm, p + 1)
                    exports[name] = kind
    except (IndexError, UnicodeDecodeError):
        raise BundleError("malformed or truncated WebAssembly binary") from None
    return imports, exports


def memory_limits(wasm: bytes) -> tuple[int, int | None]:
    """(initial pages, maximum pages or None) of the module's own memory ((0, None) if it defines
    none), read before instantiating. A memory whose maximum is its initial size can never grow."""
    try:
        for section, body, _ in sections(wasm):
            if section == 5:
                count, p = _uleb(wasm, body)
                if count == 0:
                    return 0, None
                flags = wasm[p]
                initial, p = _uleb(wasm, p + 1)
                return initial, _uleb(wasm, p)[0] if flags & 1 else None
    except IndexError:
        raise BundleError("malformed or truncated WebAssembly binary") from None
    shared = shared_memory_import(wasm)  # a threaded build's memory is imported
    return (0, None) if shared is None else (shared, shared)


def memory_pages(wasm: bytes) -> int:
    """Initial pages of the module's own memory (0 if it defines none), read before instantiating."""
    return memory_limits(wasm)[0]


THREADED_EXPORTS = {"run", "run_thread", "serve", "init"}


def shared_memory_import(wasm: bytes) -> int | None:
    """A threaded build's (`--threads N`) one allowed import: `env.memory`, a shared memory whose
    minimum is its maximum. Returns its pages; None when the module imports nothing; refuses any
    other import (or any second one)."""
    try:
        for section, body, _ in sections(wasm):
            if section != 2:
                continue
            count, p = _uleb(wasm, body)
            if count == 0:
                return None
            module, p = _name(wasm, p)
            field, p = _name(wasm, p)
            kind, flags = wasm[p], wasm[p + 1] if wasm[p] == 2 else -1
            if count != 1 or (module, field, kind) != ("env", "memory", 2) or flags != 3:
                raise BundleError(f"module has {count} import(s) ({module}.{field} first); model modules must import "
                                  "nothing (a --threads build: exactly one shared memory, env.memory)")
            initial, p = _uleb(wasm, p + 2)
            maximum, p = _uleb(wasm, p)
            if initial != maximum:
                raise BundleError("a threaded module's shared memory must have equal minimum and maximum pages")
            return initial
    except (IndexError, UnicodeDecodeError):
        raise BundleError("malformed or truncated WebAssembly binary") from None
    return None


def audit_module(wasm: bytes) -> None:
    imports, exports = module_interface(wasm)
    if imports:
        shared_memory_import(wasm)  # the one import a threaded build may have, or a BundleError
        if set(exports) - THREADED_EXPORTS or not {"run", "run_thread", "serve"} <= set(exports):
            raise BundleError(f"threaded module exports {sorted(exports)}; the ABI allows exactly run, run_thread, "
                              "serve and init")
        return
    extra = {name for name in set(exports) - ABI_EXPORTS if not is_layer_entry(name)}
    if extra or "memory" not in exports or "run" not in exports:
        raise BundleError(f"module exports {sorted(exports)}; the ABI allows exactly memory, run and init "
                          "(and layer_<n> in a --profile build)")


def is_layer_entry(name: str) -> bool:
    """`layer_<n>`: a --profile build's per-layer entry point (the host times each call)."""
    return name.startswith("layer_") and name[6:].isdigit()
