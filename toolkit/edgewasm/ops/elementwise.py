"""Elementwise ops in any dtype, computed at run time by x_elementwise (wasm-kernels/x_elementwise.wat):
comparisons, logical and bitwise ops, BitShift, Where, IsNaN/IsInf, Sign, Neg, Abs, Floor, Ceil,
Round, Reciprocal, Mod; and Add/Sub/Mul/Div/Pow/Max/Min/Clip/Relu on dtypes other than float32
(binary.py and clamp.py hand those over). Broadcasting follows numpy.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..backend.broadcast import output_shape
from ..backend.elementwise import OPS, emit_elementwise, supports
from ..backend.program import Ptr
from ..errors import Float32OnlyError, ModelFormatError, UnsupportedModelError

IR_OP = "Elementwise"

# ONNX op -> (x_elementwise op, result: "bool" or "same")
UNARY = {"Not": ("not", "bool"), "BitwiseNot": ("bitnot", "same"), "IsNaN": ("isnan", "bool"),
         "Sign": ("sign", "same"), "Neg": ("neg", "same"), "Abs": ("abs", "same"), "Floor": ("floor", "same"),
         "Ceil": ("ceil", "same"), "Round": ("round", "same"), "Reciprocal": ("reciprocal", "same")}
BINARY = {"Equal": ("equal", "bool"), "Less": ("less", "bool"), "LessOrEqual": ("less_equal", "bool"),
          "Greater": ("greater", "bool"), "GreaterOrEqual": ("greater_equal", "bool"),
          "And": ("and", "bool"), "Or": ("or", "bool"), "Xor": ("xor", "bool"),
          "BitwiseAnd": ("bitand", "same"), "BitwiseOr": ("bitor", "same"), "BitwiseXor": ("bitxor", "same")}
BOOL_ONLY = {"Not", "And", "Or", "Xor"}
# x_elementwise op -> the ONNX node that computes it, for the reference graph
EXPORTS = {op: onnx_op for onnx_op, (op, _) in {**UNARY, **BINARY}.items()}
EXPORTS.update({"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "max": "Max", "min": "Min", "pow": "Pow",
                "copy": "Identity"})


def emit(im, node, op: str, inputs: list[str], out_dtype: str, output: str | None = None, **attrs) -> None:
    """Importer helper: one Elementwise node over `inputs` (broadcast), checked against the kernel."""
    value_dtype = im.dtype(inputs[1] if op == "where" else inputs[0])
    if not supports(op, value_dtype):
        refusal = Float32OnlyError if dtypes.is_float(value_dtype) else UnsupportedModelError
        raise refusal(f"{node.op_type} node {node.name!r}: {op} is not computed on {value_dtype}")
    shape = im.shape(inputs[0])
    for name in inputs[1:]:
        try:
            shape = output_shape(shape, im.shape(name))
        except ValueError:
            raise ModelFormatError(f"{node.op_type} node {node.name!r}: shapes "
                                   f"{[im.shape(i) for i in inputs]} do not broadcast") from None
    im.emit("Elementwise", list(inputs), output or node.output[0], shape, node.name, dtype=out_dtype, kind=op, **attrs)


def _same_dtypes(im, node, names: list[str]) -> str:
    found = {im.dtype(n) for n in names}
    if len(found) != 1:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: inputs have different dtypes "
                               f"({dtypes.describe(found)})")
    return found.pop()


def import_unary(im, node, at) -> None:
    op, result = UNARY[node.op_type]
    x = node.input[0]
    dtype = im.dtype(x)
    if node.op_type in BOOL_ONLY and dtype != "bool":
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: input has dtype {dtype}, not bool")
    emit(im, node, op, [x], "bool" if result == "bool" else dtype)


def import_binary(im, node, at) -> None:
    op, result = BINARY[node.op_type]
    dtype = _same_dtypes(im, node, list(node.input))
    if node.op_type in BOOL_ONLY and dtype != "bool":
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: inputs have dtype {dtype}, not bool")
    emit(im, node, op, list(node.input), "bool" if result == "bool" else dtype)


def import_isinf(im, node, at) -> None:
    x = node.input[0]
    positive, negative = int(at.get("detect_positive", 1)), int(at.get("detect_negative", 1))
    if not (positive or negative):  # detects nothing: a constant
        if not dtypes.is_float(im.dtype(x)):
            raise ModelFormatError(f"IsInf node {node.name!r}: input has dtype {im.dtype(x)}, not a float")
        im.constants[node.output[0]] = np.zeros(im.shape(x), np.bool_)
        return
    op = "isinf" if positive and negative else "isposinf" if positive else "isneginf"
    emit(im, node, op, [x], "bool")


def import_mod(im, node, at) -> None:
    dtype = _same_dtypes(im, node, list(node.input))
    fmod = int(at.get("fmod", 0))
    if dtypes.is_float(dtype) and not fmod:
        raise ModelFormatError(f"Mod node {node.name!r}: a float Mod needs fmod=1 (the ONNX spec)")
    emit(im, node, "fmod" if fmod else "mod", list(node.input), dtype)


def import_bitshift(im, node, at) -> None:
    dtype = _same_dtypes(im, node, list(node.input))
    direction = at.get("direction", b"")
    direction = direction.decode() if isinstance(direction, bytes) else str(direction)
    if direction not in ("LEFT", "RIGHT"):
        raise ModelFormatError(f"BitShift node {node.name!r}: direction must be LEFT or RIGHT, got {direction!r}")
    if dtype not in dtypes.INTEGERS:  # signed ones from opset 28: arithmetic right shifts
        raise ModelFormatError(f"BitShift node {node.name!r}: input dtype {dtype} is not an integer")
    emit(im, node, "shl" if direction == "LEFT" else "shr", list(node.input), dtype)


def import_where(im, node, at) -> None:
    condition, x, y = node.input
    if im.dtype(condition) != "bool":
        raise ModelFormatError(f"Where node {node.name!r}: the condition has dtype {im.dtype(condition)}, not bool")
    dtype = _same_dtypes(im, node, [x, y])
    emit(im, node, "where", [condition, x, y], dtype)


IMPORTS = {**{op: (import_unary, 1, 1) for op in UNARY}, **{op: (import_binary, 2, 2) for op in BINARY},
           "IsInf": (import_isinf, 1, 1), "Mod": (import_mod, 2, 2), "BitShift": (import_bitshift, 2, 2),
           "Where": (import_where, 3, 3)}


def _operand(graph, program, name: str) -> tuple[Ptr, tuple[int, ...], str]:
    return program.operand(graph, name), graph.shape_of(name), graph.dtype_of(name)


def lower(graph, node, program) -> None:
    y = graph.info(node.outputs[0])
    operands = [_operand(graph, program, name) for name in node.inputs]
    emit_elementwise(program, node.name, node.attrs["kind"], operands, Ptr(y.name), y.shape, y.dtype)


def export(ex, node) -> None:
    op, y = node.attrs["kind"], node.outputs[0]
    inputs = [ex.graph_const(i) if ex.graph.is_constant(i) else i for i in node.inputs]
    if op in ("isposinf", "isneginf"):
        ex.add("IsInf", inputs, y, detect_positive=int(op == "isposinf"), detect_negative=int(op == "isneginf"))
    elif op == "isinf":
        ex.add("IsInf", inputs, y)
    elif op in ("mod", "fmod"):
        ex.add("Mod", inputs, y, fmod=int(op == "fmod"))
    elif op in ("shl", "shr"):
        ex.add("BitShift", inputs, y, direction="LEFT" if op == "shl" else "RIGHT")
    elif op == "clip":
        ex.add("Clip", inputs, y)
    elif op == "where":
        ex.add("Where", inputs, y)
    else:
        if op.startswith("bit"):  # BitwiseAnd/Or/Xor/Not are opset 18
            ex.opset = max(ex.opset, 18)
        ex.add(EXPORTS[op], inputs, y)


def flops(graph, node) -> int:
    return graph.info(node.outputs[0]).size if node.attrs["kind"] in OPS else 0
