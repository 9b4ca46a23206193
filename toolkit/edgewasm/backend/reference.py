"""IR -> standard ONNX: the graph a variant computes, so onnxruntime can check the module.

Written after every pass, it shows what compression and fusion did (a fused Gemm becomes
Gemm + Relu again; packed weights are written in their logical [K, N] layout).
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..ir import Graph, Node

OPSET = 17
IR_VERSION = 10  # onnxruntime 1.31 refuses the IR 14 that onnx 1.23 writes by default


def export_reference(graph: Graph) -> bytes:
    ex = _Exporter(graph)
    for node in graph.nodes:
        EXPORTS[node.op](ex, node)
    g = helper.make_graph(
        ex.nodes,
        graph.name,
        [helper.make_tensor_value_info(t.name, TensorProto.FLOAT, t.shape) for t in graph.inputs],
        [helper.make_tensor_value_info(t.name, TensorProto.FLOAT, t.shape) for t in graph.outputs],
        initializer=ex.initializers,
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)],
                              ir_version=IR_VERSION, producer_name="edgewasm")
    onnx.checker.check_model(model)
    return model.SerializeToString()


class _Exporter:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set()
        self._count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        if name not in self._names:
            self._names.add(name)
            self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def graph_const(self, name: str) -> str:
        return self.const(name, self.graph.constants[name])

    def temp(self, base: str) -> str:
        self._count += 1
        return f"{base}__ref{self._count}"

    def add(self, op: str, inputs: list[str], output: str, **attrs) -> None:
        self.nodes.append(helper.make_node(op, inputs, [output], **attrs))

    def clamp(self, x: str, y: str, lo: float, hi: float) -> None:
        if lo == 0.0 and hi == math.inf:
            self.add("Relu", [x], y)
        else:
            self.add("Clip", [x, self.const(f"{y}__min", np.float32(lo)),
                              self.const(f"{y}__max", np.float32(hi))], y)


def _gemm(ex: _Exporter, node: Node) -> None:
    x, w = node.inputs[0], node.inputs[1]
    y = node.outputs[0]
    lo, hi = node.attrs["min"], node.attrs["max"]
    clamped = lo != -math.inf or hi != math.inf
    pre = ex.temp(y) if clamped else y
    inputs = [x, ex.graph_const(w)] + [ex.graph_const(b) for b in node.inputs[2:]]
    if len(ex.graph.info(x).shape) == 2:
        ex.add("Gemm", inputs, pre)
    elif len(inputs) == 3:
        mm = ex.temp(y)
        ex.add("MatMul", inputs[:2], mm)
        ex.add("Add", [mm, inputs[2]], pre)
    else:
        ex.add("MatMul", inputs, pre)
    if clamped:
        ex.clamp(pre, y, lo, hi)


def _add(ex: _Exporter, node: Node) -> None:
    a, b = (ex.graph_const(i) if ex.graph.is_constant(i) else i for i in node.inputs)
    ex.add("Add", [a, b], node.outputs[0])


def _clamp(ex: _Exporter, node: Node) -> None:
    ex.clamp(node.inputs[0], node.outputs[0], node.attrs["min"], node.attrs["max"])


def _softmax(ex: _Exporter, node: Node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = ex.graph.info(x).shape
    n = node.attrs["n"]
    if shape[-1] == n:
        ex.add("Softmax", [x], y, axis=-1)
        return
    flat, soft = ex.temp(y), ex.temp(y)
    ex.add("Reshape", [x, ex.const(f"{y}__2d", np.array([-1, n], np.int64))], flat)
    ex.add("Softmax", [flat], soft, axis=-1)
    ex.add("Reshape", [soft, ex.const(f"{y}__shape", np.array(shape, np.int64))], y)


def _reshape(ex: _Exporter, node: Node) -> None:
    shape = ex.graph.info(node.outputs[0]).shape
    ex.add("Reshape", [node.inputs[0], ex.const(f"{node.outputs[0]}__shape", np.array(shape, np.int64))],
           node.outputs[0])


def _transpose2d(ex: _Exporter, node: Node) -> None:
    ex.add("Transpose", node.inputs, node.outputs[0], perm=[1, 0])


EXPORTS = {
    "Gemm": _gemm,
    "Add": _add,
    "Clamp": _clamp,
    "Softmax": _softmax,
    "Reshape": _reshape,
    "Transpose2D": _transpose2d,
}
