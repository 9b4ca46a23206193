"""Fusion: fold a bias Add, a column scale (Mul) and a following clamp (Relu/Clip) into the Gemm; and a float32
self-gate, x * Sigmoid(x) (SiLU) or x * HardSigmoid(x) with HardSwish's constants, into one unary.

Fusing saves a pass over memory per op; the arithmetic stays the same (the bias is added first
in the kernel, which ONNX's graph would have added last: within the fp32 contract, not bitwise).
The gates are bitwise the same: Swish(alpha=1) and HardSwish compute x * gate(x) with the gate's
own instructions (wasm-kernels/f32_vunary.wat).
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, Node


def fuse(graph: Graph) -> tuple[Graph, dict]:
    """Return the fused graph and a report listing each fusion applied."""
    fused: list[str] = []
    changed = True
    while changed:
        changed = False
        readers = readers_by_tensor(graph)  # valid for this sweep: it ends at the first rewrite
        for node in graph.nodes:
            if node.op != "Gemm":
                continue
            follower = _sole_consumer(graph, node.outputs[0], readers)
            if follower is None:
                continue
            if follower.op == "Add" and _fuse_bias(graph, node, follower):
                fused.append(f"{node.name or 'Gemm'} + Add (bias)")
            elif follower.op == "Clamp" and _fuse_clamp(node, follower):
                fused.append(f"{node.name or 'Gemm'} + {'Relu' if follower.attrs['min'] == 0 else 'Clip'}")
            elif follower.op == "Mul" and _fold_column_scale(graph, node, follower):
                fused.append(f"{node.name or 'Gemm'} + Mul (column scale)")
            else:
                continue
            _bypass(graph, node, follower)
            changed = True
            break
    return graph, {"fusions": fused}


def readers_by_tensor(graph: Graph) -> dict[str, list[Node]]:
    """graph.consumers of every tensor at once, in node order (one pass instead of one per tensor:
    a graph of thousands of Gemms, an unrolled recurrence, stays linear per sweep)."""
    readers: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for name in dict.fromkeys(node.inputs):
            readers.setdefault(name, []).append(node)
    return readers


def _sole_consumer(graph: Graph, name: str, readers: dict[str, list[Node]] | None = None) -> Node | None:
    users = graph.consumers(name) if readers is None else readers.get(name, [])
    if len(users) != 1 or graph.is_graph_output(name):
        return None
    return users[0]


def _fuse_bias(graph: Graph, gemm: Node, add: Node) -> bool:
    """Fold `Gemm -> Add(const row of N)` when the Gemm has no clamp yet (order matters)."""
    if gemm.attrs["min"] != -np.inf or gemm.attrs["max"] != np.inf:
        return False
    other = add.inputs[1] if add.inputs[0] == gemm.outputs[0] else add.inputs[0]
    n = graph.info(gemm.outputs[0]).shape[-1]
    if not graph.is_constant(other) or graph.info(add.outputs[0]).shape != graph.info(gemm.outputs[0]).shape:
        return False  # the Add broadcasts the Gemm output to a larger shape
    const = graph.constants[other]
    if const.size not in (1, n) or (const.size == n and const.shape[-1] != n):
        return False  # a column or other non-row broadcast
    row = np.broadcast_to(graph.constants[other].reshape(-1), (n,)).astype(np.float32)
    if len(gemm.inputs) == 3:
        row = graph.constants[gemm.inputs[2]] + row
        gemm.inputs = gemm.inputs[:2]
    bias_name = f"{gemm.outputs[0]}__bias"
    graph.constants[bias_name] = row
    gemm.inputs.append(bias_name)
    return True


def _fold_column_scale(graph: Graph, gemm: Node, mul: Node) -> bool:
    """Fold `Gemm -> Mul(const row of N)` (ConvNeXt's layer scale) into the weights and bias:
    x @ (w * s) + b * s, one rounding per weight instead of a pass over the output (within the fp32
    contract, not bitwise). Not after a clamp (scaling does not commute with it)."""
    if gemm.attrs["min"] != -np.inf or gemm.attrs["max"] != np.inf or not graph.is_constant(gemm.inputs[1]):
        return False
    other = mul.inputs[1] if mul.inputs[0] == gemm.outputs[0] else mul.inputs[0]
    n = graph.info(gemm.outputs[0]).shape[-1]
    if other == gemm.outputs[0] or not graph.is_constant(other) \
            or graph.info(mul.outputs[0]).shape != graph.info(gemm.outputs[0]).shape:
        return False
    const = graph.constants[other]
    if const.dtype != np.float32 or const.size not in (1, n) or (const.size == n and const.shape[-1] != n):
        return False
    scale = np.broadcast_to(const.reshape(-1), (n,)).astype(np.float32)
    weights = graph.fresh_name(f"{gemm.inputs[1]}__scaled")
    graph.constants[weights] = (graph.constants[gemm.inputs[1]] * scale).astype(np.float32)
    gemm.inputs[1] = weights
    if len(gemm.inputs) == 3:
        bias = graph.fresh_name(f"{gemm.outputs[0]}__scaled_bias")
        graph.constants[bias] = (graph.constants[gemm.inputs[2]] * scale).astype(np.float32)
        gemm.inputs[2] = bias
    return True


def compose_clamps(first: tuple[float, float], then: tuple[float, float]) -> tuple[float, float] | None:
    """One clamp [lo, hi] equal to clamping to `first` and then to `then`, or None when the ranges
    do not overlap or a bound is NaN (a kernel epilogue's clamp, f32_clamp.wat, takes numbers).
    Signed zeros compose as wasm's max and min order them: max(-0, +0) = +0, min(+0, -0) = -0."""
    bounds = (first[0], then[0], first[1], then[1])
    if any(math.isnan(b) for b in bounds):
        return None
    lo, hi = max(bounds[:2]), min(bounds[2:])
    if lo == 0:
        lo = 0.0 if any(b == 0 and math.copysign(1, b) > 0 for b in bounds[:2]) else -0.0
    if hi == 0:
        hi = -0.0 if any(b == 0 and math.copysign(1, b) < 0 for b in bounds[2:]) else 0.0
    return None if lo > hi else (lo, hi)


def _fuse_clamp(gemm: Node, clamp: Node) -> bool:
    composed = compose_clamps((gemm.attrs["min"], gemm.attrs["max"]), (clamp.attrs["min"], clamp.attrs["max"]))
    if composed is None:
        return False
    gemm.attrs["min"], gemm.attrs["max"] = composed
    return True


def _bypass(graph: Graph, producer: Node, follower: Node) -> None:
    """The producer now writes the follower's output; the follower disappears."""
    out = follower.outputs[0]
    del graph.tensors[producer.outputs[0]]
    producer.outputs = [out]
    graph.nodes.remove(follower)


HARDSWISH_GATE = (float(np.float32(1 / 6)), 0.5)  # HardSigmoid's (alpha, beta) in $f32x4_hswish


def fuse_gates(graph: Graph) -> tuple[Graph, list[str]]:
    """Mul(x, Sigmoid(x)) -> Swish(alpha=1) and Mul(x, HardSigmoid(x; 1/6, 0.5)) -> HardSwish, on
    float32 tensors; before compression, so that static int8 tables a whole SiLU (QLinearLookup)."""
    fused: list[str] = []
    readers = readers_by_tensor(graph)
    for gate in list(graph.nodes):
        if gate.op not in ("Sigmoid", "HardSigmoid") or gate.attrs.get("dtype", "float32") != "float32":
            continue
        x, g = gate.inputs[0], gate.outputs[0]
        if gate.op == "HardSigmoid" and (float(np.float32(gate.attrs["alpha"])), float(gate.attrs["beta"])) != HARDSWISH_GATE:
            continue
        mul = _sole_consumer(graph, g, readers)
        if mul is None or mul.op != "Mul" or sorted(mul.inputs) != sorted([x, g]) or x == g:
            continue
        if graph.info(x).dtype != "float32" or graph.info(mul.outputs[0]).shape != graph.info(x).shape:
            continue
        fused_op = "Swish" if gate.op == "Sigmoid" else "HardSwish"
        gate.op, gate.attrs = fused_op, ({"alpha": 1.0} if fused_op == "Swish" else {}) | {"dtype": "float32"}
        _bypass(graph, gate, mul)
        readers = readers_by_tensor(graph)
        fused.append(f"{gate.name or gate.op} + {mul.name or 'Mul'} ({fused_op})")
    return graph, fused

