"""Upsample (opsets 7 and 9; deprecated from 10): nearest or linear (bilinear) upsampling by constant
scales, the scales an attribute (opset 7) or a constant input (opset 9). Its arithmetic is Resize-10's:
asymmetric source coordinates x_out / scale, nearest rounding down, output size floor(in * scale).

Imported straight into the IR Resize node (ops/resize.py lowers and exports it) with per-axis taps
from backend/resize.py's axis_taps, so it runs the same kernels as Resize: float32 (float16 and
bfloat16 linear in float32 between casts; float64 and integer linear as Resize decomposes them,
resize.import_generic). Nearest in any other dtype moves whole elements: one Gather per upsampled
axis through the same nearest taps.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend.resize import axis_taps, nearest_indices
from ..errors import Float32OnlyError, ModelFormatError, UnsupportedModelError
from .resize import GENERIC, import_generic
from .spatial_graph import Builder

IR_OP = None


def import_upsample(im, node, at) -> None:
    x = node.input[0]
    where = f"Upsample node {node.name!r}"
    dtype = im.dtype(x)
    mode = at.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode == "bilinear":  # opset 7 accepted it as an alias of linear on 4-D inputs
        mode = "linear"
    if mode not in ("nearest", "linear"):
        raise ModelFormatError(f"{where}: unknown mode {mode!r}")
    if dtype not in ("float32", *GENERIC) and mode == "linear":
        raise Float32OnlyError(f"{where}: input {x!r} has dtype {dtype}; linear Upsample is computed in float32 "
                               "only")
    if len(node.input) > 1 and node.input[1]:
        scales = im.const(node.input[1], node, "scales").astype(np.float64).reshape(-1)
    elif "scales" in at:
        scales = np.asarray([float(s) for s in at["scales"]], np.float64)
    else:
        raise ModelFormatError(f"{where}: scales are required (an attribute in opset 7, an input from opset 9)")
    shape = im.shape(x)
    if scales.size != len(shape):
        raise ModelFormatError(f"{where}: {scales.size} scales for an input of rank {len(shape)}")
    if not (scales >= 1).all():
        raise ModelFormatError(f"{where}: scales {scales.tolist()} must be >= 1")
    out_shape = tuple(int(math.floor(d * s)) for d, s in zip(shape, scales))
    if min(shape, default=1) == 0:
        raise UnsupportedModelError(f"{where}: empty input {shape}")
    taps = []
    for axis, (d, s) in enumerate(zip(shape, scales)):
        if s == 1.0:
            continue
        indices, weights = axis_taps(mode, "asymmetric", "floor", -0.75, False, False, d, out_shape[axis], float(s))
        taps.append((axis, indices, weights))
    if dtype in GENERIC and mode == "linear":  # float64 and the integers as Resize computes them
        import_generic(im, node, x, taps, mode, None)
        return
    if dtype != "float32":  # nearest in any other dtype: one Gather of whole elements per upsampled axis
        b = Builder(im, node, dtype)
        current = x
        for k, (axis, indices, weights) in enumerate(taps):
            chosen = b.ints(nearest_indices(indices, weights).astype(np.int64))
            current = b.op("Gather", [current, chosen], node.output[0] if k == len(taps) - 1 else None, axis=axis)
        if not taps:
            b.op("Identity", [x], node.output[0])
        return
    im.emit("Resize", [x], node.output[0], out_shape, node.name, mode=mode, taps=taps)


IMPORTS = {"Upsample": (import_upsample, 1, 2)}
