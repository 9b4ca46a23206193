"""The benchmark's model suite, built with onnx.helper (deterministic per seed, no downloads).

Each model has the shape its family is exported with (PyTorch, opset 17, batch norms folded into
the convolutions, as `torch.onnx.export` does in eval mode), random weights of realistic scale,
and fixed input shapes, so every engine runs exactly the same graph. Timing does not depend on
trained weights; the digits MLP has the demo's architecture with random weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 10


@dataclass(frozen=True)
class SuiteModel:
    name: str
    description: str
    batch: int
    build: Callable[[], onnx.ModelProto]
    inputs: Callable[[], dict[str, np.ndarray]] | None = None  # None: seeded random inputs (bench.prepare)


class GraphBuilder:
    """Nodes and initializers with generated names; weights drawn from one seeded generator."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}{self._count}"

    def const(self, stem: str, value: np.ndarray) -> str:
        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, shape: tuple[int, ...], fan_in: int) -> str:
        return self.const("w", (self.rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32))

    def bias(self, n: int) -> str:
        return self.const("b", (0.05 * self.rng.standard_normal(n)).astype(np.float32))

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        out = self.name(op_type.lower() + "_")
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def model(self, name: str, inputs: list[tuple[str, list[int]]], output: str, output_shape: list[int],
              output_name: str = "y") -> onnx.ModelProto:
        self.nodes.append(helper.make_node("Identity", [output], [output_name], name="output"))
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
            [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, output_shape)],
            initializer=self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
        onnx.checker.check_model(model, full_check=True)
        return model

    # -- layers ---------------------------------------------------------------------------------

    def dense(self, x: str, fan_in: int, fan_out: int) -> str:
        """Gemm(transB=1): PyTorch's nn.Linear on a 2-D input."""
        return self.op("Gemm", [x, self.weight((fan_out, fan_in), fan_in), self.bias(fan_out)], transB=1)

    def linear(self, x: str, fan_in: int, fan_out: int) -> str:
        """MatMul + Add: nn.Linear on a 3-D input."""
        return self.op("Add", [self.op("MatMul", [x, self.weight((fan_in, fan_out), fan_in)]), self.bias(fan_out)])

    def conv(self, x: str, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1) -> str:
        pad = kernel // 2
        w = self.weight((cout, cin // groups, kernel, kernel), cin // groups * kernel * kernel)
        return self.op("Conv", [x, w, self.bias(cout)], kernel_shape=[kernel, kernel], strides=[stride, stride],
                       pads=[pad] * 4, group=groups)

    def relu6(self, x: str) -> str:
        return self.op("Clip", [x, self.const("lo", np.float32(0)), self.const("hi", np.float32(6))])


def mlp(sizes: list[int], batch: int, softmax: bool, seed: int = 0, input_name: str = "x",
        output_name: str = "y") -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x = input_name
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        x = g.dense(x, fan_in, fan_out)
        if i < len(sizes) - 2:
            x = g.op("Relu", [x])
    if softmax:
        x = g.op("Softmax", [x], axis=-1)
    return g.model("mlp", [(input_name, [batch, sizes[0]])], x, [batch, sizes[-1]], output_name)


# MobileNetV2 1.0's inverted residual stages (expansion t, channels c, blocks n, first stride s)
# and head width, as published (Sandler et al. 2018): 300 M multiply-adds at 224x224.
MOBILENET_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                    (6, 320, 1, 1))
MOBILENET_HEAD = 1280


def mobilenet_v2(batch: int = 1, seed: int = 0) -> onnx.ModelProto:
    """Stem conv 3x3/2, inverted residual blocks (1x1 expand, ReLU6, depthwise 3x3, ReLU6,
    1x1 project, residual Add when shapes allow), 1x1 head, global average pool, classifier."""
    g = GraphBuilder(seed)
    x = g.relu6(g.conv("x", 3, 32, kernel=3, stride=2))
    cin = 32
    for t, c, n, s in MOBILENET_STAGES:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            h = x if t == 1 else g.relu6(g.conv(x, cin, hidden))
            h = g.relu6(g.conv(h, hidden, hidden, kernel=3, stride=stride, groups=hidden))
            h = g.conv(h, hidden, c)
            x = g.op("Add", [x, h]) if stride == 1 and cin == c else h
            cin = c
    x = g.relu6(g.conv(x, cin, MOBILENET_HEAD))
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    x = g.dense(x, MOBILENET_HEAD, 1000)
    return g.model("mobilenetv2", [("x", [batch, 3, 224, 224])], x, [batch, 1000])


def resnet_basic_block(channels: int = 64, size: int = 56, batch: int = 1, seed: int = 0) -> onnx.ModelProto:
    """conv3x3 -> ReLU -> conv3x3 -> Add(identity) -> ReLU: ResNet-18/34's block at stage 1."""
    g = GraphBuilder(seed)
    h = g.op("Relu", [g.conv("x", channels, channels, kernel=3)])
    h = g.conv(h, channels, channels, kernel=3)
    y = g.op("Relu", [g.op("Add", [h, "x"])])
    shape = [batch, channels, size, size]
    return g.model("resnet_block", [("x", shape)], y, shape)


def transformer_encoder(layers: int = 2, seq: int = 128, d_model: int = 256, heads: int = 4, ffn: int = 1024,
                        batch: int = 1, seed: int = 0) -> onnx.ModelProto:
    """Post-norm encoder layers as PyTorch exports them at opset 17: Q/K/V projections,
    Reshape/Transpose into heads, scaled QK^T, Softmax, PV, output projection, residual +
    LayerNormalization, GELU (erf form) feed-forward, residual + LayerNormalization."""
    g = GraphBuilder(seed)
    head_dim = d_model // heads
    split_heads = g.const("shape", np.array([batch, seq, heads, head_dim], np.int64))
    merge_heads = g.const("shape", np.array([batch, seq, d_model], np.int64))
    scale = g.const("scale", np.float32(1.0 / np.sqrt(head_dim)))
    sqrt2, one, half = (g.const("c", np.float32(v)) for v in (np.sqrt(2.0), 1.0, 0.5))

    def layer_norm(x: str) -> str:
        gamma = g.const("gamma", (1 + 0.1 * g.rng.standard_normal(d_model)).astype(np.float32))
        return g.op("LayerNormalization", [x, gamma, g.bias(d_model)], axis=-1, epsilon=1e-5)

    def heads_of(x: str, perm: list[int]) -> str:
        return g.op("Transpose", [g.op("Reshape", [x, split_heads])], perm=perm)

    x = "x"
    for _ in range(layers):
        q = heads_of(g.linear(x, d_model, d_model), [0, 2, 1, 3])
        k = heads_of(g.linear(x, d_model, d_model), [0, 2, 3, 1])
        v = heads_of(g.linear(x, d_model, d_model), [0, 2, 1, 3])
        scores = g.op("Mul", [g.op("MatMul", [q, k]), scale])
        context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        context = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), merge_heads])
        x = layer_norm(g.op("Add", [x, g.linear(context, d_model, d_model)]))
        h = g.linear(x, d_model, ffn)
        gelu = g.op("Mul", [g.op("Mul", [h, g.op("Add", [g.op("Erf", [g.op("Div", [h, sqrt2])]), one])]), half])
        x = layer_norm(g.op("Add", [x, g.linear(gelu, ffn, d_model)]))
    shape = [batch, seq, d_model]
    return g.model("transformer_encoder", [("x", shape)], x, shape)


