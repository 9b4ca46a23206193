"""InstanceNormalization, GroupNormalization (opset 18: scale and bias per group; opset 21: per
channel), RMSNormalization (opset 23), LpNormalization (p 1 or 2) and MeanVarianceNormalization,
as row normalizations over contiguous rows (wasm-kernels/f32_norm.wat):

  RowNorm     f32_rownorm: mode 0 (x - mean) / sqrt(var + eps), mode 1 (x - mean) / (sqrt(var) + eps),
              mode 2 x / sqrt(mean(x^2) + eps), optionally times a per-element gamma (RMS scale)
  LpNorm      f32_lpnorm: x / ||x||_p, onnxruntime's scale-free norm, zero rows give 0
  AffineRows  f32_affine_rows: x * scale[r % period] + bias[r % period] per row r

The normalized axes are made trailing and contiguous: they already are for Instance-, Group- and
RMSNormalization; MeanVarianceNormalization's axes and LpNormalization's axis are moved last by
compile-time Transposes when they are not (none when only size-1 axes follow). Mean and variance
take two passes (the variance of x - mean), so MeanVarianceNormalization does not cancel as its
function body E[x^2] - E[x]^2 does. float32 kernels (stash_type 1, the default); float16/bfloat16
compute in float32 between casts; float64 inputs compute in float64 through float64_ops'
decompositions (Reduce mean/l1/l2, x_elementwise, f64 Sqrt).
"""

from __future__ import annotations

import math

import numpy as np
from onnx import helper

from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.arguments import normalize_axes, normalize_axis
from . import float64_ops
from .permute import emit_transpose

IR_OP = ("RowNorm", "LpNorm", "AffineRows")
STANDARDIZE, MEAN_VARIANCE, RMS = 0, 1, 2  # f32_rownorm modes
MVN_EPSILON = 1e-9  # MeanVarianceNormalization's function body: (x - mean) / (sqrt(var) + 1e-9)
EXPORT_OPSET = 18  # the reference graph's ReduceMean takes its axes as an input


def _where(node) -> str:
    return f"{node.op_type} node {node.name!r}"


def _require_float(im, node) -> None:
    for name in node.input:
        if name:
            im.require_float(node, name)


def _stash_type(node, at) -> None:
    stash = int(at.get("stash_type", 1))
    if stash != 1:
        raise UnsupportedModelError(f"{_where(node)}: stash_type={stash} is not supported (only 1: float32)")


def _channel_vector(im, node, name: str, size: int, what: str) -> str:
    """A per-channel (or per-group) parameter with `size` values, as a 1-D constant or a computed tensor."""
    if name in im.constants:
        value = np.asarray(im.constants[name], np.float32)
        if value.size != size:
            raise ModelFormatError(f"{_where(node)}: {what} of shape {value.shape} must have {size} values")
        return im.add_constant(f"{name}_{what}", value.reshape(-1))
    if math.prod(im.shape(name)) != size:
        raise ModelFormatError(f"{_where(node)}: {what} of shape {im.shape(name)} must have {size} values")
    return name


def _float64(im, node) -> bool:
    """Every input float64: computed in float64 by float64_ops' decompositions."""
    return all(im.dtype(name) == "float64" for name in node.input if name)


def import_instance_norm(im, node, at) -> None:
    if _float64(im, node) and len(im.shape(node.input[0])) >= 3:
        x, scale, bias = node.input
        shape = im.shape(x)
        normed = float64_ops.standardize(im, node, x, list(range(2, len(shape))), float(at.get("epsilon", 1e-5)))
        per_channel = (shape[1],) + (1,) * (len(shape) - 2)
        for name, what in ((scale, "scale"), (bias, "B")):
            _channel_vector(im, node, name, shape[1], what)  # checks the size
        float64_ops.affine(im, node, normed, scale, bias, per_channel, node.output[0])
        return
    _require_float(im, node)
    x, scale, bias = node.input
    y, shape = node.output[0], im.shape(x)
    if len(shape) < 3:  # onnxruntime refuses it too
        raise ModelFormatError(f"{_where(node)}: input of shape {shape} has no spatial axis "
                               "(InstanceNormalization needs rank >= 3)")
    channels, spatial = shape[1], math.prod(shape[2:])
    params = [_channel_vector(im, node, name, channels, what) for name, what in ((scale, "scale"), (bias, "B"))]
    normed = im.fresh(f"{y}_normalized")
    im.emit("RowNorm", [x], normed, shape, node.name, mode=STANDARDIZE, n=spatial,
            epsilon=float(at.get("epsilon", 1e-5)))
    im.emit("AffineRows", [normed, *params], y, shape, node.name, period=channels, n=spatial)


