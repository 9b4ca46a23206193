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
from .packing import f32_gemm_kernel, pack_f32_gemm, packed_f32_gemm_size
from .program import Call, Program, Ptr


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


def winograd_taps(w: np.ndarray) -> np.ndarray:
    """What a Winograd layer ships: Conv weights w [K, C, 3, 3] as [C][9][ceil4(K)] float32 (tap
    3 * row + column, zero columns past K), the input of f32_winograd_weights_3x3."""
    k, c = w.shape[:2]
    taps = np.zeros((c, 9, _ceil4(k)), np.float32)
    taps[:, :, :k] = w.reshape(k, c, 9).transpose(1, 2, 0)
    return taps


def winograd_weights(w: np.ndarray) -> np.ndarray:
    """U [16, C, K] = G g G^T per channel pair, with the float32 operations and order of
    f32_winograd_weights_3x3 (rows first, then columns; * 0.5 is exact), which computes it in init()."""
    g = np.asarray(w, np.float32).transpose(2, 3, 1, 0)  # [row, column, C, K]
    half = np.float32(0.5)

    def combine(a, b, c):  # the four G rows applied to three values
        with np.errstate(over="ignore", invalid="ignore"):
            return [a, ((a + b) + c) * half, ((a - b) + c) * half, c]

    t = combine(g[0], g[1], g[2])  # t[i]: [column, C, K]
    u = [combine(t[i][0], t[i][1], t[i][2]) for i in range(4)]
    return np.stack([u[i][j] for i in range(4) for j in range(4)]).astype(np.float32)


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

    if not transposed and use_winograd(window, group, channels, out_channels):
        _lower_winograd(graph, program, node, w, bias, window, lo, hi)
        return

    mats = group_matrices(w, group, transposed)
    panels = [pack_f32_gemm(m, bias[g * mg:(g + 1) * mg].astype(np.float32)) for g, m in enumerate(mats)]
    packed = program.weight(f"{y}__packed", np.concatenate(panels))
    panel_offsets = np.cumsum([0] + [4 * p.size for p in panels[:-1]])
    weights = [Ptr(packed.tensor, int(offset)) for offset in panel_offsets]
    if not transposed and window.is_pointwise:  # a GEMM over the pixels of the whole batch
        pixels = graph.info(x).shape[0] * window.out_pixels
        kernel = f32_gemm_kernel(pixels, mg, cg)
        for g in range(group):
            program.call(kernel, [pixels, mg, cg, Ptr(x, 4 * g * cg), 4 * channels, weights[g],
                                  Ptr(y, 4 * g * mg), 4 * out_channels, lo, hi], node.name)
        return
    ind = indirection_buffer(program, window, 4 * channels, transposed)
    zero = constant_row(program, 0.0, cg)
    if not transposed and cg <= IM2COL_MAX_CHANNELS and window.taps * cg >= IM2COL_MIN_DEPTH:
        _lower_im2col(graph, program, node, ind, zero, weights, window, cg, mg, lo, hi)
        return
    for xi, yi in _images(graph, x, y):
        for g in range(group):
            program.call("f32_igemm_4x8", [window.out_pixels, mg, window.taps, cg, ind,
                                           Ptr(xi.tensor, xi.offset + 4 * g * cg), zero, weights[g],
                                           Ptr(yi.tensor, yi.offset + 4 * g * mg), 4 * out_channels, lo, hi],
                         node.name)


# An RGB stem with a large kernel (ResNet's 7x7): the indirect GEMM's k loop of 3 per tap is mostly
# overhead there, and one GEMM over im2col rows runs it 1.4x faster in wasmtime (1.04x in V8). At 3x3
# (depth 27) the copy costs more than it saves in V8 (measured, docs/performance.md).
IM2COL_MAX_CHANNELS = 3
IM2COL_MIN_DEPTH = 48


def _lower_im2col(graph, program, node, ind, zero, weights, window, cg, mg, lo, hi) -> None:
    """Few input channels per group and a deep window: each image's taps are copied into rows of taps * cg f32
    (u8_im2col moving 4 * cg bytes; padding reads the zero row's +0.0 bytes), then one plain GEMM
    over them with k = taps * cg. Same products in the same order as f32_igemm (tap, then channel)."""
    x, y = node.inputs[0], node.outputs[0]
    out_channels = graph.info(y).shape[-1]
    k = window.taps * cg
    rows = program.temp(f"{y}__im2col", 4 * window.out_pixels * k)
    kernel = f32_gemm_kernel(window.out_pixels, mg, k)
    for xi, yi in _images(graph, x, y):
        for g in range(len(weights)):
            program.call("u8_im2col", [window.out_pixels, window.taps, 4 * cg, ind, Ptr(xi.tensor, xi.offset + 4 * g * cg),
                                       zero, rows, 0], node.name)
            program.call(kernel, [window.out_pixels, mg, k, rows, 4 * k, weights[g],
                                  Ptr(yi.tensor, yi.offset + 4 * g * mg), 4 * out_channels, lo, hi], node.name)


