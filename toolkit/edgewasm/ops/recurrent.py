"""LSTM, GRU and RNN (opsets 7 to 22): unrolled at import time into IR ops (frontend/recurrent.py).

Per direction, one Gemm projects X with every gate's input weights for all time steps at once;
each time step is then a Gemm of the hidden state with the packed recurrence weights, adds, the
activations and the state update, so the compiled module is straight-line code over the
(static) sequence length.

Supported: directions forward, reverse and bidirectional; every activation the spec lists (Relu,
Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign,
Softplus) with activation_alpha / activation_beta and per-direction lists; clip; LSTM
input_forget and peepholes P; GRU linear_before_reset; initial_h / initial_c constant, computed
at run time or absent; B absent; sequence_lens constant or absent; layout 0 and 1; any subset of
the outputs. W, R, B, P and sequence_lens must be constants; X and the states are float32.

Numerics follow onnxruntime's CPU kernels where the spec leaves room:
- activation_alpha / activation_beta are consumed in order over the activation list (both
  directions) by the activations that take them; one that finds none left uses onnxruntime's
  default: LeakyRelu 0.01, HardSigmoid 0.2 / 0.5, Elu 1.0, and 0 for the others (Affine,
  ScaledTanh, ThresholdedRelu).
- clip bounds every gate's input after the bias (and the LSTM peephole) is added; LSTM's
  input_forget makes the forget gate 1 - i.
- Softplus is computed as max(x, 0) + log(1 + exp(-|x|)): the same values, but finite where
  onnxruntime's log(1 + exp(x)) overflows (x > 88).
- a batch item of sequence length 0 has zero Y, Y_h and Y_c.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.arguments import int_constant, optional_input
from ..frontend.recurrent import Activation, Builder, Layer, Unroller

IR_OP = None

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}
# activation -> (takes alpha, takes beta); onnxruntime's defaults where it has one
USES = {"relu": (False, False), "tanh": (False, False), "sigmoid": (False, False), "affine": (True, True),
        "leakyrelu": (True, False), "thresholdedrelu": (True, False), "scaledtanh": (True, True),
        "hardsigmoid": (True, True), "elu": (True, False), "softsign": (False, False),
        "softplus": (False, False)}
DEFAULTS = {"leakyrelu": (0.01, 0.0), "hardsigmoid": (0.2, 0.5), "elu": (1.0, 0.0)}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _Node:
    """A recurrent node's attributes and inputs, checked."""

    def __init__(self, im, node, at):
        op, where = node.op_type, f"{node.op_type} node {node.name!r}"
        self.op, self.where = op, where
        x = node.input[0]
        im.require_float(node, x)
        direction = _text(at.get("direction", "forward"))
        if direction not in ("forward", "reverse", "bidirectional"):
            raise ModelFormatError(f"{where}: direction {direction!r} is not forward, reverse or bidirectional")
        self.directions = [False, True] if direction == "bidirectional" else [direction == "reverse"]
        D = len(self.directions)
        self.layout = int(at.get("layout", 0))
        if self.layout not in (0, 1):
            raise ModelFormatError(f"{where}: layout {self.layout} is not 0 or 1")
        shape = im.shape(x)
        if len(shape) != 3:
            raise ModelFormatError(f"{where}: X must have rank 3, got shape {shape}")
        seq, batch, inputs = shape if self.layout == 0 else (shape[1], shape[0], shape[2])
        if seq == 0 or batch == 0:
            raise UnsupportedModelError(f"{where}: X of shape {shape} has no time step or no batch item")
        G = GATES[op]
        W = self._weights(im, node, 1, "W")
        R = self._weights(im, node, 2, "R")
        hidden = int(at["hidden_size"]) if "hidden_size" in at else R.shape[-1] if R.ndim == 3 else 0
        if hidden < 1:
            raise ModelFormatError(f"{where}: hidden_size must be >= 1")
        for name, value, want in (("W", W, (D, G * hidden, inputs)), ("R", R, (D, G * hidden, hidden))):
            if value.shape != want:
                raise ModelFormatError(f"{where}: {name} has shape {value.shape}, expected {want}")
        bias_name = optional_input(node, 3)
        B = (np.zeros((D, 2 * G * hidden), np.float32) if bias_name is None
             else self._weights(im, node, 3, "B"))
        if B.shape != (D, 2 * G * hidden):
            raise ModelFormatError(f"{where}: B has shape {B.shape}, expected {(D, 2 * G * hidden)}")
        self.W, self.R, self.Wb, self.Rb = W, R, B[:, :G * hidden], B[:, G * hidden:]
        lens_name = optional_input(node, 4)
        if lens_name is None:
            lengths = np.full(batch, seq, np.int64)
        else:
            if lens_name not in im.constants:
                raise UnsupportedModelError(f"{where}: sequence_lens must be a constant (the unrolled steps "
                                            "are fixed at compile time)")
            lengths = int_constant(im, node, lens_name, "sequence_lens").reshape(-1)
            if lengths.shape != (batch,) or (lengths < 0).any() or (lengths > seq).any():
                raise ModelFormatError(f"{where}: sequence_lens {lengths.tolist()} must hold {batch} values "
                                       f"in [0, {seq}]")
        self.layer = Layer(x, seq, batch, hidden, self.layout, self.directions, lengths)
        self.clip = float(at["clip"]) if "clip" in at else None
        if self.clip is not None and not self.clip > 0:
            raise ModelFormatError(f"{where}: clip must be positive, got {self.clip}")
        self.activations = self._activations(at)
        self.at = at

    def _weights(self, im, node, index: int, what: str) -> np.ndarray:
        value = im.constants.get(node.input[index])
        if value is None:
            raise UnsupportedModelError(f"{self.where}: {what} must be a constant (initializer); weights computed "
                                        "at run time are not supported")
        if value.dtype.kind != "f":
            raise ModelFormatError(f"{self.where}: {what} has dtype {value.dtype}, not a float")
        return value.astype(np.float32)

    def _activations(self, at) -> list[list[Activation]]:
        """Per direction, the cell's activations with their alpha and beta."""
        per, D = len(DEFAULT_ACTIVATIONS[self.op]), len(self.directions)
        names = [_text(a) for a in at.get("activations", [])] or DEFAULT_ACTIVATIONS[self.op] * D
        if self.op == "RNN" and len(names) == 2 and D == 1:
            names = names[:1]  # onnxruntime reads the schema's old default ["Tanh", "Tanh"] so
        if len(names) != per * D:
            raise ModelFormatError(f"{self.where}: {len(names)} activations given; it takes {per * D} "
                                   f"({per} per direction)")
        unknown = [n for n in names if n.lower() not in USES]
        if unknown:
            raise ModelFormatError(f"{self.where}: unknown activation(s) {unknown}; the spec lists "
                                   "Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, "
                                   "HardSigmoid, Elu, Softsign, Softplus")
        alphas = [float(a) for a in at.get("activation_alpha", [])]
        betas = [float(b) for b in at.get("activation_beta", [])]
        acts = []  # consumed in order by the activations that take them, across both directions
        for n in names:
            name = n.lower()
            takes_alpha, takes_beta = USES[name]
            alpha, beta = DEFAULTS.get(name, (0.0, 0.0))
            if takes_alpha and alphas:
                alpha = alphas.pop(0)
            if takes_beta and betas:
                beta = betas.pop(0)
            acts.append(Activation(name, alpha if takes_alpha else 0.0, beta if takes_beta else 0.0))
        return [acts[d * per:(d + 1) * per] for d in range(D)]

    def initial_state(self, im, node, b: Builder, index: int, what: str) -> list[str]:
        """Per direction, the initial state in the step shape: a slice of the input (run time or
        constant) or zeros when it is absent."""
        L, D = self.layer, len(self.directions)
        step = (1, L.batch, L.hidden) if L.layout == 0 else (L.batch, 1, L.hidden)
        name = optional_input(node, index)
        if name is None:
            zero = b.const(np.zeros(step, np.float32), "zero")
            return [zero] * D
        want = (D, L.batch, L.hidden) if L.layout == 0 else (L.batch, D, L.hidden)
        if im.shape(name) != want:
            raise ModelFormatError(f"{self.where}: {what} has shape {im.shape(name)}, expected {want}")
        if im.dtype(name) != "float32":
            im.require_float(node, name)
        if name in im.constants:
            name = b.const(im.constants[name], what)
        axis = 0 if L.layout == 0 else 1
        return [b.slice(name, axis, d, 1) for d in range(D)]


