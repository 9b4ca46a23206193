"""Graph inputs of other dtypes: a model may take float16, float64, bfloat16, 8-bit or sub-byte
inputs that it casts to FLOAT; the manifest records the dtype, the host writes the input's own
encoding, and the module converts it. Results must match onnxruntime (or ml_dtypes' casts where
onnxruntime has no kernel), and the stdlib input kinds and the refusals must hold."""

from __future__ import annotations

import array
import json

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import edgewasm
from edgewasm.engines import run_onnxruntime, within_contract
from edgewasm.cli import main
from edgewasm.errors import BundleError, EdgewasmError, InputError, UnsupportedModelError

SHAPE = [2, 3, 5]


def cast_model(elem_type: int, opset: int = 17, reader: str = "Cast") -> bytes:
    """x (elem_type) -> Cast(to=FLOAT) -> Tanh -> y, plus a float32 operand added to show mixing."""
    nodes = [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT) if reader == "Cast"
             else helper.make_node(reader, ["x", "x"], ["xf"]),
             helper.make_node("Add", ["xf", "b"], ["s"]),
             helper.make_node("Tanh", ["s"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", elem_type, SHAPE),
                                           helper.make_tensor_value_info("b", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, SHAPE)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10).SerializeToString()


def compile_bundle(tmp_path, elem_type, opset=17):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "m.onnx").write_bytes(cast_model(elem_type, opset))
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "bundle")
    return tmp_path / "bundle"


def ort_run(model: bytes, inputs):
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, inputs)[0]


def values(dtype, rng):
    return (rng.standard_normal(SHAPE) * 3).astype(dtype)


@pytest.mark.parametrize("elem_type,dtype", [(TensorProto.FLOAT16, np.float16), (TensorProto.DOUBLE, np.float64),
                                             (TensorProto.INT8, np.int8), (TensorProto.UINT8, np.uint8)])
def test_matches_onnxruntime(tmp_path, elem_type, dtype):
    rng = np.random.default_rng(elem_type)
    x = values(dtype, rng) if dtype in (np.float16, np.float64) else rng.integers(-128, 256, SHAPE).astype(dtype)
    b = rng.standard_normal(SHAPE).astype(np.float32)
    bundle = compile_bundle(tmp_path, elem_type)
    got = edgewasm.load(bundle).run({"x": x, "b": b})["y"]
    want = ort_run(cast_model(elem_type), {"x": x, "b": b})
    assert got.dtype == np.float32 and within_contract(got, want)
    assert within_contract(run_onnxruntime(bundle, {"x": x, "b": b})["y"], want)  # the variant's reference.onnx
    manifest = json.loads((bundle / "manifest.json").read_text())
    (spec,) = [t for t in manifest["variants"]["fp32"]["inputs"] if t["name"] == "x"]
    assert spec["dtype"] == np.dtype(dtype).name and spec["nbytes"] == x.nbytes


@pytest.mark.parametrize("elem_type,dtype,opset", [
    (TensorProto.BFLOAT16, ml_dtypes.bfloat16, 17), (TensorProto.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn, 19),
    (TensorProto.FLOAT8E5M2, ml_dtypes.float8_e5m2, 19), (TensorProto.INT4, ml_dtypes.int4, 21),
    (TensorProto.UINT2, ml_dtypes.uint2, 25), (TensorProto.FLOAT4E2M1, ml_dtypes.float4_e2m1fn, 23)])
def test_ml_dtypes_inputs_match_their_casts(tmp_path, elem_type, dtype, opset):
    rng = np.random.default_rng(opset)
    x = values(dtype, rng)
    b = rng.standard_normal(SHAPE).astype(np.float32)
    model = edgewasm.load(compile_bundle(tmp_path, elem_type, opset))
    got = model.run({"x": x, "b": b})["y"]
    want = np.tanh(x.astype(np.float32) + b)
    assert within_contract(got, want)
    raw = model.run({"x": x.tobytes(), "b": b})["y"]  # the stdlib way: one byte (or two) per element
    assert np.array_equal(raw.view(np.uint32), got.view(np.uint32))


@pytest.mark.parametrize("elem_type,dtype,opset", [(TensorProto.BFLOAT16, ml_dtypes.bfloat16, 17),
                                                   (TensorProto.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn, 19)])
