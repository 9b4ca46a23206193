"""Int16Gemm: y = clamp(f32(sum q * w) * f32(q_scale * w_scale[j]) + bias[j]), the int16 precision's
dense layer: q int16 [..., K] from DynamicQuantize16 (q_scale its f32 scale), w int16 [K, N]
constant, symmetric per output column (w_scale f32 [N]). The sum is exact (int64: k * 32767^2 stays
far below 2^63), f32(acc) rounds to nearest even, then one multiply and one add, never fused
(qds16_f32_qc16w_gemm_{1x4,4x4}c2, weights packed at compile time by qpacking.pack_qc16w_gemm).

Inputs: [q, q_scale, w, w_scale] + [bias]; attrs min/max (a fused Relu/Clip). Made by
passes/quantize.py (no ONNX import) of a Gemm, or of a pointwise Conv over its channels-last
pixels. Its reference.onnx is standard ONNX that onnxruntime runs to the same bits: Cast(q, INT64)
and Cast(w, INT64) -> MatMul (int64) -> Cast(FLOAT) -> Mul(., Mul(scales)) -> Add(bias).
"""

from __future__ import annotations

import math

from onnx import TensorProto

from ..backend.program import Ptr
from ..backend.qpacking import pack_qc16w_gemm
from .integer_gemm import export_dequantizing_epilogue

IR_OP = "Int16Gemm"
IMPORTS: dict = {}


def lower(graph, node, program) -> None:
    q, q_scale, w_name, w_scale = node.inputs[:4]
    w = graph.constants[w_name]
    bias = graph.constants[node.inputs[4]] if len(node.inputs) > 4 else None
    shape = graph.info(q).shape
    rows, k, n = math.prod(shape[:-1]), shape[-1], w.shape[1]
    packed_name = "__".join([w_name, "packed", *node.inputs[4:]])  # Gemms sharing weights share one packing
    packed = (Ptr(packed_name) if packed_name in program.weights
              else program.weight(packed_name, pack_qc16w_gemm(w, graph.constants[w_scale], bias)))
    kernel = "qds16_f32_qc16w_gemm_1x4c2" if rows < 4 else "qds16_f32_qc16w_gemm_4x4c2"
    program.call(kernel, [rows, n, k, Ptr(q), 2 * k, Ptr(q_scale), packed, Ptr(node.outputs[0]), 4 * n,
                          float(node.attrs["min"]), float(node.attrs["max"])], node.name)


def export(ex, node) -> None:
    q, q_scale = node.inputs[:2]
    w_name, w_scale = (ex.graph_const(i) for i in node.inputs[2:4])
    y = node.outputs[0]
    q64, w64, acc, accf = (ex.temp(y) for _ in range(4))
    ex.add("Cast", [q], q64, to=TensorProto.INT64)
    ex.add("Cast", [w_name], w64, to=TensorProto.INT64)
    ex.add("MatMul", [q64, w64], acc)
    ex.add("Cast", [acc], accf, to=TensorProto.FLOAT)
    export_dequantizing_epilogue(ex, node, accf, q_scale, w_scale, node.inputs[4] if len(node.inputs) > 4 else None)


def flops(graph, node) -> int:
    return 2 * graph.info(node.outputs[0]).size * graph.constants[node.inputs[2]].shape[0]
