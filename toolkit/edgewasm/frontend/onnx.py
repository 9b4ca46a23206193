"""ONNX -> IR: read the model, fix the batch, check every op, and rewrite into canonical IR ops.

Each ONNX op is imported by its unit in `edgewasm.ops`; an op without one is unsupported, and the
error names every unsupported op type at once with the nodes that use it. Nodes whose inputs are
all constants are folded here, with onnx's reference evaluator.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from .. import dtypes
from ..errors import DynamicShapeError, Float32OnlyError, ModelFormatError, UnsupportedModelError
from ..ir import Graph, Node, TensorInfo
from ..ops import COMPUTED, FOLDERS, IMPORTERS
from . import limits
from .contrib import NOT_IN_ONNX, adopt_contrib_ops, topologically_sorted
from .quantized import fuse_quantized_patterns
from .subgraphs import all_nodes, defined_names, renamed, subgraphs

Shapes = dict[str, tuple[int, ...]]
HALF_DTYPES = {"float16", "bfloat16"}  # computed in float32 by ops that have only float32 kernels
# and the small floats too (IsNaN, IsInf of float8): every code is exactly a float32
HALF_DTYPES |= {"float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn"}


def read_model_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"cannot read ONNX model {path}: {exc.strerror or exc}") from None


def load_onnx(source: str | Path | bytes | onnx.ModelProto, base_dir: str | Path | None = None) -> onnx.ModelProto:
    """Parse an ONNX file, its bytes or a ModelProto; any decoding failure becomes a ModelFormatError.

    Tensors kept in external data files (torch.onnx's default for a model's weights) are read
    relative to the model file's directory (`base_dir` for bytes), wherever the command runs."""
    if isinstance(source, onnx.ModelProto):
        model = copy.deepcopy(source)
    else:
        if not isinstance(source, bytes):
            base_dir = Path(source).parent if base_dir is None else base_dir
        data = source if isinstance(source, bytes) else read_model_bytes(source)
        try:
            model = onnx.load_from_string(data)
        except Exception as exc:  # protobuf raises several unrelated types on bad bytes
            raise ModelFormatError(f"not a valid ONNX model ({type(exc).__name__}: {exc})") from None
    _load_external_data(model, None if base_dir is None else Path(base_dir))
    if not model.HasField("graph") or not model.graph.node:
        raise ModelFormatError("not a valid ONNX model: it has no graph nodes")
    _require_text(model.graph)
    model = topologically_sorted(model)
    try:
        onnx.checker.check_model(_checkable(model))
    except (onnx.checker.ValidationError, UnicodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFormatError(f"not a valid ONNX model: {first}") from None
    return model


def _load_external_data(model: onnx.ModelProto, base_dir: Path | None) -> None:
    """Read every tensor stored in an external file into the model, each file checked first: it
    must lie inside `base_dir`, exist, and hold the bytes the tensor needs."""
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    for tensor in _get_all_tensors(model):
        if not uses_external_data(tensor):
            continue
        info = {entry.key: entry.value for entry in tensor.external_data}
        location = info.get("location", "")
        if base_dir is None:
            raise ModelFormatError(
                f"tensor {tensor.name!r} is stored in the external file {location!r}, which bytes alone cannot "
                "reach: compile the .onnx file by its path (with that file beside it), or pass the model "
                "loaded with onnx.load(path)")
        root = base_dir.resolve()
        path = (root / location).resolve()
        if not location or not path.is_relative_to(root):
            raise ModelFormatError(f"tensor {tensor.name!r}: its external data location {location!r} is not a "
                                   f"file inside the model's directory {root}")
        try:
            size = path.stat().st_size
            offset = int(info.get("offset", 0))
            itemsize = dtypes.itemsize(dtypes.from_onnx(tensor.data_type) or "float32")
            length = int(info.get("length", math.prod(tensor.dims) * itemsize))
            if offset < 0 or length < 0 or offset + length > size:
                raise ModelFormatError(f"the external data file {path} is truncated: it has {size} bytes, tensor "
                                       f"{tensor.name!r} needs bytes {offset} to {offset + length}")
            with path.open("rb") as f:
                f.seek(offset)
                tensor.raw_data = f.read(length)
        except OSError as exc:
            raise ModelFormatError(f"cannot read the external data file {path} (tensor {tensor.name!r}): "
                                   f"{exc.strerror or exc}") from None
        except ValueError:
            raise ModelFormatError(f"tensor {tensor.name!r}: its external data offset or length is not a "
                                   "number") from None
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT


def _checkable(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnx deprecated GroupNormalization-18 (scale and bias per group; per channel from opset 21)
    and its checker refuses it by name, though onnxruntime still runs such models; it does not know
    onnxruntime's SimplifiedLayerNormalization either: the checker sees a Clip (same inputs, first
    output) in their place; ops/normalization.py and ops/skip_layer_norm.py import them."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    deprecated = [i for i, node in enumerate(model.graph.node)
                  if node.op_type == "GroupNormalization" and node.domain in ("", "ai.onnx") and 18 <= opset < 21]
    unknown = [i for i, node in enumerate(model.graph.node)  # onnxruntime's own (frontend/contrib.py)
               if node.op_type in NOT_IN_ONNX and node.domain in ("", "ai.onnx")]
    if not deprecated and not unknown:
        return model
    stand_in = onnx.ModelProto()
    stand_in.CopyFrom(model)
    for i in deprecated + unknown:
        node = stand_in.graph.node[i]
        node.op_type = "Clip"
        del node.attribute[:]
        del node.output[1:]
    return stand_in