def _clip(b: Builder, x: str, clip: float | None) -> str:
    return x if clip is None else b.clamp(x, -clip, clip)


class _LSTM:
    """Gates i, o, f, c (ONNX's order) in one [.., 4H] pre-activation per step."""

    states = ("h", "c")

    def __init__(self, b: Builder, n: _Node, P: np.ndarray | None, input_forget: bool):
        self.b, self.n, self.P, self.input_forget = b, n, P, input_forget
        H = n.layer.hidden
        self.R = [b.const(n.R[d].T, "r") for d in range(len(n.directions))]
        self.peep = None if P is None else [[b.const(P[d, g * H:(g + 1) * H], "p") for g in range(3)]
                                            for d in range(len(n.directions))]

    def parts(self, d: int):
        return [(self.n.W[d].T, self.n.Wb[d] + self.n.Rb[d])]

    def step(self, d: int, xs: list[str], state: dict[str, str]) -> dict[str, str]:
        b, H, clip = self.b, self.n.layer.hidden, self.n.clip
        f_act, g_act, h_act = self.n.activations[d]
        h, c = state["h"], state["c"]
        a = b.add(b.gemm(h, self.R[d]), xs[0])
        if self.peep is None:
            ifo = b.activation(f_act, _clip(b, b.slice(a, 2, 0, 3 * H), clip))
            i, o, f = (b.slice(ifo, 2, g * H, H) for g in range(3))
        else:
            p_i, p_o, p_f = self.peep[d]
            i = b.activation(f_act, _clip(b, b.add(b.slice(a, 2, 0, H), b.mul(c, p_i)), clip))
            f = None if self.input_forget else b.activation(
                f_act, _clip(b, b.add(b.slice(a, 2, 2 * H, H), b.mul(c, p_f)), clip))
        if self.input_forget:
            f = b.sub(b.scalar(1.0), i)
        cell = b.activation(g_act, _clip(b, b.slice(a, 2, 3 * H, H), clip))
        c_new = b.add(b.mul(f, c), b.mul(i, cell))
        if self.peep is not None:
            o = b.activation(f_act, _clip(b, b.add(b.slice(a, 2, H, H), b.mul(c_new, self.peep[d][1])), clip))
        return {"h": b.mul(o, b.activation(h_act, c_new)), "c": c_new}


