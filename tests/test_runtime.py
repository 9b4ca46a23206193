"""The wasmtime host through the public API: input kinds, typed errors, bundle integrity,
and the bring-your-own-wasm path."""

from __future__ import annotations

import array
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import edgewasm
from edgewasm.errors import BundleError, InputError, IntegrityError, ModelFormatError, UnsupportedModelError, DynamicShapeError

from models import make_mlp as mlp, make_model
from onnx import TensorProto, helper, numpy_helper

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundle")
    (root / "m.onnx").write_bytes(mlp([6, 5, 4]).SerializeToString())
    edgewasm.compile(root / "m.onnx", root / "b", batch=2, chunk_bytes=64)
    return root / "b"


def test_input_kinds_give_identical_outputs(bundle):
    m = edgewasm.load(bundle)
    x = np.random.default_rng(0).standard_normal((2, 6)).astype(np.float32)
    want = m.run({"x": x})["y"]
    flat = array.array("f", x.reshape(-1).tolist())
    for value in (flat, memoryview(flat), memoryview(x), x.tolist(), x.astype(">f4")):
        got = m.run({"x": value})["y"]
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    assert want.shape == (2, 4) and np.allclose(want.sum(axis=1), 1, atol=1e-6)


@pytest.mark.parametrize("inputs,message", [
    ({"z": np.zeros((2, 6), np.float32)}, "missing"),
    ({"x": np.zeros((2, 6), np.float32), "z": np.zeros((2, 6), np.float32)}, "unknown"),
    ({"x": np.zeros((3, 6), np.float32)}, "shape"),
    ({"x": np.zeros((2, 6), np.float64)}, "dtype"),
    ({"x": [[0.0] * 6] * 3}, "expected 2"),
    ({"x": array.array("d", [0.0] * 12)}, "typecode"),
    ({"x": array.array("f", [0.0] * 11)}, "elements"),
    ({"x": "hello"}, "unsupported type"),
    ({"x": [["a"] * 6] * 2}, "numbers"),
])
def test_bad_inputs_are_typed_errors(bundle, inputs, message):
    with pytest.raises(InputError, match=message):
        edgewasm.load(bundle).run(inputs)


def test_outputs_are_fresh_arrays_and_inputs_are_left_alone(bundle):
    """numpy inputs are copied straight into the module's memory and outputs straight out of it:
    a returned array must never alias that memory, and strided inputs must be read as numpy sees them."""
    m = edgewasm.load(bundle)
    x = np.random.default_rng(1).standard_normal((2, 12)).astype(np.float32)
    strided, contiguous = x[:, ::2], np.ascontiguousarray(x[:, ::2])
    first = m.run({"x": strided})["y"]
    kept = first.copy()
    assert np.array_equal(first, m.run({"x": contiguous})["y"])
    first[:] = 7  # writing into one result changes neither the model nor the next result
    second = m.run({"x": contiguous})["y"]
    assert np.array_equal(second, kept) and second.base is None  # owns its data: no view of the memory
    m.run({"x": -contiguous})
    assert np.array_equal(second, kept) and np.array_equal(x, x.copy())


def test_each_load_has_its_own_memory(bundle):
    a, b = edgewasm.load(bundle), edgewasm.load(bundle)
    x = np.ones((2, 6), np.float32)
    ya = a.run({"x": x})["y"]
    b.run({"x": -x})
    assert np.array_equal(a.run({"x": x})["y"], ya)


def copy_bundle(bundle, tmp_path):
    return Path(shutil.copytree(bundle, tmp_path / "copy"))


def test_tampered_chunk_is_refused(bundle, tmp_path):
    b = copy_bundle(bundle, tmp_path)
    chunk = b / "fp32" / "weights-001.bin"
    data = bytearray(chunk.read_bytes())
    data[3] ^= 1
    chunk.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="weights-001.bin"):
        edgewasm.load(b)


def test_truncated_chunk_and_module_are_refused(bundle, tmp_path):
    b = copy_bundle(bundle, tmp_path)
    chunk = b / "fp32" / "weights-000.bin"
    chunk.write_bytes(chunk.read_bytes()[:-4])
    with pytest.raises(IntegrityError, match="truncated"):
        edgewasm.load(b)
    shutil.rmtree(b)
    b = copy_bundle(bundle, tmp_path)
    (b / "fp32" / "model.wasm").write_bytes(b"\0asm")
    with pytest.raises(IntegrityError):
        edgewasm.load(b)