def _require_text(g: onnx.GraphProto) -> None:
    """protobuf hands back invalid UTF-8 in string fields as bytes; refuse such models up front."""
    names = [g.name] + [v.name for v in (*g.input, *g.output, *g.initializer)]
    for node in g.node:
        names += [node.name, node.op_type, node.domain, *node.input, *node.output]
    if any(not isinstance(name, str) for name in names):
        raise ModelFormatError("not a valid ONNX model: a name is not valid UTF-8")


def import_onnx(source: str | Path | bytes | onnx.ModelProto, batch: int = 1, shapes: Shapes | None = None,
                max_bytes: int = limits.DEFAULT_MAX_BYTES) -> Graph:
    """ONNX model -> IR graph with every shape static.

    shapes: {input name: full shape} fixes any of an input's dimensions; a symbolic first dimension
    that no entry fixes becomes `batch`; any other symbolic dimension is a DynamicShapeError.
    """
    model = source if isinstance(source, onnx.ModelProto) else load_onnx(source)
    if batch < 1:
        raise UnsupportedModelError(f"batch must be >= 1, got {batch}")
    shapes = {name: tuple(int(d) for d in shape) for name, shape in (shapes or {}).items()}
    inputs = {vi.name for vi in model.graph.input} - {init.name for init in model.graph.initializer}
    unknown = sorted(set(shapes) - inputs)
    if unknown:
        raise UnsupportedModelError(f"--shape names {', '.join(map(repr, unknown))}, which the model does not "
                                    f"take as input{'s' if len(unknown) > 1 else ''}; its inputs: "
                                    f"{', '.join(sorted(inputs)) or 'none'}")
    return _Importer(fuse_quantized_patterns(adopt_contrib_ops(model)), batch, shapes, max_bytes).run()


