"""Reductions, ArgMax/ArgMin, TopK and CumSum in headless Chromium (Pyodide): the same bits as
wasmtime in every dtype (NaN equal to NaN), on ordinary inputs and on IEEE specials; the SIMD128
float32 kernels (f32_reduce.wat) and the generic ones (x_reduce.wat, f64 exp/log) alike."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

import edgewasm

pytestmark = pytest.mark.browser

REDUCE_OPS = ["ReduceMax", "ReduceMin", "ReduceSum", "ReduceMean", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"]
DTYPES = {"float32": onnx.TensorProto.FLOAT, "float64": onnx.TensorProto.DOUBLE, "float16": onnx.TensorProto.FLOAT16,
          "int64": onnx.TensorProto.INT64}
SPECIALS = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e30, -1e30, 1.0, -1.0, 0.5, 88.0, -88.0]


def reductions_model(dtype: str) -> onnx.ModelProto:
    """Every reduction over rows, columns and non-adjacent axes, ArgMax/ArgMin, TopK, CumSum."""
    nodes, outputs = [], []
    axes = {"rows": [2], "cols": [1], "gathered": [0, 2]}
    for op in REDUCE_OPS:
        for tag in axes:
            nodes.append(helper.make_node(op, ["x", f"axes_{tag}"], [f"{op}_{tag}"], keepdims=0))
            outputs.append(f"{op}_{tag}")
    nodes += [helper.make_node("ArgMax", ["x"], ["argmax"], axis=2, select_last_index=1),
              helper.make_node("ArgMin", ["x"], ["argmin"], axis=1),
              helper.make_node("TopK", ["x", "k"], ["top_values", "top_indices"], axis=2),
              helper.make_node("TopK", ["x", "k_all"], ["low_values", "low_indices"], axis=1, largest=0),
              helper.make_node("CumSum", ["x", "axis"], ["cumsum"], exclusive=1)]
    outputs += ["argmax", "argmin", "top_values", "top_indices", "low_values", "low_indices", "cumsum"]
    if dtype == "float16":  # the stdlib runtime has no array typecode for float16 outputs: widen them (exact)
        float_outputs = [o for o in outputs if o not in ("argmax", "argmin", "top_indices", "low_indices")]
        nodes += [helper.make_node("Cast", [o], [f"{o}_f32"], to=onnx.TensorProto.FLOAT) for o in float_outputs]
        outputs = [f"{o}_f32" if o in float_outputs else o for o in outputs]
    inits = [helper.make_tensor(f"axes_{tag}", onnx.TensorProto.INT64, [len(a)], a) for tag, a in axes.items()]
    inits += [helper.make_tensor("k", onnx.TensorProto.INT64, [1], [3]),
              helper.make_tensor("k_all", onnx.TensorProto.INT64, [1], [20]),
              helper.make_tensor("axis", onnx.TensorProto.INT64, [], [2])]
    graph = helper.make_graph(nodes, "reductions", [helper.make_tensor_value_info("x", DTYPES[dtype], [2, 20, 19])],
                              [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in outputs], inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    del proto.graph.output[:]
    proto.graph.output.extend(inferred.graph.output)
    return proto


def input_sets(dtype: str) -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    shape = (2, 20, 19)
    if dtype == "int64":
        return [rng.integers(-9, 10, shape), rng.integers(-2**40, 2**40, shape)]
    ordinary = (rng.standard_normal(shape) * 3).astype(dtype)
    special = ordinary.copy().reshape(-1)
    with np.errstate(over="ignore"):  # 1e30 is +-inf in float16
        special[rng.choice(special.size, 120, replace=False)] = np.resize(np.array(SPECIALS, dtype), 120)
    return [ordinary, np.abs(ordinary), special.reshape(shape)]


def assert_same_bits(actual: np.ndarray, expected: np.ndarray, name: str) -> None:
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, name
    if expected.dtype.kind == "f":
        nan = np.isnan(expected)
        np.testing.assert_array_equal(np.isnan(actual), nan, err_msg=name)
        bits = f"u{expected.dtype.itemsize}"
        np.testing.assert_array_equal(actual[~nan].view(bits), expected[~nan].view(bits), err_msg=name)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_browser_matches_wasmtime_bit_for_bit(browser, tmp_path, dtype):
    (tmp_path / "m.onnx").write_bytes(reductions_model(dtype).SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "bundle")
    server = edgewasm.load(tmp_path / "bundle")
    for x in input_sets(dtype):
        expected = server.run({"x": x})
        actual = browser.run(tmp_path / "bundle", {"x": x})
        assert sorted(actual) == sorted(expected)
        for name in expected:
            assert_same_bits(actual[name], expected[name], name)