SUITE = (
    SuiteModel("digits", "the demo's digits MLP 64-32-10 + softmax, batch 1", 1,
               lambda: mlp([64, 32, 10], 1, softmax=True, input_name="pixels", output_name="probabilities")),
    SuiteModel("digits-b64", "the digits MLP at batch 64 (a server twin scoring a page of digits)", 64,
               lambda: mlp([64, 32, 10], 64, softmax=True, input_name="pixels", output_name="probabilities")),
    SuiteModel("mlp-b1", "MLP 784-512-256-10, batch 1", 1, lambda: mlp([784, 512, 256, 10], 1, softmax=False)),
    SuiteModel("mlp-b32", "MLP 784-512-256-10, batch 32", 32, lambda: mlp([784, 512, 256, 10], 32, softmax=False)),
    SuiteModel("mobilenetv2", "MobileNetV2 1.0 layout, 1x3x224x224", 1, mobilenet_v2),
    SuiteModel("resnet-block", "ResNet basic block, 64 channels, 56x56", 1, resnet_basic_block),
    SuiteModel("transformer", "2-layer transformer encoder, 128 tokens, d 256, 4 heads, ffn 1024", 1,
               transformer_encoder),
)
SUITE_NAMES = tuple(m.name for m in SUITE)


GROUPS = ("suite", "real", "all")  # --models names for the hand-built suite, the real architectures, both


def model_names(group: str) -> tuple[str, ...]:
    from .real import REAL_NAMES

    return {"suite": SUITE_NAMES, "real": REAL_NAMES, "all": SUITE_NAMES + REAL_NAMES}[group]


def expand_names(names: list[str]) -> list[str]:
    """Model names with the groups (suite, real, all) spelled out, each name once, in order."""
    out: list[str] = []
    for name in names:
        for each in model_names(name) if name in GROUPS else (name,):
            if each not in out:
                out.append(each)
    return out


def suite_model(name: str) -> SuiteModel:
    from .real import REAL

    for model in SUITE + REAL:
        if model.name == name:
            return model
    raise KeyError(name)
