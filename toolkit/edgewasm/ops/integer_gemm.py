"""IntegerGemm: y = clamp(f32(sum (q - q_zp) * w) * f32(q_scale * w_scale[j]) + bias[j]), with
q uint8 [..., K] (its scale and zero point are tensors or constants), w [K, N] constant: the
weights minus their zero point, int8 (symmetric per column), or int16 for uint8 weights whose zero
point is far from 128 (the packing adds a per-column offset), w_scale float32 [N]: onnxruntime's
MatMulInteger -> Cast -> Mul -> Add.

Inputs: [q, q_scale, q_zp, w, w_scale] + [bias]; attrs min/max (a fused Relu/Clip). Imported from
the chain frontend/quantized.py fuses into one `MatMulIntegerToFloat` node (named after
onnxruntime's contrib op with the same meaning); a MatMulInteger outside that chain is refused.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto

from ..backend.program import Ptr
from ..backend.qpacking import NR, pack_qc8w_gemm, pack_qc8w_gemm_nr8, split_weight_offsets
from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = "IntegerGemm"
INF = math.inf


def import_matmul_integer_to_float(im, node, at) -> None:
    """(A, B, a_scale, b_scale, a_zero_point, b_zero_point, bias) -> float32, as onnxruntime's op."""
    names = list(node.input) + [""] * (7 - len(node.input))
    a, b, a_scale, b_scale, a_zp, b_zp, bias = names
    where = f"MatMulInteger node {node.name!r}"
    if a in im.constants or im.tensors[a].dtype != "uint8":
        dtype = im.constants[a].dtype if a in im.constants else im.tensors[a].dtype
        raise UnsupportedModelError(f"{where}: A must be a uint8 activation, got {dtype}")
    xs = im.shape(a)
    w = im.const(b, node, "B (the weights)")
    if w.ndim != 2 or w.dtype not in (np.int8, np.uint8):
        raise UnsupportedModelError(f"{where}: B must be a 2-D int8 or uint8 constant, got {w.dtype} {w.shape}")
    k, n = w.shape
    if len(xs) < 2 or xs[-1] != k:
        raise ModelFormatError(f"{where}: A of shape {xs} does not multiply B of shape {w.shape}")
    w_zp = np.zeros(n, np.int32) if not b_zp else _per_column(im.const(b_zp, node, "B's zero point"), n, where)
    centered = w.astype(np.int32) - w_zp.astype(np.int32)[None, :]
    w_scale = _per_column(im.const(b_scale, node, "B's scale"), n, where).astype(np.float32)
    inputs = [a, _scalar(im, node, a_scale, "float32", where), _zero_point(im, node, a_zp, where),
              _typed_constant(im, f"{b}_qc8w", centered_weights(centered)), im.add_constant(f"{b}_wscale", w_scale)]
    if bias:
        bias_value = _per_column(im.const(bias, node, "the bias"), n, where)
        if bias_value.dtype != np.float32:
            raise UnsupportedModelError(f"{where}: the bias must be float32, got {bias_value.dtype}")
        inputs.append(im.add_constant(f"{bias}_bias", bias_value))
    im.emit(IR_OP, inputs, node.output[0], (*xs[:-1], n), node.name, min=-INF, max=INF)


def centered_weights(centered: np.ndarray) -> np.ndarray:
    """8-bit weights minus their zero point as the IR keeps them: int8 where they fit, else int16
    (uint8 weights with a zero point far from 128, as transformers.js's q8 writes them for every
    model with a convolution): the packing gives those columns an offset (split_weight_offsets)."""
    fits = centered.size == 0 or (centered.min() >= -128 and centered.max() <= 127)
    return centered.astype(np.int8 if fits else np.int16)


