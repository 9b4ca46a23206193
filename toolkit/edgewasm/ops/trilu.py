"""Trilu: the upper or lower triangle (diagonal offset k, a constant or absent) of the last two
axes, zeros elsewhere, in any dtype: one x_elementwise "where" over a compile-time [N, M] mask
broadcast along the batch axes (elements kept move with their bits; bool: x and mask)."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.arguments import int_constant, optional_input
from . import elementwise


def triangle(rows: int, cols: int, k: int, upper: bool) -> np.ndarray:
    """The kept elements of a [rows, cols] matrix: j - i >= k (upper) or j - i <= k (lower)."""
    offset = np.arange(cols)[None, :] - np.arange(rows)[:, None]
    return offset >= k if upper else offset <= k


def import_trilu(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    shape, dtype = im.shape(x), im.dtype(x)
    if len(shape) < 2:
        raise ModelFormatError(f"Trilu node {node.name!r}: the input must have rank >= 2, got {shape}")
    k = 0
    name = optional_input(node, 1)
    if name is not None:
        if name not in im.constants:
            raise UnsupportedModelError(f"Trilu node {node.name!r}: k must be a constant (initializer)")
        value = int_constant(im, node, name, "k")
        if value.size != 1:
            raise ModelFormatError(f"Trilu node {node.name!r}: k must be a scalar, got shape {value.shape}")
        k = int(value.reshape(()))
    mask = triangle(shape[-2], shape[-1], k, bool(int(at.get("upper", 1))))
    if mask.all():
        im.emit("Reshape", [x], y, shape, node.name, dtype=dtype)
        return
    mask_name, zero = im.fresh(f"{y}_mask"), im.fresh(f"{y}_zero")
    im.constants[mask_name] = mask
    if dtype == "bool":  # the same bits as where(mask, x, false), in an op onnxruntime has for bool
        elementwise.emit(im, node, "and", [x, mask_name], dtype)
        return
    im.constants[zero] = np.zeros((), dtypes.numpy_dtype(dtype))
    elementwise.emit(im, node, "where", [mask_name, x, zero], dtype)


IMPORTS = {"Trilu": (import_trilu, 1, 2)}
IR_OP = None  # IR Elementwise (ops/elementwise.py)
