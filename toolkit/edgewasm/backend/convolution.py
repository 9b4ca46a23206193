"""Lowering of convolutions and pools over channels-last (NHWC) tensors to kernel calls.

Picks the kernel (a plain GEMM for pointwise convolutions, the depthwise kernels when every
channel is its own group, the indirect GEMM otherwise, including transposed convolutions), packs
the weights per group into one array, and places the shared constant rows: indirection buffers
(keyed by geometry, so layers of the same shape share one), zero rows and -inf rows.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from ..window import Window
from .indirection import indirection, window_counts
from .packing import f32_gemm_kernel, pack_f32_gemm
from .program import Program, Ptr


def _ceil4(n: int) -> int:
    return -(-n // 4) * 4


def constant_row(program: Program, value: float, n: int) -> Ptr:
    """A shared row of >= n copies of value (what padding taps read)."""
    n = _ceil4(n)
    label = "zeros" if value == 0 else ("neginf" if value == -math.inf else repr(value))
    return program.weight(f"__row_{label}_{n}", np.full(n, value, np.float32))


def indirection_buffer(program: Program, window: Window, pixel_bytes: int, transposed: bool = False) -> Ptr:
    """The indirection buffer of one image, shared by every node of the same geometry (each image
    of a batch is a call of its own, so the buffer does not grow with the batch)."""
    key = repr((window, pixel_bytes, transposed)).encode()
    name = f"__indirection_{hashlib.sha256(key).hexdigest()[:16]}"
    if name not in program.weights:
        program.table(name, indirection(window, 1, pixel_bytes, transposed))
    return Ptr(name)


def group_matrices(w: np.ndarray, group: int, transposed: bool) -> list[np.ndarray]:
    """Per group, the [taps * Cg, Mg] matrix the GEMM kernels read (row t * Cg + c: tap t, channel c).

    Conv weights are [M, Cg, *kernel]; ConvTranspose weights are [C, Mg, *kernel].
    """
    taps = math.prod(w.shape[2:])
    mats = []
    if transposed:
        cg, mg = w.shape[0] // group, w.shape[1]
        for g in range(group):
            block = w[g * cg:(g + 1) * cg].reshape(cg, mg, taps)
            mats.append(block.transpose(2, 0, 1).reshape(taps * cg, mg))
    else:
        mg, cg = w.shape[0] // group, w.shape[1]
        for g in range(group):
            block = w[g * mg:(g + 1) * mg].reshape(mg, cg, taps)
            mats.append(block.transpose(2, 1, 0).reshape(taps * cg, mg))
    return [np.ascontiguousarray(m, dtype=np.float32) for m in mats]


def _images(graph, x: str, y: str):
    """(x, y) pointers of each image of the batch."""
    x_shape, y_shape = graph.info(x).shape, graph.info(y).shape
    x_image, y_image = 4 * math.prod(x_shape[1:]), 4 * math.prod(y_shape[1:])
    return [(Ptr(x, n * x_image), Ptr(y, n * y_image)) for n in range(x_shape[0])]


def lower_convolution(graph, node, program: Program, transposed: bool = False) -> None:
    """Conv / ConvTranspose node over NHWC tensors: x [N, *S, C] -> y [N, *S', M]."""
    x, y = node.inputs[0], node.outputs[0]
    w = graph.constants[node.inputs[1]]
    bias = graph.constants[node.inputs[2]] if len(node.inputs) > 2 else np.zeros(graph.info(y).shape[-1], np.float32)
    window: Window = node.attrs["window"]
    group = node.attrs["group"]
    lo, hi = float(node.attrs["min"]), float(node.attrs["max"])
    channels, out_channels = graph.info(x).shape[-1], graph.info(y).shape[-1]
    cg, mg = channels // group, out_channels // group

    if not transposed and group == channels == out_channels and group > 1:
        _lower_depthwise(graph, program, node, w, bias, window, channels, lo, hi)
        return

    mats = group_matrices(w, group, transposed)
    panels = [pack_f32_gemm(m, bias[g * mg:(g + 1) * mg].astype(np.float32)) for g, m in enumerate(mats)]
    packed = program.weight(f"{y}__packed", np.concatenate(panels))
    panel_offsets = np.cumsum([0] + [4 * p.size for p in panels[:-1]])
    weights = [Ptr(packed.tensor, int(offset)) for offset in panel_offsets]
    if not transposed and window.is_pointwise:  # a GEMM over the pixels of the whole batch
        pixels = graph.info(x).shape[0] * window.out_pixels
        kernel = f32_gemm_kernel(pixels, mg)
        for g in range(group):
            program.call(kernel, [pixels, mg, cg, Ptr(x, 4 * g * cg), 4 * channels, weights[g],
                                  Ptr(y, 4 * g * mg), 4 * out_channels, lo, hi], node.name)
        return
    ind = indirection_buffer(program, window, 4 * channels, transposed)
    zero = constant_row(program, 0.0, cg)
    for xi, yi in _images(graph, x, y):
        for g in range(group):
            program.call("f32_igemm_4x8", [window.out_pixels, mg, window.taps, cg, ind,
                                           Ptr(xi.tensor, xi.offset + 4 * g * cg), zero, weights[g],
                                           Ptr(yi.tensor, yi.offset + 4 * g * mg), 4 * out_channels, lo, hi],
                         node.name)


def _lower_depthwise(graph, program, node, w, bias, window, channels, lo, hi) -> None:
    taps_by_channel = np.ascontiguousarray(w.reshape(channels, window.taps).T, dtype=np.float32)  # [taps, C]
    packed = program.weight(f"{node.outputs[0]}__packed",
                            pack_f32_gemm(taps_by_channel, bias.astype(np.float32), nr=4))
    ind = indirection_buffer(program, window, 4 * channels)
    zero = constant_row(program, 0.0, channels)
    for xi, yi in _images(graph, node.inputs[0], node.outputs[0]):
        if window.taps == 9:
            program.call("f32_dwconv_3x3p4c", [window.out_pixels, channels, ind, xi, zero, packed, yi, lo, hi],
                         node.name)
        else:
            program.call("f32_dwconv_p4c", [window.out_pixels, channels, window.taps, ind, xi, zero, packed, yi,
                                            lo, hi], node.name)


def lower_pool(graph, node, program: Program) -> None:
    """MaxPool / AveragePool / global pools over NHWC tensors: x [N, *S, C] -> y [N, *S', C]."""
    x, y = node.inputs[0], node.outputs[0]
    window: Window = node.attrs["window"]
    batch, channels = graph.info(x).shape[0], graph.info(x).shape[-1]
    if node.attrs["kind"] == "avg" and window.is_global:
        program.call("f32_gavgpool_c4", [batch, window.in_pixels, channels, Ptr(x), Ptr(y)], node.name)
        return
    ind = indirection_buffer(program, window, 4 * channels)
    if node.attrs["kind"] == "max":
        pad = constant_row(program, -math.inf, channels)
        for xi, yi in _images(graph, x, y):
            program.call("f32_maxpool_c4", [window.out_pixels, channels, window.taps, ind, xi, pad, yi], node.name)
        return
    counts = window_counts(window, bool(node.attrs["count_include_pad"]))
    divisors = program.weight(f"__divisors_{hashlib.sha256(counts.tobytes()).hexdigest()[:16]}", counts)
    zero = constant_row(program, 0.0, channels)
    for xi, yi in _images(graph, x, y):
        program.call("f32_avgpool_c4", [window.out_pixels, channels, window.taps, ind, xi, zero, divisors, yi],
                     node.name)
