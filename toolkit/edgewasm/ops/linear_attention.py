"""LinearAttention (opset 27): the linear-attention recurrence, unrolled over the (static) sequence
length at import time into existing IR ops (no kernel of its own).

query (B, T, Hq*dk), key (B, T, Hkv*dk), value (B, T, Hkv*dv); the state S is (B, Hkv, dk, dv),
from past_state or zeros. Per token t, as onnx's reference runs it:
    gated rules ('gated', 'gated_delta'):  S = S * exp(decay_t)        decay (B, T, Hkv) or (B, T, Hkv*dk)
    delta rules ('delta', 'gated_delta'):  v_t = beta_t * (v_t - k_t^T S)    beta (B, T, Hkv) or (B, T, 1)
    S = S + k_t (x) v_t                     (an outer product: a broadcast Mul)
    o_t = q_t S                             (IR MatMul; query head h reads KV head h // (Hq / Hkv))
output = scale * concat_t(o_t) in (B, T, Hq*dv) with scale 1/sqrt(dk) when 0 (the default);
present_state is the last S. A token's slices of the packed (B, T, H*D) tensors are reshaped
straight into per-head matrices (T = 1 needs no transpose), and a query head group shares its KV
head's S by viewing q_t as (B, Hkv, Hq/Hkv, dk).

Everything computes in float32 (the reference accumulates the state in float32 for float16 and
bfloat16 tensors too); output is cast to the query's dtype, present_state to past_state's (the
query's when past_state is absent). chunk_size is a tuning hint without effect on the result.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.arguments import optional_input
from ..frontend.recurrent import Builder
from .cast import emit_cast

IR_OP = None

DTYPES = ("float32", "float16", "bfloat16")
RULES = ("linear", "gated", "delta", "gated_delta")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _widened(im, node, b: Builder, name: str) -> str:
    """`name` as a float32 tensor (a Cast of a float16/bfloat16 activation, a float32 constant)."""
    if name in im.constants:
        return b.const(im.constants[name].astype(np.float32), "w")
    if im.dtype(name) == "float32":
        return name
    wide = im.fresh(f"{name}__float32")
    emit_cast(im, node, name, wide, "float32")
    return wide


def _finish(im, node, b: Builder, value: str, output: str, dtype: str) -> None:
    """Write the float32 tensor `value` to the node's output `output` in `dtype`."""
    if not output:
        return
    if dtype == "float32":
        b.reshape(value, im.shape(value), output=output)
    elif value in im.constants:
        im.constants[output] = im.constants[value].astype(dtypes.numpy_dtype(dtype))
    else:
        emit_cast(im, node, value, output, dtype)


