"""Clamp: y = min(max(x, lo), hi); ONNX Relu is Clamp(0, inf), Clip is Clamp(min, max) (ReLU6 is
Clip(0, 6)). Conv and Gemm absorb a following Clamp into their epilogue (passes)."""

from __future__ import annotations

import math

import numpy as np

from ..backend.program import Ptr
from .. import dtypes
from ..errors import ModelFormatError, UnsupportedModelError
from . import elementwise

IR_OP = "Clamp"


def import_relu(im, node, at) -> None:
    x = node.input[0]
    if im.dtype(x) != "float32":  # integer Relu (opset 14): max(x, 0) in x_elementwise
        zero = im.fresh(f"{node.output[0]}_zero")
        im.constants[zero] = np.zeros((), dtypes.numpy_dtype(im.dtype(x)))
        elementwise.emit(im, node, "max", [x, zero], im.dtype(x))
        return
    im.emit("Clamp", [x], node.output[0], im.shape(x), node.name, min=0.0, max=math.inf)


def import_clip(im, node, at) -> None:
    """Bounds are attributes before opset 11 and optional inputs from opset 11 on; float32 with
    constant bounds is one f32_vclamp, anything else (other dtypes, run-time bounds) x_elementwise."""
    x = node.input[0]
    dtype = im.dtype(x)
    limits = _dtype_limits(dtype)  # an absent bound: the dtype's lowest / largest finite value (ONNX's default)
    if im.opset < 11:
        lo, hi = float(at.get("min", limits[0])), float(at.get("max", limits[1]))
        if dtype == "float32":
            im.emit("Clamp", [x], node.output[0], im.shape(x), node.name, min=lo, max=hi)
            return
        bounds = [im.fresh(f"{node.output[0]}_{which}") for which in ("min", "max")]  # float16/double: as opset 11
        for name, value in zip(bounds, (lo, hi)):
            im.constants[name] = np.array(value, dtypes.numpy_dtype(dtype))
        elementwise.emit(im, node, "clip", [x, *bounds], dtype)
        return
    bounds = [node.input[i] if len(node.input) > i and node.input[i] else None for i in (1, 2)]
    for name in filter(None, bounds):
        if im.dtype(name) != dtype or im.shape(name) not in ((), (1,)):
            raise ModelFormatError(f"Clip node {node.name!r}: bound {name!r} must be a {dtype} scalar, got "
                                   f"{im.dtype(name)} of shape {im.shape(name)}")
    if dtype == "float32" and all(name is None or name in im.constants for name in bounds):
        lo, hi = (default if name is None else float(im.constants[name].reshape(()))
                  for name, default in zip(bounds, limits))
        im.emit("Clamp", [x], node.output[0], im.shape(x), node.name, min=lo, max=hi)
        return
    for i, name in enumerate(bounds):
        if name is None:
            bounds[i] = im.fresh(f"{node.output[0]}_{'min' if i == 0 else 'max'}")
            im.constants[bounds[i]] = np.array(limits[i], dtypes.numpy_dtype(dtype))
    elementwise.emit(im, node, "clip", [x, *bounds], dtype)


def fold_clip(im, node, at) -> list:
    """onnx's evaluator leaves an absent bound infinite; ONNX (and onnxruntime) clip to the finite limits."""
    x = im.constants[node.input[0]]
    limits = _dtype_limits(dtypes.of_array(x))
    if im.opset < 11:
        lo, hi = at.get("min", limits[0]), at.get("max", limits[1])
    else:
        lo, hi = (im.constants[node.input[i]].reshape(()) if len(node.input) > i and node.input[i] else limits[i - 1]
                  for i in (1, 2))
    return [np.minimum(np.maximum(x, np.asarray(lo, x.dtype)), np.asarray(hi, x.dtype))]


def _dtype_limits(dtype: str) -> tuple:
    if dtypes.is_float(dtype):
        info = np.finfo(dtypes.numpy_dtype(dtype))
        return float(info.min), float(info.max)
    info = np.iinfo(dtypes.numpy_dtype(dtype)) if dtype != "bool" else None
    return (info.min, info.max) if info else (0, 1)


IMPORTS = {"Relu": (import_relu, 1, 1), "Clip": (import_clip, 1, 3)}
FOLDS = {"Clip": fold_clip}


def lower(graph, node, program) -> None:
    n = graph.info(node.outputs[0]).size
    program.call("f32_vclamp", [n, Ptr(node.inputs[0]), Ptr(node.outputs[0]),
                                float(node.attrs["min"]), float(node.attrs["max"])], node.name)


def export(ex, node) -> None:
    ex.clamp(node.inputs[0], node.outputs[0], node.attrs["min"], node.attrs["max"])


def flops(graph, node) -> int:
    return graph.info(node.outputs[0]).size
