"""Recognize onnxruntime's quantized subgraphs before import, so they import as our integer ops.

onnxruntime fuses these patterns itself before running them, and its fused kernels define the
bits; rewriting them here, at the ONNX level, gives the op units one node with the whole meaning:
  quantize_dynamic   MatMulInteger -> Cast(to float) -> Mul(., Mul(x_scale, w_scale)) [-> Add(bias)]
                     becomes MatMulIntegerToFloat (onnxruntime's fused op; ops/integer_gemm.py); the same
                     chain from ConvInteger, with its DynamicQuantizeLinear, becomes DynamicQuantizeConv
                     (ops/integer_conv.py)
  quantize_static    DequantizeLinear(x) -> Gemm/MatMul(., DequantizeLinear(w) [, DequantizeLinear(b)])
  (QDQ)              -> QuantizeLinear becomes QGemm (ops/qlinear_gemm.py), as onnxruntime's QDQ
                     transformer does (which adds the int32 bias to the accumulator as is: quantize_static
                     writes it in the accumulator's scale, x_scale * w_scale, and a bias DequantizeLinear
                     declaring another scale is ignored by onnxruntime, so by us too)
  QOperator          com.microsoft::QGemm becomes the same QGemm node in the default domain
  quantize_static    DequantizeLinear(x) -> Conv(., DequantizeLinear(w) [, DequantizeLinear(b)]) -> QuantizeLinear
  (QDQ, CNNs)        becomes QLinearConv (ops/qlinear_conv.py); DequantizeLinear -> GlobalAveragePool ->
                     QuantizeLinear becomes QLinearGlobalAveragePool (ops/qlinear_global_pool.py; the
                     QOperator form is com.microsoft's, moved to the default domain); DequantizeLinear ->
                     MaxPool | Flatten | Reshape -> QuantizeLinear with the same scale and zero point on both
                     sides becomes the op on the uint8 tensor itself (onnxruntime drops such Q/DQ pairs)
Matching is exact: a chain in any other order (which would round differently) is left alone, and
then either imports as float ops (QDQ) or is refused by the importer. Multiplication and addition
commute bitwise in IEEE arithmetic, so operand order does not matter.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..errors import ModelFormatError, UnsupportedModelError

FUSED = "MatMulIntegerToFloat"


def fuse_quantized_patterns(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` with onnxruntime's quantized patterns fused (the model itself if none)."""
    ops = {(n.domain, n.op_type) for n in model.graph.node}
    if not ops & {("", "MatMulInteger"), ("", "ConvInteger"), ("", "DequantizeLinear"), ("com.microsoft", "QGemm"),
                  ("com.microsoft", "QLinearGlobalAveragePool")}:
        return model
    model = _copy(model)
    graph = model.graph
    constants = _Constants(graph)
    outputs = {o.name for o in graph.output}
    nodes = list(graph.node)
    for index, node in enumerate(nodes):
        if node.domain == "com.microsoft" and node.op_type in ("QGemm", "QLinearGlobalAveragePool"):
            nodes[index] = helper.make_node(node.op_type, node.input, node.output, name=node.name)
            nodes[index].attribute.extend(node.attribute)
    for matcher, op in ((_match_chain, "MatMulInteger"), (_match_conv_chain, "ConvInteger"), (_match_qdq, "Gemm"),
                        (_match_qdq, "MatMul"), (_match_qdq_conv, "Conv"), (_match_qdq_global_pool, "GlobalAveragePool"),
                        (_match_qdq_passthrough, "MaxPool"), (_match_qdq_passthrough, "Flatten"),
                        (_match_qdq_passthrough, "Reshape")):
        for node in [n for n in nodes if n.op_type == op and n.domain in ("", "ai.onnx")]:
            fused = matcher(node, nodes, constants, outputs)
            if fused is None:
                continue
            replacement, removed = fused
            # at the chain's last node: its inputs (a bias Reshape say) may be made after its first
            last = max(i for i, n in enumerate(nodes) if any(n is c for c in (node, *removed)))
            nodes[last] = replacement
            nodes = [n for n in nodes if all(n is not r for r in (node, *removed))]
    _refuse_quantized_float_ops(nodes, constants, outputs)
    nodes = _fold_constant_dequantize(graph, nodes, constants)
    del graph.node[:]
    graph.node.extend(nodes)
    return model


