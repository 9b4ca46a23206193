"""OneHot (opsets 9, 11): y = values[1] where an index equals the position along the new `axis`,
values[0] elsewhere; y has the indices' shape with `depth` inserted at `axis` (default -1, the end).

The depth must be a constant (it fixes y's shape); the values [off, on] may be constant or computed
at run time, in any dtype (y's), and the indices in any numeric dtype (floats truncated toward
zero, as ONNX casts them to int64). A negative index counts from the end (index + depth), in both
opsets, as onnxruntime and onnx's reference do; an index outside [-depth, depth) gives a row of
`off` values, as onnxruntime does, and is not an error. One x_onehot call (wasm-kernels/x_gather.wat,
a small kernel of its own: one pass writing y in order, where a composition of x_elementwise
calls would make four passes and two temporaries).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..backend.indexing import check_value_dtype, onehot_descriptor
from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.arguments import normalize_axis

IR_OP = "OneHot"


def _checked(im, node, at) -> tuple[int, int, str, np.ndarray]:
    """(depth, axis, dtype of y, the depth constant) of a well-formed node."""
    indices, depth_name, values = node.input
    index_dtype = im.dtype(indices)
    if index_dtype not in dtypes.COMPUTED or index_dtype == "bool":
        raise ModelFormatError(f"OneHot node {node.name!r}: indices have dtype {index_dtype}, not a number")
    if depth_name not in im.constants:
        raise UnsupportedModelError(f"OneHot node {node.name!r}: depth must be a constant (it fixes the output's "
                                    "shape; shapes are static)")
    raw = np.asarray(im.constants[depth_name])
    if raw.size != 1 or raw.dtype.kind not in "iuf":
        raise ModelFormatError(f"OneHot node {node.name!r}: depth must be one number, got shape {raw.shape} "
                               f"of {raw.dtype}")
    value = raw.reshape(-1)[0]
    if not np.isfinite(value) or value < 1:
        raise ModelFormatError(f"OneHot node {node.name!r}: depth {value} must be at least 1")
    if im.shape(values) != (2,):
        raise ModelFormatError(f"OneHot node {node.name!r}: values must be [off, on] (shape (2,)), got shape "
                               f"{im.shape(values)}")
    dtype = check_value_dtype(im, node, values)
    axis = normalize_axis(node, int(at.get("axis", -1)), len(im.shape(indices)) + 1)
    return int(value), axis, dtype, raw


def import_onehot(im, node, at) -> None:
    indices, _, values = node.input
    depth, axis, dtype, raw = _checked(im, node, at)
    shape = im.shape(indices)
    im.emit("OneHot", [indices, values], node.output[0], shape[:axis] + (depth,) + shape[axis:], node.name,
            dtype=dtype, axis=axis, depth=depth, depth_dtype=dtypes.of_array(raw))


def fold_onehot(im, node, at) -> list[np.ndarray]:
    """Constant indices and values, as x_onehot computes them (onnx's evaluator compares float
    indices without truncating them and cannot subtract bool values)."""
    depth, axis, _, _ = _checked(im, node, at)
    indices, values = im.constants[node.input[0]], im.constants[node.input[2]]
    if indices.dtype.kind == "f":  # truncated toward zero; NaN reads as 0, as the kernel's trunc_sat
        indices = np.clip(np.nan_to_num(np.trunc(indices.astype(np.float64)), nan=0.0), -depth - 1, depth)
    elif indices.dtype.kind == "u":
        indices = np.minimum(indices, depth)
    k = indices.astype(np.int64)
    k = np.where(k < 0, k + depth, k)
    hit = np.expand_dims(k, axis) == np.arange(depth).reshape((depth,) + (1,) * (k.ndim - axis))
    return [np.where(hit, values[1], values[0]).astype(values.dtype)]


IMPORTS = {"OneHot": (import_onehot, 3, 3)}
FOLDS = {"OneHot": fold_onehot}


def lower(graph, node, program) -> None:
    indices, values = node.inputs
    y = graph.info(node.outputs[0])
    if y.size == 0:
        return
    desc = onehot_descriptor(graph.shape_of(indices), node.attrs["axis"], node.attrs["depth"], y.dtype,
                             graph.dtype_of(indices))
    program.call("x_onehot", [program.table(f"{y.name}__onehot", desc), program.operand(graph, indices),
                              program.operand(graph, values), Ptr(y.name)], node.name)


def export(ex, node) -> None:
    indices, values = (ex.graph_const(i) if ex.graph.is_constant(i) else i for i in node.inputs)
    depth = ex.const(f"{node.outputs[0]}__depth",
                     np.array(node.attrs["depth"], dtypes.numpy_dtype(node.attrs["depth_dtype"])))
    ex.add("OneHot", [indices, depth, values], node.outputs[0], axis=node.attrs["axis"])


def flops(graph, node) -> int:
    return 0
