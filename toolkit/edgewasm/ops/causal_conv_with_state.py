"""CausalConvWithState (opset 27): a stateful causal depthwise 1-D convolution, decomposed at import.

    padded  = Concat(past_state or zeros [B, C, k-1], input [B, C, L], axis 2)
    output  = sum_j padded[:, :, j:j+L] * weight[:, 0, j] (+ bias), then SiLU if activation is
              'silu' or 'swish'
    present = padded[:, :, L:L+k-1] (the last k-1 positions; empty when k = 1)

The k taps are k Slices of the padded input, each multiplied by its weight column (a [C, 1]
broadcast; folded when the weight is a constant) and summed left to right in float32; SiLU is
x * Sigmoid(x). float16/bfloat16 compute in float32 between casts (widened here, as onnxruntime
does); `widened` and `finish` are shared with ops/linear_attention.py.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.arguments import optional_input
from ..frontend.recurrent import Builder
from .cast import emit_cast

IR_OP = None
ACTIVATIONS = ("none", "silu", "swish")
DTYPES = ("float32", "float16", "bfloat16")


def widened(im, node, b, name: str) -> str:
    """`name` in float32: itself, a float32 copy of a constant, or a Cast of a float16/bfloat16 tensor."""
    if im.dtype(name) == "float32":
        return name
    value = b.value(name)
    if value is not None:
        return b.const(value.astype(np.float32), "wide")
    wide = im.fresh(f"{name}_float32")
    emit_cast(im, node, name, wide, "float32")
    return wide


def finish(im, node, b, value: str, output: str, dtype: str) -> None:
    """Write the float32 tensor `value` to the node's output `output` (if wanted) in `dtype`."""
    if not output:
        return
    if dtype == "float32":
        b.reshape(value, im.shape(value), output=output)
        return
    if b.value(value) is not None:
        from .. import dtypes
        im.constants[output] = b.value(value).astype(dtypes.numpy_dtype(dtype))
        return
    emit_cast(im, node, value, output, dtype)


def import_causal_conv_with_state(im, node, at) -> None:
    where = f"CausalConvWithState node {node.name!r}"
    x, w = node.input[0], node.input[1]
    bias, past = optional_input(node, 2), optional_input(node, 3)
    activation = at.get("activation", b"none")
    activation = activation.decode() if isinstance(activation, bytes) else str(activation)
    if activation not in ACTIVATIONS:
        raise ModelFormatError(f"{where}: activation {activation!r} is not one of {', '.join(ACTIVATIONS)}")
    dtype = im.dtype(x)
    for name in (x, w, bias, past):
        if name is not None and im.dtype(name) != dtype:
            raise ModelFormatError(f"{where}: input {name!r} has dtype {im.dtype(name)}, input has {dtype}")
    if dtype not in DTYPES:
        raise UnsupportedModelError(f"{where}: input {x!r} has dtype {dtype}; the spec allows float32, float16 "
                                    "and bfloat16")
    xs, ws = im.shape(x), im.shape(w)
    if len(xs) != 3:
        raise ModelFormatError(f"{where}: input must have rank 3 (batch, channels, length), not shape {list(xs)}")
    batch, channels, length = xs
    if len(ws) != 3 or ws[0] != channels or ws[1] != 1 or ws[2] < 1:
        raise ModelFormatError(f"{where}: weight must have shape [{channels}, 1, k] with k >= 1, not {list(ws)}")
    k = ws[2]
    if bias is not None and im.shape(bias) != (channels,):
        raise ModelFormatError(f"{where}: bias must have shape [{channels}], not {list(im.shape(bias))}")
    if past is not None and im.shape(past) != (batch, channels, k - 1):
        raise ModelFormatError(f"{where}: past_state must have shape [{batch}, {channels}, {k - 1}], "
                               f"not {list(im.shape(past))}")

    b = Builder(im, node)
    x, w = widened(im, node, b, x), widened(im, node, b, w)
    bias = None if bias is None else widened(im, node, b, bias)
    past = None if past is None else widened(im, node, b, past)
    if k == 1:
        padded = x
    else:
        pad = past if past is not None else b.const(np.zeros((batch, channels, k - 1), np.float32), "zeros")
        padded = b.concat([pad, x], axis=2)
    taps = b.reshape(w, (channels, k))
    acc = None
    for j in range(k):
        term = b.mul(b.slice(padded, 2, j, length), b.slice(taps, 1, j, 1))
        acc = term if acc is None else b.add(acc, term)
    if bias is not None:
        acc = b.add(acc, b.reshape(bias, (channels, 1)))
    if activation != "none":
        acc = b.mul(acc, b.unary("Sigmoid", acc))
    finish(im, node, b, acc, node.output[0], dtype)
    if len(node.output) > 1 and node.output[1]:
        finish(im, node, b, b.slice(padded, 2, length, k - 1), node.output[1], dtype)


IMPORTS = {"CausalConvWithState": (import_causal_conv_with_state, 2, 4)}