def import_group_norm(im, node, at) -> None:
    wide = _float64(im, node)
    if not wide:
        _require_float(im, node)
        _stash_type(node, at)
    x, scale, bias = node.input
    y, shape = node.output[0], im.shape(x)
    if "num_groups" not in at:
        raise ModelFormatError(f"{_where(node)}: the num_groups attribute is required")
    groups = int(at["num_groups"])
    if len(shape) < 2:
        raise ModelFormatError(f"{_where(node)}: input of shape {shape} has no channel axis")
    channels, spatial = shape[1], math.prod(shape[2:])
    if groups <= 0 or channels % groups:
        raise ModelFormatError(f"{_where(node)}: {channels} channels do not split into num_groups={groups} groups")
    per_group = channels // groups * spatial
    if wide:  # float64: standardized per [batch, group] in float64 (stash_type aside: more exact)
        period = channels if im.opset >= 21 else groups
        for name, what in ((scale, "scale"), (bias, "bias")):
            _channel_vector(im, node, name, period, what)  # checks the size
        grouped = float64_ops.reshape(im, node, x, (shape[0], groups, per_group))
        normed = float64_ops.standardize(im, node, grouped, [2], float(at.get("epsilon", 1e-5)))
        if im.opset >= 21:
            normed = float64_ops.reshape(im, node, normed, shape)
            float64_ops.affine(im, node, normed, scale, bias, (channels,) + (1,) * (len(shape) - 2), y)
        else:
            scaled = im.fresh(f"{y}_grouped")
            float64_ops.affine(im, node, normed, scale, bias, (groups, 1), scaled)
            im.emit("Reshape", [scaled], y, shape, node.name, dtype="float64")
        return
    normed = im.fresh(f"{y}_normalized")
    im.emit("RowNorm", [x], normed, shape, node.name, mode=STANDARDIZE, n=per_group,
            epsilon=float(at.get("epsilon", 1e-5)))
    # opset 18 has one scale and bias per group; opset 21 (the same function otherwise) one per channel
    period, n = (channels, spatial) if im.opset >= 21 else (groups, per_group)
    params = [_channel_vector(im, node, name, period, what) for name, what in ((scale, "scale"), (bias, "bias"))]
    im.emit("AffineRows", [normed, *params], y, shape, node.name, period=period, n=n)


def _trailing(shape: tuple[int, ...], target: tuple[int, ...]) -> tuple[int, ...] | None:
    """shape without its leading size-1 axes, when that has at most len(target) axes; else None."""
    shape = tuple(shape)
    while len(shape) > len(target) and shape[0] == 1:
        shape = shape[1:]
    return shape if len(shape) <= len(target) else None


def import_rms_norm(im, node, at) -> None:
    wide = _float64(im, node)
    if not wide:
        _require_float(im, node)
        _stash_type(node, at)
    x, scale = node.input
    y, shape = node.output[0], im.shape(x)
    axis = normalize_axis(node, int(at.get("axis", -1)), len(shape))
    if wide:
        try:
            np.broadcast_shapes(shape, im.shape(scale))
        except ValueError:
            raise ModelFormatError(f"{_where(node)}: scale of shape {im.shape(scale)} does not broadcast to the "
                                   f"input shape {shape}") from None
        normed = float64_ops.standardize(im, node, x, list(range(axis, len(shape))), float(at.get("epsilon", 1e-5)),
                                         mode="rms")
        float64_ops.binary(im, node, "mul", normed, scale, y)
        return
    normalized = shape[axis:]
    attrs = dict(mode=RMS, n=math.prod(normalized), epsilon=float(at.get("epsilon", 1e-5)))
    try:
        if tuple(np.broadcast_shapes(shape, im.shape(scale))) != tuple(shape):
            raise ValueError
    except ValueError:
        raise ModelFormatError(f"{_where(node)}: scale of shape {im.shape(scale)} does not broadcast to the "
                               f"input shape {shape}") from None
    trailing = _trailing(im.shape(scale), normalized)
    if scale in im.constants and trailing is not None:  # a per-element gamma over the normalized block
        value = np.broadcast_to(np.asarray(im.constants[scale], np.float32).reshape(trailing), normalized)
        gamma = im.add_constant(f"{scale}_gamma", np.ascontiguousarray(value).reshape(-1))
        im.emit("RowNorm", [x, gamma], y, shape, node.name, **attrs)
    elif scale not in im.constants and trailing == tuple(normalized):
        im.emit("RowNorm", [x, scale], y, shape, node.name, **attrs)
    else:  # a scale that also varies over the leading axes: an elementwise Mul after the normalization
        normed = im.fresh(f"{y}_normalized")
        im.emit("RowNorm", [x], normed, shape, node.name, **attrs)
        im.emit("Mul", [normed, scale], y, shape, node.name)


