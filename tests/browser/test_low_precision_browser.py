"""The low-precision dtypes in Chromium (Pyodide, no numpy in the page): float8, float4, int4/uint4 and
int2/uint2 inputs, outputs and casts between them give the bits wasmtime gives; sub-byte outputs cross
from the page packed as ONNX packs them."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

import edgewasm
from edgewasm import dtypes

pytestmark = pytest.mark.browser

CASES = [("float8_e4m3fn", "float8_e5m2fnuz"), ("float8_e8m0fnu", "float4_e2m1fn"), ("int4", "uint2"),
         ("uint4", "int4"), ("int2", "float8_e4m3fnuz"), ("float4_e2m1fn", "float8_e5m2")]


@pytest.mark.parametrize("source, target", CASES)
def test_low_precision_in_the_page(browser, tmp_path, source, target):
    n = 37
    codes = np.arange(n) % (1 << dtypes.SUB_BYTE_BITS.get(source, 8))
    x = codes.astype(np.uint8).view(dtypes.numpy_dtype(source))
    s, t = dtypes.to_onnx(source), dtypes.to_onnx(target)
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["same"]), helper.make_node("Cast", ["x"], ["cast"], to=t),
         helper.make_node("Cast", ["f"], ["from_float"], to=s)], "g",
        [helper.make_tensor_value_info("x", s, [n]), helper.make_tensor_value_info("f", TensorProto.FLOAT, [n])],
        [helper.make_tensor_value_info("same", s, [n]), helper.make_tensor_value_info("cast", t, [n]),
         helper.make_tensor_value_info("from_float", s, [n])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 25)], ir_version=11)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    f = (np.random.default_rng(0).standard_normal(n) * 5).astype(np.float32)
    inputs = {"x": x, "f": f}
    expected = edgewasm.load(tmp_path / "b").run(inputs)
    got = browser.run(tmp_path / "b", inputs)
    for name, want in expected.items():
        assert got[name].dtype == want.dtype and got[name].shape == want.shape
        mask = (1 << dtypes.SUB_BYTE_BITS.get(want.dtype.name, 8)) - 1
        np.testing.assert_array_equal(got[name].view(np.uint8) & mask, want.view(np.uint8) & mask, err_msg=name)
