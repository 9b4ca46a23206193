"""ScaleShift: y = x * scale[c] + shift[c] over the last (channel) axis: an inference-mode
BatchNormalization with scale = gamma / sqrt(var + eps), shift = beta - mean * scale, computed
at compile time in float64.

Spatial inputs are imported channels-last (between LayoutTransposes) so the channel is the last
axis; passes fold a ScaleShift into a preceding Conv, ConvTranspose or Gemm whenever that node
is its only producer and has no other consumer, so this kernel runs only when folding is not
possible. training_mode=1 (batch statistics, running-statistics outputs) is imported as a
decomposition into ReduceMean and elementwise IR ops instead. A node of constants only (weight
standardization) folds at compile time (fold_batch_norm), so a Conv can take its output as weights.
"""

from __future__ import annotations

import numpy as np

from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError
from .layout_transpose import to_channels_first, to_channels_last

IR_OP = "ScaleShift"


def import_batch_norm(im, node, at) -> None:
    x = node.input[0]
    if im.dtype(x) == "float64" and not int(at.get("training_mode", 0)) and not any(node.output[1:]) \
            and int(at.get("spatial", 1)) and len(im.shape(x)) >= 2:
        _import_float64(im, node, at)
        return
    im.require_float(node, x)
    if int(at.get("training_mode", 0)):
        _import_training(im, node, at)
        return
    if not any(node.output[1:]) and int(at.get("spatial", 1)) and len(im.shape(x)) >= 2 \
            and not all(name in im.constants for name in node.input[1:5]):
        _import_float64(im, node, at)  # parameters computed at run time: the same decomposition, in float32
        return
    if any(node.output[1:]):
        raise UnsupportedModelError(f"BatchNormalization node {node.name!r}: running-statistics outputs need "
                                    "training_mode=1 (opset 14+)")
    if not int(at.get("spatial", 1)):
        _import_per_activation(im, node, at)
        return
    xs = im.shape(x)
    if len(xs) < 2:
        raise ModelFormatError(f"BatchNormalization node {node.name!r}: input of shape {xs} has no channel axis")
    channels = xs[1]
    gamma, beta, mean, var = (im.const(name, node, what).astype(np.float64).reshape(-1) for name, what in
                              zip(node.input[1:5], ("scale", "B", "input_mean", "input_var")))
    if any(v.size != channels for v in (gamma, beta, mean, var)):
        raise ModelFormatError(f"BatchNormalization node {node.name!r}: parameters must have {channels} values")
    scale = gamma / np.sqrt(var + float(at.get("epsilon", 1e-5)))
    shift = beta - mean * scale
    params = [im.add_constant(f"{node.input[1]}_scale", scale), im.add_constant(f"{node.input[2]}_shift", shift)]
    if len(xs) == 2:
        im.emit(IR_OP, [x] + params, node.output[0], xs, node.name)
        return
    x_last = to_channels_last(im, x, node.name)
    y_last = im.fresh(f"{node.output[0]}__nhwc")
    im.emit(IR_OP, [x_last] + params, y_last, im.shape(x_last), node.name)
    to_channels_first(im, y_last, node.output[0], node.name)


def _import_per_activation(im, node, at) -> None:
    """spatial=0 (opsets 7-8): statistics per activation, parameters of shape (C, D1, ..., Dn), so
    y = x * scale + shift broadcast over the batch (scale and shift computed in float64)."""
    x = node.input[0]
    xs = im.shape(x)
    gamma, beta, mean, var = (im.const(name, node, what).astype(np.float64) for name, what in
                              zip(node.input[1:5], ("scale", "B", "input_mean", "input_var")))
    if len(xs) < 2 or any(v.size != int(np.prod(xs[1:])) for v in (gamma, beta, mean, var)):
        raise ModelFormatError(f"BatchNormalization node {node.name!r}: spatial=0 needs parameters of shape "
                               f"{xs[1:]} (C x D1 x ... x Dn)")
    scale = gamma.reshape(xs[1:]) / np.sqrt(var.reshape(xs[1:]) + float(at.get("epsilon", 1e-5)))
    shift = beta.reshape(xs[1:]) - mean.reshape(xs[1:]) * scale
    scaled = im.fresh(f"{node.output[0]}__scaled")
    im.emit("Mul", [x, im.add_constant(f"{node.input[1]}_scale", scale.astype(np.float32))], scaled, xs, node.name)
    im.emit("Add", [scaled, im.add_constant(f"{node.input[2]}_shift", shift.astype(np.float32))], node.output[0],
            xs, node.name)


def _import_float64(im, node, at) -> None:
    """Inference on float64, computed in float64 (float64_ops.py), or on float32 with parameters
    computed at run time (the same elementwise decomposition in float32)."""
    from . import float64_ops

    channels, dtype = im.shape(node.input[0])[1], im.dtype(node.input[0])
    for name, what in zip(node.input[1:5], ("scale", "B", "input_mean", "input_var")):
        if im.dtype(name) != dtype or int(np.prod(im.shape(name))) != channels:
            raise ModelFormatError(f"BatchNormalization node {node.name!r}: {what} must be {channels} {dtype} "
                                   f"values, got {im.dtype(name)} of shape {im.shape(name)}")
    float64_ops.batch_norm(im, node, node.input[0], list(node.input[1:5]), float(at.get("epsilon", 1e-5)))


