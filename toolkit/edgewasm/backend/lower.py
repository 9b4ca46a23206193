"""IR -> kernel calls: pick a kernel for every node, pack its weights, record views.

The result is still symbolic (tensor names, not offsets): the planner places the tensors and
codegen turns each `Call` into a `call` instruction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import UnsupportedModelError
from ..ir import Graph, Node
from .packing import pack_f32_gemm


@dataclass(frozen=True)
class Ptr:
    """A kernel argument that is the byte offset of a tensor in linear memory."""

    tensor: str


@dataclass
class Call:
    kernel: str
    args: list  # Ptr | int (i32) | float (f32), in the kernel's parameter order
    node: str


@dataclass
class Lowered:
    calls: list[Call] = field(default_factory=list)
    views: dict[str, str] = field(default_factory=dict)  # tensor -> tensor whose bytes it shares
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # in kernel layout, float32

    @property
    def kernels(self) -> list[str]:
        return sorted({c.kernel for c in self.calls})

    def root(self, name: str) -> str:
        while name in self.views:
            name = self.views[name]
        return name


def lower(graph: Graph) -> Lowered:
    out = Lowered()
    for node in graph.nodes:
        LOWERINGS[node.op](graph, node, out)
    return out


def _operand(graph: Graph, out: Lowered, name: str) -> Ptr:
    """A pointer to a tensor; constants are copied into the weights region as they are."""
    if graph.is_constant(name) and name not in out.weights:
        out.weights[name] = np.ascontiguousarray(graph.constants[name], dtype=np.float32).reshape(-1)
    return Ptr(name)


def _lower_gemm(graph: Graph, node: Node, out: Lowered) -> None:
    x, wname = node.inputs[0], node.inputs[1]
    w = graph.constants[wname]
    bias = graph.constants[node.inputs[2]] if len(node.inputs) > 2 else None
    xshape = graph.info(x).shape
    rows, k, n = math.prod(xshape[:-1]), xshape[-1], w.shape[1]
    packed = f"{node.outputs[0]}__packed"
    out.weights[packed] = pack_f32_gemm(w.astype(np.float32), bias)
    kernel = "f32_gemm_1x8" if rows < 4 else "f32_gemm_4x8"  # a 4-row block would repeat rows
    args = [rows, n, k, Ptr(x), 4 * k, Ptr(packed), Ptr(node.outputs[0]), 4 * n,
            float(node.attrs["min"]), float(node.attrs["max"])]
    out.calls.append(Call(kernel, args, node.name))


def _lower_add(graph: Graph, node: Node, out: Lowered) -> None:
    a, b = (_operand(graph, out, name) for name in node.inputs)
    y = Ptr(node.outputs[0])
    size_a, size_b = (math.prod(graph.constants[i].shape) if graph.is_constant(i) else graph.info(i).size
                      for i in node.inputs)
    if size_a == size_b:
        out.calls.append(Call("f32_vadd", [size_a, a, b, y], node.name))
    elif size_a % size_b == 0:
        out.calls.append(Call("f32_vadd_rows", [size_a // size_b, size_b, a, b, y], node.name))
    else:
        raise UnsupportedModelError(f"Add node {node.name!r}: the second operand must broadcast as a row")


def _lower_clamp(graph: Graph, node: Node, out: Lowered) -> None:
    n = graph.info(node.outputs[0]).size
    args = [n, Ptr(node.inputs[0]), Ptr(node.outputs[0]), float(node.attrs["min"]), float(node.attrs["max"])]
    out.calls.append(Call("f32_vclamp", args, node.name))


def _lower_softmax(graph: Graph, node: Node, out: Lowered) -> None:
    size, n = graph.info(node.outputs[0]).size, node.attrs["n"]
    out.calls.append(Call("f32_softmax", [size // n, n, Ptr(node.inputs[0]), Ptr(node.outputs[0])], node.name))


def _lower_transpose2d(graph: Graph, node: Node, out: Lowered) -> None:
    rows, cols = graph.info(node.inputs[0]).shape
    out.calls.append(Call("f32_transpose", [rows, cols, Ptr(node.inputs[0]), Ptr(node.outputs[0])], node.name))


def _lower_reshape(graph: Graph, node: Node, out: Lowered) -> None:
    out.views[node.outputs[0]] = node.inputs[0]


LOWERINGS = {
    "Gemm": _lower_gemm,
    "Add": _lower_add,
    "Clamp": _lower_clamp,
    "Softmax": _lower_softmax,
    "Transpose2D": _lower_transpose2d,
    "Reshape": _lower_reshape,
}
