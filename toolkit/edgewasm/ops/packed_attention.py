"""onnxruntime's com.microsoft Attention, which its BERT optimizer writes (optimum O2+ files): one
packed QKV projection, then multi-head attention. Adopted under the name com.microsoft.Attention
(frontend/contrib.py; the default domain's Attention is opset 23's) and imported as
    Q, K, V = input @ W[:, :Hq] + b[:Hq], ... (the packed weights split at compile time)
    Y = Attention(Q, K, V, mask)   the standard op (ops/attention.py), q/kv_num_heads = num_heads,
                                   is_causal = unidirectional, scale as given (1/sqrt(head) default)
with mask the float mask onnxruntime builds: 0 where a key is kept, mask_filter_value (-10000)
where not, from mask_index as
    [B]          keys j < mask_index[b] kept (right padding: the valid lengths)
    [B, T]       keys with a mask value > 0 kept (the raw attention mask)
    [B, S, T]    per query as well
plus attention_bias ([B or 1, N, S, T]) when given. On float16 tensors the whole block runs in
float32 and the output is rounded once, as onnxruntime's float-only CPU kernel does between casts.
past/present (decoding with a cache), past_sequence_length, rotary embedding and the [2B] start/end
mask are refused by name. MultiHeadAttention (separate query, key and value, already projected) is
the same block without the projection (import_multi_head_attention)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.contrib import half_of, in_float32, narrow, output_in_float32

IR_OP = None
NAME = "com.microsoft.Attention"


def import_packed_attention(im, node, at) -> None:
    where = f"Attention node {node.name!r} (com.microsoft)"
    names = list(node.input) + [""] * (7 - len(node.input))
    x, weights, bias, mask, past, attention_bias, past_length = names
    if past or past_length or (len(node.output) > 1 and node.output[1]):
        raise UnsupportedModelError(f"{where}: past/present (decoding with a key/value cache) is not supported")
    if int(at.get("do_rotary", 0)) or int(at.get("past_present_share_buffer", 0)):
        raise UnsupportedModelError(f"{where}: do_rotary and past_present_share_buffer are not supported")
    shape = im.shape(x)
    if len(shape) != 3:
        raise ModelFormatError(f"{where}: input must be [batch, sequence, hidden], got {list(shape)}")
    batch, sequence, _ = shape
    if "num_heads" not in at:
        raise ModelFormatError(f"{where}: the num_heads attribute is required")
    heads = int(at["num_heads"])
    w = im.const(weights, node, "the packed QKV weights")
    if w.ndim != 2 or w.shape[0] != shape[2]:
        raise ModelFormatError(f"{where}: weights of shape {list(w.shape)} do not project an input of {list(shape)}")
    sizes = [int(s) for s in at.get("qkv_hidden_sizes", [w.shape[1] // 3] * 3)]
    if len(sizes) != 3 or sum(sizes) != w.shape[1] or sizes[0] != sizes[1] or any(s % heads for s in sizes):
        raise ModelFormatError(f"{where}: qkv_hidden_sizes {sizes} do not split weights of {w.shape[1]} columns "
                               f"into Q, K (equal) and V, each a multiple of num_heads {heads}")
    b = im.const(bias, node, "the packed QKV bias").reshape(-1) if bias else None
    if b is not None and b.size != w.shape[1]:
        raise ModelFormatError(f"{where}: bias of {b.size} values for {w.shape[1]} columns")
    half = half_of(im, x)
    (x,) = in_float32(im, node, [x], half)
    build, edges = _Builder(im, node), np.cumsum([0, *sizes])

    projected = []
    for part, lo, hi in zip("qkv", edges[:-1], edges[1:]):
        y = build.add("MatMul", [x, build.constant(f"w{part}", w[:, lo:hi].astype(np.float32))])
        if b is not None:
            y = build.add("Add", [y, build.constant(f"b{part}", b[lo:hi].astype(np.float32))])
        projected.append(y)
    (attention_bias,) = in_float32(im, node, [attention_bias], half)
    _attend(build, where, at, projected, mask, attention_bias, batch, sequence, sequence, heads, half)


def import_multi_head_attention(im, node, at) -> None:
    """com.microsoft MultiHeadAttention with separate 3-D query, key and value ([B, S, D], [B, L, D],
    [B, L, Dv]): the optional bias [D + D + Dv] added to each, key_padding_mask as Attention's
    mask_index ([B] lengths, [B, L] raw), attention_bias, then the standard Attention."""
    where = f"MultiHeadAttention node {node.name!r} (com.microsoft)"
    names = list(node.input) + [""] * (10 - len(node.input))
    query, key, value, bias, mask, attention_bias = names[:6]
    if any(names[6:]) or any(node.output[1:]):
        raise UnsupportedModelError(f"{where}: past/present (decoding with a key/value cache) is not supported")
    if not key or not value:
        raise UnsupportedModelError(f"{where}: packed QKV or KV inputs are not supported (separate query, key "
                                    "and value)")
    shapes = [im.shape(name) for name in (query, key, value)]
    if any(len(shape) != 3 for shape in shapes):
        raise UnsupportedModelError(f"{where}: query, key and value must be 3-D [batch, sequence, hidden], got "
                                    f"{[list(shape) for shape in shapes]}")
    (batch, sequence, _), (_, keys, _), _ = shapes
    if "num_heads" not in at:
        raise ModelFormatError(f"{where}: the num_heads attribute is required")
    heads = int(at["num_heads"])
    half = half_of(im, query)
    query, key, value, bias, attention_bias = in_float32(im, node, [query, key, value, bias, attention_bias], half)
    build = _Builder(im, node)

    projected = [query, key, value]
    if bias:
        b = im.const(bias, node, "the bias").reshape(-1).astype(np.float32)
        widths = [shape[2] for shape in shapes]
        if b.size != sum(widths):
            raise ModelFormatError(f"{where}: bias of {b.size} values for Q, K, V of {widths}")
        edges = np.cumsum([0, *widths])
        projected = [build.add("Add", [t, build.constant(f"b{i}", b[lo:hi])]) for i, (t, lo, hi)
                     in enumerate(zip(projected, edges[:-1], edges[1:]))]
    _attend(build, where, at, projected, mask, attention_bias, batch, sequence, keys, heads, half)


class _Builder:
    """The ONNX nodes and constants one contrib node becomes, named after its first output."""

    def __init__(self, im, node):
        self.im, self.node, self.nodes = im, node, []

    def constant(self, label: str, value: np.ndarray) -> str:
        name = self.im.fresh(f"{self.node.output[0]}__{label}")
        self.im.constants[name] = np.ascontiguousarray(value)
        return name

    def add(self, op: str, inputs: list[str], **attrs) -> str:
        out = self.im.fresh(f"{self.node.output[0]}__{op.lower()}")
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{self.node.name} ({op})", **attrs))
        return out


def _attend(build: _Builder, where: str, at, projected: list[str], mask: str, attention_bias: str, batch: int,
            sequence: int, keys: int, heads: int, half: str | None) -> None:
    """The standard Attention of projected (float32) Q, K, V with onnxruntime's mask and bias."""
    im, node = build.im, build.node
    filter_value = np.float32(at.get("mask_filter_value", -10000.0))
    additive = _mask(im, where, mask, batch, sequence, keys, filter_value, build) if mask else None
    if attention_bias:
        additive = build.add("Add", [additive, attention_bias]) if additive else attention_bias
    y = output_in_float32(im, node, node.output[0], half)
    attrs = dict(q_num_heads=heads, kv_num_heads=heads, is_causal=int(at.get("unidirectional", 0)))
    if "scale" in at and float(at["scale"]) != 0.0:
        attrs["scale"] = float(at["scale"])
    build.nodes.append(helper.make_node("Attention", projected + ([additive] if additive else []), [y],
                                        name=node.name, **attrs))
    im.import_nodes(build.nodes)
    narrow(im, node, y, node.output[0], half)


