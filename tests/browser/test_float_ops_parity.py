"""The float32 math, activation and normalization ops in headless Chromium (Pyodide): the same
bits as wasmtime, NaN equal to NaN, on ordinary inputs, IEEE specials and large trigonometric
arguments (the Cody-Waite reduction, divisions and square roots are IEEE operations: no engine
may round them differently)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm

from bits import assert_same_bits
from transformer_models import IR_VERSION, op_model

pytestmark = pytest.mark.browser

UNARY = ["Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Softplus",
         "Softsign", "Mish", "Swish"]
ATTRIBUTED = [("Elu", {"alpha": 0.7}), ("Selu", {}), ("Celu", {"alpha": 0.5}), ("ThresholdedRelu", {"alpha": 0.3}),
              ("Shrink", {"lambd": 0.4, "bias": 0.1})]


def unary_model():
    nodes = [helper.make_node(op, ["x"], [f"y_{op}"]) for op in UNARY]
    nodes += [helper.make_node(op, ["x"], [f"y_{op}"], **attrs) for op, attrs in ATTRIBUTED]
    nodes.append(helper.make_node("PRelu", ["x", "slope"], ["y_PRelu"]))
    outputs = [n.output[0] for n in nodes]
    return op_model(nodes, {"x": (3, 37)}, outputs, {"slope": np.linspace(-1, 1, 37, dtype=np.float32)}, opset=24)


def norm_model():
    c = 6
    nodes = [
        helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y_in"]),
        helper.make_node("GroupNormalization", ["x", "s", "b"], ["y_gn"], num_groups=3),
        helper.make_node("RMSNormalization", ["x", "gamma"], ["y_rms"], axis=-1),
        helper.make_node("LpNormalization", ["x"], ["y_l1"], axis=1, p=1),
        helper.make_node("LpNormalization", ["x"], ["y_l2"], axis=-1, p=2),
        helper.make_node("MeanVarianceNormalization", ["x"], ["y_mvn"], axes=[0, 2]),
    ]
    outputs = [n.output[0] for n in nodes]
    constants = {"s": np.linspace(0.5, 2, c, dtype=np.float32), "b": np.linspace(-1, 1, c, dtype=np.float32),
                 "gamma": np.linspace(0.5, 1.5, 11, dtype=np.float32)}
    graph = helper.make_graph(nodes, "norms", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, c, 11])],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, c, 11]) for n in outputs],
                              initializer=[numpy_helper.from_array(v, k) for k, v in constants.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)], ir_version=IR_VERSION)


CASES = {"unary": unary_model, "norms": norm_model}
SPECIALS = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e30, -1e30, 3.4e38, 1e-40, -1e-45, 1.0, -1.0, 0.5, 88.0,
                     -88.0, 89.5, 1e5, -99999.5, 1.05e6, 2e6, 4096.5], np.float32)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("float_op_bundles")
    compiled = {}
    for name, build in CASES.items():
        (root / f"{name}.onnx").write_bytes(build().SerializeToString())
        edgewasm.compile(root / f"{name}.onnx", root / name)
        compiled[name] = root / name
    return compiled


def input_sets(specs) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(11)
    ordinary = {t.name: (rng.standard_normal(t.shape) * 2).astype(np.float32) for t in specs}
    large = {t.name: rng.uniform(-1e5, 1e5, t.shape).astype(np.float32) for t in specs}
    special = {}
    for t in specs:
        values = rng.standard_normal(t.shape).astype(np.float32).reshape(-1)
        values[: SPECIALS.size] = SPECIALS[: values.size]
        special[t.name] = rng.permutation(values).reshape(t.shape)
    return [ordinary, large, special]


@pytest.mark.parametrize("name", CASES)
def test_browser_matches_wasmtime_bit_for_bit(browser, bundles, name):
    server = edgewasm.load(bundles[name])
    for inputs in input_sets(server.inputs):
        expected = server.run(inputs)
        actual = browser.run(bundles[name], inputs)
        assert sorted(actual) == sorted(expected)
        for output in expected:
            assert_same_bits(actual[output], expected[output])
