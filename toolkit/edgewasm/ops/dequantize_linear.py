"""Dequantize: ONNX DequantizeLinear from uint8 with a constant per-tensor scale and zero point,
y = f32(q - zp) * scale (onnxruntime's arithmetic: qu8_f32_vcvt in qu8_vcvt.wat).

The exit of a statically quantized region. (DequantizeLinear of a constant, e.g. quantized
weights, is folded at import and never reaches this unit.)
"""

from __future__ import annotations

import numpy as np
from onnx import helper

from ..backend.program import Ptr
from ..errors import UnsupportedModelError
from ..frontend.quantized import emit_typed
from .quantize_linear import per_tensor

IR_OP = "Dequantize"


def import_dequantize(im, node, at) -> None:
    x = node.input[0]
    if x in im.constants:
        raise UnsupportedModelError(f"DequantizeLinear node {node.name!r}: a constant input needs constant scale and "
                                    "zero point (then it is folded)")
    if im.tensors[x].dtype != "uint8":
        raise UnsupportedModelError(f"DequantizeLinear node {node.name!r}: input {x!r} is "
                                    f"{im.tensors[x].dtype}; only uint8 activations are supported")
    scale = float(per_tensor(im, node, 1, "the scale", np.float32))
    zp = int(per_tensor(im, node, 2, "the zero point", np.uint8, default=0))
    emit_typed(im, IR_OP, [x], [(node.output[0], im.shape(x), "float32")], node.name, scale=scale, zero_point=zp)


IMPORTS = {"DequantizeLinear": (import_dequantize, 2, 3)}


def lower(graph, node, program) -> None:
    program.call("qu8_f32_vcvt", [graph.info(node.inputs[0]).size, Ptr(node.inputs[0]), Ptr(node.outputs[0]),
                                  float(node.attrs["scale"]), int(node.attrs["zero_point"])], node.name)


def export(ex, node) -> None:
    y = node.outputs[0]
    scale = ex.const(f"{y}__scale", np.float32(node.attrs["scale"]))
    zp = ex.const(f"{y}__zero_point", np.uint8(node.attrs["zero_point"]))
    ex.nodes.append(helper.make_node("DequantizeLinear", [node.inputs[0], scale, zp], [y]))


def flops(graph, node) -> int:
    return 2 * graph.info(node.outputs[0]).size
