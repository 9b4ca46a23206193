"""Compress with a constant condition: the output shape is then static and the op is a Gather of
the selected indices along the axis (one x_copy_nd call; runs of selected indices become
memory.copy), or of the flattened input when no axis is given. Any dtype. A condition computed at
run time makes the output shape depend on data, which static shapes cannot express."""

from __future__ import annotations

import numpy as np

from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.arguments import normalize_axis


def import_compress(im, node, at) -> None:
    x, condition, y = node.input[0], node.input[1], node.output[0]
    shape, dtype = im.shape(x), im.dtype(x)
    if condition not in im.constants:
        raise UnsupportedModelError(f"Compress node {node.name!r}: the condition must be a constant (its count of "
                                    "true entries is the output shape, and shapes are static)")
    keep = np.asarray(im.constants[condition])
    if keep.ndim != 1 or keep.dtype != np.bool_:
        raise ModelFormatError(f"Compress node {node.name!r}: the condition must be a 1-D bool tensor, got "
                               f"{keep.dtype} of shape {keep.shape}")
    source = x
    if "axis" in at:
        axis = normalize_axis(node, int(at["axis"]), len(shape))
    else:
        axis, source = 0, im.fresh(f"{y}_flat")
        im.emit("Reshape", [x], source, (int(np.prod(shape)),), node.name, dtype=dtype)
    dim = im.shape(source)[axis]
    if keep[dim:].any():
        raise ModelFormatError(f"Compress node {node.name!r}: the condition selects index "
                               f"{int(np.flatnonzero(keep)[-1])} of an axis of {dim}")
    indices = np.flatnonzero(keep[:dim]).astype(np.int64)
    out = im.shape(source)[:axis] + (indices.size,) + im.shape(source)[axis + 1:]
    im.emit("Gather", [source], y, out, node.name, dtype=dtype, axis=axis, indices=indices)


IMPORTS = {"Compress": (import_compress, 2, 2)}
IR_OP = None  # IR Gather (ops/gather.py) with constant indices
