"""IntegerConv: onnxruntime's quantize_dynamic convolution, with its bits, over channels-last tensors:
    y = clamp(f32(sum (q - q_zp) * w) * f32(q_scale * w_scale) + bias[m])
q uint8 [N, *S, C] (DynamicQuantize of the float input, scale and zero point computed at run
time), w [M, C/group, *kernel] the weights minus their zero point (per tensor: what quantize_dynamic
makes of Conv weights, even with per_channel=True), int8, or int16 for uint8 weights with a zero
point far from 128 (integer_gemm.centered_weights), padding taps = q_zp (adding exactly 0).

Lowered as im2col (u8_im2col.wat) + the integer GEMM of IntegerGemm (qdu8_gemm.wat) per image and
group; a pointwise convolution is that GEMM straight over the pixels. Imported from the chain
DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul(., Mul(x_scale, w_scale)) [-> Add(bias)], which
frontend/quantized.py fuses into one `DynamicQuantizeConv` node.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto

from ..backend.convolution import group_matrices, indirection_buffer
from ..backend.program import Ptr
from ..backend.qpacking import pack_qc8w_gemm, split_weight_offsets
from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.quantized import emit_typed
from ..frontend.spatial import sliding_window
from .integer_gemm import centered_weights, onnx_weights
from .layout_transpose import perm, to_channels_first, to_channels_last

IR_OP = "IntegerConv"
INF = math.inf


def quantized_conv_weights(im, node, at, where: str, xs: tuple[int, ...], w_name: str) -> tuple[np.ndarray, int]:
    """The constant int8/uint8 weights [M, C/group, *kernel] of a quantized convolution of an
    input of shape xs (channels first), and its group, checked against each other."""
    w = im.const(w_name, node, "the weights")
    if len(xs) < 3 or w.ndim != len(xs) or w.dtype not in (np.int8, np.uint8):
        raise UnsupportedModelError(f"{where}: input {xs} with {w.dtype} weights of shape {w.shape}")
    group = int(at.get("group", 1))
    channels, out_channels = xs[1], w.shape[0]
    if group < 1 or channels % group or out_channels % group or w.shape[1] * group != channels:
        raise ModelFormatError(f"{where}: group {group} does not fit {channels} channels and weights {w.shape}")
    return w, group


def import_dynamic_quantize_conv(im, node, at) -> None:
    """(x float, w, w_scale, w_zero_point, bias) + Conv attributes, as frontend/quantized.py fuses them."""
    names = list(node.input) + [""] * (5 - len(node.input))
    x, w_name, w_scale, w_zp, bias_name = names
    where = f"ConvInteger node {node.name!r}"
    xs = im.shape(x)
    w, group = quantized_conv_weights(im, node, at, where, xs, w_name)
    out_channels = w.shape[0]
    zp = im.const(w_zp, node, "the weights' zero point") if w_zp else np.zeros((), w.dtype)
    scale = im.const(w_scale, node, "the weights' scale")
    if zp.size != 1 or scale.size != 1 or scale.dtype != np.float32:
        raise UnsupportedModelError(f"{where}: only per-tensor weight scales and zero points are supported "
                                    "(onnxruntime's ConvInteger has no per-channel form)")
    centered = centered_weights(w.astype(np.int32) - int(zp.reshape(())))
    window = sliding_window(node, at, xs[2:], tuple(w.shape[2:]))
    inputs = []
    for base, value in ((f"{w_name}_qc8", centered), (f"{w_name}_scale", scale.reshape(()))):
        name = im.fresh(base)
        im.constants[name] = np.ascontiguousarray(value)
        inputs.append(name)
    if bias_name:
        bias = im.const(bias_name, node, "the bias").astype(np.float32).reshape(-1)
        if bias.shape != (out_channels,):
            raise ModelFormatError(f"{where}: bias of {bias.size} values for {out_channels} channels")
        inputs.append(im.add_constant(f"{bias_name}_bias", bias))
    x_last = to_channels_last(im, x, node.name)
    last_shape = im.shape(x_last)
    q, q_scale, q_zp = (im.fresh(f"{x_last}__q"), im.fresh(f"{x_last}__scale"), im.fresh(f"{x_last}__zp"))
    emit_typed(im, "DynamicQuantize", [x_last], [(q, last_shape, "uint8"), (q_scale, (), "float32"), (q_zp, (), "uint8")],
               f"{node.name} quantize input")
    y_last = im.fresh(f"{node.output[0]}__nhwc")
    emit_typed(im, IR_OP, [q, q_scale, q_zp, *inputs], [(y_last, (xs[0], *window.out_spatial, out_channels), "float32")],
               node.name, window=window, group=group, min=-INF, max=INF)
    to_channels_first(im, y_last, node.output[0], node.name)


def refuse_conv_integer(im, node, at) -> None:
    raise UnsupportedModelError(
        f"ConvInteger node {node.name!r}: only onnxruntime's quantize_dynamic pattern is supported "
        "(DynamicQuantizeLinear -> ConvInteger -> Cast(to float) -> Mul by Mul(x scale, w scale) [-> Add bias])")


def _import_conv_integer(im, node, at) -> None:
    """A ConvInteger outside onnxruntime's fused chain: computed as the spec says (integer_matmul.py)."""
    from .integer_matmul import general_conv_integer

    general_conv_integer(im, node, at)


