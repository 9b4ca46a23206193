"""Static memory plan: `[weights][activation arena]`, every tensor at a 16-byte aligned offset
(but the in-place encodings below, packed byte to byte).

Activations whose lifetimes do not overlap share bytes (first fit over the buffers already
placed). Views (Reshape) share their source's bytes and extend its lifetime. Graph outputs live
to the end so the host can read them; graph inputs are rewritten before every run, so their bytes
are free for reuse once their last reader has run.

The weights region holds only what `run()` reads. What only `init()` reads (shipped encodings:
float16 sources, sparse bitmasks; weights init() transforms, e.g. Winograd's taps, and their
expansions) is dead once init() has run, so it lives in the init region, which starts where the
arena does and is planned the same way over init()'s calls. An encoding that its kernel can expand
in place (`Program.in_place`) is shipped inside the bytes of its own destination instead: the
encodings of the weights run() reads are packed at the end of those weights' bytes, in the order
init() expands them, each at least its kernel's gap past the start of its destination, so every
expansion reads its source before it writes over it and never reaches a source still to be read.
So no encoding needs more memory than the float32 weights it stands for. The host writes the shipped bytes
(those encodings, the other shipped weights, the init region's shipped tensors) as one contiguous
region before every init() (also after a trap re-made the instance); nothing else may run init().
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


def _first_fit(lifetimes: dict[str, tuple[int, int]], sizes: dict[str, int], base: int) -> tuple[dict[str, int], int]:
    """Offsets from `base` for buffers alive over [first, last] (inclusive), bytes shared in time."""
    offsets: dict[str, int] = {}
    end = base
    live: list[tuple[int, int, int, int]] = []  # the placed buffers still alive, sorted
    for name in sorted(lifetimes, key=lambda t: (lifetimes[t][0], t)):
        first, last = lifetimes[name]
        size = _align(sizes[name])
        offset = base
        # names come in order of first use: a buffer dead before this one starts never overlaps a later one
        live = [p for p in live if not p[3] < first]
        for o, e, f, l in live:
            if not (l < first or last < f) and o < offset + size and offset < e:
                offset = e
        bisect.insort(live, (offset, offset + size, first, last))
        offsets[name] = offset
        end = max(end, offset + size)
    return offsets, end


def _tensors(call) -> list[str]:
    return [arg.tensor for arg in call.args if isinstance(arg, Ptr)]


def _place_weights(program: Program) -> tuple[dict[str, int], int, dict[str, tuple[int, int]], dict[str, int]]:
    """Offsets of the run-time weights and of the in-place encodings; weights_end; and the init
    region's tensors as lifetimes over init()'s calls (-1: written by the host) and sizes."""
    read_by_run = {t for call in program.calls for t in _tensors(call)}
    init_steps: dict[str, list[int]] = {}
    for step, call in enumerate(program.init_calls):
        for t in _tensors(call):
            init_steps.setdefault(t, []).append(step)
    init_only = {n for n in program.weights if n not in read_by_run and n in init_steps}
    targets = {dst for dst, _ in program.in_place.values()}
    expanded = sorted((n for n in program.weights if n in targets and n not in init_only and n in program.derived),
                      key=lambda n: init_steps.get(n, [len(program.init_calls)])[0])  # in the order init() expands them
    order = ([n for n in program.weights if n in program.derived and n not in init_only and n not in targets]
             + expanded + [n for n in program.weights if n not in program.derived and n not in init_only])
    offsets: dict[str, int] = {}
    cursor = WEIGHTS_BASE
    for name in order:
        offsets[name] = cursor
        cursor = _align(cursor + program.weights[name].nbytes)
    weights_end = cursor
    # in-place encodings, packed downwards from the end of the expanded weights (the last expanded first)
    by_target: dict[str, list[str]] = {}
    for staged, (dst, _) in program.in_place.items():
        by_target.setdefault(dst, []).append(staged)
    top = offsets[expanded[-1]] + _align(program.weights[expanded[-1]].nbytes) if expanded else 0
    for dst in reversed(expanded):
        blobs = sorted(by_target.get(dst, []), key=lambda s: program.in_place[s][1])  # the largest gap highest
        while blobs:
            start = top - sum(program.staged[s].nbytes for s in blobs)
            at, fits = start, True
            for s in blobs:
                fits = fits and at - offsets[dst] >= program.in_place[s][1]
                at += program.staged[s].nbytes
            if fits:
                at = start
                for s in blobs:
                    offsets[s] = at
                    at += program.staged[s].nbytes
                top = start
                break
            blobs.pop()  # the encoding that needs the largest gap goes to the init region
    lifetimes: dict[str, tuple[int, int]] = {}
    sizes: dict[str, int] = {}
    shipped_first = [n for n in program.staged if n not in offsets] + \
        [n for n in init_only if n not in program.derived]
    for name in shipped_first:
        lifetimes[name] = (-1, max(init_steps.get(name, [-1])))
        sizes[name] = (program.staged.get(name) if name in program.staged else program.weights[name]).nbytes
    for name in init_only & program.derived:
        steps = init_steps[name]
        lifetimes[name], sizes[name] = (steps[0], steps[-1]), program.weights[name].nbytes
    return offsets, weights_end, lifetimes, sizes


def plan_memory(graph: Graph, program: Program, max_bytes: int = DEFAULT_MAX_BYTES) -> MemoryPlan:
    offsets, weights_end, init_lifetimes, init_sizes = _place_weights(program)
    init_offsets, init_end = _first_fit(init_lifetimes, init_sizes, weights_end)
    offsets.update(init_offsets)

    never = len(program.calls)
    first: dict[str, int] = {i.name: -1 for i in graph.inputs}
    last: dict[str, int] = {}
    for step, call in enumerate(program.calls):
        for tensor in _tensors(call):
            if tensor not in program.weights:
                root = program.root(tensor)
                first.setdefault(root, step)
                last[root] = step
    for out in graph.outputs:
        root = program.root(out.name)
        first.setdefault(root, -1)
        last[root] = never
    for name in first:
        last.setdefault(name, first[name])
    sizes = {name: program.temps[name] if name in program.temps else graph.info(name).nbytes for name in first}
    arena, arena_end = _first_fit({name: (first[name], last[name]) for name in first}, sizes, weights_end)
    offsets.update(arena)
    for view in program.views:
        offsets[view] = offsets[program.root(view)]
    arena_end = max(arena_end, init_end)  # init() is done before run() first uses the arena
    if arena_end > MAX_MEMORY:
        raise UnsupportedModelError(f"the model needs {arena_end} bytes of linear memory; wasm32 allows "
                                    f"{MAX_MEMORY} (is a dimension or the batch too large?)")
    check(arena_end, "the model's linear memory (weights and activations)", max_bytes)
    return MemoryPlan(offsets, WEIGHTS_BASE, weights_end, arena_end)
