"""Hardmax: 1 at the first maximum along the axis, 0 elsewhere, in float16, bfloat16, float32 and
float64. Opsets 1-11 coerce the input to 2-D [prod(shape[:axis]), prod(shape[axis:])] (default axis
1) and take the maximum over each row; opset 13 takes it along the one `axis` (default -1).
Decomposed at import into ArgMax (first index of the maximum, keepdims 0) and OneHot with constant
values [0, 1] in the input's dtype, with Reshapes around them for the 2-D coercion."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..errors import UnsupportedModelError
from ..frontend.arguments import normalize_axis
from .mean import FLOATS, constant, run_node

IR_OP = None


def import_hardmax(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    dtype, shape = im.dtype(x), im.shape(x)
    if dtype not in FLOATS:
        raise UnsupportedModelError(f"Hardmax node {node.name!r}: input {x!r} has dtype {dtype}; Hardmax takes "
                                    "float16, bfloat16, float32 or float64")
    coerced = im.opset < 13
    axis = normalize_axis(node, int(at.get("axis", 1 if coerced else -1)), len(shape))
    values = constant(im, f"{y}_values", np.array([0, 1], dtypes.numpy_dtype(dtype)))
    if coerced:
        rows, cols = math.prod(shape[:axis]), math.prod(shape[axis:])
        flat = im.fresh(f"{y}_2d")
        run_node(im, "Reshape", [x, constant(im, f"{y}_2d_shape", np.array([rows, cols], np.int64))], [flat], node.name)
        work, work_axis = flat, 1
    else:
        work, work_axis = x, axis
    depth = im.shape(work)[work_axis]
    if depth == 0 or math.prod(im.shape(work)) == 0:
        run_node(im, "Identity", [x], [y], node.name)
        return
    index = im.fresh(f"{y}_argmax")
    run_node(im, "ArgMax", [work], [index], node.name, axis=work_axis, keepdims=0)
    depth_name = constant(im, f"{y}_depth", np.array(depth, np.int64))
    if coerced:
        hot = im.fresh(f"{y}_onehot")
        run_node(im, "OneHot", [index, depth_name, values], [hot], node.name, axis=work_axis)
        run_node(im, "Reshape", [hot, constant(im, f"{y}_shape", np.array(shape, np.int64))], [y], node.name)
    else:
        run_node(im, "OneHot", [index, depth_name, values], [y], node.name, axis=work_axis)


IMPORTS = {"Hardmax": (import_hardmax, 1, 1)}
