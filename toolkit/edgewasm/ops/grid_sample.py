"""GridSample (opsets 16, 20, 22): y[n, c, *o] = x[n, c] sampled at grid[n, *o] (normalized
coordinates in [-1, 1], innermost axis first), for any number of spatial axes (opset 16 takes 4-D
inputs only), modes bilinear/linear, nearest and bicubic/cubic, padding_mode zeros, border and
reflection, align_corners 0 or 1, as onnxruntime computes it: padding applies to each tap's integer
index (zeros reads 0 outside, border clamps, reflection reflects about the borders); onnx's
reference also clamps or reflects the coordinate itself first, which can differ only for bicubic.

Decomposed at import (ops/spatial_graph.py) into run-time elementwise ops on the grid (denormalize,
round for nearest, floor and the per-axis tap weights), a flat index per tap combination (2^D for
linear, 4^D for cubic), one GatherND of channel rows and a weighted ReduceSum. float32 and float64 compute in their own dtype;
float16 and bfloat16 in float32 between casts.
"""

from __future__ import annotations

import math

from ..errors import Float32OnlyError, ModelFormatError, UnsupportedModelError
from .spatial_graph import Builder, Sampler

IR_OP = None
CUBIC_A = -0.75
MODES = {"bilinear": "linear", "linear": "linear", "nearest": "nearest", "bicubic": "cubic", "cubic": "cubic"}


def _text(at: dict, name: str, default: str) -> str:
    value = at.get(name, default)
    return value.decode() if isinstance(value, bytes) else str(value)


def cubic_weights(b: Builder, t: str) -> list[str]:
    """Keys' cubic convolution weights (a = -0.75) of the taps floor-1 .. floor+2 at fraction t."""
    a = CUBIC_A
    one_minus, two_minus, t_plus = b.op("Sub", [1.0, t]), b.op("Sub", [2.0, t]), b.op("Add", [t, 1.0])

    def outer(s: str) -> str:  # ((a*s - 5a)*s + 8a)*s - 4a
        v = b.op("Sub", [b.op("Mul", [s, a]), 5 * a])
        v = b.op("Add", [b.op("Mul", [v, s]), 8 * a])
        return b.op("Sub", [b.op("Mul", [v, s]), 4 * a])

    def inner(s: str) -> str:  # ((a+2)*s - (a+3))*s*s + 1
        v = b.op("Sub", [b.op("Mul", [s, a + 2]), a + 3])
        return b.op("Add", [b.op("Mul", [b.op("Mul", [v, s]), s]), 1.0])

    return [outer(t_plus), inner(t), inner(one_minus), outer(two_minus)]


def import_grid_sample(im, node, at) -> None:
    x, grid = node.input[0], node.input[1]
    where = f"GridSample node {node.name!r}"
    dtype = im.dtype(x)
    if dtype in ("float16", "bfloat16"):
        raise Float32OnlyError(f"{where}: {dtype} is computed in float32")
    if dtype not in ("float32", "float64"):
        raise UnsupportedModelError(f"{where}: input {x!r} has dtype {dtype}; GridSample takes float inputs")
    mode = _text(at, "mode", "bilinear" if im.opset < 20 else "linear")
    padding = _text(at, "padding_mode", "zeros")
    align = bool(int(at.get("align_corners", 0)))
    if mode not in MODES or (im.opset < 20 and mode not in ("bilinear", "nearest", "bicubic")) or \
            (im.opset >= 20 and mode not in ("linear", "nearest", "cubic")):
        raise ModelFormatError(f"{where}: unknown mode {mode!r} for opset {im.opset}")
    if padding not in ("zeros", "border", "reflection"):
        raise ModelFormatError(f"{where}: unknown padding_mode {padding!r}")
    mode = MODES[mode]
    xs, gs = im.shape(x), im.shape(grid)
    rank = len(xs) - 2
    if rank < 1 or len(gs) != rank + 2 or gs[0] != xs[0] or gs[-1] != rank:
        raise ModelFormatError(f"{where}: grid of shape {gs} does not fit input of shape {xs} (it must be "
                               f"[N, *out, {max(rank, 0)}])")
    n, c, dims, out = xs[0], xs[1], xs[2:], gs[1:-1]
    o = math.prod(out)
    if n * c * o == 0 or math.prod(dims) == 0:
        raise UnsupportedModelError(f"{where}: empty input or output ({xs}, grid {gs})")
    b = Builder(im, node, dtype)
    g = grid if im.dtype(grid) == dtype else b.cast(grid, dtype)
    g = b.reshape(g, (n, o, rank))
    coords, bounds = [], []
    for axis, d in enumerate(dims):
        u = b.op("Gather", [g, b.ints(rank - 1 - axis)], axis=2)  # the grid lists the innermost axis first
        if align:
            u = b.op("Mul", [b.op("Div", [b.op("Add", [u, 1.0]), 2.0]), float(d - 1)])
            lo, hi = 0.0, float(d - 1)
        else:
            u = b.op("Div", [b.op("Sub", [b.op("Mul", [b.op("Add", [u, 1.0]), float(d)]), 1.0]), 2.0])
            lo, hi = -0.5, d - 0.5
        if mode == "nearest":
            u = b.op("Round", [u])
        coords.append(u)
        bounds.append((lo, hi))
    sampler = Sampler(b, dims)
    for u, (lo, hi) in zip(coords, bounds):
        if mode == "nearest":
            sampler.axis([u], [None], padding, lo, hi)
            continue
        f = b.op("Floor", [u])
        t = b.op("Sub", [u, f])
        if mode == "linear":
            taps = [f, b.op("Add", [f, 1.0])]
            weights = [b.op("Sub", [1.0, t]), t]
        else:
            taps = [b.op("Add", [f, float(k)]) for k in (-1, 0, 1, 2)]
            weights = cubic_weights(b, t)
        sampler.axis(taps, weights, padding, lo, hi)
    y = sampler.gather(x, n, c, o)
    b.reshape(y, (n, c, *out), node.output[0])


IMPORTS = {"GridSample": (import_grid_sample, 2, 2)}
COMPUTED = ("GridSample",)  # never folded: onnx's evaluator does not know opset 16's mode names
