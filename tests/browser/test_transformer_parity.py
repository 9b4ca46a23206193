"""Transformer and elementwise models in headless Chromium (Pyodide): the same bits as wasmtime,
NaN equal to NaN, on ordinary inputs and on IEEE specials."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import helper

import edgewasm

from bits import assert_same_bits
from transformer_models import encoder_inputs, make_encoder, op_model

pytestmark = pytest.mark.browser

UNARY = ["Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "LeakyRelu", "HardSigmoid", "HardSwish"]
BINARY = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"]


def unary_model():
    nodes = [helper.make_node(op, ["x"], [f"y_{op}"]) for op in UNARY]
    nodes += [helper.make_node("Gelu", ["x"], ["y_gelu"]),
              helper.make_node("Gelu", ["x"], ["y_gelu_tanh"], approximate="tanh")]
    return op_model(nodes, {"x": (3, 37)}, [f"y_{op}" for op in UNARY] + ["y_gelu", "y_gelu_tanh"], opset=20)


def binary_model():
    nodes = [helper.make_node(op, ["a", "b"], [f"y_{op}"]) for op in BINARY]
    nodes.append(helper.make_node("Pow", ["a", "three"], ["y_cube"]))
    return op_model(nodes, {"a": (2, 3, 9), "b": (3, 1)}, [f"y_{op}" for op in BINARY] + ["y_cube"],
                    {"three": np.float32(3)})


def movement_and_norm_model():
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[2, 0, 1]),
        helper.make_node("Slice", ["t", "starts", "ends", "axes", "steps"], ["s"]),
        helper.make_node("Gather", ["x", "idx"], ["g"], axis=1),
        helper.make_node("Concat", ["x", "x"], ["c"], axis=-1),
        helper.make_node("LayerNormalization", ["c", "gamma", "beta"], ["ln"], axis=-1),
        helper.make_node("LogSoftmax", ["x"], ["ls"], axis=1),
        helper.make_node("Softmax", ["x"], ["sm"], axis=0),
        helper.make_node("ReduceMean", ["x"], ["rm"], axes=[0, 2], keepdims=0),
        helper.make_node("Reshape", ["x", "shape4"], ["r4"]),
        helper.make_node("Resize", ["r4", "", "scales"], ["rz"], mode="linear"),
    ]
    constants = {"starts": np.array([-1, 0], np.int64), "ends": np.array([-100, 3], np.int64),
                 "axes": np.array([0, 2], np.int64), "steps": np.array([-2, 1], np.int64),
                 "idx": np.array([[2, 0], [1, 1]], np.int64), "gamma": np.linspace(0.5, 1.5, 22, dtype=np.float32),
                 "beta": np.linspace(-1, 1, 22, dtype=np.float32), "scales": np.array([1, 1, 2, 1.5], np.float32),
                 "shape4": np.array([1, 4, 3, 11], np.int64)}
    outputs = ["s", "g", "ln", "ls", "sm", "rm", "rz"]
    return op_model(nodes, {"x": (4, 3, 11)}, outputs, constants, opset=17)


CASES = {  # name: (model, batch)
    "encoder": (lambda: make_encoder(), 2),
    "encoder_gelu_op": (lambda: make_encoder(layers=1, gelu_op=True, seq=7, d_model=24, heads=3, ff=40), 1),
    "unary": (unary_model, 1),
    "binary": (binary_model, 1),
    "movement_and_norm": (movement_and_norm_model, 1),
}
SPECIALS = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e30, -1e30, 3.4e38, 1e-40, -1e-45, 1.0, -1.0, 0.5, 88.0,
                     -88.0], np.float32)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("transformer_bundles")
    compiled = {}
    for name, (build, batch) in CASES.items():
        (root / f"{name}.onnx").write_bytes(build().SerializeToString())
        edgewasm.compile(root / f"{name}.onnx", root / name, batch=batch)
        compiled[name] = root / name
    return compiled


def input_sets(name: str, specs) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    if name.startswith("encoder"):
        batch, seq, d_model = specs[0].shape
        ordinary = encoder_inputs(batch, seq, d_model)
        large = dict(ordinary, x=ordinary["x"] * np.float32(1e3))
        return [ordinary, large]
    ordinary = {t.name: (rng.standard_normal(t.shape) * 2).astype(np.float32) for t in specs}
    special = {}
    for t in specs:
        values = rng.standard_normal(t.shape).astype(np.float32).reshape(-1)
        values[: SPECIALS.size] = SPECIALS[: values.size]
        special[t.name] = rng.permutation(values).reshape(t.shape)
    return [ordinary, special]


@pytest.mark.parametrize("name", CASES)
def test_browser_matches_wasmtime_bit_for_bit(browser, bundles, name):
    server = edgewasm.load(bundles[name])
    for inputs in input_sets(name, server.inputs):
        expected = server.run(inputs)
        actual = browser.run(bundles[name], inputs)
        assert sorted(actual) == sorted(expected)
        for output in expected:
            assert_same_bits(actual[output], expected[output])
