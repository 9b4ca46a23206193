"""QLinearGlobalAveragePool: onnxruntime's quantized global average pooling (com.microsoft), uint8 in
and out, with its bits (MLAS's QLinearGlobalAveragePool, checked on random inputs and scales):
    acc[n, c] = sum over pixels (xq - x_zp)                                   (int32)
    yq        = sat(rint(f32(acc) * S) + y_zp)   with  S = f32(x_scale / f32(y_scale * f32(pixels)))

Lowered as u8_transpose of each channels-last image to [C, pixels] (u8_transpose.wat) and the
requantizing GEMM of QLinearGemm (qu8_gemm.wat) with one column of ones, a_zp = x_zp and M = S.
Imported from com.microsoft::QLinearGlobalAveragePool (quantize_static's QOperator format) and from
the QDQ chain DequantizeLinear -> GlobalAveragePool -> QuantizeLinear (frontend/quantized.py
rewrites both, as onnxruntime fuses the latter); its reference.onnx is that QDQ chain.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import helper

from ..backend.program import Ptr
from ..backend.qpacking import pack_qu8_qc8w_gemm
from ..errors import UnsupportedModelError
from ..frontend.quantized import emit_typed
from .layout_transpose import perm, to_channels_first, to_channels_last
from .quantize_linear import per_tensor

IR_OP = "QLinearGlobalAveragePool"


def pool_scale(x_scale: float, y_scale: float, pixels: int) -> np.float32:
    """onnxruntime's x_scale / (y_scale * pixels), in float32."""
    return np.float32(x_scale) / (np.float32(y_scale) * np.float32(pixels))


def import_qlinear_global_average_pool(im, node, at) -> None:
    where = f"QLinearGlobalAveragePool node {node.name!r}"
    x = node.input[0]
    if x in im.constants or im.tensors[x].dtype != "uint8":
        raise UnsupportedModelError(f"{where}: the input must be uint8 activations")
    if int(at.get("channels_last", 0)):
        raise UnsupportedModelError(f"{where}: channels_last=1 is not supported (onnxruntime's own layout rewrite)")
    xs = im.shape(x)
    if len(xs) < 3:
        raise UnsupportedModelError(f"{where}: input of shape {xs} has no spatial dims")
    pixels = math.prod(xs[2:])
    attrs = dict(x_scale=float(per_tensor(im, node, 1, "the input scale", np.float32)),
                 x_zp=int(per_tensor(im, node, 2, "the input zero point", np.uint8, default=0)),
                 y_scale=float(per_tensor(im, node, 3, "the output scale", np.float32)),
                 y_zp=int(per_tensor(im, node, 4, "the output zero point", np.uint8, default=0)))
    scale = pool_scale(attrs["x_scale"], attrs["y_scale"], pixels)
    if pixels >= 1 << 24 or not 2.0 ** -32 <= scale < 256.0:  # onnxruntime refuses these too
        raise UnsupportedModelError(f"{where}: scale ratio {scale} over {pixels} pixels is out of range")
    x_last = to_channels_last(im, x, node.name)
    y_last = im.fresh(f"{node.output[0]}__nhwc")
    emit_typed(im, IR_OP, [x_last], [(y_last, (xs[0], *[1] * (len(xs) - 2), xs[1]), "uint8")], node.name, **attrs)
    to_channels_first(im, y_last, node.output[0], node.name)


IMPORTS = {"QLinearGlobalAveragePool": (import_qlinear_global_average_pool, 5, 5)}


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = graph.info(x).shape
    batch, channels, pixels = shape[0], shape[-1], math.prod(shape[1:-1])
    a = node.attrs
    if pixels > 1 and channels > 1:  # [pixels, C] -> [C, pixels] per image
        planes = program.temp(f"{y}__planes", batch * channels * pixels)
        for n in range(batch):
            program.call("u8_transpose", [pixels, channels, Ptr(x, n * pixels * channels),
                                          Ptr(planes.tensor, n * pixels * channels)], node.name)
    else:
        planes = Ptr(x)
    ones = pack_qu8_qc8w_gemm(np.ones((pixels, 1), np.int8), np.zeros(1, np.int32),
                              np.array([pool_scale(a["x_scale"], a["y_scale"], pixels)], np.float32))
    packed = program.weight(f"{y}__qu8_ones", ones)
    rows = batch * channels
    program.call("qu8_qc8w_gemm_1x4c2" if rows < 4 else "qu8_qc8w_gemm_4x4c2",
                 [rows, 1, pixels, planes, pixels, int(a["x_zp"]), packed, Ptr(y), 1, int(a["y_zp"]), 0, 255],
                 node.name)


def export(ex, node) -> None:
    """DequantizeLinear -> GlobalAveragePool -> QuantizeLinear, which onnxruntime fuses into its
    QLinearGlobalAveragePool, between the layout transposes."""
    x, y = node.inputs[0], node.outputs[0]
    a = node.attrs
    rank = len(ex.graph.info(x).shape)
    x_first, xf, yf, y_first = (ex.temp(y) for _ in range(4))
    ex.add("Transpose", [x], x_first, perm=perm("NCHW", rank))
    ex.nodes.append(helper.make_node("DequantizeLinear", [x_first, ex.const(f"{y}__x_scale", np.float32(a["x_scale"])),
                                                          ex.const(f"{y}__x_zp", np.uint8(a["x_zp"]))], [xf]))
    ex.add("GlobalAveragePool", [xf], yf)
    ex.nodes.append(helper.make_node("QuantizeLinear", [yf, ex.const(f"{y}__y_scale", np.float32(a["y_scale"])),
                                                        ex.const(f"{y}__y_zp", np.uint8(a["y_zp"]))], [y_first]))
    ex.add("Transpose", [y_first], y, perm=perm("NHWC", rank))


def flops(graph, node) -> int:
    return graph.info(node.inputs[0]).size