def onnx_weights(ex, w_name: str, per_column: bool) -> tuple[str, str]:
    """The reference.onnx's B and B zero point for the IR's centered weights: int8 with zero 0, or
    for int16 ones uint8 with the zero point max(0, -min) (per column, or per tensor: ConvInteger's)."""
    w = ex.graph.constants[w_name]
    if w.dtype == np.int8:
        return ex.graph_const(w_name), ex.const(f"{w_name}__zp", np.zeros(w.shape[1] if per_column else (), np.int8))
    zp = np.maximum(0, -(w.min(axis=tuple(range(w.ndim - 1))) if per_column else w.min()))
    return (ex.const(f"{w_name}__u8", (w + zp).astype(np.uint8)),
            ex.const(f"{w_name}__zp", np.asarray(zp).astype(np.uint8)))


def _per_column(value: np.ndarray, n: int, where: str) -> np.ndarray:
    if value.size == 1:
        return np.broadcast_to(value.reshape(-1), (n,)).copy()
    if value.shape != (n,):
        raise UnsupportedModelError(f"{where}: per-column parameters must have shape ({n},), got {value.shape}")
    return value


def _scalar(im, node, name: str, dtype: str, where: str) -> str:
    if not name:
        raise ModelFormatError(f"{where}: A's scale is required")
    if name in im.constants:
        value = im.constants[name]
        if value.size != 1 or value.dtype != np.float32:
            raise UnsupportedModelError(f"{where}: A's scale must be one float32, got {value.dtype} {value.shape}")
        return im.add_constant(f"{name}_scalar", value.reshape(()))
    info = im.tensors[name]
    if info.size != 1 or info.dtype != dtype:
        raise UnsupportedModelError(f"{where}: A's scale must be one {dtype}, got {info.dtype} {info.shape}")
    return name


def _zero_point(im, node, name: str, where: str) -> str:
    if name and name not in im.constants:
        info = im.tensors[name]
        if info.size != 1 or info.dtype != "uint8":
            raise UnsupportedModelError(f"{where}: A's zero point must be one uint8, got {info.dtype} {info.shape}")
        return name
    value = im.constants[name] if name else np.zeros((), np.uint8)
    if value.size != 1 or value.dtype != np.uint8:
        raise UnsupportedModelError(f"{where}: A's zero point must be one uint8, got {value.dtype} {value.shape}")
    return _typed_constant(im, f"{name or node.output[0]}_zp", value.reshape(()).astype(np.uint8))


def _typed_constant(im, base: str, value: np.ndarray) -> str:
    """A new constant in its own dtype (the importer's add_constant makes float32)."""
    name = im.fresh(base)
    im.constants[name] = np.ascontiguousarray(value)
    return name


def import_dynamic_quantize_matmul(im, node, at) -> None:
    """onnxruntime's DynamicQuantizeMatMul (A float, B, b_scale[, b_zero_point[, bias]]), which a model
    saved after its optimizations holds: DynamicQuantizeLinear(A) then MatMulIntegerToFloat."""
    from onnx import helper

    names = list(node.input) + [""] * (5 - len(node.input))
    a, b, b_scale, b_zp, bias = names
    q, scale, zp = (im.fresh(f"{node.output[0]}__{part}") for part in ("q", "scale", "zp"))
    im.import_nodes([helper.make_node("DynamicQuantizeLinear", [a], [q, scale, zp], name=f"{node.name} (quantize A)"),
                     helper.make_node("MatMulIntegerToFloat", [q, b, scale, b_scale, zp, b_zp, bias],
                                      [node.output[0]], name=node.name)])


def refuse_matmul_integer(im, node, at) -> None:
    raise UnsupportedModelError(
        f"MatMulInteger node {node.name!r}: only onnxruntime's quantize_dynamic pattern is supported "
        "(MatMulInteger -> Cast(to float) -> Mul by Mul(A scale, B scale) [-> Add bias])")


def _import_matmul_integer(im, node, at) -> None:
    """A MatMulInteger outside onnxruntime's fused chain: computed as the spec says (integer_matmul.py)."""
    from .integer_matmul import general_matmul_integer

    general_matmul_integer(im, node, at)


