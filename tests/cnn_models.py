"""CNN models built with onnx.helper the way PyTorch exports them (NCHW, Conv + BatchNormalization
in eval mode, ReLU6 as Clip with constant bounds, GlobalAveragePool -> Flatten -> Gemm).

Weights are He-initialised and batch statistics random but plausible, so activations stay of
order one through deep stacks (what real trained nets look like numerically); deterministic per
seed. Widths and resolutions are parameters: tests use reduced ones where the full net is slow.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from models import make_model

# MobileNetV2 inverted residual settings: expansion t, output channels c, repeats n, first stride s
MOBILENET_V2_BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]


class _Builder:
    """Accumulates nodes and initializers; each layer method returns its output tensor's name."""

    def __init__(self, seed: int, batchnorm: bool):
        self.rng = np.random.default_rng(seed)
        self.batchnorm = batchnorm
        self.nodes: list[onnx.NodeProto] = []
        self.constants: dict[str, np.ndarray] = {}
        self.count = 0

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}{self.count}"

    def const(self, kind: str, value: np.ndarray) -> str:
        name = self.name(kind)
        self.constants[name] = value
        return name

    def node(self, op: str, inputs: list[str], **attrs) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int = 1, group: int = 1, pad: int | None = None) -> str:
        fan_in = cin // group * k * k
        w = (self.rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        pad = k // 2 if pad is None else pad
        inputs = [x, self.const("w", w)]
        if not self.batchnorm:
            inputs.append(self.const("b", (0.1 * self.rng.standard_normal(cout)).astype(np.float32)))
        y = self.node("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, group=group)
        return self.bn(y, cout) if self.batchnorm else y

    def bn(self, x: str, channels: int) -> str:
        r = self.rng
        params = [r.uniform(0.5, 1.5, channels), 0.1 * r.standard_normal(channels),
                  0.1 * r.standard_normal(channels), r.uniform(0.5, 1.5, channels)]
        names = [self.const(kind, p.astype(np.float32)) for kind, p in zip(("gamma", "beta", "mean", "var"), params)]
        return self.node("BatchNormalization", [x] + names, epsilon=1e-5)

    def relu6(self, x: str) -> str:
        return self.node("Clip", [x, self.const("lo", np.float32(0)), self.const("hi", np.float32(6))])

    def head(self, x: str, channels: int, classes: int) -> str:
        pooled = self.node("GlobalAveragePool", [x])
        flat = self.node("Flatten", [pooled], axis=1)
        # logits of order one, as a trained classifier's softmax input
        w = (self.rng.standard_normal((classes, channels)) * 0.5 / np.sqrt(channels)).astype(np.float32)
        b = (0.1 * self.rng.standard_normal(classes)).astype(np.float32)
        return self.node("Gemm", [flat, self.const("fc_w", w), self.const("fc_b", b)], transB=1)


def _divisible(v: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible: channel counts rounded to multiples of 8."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def make_mobilenet_v2(width: float = 1.0, resolution: int = 224, classes: int = 1000, batch=1,
                      seed: int = 0, batchnorm: bool = True, blocks=MOBILENET_V2_BLOCKS) -> onnx.ModelProto:
    """MobileNetV2: 3x3 stem (stride 2) + ReLU6, inverted residual blocks (1x1 expand + ReLU6,
    depthwise 3x3 stride 1/2 + ReLU6, 1x1 project, residual Add when shapes match), 1x1 to 1280
    + ReLU6, GlobalAveragePool, Flatten, Gemm."""
    b = _Builder(seed, batchnorm)
    channels = _divisible(32 * width)
    x = b.relu6(b.conv("x", 3, channels, 3, stride=2))
    for t, c, n, s in blocks:
        out_channels = _divisible(c * width)
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = channels * t
            h = x
            if t != 1:
                h = b.relu6(b.conv(h, channels, hidden, 1))
            h = b.relu6(b.conv(h, hidden, hidden, 3, stride=stride, group=hidden))
            h = b.conv(h, hidden, out_channels, 1)
            x = b.node("Add", [x, h]) if stride == 1 and channels == out_channels else h
            channels = out_channels
    last = _divisible(1280 * max(1.0, width))
    x = b.relu6(b.conv(x, channels, last, 1))
    y = b.head(x, last, classes)
    return make_model(b.nodes, [("x", [batch, 3, resolution, resolution])], [(y, [batch, classes])],
                      b.constants, "mobilenet_v2")


def make_resnet(stages=(2, 2, 2, 2), widths=(64, 128, 256, 512), resolution: int = 224, classes: int = 1000,
                batch=1, seed: int = 0) -> onnx.ModelProto:
    """ResNet with basic blocks (ResNet-18 by default): 7x7 stem (stride 2) + BN + ReLU, 3x3
    MaxPool (stride 2); per block 3x3 conv + BN + ReLU, 3x3 conv + BN, a 1x1 stride-2 conv + BN
    on the shortcut when the shape changes, residual Add, ReLU; GlobalAveragePool, Flatten, Gemm."""
    b = _Builder(seed, batchnorm=True)
    x = b.node("Relu", [b.conv("x", 3, widths[0], 7, stride=2)])
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    channels = widths[0]
    for stage, (repeats, width) in enumerate(zip(stages, widths)):
        for i in range(repeats):
            stride = 2 if stage > 0 and i == 0 else 1
            h = b.node("Relu", [b.conv(x, channels, width, 3, stride=stride)])
            h = b.conv(h, width, width, 3)
            shortcut = b.conv(x, channels, width, 1, stride=stride, pad=0) if stride != 1 or channels != width else x
            x = b.node("Relu", [b.node("Add", [shortcut, h])])
            channels = width
    y = b.head(x, channels, classes)
    return make_model(b.nodes, [("x", [batch, 3, resolution, resolution])], [(y, [batch, classes])],
                      b.constants, "resnet")
