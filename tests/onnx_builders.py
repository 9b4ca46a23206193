"""Small ONNX models built with onnx.helper for the compiler tests (ir_version 10, opset 17)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(nodes, inputs, outputs, initializers=(), opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "test",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in initializers],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    onnx.checker.check_model(m)
    return m


def mlp(sizes: list[int], seed: int = 0, softmax: bool = True, batch="N") -> onnx.ModelProto:
    """Gemm(transB=1) + Relu layers, Softmax at the end: the shape PyTorch exports."""
    rng = np.random.default_rng(seed)
    nodes, inits, x = [], [], "x"
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        w = (rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in)).astype(np.float32)
        b = (0.1 * rng.standard_normal(fan_out)).astype(np.float32)
        inits += [(f"w{i}", w), (f"b{i}", b)]
        last = i == len(sizes) - 2
        y = "logits" if last else f"h{i}"
        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [y], transB=1, name=f"fc{i}"))
        if not last:
            nodes.append(helper.make_node("Relu", [y], [f"r{i}"], name=f"relu{i}"))
            y = f"r{i}"
        x = y
    out = "y"
    nodes.append(helper.make_node("Softmax" if softmax else "Identity", [x], [out], axis=-1) if softmax
                 else helper.make_node("Identity", [x], [out]))
    return model(nodes, [("x", [batch, sizes[0]])], [(out, [batch, sizes[-1]])], inits)
