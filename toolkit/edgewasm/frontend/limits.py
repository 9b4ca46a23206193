"""Bounds on what compiling may allocate, checked before the allocation.

A 150-byte ONNX file can ask for a 60000 x 60000 constant (ConstantOfShape, Expand, Tile, Range,
a Resize's scales ...) or an activation of any size: every constant a fold would make, every tensor
the importer declares and the memory plan are refused beyond `max_bytes` (2 GiB by default, raised
with `--max-bytes`) with one line naming the node and the size.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import CompileLimitError

DEFAULT_MAX_BYTES = 2 << 30


def describe(nbytes: int) -> str:
    return f"{nbytes / (1 << 30):.1f} GiB" if nbytes >= 1 << 30 else f"{nbytes / (1 << 20):.1f} MiB"


def check(nbytes: int, what: str, max_bytes: int) -> None:
    if nbytes > max_bytes:
        raise CompileLimitError(f"{what} would take {describe(nbytes)}, more than the compile limit of "
                                f"{describe(max_bytes)} (raise it with --max-bytes if the model really needs it)")


def _ints(value) -> list[int] | None:
    try:
        return [int(v) for v in np.asarray(value).reshape(-1)]
    except (TypeError, ValueError, OverflowError):
        return None


def _elements(shape) -> int:
    return math.prod(max(0, int(d)) for d in shape)


def fold_elements(node, constants: dict, attrs: dict) -> int | None:
    """How many elements folding `node` would produce, where an input's *value* sets the output
    size (the ops that can blow up a tiny file); None for the rest, whose outputs are bounded by
    their inputs (already in memory) and are checked after folding."""
    inputs = [constants.get(name) if name else None for name in node.input]
    op = node.op_type
    if op == "ConstantOfShape" and inputs and inputs[0] is not None:
        dims = _ints(inputs[0])
        return None if dims is None else _elements(dims)
    if op == "Expand" and len(inputs) == 2 and inputs[1] is not None:
        dims = _ints(inputs[1])
        if dims is None:
            return None
        shape = list(np.shape(inputs[0]))
        rank = max(len(shape), len(dims))
        shape, dims = [1] * (rank - len(shape)) + shape, [1] * (rank - len(dims)) + dims
        return _elements(max(a, b) for a, b in zip(shape, dims))
    if op == "Tile" and len(inputs) == 2 and inputs[1] is not None:
        repeats = _ints(inputs[1])
        return None if repeats is None else np.size(inputs[0]) * _elements(repeats)
    if op == "Range" and len(inputs) == 3 and all(v is not None for v in inputs):
        start, limit, delta = (float(np.asarray(v).reshape(-1)[0]) for v in inputs)
        if delta == 0 or not all(math.isfinite(v) for v in (start, limit, delta)):
            return None
        return max(0, math.ceil((limit - start) / delta))
    if op == "OneHot" and len(inputs) == 3 and inputs[1] is not None:
        depth = _ints(inputs[1])
        return None if not depth else np.size(inputs[0]) * max(0, depth[0])
    if op in ("Resize", "Upsample"):
        shape = list(np.shape(inputs[0])) if inputs and inputs[0] is not None else None
        scales = inputs[2] if op == "Resize" and len(inputs) > 2 else (inputs[1] if len(inputs) > 1 else attrs.get("scales"))
        sizes = inputs[3] if op == "Resize" and len(inputs) > 3 else None
        if sizes is not None and np.size(sizes):
            dims = _ints(sizes)
            return None if dims is None else _elements(dims)
        if shape is not None and scales is not None and np.size(scales) == len(shape):
            return _elements(math.floor(d * float(s)) if math.isfinite(float(s)) else 0
                             for d, s in zip(shape, np.asarray(scales).reshape(-1)))
    if op == "Pad" and inputs and inputs[0] is not None:
        pads = _ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else _ints(attrs.get("pads", []))
        shape = list(np.shape(inputs[0]))
        if pads and len(pads) == 2 * len(shape):
            return _elements(d + pads[i] + pads[i + len(shape)] for i, d in enumerate(shape))
    return None
