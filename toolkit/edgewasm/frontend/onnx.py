"""ONNX -> IR: read the model, fix the batch, check every op, and rewrite into canonical IR ops.

Each ONNX op is imported by one small function in `IMPORTERS`; an op without one is unsupported,
and the error names every unsupported op type at once with the nodes that use it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
from onnx import numpy_helper

from ..errors import DynamicShapeError, ModelFormatError, UnsupportedModelError
from ..ir import Graph, Node, TensorInfo

INF = float("inf")


def read_model_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"cannot read ONNX model {path}: {exc.strerror or exc}") from None


def load_onnx(source: str | Path | bytes) -> onnx.ModelProto:
    """Parse ONNX bytes or a file; any decoding failure becomes a ModelFormatError."""
    data = source if isinstance(source, bytes) else read_model_bytes(source)
    try:
        model = onnx.load_from_string(data)
    except Exception as exc:  # protobuf raises several unrelated types on bad bytes
        raise ModelFormatError(f"not a valid ONNX model ({type(exc).__name__}: {exc})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelFormatError("not a valid ONNX model: it has no graph nodes")
    _require_text(model.graph)
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, UnicodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFormatError(f"not a valid ONNX model: {first}") from None
    return model


def _require_text(g: onnx.GraphProto) -> None:
    """protobuf hands back invalid UTF-8 in string fields as bytes; refuse such models up front."""
    names = [g.name] + [v.name for v in (*g.input, *g.output, *g.initializer)]
    for node in g.node:
        names += [node.name, node.op_type, node.domain, *node.input, *node.output]
    if any(not isinstance(name, str) for name in names):
        raise ModelFormatError("not a valid ONNX model: a name is not valid UTF-8")


def import_onnx(source: str | Path | bytes | onnx.ModelProto, batch: int = 1) -> Graph:
    """ONNX model -> IR graph with every shape static (symbolic first dims become `batch`)."""
    model = source if isinstance(source, onnx.ModelProto) else load_onnx(source)
    if batch < 1:
        raise UnsupportedModelError(f"batch must be >= 1, got {batch}")
    return _Importer(model, batch).run()


class _Importer:
    def __init__(self, model: onnx.ModelProto, batch: int):
        self.model = model
        self.batch = batch
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        self.constants: dict[str, np.ndarray] = {}
        self.tensors: dict[str, TensorInfo] = {}
        self.nodes: list[Node] = []
        self._fresh = 0

    def run(self) -> Graph:
        g = self.model.graph
        self._check_supported(g)
        for init in g.initializer:
            self.constants[init.name] = self._to_array(init)
        inputs = [self._graph_input(vi) for vi in g.input if vi.name not in self.constants]
        for info in inputs:
            self.tensors[info.name] = info
        for node in g.node:
            missing = [i for i in node.input if i and i not in self.tensors and i not in self.constants]
            if missing:
                raise ModelFormatError(f"node {node.name or node.op_type!r} reads undefined tensor(s) {missing}")
            _check_arity(node)
            if all(i in self.constants for i in node.input if i) and node.op_type != "Constant":
                self._fold(node)
                continue
            IMPORTERS[node.op_type](self, node, _attrs(node))
        outputs = []
        for vo in g.output:
            if vo.name in self.constants:
                raise UnsupportedModelError(f"graph output {vo.name!r} is a constant; nothing to compute")
            if vo.name not in self.tensors:
                raise ModelFormatError(f"graph output {vo.name!r} is never produced")
            outputs.append(self.tensors[vo.name])
        return Graph(
            name=g.name or "model",
            inputs=inputs,
            outputs=outputs,
            nodes=self.nodes,
            constants=self.constants,
            tensors=self.tensors,
        )

    # -- helpers -------------------------------------------------------------------------

    def _fold(self, node: onnx.NodeProto) -> None:
        """A node of constants only is evaluated now, with onnx's reference evaluator."""
        from onnx.reference import ReferenceEvaluator

        inputs = [i for i in node.input if i]
        graph = onnx.helper.make_graph(
            [node], "fold",
            [onnx.helper.make_tensor_value_info(i, onnx.helper.np_dtype_to_tensor_dtype(self.constants[i].dtype), None)
             for i in inputs],
            [onnx.helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in node.output if o])
        model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", self.opset)], ir_version=10)
        try:
            values = ReferenceEvaluator(model).run(None, {i: self.constants[i] for i in inputs})
        except Exception as exc:  # the evaluator raises many types for a malformed node
            raise ModelFormatError(f"cannot fold constant {node.op_type} node {node.name!r}: {exc}") from None
        for name, value in zip([o for o in node.output if o], values):
            self.constants[name] = np.asarray(value)

    def _check_supported(self, g: onnx.GraphProto) -> None:
        unsupported: dict[str, list[str]] = {}
        for i, node in enumerate(g.node):
            if node.domain not in ("", "ai.onnx") or node.op_type not in IMPORTERS:
                op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
                unsupported.setdefault(op, []).append(node.name or f"#{i}")
        if unsupported:
            parts = [f"{op} (nodes: {', '.join(names)})" for op, names in sorted(unsupported.items())]
            raise UnsupportedModelError("unsupported ONNX operator(s): " + "; ".join(parts))

    def _to_array(self, tensor: onnx.TensorProto) -> np.ndarray:
        try:
            return numpy_helper.to_array(tensor)
        except Exception as exc:
            raise ModelFormatError(f"cannot decode tensor {tensor.name!r}: {exc}") from None

    def _graph_input(self, vi: onnx.ValueInfoProto) -> TensorInfo:
        tt = vi.type.tensor_type
        if tt.elem_type != onnx.TensorProto.FLOAT:
            dtype = onnx.TensorProto.DataType.Name(tt.elem_type) if tt.elem_type in onnx.TensorProto.DataType.values() else tt.elem_type
            raise UnsupportedModelError(f"input {vi.name!r} has dtype {dtype}; only FLOAT inputs are supported")
        if not tt.HasField("shape"):
            raise DynamicShapeError(f"input {vi.name!r} has no shape")
        shape = []
        for axis, dim in enumerate(tt.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                shape.append(dim.dim_value)
            elif axis == 0:
                shape.append(self.batch)
            else:
                label = dim.dim_param or "?"
                raise DynamicShapeError(
                    f"input {vi.name!r} has a dynamic dimension {label!r} at axis {axis}; "
                    "only the first (batch) dimension can be fixed, with --batch"
                )
        return TensorInfo(vi.name, tuple(shape))

    def shape(self, name: str) -> tuple[int, ...]:
        if name in self.constants:
            return tuple(self.constants[name].shape)
        return self.tensors[name].shape

    def const(self, name: str, node: onnx.NodeProto, what: str) -> np.ndarray:
        if name not in self.constants:
            raise UnsupportedModelError(
                f"{node.op_type} node {node.name!r}: {what} must be a constant (initializer)"
            )
        return self.constants[name]

    def fresh(self, base: str) -> str:
        self._fresh += 1
        return f"{base}__{self._fresh}"

    def emit(self, op: str, inputs: list[str], output: str, shape: tuple[int, ...], name: str, **attrs) -> None:
        if output in self.tensors or output in self.constants:
            raise ModelFormatError(f"tensor {output!r} is produced twice")
        self.tensors[output] = TensorInfo(output, tuple(int(d) for d in shape))
        self.nodes.append(Node(op, inputs, [output], attrs, name))

    def add_constant(self, base: str, value: np.ndarray) -> str:
        name = self.fresh(base)
        self.constants[name] = np.ascontiguousarray(value, dtype=np.float32)
        return name

    def require_float(self, node: onnx.NodeProto, name: str) -> None:
        if name in self.constants and self.constants[name].dtype != np.float32:
            raise UnsupportedModelError(
                f"{node.op_type} node {node.name!r}: input {name!r} has dtype "
                f"{self.constants[name].dtype}; only float32 is supported"
            )


def _check_arity(node: onnx.NodeProto) -> None:
    low, high = ARITY[node.op_type]
    given = len(node.input)
    if not low <= given <= high or not node.output or not node.output[0]:
        raise ModelFormatError(f"{node.op_type} node {node.name!r} has {given} inputs and {len(node.output)} "
                               f"outputs; it takes {low} to {high} inputs and at least one output")
    if any(not name for name in node.input[:low]):
        raise ModelFormatError(f"{node.op_type} node {node.name!r} leaves a required input empty")


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


# -- one importer per ONNX op ---------------------------------------------------------------


def _import_gemm(im: _Importer, node: onnx.NodeProto, at: dict) -> None:
    a, b = node.input[0], node.input[1]
    c = node.input[2] if len(node.input) > 2 and node.input[2] else None
    for name in (a, b, c):
        if name:
            im.require_float(node, name)
    if len(im.shape(a)) != 2 or len(im.shape(b)) != 2:
        raise UnsupportedModelError(f"Gemm node {node.name!r}: A and B must be 2-D")
    w = im.const(b, node, "B (the weights)").astype(np.float32)
    if at.get("transB", 0):
        w = w.T
    alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
    if alpha != 1.0:
        w = w * np.float32(alpha)
    x = a
    if at.get("transA", 0):
        if a in im.constants:
            raise UnsupportedModelError(f"Gemm node {node.name!r}: a constant A is not supported")
        rows, cols = im.shape(a)
        x = im.fresh(f"{a}_T")
        im.emit("Transpose2D", [a], x, (cols, rows), node.name)
    m, k = im.shape(x)
    if w.shape[0] != k:
        raise ModelFormatError(f"Gemm node {node.name!r}: inner dimensions differ ({k} vs {w.shape[0]})")
    n = w.shape[1]
    out = node.output[0]
    bias, extra = None, None
    if c is not None:
        cval = im.const(c, node, "C (the bias)").astype(np.float32) * np.float32(beta)
        if cval.size == 1 or (cval.ndim >= 1 and cval.shape[-1] == n and cval.size == n):
            bias = np.broadcast_to(cval.reshape(-1), (n,)).astype(np.float32)
        else:
            try:
                extra = np.ascontiguousarray(np.broadcast_to(cval, (m, n)), dtype=np.float32)
            except ValueError:
                raise ModelFormatError(f"Gemm node {node.name!r}: C of shape {cval.shape} does not broadcast to {(m, n)}") from None
    wname = im.add_constant(f"{b}_w", w)
    inputs = [x, wname] + ([im.add_constant(f"{b}_bias", bias)] if bias is not None else [])
    gemm_out = im.fresh(out) if extra is not None else out
    im.emit("Gemm", inputs, gemm_out, (m, n), node.name, min=-INF, max=INF)
    if extra is not None:
        im.emit("Add", [gemm_out, im.add_constant(f"{c}_full", extra)], out, (m, n), node.name)


def _import_matmul(im: _Importer, node: onnx.NodeProto, at: dict) -> None:
    a, b = node.input
    im.require_float(node, a)
    im.require_float(node, b)
    w = im.const(b, node, "the right operand (weights)")
    if w.ndim != 2:
        raise UnsupportedModelError(f"MatMul node {node.name!r}: only 2-D weights are supported")
    xs = im.shape(a)
    if a in im.constants or len(xs) < 2:
        raise UnsupportedModelError(f"MatMul node {node.name!r}: the left operand must be an activation of rank >= 2")
    if xs[-1] != w.shape[0]:
        raise ModelFormatError(f"MatMul node {node.name!r}: inner dimensions differ ({xs[-1]} vs {w.shape[0]})")
    wname = im.add_constant(f"{b}_w", w)
    im.emit("Gemm", [a, wname], node.output[0], (*xs[:-1], w.shape[1]), node.name, min=-INF, max=INF)


def _import_add(im: _Importer, node: onnx.NodeProto, at: dict) -> None:
    a, b = node.input
    im.require_float(node, a)
    im.require_float(node, b)
    sa, sb = im.shape(a), im.shape(b)
    try:
        out_shape = np.broadcast_shapes(sa, sb)
    except ValueError:
        raise ModelFormatError(f"Add node {node.name!r}: shapes {sa} and {sb} do not broadcast") from None
    if a in im.constants and b in im.constants:
        raise UnsupportedModelError(f"Add node {node.name!r}: adding two constants is not supported")
    # Put the full-shaped operand first; the other must broadcast as a trailing row.
    if sa != out_shape:
        a, b, sa, sb = b, a, sb, sa
    trailing = tuple(sb[next((i for i, d in enumerate(sb) if d != 1), len(sb)):])
    if sa != out_shape or trailing != tuple(out_shape[len(out_shape) - len(trailing):]):
        raise UnsupportedModelError(
            f"Add node {node.name!r}: broadcast of {sa} with {sb} is not supported (only a trailing row)"
        )
    if b in im.constants:
        b = im.add_constant(b, im.constants[b].reshape(-1))
    im.emit("Add", [a, b], node.output[0], out_shape, node.name)


def _import_relu(im: _Importer, node: onnx.NodeProto, at: dict) -> None:
    x = node.input[0]
    im.emit("Clamp", [x], node.output[0], im.shape(x), node.name, min=0.0, max=INF)


def _import_softmax(im: _Importer, node: onnx.NodeProto, at: dict) -> None:
    x = node.input[0]
    shape = im.shape(x)
    rank = len(shape)
    axis = int(at.get("axis", -1 if im.opset >= 13 else 1))
    if not -rank <= axis < rank:
        raise ModelFormatError(f"Softmax node {node.name!r}: axis {axis} out of range for rank {rank}")
    axis %= rank
    if im.opset >= 13 and axis != rank - 1:
        raise UnsupportedModelError(f"Softmax node {node.name!r}: only the last axis is supported (axis={axis})")
    # Before opset 13 Softmax normalizes the whole flattened block from `axis` on.
    n = math.prod(shape[axis:])
    im.emit("Softmax", [x], node.output[0], shape, node.name, n=n)


def _reshape_to(im: _Importer, node: onnx.NodeProto, shape: tuple[int, ...]) -> None:
    x = node.input[0]
    if math.prod(shape) != math.prod(im.shape(x)):
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: cannot reshape {im.shape(x)} to {shape}")
    if x in im.constants:
        im.constants[node.output[0]] = im.constants[x].reshape(shape)
        return
    im.emit("Reshape", [x], node.output[0], shape, node.name)


def _import_flatten(im: _Importer, node: onnx.NodeProto, at: dict) -> None:
    shape = im.shape(node.input[0])
    axis = int(at.get("axis", 1)) % (len(shape) + 1) if shape else 0
    _reshape_to(im, node, (math.prod(shape[:axis]), math.prod(shape[axis:])))


def _import_reshape(im: _Importer, node: onnx.NodeProto, at: dict) -> None:
    target_array = im.const(node.input[1], node, "the target shape")
    if target_array.ndim != 1 or target_array.dtype.kind not in "iu":
        raise ModelFormatError(f"Reshape node {node.name!r}: the target shape must be a 1-D integer tensor")
    target = [int(d) for d in target_array]
    src = im.shape(node.input[0])
    if any(d == 0 for d in target[len(src):]) and not int(at.get("allowzero", 0)):
        raise ModelFormatError(f"Reshape node {node.name!r}: 0 in {target} copies a dimension {src} lacks")
    allowzero = int(at.get("allowzero", 0))
    shape = [src[i] if d == 0 and not allowzero else d for i, d in enumerate(target)]
    if shape.count(-1) > 1:
        raise ModelFormatError(f"Reshape node {node.name!r}: more than one -1 in {target}")
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        if known == 0 or math.prod(src) % known:
            raise ModelFormatError(f"Reshape node {node.name!r}: cannot reshape {src} to {target}")
        shape[shape.index(-1)] = math.prod(src) // known
    _reshape_to(im, node, tuple(shape))


def _import_identity(im: _Importer, node: onnx.NodeProto, at: dict) -> None:
    _reshape_to(im, node, im.shape(node.input[0]))


def _import_constant(im: _Importer, node: onnx.NodeProto, at: dict) -> None:
    if "value" not in at:
        raise UnsupportedModelError(f"Constant node {node.name!r}: only the 'value' attribute is supported")
    im.constants[node.output[0]] = numpy_helper.to_array(at["value"])


# (fewest, most) inputs of each op, per the ONNX spec.
ARITY = {"Gemm": (2, 3), "MatMul": (2, 2), "Add": (2, 2), "Relu": (1, 1), "Softmax": (1, 1), "Flatten": (1, 1),
         "Reshape": (2, 2), "Identity": (1, 1), "Dropout": (1, 3), "Constant": (0, 0)}

IMPORTERS: dict[str, Callable[[_Importer, onnx.NodeProto, dict], None]] = {
    "Gemm": _import_gemm,
    "MatMul": _import_matmul,
    "Add": _import_add,
    "Relu": _import_relu,
    "Softmax": _import_softmax,
    "Flatten": _import_flatten,
    "Reshape": _import_reshape,
    "Identity": _import_identity,
    "Dropout": _import_identity,
    "Constant": _import_constant,
}
