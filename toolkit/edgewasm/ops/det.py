"""Det (opsets 11, 22): the determinant of each [M, M] matrix of x [..., M, M], y [...], in float32,
float64, float16 and bfloat16: one x_det call (wasm-kernels/x_linalg.wat), LU with partial
pivoting computed in f64 for every dtype and rounded once into it."""

from __future__ import annotations

import math

from .. import dtypes
from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = "Det"
FLOATS = ("float32", "float64", "float16", "bfloat16")


def import_det(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    dtype, shape = im.dtype(x), im.shape(x)
    if dtype not in FLOATS:
        raise UnsupportedModelError(f"Det node {node.name!r}: input {x!r} has dtype {dtype}; Det takes float16, "
                                    "bfloat16, float32 or float64")
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ModelFormatError(f"Det node {node.name!r}: input {x!r} of shape {shape} is not [..., M, M]")
    im.emit("Det", [x], y, shape[:-2], node.name, dtype=dtype)


IMPORTS = {"Det": (import_det, 1, 1)}


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = graph.shape_of(x)
    batch, n = math.prod(shape[:-2]), shape[-1]
    if batch == 0:
        return
    program.call("x_det", [dtypes.kernel_code(graph.dtype_of(x)), batch, n, program.operand(graph, x), Ptr(y),
                           program.temp(f"{y}__lu", 8 * n * n + 8)], node.name)


def export(ex, node) -> None:
    x = ex.graph_const(node.inputs[0]) if ex.graph.is_constant(node.inputs[0]) else node.inputs[0]
    ex.add("Det", [x], node.outputs[0])


def flops(graph, node) -> int:
    shape = graph.shape_of(node.inputs[0])
    n = shape[-1]
    return math.prod(shape[:-2]) * (2 * n ** 3 // 3 + n * n)
