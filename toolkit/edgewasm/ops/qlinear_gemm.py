"""QLinearGemm: uint8 in, uint8 out, int8 weights per output column: onnxruntime's QGemm and
QLinearMatMul, with their bits (wasm-kernels/qu8_gemm.wat):
    acc = sum (xq - x_zp) * w + bias      (int32)
    yq  = sat(rint(f32(acc) * M[j]) + y_zp)  with  M[j] = f32(f32(x_scale * w_scale[j]) / y_scale)

Inputs [xq, w int8 [K, N] (zero point already subtracted), w_scale f32 [N], bias int32 [N]];
attrs x_scale, x_zp, y_scale, y_zp (per tensor). Imported from QLinearMatMul, com.microsoft QGemm
and quantize_static's DequantizeLinear -> Gemm/MatMul -> QuantizeLinear (frontend/quantized.py
rewrites both into "QGemm"); made by `--quantize int8 --calibrate` (passes/quantize.py).
"""

from __future__ import annotations

import math

import numpy as np
from onnx import helper

from ..backend.program import Ptr
from ..backend.qpacking import QC7W_KERNELS, qu8_gemm_call, qu8_gemm_kernel, qu8_gemm_scratch_bytes
from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.quantized import emit_typed
from .quantize_linear import per_tensor

IR_OP = "QLinearGemm"


def multiplier(x_scale: float, w_scale: np.ndarray, y_scale: float) -> np.ndarray:
    """M = f32(f32(x_scale * w_scale) / y_scale): onnxruntime's order (others differ in a few outputs)."""
    return (np.float32(x_scale) * w_scale.astype(np.float32)) / np.float32(y_scale)


def _import(im, node, a, b, transposed: bool, names: dict[str, int], bias_index: int | None) -> None:
    """names: {'a_scale': i, 'a_zp': i, 'b_scale': i, 'b_zp': i, 'y_scale': i, 'y_zp': i} input indices."""
    where = f"{node.op_type} node {node.name!r}"
    if a in im.constants or im.tensors[a].dtype != "uint8":
        dtype = im.constants[a].dtype if a in im.constants else im.tensors[a].dtype
        raise UnsupportedModelError(f"{where}: A must be a uint8 activation, got {dtype}")
    w = im.const(b, node, "B (the weights)")
    if w.ndim != 2 or w.dtype not in (np.int8, np.uint8):
        raise UnsupportedModelError(f"{where}: B must be a 2-D int8 or uint8 constant, got {w.dtype} {w.shape}")
    if transposed:
        w = w.T
    k, n = w.shape
    xs = im.shape(a)
    if xs[-1] != k:
        raise ModelFormatError(f"{where}: A of shape {xs} does not multiply B of {k} x {n}")
    w_zp = _column_constant(im, node, names["b_zp"], n, "B's zero point", default=np.zeros(n, w.dtype))
    centered = w.astype(np.int32) - w_zp.astype(np.int32)[None, :]
    if centered.min(initial=0) < -128 or centered.max(initial=0) > 127:
        raise UnsupportedModelError(f"{where}: B minus its zero point leaves the int8 range; quantize weights as int8")
    w_scale = _column_constant(im, node, names["b_scale"], n, "B's scale").astype(np.float32)
    bias = np.zeros(n, np.int32)
    if bias_index is not None and bias_index < len(node.input) and node.input[bias_index]:
        bias = _column_constant(im, node, bias_index, n, "the bias (C)")
        if bias.dtype != np.int32:
            raise UnsupportedModelError(f"{where}: the bias must be int32, got {bias.dtype}")
    constants = []
    for base, value in ((f"{b}_qc8w", centered.astype(np.int8)), (f"{b}_wscale", w_scale), (f"{b}_bias_q", bias)):
        name = im.fresh(base)
        im.constants[name] = np.ascontiguousarray(value)
        constants.append(name)
    emit_typed(im, IR_OP, [a, *constants], [(node.output[0], (*xs[:-1], n), "uint8")], node.name,
               x_scale=float(per_tensor(im, node, names["a_scale"], "A's scale", np.float32)),
               x_zp=int(per_tensor(im, node, names["a_zp"], "A's zero point", np.uint8, default=0)),
               y_scale=float(per_tensor(im, node, names["y_scale"], "the output scale", np.float32)),
               y_zp=int(per_tensor(im, node, names["y_zp"], "the output zero point", np.uint8, default=0)))


def _column_constant(im, node, index: int, n: int, what: str, default=None) -> np.ndarray:
    if index >= len(node.input) or not node.input[index]:
        if default is None:
            raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: {what} is required")
        return default
    value = im.const(node.input[index], node, what)
    if value.size == 1:
        return np.broadcast_to(value.reshape(-1), (n,)).copy()
    if value.shape != (n,):
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: {what} must be per tensor or per "
                                    f"output column ({n},), got {value.shape}")
    return value


