"""ONNX models for the transformer and elementwise ops, built with onnx.helper (ir_version 10).

`op_model` wraps one node (or a few) with float inputs and constants; `make_encoder` builds a
transformer encoder the way PyTorch exports one (multi-head attention via Shape/Gather/Concat ->
Reshape -> Transpose, MatMul/Softmax, LayerNormalization, Gelu); `ort_run` is the oracle.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IR_VERSION = 10


def op_model(nodes: onnx.NodeProto | list[onnx.NodeProto], inputs: dict[str, tuple[int, ...]],
             outputs: list[str], constants: dict[str, np.ndarray] | None = None, opset: int = 17,
             name: str = "op") -> onnx.ModelProto:
    """A checked model of `nodes` with float32 inputs (name -> shape); output shapes are inferred."""
    nodes = [nodes] if isinstance(nodes, onnx.NodeProto) else nodes
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in (constants or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=IR_VERSION)
    inferred_graph = onnx.shape_inference.infer_shapes(model, strict_mode=True).graph
    inferred = {v.name: v for v in (*inferred_graph.value_info, *inferred_graph.output)}
    for output in model.graph.output:
        if output.name not in inferred or not inferred[output.name].type.tensor_type.HasField("shape"):
            raise ValueError(f"shape inference found no shape for output {output.name!r} (op not in opset {opset}?)")
        output.type.CopyFrom(inferred[output.name].type)
    onnx.checker.check_model(model, full_check=True)
    return model


def ort_run(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The oracle: onnxruntime (CPU, one thread) on the original model."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, inputs)))


class _Builder:
    """Collects nodes and constants with unique names."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.constants: dict[str, np.ndarray] = {}
        self._count = 0

    def name(self, base: str) -> str:
        self._count += 1
        return f"{base}_{self._count}"

    def const(self, base: str, value) -> str:
        name = self.name(base)
        self.constants[name] = np.asarray(value)
        return name

    def weight(self, base: str, shape: tuple[int, ...], scale: float) -> str:
        return self.const(base, (self.rng.standard_normal(shape) * scale).astype(np.float32))

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def _dense(b: _Builder, x: str, d_in: int, d_out: int) -> str:
    """MatMul by W [d_in, d_out] then Add the bias: PyTorch's nn.Linear on a 3-D input."""
    h = b.op("MatMul", [x, b.weight("w", (d_in, d_out), 1 / np.sqrt(d_in))])
    return b.op("Add", [h, b.weight("b", (d_out,), 0.1)])


def _dim(b: _Builder, shape: str, index: int) -> str:
    """Shape -> Gather(index) -> Unsqueeze: one dimension as a 1-D int64 tensor (folded at compile time)."""
    scalar = b.op("Gather", [shape, b.const("index", np.array(index, np.int64))], axis=0)
    return b.op("Unsqueeze", [scalar, b.const("axes", np.array([0], np.int64))])


def _split_heads(b: _Builder, x: str, heads: int, head_dim: int, perm: list[int]) -> str:
    shape = b.op("Shape", [x])
    new_shape = b.op("Concat", [_dim(b, shape, 0), _dim(b, shape, 1), b.const("heads", np.array([heads], np.int64)),
                                b.const("head_dim", np.array([head_dim], np.int64))], axis=0)
    return b.op("Transpose", [b.op("Reshape", [x, new_shape])], perm=perm)


def _attention(b: _Builder, x: str, mask_bias: str, d_model: int, heads: int) -> str:
    head_dim = d_model // heads
    q = _split_heads(b, _dense(b, x, d_model, d_model), heads, head_dim, [0, 2, 1, 3])
    k_t = _split_heads(b, _dense(b, x, d_model, d_model), heads, head_dim, [0, 2, 3, 1])
    v = _split_heads(b, _dense(b, x, d_model, d_model), heads, head_dim, [0, 2, 1, 3])
    # scale = sqrt(head_dim) from the shape, as traced code computes q.size(-1) ** 0.5
    last = b.op("Gather", [b.op("Shape", [q]), b.const("index", np.array(-1, np.int64))], axis=0)
    scale = b.op("Sqrt", [b.op("Cast", [last], to=TensorProto.FLOAT)])
    scores = b.op("Add", [b.op("Div", [b.op("MatMul", [q, k_t]), scale]), mask_bias])
    context = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), v])
    merged = b.op("Transpose", [context], perm=[0, 2, 1, 3])
    shape = b.op("Shape", [x])
    flat_shape = b.op("Concat", [_dim(b, shape, 0), _dim(b, shape, 1),
                                 b.const("d_model", np.array([d_model], np.int64))], axis=0)
    return _dense(b, b.op("Reshape", [merged, flat_shape]), d_model, d_model)


def _gelu_erf(b: _Builder, x: str) -> str:
    """x * 0.5 * (1 + erf(x / sqrt(2))): how PyTorch exports nn.GELU() before opset 20."""
    e = b.op("Erf", [b.op("Div", [x, b.const("sqrt2", np.float32(np.sqrt(2)))])])
    one_plus = b.op("Add", [e, b.const("one", np.float32(1))])
    return b.op("Mul", [b.op("Mul", [x, one_plus]), b.const("half", np.float32(0.5))])


def _layer_norm(b: _Builder, x: str, d_model: int) -> str:
    gamma = b.const("ln_scale", (1 + 0.1 * b.rng.standard_normal(d_model)).astype(np.float32))
    beta = b.const("ln_bias", (0.1 * b.rng.standard_normal(d_model)).astype(np.float32))
    return b.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=1e-5)


def make_encoder(layers: int = 2, d_model: int = 64, heads: int = 4, seq: int = 16, ff: int = 128,
                 seed: int = 0, gelu_op: bool = False) -> onnx.ModelProto:
    """A post-norm transformer encoder (nn.TransformerEncoderLayer, batch_first, GELU) as PyTorch
    exports it: x [N, seq, d_model] and an attention mask [N, seq] (1 keep, 0 pad) turned into an
    additive bias [N, 1, 1, seq]. gelu_op=True uses ONNX Gelu (opset 20) instead of the erf pattern."""
    b = _Builder(seed)
    keep = b.op("Unsqueeze", ["mask", b.const("axes", np.array([1, 2], np.int64))])
    mask_bias = b.op("Mul", [b.op("Sub", [b.const("one", np.float32(1)), keep]), b.const("neg", np.float32(-10000))])
    x = "x"
    for _ in range(layers):
        x = _layer_norm(b, b.op("Add", [x, _attention(b, x, mask_bias, d_model, heads)]), d_model)
        hidden = _dense(b, x, d_model, ff)
        hidden = b.op("Gelu", [hidden]) if gelu_op else _gelu_erf(b, hidden)
        x = _layer_norm(b, b.op("Add", [x, _dense(b, hidden, ff, d_model)]), d_model)
    b.nodes.append(helper.make_node("Identity", [x], ["y"], name="output"))
    graph = helper.make_graph(
        b.nodes, "encoder",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", seq, d_model]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", seq])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", seq, d_model])],
        initializer=[numpy_helper.from_array(v, k) for k, v in b.constants.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20 if gelu_op else 17)],
                              ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    return model


def encoder_inputs(batch: int = 2, seq: int = 16, d_model: int = 64, seed: int = 1) -> dict[str, np.ndarray]:
    """Random activations and a padding mask whose rows keep different numbers of tokens."""
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, seq), np.float32)
    for row in range(batch):
        mask[row, seq - 3 * row:] = 0
    return {"x": rng.standard_normal((batch, seq, d_model)).astype(np.float32), "mask": mask}
