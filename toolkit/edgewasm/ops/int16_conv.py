"""Int16Conv: the int16 precision's convolution (any kernel, stride, padding, dilation, group) over
channels-last tensors:
    y = clamp(f32(sum q * w) * f32(q_scale * w_scale[m]) + bias[m])
q int16 [N, *S, C] from DynamicQuantize16, w int16 [M, C/group, *kernel] symmetric per output
channel; padding taps are 0 (symmetric: adding exactly 0). A pointwise convolution of one group is
an Int16Gemm over the pixels instead (passes/quantize.py).

Lowered as im2col of the int16 values (u8_im2col moving 2 bytes per channel, padding bytes 0) +
the int16 GEMM (qs16_gemm.wat) per image and group. onnxruntime has no int16 (or int64, or double)
convolution, so the reference.onnx splits both operands into bytes, q = 256 h + l with h signed and
l in [0, 255], and sums four exact ConvInteger products in int64:
    acc = 65536 conv(h, wh) + 256 (conv(h, wl) + conv(l, wh)) + conv(l, wl)
(h fed as uint8 h + 128 with zero point 128, so its padding adds 0 too), then Cast(FLOAT) ->
Mul(., Mul(scales)) -> Add(bias), as Int16Gemm.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto

from ..backend.convolution import group_matrices, indirection_buffer
from ..backend.program import Ptr
from ..backend.qpacking import pack_qc16w_gemm
from .integer_gemm import export_dequantizing_epilogue
from .layout_transpose import perm

IR_OP = "Int16Conv"
IMPORTS: dict = {}


def lower(graph, node, program) -> None:
    q, q_scale, w_name, w_scale = node.inputs[:4]
    y = node.outputs[0]
    w, scale = graph.constants[w_name], graph.constants[w_scale]
    bias = graph.constants[node.inputs[4]] if len(node.inputs) > 4 else None
    window, group = node.attrs["window"], node.attrs["group"]
    lo, hi = float(node.attrs["min"]), float(node.attrs["max"])
    channels, out_channels = graph.info(q).shape[-1], graph.info(y).shape[-1]
    cg, mg = channels // group, out_channels // group
    panels = [pack_qc16w_gemm(m.astype("<i2"), scale[g * mg:(g + 1) * mg],
                              None if bias is None else bias[g * mg:(g + 1) * mg])
              for g, m in enumerate(group_matrices(w.astype(np.float32), group, False))]  # int16: exact in f32
    packed = program.weight(f"{y}__qc16w", np.concatenate(panels))
    offsets = np.cumsum([0] + [p.size for p in panels[:-1]])
    k = window.taps * cg
    rows = program.temp(f"{y}__im2col", 2 * window.out_pixels * k)
    ind = indirection_buffer(program, window, 2 * channels)
    zero = program.weight("__qs16_zero_byte", np.zeros(1, np.uint8))
    kernel = "qds16_f32_qc16w_gemm_1x4c2" if window.out_pixels < 4 else "qds16_f32_qc16w_gemm_4x4c2"
    in_image, out_image = 2 * math.prod(graph.info(q).shape[1:]), 4 * math.prod(graph.info(y).shape[1:])
    for image in range(graph.info(q).shape[0]):
        for g in range(group):
            program.call("u8_im2col", [window.out_pixels, window.taps, 2 * cg, ind,
                                       Ptr(q, image * in_image + 2 * g * cg), zero, rows, 0], node.name)
            program.call(kernel, [window.out_pixels, mg, k, rows, 2 * k, Ptr(q_scale),
                                  Ptr(packed.tensor, int(offsets[g])), Ptr(y, image * out_image + 4 * g * mg),
                                  4 * out_channels, lo, hi], node.name)


def _bytes(ex, x: str, base: str) -> tuple[str, str]:
    """int16 x -> (uint8 h + 128, uint8 l) with x = 256 h + l, l = x mod 256 in [0, 255]."""
    x32, low, rest, high, shifted, h_u8, l_u8 = (ex.temp(base) for _ in range(7))
    c256 = ex.const("qs16__256", np.int32(256))
    ex.add("Cast", [x], x32, to=TensorProto.INT32)
    ex.add("Mod", [x32, c256], low, fmod=0)  # the divisor's sign: [0, 255]
    ex.add("Sub", [x32, low], rest)
    ex.add("Div", [rest, c256], high)  # exact
    ex.add("Add", [high, ex.const("qs16__128", np.int32(128))], shifted)
    ex.add("Cast", [shifted], h_u8, to=TensorProto.UINT8)
    ex.add("Cast", [low], l_u8, to=TensorProto.UINT8)
    return h_u8, l_u8


def export(ex, node) -> None:
    q, q_scale = node.inputs[:2]
    w_name, w_scale = (ex.graph_const(i) for i in node.inputs[2:4])
    y = node.outputs[0]
    window = node.attrs["window"]
    rank = len(ex.graph.info(q).shape)
    q_first = ex.temp(y)
    ex.add("Transpose", [q], q_first, perm=perm("NCHW", rank))
    (xh, xl), (wh, wl) = _bytes(ex, q_first, y), _bytes(ex, w_name, y)
    zp = {128: ex.const("qs16__zp128", np.uint8(128)), 0: ex.const("qs16__zp0", np.uint8(0))}
    attrs = dict(group=node.attrs["group"], kernel_shape=list(window.kernel), strides=list(window.strides),
                 dilations=list(window.dilations), pads=list(window.pads_begin + window.pads_end))
    acc = None
    for x_part, x_zp, w_part, w_zp, factor in ((xh, 128, wh, 128, 65536), (xh, 128, wl, 0, 256),
                                                (xl, 0, wh, 128, 256), (xl, 0, wl, 0, 1)):
        part32, part64, scaled = ex.temp(y), ex.temp(y), ex.temp(y)
        ex.add("ConvInteger", [x_part, w_part, zp[x_zp], zp[w_zp]], part32, **attrs)
        ex.add("Cast", [part32], part64, to=TensorProto.INT64)
        ex.add("Mul", [part64, ex.const(f"qs16__x{factor}", np.int64(factor))], scaled)
        if acc is None:
            acc = scaled
        else:
            total = ex.temp(y)
            ex.add("Add", [acc, scaled], total)
            acc = total
    acc_last, accf = ex.temp(y), ex.temp(y)
    ex.add("Transpose", [acc], acc_last, perm=perm("NHWC", rank))
    ex.add("Cast", [acc_last], accf, to=TensorProto.FLOAT)
    export_dequantizing_epilogue(ex, node, accf, q_scale, w_scale, node.inputs[4] if len(node.inputs) > 4 else None)


def flops(graph, node) -> int:
    w = graph.constants[node.inputs[2]]
    return 2 * graph.info(node.outputs[0]).size * math.prod(w.shape[1:])
