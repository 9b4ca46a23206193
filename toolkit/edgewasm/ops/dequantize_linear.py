"""Dequantize: ONNX DequantizeLinear from uint8 with a constant per-tensor scale and zero point,
y = f32(q - zp) * scale (onnxruntime's arithmetic: qu8_f32_vcvt in qu8_vcvt.wat).

The exit of a statically quantized region. (DequantizeLinear of a constant, e.g. quantized
weights, is folded at import and never reaches this unit.)

Every other form the spec allows (run-time scale or zero point, per-axis, blocked, int8/int16/
uint16/int32/int4/uint4/int2/uint2/float8/float4 inputs, float16/bfloat16 scales, output_dtype)
is decomposed at import into dtype-generic IR ops as onnx's reference computes it
(quant_general.general_dequantize): (float(x) - float(zp)) * scale, then the output dtype.
"""

from __future__ import annotations

import numpy as np
from onnx import helper

from ..backend.program import Ptr
from ..errors import UnsupportedModelError
from ..frontend.quantized import emit_typed
from .quantize_linear import per_tensor

IR_OP = "Dequantize"


def _fused(im, node, at) -> bool:
    x = node.input[0]
    if x in im.constants or im.dtype(x) != "uint8" or int(at.get("block_size", 0)) or \
            int(at.get("output_dtype", 0)) not in (0, 1):
        return False
    scale = node.input[1]
    if scale not in im.constants or im.constants[scale].size != 1 or im.constants[scale].dtype != np.float32:
        return False
    zp = node.input[2] if len(node.input) > 2 and node.input[2] else None
    return zp is None or (zp in im.constants and im.constants[zp].size == 1 and im.constants[zp].dtype == np.uint8)


def import_dequantize(im, node, at) -> None:
    x = node.input[0]
    if not _fused(im, node, at):
        from .quant_general import general_dequantize

        general_dequantize(im, node, at)
        return
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