# Ops that onnxruntime's QDQ transformer turns into its own quantized kernels (QLinearAveragePool,
# QLinearAdd, ...) when every activation input comes from a DequantizeLinear and the output goes to a
# QuantizeLinear: computed in float they would give other bits, so such chains are refused.
# (Data movement that onnxruntime runs on the uint8 values, Gather or Pad say, gives the same bits in
# float: DequantizeLinear then QuantizeLinear returns every uint8 exactly.)
_ORT_QDQ_KERNELS = {"AveragePool", "Add", "Mul", "Concat", "Sigmoid", "LeakyRelu", "Softmax", "Where", "Conv",
                    "MatMul", "GlobalAveragePool", "ConvTranspose"}


def _refuse_quantized_float_ops(nodes: list, constants, outputs: set[str]) -> None:
    for node in nodes:
        if node.op_type not in _ORT_QDQ_KERNELS or node.domain not in ("", "ai.onnx") or len(node.output) != 1:
            continue
        activations = [i for i in node.input if i and i not in constants]
        if not activations or _sole(nodes, node.output[0], "QuantizeLinear", outputs) is None:
            continue
        if all(_dequantize_of(nodes, i, constants, constant=False) is not None for i in activations):
            raise UnsupportedModelError(
                f"{node.op_type} node {node.name!r}: onnxruntime runs DequantizeLinear -> {node.op_type} -> "
                f"QuantizeLinear as its quantized kernel, whose arithmetic edgewasm does not implement for this "
                f"node (supported: Conv and MatMul with constant weights, Gemm, GlobalAveragePool, MaxPool, "
                f"Flatten, Reshape)")


def _fold_constant_dequantize(graph: onnx.GraphProto, nodes: list, constants) -> list:
    """DequantizeLinear of constants (weights, int32 biases) left unfused: compute it here,
    y = f32(x - zp) * scale per tensor, along `axis` or in blocks of `block_size` (x - zp in int32,
    as onnxruntime; a float8/float4 x is its value), in the output dtype (output_dtype, else the
    scale's), as the importer's folding (onnx's reference evaluator) has no DequantizeLinear before
    opset 19."""
    kept = []
    for node in nodes:
        inputs = [i for i in node.input if i]
        if node.op_type != "DequantizeLinear" or node.domain not in ("", "ai.onnx") or \
                not all(i in constants.values for i in inputs):
            kept.append(node)
            continue
        x = constants.values[node.input[0]]
        raw_scale = constants.values[node.input[1]]
        scale = raw_scale.astype(np.float32)
        zp = constants.values[node.input[2]] if len(node.input) > 2 and node.input[2] else None
        requested = _attr(node, "output_dtype", 0)
        try:
            out_dtype = helper.tensor_dtype_to_np_dtype(requested) if requested else raw_scale.dtype
            if np.dtype(out_dtype).itemsize < 2:  # a float8_e8m0 scale: the output is float32
                out_dtype = np.float32
            if x.dtype.kind not in "iu" and x.dtype.name not in ("int4", "uint4", "int2", "uint2"):
                centered = x.astype(np.float32)  # float8 / float4: the zero point is zero
            else:
                zp = np.zeros((), x.dtype) if zp is None else zp
                centered = (x.astype(np.int64) - _quant_param(zp, x, node).astype(np.int64)).astype(np.int32) \
                    .astype(np.float32)
            value = (centered * _quant_param(scale, x, node)).astype(out_dtype)
        except (ValueError, TypeError, ZeroDivisionError, IndexError) as exc:
            raise ModelFormatError(f"DequantizeLinear node {node.name!r}: cannot dequantize its constants "
                                   f"({type(exc).__name__}: {exc})") from None
        graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(value), node.output[0]))
        constants.values[node.output[0]] = value
        constants.add(node.output[0])
    return kept


def _quant_param(value: np.ndarray, x: np.ndarray, node) -> np.ndarray:
    """A scale or zero point broadcast against x: per tensor, along `axis`, or repeated over blocks."""
    if value.size == 1:
        return value.reshape(())
    axis, block = _attr(node, "axis", 1) % x.ndim, _attr(node, "block_size", 0)
    if not block:
        shape = [1] * x.ndim
        shape[axis] = -1
        return value.reshape(shape)
    repeated = np.repeat(value, block, axis=axis).take(range(x.shape[axis]), axis=axis)
    if repeated.shape != x.shape:
        raise ValueError(f"a blocked parameter of shape {value.shape} does not fit x of shape {x.shape}")
    return repeated


