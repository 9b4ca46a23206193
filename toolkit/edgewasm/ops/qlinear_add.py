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
    s = ex.temp(y)
    ex.add("Add", [export_dequantize(ex, node.inputs[0], a["a_scale"], a["a_zp"], f"{y}__a"),
                   export_dequantize(ex, node.inputs[1], a["b_scale"], a["b_zp"], f"{y}__b")], s)
    if a["relu"]:
        r = ex.temp(y)
        ex.add("Relu", [s], r)
        s = r
    export_quantize(ex, s, y, a["y_scale"], a["y_zp"])


def export_dequantize(ex, q: str, scale: float, zp: int, base: str) -> str:
    """f32(q - zp) * scale in plain ops (Cast, Sub, Mul): DequantizeLinear's value, which onnxruntime
    cannot fuse into a quantized kernel."""
    wide, centred, out = ex.temp(base), ex.temp(base), ex.temp(base)
    ex.add("Cast", [q], wide, to=TensorProto.FLOAT)
    ex.add("Sub", [wide, ex.const(f"{base}_zp", np.float32(zp))], centred)
    ex.add("Mul", [centred, ex.const(f"{base}_scale", np.float32(scale))], out)
    return out


def export_quantize(ex, v: str, y: str, scale: float, zp: int) -> None:
    """QuantizeLinear to uint8 in plain ops: Div, Clip to [-zp, 255 - zp], Round (half to even), + zp, Cast."""
    d, c, rounded, shifted = ex.temp(y), ex.temp(y), ex.temp(y), ex.temp(y)
    ex.add("Div", [v, ex.const(f"{y}__y_scale", np.float32(scale))], d)
    ex.add("Clip", [d, ex.const(f"{y}__lo", np.float32(-zp)), ex.const(f"{y}__hi", np.float32(255 - zp))], c)
    ex.add("Round", [c], rounded)
    ex.add("Add", [rounded, ex.const(f"{y}__y_zp", np.float32(zp))], shifted)
    ex.add("Cast", [shifted], y, to=TensorProto.UINT8)


def flops(graph, node) -> int:
    return 2 * graph.info(node.outputs[0]).size
