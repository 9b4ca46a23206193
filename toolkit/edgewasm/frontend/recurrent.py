"""Unrolling ONNX's recurrent layers (LSTM, GRU, RNN; ops/recurrent.py) into IR ops at import time.

Shapes are static, so the sequence length is known: a layer becomes, per direction, one Gemm of X
with every gate's input weights for all time steps at once (the biases Wb + Rb folded in), then
per time step a Gemm of the hidden state with the recurrence weights (one packed constant shared
by every step), the adds, activations and state updates of the cell, and at the end the Concats
and Reshapes that lay out Y, Y_h and Y_c. Per-step tensors have the "step shape" (1, B, n) in
layout 0 and (B, 1, n) in layout 1, so slicing X's projection and stacking Y never transposes.

sequence_lens (a constant) is handled as onnxruntime does: batch item b runs L_b steps (the
reverse direction starts at its own step L_b - 1), Y is zero past L_b, and Y_h / Y_c hold the
state after its last step (zero when L_b is 0). Items of different lengths run together: from
the shortest length on, a Where keeps the state of the items already finished.

`Builder` emits the IR nodes and folds what is constant (a constant initial state at step 0, a
zero state's products), so a missing initial_h costs no Gemm at the first step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ModelFormatError

INF = math.inf


@dataclass(frozen=True)
class Activation:
    name: str  # lower case: sigmoid, tanh, relu, affine, leakyrelu, thresholdedrelu, scaledtanh, ...
    alpha: float = 0.0
    beta: float = 0.0


def _f32(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return _f32(1.0 / (1.0 + np.exp(-x.astype(np.float64))))


# numpy twins of the IR ops the builder emits, for nodes whose inputs are all constants
_FOLD = {
    "Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mul": lambda a, b: a * b,
    "Div": lambda a, b: a / b, "Max": np.maximum, "Min": np.minimum,
    "Sigmoid": _sigmoid, "Tanh": np.tanh, "Exp": np.exp, "Log": np.log,
}


class Builder:
    """Emits one ONNX node's IR nodes under fresh names, folding constant subexpressions."""

    def __init__(self, im, node):
        self.im, self.node = im, node
        self.base = next((o for o in node.output if o), node.name or node.op_type)
        self._small: dict[tuple, str] = {}  # small constants (scalars, masks, zero pieces) made once

    # -- names, constants ----------------------------------------------------------------

    def value(self, name: str) -> np.ndarray | None:
        return self.im.constants.get(name)

    def is_zero(self, name: str) -> bool:
        v = self.value(name)
        return v is not None and v.dtype != np.bool_ and not v.any()

    def const(self, value, what: str = "c") -> str:
        value = np.asarray(value)
        value = np.ascontiguousarray(value if value.dtype == np.bool_ else _f32(value))
        key = (value.dtype.str, value.shape, value.tobytes()) if value.size <= 4096 else None
        if key in self._small:
            return self._small[key]
        name = self.im.fresh(f"{self.base}__{what}")
        self.im.constants[name] = value
        if key is not None:
            self._small[key] = name
        return name

    def shape(self, name: str) -> tuple[int, ...]:
        return self.im.shape(name)

    def emit(self, op: str, inputs: list[str], shape, dtype: str = "float32", output: str | None = None,
             **attrs) -> str:
        out = output or self.im.fresh(f"{self.base}__{op.lower()}")
        self.im.emit(op, list(inputs), out, tuple(shape), self.node.name, dtype=dtype, **attrs)
        return out

    # -- arithmetic ----------------------------------------------------------------------

    def binary(self, op: str, a: str, b: str) -> str:
        va, vb = self.value(a), self.value(b)
        shape = tuple(np.broadcast_shapes(self.shape(a), self.shape(b)))
        if va is not None and vb is not None:
            return self.const(_FOLD[op](va, vb))
        if op == "Add" and (self.is_zero(a) or self.is_zero(b)) and self.shape(b if self.is_zero(a) else a) == shape:
            return b if self.is_zero(a) else a
        if op == "Sub" and self.is_zero(b) and self.shape(a) == shape:
            return a
        if op == "Mul" and any(self.is_zero(z) and self.shape(z) == shape for z in (a, b)):
            return self.const(np.zeros(shape, np.float32))  # the state products of a zero initial state
        return self.emit(op, [a, b], shape)

    def add(self, a: str, b: str) -> str:
        return self.binary("Add", a, b)

    def sub(self, a: str, b: str) -> str:
        return self.binary("Sub", a, b)

    def mul(self, a: str, b: str) -> str:
        return self.binary("Mul", a, b)

    def scalar(self, x: float) -> str:
        return self.const(np.float32(x), "k")

    def unary(self, op: str, x: str, **attrs) -> str:
        v = self.value(x)
        if v is not None:
            return self.const(_fold_unary(op, v, attrs))
        return self.emit(op, [x], self.shape(x), **attrs)

    def clamp(self, x: str, lo: float, hi: float) -> str:
        return self.unary("Clamp", x, min=float(lo), max=float(hi))

    def elementwise(self, kind: str, inputs: list[str], dtype: str = "float32") -> str:
        values = [self.value(i) for i in inputs]
        if all(v is not None for v in values):
            return self.const(_fold_elementwise(kind, values))
        shape = tuple(np.broadcast_shapes(*(self.shape(i) for i in inputs)))
        return self.emit("Elementwise", inputs, shape, dtype=dtype, kind=kind)

    def where(self, condition: np.ndarray, a: str, b: str) -> str:
        """condition (a constant bool array, broadcast) ? a : b."""
        if condition.all():
            return a
        if not condition.any():
            return b
        return self.elementwise("where", [self.const(condition, "mask"), a, b])

    def gemm(self, x: str, w: str, bias: str | None = None) -> str:
        """x @ w (+ bias) over x's last axis; w (and bias) constants shared by every step."""
        shape = self.shape(x)[:-1] + (self.value(w).shape[1],)
        v = self.value(x)
        if v is not None:
            out = v.astype(np.float64) @ self.value(w).astype(np.float64)
            if bias is not None:
                out = out + self.value(bias)
            return self.const(out)
        return self.emit("Gemm", [x, w] + ([bias] if bias else []), shape, min=-INF, max=INF)

    # -- data movement -------------------------------------------------------------------

    def slice(self, x: str, axis: int, start: int, count: int) -> str:
        shape = list(self.shape(x))
        if start == 0 and count == shape[axis]:
            return x
        v = self.value(x)
        if v is not None:
            return self.const(np.take(v, range(start, start + count), axis=axis))
        starts = [0] * len(shape)
        starts[axis] = start
        shape[axis] = count
        return self.emit("Slice", [x], shape, starts=starts, steps=[1] * len(shape))

    def reshape(self, x: str, shape, output: str | None = None) -> str:
        v = self.value(x)
        if v is not None:
            if output is not None:
                self.im.constants[output] = np.ascontiguousarray(v.reshape(shape))
                return output
            return self.const(v.reshape(shape))
        if output is None and tuple(shape) == self.shape(x):
            return x
        return self.emit("Reshape", [x], shape, output=output)

    def concat(self, inputs: list[str], axis: int) -> str:
        values = [self.value(i) for i in inputs]
        if all(v is not None for v in values):
            return self.const(np.concatenate(values, axis=axis))
        shape = list(self.shape(inputs[0]))
        shape[axis] = sum(self.shape(i)[axis] for i in inputs)
        return self.emit("Concat", inputs, shape, axis=axis)

    def take_rows(self, x: str, indices: np.ndarray) -> str:
        """x viewed as [rows, last] -> rows at `indices` (an integer array of any shape), shape
        indices.shape + (last,)."""
        last = self.shape(x)[-1]
        flat = self.reshape(x, (math.prod(self.shape(x)) // last, last))
        v = self.value(flat)
        if v is not None:
            return self.const(v[indices])
        return self.emit("Gather", [flat], tuple(indices.shape) + (last,), axis=0,
                         indices=np.asarray(indices, np.int64))

    # -- activations ---------------------------------------------------------------------

    def activation(self, act: Activation, x: str) -> str:
        """The recurrent layers' activation functions, as onnxruntime computes them; those without
        an IR op of their own are composed of basic ones."""
        name, alpha, beta = act.name, act.alpha, act.beta
        if name == "sigmoid":
            return self.unary("Sigmoid", x)
        if name == "tanh":
            return self.unary("Tanh", x)
        if name == "relu":
            return self.clamp(x, 0.0, INF)
        if name == "leakyrelu":
            return self.unary("LeakyRelu", x, alpha=alpha)
        if name == "hardsigmoid":
            return self.unary("HardSigmoid", x, alpha=alpha, beta=beta)
        if name == "affine":  # alpha * x + beta
            return self.add(self.mul(x, self.scalar(alpha)), self.scalar(beta))
        if name == "scaledtanh":  # alpha * tanh(beta * x)
            return self.mul(self.unary("Tanh", self.mul(x, self.scalar(beta))), self.scalar(alpha))
        if name == "thresholdedrelu":  # x > alpha ? x : 0
            above = self.elementwise("greater", [x, self.scalar(alpha)], dtype="bool")
            return self.elementwise("where", [above, x, self.scalar(0.0)])
        if name == "elu":  # x >= 0 ? x : alpha * (exp(x) - 1), as max(x, 0) + alpha * (exp(min(x, 0)) - 1)
            negative = self.add(self.unary("Exp", self.clamp(x, -INF, 0.0)), self.scalar(-1.0))
            return self.add(self.clamp(x, 0.0, INF), self.mul(negative, self.scalar(alpha)))
        if name == "softsign":  # x / (1 + |x|)
            return self.binary("Div", x, self.add(self.elementwise("abs", [x]), self.scalar(1.0)))
        if name == "softplus":  # log(1 + exp(x)), as max(x, 0) + log(1 + exp(-|x|)) so large x stays finite
            minus_abs = self.binary("Min", x, self.mul(x, self.scalar(-1.0)))
            tail = self.unary("Log", self.add(self.unary("Exp", minus_abs), self.scalar(1.0)))
            return self.add(self.clamp(x, 0.0, INF), tail)
        raise ModelFormatError(f"{self.node.op_type} node {self.node.name!r}: unknown activation {name!r}")


def _fold_unary(op: str, v: np.ndarray, attrs: dict) -> np.ndarray:
    if op == "Clamp":
        return np.clip(v, _f32(attrs["min"]), _f32(attrs["max"]))
    if op == "LeakyRelu":
        return np.where(v < 0, v * _f32(attrs["alpha"]), v)
    if op == "HardSigmoid":
        return np.clip(v * _f32(attrs["alpha"]) + _f32(attrs["beta"]), 0, 1)
    with np.errstate(all="ignore"):
        return _FOLD[op](v)


def _fold_elementwise(kind: str, values: list[np.ndarray]) -> np.ndarray:
    if kind == "where":
        return np.where(*values)
    if kind == "greater":
        return values[0] > values[1]
    if kind == "abs":
        return np.abs(values[0])
    raise AssertionError(kind)


# -- the unrolled layer ------------------------------------------------------------------------


@dataclass
class Layer:
    """What a recurrent node fixes for the unrolling, whatever its cell."""

    x: str                      # X as the graph has it: [S, B, I] (layout 0) or [B, S, I] (layout 1)
    seq: int
    batch: int
    hidden: int
    layout: int
    directions: list[bool]      # reverse? per direction
    lengths: np.ndarray         # [B] steps each batch item runs


class Unroller:
    """Drives a cell over the time steps of every direction and lays out the outputs.

    A cell provides `parts(d)`: [(W^T [I, n], bias [n])] for the input projections of direction
    d, `states`: the state names (("h",) or ("h", "c")), and `step(d, xs, state) -> new state`
    where xs are the step's slices of the parts' projections and state maps names to tensors of
    the step shape.
    """

    def __init__(self, b: Builder, layer: Layer):
        self.b, self.layer = b, layer
        self.time_axis = 0 if layer.layout == 0 else 1

    def step_shape(self, n: int) -> tuple[int, ...]:
        return (1, self.layer.batch, n) if self.layer.layout == 0 else (self.layer.batch, 1, n)

    def run(self, cell, initial: dict[str, list[str]]) -> tuple[list[dict[str, str]], list[list[str] | str]]:
        """Every direction's final state and its Y: a list of per-time-position pieces (step
        shape, None for zeros) or one full [S, B, H] / [B, S, H] tensor."""
        finals, ys = [], []
        for d, reverse in enumerate(self.layer.directions):
            state = {k: initial[k][d] for k in cell.states}
            finals_d, y = self._direction(cell, d, reverse, state)
            finals.append(finals_d)
            ys.append(y)
        return finals, ys

    def _direction(self, cell, d: int, reverse: bool, state: dict[str, str]):
        b, L = self.b, self.layer
        lengths = L.lengths
        longest, shortest = int(lengths.max(initial=0)), int(lengths.min(initial=0))
        uniform = shortest == longest
        x_shape = b.shape(L.x)
        projections = []
        for w_t, bias in cell.parts(d):
            if b.value(L.x) is not None:
                projections.append(b.const(b.value(L.x).astype(np.float64) @ w_t + bias))
            else:
                projections.append(b.emit("Gemm", [L.x, b.const(w_t, "w"), b.const(bias, "b")],
                                          x_shape[:-1] + (w_t.shape[1],), min=-INF, max=INF))
        mask_shape = self.step_shape(1)
        outs = []
        for k in range(longest):
            if not reverse:
                xs = [b.slice(p, self.time_axis, k, 1) for p in projections]
            elif uniform:
                xs = [b.slice(p, self.time_axis, longest - 1 - k, 1) for p in projections]
            else:  # each item's own reversed position: a row gather
                xs = [b.take_rows(p, self._reverse_rows(k)) for p in projections]
            new = cell.step(d, xs, state)
            active = (k < lengths).reshape(mask_shape)
            state = {name: b.where(active, new[name], state[name]) for name in cell.states}
            outs.append(b.where(active, new["h"], b.scalar(0.0)) if not (reverse and not uniform) else state["h"])
        if (lengths == 0).any():
            live = (lengths > 0).reshape(mask_shape)
            state = {name: b.where(live, value, b.scalar(0.0)) for name, value in state.items()}
        if not reverse:
            y = outs + [None] * (L.seq - longest)
        elif uniform:
            y = outs[::-1] + [None] * (L.seq - longest)
        else:
            y = self._reverse_outputs(outs)
        return state, y

    def _reverse_rows(self, k: int) -> np.ndarray:
        """Rows of the flattened projection that reverse step k reads per batch item (any valid
        row for items already finished; their results are dropped)."""
        L = self.layer
        t = np.where(k < L.lengths, L.lengths - 1 - k, 0)
        items = np.arange(L.batch)
        rows = t * L.batch + items if L.layout == 0 else items * L.seq + t
        return rows.reshape(self.step_shape(1)[:2])

    def _reverse_outputs(self, outs: list[str]) -> str:
        """Y of a reverse direction whose items have different lengths: position t of item b is
        its step L_b - 1 - t, zero from L_b on; one gather from the stacked steps and a zero row."""
        b, L = self.b, self.layer
        steps = len(outs)
        stacked = b.concat(outs + [b.const(np.zeros(self.step_shape(L.hidden), np.float32), "zero")],
                           self.time_axis)
        t = np.arange(L.seq)[:, None]
        items = np.arange(L.batch)[None, :]
        k = np.where(t < L.lengths[None, :], L.lengths[None, :] - 1 - t, steps)  # [S, B]: step or the zero row
        rows = k * L.batch + items if L.layout == 0 else items * (steps + 1) + k
        return b.take_rows(stacked, rows if L.layout == 0 else rows.T)

    # -- outputs -------------------------------------------------------------------------

    def output_y(self, ys: list, name: str) -> None:
        """Y: [S, D, B, H] (layout 0) or [B, S, D, H] (layout 1)."""
        b, L = self.b, self.layer
        D, H = len(ys), L.hidden
        final = (L.seq, D, L.batch, H) if L.layout == 0 else (L.batch, L.seq, D, H)
        zero = None
        if all(isinstance(y, list) for y in ys):  # one Concat of the pieces, directions interleaved
            pieces = []
            for t in range(L.seq):
                for y in ys:
                    if y[t] is None:
                        zero = zero or b.const(np.zeros(self.step_shape(H), np.float32), "zero")
                    pieces.append(y[t] or zero)
            b.reshape(b.concat(pieces, self.time_axis), final, output=name)
            return
        full = [y if isinstance(y, str) else b.concat([p or b.const(np.zeros(self.step_shape(H), np.float32), "zero")
                                                       for p in y], self.time_axis) for y in ys]
        split = (L.seq, 1, L.batch, H) if L.layout == 0 else (L.batch, L.seq, 1, H)
        b.reshape(b.concat([b.reshape(y, split) for y in full], 1 if L.layout == 0 else 2), final, output=name)

    def output_state(self, finals: list[dict[str, str]], key: str, name: str) -> None:
        """Y_h / Y_c: [D, B, H] (layout 0) or [B, D, H] (layout 1)."""
        b, L = self.b, self.layer
        D = len(finals)
        shape = (D, L.batch, L.hidden) if L.layout == 0 else (L.batch, D, L.hidden)
        parts = [f[key] for f in finals]
        b.reshape(parts[0] if D == 1 else b.concat(parts, self.time_axis), shape, output=name)
