"""IR -> standard ONNX: the graph a variant computes, so onnxruntime can check the module.

Written after every pass, it shows what compression and fusion did (a fused Gemm becomes
Gemm + Relu again; packed weights are written in their logical [K, N] layout).
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..ir import Graph
from ..ops import IR_OPS
from ..dtypes import numpy_dtype, to_onnx

OPSET = 17
IR_VERSION = 10  # onnxruntime 1.31 refuses the IR 14 that onnx 1.23 writes by default


def export_reference(graph: Graph) -> bytes:
    ex = _Exporter(graph)
    for node in graph.nodes:
        IR_OPS[node.op].export(ex, node)
    g = helper.make_graph(
        ex.nodes,
        graph.name,
        [helper.make_tensor_value_info(t.name, to_onnx(t.dtype), t.shape) for t in graph.inputs],
        [helper.make_tensor_value_info(t.name, to_onnx(t.dtype), t.shape) for t in graph.outputs],
        initializer=ex.initializers,
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", ex.opset)],
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
        self.opset = OPSET  # raised by a Cast from a dtype newer than OPSET (ops/cast.py)
        self._branches: list[dict] = []  # If frames being written (ops/control_flow.py)

    def const(self, name: str, value: np.ndarray) -> str:
        if name not in self._names:
            self._names.add(name)
            self.initializers.append(numpy_helper.from_array(np.asarray(value, order="C"), name))  # keeps 0-d
        return name

    def graph_const(self, name: str) -> str:
        return self.const(name, self.graph.constants[name])

    def branch(self, part: str, cond: str | None, node_name: str) -> None:
        """An If with a run-time condition: the nodes between its markers become its branches."""
        if part == "if":
            self._branches.append({"cond": cond, "outer": self.nodes, "then": None, "outputs": {"then": [], "else": []},
                                   "name": node_name})
            self.nodes = []
        elif part == "else":
            self._branches[-1]["then"] = self.nodes
            self.nodes = []
        else:
            frame = self._branches.pop()
            graphs = {}
            targets = [y for _, y in frame["outputs"]["then"] or frame["outputs"]["else"]]
            for side, nodes in (("then", frame["then"]), ("else", self.nodes)):
                if not frame["outputs"][side]:  # a branch that fails at run time: zeros stand in for it here
                    for y in targets:
                        info = self.graph.info(y)
                        zeros = np.zeros(info.shape, numpy_dtype(info.dtype))
                        nodes.append(helper.make_node("Constant", [], [f"{y}__{side}"],
                                                      value=numpy_helper.from_array(zeros, f"{y}__{side}")))
                        frame["outputs"][side].append((f"{y}__{side}", y))
                outputs = [helper.make_tensor_value_info(name, to_onnx(self.graph.info(y).dtype), self.graph.info(y).shape)
                           for name, y in frame["outputs"][side]]
                graphs[side] = helper.make_graph(nodes, f"{frame['name']}_{side}", [], outputs)
            self.nodes = frame["outer"]
            self.nodes.append(helper.make_node("If", [frame["cond"]], targets,
                                               then_branch=graphs["then"], else_branch=graphs["else"]))

    def branch_output(self, x: str, y: str) -> None:
        """A branch's result `x` becomes the enclosing If's output `y`."""
        frame = self._branches[-1]
        side = "then" if frame["then"] is None else "else"
        name = f"{y}__{side}"
        self.add("Identity", [x], name)
        frame["outputs"][side].append((name, y))

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