IMPORTS = {"DynamicQuantizeConv": (import_dynamic_quantize_conv, 3, 5), "ConvInteger": (_import_conv_integer, 2, 4)}


def _pointer(graph, program, name: str) -> Ptr:
    return program.weight(name, graph.constants[name].reshape(1)) if graph.is_constant(name) else Ptr(name)


def lower(graph, node, program) -> None:
    q, q_scale, q_zp, w_name, w_scale = node.inputs[:5]
    y = node.outputs[0]
    w = graph.constants[w_name]
    bias = graph.constants[node.inputs[5]] if len(node.inputs) > 5 else None
    window, group = node.attrs["window"], node.attrs["group"]
    lo, hi = float(node.attrs["min"]), float(node.attrs["max"])
    channels, out_channels = graph.info(q).shape[-1], graph.info(y).shape[-1]
    cg, mg = channels // group, out_channels // group
    scale = np.full(mg, graph.constants[w_scale], np.float32)
    panels = []
    for g, matrix in enumerate(group_matrices(w.astype(np.float32), group, False)):
        w8, offset = split_weight_offsets(matrix.astype(np.int32))  # offsets for uint8 weights int8 cannot hold
        panels.append(pack_qc8w_gemm(w8, scale, None if bias is None else bias[g * mg:(g + 1) * mg], offset))
    packed = program.weight(f"{y}__qc8w", np.concatenate(panels))
    offsets = np.cumsum([0] + [p.size for p in panels[:-1]])
    params = [_pointer(graph, program, q_scale), _pointer(graph, program, q_zp)]
    batch = graph.info(q).shape[0]
    if window.is_pointwise:  # one GEMM over the pixels of the whole batch
        pixels = batch * window.out_pixels
        kernel = "qdu8_f32_qc8w_gemm_1x4c2" if pixels < 4 else "qdu8_f32_qc8w_gemm_4x4c2"
        for g in range(group):
            program.call(kernel, [pixels, mg, cg, Ptr(q, g * cg), channels, *params, Ptr(packed.tensor, int(offsets[g])),
                                  Ptr(y, 4 * g * mg), 4 * out_channels, lo, hi], node.name)
        return
    k = window.taps * cg
    rows = program.temp(f"{y}__im2col", window.out_pixels * k)
    ind = indirection_buffer(program, window, channels)
    kernel = "qdu8_f32_qc8w_gemm_1x4c2" if window.out_pixels < 4 else "qdu8_f32_qc8w_gemm_4x4c2"
    in_image, out_image = math.prod(graph.info(q).shape[1:]), 4 * math.prod(graph.info(y).shape[1:])
    for image in range(batch):
        for g in range(group):
            program.call("u8_im2col", [window.out_pixels, window.taps, cg, ind, Ptr(q, image * in_image + g * cg),
                                       params[1], rows, 0], node.name)
            program.call(kernel, [window.out_pixels, mg, k, rows, k, *params, Ptr(packed.tensor, int(offsets[g])),
                                  Ptr(y, image * out_image + 4 * g * mg), 4 * out_channels, lo, hi], node.name)


def export(ex, node) -> None:
    """quantize_dynamic's Conv: ConvInteger -> Cast -> Mul(., Mul(scales)) [-> Add(bias)], between the
    transposes that take the channels-last tensors to ONNX's layout and back."""
    q, q_scale, q_zp, w_scale = (ex.graph_const(i) if ex.graph.is_constant(i) else i
                                 for i in (*node.inputs[:3], node.inputs[4]))
    w, w_zp = onnx_weights(ex, node.inputs[3], per_column=False)
    y = node.outputs[0]
    window = node.attrs["window"]
    rank = len(ex.graph.info(node.inputs[0]).shape)
    q_first, acc, accf, scales, scaled, y_first = (ex.temp(y) for _ in range(6))
    ex.add("Transpose", [q], q_first, perm=perm("NCHW", rank))
    ex.add("ConvInteger", [q_first, w, q_zp, w_zp], acc,
           group=node.attrs["group"], kernel_shape=list(window.kernel), strides=list(window.strides),
           dilations=list(window.dilations), pads=list(window.pads_begin + window.pads_end))
    ex.add("Cast", [acc], accf, to=TensorProto.FLOAT)
    ex.add("Mul", [q_scale, w_scale], scales)
    if len(node.inputs) > 5:
        bias = ex.graph.constants[node.inputs[5]]
        ex.add("Mul", [accf, scales], scaled)
        ex.add("Add", [scaled, ex.const(f"{node.inputs[5]}__nchw", bias.reshape(1, -1, *[1] * (rank - 2)))], y_first)
    else:
        ex.add("Mul", [accf, scales], y_first)
    lo, hi = node.attrs["min"], node.attrs["max"]
    clamped = lo != -INF or hi != INF
    y_last = ex.temp(y) if clamped else y
    ex.add("Transpose", [y_first], y_last, perm=perm("NHWC", rank))
    if clamped:
        ex.clamp(y_last, y, lo, hi)


def flops(graph, node) -> int:
    w = graph.constants[node.inputs[3]]
    return 2 * graph.info(node.outputs[0]).size * math.prod(w.shape[1:])

