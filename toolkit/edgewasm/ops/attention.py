"""Attention (opsets 23, 24, 25): scaled dot-product attention, decomposed at import into standard
ONNX nodes that the other units import into existing IR ops (no kernel of its own).

The node is checked first (dtypes, ranks, head counts and sizes, past shapes, the mask's broadcast,
attribute values), every failure a one-line typed error naming the node. Then, as onnx's reference
implementation computes it (onnx/reference/ops/op_attention.py):

    3-D Q/K/V (B, S, H*D) -> Reshape (B, S, H, D) -> Transpose (B, H, S, D)
    past_key/past_value: Concat along the sequence axis -> present_key/present_value
    scores = (Q * c) @ Transpose(K * c)           c = sqrt(scale), scale = 1/sqrt(head_size) by default,
                                                   computed in float64 and rounded once to Q's dtype
    softcap > 0: scores = Tanh(scores / softcap) * softcap
    bias = attn_mask (bool: Where(mask, 0, -inf); fewer columns than keys: padded with False / -inf)
         + the causal frontier (key j allowed iff j <= i + offset, offset = past length) and the
           opset-25 sliding window, a compile-time constant (0 / -inf)
         + with nonpad_kv_seqlen n (run time): keys j < n_b, and the frontier with offset n_b - Sq,
           as int64 comparisons of constant index grids with n (Less / LessOrEqual / And / Where)
    P = Softmax(scores + bias) (in softmax_precision between Casts when given), and rows whose bias
        is all -inf are 0 (a constant guard, or ReduceMax/Equal of a run-time bias)
    Y = P @ V, back to (B, S, H*Dv) for 3-D inputs
    qk_matmul_output: mode 0 the raw product, 1 after softcap, 2 with the bias, 3 P

GQA/MQA (kv heads < q heads; query head h reads KV head h // (Hq/Hkv)) never repeats K or V: the
query heads of a group are stacked by a free Reshape to (B, Hkv, g*S, D), multiplied by their KV
head, and reshaped back. Constants fold at compile time (masks, frontiers, guards).

dtypes: float32 in float32; float64 in float64 (MatMul as a float64 Einsum, Softmax by
float64_ops); float16/bfloat16 round to their dtype between ops like the reference, each float32
kernel running between casts. In mode 0 with a softcap the output is the raw product as the spec
and onnxruntime have it (onnx's reference evaluator returns the softcapped scores there).
"""

from __future__ import annotations

import numpy as np
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


