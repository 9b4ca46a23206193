"""Transpose: y = x.transpose(perm), resolved at compile time into an x_copy_nd address map
(contiguous runs become memory.copy), in any dtype; a permutation that only moves size-1 axes is a
view, and a (batched) 2-D transpose of 4-byte elements uses the 4x4-blocked f32_transpose kernel."""

from __future__ import annotations

from ..backend.gather import emit_gather, simplify, transpose_dims
from ..dtypes import itemsize
from ..backend.program import Ptr
from ..errors import ModelFormatError

IR_OP = "Transpose"
MAX_UNROLLED_BATCH = 16  # batched 2-D transposes up to this many calls use f32_transpose


def import_transpose(im, node, at) -> None:
    x = node.input[0]
    shape = im.shape(x)
    perm = [int(p) for p in at.get("perm", list(reversed(range(len(shape)))))]
    if sorted(perm) != list(range(len(shape))):
        raise ModelFormatError(f"Transpose node {node.name!r}: perm {perm} is not a permutation of {len(shape)} axes")
    emit_transpose(im, x, node.output[0], perm, node.name)


def emit_transpose(im, x: str, y: str, perm: list[int], node_name: str) -> None:
    """Importer helper for units that move an axis (Softmax on a middle axis, ...)."""
    shape = im.shape(x)
    im.emit("Transpose", [x], y, tuple(shape[p] for p in perm), node_name, dtype=im.dtype(x), perm=list(perm))


IMPORTS = {"Transpose": (import_transpose, 1, 1)}


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    esize = itemsize(graph.info(x).dtype)
    dims, base = simplify(transpose_dims(graph.info(x).shape, tuple(node.attrs["perm"]), esize))
    if len(dims) <= 1 and (not dims or (dims[0].x_step, dims[0].y_step) == (esize, esize)):
        program.views[y] = x  # only size-1 axes move: same bytes
        return
    if esize == 4 and _blocked_transpose(program, node, dims):
        return
    emit_gather(program, node.name, Ptr(x, base), Ptr(y), dims, esize=esize)


def _blocked_transpose(program, node, dims) -> bool:
    """y[b, c, r] = x[b, r, c]: f32_transpose per batch item. Such a map has the dims
    (cols, 4, 4*rows) and (rows, 4*cols, 4), after an optional contiguous batch dim."""
    if len(dims) not in (2, 3) or any(d.x_offsets is not None for d in dims):
        return False
    col, row = dims[-2], dims[-1]
    rows, cols = row.count, col.count
    if (col.x_step, col.y_step, row.x_step, row.y_step) != (4, 4 * rows, 4 * cols, 4):
        return False
    block = 4 * rows * cols
    batch = dims[0].count if len(dims) == 3 else 1
    if len(dims) == 3 and (dims[0].x_step, dims[0].y_step) != (block, block) or batch > MAX_UNROLLED_BATCH:
        return False
    for b in range(batch):
        program.call("f32_transpose", [rows, cols, Ptr(node.inputs[0], b * block), Ptr(node.outputs[0], b * block)],
                     node.name)
    return True


def export(ex, node) -> None:
    ex.add("Transpose", node.inputs, node.outputs[0], perm=list(node.attrs["perm"]))


def flops(graph, node) -> int:
    return 0