def test_reference_onnx_runs_in_onnxruntime(tmp_path, elem_type, dtype, opset):
    """The variant's reference.onnx declares the input's dtype (opset raised for the Cast)."""
    rng = np.random.default_rng(2)
    inputs = {"x": values(dtype, rng), "b": rng.standard_normal(SHAPE).astype(np.float32)}
    bundle = compile_bundle(tmp_path, elem_type, opset)
    assert within_contract(run_onnxruntime(bundle, inputs)["y"], edgewasm.load(bundle).run(inputs)["y"])
    int4 = compile_bundle(tmp_path / "i4", TensorProto.INT4, 21)
    with pytest.raises(EdgewasmError, match="cannot take int4 inputs"):
        run_onnxruntime(int4, {"x": values(ml_dtypes.int4, rng), "b": inputs["b"]})


def test_cli_compiles_and_runs_a_float16_input(tmp_path):
    (tmp_path / "m.onnx").write_bytes(cast_model(TensorProto.FLOAT16))
    x, b = values(np.float16, np.random.default_rng(3)), np.ones(SHAPE, np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "b.npy", b)
    assert main(["compile", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "bundle")]) == 0
    assert main(["run", str(tmp_path / "bundle"), "--input", f"x={tmp_path / 'x.npy'}", "--input",
                 f"b={tmp_path / 'b.npy'}", "--output", str(tmp_path / "y.npz")]) == 0
    want = ort_run(cast_model(TensorProto.FLOAT16), {"x": x, "b": b})
    assert within_contract(np.load(tmp_path / "y.npz")["y"], want)


def test_stdlib_input_kinds_for_float16(tmp_path):
    rng = np.random.default_rng(1)
    x, b = values(np.float16, rng), rng.standard_normal(SHAPE).astype(np.float32)
    model = edgewasm.load(compile_bundle(tmp_path, TensorProto.FLOAT16))
    want = model.run({"x": x, "b": b})["y"].view(np.uint32)
    for kind in (x.tobytes(), memoryview(x.tobytes()), memoryview(x.tobytes()).cast("e"), x.tolist(),
                 x.astype(np.float64).tolist()):
        assert np.array_equal(model.run({"x": kind, "b": b})["y"].view(np.uint32), want)


def test_bad_inputs_are_typed_errors(tmp_path):
    b = np.zeros(SHAPE, np.float32)
    model = edgewasm.load(compile_bundle(tmp_path, TensorProto.FLOAT16))
    bad = [np.zeros(SHAPE, np.float32), np.zeros(SHAPE, ml_dtypes.bfloat16), b"\0" * 7, bytearray(60 + 2),
           array.array("f", [0.0] * 30), [[["x"] * 5] * 3] * 2, [[[1e9] * 5] * 3] * 2, np.zeros([2, 3, 4], np.float16)]
    for value in bad:
        with pytest.raises(InputError):
            model.run({"x": value, "b": b})
    int4 = edgewasm.load(compile_bundle(tmp_path / "i4", TensorProto.INT4, 21))
    with pytest.raises(InputError, match="nested list cannot encode int4"):
        int4.run({"x": np.zeros(SHAPE, np.int8).tolist(), "b": b})


@pytest.mark.parametrize("reader", ["Add", "Mul"])
def test_a_float16_input_read_by_arithmetic_computes_in_float16(tmp_path, reader):
    """Add/Mul of float16 tensors run in float16 (x_elementwise: f64 arithmetic rounded once to
    half, which is what computing in half gives: numpy's answer), then the result is cast up.
    onnxruntime is not the reference here: its fp16 Mul feeding a Cast skips the rounding to half."""
    rng = np.random.default_rng(7)
    proto = onnx.load_from_string(cast_model(TensorProto.FLOAT16, reader=reader))
    proto.graph.node[1].input[0] = "xf32"
    proto.graph.node.insert(1, helper.make_node("Cast", ["xf"], ["xf32"], to=TensorProto.FLOAT))
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    x, b = values(np.float16, rng), rng.standard_normal(SHAPE).astype(np.float32)
    got = edgewasm.load(tmp_path / "b").run({"x": x, "b": b})["y"]
    in_half = x + x if reader == "Add" else x * x
    assert in_half.dtype == np.float16
    assert within_contract(got, np.tanh(in_half.astype(np.float32) + b))


def test_manifest_refuses_an_unknown_output_dtype(tmp_path):
    bundle = compile_bundle(tmp_path, TensorProto.FLOAT16)
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["variants"]["fp32"]["outputs"][0]["dtype"] = "complex64"
    path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="dtype 'complex64' is not supported"):
        edgewasm.load(bundle)
