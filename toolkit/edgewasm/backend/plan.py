"""Static memory plan: `[weights][activation arena]`, every tensor at a 16-byte aligned offset.

Activations whose lifetimes do not overlap share bytes (first fit over the buffers already
placed). Views (Reshape) share their source's bytes and extend its lifetime. Graph outputs live
to the end so the host can read them; graph inputs are rewritten before every run, so their bytes
are free for reuse once their last reader has run.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from ..errors import UnsupportedModelError
from ..frontend.limits import DEFAULT_MAX_BYTES, check
from ..ir import Graph
from .program import Program, Ptr

ALIGN = 16
PAGE = 65536
MAX_MEMORY = 65536 * PAGE  # wasm32: 4 GiB
WEIGHTS_BASE = 64  # offset 0 unused (a zero pointer is always a bug); 16: runtime.sandbox.LOOP_VARIANT_OFFSET


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass
class MemoryPlan:
    offsets: dict[str, int]
    weights_base: int
    weights_end: int
    arena_end: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.arena_end // PAGE))


def plan_memory(graph: Graph, program: Program, max_bytes: int = DEFAULT_MAX_BYTES) -> MemoryPlan:
    offsets: dict[str, int] = {}
    cursor = WEIGHTS_BASE
    for name, array in program.weights.items():
        offsets[name] = cursor
        cursor = _align(cursor + array.nbytes)
    weights_end = cursor

    never = len(program.calls)
    first: dict[str, int] = {i.name: -1 for i in graph.inputs}
    last: dict[str, int] = {}
    for step, call in enumerate(program.calls):
        for arg in call.args:
            if isinstance(arg, Ptr) and arg.tensor not in program.weights:
                root = program.root(arg.tensor)
                first.setdefault(root, step)
                last[root] = step
    for out in graph.outputs:
        root = program.root(out.name)
        first.setdefault(root, -1)
        last[root] = never
    for name in first:
        last.setdefault(name, first[name])

    placed: list[tuple[int, int, int, int]] = []  # (offset, end, first, last)
    live: list[tuple[int, int, int, int]] = []  # the placed buffers still alive, sorted
    for name in sorted(first, key=lambda t: (first[t], t)):
        size = _align(program.temps[name] if name in program.temps else graph.info(name).nbytes)
        offset = weights_end
        # names come in order of first use: a buffer dead before this one starts never overlaps a later one
        live = [p for p in live if not p[3] < first[name]]
        for o, e, f, l in live:
            overlaps_in_time = not (l < first[name] or last[name] < f)
            if overlaps_in_time and o < offset + size and offset < e:
                offset = e
        entry = (offset, offset + size, first[name], last[name])
        placed.append(entry)
        bisect.insort(live, entry)
        offsets[name] = offset
    for view in program.views:
        offsets[view] = offsets[program.root(view)]
    staged_end = weights_end  # staged bytes are read only by init(), before run() first uses the arena
    for name, array in program.staged.items():
        offsets[name] = staged_end
        staged_end = _align(staged_end + array.nbytes)
    arena_end = max([staged_end] + [e for _, e, _, _ in placed])
    if arena_end > MAX_MEMORY:
        raise UnsupportedModelError(f"the model needs {arena_end} bytes of linear memory; wasm32 allows "
                                    f"{MAX_MEMORY} (is a dimension or the batch too large?)")
    check(arena_end, "the model's linear memory (weights and activations)", max_bytes)
    return MemoryPlan(offsets, WEIGHTS_BASE, weights_end, arena_end)