def _normalize_trailing(im, node, x: str, y: str, axes: list[int], op: str, **attrs) -> None:
    """Emit `op` over the axes `axes` of x (moved last by Transposes when they are not trailing)."""
    shape = im.shape(x)
    rank = len(shape)
    n = math.prod(shape[a] for a in axes)
    rest = [a for a in range(rank) if a not in axes]
    if all(shape[a] == 1 for a in rest if a > min(axes, default=rank)):  # the block is already trailing
        im.emit(op, [x], y, shape, node.name, n=n, **attrs)
        return
    perm = rest + sorted(axes)
    moved, normed = im.fresh(f"{y}_axes_last"), im.fresh(f"{y}_normalized")
    emit_transpose(im, x, moved, perm, node.name)
    im.emit(op, [moved], normed, im.shape(moved), node.name, n=n, **attrs)
    emit_transpose(im, normed, y, [int(p) for p in np.argsort(perm)], node.name)


def import_lp_norm(im, node, at) -> None:
    wide = _float64(im, node)
    if not wide:
        _require_float(im, node)
    x, y = node.input[0], node.output[0]
    shape = im.shape(x)
    p = int(at.get("p", 2))
    if p not in (1, 2):
        raise ModelFormatError(f"{_where(node)}: p={p}; LpNormalization takes p = 1 or 2")
    if not shape:
        raise ModelFormatError(f"{_where(node)}: a scalar input has no axis to normalize")
    axis = normalize_axis(node, int(at.get("axis", -1)), len(shape))
    if wide:
        float64_ops.lp_norm(im, node, x, axis, p)
        return
    _normalize_trailing(im, node, x, y, [axis], "LpNorm", p=p)


def import_mvn(im, node, at) -> None:
    wide = _float64(im, node)
    if not wide:
        _require_float(im, node)
    x, y = node.input[0], node.output[0]
    shape = im.shape(x)
    axes = normalize_axes(node, [int(a) for a in at.get("axes", [0, 2, 3])], len(shape))
    if wide:
        float64_ops.standardize(im, node, x, sorted(axes), MVN_EPSILON, mode="std", output=y)
        return
    _normalize_trailing(im, node, x, y, axes, "RowNorm", mode=MEAN_VARIANCE, epsilon=MVN_EPSILON)


IMPORTS = {
    "InstanceNormalization": (import_instance_norm, 3, 3),
    "GroupNormalization": (import_group_norm, 3, 3),
    "RMSNormalization": (import_rms_norm, 2, 2),
    "LpNormalization": (import_lp_norm, 1, 1),
    "MeanVarianceNormalization": (import_mvn, 1, 1),
}
COMPUTED = ("LpNormalization",)  # never folded: onnx's evaluator gets some forms wrong


