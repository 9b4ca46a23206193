"""Pruning: make the model smaller by removing weights.

magnitude   (--prune F) zeroes the fraction F of each layer's weights with the smallest |w|. The
            graph keeps its shapes; the zeros pay off in shipped bytes, because the backend ships
            mostly-zero weights as a bitmask plus the nonzero values (backend/codecs.py).
structured  (--prune-structured F) removes the fraction F of the neurons of every dense layer that
            feeds only another dense layer: column j of the layer (and its bias) and row j of the
            next layer's weights go, so both GEMMs shrink and the model really is faster. Neurons
            are ranked by norm: |w_in,j| * |w_out,j| (the L2 norm of the weights and bias that
            make neuron j times that of the weights that read it), i.e. how much it can move the next
            layer. Convolutions likewise: the output channels of a Conv (group 1) that feeds only
            another Conv (group 1), directly or through one depthwise Conv (MobileNet's expand ->
            depthwise -> project), go with that depthwise channel and the next Conv's input
            channel. Channels that meet a residual Add or a graph output are never removed.
            Distillation (passes/distill.py) then recovers what the removed neurons did.
"""

from __future__ import annotations

import numpy as np

from ..errors import CompressionError
from ..ir import Graph, Node, TensorInfo

WEIGHT_INPUT = {"Gemm": 1, "Conv": 1}  # op -> index of its (constant) weight input


def _replace_constant(graph: Graph, node: Node, index: int, value: np.ndarray, suffix: str) -> None:
    """Give the node a new constant (the old one may be shared with another node)."""
    name = graph.fresh_name(f"{node.inputs[index]}__{suffix}")
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


def _sole_reader(graph: Graph, tensor: str, op: str) -> Node | None:
    """The one `op` node that reads `tensor` (as its data input only), if nothing else does."""
    users = graph.consumers(tensor)
    if graph.is_graph_output(tensor) or len(users) != 1:
        return None
    user = users[0]
    if user.op != op or user.inputs[0] != tensor or tensor in user.inputs[1:]:
        return None
    return user


def _convolution_successors(graph: Graph, node: Node) -> tuple[Node | None, Node] | None:
    """(the depthwise Conv in between or None, the group-1 Conv that reads the channels) when this
    group-1 Conv's output channels flow only into that path."""
    if node.op != "Conv" or node.attrs["group"] != 1 or not graph.is_constant(node.inputs[1]):
        return None
    channels = graph.info(node.outputs[0]).shape[-1]
    user = _sole_reader(graph, node.outputs[0], "Conv")
    depthwise = None
    if user is not None and user.attrs["group"] == channels != 1:
        if graph.constants[user.inputs[1]].shape[0] != channels:
            return None  # a depth multiplier: channels fan out
        depthwise, user = user, _sole_reader(graph, user.outputs[0], "Conv")
    if user is None or user.attrs["group"] != 1 or not graph.is_constant(user.inputs[1]):
        return None
    return depthwise, user


def _bias(graph: Graph, node: Node, channels: int) -> np.ndarray:
    return graph.constants[node.inputs[2]] if len(node.inputs) > 2 else np.zeros(channels, np.float32)


def _narrow(graph: Graph, node: Node, keep: np.ndarray) -> None:
    """The node's output now has only the `keep` channels (its last axis)."""
    out = node.outputs[0]
    info = graph.info(out)
    graph.tensors[out] = TensorInfo(out, (*info.shape[:-1], len(keep)), info.dtype)


def _keep_count(units: int, fraction: float) -> int:
    return max(1, units - int(round(fraction * units)))


def _unit_norms(weights: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """The L2 norm of each unit's weights (and bias); units along the first axis."""
    squares = (weights.reshape(len(weights), -1).astype(np.float64) ** 2).sum(1)
    return np.sqrt(squares if bias is None else squares + bias.astype(np.float64) ** 2)


def _strongest(strength: np.ndarray, count: int) -> np.ndarray:
    return np.sort(np.argsort(-strength, kind="stable")[:count])


def _prune_dense(graph: Graph, node: Node, fraction: float) -> dict | None:
    successor = _sole_reader(graph, node.outputs[0], "Gemm")
    if successor is None:
        return None
    w_in = graph.constants[node.inputs[1]]
    neurons = w_in.shape[1]
    keep_count = _keep_count(neurons, fraction)
    if keep_count == neurons:
        return None
    bias = _bias(graph, node, neurons)
    w_out = graph.constants[successor.inputs[1]]
    keep = _strongest(_unit_norms(w_in.T, bias) * _unit_norms(w_out), keep_count)
    _replace_constant(graph, node, 1, w_in[:, keep], "kept")
    if len(node.inputs) > 2:
        _replace_constant(graph, node, 2, bias[keep], "kept")
    _replace_constant(graph, successor, 1, w_out[keep, :], "rewired")
    _narrow(graph, node, keep)
    return {"layer": node.name or node.outputs[0], "neurons": int(neurons), "kept": int(keep_count),
            "rewired": successor.name or successor.outputs[0]}


def _prune_convolution(graph: Graph, node: Node, fraction: float) -> dict | None:
    found = _convolution_successors(graph, node)
    if found is None:
        return None
    depthwise, reader = found
    w_in = graph.constants[node.inputs[1]]
    channels = w_in.shape[0]
    keep_count = _keep_count(channels, fraction)
    if keep_count == channels:
        return None
    w_out = graph.constants[reader.inputs[1]]
    strength = _unit_norms(w_in, _bias(graph, node, channels)) * _unit_norms(np.moveaxis(w_out, 1, 0))
    if depthwise is not None:
        strength *= _unit_norms(graph.constants[depthwise.inputs[1]], _bias(graph, depthwise, channels))
    keep = _strongest(strength, keep_count)
    for layer in (node, depthwise):
        if layer is None:
            continue
        _replace_constant(graph, layer, 1, graph.constants[layer.inputs[1]][keep], "kept")
        if len(layer.inputs) > 2:
            _replace_constant(graph, layer, 2, graph.constants[layer.inputs[2]][keep], "kept")
        _narrow(graph, layer, keep)
    if depthwise is not None:
        depthwise.attrs["group"] = keep_count
    _replace_constant(graph, reader, 1, w_out[:, keep], "rewired")
    report = {"layer": node.name or node.outputs[0], "channels": int(channels), "kept": int(keep_count),
              "rewired": reader.name or reader.outputs[0]}
    if depthwise is not None:
        report["through"] = depthwise.name or depthwise.outputs[0]
    return report


def prune_structured(graph: Graph, fraction: float) -> tuple[Graph, dict]:
    """Remove the `fraction` weakest neurons of every Gemm that feeds only another Gemm, and the
    weakest output channels of every Conv that feeds only another Conv (maybe through a depthwise one)."""
    if not 0.0 <= fraction < 1.0:
        raise CompressionError(f"--prune-structured must be a fraction in [0, 1), got {fraction}")
    prune = {"Gemm": _prune_dense, "Conv": _prune_convolution}
    layers = [report for node in list(graph.nodes) if node.op in prune
              and (report := prune[node.op](graph, node, fraction)) is not None]
    if not layers:
        raise CompressionError("--prune-structured found no dense layer feeding another dense layer and no "
                               "convolution feeding another (the last layer's outputs are the model's, and "
                               "channels that meet a residual Add cannot be removed)")
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
