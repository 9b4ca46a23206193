"""Distillation: recover a compressed student's accuracy by fitting it to the fp32 teacher.

On the teacher's inputs (`--distill DATA.npz`), every dense layer of the student that the teacher
also has (same output tensor and shape) and that now sees other inputs or holds other weights is
refit, in graph order, by ridge least squares so that its pre-activation matches the teacher's:
    min over W, b of |H_s W + b - (H_t W_t + b_t)|^2 + lambda |W|^2
with H_s the student's input to the layer (after the refits before it) and H_t the teacher's.
This is what pruning and low-rank damage: the layer after a structurally pruned one, the second
factor of a factorized one. Weights a pruning pass zeroed stay zero (each output column is fit on
its remaining inputs only), so distillation never undoes the compression.
Convolutions (group 1) are refit the same way on their im2col rows: each output pixel is one
sample of a dense layer over its window (kernel taps x input channels), with at most
MAX_CONV_ROWS pixels drawn at random (seeded) from the data, so a large feature map stays cheap.
The report gives the student's agreement with the teacher's top-1 and its output error, before
and after.
"""

from __future__ import annotations

import numpy as np

from ..errors import CompressionError
from ..ir import Graph
from .activations import activations

RIDGE = 1e-4  # lambda, relative to the mean squared activation: keeps the fit well posed
MAX_CONV_ROWS = 20_000  # output pixels a convolution is refit on
PIXEL_SEED = 0


def _refittable(node) -> bool:
    return node.op == "Gemm" or (node.op == "Conv" and node.attrs["group"] == 1)


def distill(student: Graph, teacher: Graph, data: dict[str, np.ndarray]) -> tuple[Graph, dict]:
    teacher_layers = {n.outputs[0]: n for n in teacher.nodes if _refittable(n)}
    teacher_inputs = activations(teacher, data, sorted({n.inputs[0] for n in teacher_layers.values()}))
    before = _agreement(student, teacher, data)
    layers = []
    for node in student.nodes:
        twin = teacher_layers.get(node.outputs[0])
        if (not _refittable(node) or twin is None or twin.op != node.op
                or student.info(node.outputs[0]).shape != teacher.info(twin.outputs[0]).shape):
            continue
        h_s = activations(student, data, [node.inputs[0]])[node.inputs[0]]
        h_t = teacher_inputs[twin.inputs[0]]
        w_s, b_s = _weights(student, node)
        w_t, b_t = _weights(teacher, twin)
        if h_s.shape == h_t.shape and np.array_equal(h_s, h_t) and np.array_equal(w_s, w_t) and np.array_equal(b_s, b_t):
            continue
        h_s, h_t = _rows(node, h_s, w_s.shape[0]), _rows(twin, h_t, w_t.shape[0])
        target = h_t @ w_t + b_t
        error_before = _rms(h_s @ w_s + b_s - target)
        mask = (w_s != 0) if (w_s == 0).any() else None
        w_fit, b_fit = _ridge(h_s, target, mask)
        layer_w = _dense_to_layer(node, w_fit, student.constants[node.inputs[1]])
        _store(student, node, layer_w.astype(np.float32), b_fit.astype(np.float32))
        layers.append({"layer": node.name or node.outputs[0], "samples": int(h_s.shape[0]),
                       "rms_error_before": error_before, "rms_error_after": _rms(h_s @ w_fit + b_fit - target),
                       "kept_zeros": mask is not None})
    if not layers:
        raise CompressionError("--distill found no compressed dense layer or convolution to refit (distill "
                               "follows structured, prune or lowrank, e.g. fp32+structured+distill)")
    after = _agreement(student, teacher, data)
    return student, {"pass": "distillation", "samples": int(len(next(iter(data.values())))), "layers": layers,
                     "before": before, "after": after}


