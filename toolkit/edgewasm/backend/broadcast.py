"""Numpy broadcasting of a binary elementwise op, collapsed at compile time into the loops that
f32_vbinary_nd runs: an inner run along which operand a is contiguous (b contiguous or one
value), inside at most two outer loops of constant strides. Dimensions of size 1 are dropped and
neighbours that walk both operands the same way are merged, so common cases (same shapes, a bias
row, a per-row scalar, a scalar) need one call; deeper broadcasts repeat the call per outer index.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

F32 = 4  # bytes


@dataclass(frozen=True)
class BroadcastLoops:
    """y = a OP b as calls of f32_vbinary_nd; strides and offsets in bytes."""

    swapped: bool  # a and b are exchanged (the op must be reversed): a must be contiguous in the run
    n: int  # inner run length
    b_run: int  # 1: b is contiguous along the run; 0: one b value per run
    outer: tuple[tuple[int, int, int], tuple[int, int, int]]  # (d0, sa0, sb0), (d1, sa1, sb1)
    calls: tuple[tuple[int, int, int], ...]  # (a offset, b offset, y offset) per call

    @property
    def args(self) -> list[int]:
        """The kernel's loop arguments after the op code: n, b_run, d0, sa0, sb0, d1, sa1, sb1."""
        (d0, sa0, sb0), (d1, sa1, sb1) = self.outer
        return [self.n, self.b_run, d0, sa0, sb0, d1, sa1, sb1]


def output_shape(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> tuple[int, ...]:
    """np.broadcast_shapes, or ValueError."""
    return tuple(np.broadcast_shapes(tuple(shape_a), tuple(shape_b)))


def collapse(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> BroadcastLoops | None:
    """Loops computing the broadcast of a and b (row-major); None when the output is empty."""
    out = output_shape(shape_a, shape_b)
    if math.prod(out) == 0:
        return None
    dims = [d for d in _merged(out, _strides(shape_a, out), _strides(shape_b, out))]  # inner first
    if not dims:
        dims = [(1, 1, 1)]
    n, inner_a, inner_b = dims[0]
    swapped = inner_a == 0  # a must be contiguous along the run: exchange the operands
    if swapped:
        dims = [(d, sb, sa) for d, sa, sb in dims]
        inner_b = inner_a
    outer = [(d, sa * F32, sb * F32) for d, sa, sb in dims[1:]]
    loops, rest = outer[:2], outer[2:]
    while len(loops) < 2:
        loops.append((1, 0, 0))
    block = n * loops[0][0] * loops[1][0] * F32  # bytes of y written per call
    calls = []
    for flat, index in enumerate(itertools.product(*(range(d) for d, _, _ in reversed(rest)))):
        offsets = list(zip(index, reversed(rest)))
        calls.append((sum(i * sa for i, (_, sa, _) in offsets), sum(i * sb for i, (_, _, sb) in offsets),
                      flat * block))
    return BroadcastLoops(swapped, n, 1 if inner_b else 0, (loops[0], loops[1]), tuple(calls))


def _strides(shape: tuple[int, ...], out: tuple[int, ...]) -> list[int]:
    """Element strides of a row-major operand aligned to `out`'s rank; 0 where it broadcasts."""
    padded = (1,) * (len(out) - len(shape)) + tuple(shape)
    strides, step = [], 1
    for d in reversed(padded):
        strides.append(step if d != 1 else 0)
        step *= d
    return strides[::-1]


def _merged(out, strides_a, strides_b) -> list[tuple[int, int, int]]:
    """(size, stride a, stride b) from the innermost dimension out, size-1 dimensions dropped and
    a dimension folded into the one inside it when it continues both operands' walks."""
    merged: list[tuple[int, int, int]] = []
    for d, sa, sb in zip(reversed(out), reversed(strides_a), reversed(strides_b)):
        if d == 1:
            continue
        if merged:
            inner_d, inner_a, inner_b = merged[-1]
            if sa == inner_a * inner_d and sb == inner_b * inner_d:
                merged[-1] = (inner_d * d, inner_a, inner_b)
                continue
        merged.append((d, sa, sb))
    return merged
