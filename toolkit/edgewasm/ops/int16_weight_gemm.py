"""Int16WeightGemm: y = clamp(x @ (f32(q) * scale) + bias), the int16 precision's dense layer.

Weight-only quantization: q int16 [K, N] symmetric per output column (scale f32 [N]) is what
ships, at half the fp32 bytes and ~2^-15 relative error per weight; `init()` rebuilds the f32
panels once (qs16_f32_gemm_expand) and inference runs the f32 GEMM. Activations stay float: there
is no integer int16 path in onnxruntime to match. Made by passes/quantize.py (no ONNX import).
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto

from ..backend.packing import NR, f32_gemm_kernel, pack_f32_gemm
from ..backend.program import Call, Ptr

IR_OP = "Int16WeightGemm"
IMPORTS: dict = {}
INF = math.inf


def dequantized(graph, node) -> np.ndarray:
    """The f32 weights the variant computes with: f32(q) * scale, exactly as init() makes them."""
    q, scale = graph.constants[node.inputs[1]], graph.constants[node.inputs[2]]
    return q.astype(np.float32) * scale[None, :]


def lower(graph, node, program) -> None:
    x, q_name, scale_name = node.inputs[:3]
    q, scale = graph.constants[q_name], graph.constants[scale_name]
    bias = graph.constants[node.inputs[3]] if len(node.inputs) > 3 else np.zeros(q.shape[1], np.float32)
    rows, k, n = math.prod(graph.info(x).shape[:-1]), q.shape[0], q.shape[1]
    y = node.outputs[0]
    panels = -(-n // NR)
    packed = program.weight(f"{y}__packed", np.zeros(panels * NR * (k + 1), np.float32))
    program.derived.add(packed.tensor)
    weight_rows = pack_f32_gemm(q.astype(np.float32), None).reshape(panels, k + 1, NR)[:, 1:]
    staged = {"q": weight_rows.astype("<i2").reshape(-1), "scale": _padded(scale, panels), "bias": _padded(bias, panels)}
    for part, value in staged.items():
        program.staged[f"{y}__{part}"] = value
    program.weights = dict(sorted(program.weights.items(), key=lambda item: item[0] not in program.derived))
    program.init_calls.append(Call("qs16_f32_gemm_expand", [panels, k, Ptr(f"{y}__q"), Ptr(f"{y}__scale"),
                                                            Ptr(f"{y}__bias"), packed], f"{node.name} (int16 weights)"))
    kernel = f32_gemm_kernel(rows, n)
    program.call(kernel, [rows, n, k, Ptr(x), 4 * k, packed, Ptr(y), 4 * n,
                          float(node.attrs["min"]), float(node.attrs["max"])], node.name)


def _padded(values: np.ndarray, panels: int) -> np.ndarray:
    row = np.zeros(panels * NR, np.float32)
    row[:values.size] = values
    return row


def export(ex, node) -> None:
    """Cast(q) * scale -> MatMul (+ bias) -> clamp: the same f32 weights, in standard ops."""
    x, q_name, scale_name = node.inputs[:3]
    y = node.outputs[0]
    weights, cast = ex.temp(y), ex.temp(y)
    ex.add("Cast", [ex.graph_const(q_name)], cast, to=TensorProto.FLOAT)
    ex.add("Mul", [cast, ex.graph_const(scale_name)], weights)
    lo, hi = node.attrs["min"], node.attrs["max"]
    clamped = lo != -INF or hi != INF
    out = ex.temp(y) if clamped else y
    if len(node.inputs) > 3:
        product = ex.temp(y)
        ex.add("MatMul", [x, weights], product)
        ex.add("Add", [product, ex.graph_const(node.inputs[3])], out)
    else:
        ex.add("MatMul", [x, weights], out)
    if clamped:
        ex.clamp(out, y, lo, hi)


def flops(graph, node) -> int:
    return 2 * graph.info(node.outputs[0]).size * graph.constants[node.inputs[1]].shape[0]
