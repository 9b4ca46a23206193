"""IR MatMulF64: y [B, M] = x [B, K] @ w [K, M] in float64 with w a constant (the DFT/STFT twiddle
matrices of ops/signal.py): one f64_matmul call (wasm-kernels/x_linalg.wat), products added in
order of K in f64. Import-only producers emit it; no ONNX op maps to it directly."""

from __future__ import annotations

import numpy as np

from ..backend.program import Ptr

IR_OP = "MatMulF64"
IMPORTS: dict = {}


def emit(im, x: str, w: np.ndarray, y: str, name: str) -> None:
    """Importer helper: y = x @ w (x float64 [B, K] activation, w a float64 [K, M] constant)."""
    batch, _ = im.shape(x)
    weights = im.fresh(f"{y}_w")
    im.constants[weights] = np.ascontiguousarray(w, dtype=np.float64)
    im.emit("MatMulF64", [x, weights], y, (batch, w.shape[1]), name, dtype="float64")


def lower(graph, node, program) -> None:
    x, w = node.inputs
    y = node.outputs[0]
    rows, k = graph.shape_of(x)
    m = graph.constants[w].shape[1]
    program.call("f64_matmul", [rows, k, m, program.operand(graph, x), program.operand(graph, w), Ptr(y)], node.name)


def export(ex, node) -> None:
    x, w = (ex.graph_const(i) if ex.graph.is_constant(i) else i for i in node.inputs)
    ex.add("MatMul", [x, w], node.outputs[0])


def flops(graph, node) -> int:
    rows, k = graph.shape_of(node.inputs[0])
    return 2 * rows * k * graph.constants[node.inputs[1]].shape[1]