WINOGRAD_MIN_CHANNELS = 8  # at 4 channels the direct kernel is as fast (measured, docs/performance.md)
WINOGRAD_BLOCK_BYTES = 1 << 19  # V + M of one block of tiles: kept in L2 between the three passes


def use_winograd(window: Window, group: int, channels: int, out_channels: int) -> bool:
    """Winograd F(2x2, 3x3) for ungrouped 2-D 3x3 convolutions of stride 1 and dilation 1 with
    enough channels on both sides; everything else takes the direct kernels."""
    return (group == 1 and window.kernel == (3, 3) and window.strides == (1, 1) and window.dilations == (1, 1)
            and min(channels, out_channels) >= WINOGRAD_MIN_CHANNELS)


def winograd_block(tiles: int, channels: int, out_channels: int) -> int:
    """Tiles per block (a multiple of 4, the GEMM's row block): V and M of one block fit in
    WINOGRAD_BLOCK_BYTES, so the transforms and the 16 GEMMs of a block work in cache."""
    per_tile = 16 * 4 * (_ceil4(channels) + _ceil4(out_channels))
    return min(_ceil4(tiles), max(4, WINOGRAD_BLOCK_BYTES // per_tile // 4 * 4))


def derived_weight(program: Program, name: str, nbytes: int) -> Ptr:
    """A weight init() computes (placed in the weights region, never shipped; backend/plan.py keeps
    the shipped bytes contiguous around it)."""
    if name not in program.weights:
        program.weights[name] = np.zeros(nbytes // 4, np.float32)
        program.derived.add(name)
    return Ptr(name)


def skewed_plane(nbytes: int) -> int:
    """Bytes between two of the 16 V (or M) matrices: plane xi starts 64 * xi bytes past a 4 KiB
    boundary. With planes a multiple of 4 KiB apart, the input transform's 16 stores of a tile hit
    the same 4 KiB offset and the CPU's store forwarding stalls on them (4K aliasing): 4x slower."""
    return -(-nbytes // 4096) * 4096 + 64


def _lower_winograd(graph, program, node, w, bias, window, lo, hi) -> None:
    """Per image and block of 2x2 output tiles: the input transform to V [16][tiles][C], 16 GEMMs
    V[xi] @ U[xi] -> M [16][tiles][K] with the packed transformed weights, the output transform
    with bias and clamp into Y (wasm-kernels/f32_winograd.wat, docs/cnn.md)."""
    x, y = node.inputs[0], node.outputs[0]
    (height, width), (out_h, out_w) = window.in_spatial, window.out_spatial
    pad_top, pad_left = window.pads_begin
    channels, out_channels = graph.info(x).shape[-1], graph.info(y).shape[-1]
    cp, kp = _ceil4(channels), _ceil4(out_channels)
    tiles_w = -(-out_w // 2)
    tiles = -(-out_h // 2) * tiles_w
    # only the taps ship; init() transforms them into U, packed as 16 GEMM B operands (zero bias)
    taps = program.weight(f"{y}__winograd_taps", winograd_taps(w))
    panel_bytes = 4 * packed_f32_gemm_size(channels, out_channels)
    packed = derived_weight(program, f"{y}__winograd", 16 * panel_bytes)
    program.init_calls.append(Call("f32_winograd_weights_3x3", [channels, out_channels, taps, packed], node.name))
    bias_row = program.weight(f"{y}__winograd_bias",
                              np.concatenate([bias.astype(np.float32), np.zeros(kp - out_channels, np.float32)]))
    zero = constant_row(program, 0.0, channels)
    block = winograd_block(tiles, channels, out_channels)
    v_plane, m_plane = skewed_plane(block * 4 * cp), skewed_plane(block * 4 * kp)
    v = program.temp(f"{y}__winograd_v", 16 * v_plane)
    m = program.temp(f"{y}__winograd_m", 16 * m_plane)
    for xi, yi in _images(graph, x, y):
        for first in range(0, tiles, block):
            count = min(block, tiles - first)
            program.call("f32_winograd_input_2x2_3x3", [first, count, tiles_w, channels, xi, height, width,
                                                        pad_top, pad_left, zero, v, 4 * cp, v_plane], node.name)
            kernel = f32_gemm_kernel(count, out_channels, channels)
            for t in range(16):
                program.call(kernel, [count, out_channels, channels, Ptr(v.tensor, t * v_plane), 4 * cp,
                                      Ptr(packed.tensor, t * panel_bytes), Ptr(m.tensor, t * m_plane), 4 * kp,
                                      -math.inf, math.inf], node.name)
            program.call("f32_winograd_output_2x2_3x3", [first, count, tiles_w, out_channels, m, 4 * kp, m_plane,
                                                         bias_row, yi, out_h, out_w, lo, hi], node.name)


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
