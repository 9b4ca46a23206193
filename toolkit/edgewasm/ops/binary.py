"""Binary elementwise ops with numpy broadcasting: Add, Sub, Mul, Div, Pow, Max, Min (and the
variadic Sum, Max, Min of ONNX as a chain of them).

Any broadcast is collapsed at compile time (backend/broadcast.py) into the loops f32_vbinary_nd
runs; Add keeps its dedicated kernels for the two common shapes (same shape, a trailing row).
Pow by a constant 2, 1 or 0.5 becomes x * x, x or sqrt(x) (exact), any other Pow is
exp(y * log|x|) in wat with numpy's special cases (see wasm-kernels/f32_vbinary_nd.wat).
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..backend.broadcast import collapse, output_shape
from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError
from . import elementwise
from .cast import emit_cast

IR_OP = ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min")
OP_CODES = {"Add": 0, "Sub": 1, "Mul": 2, "Div": 3, "Max": 4, "Min": 5, "Pow": 8}  # $f32x4_binary
REVERSED = {0: 0, 1: 6, 2: 2, 3: 7, 4: 4, 5: 5, 8: 9}  # the op code once a and b are exchanged


def _broadcast_shape(im, node, a: str, b: str) -> tuple[int, ...]:
    try:
        return output_shape(im.shape(a), im.shape(b))
    except ValueError:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: shapes {im.shape(a)} and {im.shape(b)} "
                               "do not broadcast") from None


def import_binary(im, node, at) -> None:
    a, b = node.input
    if node.op_type == "Pow" and im.dtype(a) == "float32" and im.dtype(b) != "float32":  # opset 12+: T1 may differ
        if b in im.constants:
            b = im.add_constant(b, im.constants[b].astype(np.float32))
        else:
            exponent = im.fresh(f"{b}_float32")
            emit_cast(im, node, b, exponent, "float32")
            b = exponent
    if node.op_type == "Pow" and im.dtype(a) in dtypes.INTEGERS and dtypes.is_float(im.dtype(b)):
        _import_integer_pow_by_float(im, node, a, b)
        return
    if im.dtype(a) != "float32" or im.dtype(b) != "float32":  # any other dtype: x_elementwise
        _import_elementwise(im, node, [a, b])
        return
    shape = _broadcast_shape(im, node, a, b)
    if node.op_type == "Pow" and b in im.constants and shape == im.shape(a) and _import_pow_by(im, node, a, b):
        return
    im.emit(node.op_type, [a, b], node.output[0], shape, node.name)


def _import_integer_pow_by_float(im, node, a: str, b: str) -> None:
    """An integer base to a float exponent: pow in float64, truncated back to the base's dtype (as
    onnxruntime's std::pow(x, y) cast to T; casting the exponent to the base's dtype would lose its
    fraction)."""
    wide = []
    for name in (a, b):
        if name in im.constants:
            wide.append(im.fresh(f"{name}_float64"))
            im.constants[wide[-1]] = im.constants[name].astype(np.float64)
        else:
            out = im.fresh(f"{name}_float64")
            emit_cast(im, node, name, out, "float64")
            wide.append(out)
    power = im.fresh(f"{node.output[0]}_float64")
    elementwise.emit(im, node, "pow", wide, "float64", power)
    emit_cast(im, node, power, node.output[0], im.dtype(a))


def _import_pow_by(im, node, x: str, y: str) -> bool:
    """x^2 -> x * x, x^1 -> x, x^0.5 -> sqrt(x): exact, and cheaper than exp(y log x)."""
    values = np.unique(im.constants[y])
    if values.size != 1 or float(values[0]) not in (2.0, 1.0, 0.5):
        return False
    exponent, out = float(values[0]), node.output[0]
    if exponent == 2.0:
        im.emit("Mul", [x, x], out, im.shape(x), node.name)
    elif exponent == 1.0:
        im.emit("Reshape", [x], out, im.shape(x), node.name)
    else:
        im.emit("Sqrt", [x], out, im.shape(x), node.name)
    return True


def _import_elementwise(im, node, inputs: list[str], output: str | None = None) -> None:
    """A binary op on a dtype other than float32, computed by x_elementwise (ops/elementwise.py)."""
    kinds = {im.dtype(name) for name in inputs}
    if node.op_type != "Pow" and len(kinds) != 1:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: inputs have different dtypes "
                               f"({', '.join(sorted(kinds))})")
    op = {"Sum": "add", "Mean": "add"}.get(node.op_type, node.op_type.lower())
    elementwise.emit(im, node, op, inputs, im.dtype(inputs[0]), output)


def import_variadic(im, node, at) -> None:
    """Sum / Max / Min of one or more inputs, as a left-to-right chain of binary ops."""
    op = "Add" if node.op_type == "Sum" else node.op_type
    inputs = list(node.input)
    if any(not name for name in inputs):
        raise ModelFormatError(f"{node.op_type} node {node.name!r} has an empty input")
    if len(inputs) == 1:
        im.emit("Reshape", inputs, node.output[0], im.shape(inputs[0]), node.name, dtype=im.dtype(inputs[0]))
        return
    acc = inputs[0]
    for i, name in enumerate(inputs[1:], start=2):
        out = node.output[0] if i == len(inputs) else im.fresh(f"{node.output[0]}_partial")
        if im.dtype(acc) != "float32" or im.dtype(name) != "float32":
            _import_elementwise(im, node, [acc, name], out)
        else:
            im.emit(op, [acc, name], out, _broadcast_shape(im, node, acc, name), node.name)
        acc = out


IMPORTS = {
    "Add": (import_binary, 2, 2), "Sub": (import_binary, 2, 2), "Mul": (import_binary, 2, 2),
    "Div": (import_binary, 2, 2), "Pow": (import_binary, 2, 2),
    "Sum": (import_variadic, 1, 2**31), "Max": (import_variadic, 1, 2**31), "Min": (import_variadic, 1, 2**31),
}


def _operand(graph, program, name: str) -> tuple[Ptr, tuple[int, ...]]:
    if graph.is_constant(name):
        value = graph.constants[name]
        if value.dtype != np.float32:
            raise UnsupportedModelError(f"constant {name!r} has dtype {value.dtype}; only float32 is supported")
        return program.weight(name, value), tuple(value.shape)
    return Ptr(name), graph.info(name).shape


def lower(graph, node, program) -> None:
    (pa, shape_a), (pb, shape_b) = (_operand(graph, program, name) for name in node.inputs)
    y = node.outputs[0]
    if node.op == "Add" and shape_a == shape_b:
        program.call("f32_vadd", [math.prod(shape_a), pa, pb, Ptr(y)], node.name)
        return
    loops = collapse(shape_a, shape_b)
    if loops is None:
        return  # an empty output
    op = OP_CODES[node.op]
    if loops.swapped:
        op, pa, pb = REVERSED[op], pb, pa
    (d0, sa0, sb0), (d1, _, _) = loops.outer
    if node.op == "Add" and loops.b_run and len(loops.calls) == 1 and d1 == 1 and sa0 == 4 * loops.n and sb0 == 0:
        program.call("f32_vadd_rows", [d0, loops.n, pa, pb, Ptr(y)], node.name)  # a row over every row of a
        return
    for da, db, dy in loops.calls:
        program.call("f32_vbinary_nd", [op, *loops.args, Ptr(pa.tensor, pa.offset + da),
                                        Ptr(pb.tensor, pb.offset + db), Ptr(y, dy)], node.name)


def export(ex, node) -> None:
    a, b = (ex.graph_const(i) if ex.graph.is_constant(i) else i for i in node.inputs)
    ex.add(node.op, [a, b], node.outputs[0])


def flops(graph, node) -> int:
    return graph.info(node.outputs[0]).size
