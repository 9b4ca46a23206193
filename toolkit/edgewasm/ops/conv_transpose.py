"""ConvTranspose: y = clamp(conv_transpose(x, w) + bias) over channels-last tensors.

Lowered as a gather, not a scatter: each output pixel reads, through an indirection buffer, the
input pixel that reaches it through each kernel tap (taps that fall between input pixels or
outside the input read the zero row), so the indirect-GEMM kernel of Conv computes it. w stays
in ONNX's [C, M/group, *kernel] layout until lowering.
"""

from __future__ import annotations

from ..backend.convolution import lower_convolution
from ..errors import ModelFormatError
from ..frontend.spatial import transposed_window
from .conv import emit_channels_last, export_convolution, kernel_shape, read_operands

IR_OP = "ConvTranspose"


def import_conv_transpose(im, node, at) -> None:
    if im.dtype(node.input[0]) == "float64":  # computed in float64 (float64_spatial.py)
        _import_f64(im, node, at)
        return
    operands = read_operands(im, node, "[C, M/group, *kernel]")
    _, _, _, xs, weights = operands
    group = int(at.get("group", 1))
    channels = xs[1]
    if group < 1 or channels % group or weights.shape[0] != channels:
        raise ModelFormatError(f"ConvTranspose node {node.name!r}: group {group} does not fit {channels} input "
                               f"channels and weights of shape {weights.shape}")
    out_channels = weights.shape[1] * group
    window = transposed_window(node, at, xs[2:], kernel_shape(node, at, weights))
    emit_channels_last(im, node, IR_OP, operands, out_channels, window, group)


def _import_f64(im, node, at) -> None:
    from . import float64_spatial

    x, w = node.input[0], node.input[1]
    xs, ws = im.shape(x), im.shape(w)
    if any(im.dtype(name) != "float64" for name in node.input if name):
        raise ModelFormatError(f"ConvTranspose node {node.name!r}: a float64 input needs float64 weights and bias")
    group = int(at.get("group", 1))
    if len(xs) < 3 or len(ws) != len(xs) or group < 1 or xs[1] % group or ws[0] != xs[1]:
        raise ModelFormatError(f"ConvTranspose node {node.name!r}: input of shape {xs}, weights of shape {ws} and "
                               f"group {group} do not fit")
    kernel = tuple(int(k) for k in at.get("kernel_shape", ws[2:]))
    if kernel != tuple(ws[2:]):
        raise ModelFormatError(f"ConvTranspose node {node.name!r}: kernel_shape {kernel} differs from the weights' "
                               f"{ws[2:]}")
    float64_spatial.conv_transpose(im, node, transposed_window(node, at, xs[2:], kernel), group)


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