class _Constants(set):
    """The names of the graph's constants: initializers, Constant outputs and what nodes of
    constants compute (the importer folds those, e.g. quantize_dynamic's reshaped Conv bias);
    `values` holds the arrays known without evaluating anything."""

    def __init__(self, graph: onnx.GraphProto):
        self.values = {}
        for tensor in [*graph.initializer, *(n.attribute[0].t for n in graph.node if n.op_type == "Constant"
                                              and n.attribute and n.attribute[0].name == "value")]:
            try:
                self.values[tensor.name] = numpy_helper.to_array(tensor)
            except Exception:  # undecodable: the importer reports it with its name
                continue
        super().__init__({i.name for i in graph.initializer})
        for node in graph.node:
            if node.op_type == "Constant" and node.output and node.attribute and node.attribute[0].name == "value":
                self.values[node.output[0]] = self.values.pop(node.attribute[0].t.name, None)
                if self.values[node.output[0]] is None:
                    del self.values[node.output[0]]
            if node.op_type == "Constant" or (node.input and all(i in self for i in node.input if i)):
                self.update(o for o in node.output if o)


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    copied = onnx.ModelProto()
    copied.CopyFrom(model)
    return copied


def _consumers(nodes: list[onnx.NodeProto], name: str) -> list[onnx.NodeProto]:
    return [n for n in nodes if name in n.input]


def _sole(nodes, name: str, op: str, outputs: set[str]) -> onnx.NodeProto | None:
    users = _consumers(nodes, name)
    if len(users) != 1 or name in outputs or users[0].op_type != op or users[0].domain not in ("", "ai.onnx"):
        return None
    return users[0]


def _producer(nodes, name: str) -> onnx.NodeProto | None:
    return next((n for n in nodes if name in n.output), None)


def _match_chain(matmul, nodes, constants: set[str], outputs: set[str]):
    cast = _sole(nodes, matmul.output[0], "Cast", outputs)
    if cast is None or next((a.i for a in cast.attribute if a.name == "to"), None) != TensorProto.FLOAT:
        return None
    scale_mul = _sole(nodes, cast.output[0], "Mul", outputs)
    if scale_mul is None:
        return None
    scales_name = next(i for i in scale_mul.input if i != cast.output[0]) if len(set(scale_mul.input)) == 2 else None
    scales = _producer(nodes, scales_name) if scales_name else None
    if scales is None or scales.op_type != "Mul" or scales.domain not in ("", "ai.onnx") or len(scales.input) != 2:
        return None
    a_scale, b_scale = scales.input
    if a_scale in constants and b_scale not in constants:
        a_scale, b_scale = b_scale, a_scale
    if b_scale not in constants:
        return None
    removed = [cast, scale_mul]
    result = scale_mul.output[0]
    bias = ""
    add = _sole(nodes, result, "Add", outputs)
    if add is not None and len(add.input) == 2:
        other = add.input[1] if add.input[0] == result else add.input[0]
        if other in constants and other != result:
            bias, result = other, add.output[0]
            removed.append(add)
    if len(_consumers(nodes, scales.output[0])) == 1 and scales.output[0] not in outputs:
        removed.append(scales)
    inputs = list(matmul.input) + [""] * (4 - len(matmul.input))
    fused = helper.make_node(FUSED, [inputs[0], inputs[1], a_scale, b_scale, inputs[2], inputs[3], bias],
                             [result], name=matmul.name or result)
    return fused, removed