class _Importer:
    def __init__(self, model: onnx.ModelProto, batch: int, shapes: Shapes | None = None,
                 max_bytes: int = limits.DEFAULT_MAX_BYTES):
        self.model = model
        self.batch = batch
        self.shapes = shapes or {}
        self.max_bytes = max_bytes
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
        self.import_nodes(g.node)
        outputs = []
        for vo in g.output:
            if vo.name in self.constants:
                self._constant_output(vo.name)
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

    def import_nodes(self, nodes) -> None:
        for node in nodes:
            missing = [i for i in node.input if i and i not in self.tensors and i not in self.constants]
            if missing:
                raise ModelFormatError(f"node {node.name or node.op_type!r} reads undefined tensor(s) {missing}")
            _check_arity(node)
            if node.op_type == "CastLike" and node.input[0] in self.constants:
                node = self._cast_like_as_cast(node)  # reads only the target's dtype: folds below
            foldable = node.op_type != "Constant" and not subgraphs(node)  # subgraphs read outer names too
            if foldable and all(i in self.constants for i in node.input if i):
                if node.op_type not in COMPUTED:
                    self._fold(node)
                    continue
                node = self._computed(node)
            tensors, constants, nodes_before = len(self.tensors), len(self.constants), len(self.nodes)
            try:
                IMPORTERS[node.op_type][0](self, node, _attrs(node))
            except Float32OnlyError:
                half = {self.dtype(i) for i in node.input if i} & HALF_DTYPES
                if len(half) != 1:
                    raise
                for registry, before in ((self.tensors, tensors), (self.constants, constants)):
                    for name in list(registry)[before:]:
                        del registry[name]
                del self.nodes[nodes_before:]
                self._import_in_float32(node, half.pop())

    def _computed(self, node: onnx.NodeProto) -> onnx.NodeProto:
        """A node of an ops.COMPUTED op whose inputs are all constants: its data input X becomes an
        activation (one Elementwise copy), so the unit imports it as usual and the module computes it."""
        x = node.input[0]
        copied = self.fresh(f"{x}_computed")
        self.emit("Elementwise", [x], copied, self.constants[x].shape, node.name,
                  dtype=dtypes.of_array(self.constants[x]), kind="copy")
        computed = onnx.NodeProto()
        computed.CopyFrom(node)
        computed.input[0] = copied
        return computed

    def _cast_like_as_cast(self, node: onnx.NodeProto) -> onnx.NodeProto:
        """CastLike of a constant reads only its target's dtype: the Cast to that dtype (it folds)."""
        target = node.input[1] if len(node.input) > 1 else ""
        if target not in self.tensors and target not in self.constants:
            return node
        cast = onnx.helper.make_node("Cast", [node.input[0]], list(node.output), node.name,
                                     to=dtypes.to_onnx(self.dtype(target)))
        for a in node.attribute:
            if a.name == "saturate":
                cast.attribute.append(a)
        return cast

    def _constant_output(self, name: str) -> None:
        """A graph output known at compile time (Shape, Size, Constant, a folded subgraph): the module
        still writes it, copying a placed constant into the output (one Elementwise copy)."""
        from ..backend.elementwise import supports

        value = self.constants[name]
        dtype = dtypes.of_array(value)
        if dtype in dtypes.LOW_PRECISION:  # one byte per element: a raw copy (ops/bitcast.py)
            source = self.fresh(f"{name}_value")
            self.constants[source] = self.constants.pop(name)
            for n in self.nodes:
                n.inputs = [source if i == name else i for i in n.inputs]
            self.emit("BitCast", [source], name, value.shape, name, dtype=dtype, source=dtype)
            return
        if not supports("copy", dtype):
            raise UnsupportedModelError(f"graph output {name!r} is a constant of dtype {value.dtype}, which "
                                        "no kernel writes")
        source = self.fresh(f"{name}_value")
        self.constants[source] = self.constants.pop(name)
        for n in self.nodes:  # run-time nodes that read the constant read it under its new name
            n.inputs = [source if i == name else i for i in n.inputs]
        self.emit("Elementwise", [source], name, value.shape, name, dtype=dtype, kind="copy")

    def _import_in_float32(self, node: onnx.NodeProto, half: str) -> None:
        """An op whose kernels compute float32 only, on float16 or bfloat16 tensors: computed in
        float32 between casts, as onnxruntime's CPU provider does (its InsertCastTransformer)."""
        from ..ops.cast import emit_cast

        widened = onnx.NodeProto()
        widened.CopyFrom(node)
        for i, name in enumerate(node.input):
            if not name or self.dtype(name) != half:
                continue
            wide = self.fresh(f"{name}_float32")
            if name in self.constants:
                self.constants[wide] = self.constants[name].astype(np.float32)
            else:
                emit_cast(self, node, name, wide, "float32")
            widened.input[i] = wide
        for i, name in enumerate(node.output):
            if name:
                widened.output[i] = self.fresh(f"{name}_float32")
        IMPORTERS[node.op_type][0](self, widened, _attrs(node))
        for name, wide in zip(node.output, widened.output):
            if not name:
                continue
            if wide in self.constants:
                value = self.constants[wide]
                self.constants[name] = value.astype(dtypes.numpy_dtype(half)) if value.dtype == np.float32 else value
            elif self.dtype(wide) == "float32":
                emit_cast(self, node, wide, name, half)
            else:  # an integer output (indices): the same tensor
                self.emit("Reshape", [wide], name, self.shape(wide), node.name, dtype=self.dtype(wide))

    def inline(self, graph: onnx.GraphProto, bindings: dict[str, str], prefix: str) -> list[str]:
        """Import a subgraph (frontend/subgraphs.py) with its formal inputs bound to outer tensors or
        constants; returns the names of its outputs."""
        mapping = {name: f"{prefix}{name}" for name in defined_names(graph) if name not in bindings}
        mapping.update(bindings)
        graph = renamed(graph, mapping, prefix)
        for init in graph.initializer:
            self.constants[init.name] = self._to_array(init)
        self.import_nodes(graph.node)
        for name in (o.name for o in graph.output):
            if name not in self.tensors and name not in self.constants:
                raise ModelFormatError(f"subgraph output {name!r} is never produced")
        return [o.name for o in graph.output]

    # -- helpers -------------------------------------------------------------------------

    def _fold(self, node: onnx.NodeProto) -> None:
        """A node of constants only is evaluated now, with onnx's reference evaluator (or by its
        unit's own fold where the evaluator gets the op wrong: ops.FOLDERS)."""
        from onnx.reference import ReferenceEvaluator

        estimate = limits.fold_elements(node, self.constants, _attrs(node))
        if estimate is not None:
            limits.check(estimate * _fold_itemsize(node, self.constants),
                         f"folding {node.op_type} node {node.name!r}", self.max_bytes)
        if node.op_type in FOLDERS:
            for name, value in zip([o for o in node.output if o], FOLDERS[node.op_type](self, node, _attrs(node))):
                self.constants[name] = np.asarray(value)
            return
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
            limits.check(self.constants[name].nbytes, f"{node.op_type} node {node.name!r}'s folded output {name!r}",
                         self.max_bytes)

    def _check_supported(self, g: onnx.GraphProto) -> None:
        unsupported: dict[str, list[str]] = {}
        for i, node in enumerate(all_nodes(g.node)):
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
        """A graph input keeps its dtype at the module boundary; its shape is made static."""
        if not vi.type.HasField("tensor_type"):
            raise UnsupportedModelError(f"input {vi.name!r} is not a tensor (sequences, maps and optionals "
                                        "are not supported)")
        tt = vi.type.tensor_type
        dtype = dtypes.from_onnx(tt.elem_type)
        if dtype is None:
            raise UnsupportedModelError(f"input {vi.name!r} has dtype {dtypes.onnx_type_name(tt.elem_type)}, "
                                        "which no kernel reads (string and complex tensors are not supported)")
        info = TensorInfo(vi.name, self._input_shape(vi), dtype)
        limits.check(info.nbytes, f"input {vi.name!r} {list(info.shape)}", self.max_bytes)
        return info

    def _input_shape(self, vi: onnx.ValueInfoProto) -> tuple[int, ...]:
        tt = vi.type.tensor_type
        given = self.shapes.get(vi.name)
        flag = f"--shape {vi.name}=d0,d1,..."
        if not tt.HasField("shape"):
            if given is None:
                raise DynamicShapeError(f"input {vi.name!r} has no shape; fix it with {flag}")
            return given
        dims = list(tt.shape.dim)
        if given is not None:
            if len(given) != len(dims):
                raise DynamicShapeError(f"--shape {vi.name}={','.join(map(str, given))} has {len(given)} "
                                        f"dimensions; input {vi.name!r} has {len(dims)}")
            for axis, (dim, size) in enumerate(zip(dims, given)):
                if size < 0 or dim.HasField("dim_value") and dim.dim_value >= 0 and dim.dim_value != size:
                    raise DynamicShapeError(f"--shape {vi.name}: axis {axis} of input {vi.name!r} is "
                                            f"{dim.dim_value if dim.HasField('dim_value') else 'symbolic'}, "
                                            f"not {size}")
            return given
        shape = []
        for axis, dim in enumerate(dims):
            if dim.HasField("dim_value") and dim.dim_value >= 0:
                shape.append(dim.dim_value)  # 0: an empty input, zero bytes at the boundary
            elif axis == 0:
                shape.append(self.batch)
            else:
                label = dim.dim_param or "?"
                template = ",".join(str(d.dim_value) if d.HasField("dim_value") and d.dim_value >= 0
                                    else str(self.batch) if i == 0 else "?" for i, d in enumerate(dims))
                raise DynamicShapeError(f"input {vi.name!r} has a symbolic dimension {label!r} at axis {axis}; "
                                        f"fix it with --shape {vi.name}={template} (each ? a size; --batch fixes "
                                        "only axis 0)")
        return tuple(shape)

    def shape(self, name: str) -> tuple[int, ...]:
        if name in self.constants:
            return tuple(self.constants[name].shape)
        return self.tensors[name].shape

    def dtype(self, name: str) -> str:
        if name in self.constants:
            return dtypes.of_array(self.constants[name])
        return self.tensors[name].dtype

    def const(self, name: str, node: onnx.NodeProto, what: str) -> np.ndarray:
        if name not in self.constants:
            raise UnsupportedModelError(
                f"{node.op_type} node {node.name!r}: {what} must be a constant (initializer)"
            )
        return self.constants[name]

    def fresh(self, base: str) -> str:
        self._fresh += 1
        return f"{base}__{self._fresh}"

    def emit(self, op: str, inputs: list[str], output: str, shape: tuple[int, ...], name: str,
             dtype: str = "float32", **attrs) -> None:
        if output in self.tensors or output in self.constants:
            raise ModelFormatError(f"tensor {output!r} is produced twice")
        info = TensorInfo(output, tuple(int(d) for d in shape), dtype)
        limits.check(info.nbytes, f"{op} node {name!r}'s output {output!r} {list(info.shape)}", self.max_bytes)
        self.tensors[output] = info
        self.nodes.append(Node(op, inputs, [output], attrs, name))

    def add_constant(self, base: str, value: np.ndarray) -> str:
        name = self.fresh(base)
        self.constants[name] = np.ascontiguousarray(value, dtype=np.float32)
        return name

    def require_float(self, node: onnx.NodeProto, name: str) -> None:
        """Ops with float32-only kernels refuse other dtypes by name (the dtype-generic ops do not call this)."""
        dtype = self.dtype(name)
        if dtype != "float32":
            raise Float32OnlyError(f"{node.op_type} node {node.name!r}: input {name!r} has dtype {dtype}; "
                                   f"{node.op_type} is computed in float32 only")


OPTIONAL_FIRST_OUTPUT = {"LSTM", "GRU", "RNN"}  # Y may be left out when only the final states are read


def _check_arity(node: onnx.NodeProto) -> None:
    _, low, high = IMPORTERS[node.op_type]
    given = len(node.input)
    first = node.output[0] if node.output else ""
    if not low <= given <= high or not any(node.output) or not (first or node.op_type in OPTIONAL_FIRST_OUTPUT):
        raise ModelFormatError(f"{node.op_type} node {node.name!r} has {given} inputs and {len(node.output)} "
                               f"outputs; it takes {low} to {high} inputs and at least one output")
    if any(not name for name in node.input[:low]):
        raise ModelFormatError(f"{node.op_type} node {node.name!r} leaves a required input empty")


def _fold_itemsize(node: onnx.NodeProto, constants: dict) -> int:
    """Bytes per element of what folding `node` makes: ConstantOfShape's value, else its first input's."""
    if node.op_type == "ConstantOfShape":
        value = _attrs(node).get("value")
        return numpy_helper.to_array(value).itemsize if value is not None else 4
    first = constants.get(node.input[0]) if node.input and node.input[0] else None
    return first.itemsize if first is not None else 8


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
