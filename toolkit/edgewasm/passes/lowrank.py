"""Low-rank factorization: W [K, N] ~ A [K, r] @ B [r, N] by truncated SVD, when that lowers FLOPs.

One Gemm x @ W + b becomes two, (x @ A) @ B + b, with A = U_r sqrt(S_r) and B = sqrt(S_r) V_r^T
(the singular values split evenly, so both factors have similar ranges, which int8 quantization
after this pass likes). A layer is factorized only if r (K + N) < K N, i.e. the two thin GEMMs
do fewer multiply-adds than the one they replace. The rank comes from `--low-rank R`:
  R in (0, 1]   a rank ratio: r = ceil(R * min(K, N))
  energy:E      the smallest r whose singular values keep a fraction E of sum(S^2)
Any fused clamp and the bias stay on the second factor; the intermediate has no activation.
A 1x1 convolution (group 1) is a Gemm over pixels and is factorized the same way into two 1x1
convolutions: the first keeps the window (strides, pads), the second is pointwise.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import CompressionError
from ..ir import Graph, Node, TensorInfo
from ..window import Window


def parse_rank(text: str | float) -> tuple[str, float]:
    """('ratio', R) or ('energy', E); a CompressionError for anything else."""
    spec = str(text).strip()
    kind, _, number = spec.rpartition(":") if ":" in spec else ("ratio", "", spec)
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if kind not in ("ratio", "energy") or not 0.0 < value <= 1.0:
        raise CompressionError(f"--low-rank expects a rank ratio in (0, 1] or energy:E with E in (0, 1], got {text!r}")
    return kind, value


def choose_rank(singular: np.ndarray, spec: tuple[str, float]) -> int:
    kind, value = spec
    if kind == "ratio":
        return max(1, math.ceil(value * singular.size))
    energy = np.cumsum(singular.astype(np.float64) ** 2)
    return int(min(singular.size, np.searchsorted(energy, value * energy[-1] * (1 - 1e-12)) + 1))


def _dense_weight(graph: Graph, node: Node) -> np.ndarray | None:
    """The layer's weight as [inputs, outputs], or None when it is not a factorizable layer."""
    if node.op == "Gemm":
        return graph.constants[node.inputs[1]].astype(np.float64)
    if node.op == "Conv" and node.attrs["group"] == 1 and all(k == 1 for k in node.attrs["window"].kernel):
        w = graph.constants[node.inputs[1]]
        return w.reshape(w.shape[0], w.shape[1]).T.astype(np.float64)
    return None


def _as_layer(node: Node, dense: np.ndarray) -> np.ndarray:
    """A factor [inputs, outputs] in the node's weight layout."""
    if node.op == "Gemm":
        return dense.astype(np.float32)
    return np.ascontiguousarray(dense.T.reshape(dense.shape[1], dense.shape[0], *node.attrs["window"].kernel),
                                dtype=np.float32)


def _split(node: Node, x_shape: tuple[int, ...]) -> tuple[dict, dict, tuple[int, ...]]:
    """Attributes of the two factors, and the intermediate's shape without its last axis."""
    linear = {"min": -math.inf, "max": math.inf}
    if node.op == "Gemm":
        return linear, dict(node.attrs), x_shape[:-1]
    window = node.attrs["window"]
    ones, zeros = (1,) * len(window.kernel), (0,) * len(window.kernel)
    pointwise = Window(window.out_spatial, window.out_spatial, ones, ones, ones, zeros, zeros)
    first = {**node.attrs, **linear}
    return first, {**node.attrs, "window": pointwise}, (x_shape[0], *window.out_spatial)


def factorize(graph: Graph, rank: str | float) -> tuple[Graph, dict]:
    spec = parse_rank(rank)
    layers, nodes = [], []
    for node in graph.nodes:
        w = _dense_weight(graph, node)
        if w is None:
            nodes.append(node)
            continue
        k, n = w.shape
        u, s, vt = np.linalg.svd(w, full_matrices=False)
        r = choose_rank(s, spec)
        if r * (k + n) >= k * n:
            nodes.append(node)
            layers.append({"layer": node.name or node.outputs[0], "k": k, "n": n, "rank": r, "factorized": False})
            continue
        root = np.sqrt(s[:r])
        a_name = graph.fresh_name(f"{node.inputs[1]}__lowrank_a")
        graph.constants[a_name] = _as_layer(node, u[:, :r] * root)
        b_name = graph.fresh_name(f"{node.inputs[1]}__lowrank_b")
        graph.constants[b_name] = _as_layer(node, root[:, None] * vt[:r])
        x = node.inputs[0]
        first, second, middle_shape = _split(node, graph.info(x).shape)
        middle = graph.fresh_name(f"{node.outputs[0]}__rank{r}")
        graph.tensors[middle] = TensorInfo(middle, (*middle_shape, r))
        nodes.append(Node(node.op, [x, a_name], [middle], first, f"{node.name} (rank {r} a)"))
        nodes.append(Node(node.op, [middle, b_name, *node.inputs[2:]], node.outputs, second,
                          f"{node.name} (rank {r} b)"))
        kept = float((s[:r] ** 2).sum() / max((s ** 2).sum(), 1e-300))
        layers.append({"layer": node.name or node.outputs[0], "k": k, "n": n, "rank": r, "factorized": True,
                       "energy_kept": round(kept, 6), "macs_before": k * n, "macs_after": r * (k + n)})
    graph.nodes = nodes
    if not layers:
        raise CompressionError("--low-rank found no Gemm/MatMul or 1x1 convolution (group 1) to factorize")
    if not any(layer["factorized"] for layer in layers):
        raise CompressionError(f"--low-rank {rank}: no layer gets fewer FLOPs at that rank "
                               f"(ranks {[layer['rank'] for layer in layers]}); use a smaller ratio or energy")
    return graph, {"pass": "low-rank", "rank": str(rank), "layers": layers}