def _match_conv_chain(conv, nodes, constants, outputs: set[str]):
    """DynamicQuantizeLinear(x) -> ConvInteger -> Cast -> Mul(., Mul(x_scale, w_scale)) [-> Add(bias)]
    => DynamicQuantizeConv(x, w, w_scale, w_zp, bias) with the ConvInteger's attributes. The
    DynamicQuantizeLinear is absorbed (its outputs must feed only this chain): the importer
    quantizes the channels-last copy of x instead, which has the same scale and zero point."""
    inputs = list(conv.input) + [""] * (4 - len(conv.input))
    quantize = _producer(nodes, inputs[0])
    if quantize is None or quantize.op_type != "DynamicQuantizeLinear" or len(quantize.output) != 3 \
            or quantize.output[0] != inputs[0] or inputs[2] != quantize.output[2] or inputs[1] not in constants \
            or not quantize.input or quantize.input[0] in constants:
        return None
    chain = _match_chain(conv, nodes, constants, outputs)
    if chain is None:
        return None
    fused, removed = chain
    a_scale, b_scale, bias = fused.input[2], fused.input[3], fused.input[6]
    scales = next((n for n in removed if n.op_type == "Mul" and set(n.input) == {a_scale, b_scale}), None)
    if a_scale != quantize.output[1] or scales is None:  # the scales' product must be this chain's own
        return None
    if any(_consumers(nodes, quantize.output[i]) != [user] for i, user in ((0, conv), (1, scales), (2, conv))) \
            or any(o in outputs for o in quantize.output):
        return None
    replacement = helper.make_node("DynamicQuantizeConv", [quantize.input[0], inputs[1], b_scale, inputs[3], bias],
                                   list(fused.output), name=conv.name or fused.output[0])
    replacement.attribute.extend(conv.attribute)
    return replacement, removed + [quantize]


def _attr(node, name: str, default):
    found = next((a for a in node.attribute if a.name == name), None)
    return default if found is None else helper.get_attribute_value(found)


def _dequantize_of(nodes, name: str, constants: set[str], constant: bool):
    """The DequantizeLinear producing `name`, if its input is (not) a constant as asked."""
    node = _producer(nodes, name)
    if node is None or node.op_type != "DequantizeLinear" or node.domain not in ("", "ai.onnx"):
        return None
    if (node.input[0] in constants) != constant or any(i not in constants for i in node.input[1:] if i):
        return None
    return node


def _match_qdq(matmul, nodes, constants: set[str], outputs: set[str]):
    """DQ(x) -> Gemm|MatMul(., DQ(w) [, DQ(bias)]) -> Q  =>  QGemm(x_q, ..., y_scale, y_zp)."""
    gemm = matmul.op_type == "Gemm"
    if gemm and (_attr(matmul, "transA", 0) or _attr(matmul, "alpha", 1.0) != 1.0 or _attr(matmul, "beta", 1.0) != 1.0):
        return None
    x = _dequantize_of(nodes, matmul.input[0], constants, constant=False)
    w = _dequantize_of(nodes, matmul.input[1], constants, constant=True)
    quantize = _sole(nodes, matmul.output[0], "QuantizeLinear", outputs)
    if x is None or w is None or quantize is None or len(x.input) < 2:
        return None
    trans_b = int(_attr(matmul, "transB", 0)) if gemm else 0
    if _attr(w, "axis", 1) != (0 if trans_b else 1):  # per-channel only along the output columns
        return None
    bias = None
    if gemm and len(matmul.input) > 2 and matmul.input[2]:
        bias = _dequantize_of(nodes, matmul.input[2], constants, constant=True)
        if bias is None:
            return None
    x_in = list(x.input) + [""] * (3 - len(x.input))
    w_in = list(w.input) + [""] * (3 - len(w.input))
    q_in = list(quantize.input) + [""] * (3 - len(quantize.input))
    name = matmul.name or quantize.output[0]
    if bias is None and not gemm:  # the standard op with exactly this meaning
        fused = helper.make_node("QLinearMatMul", [x_in[0], x_in[1], x_in[2], w_in[0], w_in[1], w_in[2], q_in[1], q_in[2]],
                                 [quantize.output[0]], name=name)
    else:  # onnxruntime adds the int32 bias as is, whatever scale its DequantizeLinear declares
        fused = helper.make_node("QGemm", [x_in[0], x_in[1], x_in[2], w_in[0], w_in[1], w_in[2],
                                           bias.input[0] if bias is not None else "", q_in[1], q_in[2]],
                                 [quantize.output[0]], name=name, transB=trans_b)
    removed = [matmul, quantize] + [d for d in (x, w, bias) if d is not None
                                    and len(_consumers(nodes, d.output[0])) == 1 and d.output[0] not in outputs]
    return fused, removed


def _padded(node, n: int) -> list[str]:
    return list(node.input) + [""] * (n - len(node.input))


def _sole_users_removed(nodes, dequantizes, outputs: set[str]) -> list:
    return [d for d in dequantizes if d is not None and len(_consumers(nodes, d.output[0])) == 1
            and d.output[0] not in outputs]


