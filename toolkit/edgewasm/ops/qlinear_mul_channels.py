"""QLinearMulChannels: a squeeze-excitation product on a statically quantized tensor, uint8 in and
out: Dequantize(x) * s -> Quantize with s one float per channel (computed at run time, e.g.
HardSigmoid of a squeezed branch), in one pass over channels-last rows (qu8_vmul_channels.wat) with
the float chain's exact bits.

Made by the static int8 pass (passes/quantize.py fold_channel_products), never imported. The
reference spells Dequantize and Quantize in plain arithmetic (ops/qlinear_add.py).
"""

from __future__ import annotations

from ..backend.program import Ptr
from .qlinear_add import export_dequantize, export_quantize

IR_OP = "QLinearMulChannels"
IMPORTS: dict = {}


def lower(graph, node, program) -> None:
    a, shape = node.attrs, graph.info(node.outputs[0]).shape
    channels = shape[-1]
    program.call("qu8_vmul_channels", [graph.info(node.outputs[0]).size // channels, channels, Ptr(node.inputs[0]),
                                       Ptr(node.inputs[1]), Ptr(node.outputs[0]), float(a["x_scale"]),
                                       int(a["x_zp"]), float(a["y_scale"]), int(a["y_zp"])], node.name)


def export(ex, node) -> None:
    a, y = node.attrs, node.outputs[0]
    product = ex.temp(y)
    ex.add("Mul", [export_dequantize(ex, node.inputs[0], a["x_scale"], a["x_zp"], f"{y}__x"), node.inputs[1]], product)
    export_quantize(ex, product, y, a["y_scale"], a["y_zp"])


def flops(graph, node) -> int:
    return 2 * graph.info(node.outputs[0]).size
