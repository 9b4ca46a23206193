"""Folding into convolutions: what follows or precedes a Conv that its kernel can do for free.

  - ScaleShift (inference BatchNormalization) after a Conv, ConvTranspose or Gemm: scale the
    weights of each output channel and fold the shift into the bias (in float64, rounded once);
  - Clamp (Relu, Clip/ReLU6) after a Conv or ConvTranspose: the kernel's min/max epilogue;
  - Pad with zeros of the spatial dims before a Conv: the Conv's own padding (reads the zero row).
A fold applies only when the producer's output has no other reader and is not a graph output.
Folding changes rounding (a folded BatchNormalization multiplies the weights instead of the
output), within the fp32 contract, not bitwise.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..ir import Graph, Node
from .fuse import compose_clamps, readers_by_tensor

CONVOLUTIONS = ("Conv", "ConvTranspose")


def fold_into_convolutions(graph: Graph) -> tuple[Graph, dict]:
    """Rewrite the graph in place; the report lists each fold applied."""
    folded: list[str] = []
    changed = True
    while changed:
        changed = False
        readers = readers_by_tensor(graph)  # valid for this sweep: it ends at the first fold
        for node in list(graph.nodes):
            applied = _fold_follower(graph, node, readers) or _fold_pad(graph, node, readers)
            if applied:
                folded.append(applied)
                changed = True
                break
    return graph, {"fusions": folded}


def _sole_reader(graph: Graph, name: str, index: dict[str, list[Node]] | None = None) -> Node | None:
    readers = graph.consumers(name) if index is None else index.get(name, [])
    if len(readers) != 1 or graph.is_graph_output(name):
        return None
    return readers[0]


def _unclamped(node: Node) -> bool:
    return node.attrs["min"] == -np.inf and node.attrs["max"] == np.inf


def _fold_follower(graph: Graph, node: Node, readers: dict[str, list[Node]] | None = None) -> str | None:
    if node.op not in CONVOLUTIONS + ("Gemm",):
        return None
    follower = _sole_reader(graph, node.outputs[0], readers)
    if follower is None:
        return None
    label = node.name or node.op
    if follower.op == "ScaleShift" and _unclamped(node) and _fold_scale_shift(graph, node, follower):
        _bypass(graph, node, follower)
        return f"{label} + BatchNormalization"
    if follower.op == "Clamp" and node.op in CONVOLUTIONS:
        composed = compose_clamps((node.attrs["min"], node.attrs["max"]), (follower.attrs["min"], follower.attrs["max"]))
        if composed is None:
            return None
        node.attrs["min"], node.attrs["max"] = lo, hi = composed
        _bypass(graph, node, follower)
        return f"{label} + {'Relu' if (lo, hi) == (0.0, np.inf) else 'Clip'}"
    return None


def _fold_scale_shift(graph: Graph, node: Node, scale_shift: Node) -> bool:
    """w' = w * scale (per output channel), b' = b * scale + shift."""
    scale, shift = (graph.constants[name].astype(np.float64) for name in scale_shift.inputs[1:])
    w = graph.constants[node.inputs[1]].astype(np.float64)
    if node.op == "Gemm":
        if scale.size != w.shape[1]:
            return False
        w = w * scale[None, :]
    elif node.op == "Conv":
        w = w * scale.reshape(-1, *[1] * (w.ndim - 1))
    else:  # ConvTranspose: [C, M/group, *k], output channel g * M/group + j
        group = node.attrs["group"]
        blocks = w.reshape(group, w.shape[0] // group, *w.shape[1:])
        w = (blocks * scale.reshape(group, 1, -1, *[1] * (w.ndim - 2))).reshape(w.shape)
    bias = graph.constants[node.inputs[2]].astype(np.float64) if len(node.inputs) > 2 else np.zeros(scale.size)
    node.inputs = [node.inputs[0], _constant(graph, f"{node.inputs[1]}__bn", w),
                   _constant(graph, f"{node.outputs[0]}__bn_bias", bias * scale + shift)]
    return True


def _fold_pad(graph: Graph, node: Node, readers: dict[str, list[Node]] | None = None) -> str | None:
    """Pad(zeros, spatial dims only, no cropping) -> Conv: widen the Conv's window pads."""
    if node.op != "Pad" or node.attrs["mode"] != "constant" or node.attrs["value"] != 0.0:
        return None
    conv = _sole_reader(graph, node.outputs[0], readers)
    begin, end = node.attrs["begin"], node.attrs["end"]
    if conv is None or conv.op != "Conv" or conv.inputs[0] != node.outputs[0]:
        return None
    if min(begin + end) < 0 or begin[0] or end[0] or begin[-1] or end[-1]:
        return None  # batch or channels padded (the Conv input is channels-last), or cropping
    window = conv.attrs["window"]
    conv.attrs["window"] = dataclasses.replace(
        window, in_spatial=tuple(graph.info(node.inputs[0]).shape[1:-1]),
        pads_begin=tuple(p + b for p, b in zip(window.pads_begin, begin[1:-1])),
        pads_end=tuple(p + e for p, e in zip(window.pads_end, end[1:-1])))
    conv.inputs[0] = node.inputs[0]
    graph.nodes.remove(node)
    del graph.tensors[node.outputs[0]]
    return f"Pad + {conv.name or 'Conv'}"


def _constant(graph: Graph, base: str, value: np.ndarray) -> str:
    name = graph.fresh_name(base)
    graph.constants[name] = np.ascontiguousarray(value, dtype=np.float32)
    return name


def _bypass(graph: Graph, producer: Node, follower: Node) -> None:
    """The producer now writes the follower's output; the follower disappears."""
    del graph.tensors[producer.outputs[0]]
    producer.outputs = list(follower.outputs)
    graph.nodes.remove(follower)
