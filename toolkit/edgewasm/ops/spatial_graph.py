"""A small builder the spatial decompositions share (GridSample, AffineGrid, Col2Im, DeformConv, LpPool,
LRN, MaxUnpool, Upsample, RoiAlign): it imports standard ONNX nodes made here through the importer, so
each step is computed by the unit that owns its op (and folds when its inputs are constants).

Only opset-stable spellings are used (Reshape with a shape input, Max/Min rather than Clip,
ReduceSum's axes as an attribute or an input by the model's opset), so the same decomposition
imports under any opset the decomposed op exists in.

`Sampler` is the run-time sampling they share: per spatial axis a list of tap coordinates (float
tensors holding integers) and tap weights, turned into one flat index per tap combination, one
GatherElements over the flattened image and a weighted sum over the taps.
"""

from __future__ import annotations

import math

import numpy as np
import onnx

from .. import dtypes

IR_OP = None
IMPORTS: dict = {}


class Builder:
    """Emit standard ONNX nodes for one decomposed node; every value is a fresh tensor name."""

    def __init__(self, im, node, dtype: str):
        self.im, self.node, self.dtype = im, node, dtype
        self.base = node.output[0] or node.op_type

    def fresh(self) -> str:
        return self.im.fresh(f"{self.base}__{self.node.op_type.lower()}")

    def const(self, value, dtype: str | None = None) -> str:
        name = self.fresh()
        self.im.constants[name] = np.asarray(value, dtypes.numpy_dtype(dtype or self.dtype))
        return name

    def ints(self, value) -> str:
        return self.const(np.asarray(value, np.int64), "int64")

    def op(self, op_type: str, inputs: list, output: str | None = None, **attrs) -> str:
        out = output or self.fresh()
        names = [self.const(i) if isinstance(i, (int, float)) else i for i in inputs]
        self.im.import_nodes([onnx.helper.make_node(op_type, names, [out], name=self.node.name, **attrs)])
        return out

    def shape(self, name: str) -> tuple[int, ...]:
        return self.im.shape(name)

    def reshape(self, x: str, shape, output: str | None = None) -> str:
        return self.op("Reshape", [x, self.ints(list(shape))], output)

    def cast(self, x: str, dtype: str, output: str | None = None) -> str:
        return self.op("Cast", [x], output, to=dtypes.to_onnx(dtype))

    def reduce_sum(self, x: str, axes: list[int], keepdims: int = 0, output: str | None = None) -> str:
        if self.im.opset >= 13:
            return self.op("ReduceSum", [x, self.ints(axes)], output, keepdims=keepdims)
        return self.op("ReduceSum", [x], output, axes=axes, keepdims=keepdims)

    def clamp(self, x: str, lo: float, hi: float) -> str:
        return self.op("Min", [self.op("Max", [x, float(lo)]), float(hi)])

    def where(self, cond: str, a, b) -> str:
        return self.op("Where", [cond, a, b])

    def reflect(self, v: str, lo: float, hi: float) -> str:
        """Reflect v by the near border until it lies in [lo, hi] (onnx's GridSample reference)."""
        span = hi - lo
        if span <= 0:
            return self.op("Mul", [v, 0.0])  # a one-pixel axis: everything reflects onto it
        below, above = self.op("Less", [v, float(lo)]), self.op("Greater", [v, float(hi)])
        dx = self.where(below, self.op("Sub", [float(lo), v]), self.op("Sub", [v, float(hi)]))
        n = self.op("Floor", [self.op("Div", [dx, float(span)])])
        r = self.op("Sub", [dx, self.op("Mul", [n, float(span)])])
        half = self.op("Mul", [n, 0.5])
        even = self.op("Equal", [self.op("Floor", [half]), half])
        up, down = self.op("Add", [r, float(lo)]), self.op("Sub", [float(hi), r])
        return self.where(below, self.where(even, up, down), self.where(above, self.where(even, down, up), v))


class Sampler:
    """y[n, c, o] = sum over tap combinations of prod_axis(weight) * x[n, c, index] for x [N, C, *dims],
    with per-axis taps given as float tensors [N, O] of integer coordinates (and weights [N, O])."""

    def __init__(self, b: Builder, dims: tuple[int, ...]):
        self.b, self.dims = b, dims
        self.axes: list[tuple[list[str], list[str]]] = []  # per axis: (index tensors int64, weight tensors)

    def axis(self, taps: list[str], weights: list[str | None], padding: str, lo: float = -0.5,
             hi: float | None = None) -> None:
        """Add the next spatial axis: taps (float coordinates) mapped to indices by `padding`: zeros (out
        of range reads 0), border (clamped), reflection (reflected about [lo, hi], then truncated)."""
        b, d = self.b, self.dims[len(self.axes)]
        hi = d - 0.5 if hi is None else hi
        indices, out_weights = [], []
        for k, w in zip(taps, weights):
            if padding == "zeros":
                valid = b.op("And", [b.op("GreaterOrEqual", [k, 0.0]), b.op("LessOrEqual", [k, float(d - 1)])])
                mask = b.cast(valid, b.dtype)
                w = mask if w is None else b.op("Mul", [w, mask])
                k = b.clamp(k, 0, d - 1)
            elif padding == "border":
                k = b.clamp(k, 0, d - 1)
            else:
                k = b.clamp(b.reflect(k, lo, hi), 0, d - 1)
            indices.append(b.cast(k, "int64"))
            out_weights.append(w)
        self.axes.append((indices, out_weights))

    def gather(self, x: str, n: int, c: int, o: int) -> str:
        """y [N, C, O] from x [N, C, *dims]."""
        b = self.b
        rank = len(self.axes)
        counts = [len(ix) for ix, _ in self.axes]
        taps = math.prod(counts)
        strides = [math.prod(self.dims[i + 1:]) for i in range(rank)]
        flat_index, weight = None, None
        for i, (indices, weights) in enumerate(self.axes):
            shape = [n, o] + [counts[i] if j == i else 1 for j in range(rank)]
            parts = [b.reshape(b.op("Mul", [ix, b.ints(strides[i])]) if strides[i] != 1 else ix, (n, o, 1))
                     for ix in indices]
            stacked = b.reshape(parts[0] if len(parts) == 1 else b.op("Concat", parts, axis=2), shape)
            flat_index = stacked if flat_index is None else b.op("Add", [flat_index, stacked])
            if any(w is not None for w in weights):
                ws = [b.reshape(w if w is not None else b.const(np.ones((n, o))), (n, o, 1)) for w in weights]
                w_axis = b.reshape(ws[0] if len(ws) == 1 else b.op("Concat", ws, axis=2), shape)
                weight = w_axis if weight is None else b.op("Mul", [weight, w_axis])
        full = (n, o) + tuple(counts)
        if b.shape(flat_index) != full:
            flat_index = b.op("Expand", [flat_index, b.ints(list(full))])
        index = b.op("Expand", [b.reshape(flat_index, (n, 1, o * taps)), b.ints([n, c, o * taps])])
        values = b.op("GatherElements", [b.reshape(x, (n, c, math.prod(self.dims))), index], axis=2)
        values = b.reshape(values, (n, c, o, taps))
        if weight is None:
            return b.reshape(values, (n, c, o)) if taps == 1 else b.reduce_sum(values, [3])
        if b.shape(weight) != full:
            weight = b.op("Expand", [weight, b.ints(list(full))])
        weighted = b.op("Mul", [values, b.reshape(weight, (n, 1, o, taps))])
        return b.reduce_sum(weighted, [3])