IMPORTS = {"MatMulIntegerToFloat": (import_matmul_integer_to_float, 4, 7),
           "DynamicQuantizeMatMul": (import_dynamic_quantize_matmul, 3, 5),
           "MatMulInteger": (_import_matmul_integer, 2, 4)}


def _pointer(graph, program, name: str) -> Ptr:
    return program.weight(name, graph.constants[name].reshape(1)) if graph.is_constant(name) else Ptr(name)


def lower(graph, node, program) -> None:
    q, q_scale, q_zp, w_name, w_scale = node.inputs[:5]
    w = graph.constants[w_name]
    bias = graph.constants[node.inputs[5]] if len(node.inputs) > 5 else None
    shape = graph.info(q).shape
    rows, k, n = math.prod(shape[:-1]), shape[-1], w.shape[1]
    # 4x8c2 (its rows widened once into a scratch block for all column panels) unless there are
    # under 4 rows (1x4c2) or at most 4 columns (4x4c2)
    kernel = ("qdu8_f32_qc8w_gemm_1x4c2" if rows < 4 else "qdu8_f32_qc8w_gemm_4x4c2" if n <= NR
              else "qdu8_f32_qc8w_gemm_4x8c2")
    wide = kernel.endswith("4x8c2")
    pack = pack_qc8w_gemm_nr8 if wide else pack_qc8w_gemm
    # Gemms sharing weights share one packing per layout
    packed_name = "__".join([w_name, "packed" + ("_nr8" if wide else ""), *node.inputs[5:]])
    if packed_name in program.weights:
        packed = Ptr(packed_name)
    else:
        w8, offset = split_weight_offsets(w)  # offsets for uint8 weights that int8 cannot hold
        packed = program.weight(packed_name, pack(w8, graph.constants[w_scale], bias, offset))
    args = [rows, n, k, Ptr(q), k, _pointer(graph, program, q_scale), _pointer(graph, program, q_zp),
            packed, Ptr(node.outputs[0]), 4 * n, float(node.attrs["min"]), float(node.attrs["max"])]
    if wide:
        args.append(program.temp(f"{node.outputs[0]}__qdu8_rows", 16 * -(-k // 2)))
    program.call(kernel, args, node.name)


def export(ex, node) -> None:
    """onnxruntime's quantize_dynamic graph: MatMulInteger -> Cast -> Mul(., Mul(scales)) -> Add."""
    q, q_scale, q_zp, w_scale = (ex.graph_const(i) if ex.graph.is_constant(i) else i
                                 for i in (*node.inputs[:3], node.inputs[4]))
    y = node.outputs[0]
    acc, accf = ex.temp(y), ex.temp(y)
    w, w_zp = onnx_weights(ex, node.inputs[3], per_column=True)
    ex.add("MatMulInteger", [q, w, q_zp, w_zp], acc)
    ex.add("Cast", [acc], accf, to=TensorProto.FLOAT)
    export_dequantizing_epilogue(ex, node, accf, q_scale, w_scale, node.inputs[5] if len(node.inputs) > 5 else None)


def export_dequantizing_epilogue(ex, node, accf: str, x_scale: str, w_scale: str, bias: str | None) -> None:
    """onnxruntime's float epilogue of an integer product, shared by the integer layers' exports:
    y = clamp(accf * (x_scale * w_scale) [+ bias]), a multiply then an add, never fused."""
    y = node.outputs[0]
    scales = ex.temp(y)
    ex.add("Mul", [x_scale, w_scale], scales)
    lo, hi = node.attrs["min"], node.attrs["max"]
    clamped = lo != -INF or hi != INF
    out = ex.temp(y) if clamped else y
    if bias is not None:
        scaled = ex.temp(y)
        ex.add("Mul", [accf, scales], scaled)
        ex.add("Add", [scaled, ex.graph_const(bias)], out)
    else:
        ex.add("Mul", [accf, scales], out)
    if clamped:
        ex.clamp(out, y, lo, hi)


def flops(graph, node) -> int:
    return 2 * graph.info(node.outputs[0]).size * graph.constants[node.inputs[3]].shape[0]
