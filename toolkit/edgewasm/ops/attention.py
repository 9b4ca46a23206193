"""Attention (opsets 23, 24, 25): scaled dot-product attention, decomposed at import into existing
IR ops through the op's own ONNX function body.

The node is checked here first (dtypes, ranks, head counts, head sizes, past/present shapes, the
mask's broadcast, attribute values), every failure a one-line typed error naming the node. Then
onnx's schema builds the context-dependent function body for these input types and attributes
(`get_context_dependent_function_with_opset_version`: the same nodes onnx's `_expanded` test
models hold), its tensors are renamed under a fresh prefix and bound to the node's inputs and
outputs, and the importer imports them like any other nodes: shape arithmetic (Shape, Range,
Gather, the causal and padding masks of a static shape) folds to constants at compile time, and
what remains is IR Reshape/Transpose/Concat/Expand (3-D packing, past_key/past_value -> present,
GQA/MQA head repetition), MatMul (QK^T and PV), Mul (sqrt(scale) on Q and K), Tanh (softcap),
Add and Where (attn_mask, is_causal with its past offset, nonpad_kv_seqlen, the fully-masked-row
guard), Softmax and Cast (softmax_precision).

Two steps differ from the body, to agree with onnx's reference implementation: a mask with fewer
columns than the keys (past + new) is padded on the right with False / -inf first (a Concat with a
constant), and sqrt(scale) (1/sqrt(head_size) by default) is a constant computed in float64 and
rounded once to Q's dtype (the body takes the square root in float32). In qk_matmul_output_mode 0
with a softcap, the output is the raw QK product as the spec, the body and onnxruntime have it
(onnx's reference evaluator returns the softcapped scores there).

Numerics follow the spec's body: float32 in float32; float16/bfloat16 round to their dtype between
ops like the reference (each float32-only kernel runs between casts); float64 stays in float64
(MatMul as a float64 Einsum, Softmax by float64_ops). Fully masked rows are 0 in Y and in the
softmax-mode qk_matmul_output, as the spec's guard makes them.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from .. import dtypes
from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.arguments import optional_input

IR_OP = None

FLOATS = ("float32", "float16", "bfloat16", "float64")
SOFTMAX_PRECISIONS = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16"}


def _check(im, node, at) -> None:
    """Refuse what the spec does not allow (ModelFormatError) or what is not computed
    (UnsupportedModelError), with one line naming the node."""
    where = f"Attention node {node.name!r}"
    q, k, v = node.input[:3]
    mask, past_k, past_v, nonpad = (optional_input(node, i) for i in (3, 4, 5, 6))
    dtype = im.dtype(q)
    if dtype not in FLOATS:
        raise UnsupportedModelError(f"{where}: Q has dtype {dtype}; Attention takes float32, float16, bfloat16 "
                                    "or float64")
    for name, what in ((k, "K"), (v, "V"), (past_k, "past_key"), (past_v, "past_value")):
        if name is not None and im.dtype(name) != dtype:
            raise ModelFormatError(f"{where}: {what} has dtype {im.dtype(name)}, Q has {dtype}")
    if mask is not None and im.dtype(mask) not in ("bool", dtype):
        raise ModelFormatError(f"{where}: attn_mask has dtype {im.dtype(mask)}; it must be bool or Q's dtype "
                               f"({dtype})")
    if nonpad is not None:
        if im.opset < 24:
            raise ModelFormatError(f"{where}: the nonpad_kv_seqlen input needs opset 24 (the model has "
                                   f"{im.opset})")
        if im.dtype(nonpad) != "int64":
            raise ModelFormatError(f"{where}: nonpad_kv_seqlen has dtype {im.dtype(nonpad)}; it must be int64")
    if (past_k is None) != (past_v is None):
        raise ModelFormatError(f"{where}: past_key and past_value must be given together")
    if nonpad is not None and past_k is not None:
        raise ModelFormatError(f"{where}: nonpad_kv_seqlen cannot be combined with past_key/past_value")

    qs, ks, vs = im.shape(q), im.shape(k), im.shape(v)
    rank = len(qs)
    if rank not in (3, 4) or len(ks) != rank or len(vs) != rank:
        raise ModelFormatError(f"{where}: Q, K and V must all have rank 3 or all rank 4, got shapes "
                               f"{list(qs)}, {list(ks)}, {list(vs)}")
    hq_attr, hkv_attr = at.get("q_num_heads"), at.get("kv_num_heads")
    if rank == 3:
        if hq_attr is None or hkv_attr is None:
            raise ModelFormatError(f"{where}: 3-D Q/K/V need the q_num_heads and kv_num_heads attributes")
        hq, hkv = int(hq_attr), int(hkv_attr)
        if hq <= 0 or hkv <= 0:
            raise ModelFormatError(f"{where}: q_num_heads ({hq}) and kv_num_heads ({hkv}) must be positive")
        for shape, heads, what in ((qs, hq, "Q"), (ks, hkv, "K"), (vs, hkv, "V")):
            if shape[2] % heads:
                raise ModelFormatError(f"{where}: {what}'s hidden size {shape[2]} is not divisible by its "
                                       f"{heads} heads")
        batch, q_len, kv_len = qs[0], qs[1], ks[1]
        head, k_head, v_head = qs[2] // hq, ks[2] // hkv, vs[2] // hkv
        v_heads, v_len = hkv, vs[1]
    else:
        if im.opset >= 25 and (hq_attr is not None or hkv_attr is not None):
            raise ModelFormatError(f"{where}: q_num_heads and kv_num_heads must not be given for 4-D inputs "
                                   "(opset 25)")
        batch, hq, q_len, head = qs
        _, hkv, kv_len, k_head = ks
        _, v_heads, v_len, v_head = vs
        for attr, value, what in ((hq_attr, hq, "Q"), (hkv_attr, hkv, "K")):
            if attr is not None and int(attr) != value:
                raise ModelFormatError(f"{where}: {what} has {value} heads, the attribute says {int(attr)}")
    if ks[0] != batch or vs[0] != batch:
        raise ModelFormatError(f"{where}: Q, K and V differ in batch size ({list(qs)}, {list(ks)}, {list(vs)})")
    if k_head != head:
        raise ModelFormatError(f"{where}: K's head size {k_head} differs from Q's {head}")
    if v_heads != hkv or v_len != kv_len:
        raise ModelFormatError(f"{where}: V ({list(vs)}) must have K's heads and sequence length ({list(ks)})")
    if hq % hkv:
        raise ModelFormatError(f"{where}: Q's {hq} heads are not a multiple of K/V's {hkv} heads")
    if min(batch, hq, q_len, kv_len, head, v_head) == 0:
        raise UnsupportedModelError(f"{where}: empty tensors (shapes {list(qs)}, {list(ks)}, {list(vs)}) are "
                                    "not supported")
    past = 0
    if past_k is not None:
        pk, pv = im.shape(past_k), im.shape(past_v)
        if len(pk) != 4 or pk[0] != batch or pk[1] != hkv or pk[3] != head:
            raise ModelFormatError(f"{where}: past_key must have shape [{batch}, {hkv}, past, {head}], got "
                                   f"{list(pk)}")
        if len(pv) != 4 or pv[0] != batch or pv[1] != hkv or pv[2] != pk[2] or pv[3] != v_head:
            raise ModelFormatError(f"{where}: past_value must have shape [{batch}, {hkv}, {pk[2]}, {v_head}], "
                                   f"got {list(pv)}")
        past = pk[2]
    total = past + kv_len
    if nonpad is not None and im.shape(nonpad) != (batch,):
        raise ModelFormatError(f"{where}: nonpad_kv_seqlen must have shape [{batch}], got {list(im.shape(nonpad))}")
    if mask is not None:
        ms = im.shape(mask)
        if not 1 <= len(ms) <= 4 or ms[-1] > total:
            raise ModelFormatError(f"{where}: attn_mask {list(ms)} must have rank 1 to 4 and at most {total} "
                                   "columns")
        padded = ms[:-1] + (total,)
        try:
            np.broadcast_shapes(padded, (batch, hq, q_len, total))
        except ValueError:
            raise ModelFormatError(f"{where}: attn_mask {list(ms)} does not broadcast to the scores "
                                   f"[{batch}, {hq}, {q_len}, {total}]") from None
    mode = int(at.get("qk_matmul_output_mode", 0))
    if mode not in (0, 1, 2, 3):
        raise ModelFormatError(f"{where}: qk_matmul_output_mode {mode} is not 0, 1, 2 or 3")
    precision = at.get("softmax_precision")
    if precision is not None and int(precision) not in SOFTMAX_PRECISIONS:
        raise ModelFormatError(f"{where}: softmax_precision {int(precision)} is not a float type "
                               "(float32, float16, bfloat16 or float64)")
    if int(at.get("is_causal", 0)) not in (0, 1):
        raise ModelFormatError(f"{where}: is_causal must be 0 or 1, got {int(at['is_causal'])}")
    if float(at.get("softcap", 0.0)) < 0:
        raise ModelFormatError(f"{where}: softcap must not be negative, got {float(at['softcap'])}")
    for attr in ("left_window_size", "right_window_size"):
        if attr in at and (im.opset < 25 or int(at[attr]) < -1):
            raise ModelFormatError(f"{where}: {attr} {int(at[attr])} is not allowed (opset 25, -1 or >= 0)")


def _type(im, name: str) -> onnx.TypeProto:
    return helper.make_tensor_type_proto(dtypes.to_onnx(im.dtype(name)), list(im.shape(name)))


def _rename(inner: onnx.NodeProto, rename, attributes: dict, name: str) -> onnx.NodeProto:
    out = onnx.NodeProto()
    out.CopyFrom(inner)
    del out.input[:], out.output[:], out.attribute[:]
    out.input.extend(rename(i) for i in inner.input)
    out.output.extend(rename(o) for o in inner.output)
    out.name = name
    for attr in inner.attribute:
        if attr.HasField("ref_attr_name"):
            if attr.ref_attr_name in attributes:
                bound = onnx.AttributeProto()
                bound.CopyFrom(attributes[attr.ref_attr_name])
                bound.name = attr.name
                out.attribute.append(bound)
        elif attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            raise UnsupportedModelError(f"Attention node {name!r}: its function body has a subgraph")
        else:
            out.attribute.append(attr)
    return out


def expand(im, node) -> list[onnx.NodeProto]:
    """The Attention node's function body for its input types, bound to its tensors."""
    version = max(v for v in (23, 24, 25) if v <= max(im.opset, 23))
    schema = onnx.defs.get_schema("Attention", version)
    full = onnx.NodeProto()
    full.CopyFrom(node)
    given = {a.name for a in node.attribute}
    for attr in schema.attributes.values():  # the schema's defaults, as onnx's expanded tests bind them
        if attr.name not in given and attr.default_value.name:
            full.attribute.append(attr.default_value)
    types = [_type(im, name) if name else onnx.TypeProto() for name in node.input]
    body = onnx.FunctionProto()
    body.ParseFromString(schema.get_context_dependent_function_with_opset_version(
        schema.since_version, full.SerializeToString(), [t.SerializeToString() for t in types]))
    prefix = im.fresh(f"{node.name or node.output[0]}__attention") + "__"
    bound = {formal: (node.input[i] if i < len(node.input) else "") for i, formal in enumerate(body.input)}
    bound.update({formal: node.output[i] for i, formal in enumerate(body.output)
                  if i < len(node.output) and node.output[i]})

    def rename(name: str) -> str:
        return bound[name] if name in bound else (prefix + name if name else "")

    attributes = {a.name: a for a in full.attribute}
    label = node.name or node.output[0]
    return [_rename(inner, rename, attributes, f"{label}/{inner.op_type}{i}") for i, inner in enumerate(body.node)]


