"""Integer and boolean tensors at the boundary and inside the module, symbolic dimensions fixed with
--shape / shapes=, and run-time indices that stop run() with a typed error: through the public API
and the CLI, against onnxruntime on the original graph."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import edgewasm
from edgewasm.errors import DynamicShapeError, IndexOutOfRangeError, UnsupportedModelError

INT64, BOOL, FLOAT, INT32 = TensorProto.INT64, TensorProto.BOOL, TensorProto.FLOAT, TensorProto.INT32


def model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(*i) for i in inputs],
                              [helper.make_tensor_value_info(*o) for o in outputs], list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def compile_and_run(tmp_path, proto, feeds, shapes=None):
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", shapes=shapes)
    got = edgewasm.load(tmp_path / "b").run(feeds)
    want = dict(zip([o.name for o in proto.graph.output],
                    ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)))
    return got, want


def assert_same(got, want):
    assert set(got) == set(want)
    for name in want:
        assert got[name].dtype == want[name].dtype, (name, got[name].dtype, want[name].dtype)
        assert got[name].shape == want[name].shape, (name, got[name].shape, want[name].shape)
        if want[name].dtype.kind == "f":
            np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-5)
        else:
            np.testing.assert_array_equal(got[name], want[name])


def attention_mask_model():
    """What text exporters emit around a padding mask: token ids gathered from an embedding table,
    the int64 mask compared, negated and cast, positions from the mask, an additive float mask."""
    vocab, hidden = 50, 8
    table = helper.make_tensor("table", FLOAT, [vocab, hidden],
                               np.random.default_rng(0).standard_normal(vocab * hidden).astype(np.float32))
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["embedded"]),
        helper.make_node("Equal", ["mask", "zero"], ["padded"]),
        helper.make_node("Not", ["padded"], ["kept"]),
        helper.make_node("Cast", ["kept"], ["kept_f"], to=FLOAT),
        helper.make_node("Where", ["padded", "neg", "fzero"], ["additive"]),
        helper.make_node("Mul", ["mask", "ids"], ["masked_ids"]),
        helper.make_node("Sub", ["masked_ids", "one"], ["shifted"]),
        helper.make_node("Greater", ["shifted", "one"], ["big"]),
        helper.make_node("Mod", ["ids", "seven"], ["bucket"]),
        helper.make_node("Max", ["ids", "mask"], ["maxed"]),
    ]
    inits = [table, helper.make_tensor("zero", INT64, [], [0]), helper.make_tensor("one", INT64, [], [1]),
             helper.make_tensor("seven", INT64, [], [-7]), helper.make_tensor("neg", FLOAT, [], [-1e9]),
             helper.make_tensor("fzero", FLOAT, [], [0.0])]
    return model(nodes, [("ids", INT64, ["batch", "seq"]), ("mask", INT64, ["batch", "seq"])],
                 [("embedded", FLOAT, ["batch", "seq", hidden])]
                 + [(name, kind, ["batch", "seq"]) for name, kind in (("kept_f", FLOAT), ("additive", FLOAT), ("shifted", INT64),
                                                                      ("big", BOOL), ("bucket", INT64), ("maxed", INT64))],
                 inits)


def test_token_ids_and_masks_compute_in_the_module(tmp_path):
    rng = np.random.default_rng(1)
    ids = rng.integers(-50, 50, (2, 6)).astype(np.int64)  # negative ids count from the end, as ONNX says
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], np.int64)
    got, want = compile_and_run(tmp_path, attention_mask_model(), {"ids": ids, "mask": mask},
                                shapes={"ids": (2, 6), "mask": (2, 6)})
    assert_same(got, want)
    spec = edgewasm.load(tmp_path / "b").variant
    assert [(t.name, t.dtype) for t in spec.inputs] == [("ids", "int64"), ("mask", "int64")]
    assert {t.name: t.dtype for t in spec.outputs}["big"] == "bool"


def test_an_index_out_of_range_stops_run_with_a_typed_error(tmp_path):
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 50, (2, 6)).astype(np.int64)
    mask = np.ones((2, 6), np.int64)
    compile_and_run(tmp_path, attention_mask_model(), {"ids": ids, "mask": mask}, shapes={"ids": (2, 6), "mask": (2, 6)})
    loaded = edgewasm.load(tmp_path / "b")
    ids[1, 3] = 50
    with pytest.raises(IndexOutOfRangeError, match="Gather node .*an index is out of range"):
        loaded.run({"ids": ids, "mask": mask})
    ids[1, 3] = -51
    with pytest.raises(IndexOutOfRangeError):
        loaded.run({"ids": ids, "mask": mask})
    ids[1, 3] = 49  # the model stays usable
    assert loaded.run({"ids": ids, "mask": mask})["embedded"].shape == (2, 6, 8)


@pytest.mark.parametrize("source, target", [
    (TensorProto.FLOAT, TensorProto.INT64), (TensorProto.FLOAT, TensorProto.UINT8), (TensorProto.FLOAT, TensorProto.BOOL),
    (TensorProto.INT64, TensorProto.FLOAT), (TensorProto.INT32, TensorProto.INT8), (TensorProto.BOOL, TensorProto.INT32),
    (TensorProto.UINT16, TensorProto.FLOAT16), (TensorProto.FLOAT, TensorProto.DOUBLE), (TensorProto.DOUBLE, TensorProto.INT16),
    (TensorProto.UINT64, TensorProto.FLOAT), (TensorProto.INT16, TensorProto.UINT32),
])
def test_cast_between_dtypes_matches_onnxruntime(tmp_path, source, target):
    rng = np.random.default_rng(source * 31 + target)
    dtype = helper.tensor_dtype_to_np_dtype(source)
    if dtype.kind == "f":
        x = (rng.standard_normal((3, 7)) * 60).astype(dtype)
        if helper.tensor_dtype_to_np_dtype(target).kind in "ui":  # in range of the target: C leaves the rest open
            info = np.iinfo(helper.tensor_dtype_to_np_dtype(target))
            x = np.clip(x, max(info.min, -1e6), min(info.max, 1e6)).astype(dtype)
    elif dtype == np.bool_:
        x = rng.integers(0, 2, (3, 7)).astype(bool)
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, (3, 7), dtype=dtype, endpoint=True)
    proto = model([helper.make_node("Cast", ["x"], ["y"], to=target)], [("x", source, [3, 7])], [("y", target, [3, 7])])
    got, want = compile_and_run(tmp_path, proto, {"x": x})
    assert_same(got, want)


def test_shape_fixes_any_dimension_and_names_what_is_missing(tmp_path):
    proto = model([helper.make_node("Relu", ["x"], ["y"])], [("x", FLOAT, ["n", 3, "h", "w"])], [("y", FLOAT, ["n", 3, "h", "w"])])
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(DynamicShapeError, match=r"input .x. has a symbolic dimension .h. at axis 2; fix it with --shape x=1,3,\?,\?"):
        edgewasm.compile(path, tmp_path / "b")
    with pytest.raises(DynamicShapeError, match="axis 1 of input 'x' is 3, not 4"):
        edgewasm.compile(path, tmp_path / "b", shapes={"x": (1, 4, 5, 6)})
    with pytest.raises(UnsupportedModelError, match="'z', which the model does not take"):
        edgewasm.compile(path, tmp_path / "b", shapes={"z": (1,)})
    edgewasm.compile(path, tmp_path / "b", shapes={"x": (2, 3, 5, 7)})
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 7)).astype(np.float32)
    np.testing.assert_array_equal(edgewasm.load(tmp_path / "b").run({"x": x})["y"], np.maximum(x, 0))


def cli(*args):
    return subprocess.run([sys.executable, "-m", "edgewasm.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_cli_shape_flag_compiles_and_check_runs_integer_inputs(tmp_path):
    (tmp_path / "m.onnx").write_bytes(attention_mask_model().SerializeToString())
    result = cli("compile", tmp_path / "m.onnx", "-o", tmp_path / "b")
    assert result.returncode == 2 and "fix it with --shape ids=" in result.stderr and "Traceback" not in result.stderr
    result = cli("compile", tmp_path / "m.onnx", "-o", tmp_path / "b", "--shape", "ids=1,5", "--shape", "mask=1,5")
    assert result.returncode == 0, result.stderr
    result = cli("compile", tmp_path / "m.onnx", "-o", tmp_path / "c", "--shape", "ids=1,x")
    assert result.returncode == 2 and "--shape 'ids=1,x'" in result.stderr
    ids = np.array([[3, 1, 4, 1, 5]], np.int64)
    np.save(tmp_path / "ids.npy", ids)
    np.save(tmp_path / "mask.npy", np.array([[1, 1, 1, 0, 0]], np.int64))
    result = cli("run", tmp_path / "b", "--input", f"ids={tmp_path / 'ids.npy'}", "--input",
                 f"mask={tmp_path / 'mask.npy'}", "-o", tmp_path / "out.npz")
    assert result.returncode == 0, result.stderr
    out = np.load(tmp_path / "out.npz")
    assert out["big"].dtype == np.bool_ and out["bucket"].dtype == np.int64
    np.testing.assert_array_equal(out["bucket"], np.mod(ids, -7))


@pytest.mark.parametrize("half", [TensorProto.FLOAT16, TensorProto.BFLOAT16])
def test_half_precision_models_compute_float32_ops_between_casts(tmp_path, half):
    """A model exported in float16 (or bfloat16): ops with float32 kernels run in float32 between
    casts, as onnxruntime's CPU provider does, and the outputs keep the model's dtype."""
    kind = helper.tensor_dtype_to_np_dtype(half)
    rng = np.random.default_rng(half)

    def weight(name, *shape):
        return helper.make_tensor(name, half, shape, rng.standard_normal(shape).astype(np.float32).astype(kind)
                                  .view(np.uint16).tobytes(), raw=True)

    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "fc", "fc_b"], ["logits"], transB=1),
             helper.make_node("Softmax", ["logits"], ["probabilities"]),
             helper.make_node("ArgMax", ["logits"], ["label"], axis=1)]
    proto = model(nodes, [("x", half, [1, 3, 8, 8])], [("probabilities", half, [1, 5]), ("label", INT64, [1, 1])],
                  [weight("w", 4, 3, 3, 3), weight("b", 4), weight("fc", 5, 4), weight("fc_b", 5)])
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32).astype(kind)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    got = edgewasm.load(tmp_path / "b").run({"x": x})
    assert got["probabilities"].dtype == kind and got["label"].dtype == np.int64
    if half == TensorProto.FLOAT16:
        want = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
        np.testing.assert_allclose(got["probabilities"].astype(np.float32), want[0].astype(np.float32), atol=2e-3)
        np.testing.assert_array_equal(got["label"], want[1])
    else:  # onnxruntime has no bfloat16 Conv on CPU: the float32 model, rounded, is the reference
        wide = helper.make_model(proto.graph, opset_imports=proto.opset_import, ir_version=10)
        wide.graph.input[0].type.tensor_type.elem_type = TensorProto.FLOAT
        wide.graph.output[0].type.tensor_type.elem_type = TensorProto.FLOAT
        for init in wide.graph.initializer:
            values = np.frombuffer(init.raw_data, np.uint16).view(kind).astype(np.float32)
            init.CopyFrom(helper.make_tensor(init.name, TensorProto.FLOAT, init.dims, values))
        want = ort.InferenceSession(wide.SerializeToString(), providers=["CPUExecutionProvider"]).run(
            None, {"x": x.astype(np.float32)})
        np.testing.assert_allclose(got["probabilities"].astype(np.float32), want[0], atol=1e-2)