def _weights(graph: Graph, node) -> tuple[np.ndarray, np.ndarray]:
    """The layer as a dense [inputs, outputs] matrix and bias (a convolution's inputs are its
    window: taps, then channels, in the order `_rows` lays them out)."""
    w = graph.constants[node.inputs[1]].astype(np.float64)
    if node.op == "Conv":  # [M, C, *kernel] -> [*kernel, C, M] -> [taps * C, M]
        w = np.moveaxis(w, (0, 1), (-1, -2)).reshape(-1, w.shape[0])
    b = graph.constants[node.inputs[2]].astype(np.float64) if len(node.inputs) > 2 else np.zeros(w.shape[1])
    return w, b


def _dense_to_layer(node, w: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Inverse of `_weights`' layout change."""
    if node.op != "Conv":
        return w
    return np.moveaxis(w.reshape(*like.shape[2:], like.shape[1], like.shape[0]), (-1, -2), (0, 1))


def _rows(node, h: np.ndarray, inputs: int) -> np.ndarray:
    """The layer's input as samples of a dense layer: a Gemm's rows, or for a convolution the
    window of MAX_CONV_ROWS seeded random output pixels (the same pixels for student and teacher)."""
    if node.op != "Conv":
        return h.reshape(-1, inputs).astype(np.float64)
    window = node.attrs["window"]
    spatial = len(window.kernel)
    padded = np.pad(h, [(0, 0)] + [(max(b, 0), max(e, 0)) for b, e in zip(window.pads_begin, window.pads_end)]
                    + [(0, 0)])
    pixels = (h.shape[0],) + window.out_spatial
    total = int(np.prod(pixels))
    rng = np.random.default_rng(PIXEL_SEED)
    chosen = rng.choice(total, MAX_CONV_ROWS, replace=False) if total > MAX_CONV_ROWS else np.arange(total)
    index = np.unravel_index(np.sort(chosen), pixels)
    taps = []
    for tap in np.ndindex(*window.kernel):
        at = [index[0]] + [index[1 + d] * window.strides[d] + tap[d] * window.dilations[d]
                           + max(window.pads_begin[d], 0) - window.pads_begin[d] for d in range(spatial)]
        taps.append(padded[tuple(at)])
    return np.concatenate(taps, axis=1).astype(np.float64)


def _ridge(h: np.ndarray, target: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Least squares with a bias column and a small ridge; with a mask, column by column on its support."""
    design = np.hstack([h, np.ones((h.shape[0], 1))])
    gram = design.T @ design
    penalty = RIDGE * max(float(np.mean(np.diag(gram)[:-1])), 1e-12) * np.eye(gram.shape[0])
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    rhs = design.T @ target
    k = h.shape[1]
    if mask is None:
        solution = np.linalg.solve(gram + penalty, rhs)
        return solution[:k], solution[k]
    w = np.zeros((k, target.shape[1]))
    b = np.zeros(target.shape[1])
    for j in range(target.shape[1]):
        rows = np.append(np.flatnonzero(mask[:, j]), k)
        solution = np.linalg.solve((gram + penalty)[np.ix_(rows, rows)], rhs[rows, j])
        w[rows[:-1], j] = solution[:-1]
        b[j] = solution[-1]
    return w, b


def _store(graph: Graph, node, w: np.ndarray, b: np.ndarray) -> None:
    for index, value, suffix in ((1, w, "distilled"), (2, b, "distilled_bias")):
        name = graph.fresh_name(f"{node.outputs[0]}__{suffix}")
        graph.constants[name] = value
        if index < len(node.inputs):
            node.inputs[index] = name
        else:
            node.inputs.append(name)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def _agreement(student: Graph, teacher: Graph, data: dict[str, np.ndarray]) -> dict:
    """Top-1 agreement and error of the student's first output against the teacher's."""
    name = teacher.outputs[0].name
    ours = activations(student, data, [name])[name]
    theirs = activations(teacher, data, [name])[name]
    samples = len(next(iter(data.values())))
    return {"top1_agreement": float((ours.reshape(samples, -1).argmax(1) == theirs.reshape(samples, -1).argmax(1)).mean()),
            "max_abs_error": float(np.abs(ours - theirs).max()), "rms_error": _rms(ours - theirs)}
