"""TensorScatter (opset 24): present = past_cache with `update` written along the sequence `axis`
(default -2) of each batch row from its write index (write_indices[b], 0 when absent), modulo
max_sequence_length in "circular" mode, in any dtype ScatterElements moves, and the float8 and
sub-byte types (their bytes moved as uint8).

Decomposed at import into ScatterElements (copy past, then write each update element; an index
past the cache in "linear" mode stops run() with an IndexOutOfRangeError naming the node) along
`axis` with indices = write_indices[b] + s over the update's shape: a constant without
write_indices, else a run-time Add of the write indices (reshaped [B, 1, ...]) and a constant grid
of s (and a Mod by max_sequence_length when circular)."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import ModelFormatError
from ..frontend.arguments import normalize_axis, optional_input
from .mean import constant, run_node

IR_OP = None


def import_tensor_scatter(im, node, at) -> None:
    past, update, y = node.input[0], node.input[1], node.output[0]
    shape, update_shape = im.shape(past), im.shape(update)
    mode = at.get("mode", b"linear")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode not in ("linear", "circular"):
        raise ModelFormatError(f"TensorScatter node {node.name!r}: mode {mode!r} is not 'linear' or 'circular'")
    if len(shape) < 2:
        raise ModelFormatError(f"TensorScatter node {node.name!r}: past_cache of shape {shape} needs rank >= 2")
    axis = normalize_axis(node, int(at.get("axis", -2)), len(shape))
    if axis == 0:
        raise ModelFormatError(f"TensorScatter node {node.name!r}: axis 0 is the batch axis, not a sequence axis")
    if im.dtype(update) != im.dtype(past):
        raise ModelFormatError(f"TensorScatter node {node.name!r}: update has dtype {im.dtype(update)}, past_cache "
                               f"{im.dtype(past)}")
    if (len(update_shape) != len(shape) or any(u != p for i, (u, p) in enumerate(zip(update_shape, shape)) if i != axis)
            or update_shape[axis] > shape[axis]):
        raise ModelFormatError(f"TensorScatter node {node.name!r}: update of shape {update_shape} does not fit "
                               f"past_cache of shape {shape} along axis {axis}")
    length, capacity = update_shape[axis], shape[axis]
    grid = np.broadcast_to(np.arange(length, dtype=np.int64).reshape([-1 if i == axis else 1 for i in range(len(shape))]),
                           update_shape)
    indices_name = optional_input(node, 2)
    if indices_name is None:
        indices = constant(im, f"{y}_indices", np.ascontiguousarray(grid))
    else:
        if im.dtype(indices_name) != "int64" or im.shape(indices_name) != (shape[0],):
            raise ModelFormatError(f"TensorScatter node {node.name!r}: write_indices must be int64 of shape "
                                   f"[{shape[0]}], got {im.dtype(indices_name)} {list(im.shape(indices_name))}")
        if indices_name in im.constants:
            starts = np.asarray(im.constants[indices_name], np.int64).reshape([-1] + [1] * (len(shape) - 1))
            value = grid + starts
            indices = constant(im, f"{y}_indices", np.ascontiguousarray(value % capacity if mode == "circular" else value))
        else:
            starts = im.fresh(f"{y}_starts")
            run_node(im, "Reshape", [indices_name, constant(im, f"{y}_starts_shape",
                                                            np.array([shape[0]] + [1] * (len(shape) - 1), np.int64))],
                     [starts], node.name)
            indices = im.fresh(f"{y}_indices")
            if mode == "circular":
                linear = im.fresh(f"{y}_linear")
                run_node(im, "Add", [starts, constant(im, f"{y}_grid", np.ascontiguousarray(grid))], [linear], node.name)
                run_node(im, "Mod", [linear, constant(im, f"{y}_capacity", np.array(capacity, np.int64))], [indices],
                         node.name)
            else:
                run_node(im, "Add", [starts, constant(im, f"{y}_grid", np.ascontiguousarray(grid))], [indices], node.name)
    if 0 in update_shape:
        run_node(im, "Identity", [past], [y], node.name)
        return
    low = im.dtype(past)
    if low not in dtypes.LOW_PRECISION:
        run_node(im, "ScatterElements", [past, indices, update], [y], node.name, axis=axis)
        return
    # the float8 and sub-byte types take one byte per element in the module: their bytes are moved
    # as uint8 (views through IR BitCast), never converted
    raw = [im.fresh(f"{name}_bytes") for name in (past, update)]
    for name, bytes_ in zip((past, update), raw):
        im.emit("BitCast", [name], bytes_, im.shape(name), node.name, dtype="uint8", source=low)
    moved = im.fresh(f"{y}_bytes")
    run_node(im, "ScatterElements", [raw[0], indices, raw[1]], [moved], node.name, axis=axis)
    im.emit("BitCast", [moved], y, shape, node.name, dtype=low, source="uint8")


IMPORTS = {"TensorScatter": (import_tensor_scatter, 2, 3)}