def _operand(graph, program, name: str) -> Ptr:
    return program.weight(name, graph.constants[name]) if graph.is_constant(name) else Ptr(name)


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    size, n = graph.info(y).size, node.attrs["n"]
    if size == 0 or n == 0:
        return
    rows = size // n
    if node.op == "RowNorm":
        gamma = _operand(graph, program, node.inputs[1]) if len(node.inputs) > 1 else 0
        program.call("f32_rownorm", [node.attrs["mode"], rows, n, Ptr(x), gamma, Ptr(y),
                                     float(node.attrs["epsilon"])], node.name)
    elif node.op == "LpNorm":
        program.call("f32_lpnorm", [node.attrs["p"], rows, n, Ptr(x), Ptr(y)], node.name)
    else:
        scale = _operand(graph, program, node.inputs[1])
        bias = _operand(graph, program, node.inputs[2]) if len(node.inputs) > 2 else 0
        program.call("f32_affine_rows", [rows, n, node.attrs["period"], Ptr(x), scale, bias, Ptr(y)], node.name)


def _input(ex, name: str) -> str:
    return ex.graph_const(name) if ex.graph.is_constant(name) else name


def _reshaped(ex, x: str, shape, base: str) -> str:
    out = ex.temp(base)
    ex.add("Reshape", [x, ex.const(f"{out}__shape", np.array(shape, np.int64))], out)
    return out


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape, n = ex.graph.info(y).shape, node.attrs["n"]
    if node.op == "AffineRows":
        period = node.attrs["period"]
        grouped = _reshaped(ex, x, [-1, period, n], y)
        scaled = ex.temp(y)
        ex.add("Mul", [grouped, _reshaped(ex, _input(ex, node.inputs[1]), [period, 1], y)], scaled)
        if len(node.inputs) > 2:
            shifted = ex.temp(y)
            ex.add("Add", [scaled, _reshaped(ex, _input(ex, node.inputs[2]), [period, 1], y)], shifted)
            scaled = shifted
        ex.add("Reshape", [scaled, ex.const(f"{y}__shape", np.array(shape, np.int64))], y)
        return
    flat = _reshaped(ex, x, [-1, n], y)
    out = ex.temp(y)
    if node.op == "LpNorm":
        ex.add("LpNormalization", [flat], out, axis=-1, p=node.attrs["p"])
    elif node.attrs["mode"] == STANDARDIZE:
        gamma = (_reshaped(ex, _input(ex, node.inputs[1]), [n], y) if len(node.inputs) > 1
                 else ex.const(f"{y}__ones", np.ones(n, np.float32)))
        ex.nodes.append(helper.make_node("LayerNormalization", [flat, gamma], [out], axis=-1,
                                         epsilon=node.attrs["epsilon"]))
    else:
        ex.opset = max(ex.opset, EXPORT_OPSET)
        axes, eps = ex.const(f"{y}__axes", np.array([-1], np.int64)), ex.const(f"{y}__eps", np.float32(node.attrs["epsilon"]))
        if node.attrs["mode"] == MEAN_VARIANCE:  # (x - mean) / (sqrt(mean((x - mean)^2)) + eps)
            mean, centred, squared, var, std, denominator = (ex.temp(y) for _ in range(6))
            ex.add("ReduceMean", [flat, axes], mean, keepdims=1)
            ex.add("Sub", [flat, mean], centred)
            ex.add("Mul", [centred, centred], squared)
            ex.add("ReduceMean", [squared, axes], var, keepdims=1)
            ex.add("Sqrt", [var], std)
            ex.add("Add", [std, eps], denominator)
            ex.add("Div", [centred, denominator], out)
        else:  # RMS: x / sqrt(mean(x^2) + eps) (* gamma)
            squared, mean, shifted, rms = (ex.temp(y) for _ in range(4))
            ex.add("Mul", [flat, flat], squared)
            ex.add("ReduceMean", [squared, axes], mean, keepdims=1)
            ex.add("Add", [mean, eps], shifted)
            ex.add("Sqrt", [shifted], rms)
            if len(node.inputs) > 1:
                normed = ex.temp(y)
                ex.add("Div", [flat, rms], normed)
                ex.add("Mul", [normed, _reshaped(ex, _input(ex, node.inputs[1]), [n], y)], out)
            else:
                ex.add("Div", [flat, rms], out)
    ex.add("Reshape", [out, ex.const(f"{y}__shape", np.array(shape, np.int64))], y)


def flops(graph, node) -> int:
    size = graph.info(node.outputs[0]).size
    return {"RowNorm": 6, "LpNorm": 4}.get(node.op, 2) * size
