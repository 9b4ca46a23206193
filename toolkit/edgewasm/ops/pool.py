"""Pool: max or average pooling over channels-last tensors x [N, *S, C] -> y [N, *S', C].

Imports MaxPool, AveragePool (pads, auto_pad, strides, dilations, ceil_mode, count_include_pad)
and GlobalAveragePool / GlobalMaxPool (a window over the whole input). Average divisors are
computed at compile time per output pixel, so overhanging ceil_mode windows need no run-time
logic.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend.convolution import indirection_buffer, lower_pool
from ..backend.program import Ptr
from ..backend.indirection import window_counts
from ..errors import Float32OnlyError, ModelFormatError, UnsupportedModelError
from ..ir import TensorInfo
from ..frontend.spatial import sliding_window
from ..window import Window
from .layout_transpose import perm, to_channels_first, to_channels_last

IR_OP = "Pool"


def _emit(im, node, kind: str, window: Window, ceil_mode: int = 0, count_include_pad: int = 0) -> None:
    x = node.input[0]
    xs = im.shape(x)
    dtype = im.dtype(x)
    if dtype != "float32" and (dtype != "uint8" or kind != "max"):
        raise Float32OnlyError(f"{node.op_type} node {node.name!r}: input {x!r} is {dtype}; only max pooling "
                                    "reads uint8 (quantized) activations")
    x_last = to_channels_last(im, x, node.name)
    y_last = im.fresh(f"{node.output[0]}__nhwc")
    im.emit(IR_OP, [x_last], y_last, (xs[0], *window.out_spatial, xs[1]), node.name, kind=kind, window=window,
            ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    if dtype == "uint8":  # max pooling of quantized activations: the uint8 values themselves
        im.tensors[y_last] = TensorInfo(y_last, im.tensors[y_last].shape, dtype)
    to_channels_first(im, y_last, node.output[0], node.name)


def _check(im, node) -> tuple[int, ...]:
    xs = im.shape(node.input[0])
    if len(xs) < 3:
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: input of shape {xs} has no spatial dims")
    return xs


def _kernel(node, at) -> tuple[int, ...]:
    if "kernel_shape" not in at:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: the kernel_shape attribute is required")
    return tuple(int(k) for k in at["kernel_shape"])


def import_max_pool(im, node, at) -> None:
    xs = _check(im, node)
    if (len(node.output) > 1 and node.output[1]) or int(at.get("storage_order", 0)) or \
            im.dtype(node.input[0]) in ("float64", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64"):
        from .max_pool_indices import import_max_pool_with_indices  # Indices, or a dtype the kernels lack
        import_max_pool_with_indices(im, node, at)
        return
    ceil_mode = int(at.get("ceil_mode", 0))
    window = sliding_window(node, at, xs[2:], _kernel(node, at), bool(ceil_mode))
    _emit(im, node, "max", window, ceil_mode)


def import_average_pool(im, node, at) -> None:
    xs = _check(im, node)
    ceil_mode = int(at.get("ceil_mode", 0))
    window = sliding_window(node, at, xs[2:], _kernel(node, at), bool(ceil_mode))
    if im.dtype(node.input[0]) == "float64":  # computed in float64 (float64_spatial.py)
        from .float64_spatial import average_pool
        average_pool(im, node, window, bool(int(at.get("count_include_pad", 0))))
        return
    _emit(im, node, "avg", window, ceil_mode, int(at.get("count_include_pad", 0)))


def _global_window(spatial: tuple[int, ...]) -> Window:
    dims = len(spatial)
    return Window(spatial, (1,) * dims, spatial, (1,) * dims, (1,) * dims, (0,) * dims, (0,) * dims)


def import_global_average_pool(im, node, at) -> None:
    _import_global(im, node, "avg")


def import_global_max_pool(im, node, at) -> None:
    _import_global(im, node, "max")


def _import_global(im, node, kind: str) -> None:
    xs = _check(im, node)
    if im.dtype(node.input[0]) == "float64":  # computed in float64 (float64_spatial.py)
        from .float64_spatial import global_pool
        global_pool(im, node, kind)
        return
    _emit(im, node, kind, _global_window(xs[2:]))


IMPORTS = {
    "MaxPool": (import_max_pool, 1, 1),
    "AveragePool": (import_average_pool, 1, 1),
    "GlobalAveragePool": (import_global_average_pool, 1, 1),
    "GlobalMaxPool": (import_global_max_pool, 1, 1),
}


def lower(graph, node, program) -> None:
    if graph.info(node.inputs[0]).dtype == "uint8":
        _lower_u8_max(graph, node, program)
        return
    lower_pool(graph, node, program)


def _lower_u8_max(graph, node, program) -> None:
    """uint8 max pooling (u8_pool.wat), one call per image; padding taps read a row of zeros."""
    x, y = node.inputs[0], node.outputs[0]
    window: Window = node.attrs["window"]
    x_shape, y_shape = graph.info(x).shape, graph.info(y).shape
    channels = x_shape[-1]
    ind = indirection_buffer(program, window, channels)
    pad = program.weight(f"__u8_zeros_{-(-channels // 16) * 16}", np.zeros(-(-channels // 16) * 16, np.uint8))
    x_image, y_image = math.prod(x_shape[1:]), math.prod(y_shape[1:])
    for n in range(x_shape[0]):
        program.call("u8_maxpool_c16", [window.out_pixels, channels, window.taps, ind, Ptr(x, n * x_image), pad,
                                        Ptr(y, n * y_image)], node.name)


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    window: Window = node.attrs["window"]
    rank = len(ex.graph.info(x).shape)
    x_first, y_first = ex.temp(x), ex.temp(y)
    ex.add("Transpose", [x], x_first, perm=perm("NCHW", rank))
    if node.attrs["kind"] == "avg" and any(d != 1 for d in window.dilations):
        _export_dilated_average(ex, node, x_first, y_first)
    else:
        op, extra = (("MaxPool", {"dilations": list(window.dilations)}) if node.attrs["kind"] == "max" else
                     ("AveragePool", {"count_include_pad": node.attrs["count_include_pad"]}))
        ex.add(op, [x_first], y_first, kernel_shape=list(window.kernel), strides=list(window.strides),
               pads=list(window.pads_begin + window.pads_end), ceil_mode=node.attrs["ceil_mode"], **extra)
    ex.add("Transpose", [y_first], y, perm=perm("NHWC", rank))


def _export_dilated_average(ex, node, x_first: str, y_first: str) -> None:
    """AveragePool has no dilations before opset 19: a depthwise Conv of ones, divided by the
    per-pixel counts. End pads widened to the last window's reach give exactly out_spatial
    outputs (the ceil_mode overhang sums zeros the counts leave out)."""
    window: Window = node.attrs["window"]
    channels = ex.graph.info(node.inputs[0]).shape[-1]
    ends = [max(e, (o - 1) * s + d * (k - 1) + 1 - i - b) for e, o, s, d, k, i, b in
            zip(window.pads_end, window.out_spatial, window.strides, window.dilations, window.kernel,
                window.in_spatial, window.pads_begin)]
    ones = ex.const(f"{y_first}__ones", np.ones((channels, 1, *window.kernel), np.float32))
    summed = ex.temp(y_first)
    ex.add("Conv", [x_first, ones], summed, group=channels, kernel_shape=list(window.kernel),
           strides=list(window.strides), dilations=list(window.dilations), pads=list(window.pads_begin) + ends)
    counts = window_counts(window, bool(node.attrs["count_include_pad"])).reshape(1, 1, *window.out_spatial)
    ex.add("Div", [summed, ex.const(f"{y_first}__counts", counts)], y_first)


def flops(graph, node) -> int:
    window: Window = node.attrs["window"]
    y = graph.info(node.outputs[0]).shape
    return y[0] * window.out_pixels * y[-1] * window.taps
