"""DynamicQuantize16: x float32 -> (q int16, scale float32), symmetric per tensor, at run time:
scale = max|x| / 32767 (1 where that is 0: x all zeros, or so tiny the division underflows),
q = clip(round_half_even(x / scale), -32767, 32767) (qs16_dynquant in qs16_gemm.wat). Made by
`--quantize int16` (passes/quantize.py) for Int16Gemm and Int16Conv; no ONNX op has this meaning,
so nothing imports it.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from ..backend.program import Ptr

IR_OP = "DynamicQuantize16"
IMPORTS: dict = {}
QMAX = 32767


def lower(graph, node, program) -> None:
    q, scale = node.outputs
    program.call("qs16_dynquant", [graph.info(node.inputs[0]).size, Ptr(node.inputs[0]), Ptr(q), Ptr(scale)],
                 node.name)


def export(ex, node) -> None:
    """Abs -> ReduceMax -> Div -> Where(. == 0, 1, .); Div -> Round (half to even) -> Clip -> Cast(INT16)."""
    x = node.inputs[0]
    q, scale = node.outputs
    absx, m, zero_range, divided, quotient, rounded, clipped = (ex.temp(q) for _ in range(7))
    qmax = ex.const("qs16__qmax", np.float32(QMAX))
    ex.add("Abs", [x], absx)
    ex.add("ReduceMax", [absx], m, keepdims=0)
    ex.add("Div", [m, qmax], divided)
    ex.add("Equal", [divided, ex.const("qs16__zero", np.float32(0))], zero_range)
    ex.add("Where", [zero_range, ex.const("qs16__one", np.float32(1)), divided], scale)
    ex.add("Div", [x, scale], quotient)
    ex.add("Round", [quotient], rounded)
    ex.add("Clip", [rounded, ex.const("qs16__qmin", np.float32(-QMAX)), qmax], clipped)
    ex.add("Cast", [clipped], q, to=TensorProto.INT16)


def flops(graph, node) -> int:
    return 3 * graph.info(node.inputs[0]).size  # max |x|, divide, round
