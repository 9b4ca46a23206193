"""QLinearAdd: a residual Add between two statically quantized tensors, uint8 in and out:
Dequantize(a) + Dequantize(b) [-> Relu] -> Quantize in one pass (qu8_vadd.wat), with the float
chain's exact bits: s = f32(a - a_zp) * a_scale + f32(b - b_zp) * b_scale, then Quantize (a true
division, round half to even); a Relu is the output's lower bound y_zp.

Made by the static int8 pass (passes/quantize.py fold_residual_adds), never imported. The reference
graph spells the chain in plain arithmetic (Cast, Sub, Mul, Add, Relu, Div, Clip, Round, Cast)
rather than DequantizeLinear/QuantizeLinear, which onnxruntime would fuse into its own QLinearAdd
(other arithmetic, other bits).
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from ..backend.program import Ptr

IR_OP = "QLinearAdd"
IMPORTS: dict = {}


def lower(graph, node, program) -> None:
    a = node.attrs
    program.call("qu8_vadd", [graph.info(node.outputs[0]).size, Ptr(node.inputs[0]), Ptr(node.inputs[1]),
                              Ptr(node.outputs[0]), float(a["a_scale"]), int(a["a_zp"]), float(a["b_scale"]),
                              int(a["b_zp"]), float(a["y_scale"]), int(a["y_zp"]),
                              int(a["y_zp"]) if a["relu"] else 0, 255], node.name)


def export(ex, node) -> None:
    a, y = node.attrs, node.outputs[0]
    f32 = np.float32

    def dequantize(q: str, scale: float, zp: int, tag: str) -> str:
        wide, centred, out = ex.temp(y), ex.temp(y), ex.temp(y)
        ex.add("Cast", [q], wide, to=TensorProto.FLOAT)
        ex.add("Sub", [wide, ex.const(f"{y}__{tag}_zp", f32(zp))], centred)
        ex.add("Mul", [centred, ex.const(f"{y}__{tag}_scale", f32(scale))], out)
        return out

    s = ex.temp(y)
    ex.add("Add", [dequantize(node.inputs[0], a["a_scale"], a["a_zp"], "a"),
                   dequantize(node.inputs[1], a["b_scale"], a["b_zp"], "b")], s)
    if a["relu"]:
        r = ex.temp(y)
        ex.add("Relu", [s], r)
        s = r
    v, c, rounded, shifted = ex.temp(y), ex.temp(y), ex.temp(y), ex.temp(y)
    ex.add("Div", [s, ex.const(f"{y}__y_scale", f32(a["y_scale"]))], v)
    ex.add("Clip", [v, ex.const(f"{y}__lo", f32(-a["y_zp"])), ex.const(f"{y}__hi", f32(255 - a["y_zp"]))], c)
    ex.add("Round", [c], rounded)
    ex.add("Add", [rounded, ex.const(f"{y}__y_zp", f32(a["y_zp"]))], shifted)
    ex.add("Cast", [shifted], y, to=TensorProto.UINT8)


def flops(graph, node) -> int:
    return 2 * graph.info(node.outputs[0]).size
