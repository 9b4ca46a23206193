"""PRelu: y = x < 0 ? x * slope : x, slope broadcast to x (unidirectional, opset 7+), constant or
computed at run time.

A constant slope with one value is a LeakyRelu (the same kernel and bits). Otherwise the product
x * slope is computed by f32_vbinary_nd over the collapsed broadcast (backend/broadcast.py) straight
into y, and f32_vprelu_select keeps x where x >= 0 (wasm-kernels/f32_vunary.wat).
"""

from __future__ import annotations

import numpy as np

from ..backend.broadcast import collapse
from ..backend.program import Ptr
from ..errors import ModelFormatError

IR_OP = "PRelu"
MUL = 2  # $f32x4_binary op code (commutative: operand order does not change the bits)


def import_prelu(im, node, at) -> None:
    x, slope = node.input
    # float64 computes in float64, the integer dtypes ONNX allows exactly (float64_ops.py)
    wide = im.dtype(x) in ("float64", "int32", "int64", "uint32", "uint64") and im.dtype(slope) == im.dtype(x)
    if not wide:
        im.require_float(node, x)
        im.require_float(node, slope)
    shape, slope_shape = im.shape(x), im.shape(slope)
    try:
        ok = tuple(np.broadcast_shapes(shape, slope_shape)) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ModelFormatError(f"PRelu node {node.name!r}: slope of shape {slope_shape} does not broadcast "
                               f"to the input shape {shape}")
    if wide:
        from . import float64_ops

        float64_ops.prelu(im, node, x, slope)
        return
    if slope in im.constants:
        values = np.unique(np.asarray(im.constants[slope], np.float32))
        if values.size == 1:
            im.emit("LeakyRelu", [x], node.output[0], shape, node.name, alpha=float(values[0]))
            return
    im.emit(IR_OP, [x, slope], node.output[0], shape, node.name)


IMPORTS = {"PRelu": (import_prelu, 2, 2)}


def lower(graph, node, program) -> None:
    x, slope = node.inputs
    y = node.outputs[0]
    shape_x = graph.info(x).shape
    if graph.is_constant(slope):
        value = np.asarray(graph.constants[slope], np.float32)
        ps, shape_s = program.weight(slope, value), tuple(value.shape)
    else:
        ps, shape_s = Ptr(slope), graph.info(slope).shape
    loops = collapse(shape_x, shape_s)
    if loops is None:
        return  # an empty output
    pa, pb = (ps, Ptr(x)) if loops.swapped else (Ptr(x), ps)
    for da, db, dy in loops.calls:
        program.call("f32_vbinary_nd", [MUL, *loops.args, Ptr(pa.tensor, pa.offset + da),
                                        Ptr(pb.tensor, pb.offset + db), Ptr(y, dy)], node.name)
    program.call("f32_vprelu_select", [graph.info(y).size, Ptr(x), Ptr(y), Ptr(y)], node.name)


def export(ex, node) -> None:
    x, slope = node.inputs
    ex.add("PRelu", [x, ex.graph_const(slope) if ex.graph.is_constant(slope) else slope], node.outputs[0])


def flops(graph, node) -> int:
    return 2 * graph.info(node.outputs[0]).size
