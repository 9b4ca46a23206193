"""Tile: y = np.tile(x, repeats) with constant repeats (opset 6+; opset 1's tiles and axis
scalars too), any dtype: one x_copy_nd call whose address map walks every axis as (repeat,
index) with x step 0 over the repeats, so each innermost run of x is one memory.copy."""

from __future__ import annotations

import numpy as np

from ..backend.gather import Dim, emit_gather, row_major_steps
from ..backend.program import Ptr
from ..dtypes import itemsize
from ..errors import ModelFormatError
from ..frontend.arguments import int_constant, normalize_axis

IR_OP = "Tile"


def import_tile(im, node, at) -> None:
    x = node.input[0]
    shape = im.shape(x)
    if im.opset < 6:  # Tile-1: a scalar count of tiles along a scalar axis
        if len(node.input) != 3:
            raise ModelFormatError(f"Tile node {node.name!r}: opset {im.opset} takes input, tiles and axis")
        tiles = int(int_constant(im, node, node.input[1], "tiles").reshape(-1)[0])
        axis = normalize_axis(node, int(int_constant(im, node, node.input[2], "axis").reshape(-1)[0]), len(shape))
        repeats = [tiles if d == axis else 1 for d in range(len(shape))]
    else:
        if len(node.input) != 2:
            raise ModelFormatError(f"Tile node {node.name!r}: opset {im.opset} takes input and repeats")
        repeats = int_constant(im, node, node.input[1], "repeats").reshape(-1).tolist()
    if len(repeats) != len(shape) or any(r < 0 for r in repeats):
        raise ModelFormatError(f"Tile node {node.name!r}: repeats {repeats} for an input of rank {len(shape)}")
    out = tuple(s * r for s, r in zip(shape, repeats))
    if all(r == 1 for r in repeats):
        im.emit("Reshape", [x], node.output[0], out, node.name, dtype=im.dtype(x))
        return
    im.emit(IR_OP, [x], node.output[0], out, node.name, dtype=im.dtype(x), repeats=tuple(int(r) for r in repeats))


IMPORTS = {"Tile": (import_tile, 2, 3)}


def tile_dims(shape: tuple[int, ...], repeats: tuple[int, ...], esize: int) -> list[Dim]:
    """y = np.tile(x, repeats) for a contiguous x: per axis (repeats, x step 0) then (size, x step)."""
    out = tuple(s * r for s, r in zip(shape, repeats))
    dims = []
    for s, r, xs, ys in zip(shape, repeats, row_major_steps(shape, esize), row_major_steps(out, esize)):
        dims += [Dim(r, 0, s * ys), Dim(s, xs, ys)]
    return dims


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    esize = itemsize(graph.info(y).dtype)
    emit_gather(program, node.name, program.operand(graph, x), Ptr(y),
                tile_dims(graph.shape_of(x), node.attrs["repeats"], esize), esize=esize)


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    x = ex.graph_const(x) if ex.graph.is_constant(x) else x
    ex.add("Tile", [x, ex.const(f"{y}__repeats", np.array(node.attrs["repeats"], np.int64))], y)


def flops(graph, node) -> int:
    return 0