@pytest.mark.parametrize("edit,message", [
    (lambda m: m.update(format_version=99), "format_version"),
    (lambda m: m["variants"]["fp32"]["inputs"][0].update(offset=10**9), "outside"),
    (lambda m: m["variants"]["fp32"]["weights"][0].update(offset=-5), "outside"),
    (lambda m: m["variants"]["fp32"]["outputs"][0].update(nbytes=4), "nbytes"),
    (lambda m: m["variants"]["fp32"]["module"].update(file="../../etc/passwd"), "relative path"),
    (lambda m: m["variants"]["fp32"].pop("memory"), "memory"),
])
def test_bad_manifest_is_refused_before_loading(bundle, tmp_path, edit, message):
    b = copy_bundle(bundle, tmp_path)
    manifest = json.loads((b / "manifest.json").read_text())
    edit(manifest)
    (b / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=message):
        edgewasm.load(b)


def test_missing_bundle_and_variant(bundle, tmp_path):
    with pytest.raises(BundleError, match="cannot read"):
        edgewasm.load(tmp_path / "nothing")
    with pytest.raises(BundleError, match="no variant 'int8'"):
        edgewasm.load(bundle, variant="int8")


def test_bring_your_own_wat_and_wasm(tmp_path):
    x = np.array([[1.0, 2.0, 3.0, 4.0]], np.float32)
    want = np.float32(2 - 2 + 1.5 + 12) + np.float32(0.25)
    y = edgewasm.load(EXAMPLES / "linear_regression.wat").run({"x": x})["y"]
    assert y.shape == (1, 1) and y[0, 0] == want
    import wasmtime

    (tmp_path / "lr.wasm").write_bytes(wasmtime.wat2wasm((EXAMPLES / "linear_regression.wat").read_text()))
    shutil.copy(EXAMPLES / "linear_regression.json", tmp_path / "lr.json")
    assert edgewasm.load(tmp_path / "lr.wasm").run({"x": x})["y"][0, 0] == want


def test_module_with_an_import_is_refused(tmp_path):
    (tmp_path / "bad.wat").write_text('(module (import "env" "f" (func)) (memory (export "memory") 1)'
                                      ' (func (export "run") (result i32) (i32.const 0)))')
    shutil.copy(EXAMPLES / "linear_regression.json", tmp_path / "bad.json")
    with pytest.raises(BundleError, match="import"):
        edgewasm.load(tmp_path / "bad.wat")


def test_frontend_errors(tmp_path):
    with pytest.raises(ModelFormatError):
        edgewasm.compile(b"\x08\x07garbage" * 10, tmp_path / "x")
    nodes = [helper.make_node("NonZero", ["x"], ["c"], name="nz1"),
             helper.make_node("NonZero", ["c"], ["d"], name="nz2"),
             helper.make_node("Unique", ["d"], ["y"], name="uniq")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
                              [numpy_helper.from_array(np.ones((1, 1), np.float32), "w")])
    proto = helper.make_model(graph, ir_version=10)
    with pytest.raises(UnsupportedModelError, match=r"NonZero \(nodes: nz1, nz2\); Unique \(nodes: uniq\)"):
        edgewasm.compile(proto.SerializeToString(), tmp_path / "x")
    dyn = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", ["N", "seq"])], [("y", ["N", "seq"])])
    with pytest.raises(DynamicShapeError, match="'seq'"):
        edgewasm.compile(dyn.SerializeToString(), tmp_path / "x")


def test_model_beyond_wasm32_memory_is_refused(tmp_path):
    proto = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", [70000, 70000])], [("y", [70000, 70000])])
    with pytest.raises(UnsupportedModelError, match="compile limit of 2.0 GiB"):
        edgewasm.compile(proto.SerializeToString(), tmp_path / "x")
    with pytest.raises(UnsupportedModelError, match="wasm32 allows"):  # beyond what any limit can allow
        edgewasm.compile(proto.SerializeToString(), tmp_path / "x", max_bytes=64 << 30)


@pytest.mark.parametrize("memory,limits", [
    ('(memory (export "memory") 1)', (1, None)),
    ('(memory (export "memory") 1 1)', (1, 1)),  # fixed: the hosts keep their views of it
    ('(memory (export "memory") 2 300)', (2, 300)),
    ("", (0, None)),
])
def test_memory_limits_are_read_from_the_binary(memory, limits):
    import wasmtime

    from edgewasm.runtime.sandbox import memory_limits, memory_pages

    wasm = bytes(wasmtime.wat2wasm(f"(module {memory} (func (export \"run\") (result i32) (i32.const 0)))"))
    assert memory_limits(wasm) == limits and memory_pages(wasm) == limits[0]
