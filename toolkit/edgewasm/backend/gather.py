"""Compile-time address maps for x_copy_nd (wasm-kernels/x_copy.wat): data movement ops in any dtype
describe the copy as dimensions (count, x step or x index table, y step), and this module
simplifies the description and encodes the kernel's descriptor.

Simplifying keeps the run time small: size-1 dimensions fold into the base offset, index tables
that are arithmetic progressions become steps, and neighbours that continue each other's walk
merge, so a contiguous block is one memory.copy and a head split is one copy per row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedModelError
from .program import Ptr

F32 = 4  # bytes: the default element size


@dataclass(frozen=True)
class Dim:
    """One dimension of the copy; steps in bytes. x_offsets (bytes, one per index) replaces x_step."""

    count: int
    x_step: int
    y_step: int
    x_offsets: tuple[int, ...] | None = None


def row_major_steps(shape: tuple[int, ...], esize: int = F32) -> list[int]:
    """Byte steps of a contiguous row-major tensor of `esize`-byte elements."""
    steps, step = [], esize
    for d in reversed(shape):
        steps.append(step)
        step *= d
    return steps[::-1]


def simplify(dims: list[Dim]) -> tuple[list[Dim], int]:
    """(equivalent dimensions, extra x base offset in bytes): no size-1 dims, tables that are
    progressions turned into steps, mergeable neighbours merged."""
    base = 0
    kept: list[Dim] = []
    for d in dims:
        if d.count == 0:
            return [Dim(0, F32, F32)], 0
        if d.x_offsets is not None:
            offsets = d.x_offsets
            steps = {b - a for a, b in zip(offsets, offsets[1:])}
            if len(steps) <= 1:
                base += offsets[0]
                d = Dim(d.count, steps.pop() if steps else 0, d.y_step)
        if d.count == 1:
            base += d.x_offsets[0] if d.x_offsets is not None else 0
            continue
        kept.append(d)
    merged: list[Dim] = []
    for d in reversed(kept):  # inner to outer
        if merged:
            inner = merged[-1]
            if (d.x_offsets is None and inner.x_offsets is None and d.x_step == inner.x_step * inner.count
                    and d.y_step == inner.y_step * inner.count):
                merged[-1] = Dim(inner.count * d.count, inner.x_step, inner.y_step)
                continue
        merged.append(d)
    return merged[::-1], base


def descriptor(dims: list[Dim], esize: int = F32) -> np.ndarray:
    """The int32 table x_copy_nd reads: rank, element size, (count, x_step, y_step, x_table) per
    dim, tables."""
    rank = max(1, len(dims))
    header = [rank, esize]
    tables: list[int] = []
    table_start = 4 * (2 + 4 * rank)
    for d in dims or [Dim(1, esize, esize)]:
        where = 0
        if d.x_offsets is not None:
            where = table_start + 4 * len(tables)
            tables.extend(d.x_offsets)
        header += [d.count, d.x_step, d.y_step, where]
    values = np.array(header + tables, np.int64)
    if np.abs(values).max(initial=0) >= 2**31:
        raise UnsupportedModelError("a data movement spans more than 2 GiB; wasm32 memory cannot hold it")
    return values.astype(np.int32)


def emit_gather(program, node: str, x: Ptr, y: Ptr, dims: list[Dim], tag: str = "", esize: int = F32) -> None:
    """Append one x_copy_nd call copying `dims` of `esize`-byte elements from x to y (no call when
    nothing is copied)."""
    dims, base = simplify(dims)
    if any(d.count == 0 for d in dims):
        return
    desc = program.table(f"{y.tensor}__gather{tag}", descriptor(dims, esize))
    program.call("x_copy_nd", [desc, Ptr(x.tensor, x.offset + base), y], node)


def transpose_dims(shape: tuple[int, ...], perm: tuple[int, ...], esize: int = F32) -> list[Dim]:
    """y = x.transpose(perm) for a contiguous x of `shape`; y contiguous."""
    x_steps = row_major_steps(shape, esize)
    out_shape = tuple(shape[p] for p in perm)
    return [Dim(c, x_steps[p], ys) for c, p, ys in zip(out_shape, perm, row_major_steps(out_shape, esize))]


def slice_dims(shape: tuple[int, ...], starts, steps, counts, esize: int = F32) -> tuple[list[Dim], int]:
    """y = x[start::step] per axis (counts elements each) for a contiguous x: (dims, x base offset)."""
    x_steps = row_major_steps(shape, esize)
    out_steps = row_major_steps(tuple(counts), esize)
    base = sum(s * xs for s, xs in zip(starts, x_steps))
    return [Dim(c, xs * st, ys) for c, xs, st, ys in zip(counts, x_steps, steps, out_steps)], base


def take_dims(shape: tuple[int, ...], axis: int, indices: np.ndarray, esize: int = F32) -> list[Dim]:
    """y = np.take(x, indices, axis) for a contiguous x (indices already in range)."""
    x_steps = row_major_steps(shape, esize)
    out_shape = shape[:axis] + tuple(indices.shape) + shape[axis + 1:]
    y_steps = row_major_steps(out_shape, esize)
    dims = [Dim(c, xs, ys) for c, xs, ys in zip(shape[:axis], x_steps[:axis], y_steps[:axis])]
    flat = [int(i) * x_steps[axis] for i in indices.reshape(-1)]
    dims.append(Dim(len(flat), 0, esize * math.prod(shape[axis + 1:]), tuple(flat)))  # index dims, flattened
    tail = len(shape) - axis - 1
    if tail:
        dims += [Dim(c, xs, ys) for c, xs, ys in zip(shape[axis + 1:], x_steps[axis + 1:], y_steps[-tail:])]
    return dims