def _head_size(im, node, at) -> int:
    qs = im.shape(node.input[0])
    return qs[3] if len(qs) == 4 else qs[2] // int(at["q_num_heads"])


def _exact_scale(im, node, at, nodes: list[onnx.NodeProto]) -> list[onnx.NodeProto]:
    """The body computes sqrt(scale) in float32 and casts it to Q's dtype; the reference takes the
    square root in float64 (1/sqrt(head_size) when scale is absent) before that cast, which float64
    tensors can tell apart. That one Cast becomes the constant, computed as the reference does."""
    kept = []
    for inner in nodes:
        if inner.op_type == "Cast" and len(inner.output) == 1 and inner.output[0].endswith("__ScaleFactorF"):
            scale = float(at["scale"]) if "scale" in at else 1.0 / np.sqrt(_head_size(im, node, at))
            im.constants[inner.output[0]] = np.asarray(np.sqrt(np.float64(scale)),
                                                      dtypes.numpy_dtype(im.dtype(node.input[0])))
            continue
        kept.append(inner)
    return kept


def _padded_mask(im, node) -> onnx.NodeProto:
    """A mask with fewer columns than the keys (past + new) is padded with False / -inf on the right,
    as the reference pads it (the body does not, with a past cache)."""
    mask = optional_input(node, 3)
    if mask is None:
        return node
    ms, ks = im.shape(mask), im.shape(node.input[1])
    past = optional_input(node, 4)
    total = (ks[1] if len(ks) == 3 else ks[2]) + (im.shape(past)[2] if past is not None else 0)
    if ms[-1] == total:
        return node
    dtype = dtypes.numpy_dtype(im.dtype(mask))
    fill = im.fresh(f"{mask}__pad")
    im.constants[fill] = np.full(ms[:-1] + (total - ms[-1],), False if dtype == np.bool_ else -np.inf, dtype)
    padded = im.fresh(f"{mask}__padded")
    im.import_nodes([helper.make_node("Concat", [mask, fill], [padded], f"{node.name}/mask_pad", axis=-1)])
    out = onnx.NodeProto()
    out.CopyFrom(node)
    out.input[3] = padded
    return out


def import_attention(im, node, at) -> None:
    _check(im, node, at)
    node = _padded_mask(im, node)
    im.import_nodes(_exact_scale(im, node, at, expand(im, node)))


IMPORTS = {"Attention": (import_attention, 3, 7)}
