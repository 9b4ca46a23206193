"""Pruning: make the model smaller by removing weights.

magnitude   (--prune F) zeroes the fraction F of each layer's weights with the smallest |w|. The
            graph keeps its shapes; the zeros pay off in shipped bytes, because the backend ships
            mostly-zero weights as a bitmask plus the nonzero values (backend/codecs.py).
structured  (--prune-structured F) removes the fraction F of the neurons of every dense layer that
            feeds only another dense layer: column j of the layer (and its bias) and row j of the
            next layer's weights go, so both GEMMs shrink and the model really is faster. Neurons
            are ranked by norm: |w_in,j| * |w_out,j| (the L2 norm of the weights and bias that
            make neuron j times that of the weights that read it), i.e. how much it can move the next
            layer. Distillation (passes/distill.py) then recovers what the removed neurons did.
"""

from __future__ import annotations

import numpy as np

from ..errors import CompressionError
from ..ir import Graph, Node, TensorInfo

WEIGHT_INPUT = {"Gemm": 1, "Conv": 1}  # op -> index of its (constant) weight input


def _replace_constant(graph: Graph, node: Node, index: int, value: np.ndarray, suffix: str) -> None:
    """Give the node a new constant (the old one may be shared with another node)."""
    base, name, i = f"{node.inputs[index]}__{suffix}", f"{node.inputs[index]}__{suffix}", 0
    while name in graph.constants or name in graph.tensors:
        i += 1
        name = f"{base}{i}"
    graph.constants[name] = np.ascontiguousarray(value)
    node.inputs[index] = name


def prune_magnitude(graph: Graph, fraction: float) -> tuple[Graph, dict]:
    """Zero the `fraction` smallest-magnitude weights of every Gemm and Conv (per layer)."""
    if not 0.0 <= fraction < 1.0:
        raise CompressionError(f"--prune must be a fraction in [0, 1), got {fraction}")
    layers = []
    for node in graph.nodes:
        index = WEIGHT_INPUT.get(node.op)
        if index is None or not graph.is_constant(node.inputs[index]):
            continue
        w = graph.constants[node.inputs[index]]
        count = int(fraction * w.size)
        if count == 0:
            continue
        order = np.argsort(np.abs(w).reshape(-1), kind="stable")
        pruned = w.copy().reshape(-1)
        pruned[order[:count]] = 0
        _replace_constant(graph, node, index, pruned.reshape(w.shape), "pruned")
        layers.append({"layer": node.name or node.outputs[0], "weights": int(w.size),
                       "zeros": int((pruned == 0).sum())})
    if not layers:
        raise CompressionError("--prune found no Gemm/MatMul or Conv weights to prune")
    total = sum(layer["weights"] for layer in layers)
    return graph, {"pass": "magnitude pruning", "fraction": fraction, "layers": layers,
                   "sparsity": round(sum(layer["zeros"] for layer in layers) / total, 4)}


def _dense_successor(graph: Graph, node: Node) -> Node | None:
    """The Gemm that alone reads this Gemm's output, as its activation, when there is one."""
    out = node.outputs[0]
    users = graph.consumers(out)
    if graph.is_graph_output(out) or len(users) != 1:
        return None
    user = users[0]
    if user.op != "Gemm" or user.inputs[0] != out or out in user.inputs[1:]:
        return None
    return user


def prune_structured(graph: Graph, fraction: float) -> tuple[Graph, dict]:
    """Remove the `fraction` weakest neurons of every Gemm that feeds only another Gemm."""
    if not 0.0 <= fraction < 1.0:
        raise CompressionError(f"--prune-structured must be a fraction in [0, 1), got {fraction}")
    layers = []
    for node in list(graph.nodes):
        if node.op != "Gemm":
            continue
        successor = _dense_successor(graph, node)
        if successor is None:
            continue
        w_in = graph.constants[node.inputs[1]]
        bias = graph.constants[node.inputs[2]] if len(node.inputs) > 2 else np.zeros(w_in.shape[1], np.float32)
        w_out = graph.constants[successor.inputs[1]]
        neurons = w_in.shape[1]
        keep_count = max(1, neurons - int(round(fraction * neurons)))
        if keep_count == neurons:
            continue
        strength = np.sqrt((w_in.astype(np.float64) ** 2).sum(0) + bias.astype(np.float64) ** 2) \
            * np.sqrt((w_out.astype(np.float64) ** 2).sum(1))
        keep = np.sort(np.argsort(-strength, kind="stable")[:keep_count])
        _replace_constant(graph, node, 1, w_in[:, keep], "kept")
        if len(node.inputs) > 2:
            _replace_constant(graph, node, 2, bias[keep], "kept")
        _replace_constant(graph, successor, 1, w_out[keep, :], "rewired")
        out = node.outputs[0]
        info = graph.info(out)
        graph.tensors[out] = TensorInfo(out, (*info.shape[:-1], keep_count), info.dtype)
        layers.append({"layer": node.name or out, "neurons": int(neurons), "kept": int(keep_count),
                       "rewired": successor.name or successor.outputs[0]})
    if not layers:
        raise CompressionError("--prune-structured found no dense layer feeding another dense layer "
                               "(the last layer's outputs are the model's and cannot be removed)")
    return graph, {"pass": "structured pruning", "fraction": fraction, "layers": layers}


def flush_subnormal_weights(graph: Graph) -> tuple[Graph, dict]:
    """Set float32 weights below the smallest normal float (|w| < 2^-126) to zero.

    WebAssembly cannot turn on flush-to-zero, and on x86 every multiply with a subnormal operand
    takes a microcode assist: the digits MLP (95 subnormal weights, left by weight decay on pixels
    that are always blank) runs 1.8x slower for them. Each flushed product changes by less than
    2^-126 |x|, far below float32 resolution of any sum it joins.
    """
    flushed = 0
    tiny = np.finfo(np.float32).tiny
    for name in sorted({i for node in graph.nodes for i in node.inputs if graph.is_constant(i)}):
        value = graph.constants[name]
        if value.dtype != np.float32:
            continue
        subnormal = (value != 0) & (np.abs(value) < tiny)
        if subnormal.any():
            graph.constants[name] = np.where(subnormal, np.float32(0), value)
            flushed += int(subnormal.sum())
    return graph, {"pass": "flush subnormal weights", "values": flushed}