class _GRU:
    """Gates z, r (one [.., 2H] projection) and h (its own, for the reset gate in between)."""

    states = ("h",)

    def __init__(self, b: Builder, n: _Node, linear_before_reset: bool):
        self.b, self.n, self.lbr = b, n, linear_before_reset
        H = n.layer.hidden
        D = len(n.directions)
        self.R_zr = [b.const(n.R[d, :2 * H].T, "r") for d in range(D)]
        self.R_h = [b.const(n.R[d, 2 * H:].T, "r") for d in range(D)]
        rbh = [n.Rb[d, 2 * H:] for d in range(D)]
        self.Rb_h = [b.const(v, "rb") if linear_before_reset and v.any() else None for v in rbh]

    def parts(self, d: int):
        n, H = self.n, self.n.layer.hidden
        bias_zr = n.Wb[d, :2 * H] + n.Rb[d, :2 * H]
        bias_h = n.Wb[d, 2 * H:] + (0 if self.lbr else n.Rb[d, 2 * H:])
        return [(n.W[d, :2 * H].T, bias_zr), (n.W[d, 2 * H:].T, bias_h)]

    def step(self, d: int, xs: list[str], state: dict[str, str]) -> dict[str, str]:
        b, H, clip = self.b, self.n.layer.hidden, self.n.clip
        f_act, g_act = self.n.activations[d]
        h = state["h"]
        zr = b.activation(f_act, _clip(b, b.add(b.gemm(h, self.R_zr[d]), xs[0]), clip))
        z, r = b.slice(zr, 2, 0, H), b.slice(zr, 2, H, H)
        if self.lbr:
            pre = b.add(xs[1], b.mul(r, b.gemm(h, self.R_h[d], self.Rb_h[d])))
        else:
            pre = b.add(b.gemm(b.mul(r, h), self.R_h[d]), xs[1])
        candidate = b.activation(g_act, _clip(b, pre, clip))
        return {"h": b.add(b.mul(b.sub(b.scalar(1.0), z), candidate), b.mul(z, h))}


class _RNN:
    states = ("h",)

    def __init__(self, b: Builder, n: _Node):
        self.b, self.n = b, n
        self.R = [b.const(n.R[d].T, "r") for d in range(len(n.directions))]

    def parts(self, d: int):
        return [(self.n.W[d].T, self.n.Wb[d] + self.n.Rb[d])]

    def step(self, d: int, xs: list[str], state: dict[str, str]) -> dict[str, str]:
        b = self.b
        return {"h": b.activation(self.n.activations[d][0],
                                  _clip(b, b.add(b.gemm(state["h"], self.R[d]), xs[0]), self.n.clip))}


def import_recurrent(im, node, at) -> None:
    n = _Node(im, node, at)
    b = Builder(im, node)
    outputs = list(node.output) + [""] * 3
    initial = {"h": n.initial_state(im, node, b, 5, "initial_h")}
    if node.op_type == "LSTM":
        initial["c"] = n.initial_state(im, node, b, 6, "initial_c")
        P = None
        if optional_input(node, 7) is not None:
            P = n._weights(im, node, 7, "P")
            if P.shape != (len(n.directions), 3 * n.layer.hidden):
                raise ModelFormatError(f"{n.where}: P has shape {P.shape}, expected "
                                       f"{(len(n.directions), 3 * n.layer.hidden)}")
        cell = _LSTM(b, n, P, bool(int(at.get("input_forget", 0))))
    elif node.op_type == "GRU":
        if outputs[2]:
            raise ModelFormatError(f"{n.where}: GRU has two outputs (Y, Y_h)")
        cell = _GRU(b, n, bool(int(at.get("linear_before_reset", 0))))
    else:
        cell = _RNN(b, n)
    unroller = Unroller(b, n.layer)
    finals, ys = unroller.run(cell, initial)
    if outputs[0]:
        unroller.output_y(ys, outputs[0])
    if outputs[1]:
        unroller.output_state(finals, "h", outputs[1])
    if node.op_type == "LSTM" and outputs[2]:
        unroller.output_state(finals, "c", outputs[2])


IMPORTS = {"LSTM": (import_recurrent, 3, 8), "GRU": (import_recurrent, 3, 6), "RNN": (import_recurrent, 3, 6)}
COMPUTED = ("LSTM", "GRU", "RNN")  # never folded: onnx's evaluator gets some forms wrong
