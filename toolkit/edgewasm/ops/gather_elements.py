"""GatherElements (opsets 11, 13): y[i] = data[i with its axis coordinate replaced by indices[i]],
in any dtype, with int32 or int64 indices (negative ones count from the end of the axis).

One x_gather_elements call (wasm-kernels/x_gather.wat) walks the indices, whether they are computed
at run time or constant (constant ones are checked at compile time as well); an index out of range
at run time makes run() stop with a status naming the node (IndexOutOfRangeError).
"""

from __future__ import annotations

import numpy as np

from ..backend.indexing import check_constant_indices, check_index_dtype, check_value_dtype, elements_descriptor
from ..backend.program import Ptr
from ..errors import ModelFormatError
from ..frontend.arguments import normalize_axis
from .gather import out_of_range

IR_OP = "GatherElements"


def check_element_shapes(node, shape: tuple[int, ...], index_shape: tuple[int, ...], axis: int) -> None:
    """The indices have the data's rank and, off the axis, no dimension larger than the data's
    (what onnxruntime requires of GatherElements and ScatterElements)."""
    if len(index_shape) != len(shape):
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: indices of rank {len(index_shape)} for data of "
                               f"rank {len(shape)}; they must have the same rank")
    for a, (i, d) in enumerate(zip(index_shape, shape)):
        if a != axis and i > d:
            raise ModelFormatError(f"{node.op_type} node {node.name!r}: indices dimension {a} is {i}, larger than "
                                   f"the data's {d}")


def _checked(im, node, at) -> tuple[int, str]:
    """(axis, dtype) of a well-formed node; constant indices in range."""
    data, indices = node.input
    shape, index_shape = im.shape(data), im.shape(indices)
    if not shape:
        raise ModelFormatError(f"GatherElements node {node.name!r}: the data must have rank >= 1")
    axis = normalize_axis(node, int(at.get("axis", 0)), len(shape))
    check_element_shapes(node, shape, index_shape, axis)
    dtype = check_value_dtype(im, node, data)
    check_index_dtype(im, node, indices)
    check_constant_indices(im, node, indices, shape[axis])
    return axis, dtype


def import_gather_elements(im, node, at) -> None:
    data, indices = node.input
    axis, dtype = _checked(im, node, at)
    im.emit("GatherElements", [data, indices], node.output[0], im.shape(indices), node.name, dtype=dtype, axis=axis)


def fold_gather_elements(im, node, at) -> list[np.ndarray]:
    """Constant data and indices (onnx's evaluator refuses indices smaller than the data off the
    axis, and mixes up rows when the axis has more than 32 entries)."""
    axis, _ = _checked(im, node, at)
    data, indices = (im.constants[name] for name in node.input)
    indices = indices.astype(np.int64)
    indices = np.where(indices < 0, indices + data.shape[axis], indices)
    data = data[tuple(slice(None) if a == axis else slice(0, n) for a, n in enumerate(indices.shape))]
    return [np.take_along_axis(data, indices, axis)]


IMPORTS = {"GatherElements": (import_gather_elements, 2, 2)}
FOLDS = {"GatherElements": fold_gather_elements}


def lower(graph, node, program) -> None:
    data, indices = node.inputs
    y = graph.info(node.outputs[0])
    if y.size == 0:
        return
    desc = elements_descriptor(graph.shape_of(data), graph.shape_of(indices), node.attrs["axis"], y.dtype,
                               graph.dtype_of(indices))
    program.call("x_gather_elements", [program.table(f"{y.name}__gather_elements", desc), program.operand(graph, data),
                                       program.operand(graph, indices), Ptr(y.name)],
                 node.name, failure=out_of_range("GatherElements", node.name))


def export(ex, node) -> None:
    inputs = [ex.graph_const(i) if ex.graph.is_constant(i) else i for i in node.inputs]
    ex.add("GatherElements", inputs, node.outputs[0], axis=node.attrs["axis"])


def flops(graph, node) -> int:
    return 0