def _import_training(im, node, at) -> None:
    """training_mode=1 (opset 14+), as onnx defines it: normalize by the batch's own mean and
    (population) variance over every axis but 1, and output the running statistics
    input_mean * momentum + batch_mean * (1 - momentum) (likewise the variance), in IR ops."""
    x, where = node.input[0], f"BatchNormalization node {node.name!r}"
    xs = im.shape(x)
    if len(xs) < 2:
        raise ModelFormatError(f"{where}: input of shape {xs} has no channel axis")
    channels, rank = xs[1], len(xs)
    params = [im.const(name, node, what).astype(np.float64).reshape(-1) for name, what in
              zip(node.input[1:5], ("scale", "B", "input_mean", "input_var"))]
    if any(v.size != channels for v in params):
        raise ModelFormatError(f"{where}: parameters must have {channels} values")
    gamma, beta, mean, var = params
    momentum, eps = float(at.get("momentum", 0.9)), float(at.get("epsilon", 1e-5))
    stat_shape = (1, channels) + (1,) * (rank - 2)
    y = node.output[0]

    def emit(op, inputs, shape, **attrs) -> str:
        out = im.fresh(f"{y}__bn")
        im.emit(op, inputs, out, shape, node.name, **attrs)
        return out

    def batch_mean(t: str) -> str:  # mean over axis 0 and the spatial axes, kept as size-1 axes
        if rank > 2:
            t = emit("ReduceMean", [t], (xs[0], channels) + (1,) * (rank - 2), first=2, last=rank - 1)
        return emit("ReduceMean", [t], stat_shape, first=0, last=0)

    batch_m = batch_mean(x)
    centred = emit("Sub", [x, batch_m], xs)
    batch_v = batch_mean(emit("Mul", [centred, centred], xs))
    std = emit("Sqrt", [emit("Add", [batch_v, im.add_constant(f"{y}_eps", np.array(eps))], stat_shape)], stat_shape)
    normed = emit("Div", [centred, std], xs)
    scaled = emit("Mul", [normed, im.add_constant(f"{y}_scale", gamma.reshape(stat_shape))], xs)
    im.emit("Add", [scaled, im.add_constant(f"{y}_bias", beta.reshape(stat_shape))], y, xs, node.name)
    for out, batch, running in zip(node.output[1:3], (batch_m, batch_v), (mean, var)):
        if not out:
            continue
        flat = emit("Reshape", [batch], (channels,))
        part = emit("Mul", [flat, im.add_constant(f"{out}_rate", np.array(1 - momentum))], (channels,))
        im.emit("Add", [part, im.add_constant(f"{out}_kept", running * momentum)], out, (channels,), node.name)


def fold_batch_norm(im, node, at) -> list[np.ndarray]:
    """Every input a constant (weight standardization: NFNet's ScaledStdConv normalizes its weights
    with a training-mode BatchNormalization): the node's outputs now, in float64 rounded to each
    output's dtype, every form as onnx defines it (onnx's reference evaluator gets some wrong)."""
    x, gamma, beta, mean, var = (im.constants[name] for name in node.input[:5])
    where = f"BatchNormalization node {node.name!r}"
    if x.ndim < 2:
        raise ModelFormatError(f"{where}: input of shape {list(x.shape)} has no channel axis")
    xd, eps = x.astype(np.float64), float(at.get("epsilon", 1e-5))
    training, spatial = int(at.get("training_mode", 0)), int(at.get("spatial", 1))
    if not training and any(node.output[1:]):
        raise UnsupportedModelError(f"{where}: running-statistics outputs need training_mode=1 (opset 14+)")
    params = [v.astype(np.float64) for v in (gamma, beta, mean, var)]
    if spatial:
        stat_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        if any(v.size != x.shape[1] for v in params):
            raise ModelFormatError(f"{where}: parameters must have {x.shape[1]} values")
    else:  # opsets 7-8: statistics per activation (C, D1, ..., Dn)
        stat_shape = (1, *x.shape[1:])
        if any(v.size != int(np.prod(x.shape[1:])) for v in params):
            raise ModelFormatError(f"{where}: spatial=0 needs parameters of shape {list(x.shape[1:])}")
    gamma, beta, mean, var = (v.reshape(stat_shape) for v in params)
    if training:
        axes = tuple(i for i in range(x.ndim) if i != 1)
        batch_mean = xd.mean(axis=axes, keepdims=True)
        batch_var = ((xd - batch_mean) ** 2).mean(axis=axes, keepdims=True)
        y = (xd - batch_mean) / np.sqrt(batch_var + eps) * gamma + beta
        momentum = float(at.get("momentum", 0.9))
        running = [(old * momentum + new * (1 - momentum)).reshape(-1).astype(kind.dtype)
                   for old, new, kind in ((mean, batch_mean, im.constants[node.input[3]]),
                                          (var, batch_var, im.constants[node.input[4]]))]
        outputs = [y.astype(x.dtype), *running]
        return [outputs[i] for i, name in enumerate(node.output) if name]  # the named outputs, in order
    return [((xd - mean) / np.sqrt(var + eps) * gamma + beta).astype(x.dtype)]


IMPORTS = {"BatchNormalization": (import_batch_norm, 5, 5)}
FOLDS = {"BatchNormalization": fold_batch_norm}


def lower(graph, node, program) -> None:
    x, scale, shift = node.inputs
    channels = graph.info(x).shape[-1]
    program.call("f32_scaleshift_c4", [graph.info(x).size // channels, channels, Ptr(x),
                                       program.weight(scale, graph.constants[scale]),
                                       program.weight(shift, graph.constants[shift]), Ptr(node.outputs[0])],
                 node.name)


def export(ex, node) -> None:
    x, scale, shift = node.inputs
    scaled = ex.temp(node.outputs[0])
    ex.add("Mul", [x, ex.graph_const(scale)], scaled)
    ex.add("Add", [scaled, ex.graph_const(shift)], node.outputs[0])


def flops(graph, node) -> int:
    return 2 * graph.info(node.outputs[0]).size
