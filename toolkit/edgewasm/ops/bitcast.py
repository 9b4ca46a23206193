"""BitCast (opset 26): the input's bits read as another dtype of the same width, as a view.

Every dtype holds its elements little-endian in linear memory, the sub-byte ones one per byte with
the code in the low bits (see dtypes.py), so reinterpreting between same-width dtypes (float32 and
int32, float16 and int16/bfloat16, the 8-bit and the 4-bit families, int2 and uint2, bool and
int8/uint8) shares the input's bytes. A constant input folds at import; a constant that is itself
a graph output (also a BitCast of a constant to its own dtype, which the importer emits for
low-precision constant outputs) is copied into the output by x_elementwise's raw copy.
"""

from __future__ import annotations

from .. import dtypes
from ..backend.elementwise import emit_elementwise
from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = "BitCast"


def bit_width(dtype: str) -> int:
    return dtypes.SUB_BYTE_BITS.get(dtype, 8 * dtypes.itemsize(dtype))


def import_bitcast(im, node, at) -> None:
    to = int(at.get("to", 0))
    target = dtypes.from_onnx(to)
    if target is None:
        raise UnsupportedModelError(f"BitCast node {node.name!r}: {dtypes.onnx_type_name(to)} tensors are not "
                                    "supported (string and complex tensors are not)")
    x = node.input[0]
    source = im.dtype(x)
    if bit_width(source) != bit_width(target):
        raise ModelFormatError(f"BitCast node {node.name!r}: {source} ({bit_width(source)} bits) and {target} "
                               f"({bit_width(target)} bits) differ in width")
    im.emit("BitCast", [x], node.output[0], im.shape(x), node.name, dtype=target, source=source)


IMPORTS = {"BitCast": (import_bitcast, 1, 1)}


def _raw(dtype: str) -> str:
    """A computed dtype of the same element size (x_elementwise's raw copy moves bytes by size)."""
    return dtype if dtype in dtypes.COMPUTED else "uint8"


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if graph.is_constant(x):
        shape = graph.info(y).shape
        emit_elementwise(program, node.name, "copy", [(program.operand(graph, x), shape, _raw(node.attrs["source"]))],
                         Ptr(y), shape, _raw(graph.info(y).dtype))
        return
    program.views[y] = x


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    source, target = node.attrs["source"], ex.graph.info(y).dtype
    x = ex.graph_const(x) if ex.graph.is_constant(x) else x
    if source == target:
        ex.add("Identity", [x], y)
        return
    ex.add("BitCast", [x], y, to=dtypes.to_onnx(target))
    ex.opset = max(ex.opset, 26)


def flops(graph, node) -> int:
    return 0
