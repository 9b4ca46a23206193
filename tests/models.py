"""Small ONNX models built with onnx.helper (ir_version 10, opset 17), deterministic per seed.

Sizes are deliberately odd (not multiples of the kernels' tiles) where the caller picks them.
A string dimension (default "N") is a symbolic batch, fixed when the model is compiled.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 10

Dim = int | str


def make_model(nodes: list[onnx.NodeProto], inputs: list[tuple[str, list[Dim]]],
               outputs: list[tuple[str, list[Dim]]], initializers=None,
               name: str = "test", opset: int = OPSET) -> onnx.ModelProto:
    """A checked float32 model from nodes, (name, shape) inputs/outputs and named constants
    (a dict or (name, array) pairs)."""
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in dict(initializers or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    return model


def _weights(rng: np.random.Generator, fan_in: int, shape: tuple[int, ...]) -> np.ndarray:
    return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)


def _bias(rng: np.random.Generator, n: int) -> np.ndarray:
    return (0.1 * rng.standard_normal(n)).astype(np.float32)


def make_mlp(sizes: list[int], batch: Dim = "N", seed: int = 0, softmax: bool = True) -> onnx.ModelProto:
    """x -> [Gemm(transB=1) -> Relu]* -> Gemm(transB=1) [-> Softmax]: the shape PyTorch exports."""
    rng = np.random.default_rng(seed)
    nodes, constants, x = [], {}, "x"
    layers = list(zip(sizes[:-1], sizes[1:], strict=True))
    for i, (fan_in, fan_out) in enumerate(layers):
        constants[f"w{i}"] = _weights(rng, fan_in, (fan_out, fan_in))
        constants[f"b{i}"] = _bias(rng, fan_out)
        y = f"h{i}" if i < len(layers) - 1 else "logits"
        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [y], transB=1, name=f"fc{i}"))
        if i < len(layers) - 1:
            nodes.append(helper.make_node("Relu", [y], [f"r{i}"], name=f"relu{i}"))
            y = f"r{i}"
        x = y
    if softmax:
        nodes.append(helper.make_node("Softmax", [x], ["y"], axis=-1, name="softmax"))
        x = "y"
    return make_model(nodes, [("x", [batch, sizes[0]])], [(x, [batch, sizes[-1]])], constants, "mlp")


def make_matmul_add(k: int, n: int, batch: Dim = "N", seed: int = 0) -> onnx.ModelProto:
    """y = MatMul(x, W) + b: the shape TensorFlow exporters emit for a dense layer."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["xw"], name="matmul"),
             helper.make_node("Add", ["xw", "b"], ["y"], name="bias")]
    return make_model(nodes, [("x", [batch, k])], [("y", [batch, n])],
                      {"w": _weights(rng, k, (k, n)), "b": _bias(rng, n)}, "matmul_add")


def make_gemm_trans_a(k: int, m: int, n: int, seed: int = 0) -> onnx.ModelProto:
    """y = Gemm(x, W, b, transA=1): the input arrives as [k, m] and is transposed first."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transA=1, name="gemm_ta")]
    return make_model(nodes, [("x", [k, m])], [("y", [m, n])],
                      {"w": _weights(rng, k, (k, n)), "b": _bias(rng, n)}, "gemm_trans_a")


def make_add_of_branches(k: int, n: int, batch: Dim = "N", seed: int = 0) -> onnx.ModelProto:
    """Two inputs, one dense layer each, and an Add of the two activations (then Relu)."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("MatMul", ["a", "wa"], ["ha"], name="branch_a"),
             helper.make_node("Gemm", ["b", "wb", "bb"], ["hb"], transB=1, name="branch_b"),
             helper.make_node("Add", ["ha", "hb"], ["sum"], name="join"),
             helper.make_node("Relu", ["sum"], ["y"], name="relu")]
    constants = {"wa": _weights(rng, k, (k, n)), "wb": _weights(rng, k, (n, k)), "bb": _bias(rng, n)}
    return make_model(nodes, [("a", [batch, k]), ("b", [batch, k])], [("y", [batch, n])], constants,
                      "add_of_branches")


def make_flatten_reshape(channels: int, height: int, width: int, n: int, batch: Dim = "N",
                         seed: int = 0) -> onnx.ModelProto:
    """x[N, C, H, W] -> Flatten -> Gemm -> Reshape to [N, 2, n/2]: views at both boundaries."""
    if n % 2:
        raise ValueError("n must be even to reshape the output to [N, 2, n/2]")
    rng = np.random.default_rng(seed)
    k = channels * height * width
    nodes = [helper.make_node("Flatten", ["x"], ["flat"], axis=1, name="flatten"),
             helper.make_node("Gemm", ["flat", "w", "b"], ["dense"], name="dense"),
             helper.make_node("Reshape", ["dense", "shape"], ["y"], name="reshape")]
    constants = {"w": _weights(rng, k, (k, n)), "b": _bias(rng, n),
                 "shape": np.array([0, 2, -1], dtype=np.int64)}
    return make_model(nodes, [("x", [batch, channels, height, width])], [("y", [batch, 2, n // 2])], constants,
                      "flatten_reshape")
