"""ConvTranspose: y = clamp(conv_transpose(x, w) + bias) over channels-last tensors.

Lowered as a gather, not a scatter: each output pixel reads, through an indirection buffer, the
input pixel that reaches it through each kernel tap (taps that fall between input pixels or
outside the input read the zero row), so the indirect-GEMM kernel of Conv computes it. w stays
in ONNX's [C, M/group, *kernel] layout until lowering.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend.convolution import lower_convolution
from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.spatial import transposed_window
from .conv import export_convolution
from .layout_transpose import to_channels_first, to_channels_last

IR_OP = "ConvTranspose"
INF = math.inf


def import_conv_transpose(im, node, at) -> None:
    x, w = node.input[0], node.input[1]
    b = node.input[2] if len(node.input) > 2 and node.input[2] else None
    for name in (x, w, b):
        if name:
            im.require_float(node, name)
    xs = im.shape(x)
    weights = im.const(w, node, "W (the weights)").astype(np.float32)
    if len(xs) < 3 or weights.ndim != len(xs):
        raise UnsupportedModelError(f"ConvTranspose node {node.name!r}: input of shape {xs} with weights of "
                                    f"shape {weights.shape} (need [N, C, *spatial] and [C, M/group, *kernel])")
    group = int(at.get("group", 1))
    channels = xs[1]
    if group < 1 or channels % group or weights.shape[0] != channels:
        raise ModelFormatError(f"ConvTranspose node {node.name!r}: group {group} does not fit {channels} input "
                               f"channels and weights of shape {weights.shape}")
    out_channels = weights.shape[1] * group
    kernel = tuple(int(k) for k in at.get("kernel_shape", weights.shape[2:]))
    if kernel != weights.shape[2:]:
        raise ModelFormatError(f"ConvTranspose node {node.name!r}: kernel_shape {kernel} differs from the "
                               f"weights' {weights.shape[2:]}")
    window = transposed_window(node, at, xs[2:], kernel)
    bias = (im.const(b, node, "B (the bias)").astype(np.float32).reshape(-1) if b
            else np.zeros(out_channels, np.float32))
    if bias.shape != (out_channels,):
        raise ModelFormatError(f"ConvTranspose node {node.name!r}: bias of {bias.size} values for "
                               f"{out_channels} channels")
    x_last = to_channels_last(im, x, node.name)
    y_last = im.fresh(f"{node.output[0]}__nhwc")
    im.emit(IR_OP, [x_last, im.add_constant(f"{w}_w", weights), im.add_constant(f"{w}_bias", bias)], y_last,
            (xs[0], *window.out_spatial, out_channels), node.name, window=window, group=group, min=-INF, max=INF)
    to_channels_first(im, y_last, node.output[0], node.name)


IMPORTS = {"ConvTranspose": (import_conv_transpose, 2, 3)}


def lower(graph, node, program) -> None:
    lower_convolution(graph, node, program, transposed=True)


def export(ex, node) -> None:
    """Explicit begin pads; the end is trimmed by pads or extended by output_padding."""
    window = node.attrs["window"]
    full = [s * (i - 1) + d * (k - 1) + 1
            for i, s, d, k in zip(window.in_spatial, window.strides, window.dilations, window.kernel)]
    end = [max(0, f - b - o) for f, b, o in zip(full, window.pads_begin, window.out_spatial)]
    extra = [o - (f - b - e) for f, b, e, o in zip(full, window.pads_begin, end, window.out_spatial)]
    export_convolution(ex, node, "ConvTranspose", pads=list(window.pads_begin) + end, output_padding=extra)


def flops(graph, node) -> int:
    window = node.attrs["window"]
    x = graph.info(node.inputs[0]).shape
    mg = graph.info(node.outputs[0]).shape[-1] // node.attrs["group"]
    return 2 * x[0] * window.in_pixels * x[-1] * window.taps * mg
