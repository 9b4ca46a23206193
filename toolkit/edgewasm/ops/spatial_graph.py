"""A small builder the spatial decompositions share (GridSample, AffineGrid, Col2Im, DeformConv, LpPool,
GlobalLpPool, LRN, MaxUnpool, Upsample, RoiAlign, MaxRoiPool, MaxPool's Indices): it imports standard ONNX nodes made here through the importer, so
each step is computed by the unit that owns its op (and folds when its inputs are constants).

Only opset-stable spellings are used (Reshape with a shape input, Max/Min rather than Clip,
ReduceSum's axes as an attribute or an input by the model's opset), so the same decomposition
imports under any opset the decomposed op exists in.

`Sampler` is the run-time sampling they share: per spatial axis a list of tap coordinates (float
tensors holding integers) and tap weights, turned into one flat index per tap combination, one
GatherND reading a row of C values per tap (bounds-checked; a zero-padded tap outside the image
reads an appended row of zeros) and a weighted sum (or maximum) over the taps.
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

    def reduce(self, op: str, x: str, axes: list[int], keepdims: int = 0, output: str | None = None) -> str:
        """ReduceMax/ReduceMin/ReduceMean, whose axes become an input at opset 18."""
        if self.im.opset >= 18:
            return self.op(op, [x, self.ints(axes)], output, keepdims=keepdims)
        return self.op(op, [x], output, axes=axes, keepdims=keepdims)

    def power(self, x: str, e: float, output: str | None = None) -> str:
        """x ** e for x >= 0: Pow in float32; float64 (whose Pow has no kernel) as exact products for
        e = 1..4, Sqrt for 0.5, else Exp(e * Log(x)) (0 stays 0 for e > 0), all in float64."""
        if self.dtype == "float32":
            return self.op("Pow", [x, float(e)], output)
        if e == 1:
            return self.op("Identity", [x], output)
        if e in (2, 3, 4):
            square = self.op("Mul", [x, x], output if e == 2 else None)
            if e == 2:
                return square
            return self.op("Mul", [square, x if e == 3 else square], output)
        if e == 0.5:
            return self.op("Sqrt", [x], output)
        return self.op("Exp", [self.op("Mul", [self.op("Log", [x]), float(e)])], output)

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
    """y[n, c, o] = sum (or max) over tap combinations of prod_axis(weight) * x[n, c, index] for
    x [N, C, *dims], with per-axis taps given as float tensors [N, O] of integer coordinates (and
    weights [N, O]), or already stacked as int64 indices [N, O, K] (and weights [N, O, K])."""

    def __init__(self, b: Builder, dims: tuple[int, ...]):
        self.b, self.dims = b, dims
        # per axis: (indices [N, O, K] int64, weights [N, O, K] or None, K, inside [N, O, K] bool or None)
        self.axes: list[tuple[str, str | None, int, str | None]] = []

    def axis(self, taps: list[str], weights: list[str | None], padding: str, lo: float = -0.5,
             hi: float | None = None) -> None:
        """Add the next spatial axis: taps (float coordinates) mapped to indices by `padding`: zeros (out
        of range reads 0), border (clamped), reflection (reflected about [lo, hi], then truncated)."""
        b, d = self.b, self.dims[len(self.axes)]
        hi = d - 0.5 if hi is None else hi
        indices, out_weights, valid = [], [], []
        for k, w in zip(taps, weights):
            if padding == "zeros":  # a tap outside reads the appended zero row (see gather)
                valid.append(b.op("And", [b.op("GreaterOrEqual", [k, 0.0]), b.op("LessOrEqual", [k, float(d - 1)])]))
                k = b.clamp(k, 0, d - 1)
            elif padding == "border":
                k = b.clamp(k, 0, d - 1)
            else:
                k = b.clamp(b.reflect(k, lo, hi), 0, d - 1)
            indices.append(b.cast(k, "int64"))
            out_weights.append(w)
        n, o = b.shape(indices[0])
        stacked = self._stack(indices, n, o)
        weight = None
        if any(w is not None for w in out_weights):
            weight = self._stack([w if w is not None else b.const(np.ones((n, o))) for w in out_weights], n, o)
        self.axes.append((stacked, weight, len(taps), self._stack(valid, n, o) if valid else None))

    def _stack(self, parts: list[str], n: int, o: int) -> str:
        parts = [self.b.reshape(p, (n, o, 1)) for p in parts]
        return parts[0] if len(parts) == 1 else self.b.op("Concat", parts, axis=2)

    def stacked(self, indices: str, weights: str | None) -> None:
        """Add the next axis as int64 indices [N, O, K] already in range, with weights [N, O, K] or None."""
        self.axes.append((indices, weights, self.b.shape(indices)[2], None))

    def gather(self, x: str, n: int, c: int, o: int, reduce: str = "sum") -> str:
        """y [N, C, O] from x [N, C, *dims]: the taps' weighted values summed, or their maximum."""
        b = self.b
        rank = len(self.axes)
        counts = [k for _, _, k, _ in self.axes]
        taps = math.prod(counts)
        strides = [math.prod(self.dims[i + 1:]) for i in range(rank)]
        flat_index, weight, inside = None, None, None
        for i, (indices, weights, k, valid) in enumerate(self.axes):
            shape = [n, o] + [k if j == i else 1 for j in range(rank)]
            scaled = b.op("Mul", [indices, b.ints(strides[i])]) if strides[i] != 1 else indices
            stacked = b.reshape(scaled, shape)
            flat_index = stacked if flat_index is None else b.op("Add", [flat_index, stacked])
            if weights is not None:
                w_axis = b.reshape(weights, shape)
                weight = w_axis if weight is None else b.op("Mul", [weight, w_axis])
            if valid is not None:
                v_axis = b.reshape(valid, shape)
                inside = v_axis if inside is None else b.op("And", [inside, v_axis])
        full = (n, o) + tuple(counts)
        pixels = math.prod(self.dims)
        if inside is not None:  # taps outside the image read row `pixels`, a row of zeros (never 0 * inf)
            flat_index = b.where(inside, flat_index, b.ints(pixels))
        if b.shape(flat_index) != full:
            flat_index = b.op("Expand", [flat_index, b.ints(list(full))])
        # one row of C values per tap: x as [N, pixels, C], GatherND with batch_dims 1 (bounds-checked)
        rows = b.op("Transpose", [b.reshape(x, (n, c, pixels))], perm=[0, 2, 1])
        if inside is not None:
            rows = b.op("Concat", [rows, b.const(np.zeros((n, 1, c)))], axis=1)
        values = b.op("GatherND", [rows, b.reshape(flat_index, (n, o * taps, 1))], batch_dims=1)
        values = b.reshape(values, (n, o, taps, c))
        if weight is not None:
            if b.shape(weight) != full:
                weight = b.op("Expand", [weight, b.ints(list(full))])
            values = b.op("Mul", [values, b.reshape(weight, (n, o, taps, 1))])
        if taps == 1:
            picked = b.reshape(values, (n, o, c))
        else:
            picked = b.reduce_sum(values, [2]) if reduce == "sum" else b.reduce("ReduceMax", values, [2])
        return b.op("Transpose", [picked], perm=[0, 2, 1]) if c > 1 else b.reshape(picked, (n, c, o))
