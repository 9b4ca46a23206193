"""Resize (nearest, linear, cubic; antialias, axes, keep_aspect_ratio_policy): the sampling taps
are computed at compile time per axis (backend/resize.py, onnx's reference arithmetic).
tf_crop_and_resize (roi a constant) first pads the resized axes with one extrapolation_value at
each end (a constant Pad), which the taps of outputs outside the input read with weight 1.

float64 and integer inputs are decomposed at import instead (import_generic): Gather per axis
for nearest, a float64 MatMul by the axis' interpolation matrix for linear (integers truncated
back, as onnxruntime) and cubic (float64 only); the taps and weights are the same.

Nearest is one x_copy_nd call through per-axis index tables. Linear and cubic run
f32_resize_axis once per resized axis (separable), with two scratch buffers between passes.
The reference graph spells the same computation in opset-17 ops: Gather per axis for nearest,
a MatMul by the axis' interpolation matrix otherwise.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..backend.gather import Dim, emit_gather, row_major_steps
from ..backend.program import Ptr
from ..backend.resize import COORDINATE_MODES, NEAREST_MODES, axis_taps, nearest_indices
from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.arguments import normalize_axes, optional_input

IR_OP = "Resize"
GENERIC = ("float64", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")  # import_generic


def _text(at: dict, name: str, default: str) -> str:
    value = at.get(name, default)
    return value.decode() if isinstance(value, bytes) else str(value)


def import_resize(im, node, at) -> None:
    x = node.input[0]
    if im.dtype(x) not in GENERIC:
        im.require_float(node, x)
    shape = im.shape(x)
    rank = len(shape)
    mode = _text(at, "mode", "nearest")
    if im.opset < 11:  # Resize-10: scales only, asymmetric coordinates, nearest rounds down, or up
        # on an axis that shrinks (onnxruntime's rule for opset 10, before nearest_mode existed)
        coordinate_mode, nearest_mode, scales_name, sizes_name = "asymmetric", "floor", optional_input(node, 1), None
    else:
        coordinate_mode = _text(at, "coordinate_transformation_mode", "half_pixel")
        nearest_mode = _text(at, "nearest_mode", "round_prefer_floor")
        scales_name, sizes_name = optional_input(node, 2), optional_input(node, 3)
    where = f"Resize node {node.name!r}"
    if mode not in ("nearest", "linear", "cubic"):
        raise ModelFormatError(f"{where}: unknown mode {mode!r}")
    if coordinate_mode not in COORDINATE_MODES or nearest_mode not in NEAREST_MODES:
        raise ModelFormatError(f"{where}: unknown coordinate_transformation_mode {coordinate_mode!r} or "
                               f"nearest_mode {nearest_mode!r}")
    antialias = bool(at.get("antialias", 0)) and mode != "nearest"
    axes = normalize_axes(node, [int(a) for a in at["axes"]], rank) if "axes" in at else list(range(rank))
    scales = _constant(im, node, scales_name, "scales")
    sizes = _constant(im, node, sizes_name, "sizes")
    if (scales is None) == (sizes is None):
        raise ModelFormatError(f"{where}: exactly one of scales and sizes must be given")
    given = scales if scales is not None else sizes
    if given.size != len(axes):
        raise ModelFormatError(f"{where}: {given.size} scales/sizes for {len(axes)} axes")
    scale_factors, out_shape = [1.0] * rank, list(shape)
    if scales is not None:
        for axis, s in zip(axes, scales.astype(np.float64)):
            if not s > 0:
                raise ModelFormatError(f"{where}: scale {s} must be positive")
            scale_factors[axis], out_shape[axis] = float(s), int(s * shape[axis])
    else:
        for axis, size in zip(axes, sizes.astype(np.int64)):
            out_shape[axis] = int(size)
        scale_factors = [out_shape[i] / shape[i] if shape[i] else 1.0 for i in range(rank)]
        policy = _text(at, "keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":
            if policy not in ("not_larger", "not_smaller"):
                raise ModelFormatError(f"{where}: unknown keep_aspect_ratio_policy {policy!r}")
            pick = min if policy == "not_larger" else max
            scale = pick(scale_factors[a] for a in axes)
            for axis in axes:
                scale_factors[axis], out_shape[axis] = scale, int(scale * shape[axis] + 0.5)
    if any(d <= 0 for d in out_shape) or any(d == 0 for d in shape):
        raise UnsupportedModelError(f"{where}: empty input or output ({shape} -> {out_shape})")
    rois = _rois(im, node, axes, rank) if coordinate_mode == "tf_crop_and_resize" else [(0.0, 1.0)] * rank
    taps = []
    for axis in range(rank):
        if math.isclose(scale_factors[axis], 1.0) and out_shape[axis] == shape[axis] and \
                math.isclose(rois[axis][0], 0.0) and math.isclose(rois[axis][1], 1.0):
            continue  # the identity along this axis, as the reference skips it
        rounding = "ceil" if im.opset < 11 and scale_factors[axis] < 1 else nearest_mode
        indices, weights = axis_taps(mode, coordinate_mode, rounding, float(at.get("cubic_coeff_a", -0.75)),
                                     bool(at.get("exclude_outside", 0)), antialias, shape[axis], out_shape[axis],
                                     scale_factors[axis], rois[axis])
        taps.append((axis, indices, weights))
    if im.dtype(x) in GENERIC:
        if im.dtype(x) != "float64" and (mode == "cubic" or antialias):
            raise UnsupportedModelError(f"{where}: {'cubic' if mode == 'cubic' else 'antialiased'} Resize of "
                                        f"{im.dtype(x)} is not supported (onnxruntime and onnx's evaluator round "
                                        "its float result differently)")
        import_generic(im, node, x, taps, mode, float(at.get("extrapolation_value", 0.0))
                        if coordinate_mode == "tf_crop_and_resize" else None)
        return
    if coordinate_mode == "tf_crop_and_resize" and taps:  # the taps read a fill element at each end
        grown = [1 if any(axis == a for a, _, _ in taps) else 0 for axis in range(rank)]
        padded = im.fresh(f"{x}__extrapolated")
        im.emit("Pad", [x], padded, tuple(d + 2 * g for d, g in zip(shape, grown)), node.name, mode="constant",
                begin=tuple(grown), end=tuple(grown), value=float(at.get("extrapolation_value", 0.0)))
        x = padded
    im.emit("Resize", [x], node.output[0], tuple(out_shape), node.name, mode=mode, taps=taps)


def import_generic(im, node, x: str, taps, mode: str, extrapolation: float | None) -> None:
    """float64 and the integers, as the reference graph spells it (see export) through standard ops:
    per resized axis a Gather (nearest: any dtype, exact) or a MatMul by the axis' interpolation
    matrix in float64 (linear, cubic; integers cast to float64 first and truncated back at the end,
    as onnxruntime's static_cast<T> of its float result)."""
    from .spatial_graph import Builder

    dtype = im.dtype(x)
    b = Builder(im, node, dtype)
    shape = list(im.shape(x))
    if extrapolation is not None and taps:  # the taps read a fill element at each end (see import_resize)
        grown = [1 if any(axis == a for a, _, _ in taps) else 0 for axis in range(len(shape))]
        x = b.op("Pad", [x, b.ints(grown + grown), b.const(extrapolation)], mode="constant")
        shape = [d + 2 * g for d, g in zip(shape, grown)]
    if not taps:
        b.op("Identity", [x], node.output[0])
        return
    widen = mode != "nearest" and dtype != "float64"
    current = b.cast(x, "float64") if widen else x
    for k, (axis, indices, weights) in enumerate(taps):
        out = node.output[0] if k == len(taps) - 1 and not widen else None
        if mode == "nearest":
            current = b.op("Gather", [current, b.ints(nearest_indices(indices, weights))], out, axis=axis)
        else:
            matrix = np.zeros((indices.shape[0], shape[axis]), np.float64)
            np.add.at(matrix, (np.repeat(np.arange(indices.shape[0]), indices.shape[1]), indices.reshape(-1)),
                      weights.reshape(-1).astype(np.float64))
            perm = [i for i in range(len(shape)) if i != axis] + [axis]
            moved = b.op("Transpose", [current], perm=perm)
            product = b.op("MatMul", [moved, b.const(matrix.T.copy(), "float64")])
            current = b.op("Transpose", [product], out, perm=[int(p) for p in np.argsort(perm)])
        shape[axis] = indices.shape[0]
    if widen:
        b.cast(current, dtype, node.output[0])


def _rois(im, node, axes: list[int], rank: int) -> list[tuple[float, float]]:
    """tf_crop_and_resize's (start, end) per axis, from the constant roi [starts..., ends...] of `axes`."""
    roi = _constant(im, node, optional_input(node, 1), "roi")
    if roi is None or roi.size != 2 * len(axes):
        raise ModelFormatError(f"Resize node {node.name!r}: tf_crop_and_resize needs a roi of {2 * len(axes)} values "
                               f"(starts then ends of {len(axes)} axes)")
    rois = [(0.0, 1.0)] * rank
    for i, axis in enumerate(axes):
        rois[axis] = (float(roi[i]), float(roi[len(axes) + i]))
    return rois


def _constant(im, node, name: str | None, what: str) -> np.ndarray | None:
    if name is None:
        return None
    value = im.const(name, node, what).reshape(-1)
    return value if value.size else None


IMPORTS = {"Resize": (import_resize, 1, 4)}  # roi is optional from opset 13; scales needed before 11
COMPUTED = ("Resize",)  # never folded: onnx's evaluator folds Resize-10 and tf_half_pixel_for_nn wrongly


PER_OUTPUT_INDEX = 4  # f32_resize_axis's work per output index (its table entry), in vector-step units


def pass_order(taps: list, shape) -> list:
    """The resized axes in the order f32_resize_axis does least work: it vectorizes over the axes
    inside the resized one, so an innermost axis runs on scalars and is best resized while the
    tensor is small (first when upsampling, last when downsampling). Ties keep the graph's order.
    lower() and export() both follow it, so the reference graph adds in the same order."""
    def work(order) -> int:
        current, total = list(shape), 0
        for axis, indices, _ in order:
            current[axis] = indices.shape[0]
            outer, inner = math.prod(current[:axis]), math.prod(current[axis + 1:])
            total += outer * indices.shape[0] * (PER_OUTPUT_INDEX + indices.shape[1] * (inner // 4 + inner % 4))
        return total

    return list(min(itertools.permutations(taps), key=work)) if len(taps) <= 4 else list(taps)


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = graph.info(x).shape
    taps = node.attrs["taps"]
    if node.attrs["mode"] != "nearest":
        taps = pass_order(taps, shape)
    if not taps:
        program.views[y] = x
        return
    if node.attrs["mode"] == "nearest":
        by_axis = {axis: nearest_indices(indices, weights) for axis, indices, weights in taps}
        out_shape = graph.info(y).shape
        dims = []
        for axis, (d, x_step, y_step) in enumerate(zip(out_shape, row_major_steps(shape), row_major_steps(out_shape))):
            offsets = tuple(int(i) * x_step for i in by_axis[axis]) if axis in by_axis else None
            dims.append(Dim(d, x_step, y_step, offsets))
        emit_gather(program, node.name, Ptr(x), Ptr(y), dims)
        return
    current, current_shape = Ptr(x), list(shape)
    for k, (axis, indices, weights) in enumerate(taps):
        n_in, n_out = current_shape[axis], indices.shape[0]
        outer, inner = math.prod(current_shape[:axis]), math.prod(current_shape[axis + 1:])
        current_shape[axis] = n_out
        last = k == len(taps) - 1
        target = Ptr(y) if last else program.temp(f"{y}__resized{k % 2}", 4 * math.prod(current_shape))
        offsets = (indices * inner * 4).astype(np.int32)
        table = np.concatenate([offsets, weights.astype(np.float32).view(np.int32)], axis=1)  # weights as bits
        program.call("f32_resize_axis", [outer, n_out, inner, indices.shape[1], current, 4 * n_in * inner,
                                         program.table(f"{y}__taps{axis}", table), target], node.name)
        current = target


def export(ex, node) -> None:
    current, shape = node.inputs[0], list(ex.graph.info(node.inputs[0]).shape)
    y = node.outputs[0]
    taps = node.attrs["taps"] if node.attrs["mode"] == "nearest" else pass_order(node.attrs["taps"], shape)
    if not taps:
        ex.add("Identity", [current], y)
        return
    for k, (axis, indices, weights) in enumerate(taps):
        out = y if k == len(taps) - 1 else ex.temp(y)
        if node.attrs["mode"] == "nearest":
            chosen = ex.const(f"{y}__index{axis}", nearest_indices(indices, weights).astype(np.int64))
            ex.add("Gather", [current, chosen], out, axis=axis)
        else:  # y = x . M^T along the axis, M[i, j] = sum of the weights tap i puts on input j
            matrix = np.zeros((indices.shape[0], shape[axis]), np.float32)
            np.add.at(matrix, (np.repeat(np.arange(indices.shape[0]), indices.shape[1]), indices.reshape(-1)),
                      weights.reshape(-1).astype(np.float32))
            perm = [i for i in range(len(shape)) if i != axis] + [axis]
            moved, product = ex.temp(y), ex.temp(y)
            ex.add("Transpose", [current], moved, perm=perm)
            ex.add("MatMul", [moved, ex.const(f"{y}__matrix{axis}", matrix.T.copy())], product)
            ex.add("Transpose", [product], out, perm=[int(p) for p in np.argsort(perm)])
        shape[axis] = indices.shape[0]
        current = out


def flops(graph, node) -> int:
    return 2 * graph.info(node.outputs[0]).size * max((t[1].shape[1] for t in node.attrs["taps"]), default=0)