def _mask(im, where, mask, batch, sequence, keys, filter_value, build: _Builder) -> str:
    """The float mask [B, 1, S or 1, T] onnxruntime adds to the scores: 0 kept, filter_value not."""
    shape = im.shape(mask)
    if shape == (batch,):  # valid lengths: key j kept iff j < length[b]
        lengths = build.add("Cast", [mask], to=TensorProto.INT64)
        lengths = build.add("Reshape", [lengths, build.constant("lengths_shape", np.array([batch, 1], np.int64))])
        positions = build.constant("key_positions", np.arange(keys, dtype=np.int64).reshape(1, keys))
        keep = build.add("Less", [positions, lengths])
        view = (batch, 1, 1, keys)
    elif len(shape) == 2 and shape[0] == batch or len(shape) == 3 and shape[:2] == (batch, sequence):
        values = build.add("Cast", [mask], to=TensorProto.INT64)
        keep = build.add("Greater", [values, build.constant("zero", np.array(0, np.int64))])
        view = (batch, 1, 1, shape[1]) if len(shape) == 2 else (batch, 1, sequence, shape[2])
    else:
        raise UnsupportedModelError(f"{where}: mask_index of shape {list(shape)} is not supported ([batch] lengths, "
                                    "[batch, keys] or [batch, queries, keys] masks)")
    kept, masked = build.constant("kept", np.array(0, np.float32)), build.constant("filter", filter_value)
    additive = build.add("Where", [keep, kept, masked])
    return build.add("Reshape", [additive, build.constant("mask_shape", np.array(view, np.int64))])

IMPORTS = {NAME: (import_packed_attention, 2, 7), "MultiHeadAttention": (import_multi_head_attention, 1, 10)}