def _match_qdq_conv(conv, nodes, constants: set[str], outputs: set[str]):
    """DQ(x) -> Conv(., DQ(w) [, DQ(bias int32)]) -> Q  =>  QLinearConv(x_q, ..., y_scale, y_zp, bias_q)."""
    x = _dequantize_of(nodes, conv.input[0], constants, constant=False)
    w = _dequantize_of(nodes, conv.input[1], constants, constant=True)
    quantize = _sole(nodes, conv.output[0], "QuantizeLinear", outputs)
    if x is None or w is None or quantize is None or len(x.input) < 2:
        return None
    w_scale = constants.values.get(w.input[1])
    if w_scale is None or (w_scale.size > 1 and _attr(w, "axis", 1) != 0):  # per output channel only
        return None
    bias = None
    if len(conv.input) > 2 and conv.input[2]:
        bias = _dequantize_of(nodes, conv.input[2], constants, constant=True)
        if bias is None:
            return None
    x_in, w_in, q_in = _padded(x, 3), _padded(w, 3), _padded(quantize, 3)
    fused = helper.make_node("QLinearConv", [x_in[0], x_in[1], x_in[2], w_in[0], w_in[1], w_in[2], q_in[1], q_in[2],
                                             bias.input[0] if bias is not None else ""],
                             [quantize.output[0]], name=conv.name or quantize.output[0])
    fused.attribute.extend(conv.attribute)
    return fused, [conv, quantize] + _sole_users_removed(nodes, (x, w, bias), outputs)


def _match_qdq_global_pool(pool, nodes, constants: set[str], outputs: set[str]):
    """DQ(x) -> GlobalAveragePool -> Q  =>  QLinearGlobalAveragePool(x_q, x_scale, x_zp, y_scale, y_zp)."""
    x = _dequantize_of(nodes, pool.input[0], constants, constant=False)
    quantize = _sole(nodes, pool.output[0], "QuantizeLinear", outputs)
    if x is None or quantize is None or len(x.input) < 2:
        return None
    x_in, q_in = _padded(x, 3), _padded(quantize, 3)
    fused = helper.make_node("QLinearGlobalAveragePool", [x_in[0], x_in[1], x_in[2], q_in[1], q_in[2]],
                             [quantize.output[0]], name=pool.name or quantize.output[0])
    return fused, [pool, quantize] + _sole_users_removed(nodes, (x,), outputs)


def _match_qdq_passthrough(op, nodes, constants: set[str], outputs: set[str]):
    """DQ(x) -> MaxPool | Flatten | Reshape -> Q with equal scales and zero points  =>  the op on x_q."""
    x = _dequantize_of(nodes, op.input[0], constants, constant=False)
    quantize = _sole(nodes, op.output[0], "QuantizeLinear", outputs)
    if x is None or quantize is None or len(op.output) != 1:
        return None
    x_in, q_in = _padded(x, 3), _padded(quantize, 3)
    for a, b in ((x_in[1], q_in[1]), (x_in[2], q_in[2])):
        va, vb = constants.values.get(a) if a else None, constants.values.get(b) if b else None
        if (a == "") != (b == "") or (a and (va is None or vb is None or va.dtype != vb.dtype
                                             or not np.array_equal(va, vb))):
            return None
    if _attr(x, "axis", 1) != _attr(quantize, "axis", 1) and constants.values[x_in[1]].size > 1:
        return None
    moved = helper.make_node(op.op_type, [x_in[0], *op.input[1:]], [quantize.output[0]], name=op.name)
    moved.attribute.extend(op.attribute)
    return moved, [op, quantize] + _sole_users_removed(nodes, (x,), outputs)


def emit_typed(im, op: str, inputs: list[str], outputs: list[tuple[str, tuple, str]], name: str, **attrs) -> None:
    """Append an IR node whose outputs are typed (uint8 activations, scalar scales): the
    importer's own `emit` makes one float32 output."""
    from ..ir import Node, TensorInfo

    for tensor, shape, dtype in outputs:
        if tensor in im.tensors or tensor in im.constants:
            raise ModelFormatError(f"tensor {tensor!r} is produced twice")
        im.tensors[tensor] = TensorInfo(tensor, tuple(int(d) for d in shape), dtype)
    im.nodes.append(Node(op, list(inputs), [t for t, _, _ in outputs], attrs, name))