class _Nodes:
    """Imports standard ONNX nodes one at a time under fresh names (so constants fold and every
    dtype takes its unit's path: float64 in float64, float16/bfloat16 between casts)."""

    def __init__(self, im, node):
        self.im, self.node = im, node
        self.base = (node.name or node.output[0]) + "__attention"
        self.count = 0

    def const(self, value, what: str = "c") -> str:
        name = self.im.fresh(f"{self.base}__{what}")
        self.im.constants[name] = np.ascontiguousarray(value)
        return name

    def op(self, op_type: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        self.count += 1
        output = output or self.im.fresh(f"{self.base}__{op_type.lower()}")
        self.im.import_nodes([helper.make_node(op_type, inputs, [output], f"{self.node.name}/{op_type}{self.count}",
                                               **attrs)])
        return output

    def reshape(self, x: str, shape, output: str | None = None) -> str:
        if output is None and tuple(shape) == self.im.shape(x):
            return x
        return self.op("Reshape", [x, self.const(np.array(shape, np.int64), "shape")], output)

    def transpose(self, x: str, perm) -> str:
        return self.op("Transpose", [x], perm=list(perm))

    def identity(self, x: str, output: str) -> str:
        return self.op("Identity", [x], output)


def _heads(nodes: _Nodes, x: str, heads: int) -> str:
    """(B, S, H*D) -> (B, H, S, D); 4-D inputs as they are."""
    shape = nodes.im.shape(x)
    if len(shape) == 4:
        return x
    b, s, hidden = shape
    return nodes.transpose(nodes.reshape(x, (b, s, heads, hidden // heads)), (0, 2, 1, 3))


def _grouped_matmul(nodes: _Nodes, a: str, b: str, hkv: int) -> str:
    """a (B, Hq, S, n) @ b (B, Hkv, n, m) with query head h reading KV head h // (Hq / Hkv): the
    query heads of a group are stacked into one (B, Hkv, g*S, n) matrix (a free reshape), so the
    KV heads are never repeated."""
    batch, hq, rows, _ = nodes.im.shape(a)
    m = nodes.im.shape(b)[3]
    if hq == hkv:
        return nodes.op("MatMul", [a, b])
    grouped = nodes.reshape(a, (batch, hkv, (hq // hkv) * rows, nodes.im.shape(a)[3]))
    return nodes.reshape(nodes.op("MatMul", [grouped, b]), (batch, hq, rows, m))


def _static_bias(shape_q: int, total: int, causal: bool, offset: int, left: int, right: int) -> np.ndarray | None:
    """The (Sq, T) causal / sliding-window frontier as a bool 'allowed' array (None: all allowed)."""
    i = np.arange(shape_q)[:, None] + offset
    j = np.arange(total)[None, :]
    allowed = np.ones((shape_q, total), bool)
    if causal:
        allowed &= j <= i
    if left >= 0:
        allowed &= i - j <= left
    if right >= 0:
        allowed &= j - i <= right
    return None if allowed.all() else allowed


def import_attention(im, node, at) -> None:
    _check(im, node, at)
    nodes = _Nodes(im, node)
    q, k, v = node.input[:3]
    mask, past_k, past_v, nonpad = (optional_input(node, i) for i in (3, 4, 5, 6))
    dtype = im.dtype(q)
    np_dtype = dtypes.numpy_dtype(dtype)
    rank = len(im.shape(q))
    outputs = list(node.output) + [""] * (4 - len(node.output))

    hq = im.shape(q)[1] if rank == 4 else int(at["q_num_heads"])
    hkv = im.shape(k)[1] if rank == 4 else int(at["kv_num_heads"])
    qh, kh, vh = _heads(nodes, q, hq), _heads(nodes, k, hkv), _heads(nodes, v, hkv)
    batch, _, q_len, head = im.shape(qh)
    if past_k is not None:
        kh = nodes.op("Concat", [past_k, kh], outputs[1] or None, axis=2)
        vh = nodes.op("Concat", [past_v, vh], outputs[2] or None, axis=2)
        past = im.shape(past_k)[2]
    else:
        past = 0
        for x, out in ((kh, outputs[1]), (vh, outputs[2])):
            if out:
                nodes.identity(x, out)
    total = im.shape(kh)[2]

    # scores = (Q * sqrt(scale)) @ (K * sqrt(scale))^T, sqrt(scale) rounded once to Q's dtype
    scale = float(at["scale"]) if "scale" in at else 1.0 / np.sqrt(head)
    root = nodes.const(np.asarray(np.sqrt(np.float64(scale)), np_dtype), "sqrt_scale")
    kt = nodes.transpose(nodes.op("Mul", [kh, root]), (0, 1, 3, 2))
    scores = _grouped_matmul(nodes, nodes.op("Mul", [qh, root]), kt, hkv)
    raw = scores
    softcap = float(at.get("softcap", 0.0))
    if softcap > 0:
        cap = nodes.const(np.asarray(softcap, np_dtype), "softcap")
        scores = nodes.op("Mul", [nodes.op("Tanh", [nodes.op("Div", [scores, cap])]), cap])

    # the additive bias: attn_mask (bool -> 0 / -inf), causal and window frontiers, padding
    zero, minus_inf = nodes.const(np.asarray(0, np_dtype), "zero"), nodes.const(np.asarray(-np.inf, np_dtype), "ninf")
    terms = []
    if mask is not None:
        ms = im.shape(mask)
        if ms[-1] < total:  # fewer columns than keys: padded with False / -inf, as the reference does
            fill = np.full(ms[:-1] + (total - ms[-1],), False if im.dtype(mask) == "bool" else -np.inf,
                           dtypes.numpy_dtype(im.dtype(mask)))
            mask = nodes.op("Concat", [mask, nodes.const(fill, "mask_pad")], axis=-1)
        terms.append(nodes.op("Where", [mask, zero, minus_inf]) if im.dtype(mask) == "bool" else mask)
    causal = bool(int(at.get("is_causal", 0)))
    left, right = int(at.get("left_window_size", -1)), int(at.get("right_window_size", -1))
    if nonpad is None:
        allowed = _static_bias(q_len, total, causal, past, left, right)
        if allowed is not None:
            terms.append(nodes.const(np.where(allowed, np_dtype.type(0), np_dtype.type(-np.inf)), "frontier"))
    else:  # per batch item b: keys j < n_b; the frontier's offset is n_b - Sq
        seqlen = nodes.reshape(nonpad, (batch, 1, 1, 1))
        j = np.arange(total, dtype=np.int64)
        keep = nodes.op("Less", [nodes.const(j.reshape(1, 1, 1, total), "key_index"), seqlen])
        d = j[None, :] - np.arange(q_len, dtype=np.int64)[:, None] + q_len  # j - i + Sq: allowed iff <= n_b
        if causal:
            keep = nodes.op("And", [keep, nodes.op("LessOrEqual", [nodes.const(d, "causal_index"), seqlen])])
        if left >= 0:  # i + n_b - Sq - j <= left  <=>  n_b <= left + (j - i + Sq)
            keep = nodes.op("And", [keep, nodes.op("LessOrEqual", [seqlen, nodes.const(d + left, "left_index")])])
        if right >= 0:  # j - i - n_b + Sq <= right  <=>  (j - i + Sq) - right <= n_b
            keep = nodes.op("And", [keep, nodes.op("LessOrEqual", [nodes.const(d - right, "right_index"), seqlen])])
        terms.append(nodes.op("Where", [keep, zero, minus_inf]))
    bias = None
    for term in terms:
        bias = term if bias is None else nodes.op("Add", [bias, term])
    biased = scores if bias is None else nodes.op("Add", [scores, bias])

    mode = int(at.get("qk_matmul_output_mode", 0))
    if outputs[3] and mode in (0, 1, 2):
        nodes.identity({0: raw, 1: scores, 2: biased}[mode], outputs[3])

    precision = at.get("softmax_precision")
    wide = SOFTMAX_PRECISIONS.get(int(precision)) if precision is not None else None
    if wide is not None and wide != dtype:
        soft = nodes.op("Softmax", [nodes.op("Cast", [biased], to=dtypes.to_onnx(wide))], axis=-1)
        probs = nodes.op("Cast", [soft], to=dtypes.to_onnx(dtype))
    else:
        probs = nodes.op("Softmax", [biased], axis=-1)
    if bias is not None:  # a query row with no allowed key is 0, not NaN
        if bias in im.constants:
            dead = np.isneginf(np.max(np.broadcast_to(im.constants[bias], im.shape(bias)), axis=-1, keepdims=True))
            guard = nodes.const(dead, "dead_rows") if dead.any() else None
        else:
            guard = nodes.op("Equal", [nodes.op("ReduceMax", [bias, nodes.const(np.array([-1], np.int64), "axes")],
                                                keepdims=1), minus_inf])
        if guard is not None:
            probs = nodes.op("Where", [guard, zero, probs])
    if outputs[3] and mode == 3:
        nodes.identity(probs, outputs[3])

    y = _grouped_matmul(nodes, probs, vh, hkv)
    if rank == 3:
        b, h, s, d = im.shape(y)
        nodes.reshape(nodes.transpose(y, (0, 2, 1, 3)), (b, s, h * d), outputs[0])
    else:
        nodes.identity(y, outputs[0])


IMPORTS = {"Attention": (import_attention, 3, 7)}
