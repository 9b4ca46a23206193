"""Conv: y = clamp(conv(x, w) + bias) over channels-last tensors x [N, *S, C] -> y [N, *S', M].

Imports ONNX Conv (1-D, 2-D, 3-D; strides, pads, auto_pad, dilations, group incl. depthwise)
between two LayoutTransposes; w stays in ONNX's [M, C/group, *kernel] layout (passes fold
BatchNormalization into it) and is packed only when lowered. A fused Relu/Clip is the clamp.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend.convolution import lower_convolution
from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.spatial import sliding_window
from .layout_transpose import perm, to_channels_first, to_channels_last

IR_OP = "Conv"
INF = math.inf


def read_operands(im, node, weight_layout: str):
    """(x, w, b, x's shape, float32 weights), checked as every convolution needs them."""
    x, w = node.input[0], node.input[1]
    b = node.input[2] if len(node.input) > 2 and node.input[2] else None
    for name in (x, w, b):
        if name:
            im.require_float(node, name)
    xs = im.shape(x)
    weights = im.const(w, node, "W (the weights)").astype(np.float32)
    if len(xs) < 3 or weights.ndim != len(xs):
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: input of shape {xs} with weights of "
                                    f"shape {weights.shape} (need [N, C, *spatial] and {weight_layout})")
    return x, w, b, xs, weights


def kernel_shape(node, at, weights: np.ndarray) -> tuple[int, ...]:
    kernel = tuple(int(k) for k in at.get("kernel_shape", weights.shape[2:]))
    if kernel != weights.shape[2:]:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: kernel_shape {kernel} differs from the "
                               f"weights' {weights.shape[2:]}")
    return kernel


def emit_channels_last(im, node, ir_op: str, operands, out_channels: int, window, group: int) -> None:
    """The IR convolution between two layout transposes, with its bias (zeros when absent)."""
    x, w, b, xs, weights = operands
    bias = (im.const(b, node, "B (the bias)").astype(np.float32).reshape(-1) if b
            else np.zeros(out_channels, np.float32))
    if bias.shape != (out_channels,):
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: bias of {bias.size} values for "
                               f"{out_channels} channels")
    x_last = to_channels_last(im, x, node.name)
    y_last = im.fresh(f"{node.output[0]}__nhwc")
    im.emit(ir_op, [x_last, im.add_constant(f"{w}_w", weights), im.add_constant(f"{w}_bias", bias)], y_last,
            (xs[0], *window.out_spatial, out_channels), node.name, window=window, group=group, min=-INF, max=INF)
    to_channels_first(im, y_last, node.output[0], node.name)


def import_conv(im, node, at) -> None:
    if im.dtype(node.input[0]) == "float64":  # computed in float64 (float64_spatial.py)
        _import_conv_f64(im, node, at)
        return
    operands = read_operands(im, node, "[M, C/group, *kernel]")
    _, _, _, xs, weights = operands
    group = int(at.get("group", 1))
    channels, out_channels = xs[1], weights.shape[0]
    if group < 1 or channels % group or out_channels % group or weights.shape[1] * group != channels:
        raise ModelFormatError(f"Conv node {node.name!r}: group {group} does not fit {channels} input channels "
                               f"and weights of shape {weights.shape}")
    window = sliding_window(node, at, xs[2:], kernel_shape(node, at, weights))
    emit_channels_last(im, node, IR_OP, operands, out_channels, window, group)


def _import_conv_f64(im, node, at) -> None:
    from . import float64_spatial

    x, w = node.input[0], node.input[1]
    xs, ws = im.shape(x), im.shape(w)
    if any(im.dtype(name) != "float64" for name in node.input if name):
        raise ModelFormatError(f"Conv node {node.name!r}: a float64 input needs float64 weights and bias")
    if len(xs) < 3 or len(ws) != len(xs):
        raise UnsupportedModelError(f"Conv node {node.name!r}: input of shape {xs} with weights of shape {ws} "
                                    "(need [N, C, *spatial] and [M, C/group, *kernel])")
    group = int(at.get("group", 1))
    if group < 1 or xs[1] % group or ws[0] % group or ws[1] * group != xs[1]:
        raise ModelFormatError(f"Conv node {node.name!r}: group {group} does not fit {xs[1]} input channels "
                               f"and weights of shape {ws}")
    kernel = tuple(int(k) for k in at.get("kernel_shape", ws[2:]))
    if kernel != tuple(ws[2:]):
        raise ModelFormatError(f"Conv node {node.name!r}: kernel_shape {kernel} differs from the weights' {ws[2:]}")
    float64_spatial.conv(im, node, sliding_window(node, at, xs[2:], kernel), group)


IMPORTS = {"Conv": (import_conv, 2, 3)}


def lower(graph, node, program) -> None:
    lower_convolution(graph, node, program)


def export(ex, node) -> None:
    window = node.attrs["window"]
    export_convolution(ex, node, "Conv", pads=list(window.pads_begin + window.pads_end))


def export_convolution(ex, node, op: str, **extra) -> None:
    """Standard ONNX for a channels-last convolution: Transpose, Conv/ConvTranspose, Transpose,
    then the clamp if one was fused."""
    x, y = node.inputs[0], node.outputs[0]
    window = node.attrs["window"]
    rank = len(ex.graph.info(x).shape)
    x_first, y_first = ex.temp(x), ex.temp(y)
    ex.add("Transpose", [x], x_first, perm=perm("NCHW", rank))
    lo, hi = node.attrs["min"], node.attrs["max"]
    clamped = lo != -INF or hi != INF
    ex.add(op, [x_first] + [ex.graph_const(c) for c in node.inputs[1:]], y_first, group=node.attrs["group"],
           kernel_shape=list(window.kernel), strides=list(window.strides), dilations=list(window.dilations), **extra)
    y_last = ex.temp(y) if clamped else y
    ex.add("Transpose", [y_first], y_last, perm=perm("NHWC", rank))
    if clamped:
        ex.clamp(y_last, y, lo, hi)


def flops(graph, node) -> int:
    window = node.attrs["window"]
    y = graph.info(node.outputs[0]).shape
    cg = graph.info(node.inputs[0]).shape[-1] // node.attrs["group"]
    return 2 * y[0] * window.out_pixels * y[-1] * window.taps * cg