def import_qgemm(im, node, at) -> None:
    """com.microsoft QGemm(A, a_scale, a_zp, B, b_scale, b_zp, C, y_scale, y_zp), requantizing form."""
    if len(node.input) < 8 or not node.input[7]:
        raise UnsupportedModelError(f"QGemm node {node.name!r}: only the uint8-output form (with y_scale) is supported")
    if at.get("transA", 0) or float(at.get("alpha", 1.0)) != 1.0:
        raise UnsupportedModelError(f"QGemm node {node.name!r}: transA and alpha != 1 are not supported")
    if len(im.shape(node.input[0])) != 2:
        raise UnsupportedModelError(f"QGemm node {node.name!r}: A must be 2-D")
    _import(im, node, node.input[0], node.input[3], bool(at.get("transB", 0)),
            {"a_scale": 1, "a_zp": 2, "b_scale": 4, "b_zp": 5, "y_scale": 7, "y_zp": 8}, bias_index=6)


def import_qlinear_matmul(im, node, at) -> None:
    """QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp) with a constant b."""
    if len(im.shape(node.input[0])) < 2:
        raise UnsupportedModelError(f"QLinearMatMul node {node.name!r}: A must have rank >= 2")
    _import(im, node, node.input[0], node.input[3], False,
            {"a_scale": 1, "a_zp": 2, "b_scale": 4, "b_zp": 5, "y_scale": 6, "y_zp": 7}, bias_index=None)


def _import_qlinear_matmul_any(im, node, at) -> None:
    """The fused form above, or any other QLinearMatMul decomposed (integer_matmul.py)."""
    from .integer_matmul import fused_or_general, general_qlinear_matmul

    fused_or_general(import_qlinear_matmul, general_qlinear_matmul)(im, node, at)


IMPORTS = {"QGemm": (import_qgemm, 6, 9), "QLinearMatMul": (_import_qlinear_matmul_any, 8, 8)}


def lower(graph, node, program) -> None:
    xq, w_name, w_scale, bias = node.inputs
    w = graph.constants[w_name]
    shape = graph.info(xq).shape
    rows, k, n = math.prod(shape[:-1]), shape[-1], w.shape[1]
    a = node.attrs
    kernel, pack = qu8_gemm_kernel(rows, n, a.get("simd") == "relaxed", w)
    extra = {"a_zp": int(a["x_zp"])} if kernel in QC7W_KERNELS else {}  # its heads fold the zero point in
    packed = program.weight(f"{node.outputs[0]}__qu8_qc8w",
                            pack(w, graph.constants[bias],
                                 multiplier(a["x_scale"], graph.constants[w_scale], a["y_scale"]), **extra))
    nbytes = qu8_gemm_scratch_bytes(kernel, k)
    scratch = program.temp(f"{node.outputs[0]}__qu8_rows", nbytes) if nbytes else None
    program.call(kernel, qu8_gemm_call(kernel, rows, n, k, Ptr(xq), k, int(a["x_zp"]), packed, Ptr(node.outputs[0]), n,
                                       int(a["y_zp"]), scratch=scratch), node.name)


def export(ex, node) -> None:
    """QLinearMatMul when there is no bias (a standard op with these exact semantics); otherwise
    quantize_static's QDQ Gemm, which onnxruntime runs as QGemm."""
    xq, w_name, w_scale, bias = node.inputs
    y = node.outputs[0]
    a = node.attrs
    w = ex.graph.constants[w_name]
    n = w.shape[1]
    scales = ex.graph.constants[w_scale]
    x_scale, x_zp = ex.const(f"{y}__x_scale", np.float32(a["x_scale"])), ex.const(f"{y}__x_zp", np.uint8(a["x_zp"]))
    y_scale, y_zp = ex.const(f"{y}__y_scale", np.float32(a["y_scale"])), ex.const(f"{y}__y_zp", np.uint8(a["y_zp"]))
    if not ex.graph.constants[bias].any():
        ex.nodes.append(helper.make_node("QLinearMatMul", [xq, x_scale, x_zp, ex.graph_const(w_name),
                                                          ex.const(f"{w_name}__scale", scales),
                                                          ex.const(f"{w_name}__zp", np.zeros(n, np.int8)), y_scale, y_zp], [y]))
        return
    if len(ex.graph.info(xq).shape) != 2:
        raise UnsupportedModelError(f"QLinearGemm {node.name!r}: a biased layer over a rank > 2 input has no "
                                    "exact standard-ONNX form")
    x, wf, bf, yf = ex.temp(y), ex.temp(y), ex.temp(y), ex.temp(y)
    ex.nodes.append(helper.make_node("DequantizeLinear", [xq, x_scale, x_zp], [x]))
    ex.nodes.append(helper.make_node("DequantizeLinear", [ex.const(f"{w_name}__nk", np.ascontiguousarray(w.T)),
                                                          ex.const(f"{w_name}__scale", scales),
                                                          ex.const(f"{w_name}__zp", np.zeros(n, np.int8))], [wf], axis=0))
    bias_scale = np.float32(a["x_scale"]) * scales
    ex.nodes.append(helper.make_node("DequantizeLinear", [ex.graph_const(bias), ex.const(f"{bias}__scale", bias_scale),
                                                          ex.const(f"{bias}__zp", np.zeros(n, np.int32))], [bf], axis=0))
    ex.nodes.append(helper.make_node("Gemm", [x, wf, bf], [yf], transB=1))
    ex.nodes.append(helper.make_node("QuantizeLinear", [yf, y_scale, y_zp], [y]))


def flops(graph, node) -> int:
    return 2 * graph.info(node.outputs[0]).size * graph.constants[node.inputs[1]].shape[0]
