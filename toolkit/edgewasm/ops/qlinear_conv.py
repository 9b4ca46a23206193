"""QLinearConv: statically quantized convolution, uint8 in, uint8 out, over channels-last tensors,
with onnxruntime's bits (checked against its QLinearConv on random inputs, scales and geometries):
    acc[m] = sum (xq - x_zp) * (w - w_zp[m]) + bias[m]              (int32; padding taps read x_zp)
    yq     = sat(rint(f32(acc) * M[m]) + y_zp)   with  M[m] = f32(f32(x_scale * w_scale[m]) / y_scale)
w int8 per tensor or per output channel (quantize_static's per_channel), any strides, pads,
dilations and group (depthwise included).

Lowered as u8 im2col (u8_im2col.wat, padding = x_zp, rows padded with x_zp to a multiple of 8
taps x channels, against zero weights) + the requantizing GEMM of QLinearGemm
(qu8_gemm.wat) per image and group; a pointwise convolution is that GEMM straight over the
pixels; a depthwise one (one output channel per input channel) is qu8_qc8w_dwconv_c16x2 (qu8_dwconv.wat);
an ungrouped 3x3 one of stride 1 is the integer Winograd F(2x2, 3x3) (qu8_winograd.wat: 16
multiplies per 2x2 output tile and channel pair instead of 36, the same bytes). Imported from ONNX QLinearConv (quantize_static's QOperator format) and from the QDQ
chain DequantizeLinear -> Conv(., DequantizeLinear(w) [, DequantizeLinear(b)]) -> QuantizeLinear,
which frontend/quantized.py rewrites into a QLinearConv node (onnxruntime's QDQ transformer does
the same, and adds the int32 bias as is, whatever scale its DequantizeLinear declares).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..backend.convolution import (WINOGRAD_BLOCK_BYTES, WINOGRAD_MIN_CHANNELS, derived_weight, group_matrices,
                                   indirection_buffer, skewed_plane)
from ..backend.program import Call, Ptr
from ..backend.qpacking import (QC7W_KERNELS, QS16_WINOGRAD_GEMM, QU8_WINOGRAD_MAX_CHANNELS, qs8_winograd_taps,
                                qs16_winograd_plane_bytes, qu8_gemm_call, qu8_gemm_kernel, qu8_gemm_scratch_bytes,
                                qu8_winograd_heads)
from ..errors import UnsupportedModelError
from ..frontend.quantized import emit_typed
from ..frontend.spatial import sliding_window
from .integer_conv import quantized_conv_weights
from .layout_transpose import perm, to_channels_first, to_channels_last
from .qlinear_gemm import multiplier
from .quantize_linear import per_tensor

IR_OP = "QLinearConv"


def _per_channel(im, node, index: int, m: int, what: str, default=None) -> np.ndarray:
    if index >= len(node.input) or not node.input[index]:
        if default is None:
            raise UnsupportedModelError(f"QLinearConv node {node.name!r}: {what} is required")
        return default
    value = im.const(node.input[index], node, what)
    if value.size == 1:
        return np.broadcast_to(value.reshape(-1), (m,)).copy()
    if value.shape != (m,):
        raise UnsupportedModelError(f"QLinearConv node {node.name!r}: {what} must be per tensor or per output "
                                    f"channel ({m},), got {value.shape}")
    return value


def import_qlinear_conv(im, node, at) -> None:
    """QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp [, B]) with constant w and B."""
    where = f"QLinearConv node {node.name!r}"
    x = node.input[0]
    if x in im.constants or im.tensors[x].dtype != "uint8":
        raise UnsupportedModelError(f"{where}: the input must be uint8 activations "
                                    f"(int8 activations are not supported)")
    xs = im.shape(x)
    w, group = quantized_conv_weights(im, node, at, where, xs, node.input[3])
    out_channels = w.shape[0]
    w_zp = _per_channel(im, node, 5, out_channels, "the weights' zero point", np.zeros(out_channels, w.dtype))
    w_scale = _per_channel(im, node, 4, out_channels, "the weights' scale")
    if w_scale.dtype != np.float32 or w_zp.dtype != w.dtype:
        raise UnsupportedModelError(f"{where}: the weights' scale must be float32 and its zero point {w.dtype}")
    centered = w.astype(np.int32) - w_zp.astype(np.int32).reshape(-1, *[1] * (w.ndim - 1))
    if centered.min(initial=0) < -128 or centered.max(initial=0) > 127:
        raise UnsupportedModelError(f"{where}: weights minus their zero point leave the int8 range; "
                                    "quantize weights as int8")
    bias = np.zeros(out_channels, np.int32)
    if len(node.input) > 8 and node.input[8]:
        bias = im.const(node.input[8], node, "the bias").reshape(-1)
        if bias.dtype != np.int32 or bias.shape != (out_channels,):
            raise UnsupportedModelError(f"{where}: the bias must be int32 of shape ({out_channels},), "
                                        f"got {bias.dtype} {bias.shape}")
    window = sliding_window(node, at, xs[2:], tuple(w.shape[2:]))
    constants = []
    for base, value in ((f"{node.input[3]}_qc8w", centered.astype(np.int8)),
                        (f"{node.input[3]}_wscale", w_scale.astype(np.float32)), (f"{node.input[3]}_bias_q", bias)):
        name = im.fresh(base)
        im.constants[name] = np.ascontiguousarray(value)
        constants.append(name)
    x_last = to_channels_last(im, x, node.name)
    y_last = im.fresh(f"{node.output[0]}__nhwc")
    emit_typed(im, IR_OP, [x_last, *constants], [(y_last, (xs[0], *window.out_spatial, out_channels), "uint8")],
               node.name, window=window, group=group,
               x_scale=float(per_tensor(im, node, 1, "the input scale", np.float32)),
               x_zp=int(per_tensor(im, node, 2, "the input zero point", np.uint8, default=0)),
               y_scale=float(per_tensor(im, node, 6, "the output scale", np.float32)),
               y_zp=int(per_tensor(im, node, 7, "the output zero point", np.uint8, default=0)))
    to_channels_first(im, y_last, node.output[0], node.name)


def _import_qlinear_conv_any(im, node, at) -> None:
    """The fused form above, or any other QLinearConv decomposed (integer_matmul.py)."""
    from .integer_matmul import fused_or_general, general_qlinear_conv

    fused_or_general(import_qlinear_conv, general_qlinear_conv)(im, node, at)


IMPORTS = {"QLinearConv": (_import_qlinear_conv_any, 8, 9)}


def pack_qu8_dwconv16x2(w: np.ndarray, bias: np.ndarray, mult: np.ndarray, x_zp: int) -> np.ndarray:
    """Blocks of 16 channels for qu8_qc8w_dwconv_c16x2: 16 int32 biases with the input's zero point
    folded in (bias - x_zp * sum over taps of w, wrapping as the kernel's int32 sums do), 16 f32
    multipliers, then per pair of taps p the 16 channels' (w[2p, ch], w[2p+1, ch]) (0 for a tap
    past the last); zeros past the last channel. w int8 [C, 1, *kernel]."""
    channels, taps = w.shape[0], math.prod(w.shape[2:])
    blocks, pairs = -(-channels // 16), -(-taps // 2)
    sums = w.reshape(channels, taps).astype(np.int64).sum(axis=1)
    folded = ((bias.astype(np.int64) - int(x_zp) * sums + 2**31) % 2**32 - 2**31).astype("<i4")
    heads = np.zeros((2, blocks * 16), np.uint32)
    heads[0, :channels] = folded.view("<u4")
    heads[1, :channels] = mult.astype("<f4").view("<u4")
    heads = heads.reshape(2, blocks, 16).transpose(1, 0, 2).astype("<u4").view(np.uint8).reshape(blocks, 128)
    padded = np.zeros((blocks * 16, 2 * pairs), np.int8)
    padded[:channels, :taps] = w.reshape(channels, taps)
    body = padded.reshape(blocks, 16, pairs, 2).transpose(0, 2, 1, 3).reshape(blocks, 32 * pairs)
    return np.concatenate([heads, body.view(np.uint8)], axis=1).reshape(-1)


def _lower_depthwise(graph, node, program, mult: np.ndarray) -> None:
    xq, w_name, _, bias_name = node.inputs
    y = node.outputs[0]
    a, window = node.attrs, node.attrs["window"]
    channels = graph.info(xq).shape[-1]
    packed = program.weight(f"{y}__qu8_dw", pack_qu8_dwconv16x2(graph.constants[w_name], graph.constants[bias_name],
                                                                mult, int(a["x_zp"])))
    ptrs = program.temp(f"{y}__taps", 4 * (window.taps + 1))
    pad = program.weight(f"__u8_row_{int(a['x_zp'])}_{channels}", np.full(channels, int(a["x_zp"]), np.uint8))
    ind = indirection_buffer(program, window, channels)
    in_image, out_image = math.prod(graph.info(xq).shape[1:]), math.prod(graph.info(y).shape[1:])
    for image in range(graph.info(xq).shape[0]):
        program.call("qu8_qc8w_dwconv_c16x2", [window.out_pixels, channels, window.taps, ind, Ptr(xq, image * in_image),
                                               pad, packed, Ptr(y, image * out_image), int(a["y_zp"]), 0, 255, ptrs],
                     node.name)


def use_qu8_winograd(window, group: int, channels: int, out_channels: int, relaxed: bool) -> bool:
    """The integer Winograd for ungrouped 2-D 3x3 convolutions of stride 1 and dilation 1 with
    enough channels (as the float one), where it stays exact (QU8_WINOGRAD_MAX_CHANNELS); a
    `--simd relaxed` layer keeps its relaxed-dot GEMM."""
    return (not relaxed and group == 1 and window.kernel == (3, 3) and window.strides == (1, 1)
            and window.dilations == (1, 1) and min(channels, out_channels) >= WINOGRAD_MIN_CHANNELS
            and channels <= QU8_WINOGRAD_MAX_CHANNELS)


def _lower_winograd(graph, node, program, mult: np.ndarray) -> None:
    """Per image and block of 2x2 output tiles: the input transform to V [16][tiles][C] (int16), 16
    GEMMs V[xi] @ U[xi] -> M [16][tiles][K] (int32) with U computed by init() from the shipped int8
    taps, the output transform with the requantizing epilogue (backend/convolution.py's float
    Winograd is the same walk)."""
    xq, w_name, _, bias_name = node.inputs
    y = node.outputs[0]
    a, window = node.attrs, node.attrs["window"]
    w = graph.constants[w_name]
    (height, width), (out_h, out_w) = window.in_spatial, window.out_spatial
    pad_top, pad_left = window.pads_begin
    channels, out_channels = graph.info(xq).shape[-1], graph.info(y).shape[-1]
    c8, k8 = -(-channels // 8) * 8, -(-out_channels // 8) * 8
    x_zp = int(a["x_zp"])
    tiles_w = -(-out_w // 2)
    tiles = -(-out_h // 2) * tiles_w
    taps = program.weight(f"{y}__qs8_winograd_taps", qs8_winograd_taps(w))
    plane = qs16_winograd_plane_bytes(channels, out_channels)
    u = derived_weight(program, f"{y}__qs16_winograd", 16 * plane)
    program.init_calls.append(Call("qs8_winograd_weights_3x3", [channels, out_channels, taps, u], node.name))
    heads = program.weight(f"{y}__qu8_winograd_heads", qu8_winograd_heads(graph.constants[bias_name], mult))
    pad = program.weight(f"__u8_row_{x_zp}_{c8}", np.full(c8, x_zp, np.uint8))
    per_tile = 16 * (2 * c8 + 4 * k8)
    block = min(-(-tiles // 4) * 4, max(4, WINOGRAD_BLOCK_BYTES // per_tile // 4 * 4))
    v_plane, m_plane = skewed_plane(block * 2 * c8), skewed_plane(block * 4 * k8)
    v = program.temp(f"{y}__qu8_winograd_v", 16 * v_plane)
    m = program.temp(f"{y}__qu8_winograd_m", 16 * m_plane)
    in_image, out_image = math.prod(graph.info(xq).shape[1:]), math.prod(graph.info(y).shape[1:])
    for image in range(graph.info(xq).shape[0]):
        for first in range(0, tiles, block):
            count = min(block, tiles - first)
            program.call("qu8_winograd_input_2x2_3x3", [first, count, tiles_w, channels, Ptr(xq, image * in_image),
                                                        height, width, pad_top, pad_left, pad, x_zp, v, 2 * c8,
                                                        v_plane], node.name)
            for xi in range(16):
                program.call(QS16_WINOGRAD_GEMM, [count, out_channels, c8, Ptr(v.tensor, xi * v_plane), 2 * c8,
                                                  Ptr(u.tensor, xi * plane), Ptr(m.tensor, xi * m_plane), 4 * k8],
                             node.name)
            program.call("qu8_winograd_output_2x2_3x3", [first, count, tiles_w, out_channels, m, 4 * k8, m_plane,
                                                         heads, Ptr(y, image * out_image), out_h, out_w,
                                                         int(a["y_zp"]), 0, 255], node.name)


def lower(graph, node, program) -> None:
    xq, w_name, w_scale, bias_name = node.inputs
    y = node.outputs[0]
    w, bias = graph.constants[w_name], graph.constants[bias_name]
    a = node.attrs
    window, group = a["window"], a["group"]
    channels, out_channels = graph.info(xq).shape[-1], graph.info(y).shape[-1]
    cg, mg = channels // group, out_channels // group
    mult = multiplier(a["x_scale"], graph.constants[w_scale], a["y_scale"])
    if cg == 1 and mg == 1 and not window.is_pointwise:
        _lower_depthwise(graph, node, program, mult)
        return
    if use_qu8_winograd(window, group, channels, out_channels, a.get("simd") == "relaxed"):
        _lower_winograd(graph, node, program, mult)
        return
    batch = graph.info(xq).shape[0]
    x_zp, y_zp = int(a["x_zp"]), int(a["y_zp"])
    kernel, pack = qu8_gemm_kernel(batch * window.out_pixels if window.is_pointwise else window.out_pixels, mg,
                                   a.get("simd") == "relaxed", w)
    if kernel in QC7W_KERNELS:  # its heads fold the input's zero point in
        pack = functools.partial(pack, a_zp=x_zp)
    k = window.taps * cg
    # im2col rows are padded with x_zp to a multiple of 8 (zero weights): the GEMM's k loop has no tail
    k_pad = k if window.is_pointwise else -(-k // 8) * 8
    panels = [pack(np.pad(m.astype(np.int8), ((0, k_pad - k), (0, 0))), bias[g * mg:(g + 1) * mg],
                   mult[g * mg:(g + 1) * mg])
              for g, m in enumerate(group_matrices(w.astype(np.float32), group, False))]
    packed = program.weight(f"{y}__qu8_qc8w", np.concatenate(panels))
    offsets = np.cumsum([0] + [p.size for p in panels[:-1]])
    nbytes = qu8_gemm_scratch_bytes(kernel, k_pad)
    scratch = program.temp(f"{y}__qu8_rows", nbytes) if nbytes else None
    if window.is_pointwise:  # one GEMM over the pixels of the whole batch
        pixels = batch * window.out_pixels
        for g in range(group):
            program.call(kernel, qu8_gemm_call(kernel, pixels, mg, cg, Ptr(xq, g * cg), channels, x_zp,
                                               Ptr(packed.tensor, int(offsets[g])), Ptr(y, g * mg), out_channels, y_zp,
                                               scratch=scratch),
                         node.name)
        return
    rows = program.temp(f"{y}__im2col", window.out_pixels * k_pad)
    zp = program.weight(f"__u8_{x_zp}", np.array([x_zp], np.uint8))
    ind = indirection_buffer(program, window, channels)
    in_image, out_image = math.prod(graph.info(xq).shape[1:]), math.prod(graph.info(y).shape[1:])
    for image in range(batch):
        for g in range(group):
            program.call("u8_im2col", [window.out_pixels, window.taps, cg, ind, Ptr(xq, image * in_image + g * cg),
                                       zp, rows, k_pad - k], node.name)
            program.call(kernel, qu8_gemm_call(kernel, window.out_pixels, mg, k_pad, rows, k_pad, x_zp,
                                               Ptr(packed.tensor, int(offsets[g])), Ptr(y, image * out_image + g * mg),
                                               out_channels, y_zp, scratch=scratch), node.name)


def export(ex, node) -> None:
    """ONNX QLinearConv between the transposes that take the channels-last tensors to ONNX's layout and back."""
    xq, w_name, w_scale, bias_name = node.inputs
    y = node.outputs[0]
    a = node.attrs
    window = a["window"]
    rank = len(ex.graph.info(xq).shape)
    m = ex.graph.constants[w_name].shape[0]
    x_first, y_first = ex.temp(y), ex.temp(y)
    ex.add("Transpose", [xq], x_first, perm=perm("NCHW", rank))
    inputs = [x_first, ex.const(f"{y}__x_scale", np.float32(a["x_scale"])), ex.const(f"{y}__x_zp", np.uint8(a["x_zp"])),
              ex.graph_const(w_name), ex.graph_const(w_scale), ex.const(f"{w_name}__zp", np.zeros(m, np.int8)),
              ex.const(f"{y}__y_scale", np.float32(a["y_scale"])), ex.const(f"{y}__y_zp", np.uint8(a["y_zp"])),
              ex.graph_const(bias_name)]
    ex.add("QLinearConv", inputs, y_first, group=a["group"], kernel_shape=list(window.kernel),
           strides=list(window.strides), dilations=list(window.dilations),
           pads=list(window.pads_begin + window.pads_end))
    ex.add("Transpose", [y_first], y, perm=perm("NHWC", rank))


def flops(graph, node) -> int:
    w = graph.constants[node.inputs[1]]
    return 2 * graph.info(node.outputs[0]).size * math.prod(w.shape[1:])