def import_linear_attention(im, node, at) -> None:
    where = f"LinearAttention node {node.name!r}"
    q, k, v = node.input[:3]
    past, decay, beta = (optional_input(node, i) for i in (3, 4, 5))
    dtype = im.dtype(q)
    for name in (q, k, v, decay, beta, past):
        if name is not None and im.dtype(name) not in DTYPES:
            raise UnsupportedModelError(f"{where}: input {name!r} has dtype {im.dtype(name)}; the spec allows "
                                        "float32, float16 and bfloat16")
    for name in (k, v, decay, beta):
        if name is not None and im.dtype(name) != dtype:
            raise ModelFormatError(f"{where}: input {name!r} has dtype {im.dtype(name)}, query has {dtype}")
    rule = _text(at.get("update_rule", "gated_delta"))
    if rule not in RULES:
        raise ModelFormatError(f"{where}: update_rule {rule!r} is not one of {', '.join(map(repr, RULES))}")
    if "q_num_heads" not in at or "kv_num_heads" not in at:
        raise ModelFormatError(f"{where}: the q_num_heads and kv_num_heads attributes are required")
    hq, hkv = int(at["q_num_heads"]), int(at["kv_num_heads"])
    if hq <= 0 or hkv <= 0 or hq % hkv:
        raise ModelFormatError(f"{where}: q_num_heads ({hq}) must be a positive multiple of kv_num_heads ({hkv})")
    gating, delta = rule in ("gated", "gated_delta"), rule in ("delta", "gated_delta")
    for name, what, needed in ((decay, "decay", gating), (beta, "beta", delta)):
        if needed and name is None:
            raise ModelFormatError(f"{where}: update_rule {rule!r} requires the {what} input")
        if not needed and name is not None:
            raise ModelFormatError(f"{where}: update_rule {rule!r} takes no {what} input")

    qs, ks, vs = im.shape(q), im.shape(k), im.shape(v)
    if any(len(s) != 3 for s in (qs, ks, vs)):
        raise ModelFormatError(f"{where}: query, key and value must have rank 3 (B, T, H*D), got {qs}, {ks}, {vs}")
    batch, steps = qs[0], qs[1]
    if ks[:2] != (batch, steps) or vs[:2] != (batch, steps):
        raise ModelFormatError(f"{where}: query {qs}, key {ks} and value {vs} differ in batch or length")
    if qs[2] % hq or ks[2] % hkv or vs[2] % hkv:
        raise ModelFormatError(f"{where}: the last dimensions of query {qs}, key {ks} and value {vs} are not "
                               f"divisible by their head counts ({hq}, {hkv}, {hkv})")
    dk, dv, group = qs[2] // hq, vs[2] // hkv, hq // hkv
    if ks[2] != hkv * dk:
        raise ModelFormatError(f"{where}: key {ks} must have {hkv} heads of query's head size {dk}")
    if decay is not None and im.shape(decay) not in ((batch, steps, hkv), (batch, steps, hkv * dk)):
        raise ModelFormatError(f"{where}: decay must have shape {(batch, steps, hkv)} or "
                               f"{(batch, steps, hkv * dk)}, got {im.shape(decay)}")
    if beta is not None and im.shape(beta) not in ((batch, steps, hkv), (batch, steps, 1)):
        raise ModelFormatError(f"{where}: beta must have shape {(batch, steps, hkv)} or {(batch, steps, 1)}, "
                               f"got {im.shape(beta)}")
    state_shape = (batch, hkv, dk, dv)
    if past is not None and im.shape(past) != state_shape:
        raise ModelFormatError(f"{where}: past_state must have shape {state_shape}, got {im.shape(past)}")
    if steps == 0 or batch == 0 or dk == 0 or dv == 0:
        raise UnsupportedModelError(f"{where}: empty tensors (shapes {qs}, {ks}, {vs}) are not supported")
    scale = float(at.get("scale", 0.0))
    if scale == 0.0:
        scale = 1.0 / math.sqrt(dk)

    b = Builder(im, node)
    qf, kf, vf = (_widened(im, node, b, name) for name in (q, k, v))
    gate = None
    if gating:  # exp of every token's decay at once, viewed (B, T, Hkv, dk or 1)
        width = im.shape(decay)[2] // hkv
        gate = b.reshape(b.unary("Exp", _widened(im, node, b, decay)), (batch, steps, hkv, width))
    betaf = None if beta is None else _widened(im, node, b, beta)
    state = (b.const(np.zeros(state_shape, np.float32), "zero_state") if past is None
             else _widened(im, node, b, past))
    outputs = []
    for t in range(steps):
        k_t = b.slice(kf, 1, t, 1)
        if gate is not None:  # (B, 1, Hkv, w) -> (B, Hkv, w, 1) broadcast over dv
            state = b.mul(state, b.reshape(b.slice(gate, 1, t, 1), (batch, hkv, im.shape(gate)[3], 1)))
        v_t = b.reshape(b.slice(vf, 1, t, 1), (batch, hkv, 1, dv))
        if delta:
            if not b.is_zero(state):
                read = b.emit("MatMul", [b.reshape(k_t, (batch, hkv, 1, dk)), state], (batch, hkv, 1, dv))
                v_t = b.sub(v_t, read)
            rate = b.slice(betaf, 1, t, 1)
            v_t = b.mul(v_t, b.reshape(rate, (batch, im.shape(rate)[2], 1, 1)))
        state = b.add(state, b.mul(b.reshape(k_t, (batch, hkv, dk, 1)), v_t))
        q_t = b.reshape(b.slice(qf, 1, t, 1), (batch, hkv, group, dk))
        o_t = b.emit("MatMul", [q_t, state], (batch, hkv, group, dv))
        outputs.append(b.reshape(o_t, (batch, 1, hq * dv)))
    out = b.concat(outputs, axis=1) if len(outputs) > 1 else outputs[0]
    _finish(im, node, b, b.mul(out, b.scalar(scale)), node.output[0], dtype)
    present = node.output[1] if len(node.output) > 1 else ""
    _finish(im, node, b, state, present, dtype if past is None else im.dtype(past))


IMPORTS = {"LinearAttention": (import_linear_attention, 3, 6)}
