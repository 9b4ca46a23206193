"""Data movement and structural ops through the public API (compile, load, run in wasmtime), in
the dtypes ONNX allows them: Pad (every mode and opset spelling), Split, Tile, Trilu, DepthToSpace,
SpaceToDepth, ReverseSequence, EyeLike, Einsum, CenterCropPad and Compress. Outputs must equal
onnxruntime's on the original graph (bytes only move: exactly, in the same dtype and shape; Einsum's
float arithmetic within the fp32 contract), and the variant's reference.onnx must agree too."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm.engines import run_onnxruntime
from edgewasm.errors import ModelFormatError, UnsupportedModelError

DTYPES = {"float32": TensorProto.FLOAT, "int64": TensorProto.INT64, "bool": TensorProto.BOOL,
          "float16": TensorProto.FLOAT16, "uint8": TensorProto.UINT8, "int32": TensorProto.INT32,
          "float64": TensorProto.DOUBLE, "int8": TensorProto.INT8, "bfloat16": TensorProto.BFLOAT16}
MAIN_DTYPES = ["float32", "int64", "bool", "float16", "uint8"]


def make(nodes, inputs, outputs, inits=None, opset=18):
    """A model of `nodes`; inputs/outputs are {name: (dtype name, shape or None)}."""
    nodes = [nodes] if isinstance(nodes, onnx.NodeProto) else nodes
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, DTYPES[d], s) for n, (d, s) in inputs.items()],
        [helper.make_tensor_value_info(n, DTYPES[d], s) for n, (d, s) in outputs.items()],
        [_tensor(k, v) for k, v in (inits or {}).items()])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(proto).graph.output}
    for output in proto.graph.output:  # an output given without a shape takes the inferred one
        if not output.type.tensor_type.HasField("shape") and inferred[output.name].type.tensor_type.HasField("shape"):
            output.CopyFrom(inferred[output.name])
    return proto


def _tensor(name, value):
    value = np.asarray(value)
    if value.dtype == ml_dtypes.bfloat16:
        return helper.make_tensor(name, TensorProto.BFLOAT16, value.shape,
                                  value.view(np.uint16).reshape(-1).tolist())
    return numpy_helper.from_array(value, name)


def sample(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype in ("float32", "float16", "float64", "bfloat16"):
        return (rng.standard_normal(shape) * 10).astype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -1000), min(info.max, 1000), shape, endpoint=True).astype(dtype)


def ort_session(proto):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


def check(tmp_path, proto, feeds, exact=True, shapes=None, reference=True):
    """Compile, run, compare with onnxruntime on the original graph and on the variant's
    reference.onnx; returns the module's outputs."""
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle", shapes=shapes)
    got = edgewasm.load(tmp_path / "bundle").run(feeds)
    session = ort_session(proto)
    want = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    engines = [want] + ([run_onnxruntime(tmp_path / "bundle", feeds)] if reference else [])
    assert set(got) == set(want)
    for expected in engines:
        for name in want:
            a, b = got[name], expected[name]
            assert a.dtype == b.dtype and a.shape == b.shape, (name, a.dtype, a.shape, b.dtype, b.shape)
            if exact:
                np.testing.assert_array_equal(a.view(np.uint8) if a.dtype.kind == "f" else a,
                                              b.view(np.uint8) if b.dtype.kind == "f" else b, err_msg=name)
            else:
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=name)
    return got


def compile_error(tmp_path, proto, shapes=None):
    path = tmp_path / "bad.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bad_bundle", shapes=shapes)


def i64(values):
    return np.array(values, np.int64)


# -- Pad -------------------------------------------------------------------------------------------

PADS = [  # (shape, pads): both sides, one side, the last axis, cropping, rank 1 and rank 5
    ((2, 3, 4, 5), [0, 0, 1, 2, 0, 0, 2, 1]),
    ((2, 3, 4, 5), [0, 1, 0, 3, 1, 0, 2, 0]),
    ((3, 7), [0, 2, 0, 3]),
    ((4, 6), [-1, 2, 1, -2]),
    ((9,), [3, 4]),
    ((2, 1, 3, 2, 3), [1, 0, 1, 1, 2, 0, 1, 0, 1, 1]),
    ((3, 4, 70), [1, -1, 0, 0, 2, 0]),  # rows of >= 64 float32: the f32_pad_rows path
]


@pytest.mark.parametrize("dtype", MAIN_DTYPES)
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
@pytest.mark.parametrize("shape, pads", PADS)
def test_pad_modes_in_every_dtype(tmp_path, dtype, mode, shape, pads):
    if mode == "reflect" and len(shape) == 5:
        pytest.skip("reflect pads an axis of one element (refused, see test_pad_errors)")
    x = sample(shape, dtype)
    inits = {"pads": i64(pads)}
    inputs = ["x", "pads"]
    if mode == "constant":
        inits["value"] = np.array(sample((), dtype, seed=9) if dtype != "bool" else True, x.dtype)
        inputs.append("value")
    proto = make(helper.make_node("Pad", inputs, ["y"], mode=mode), {"x": (dtype, shape)}, {"y": (dtype, None)}, inits)
    got = check(tmp_path, proto, {"x": x})
    width = [(p, q) for p, q in zip(pads[:len(shape)], pads[len(shape):])]
    if min(pads) >= 0:  # numpy agrees too
        kwargs = {"constant_values": inits["value"]} if mode == "constant" else {}
        np.testing.assert_array_equal(got["y"], np.pad(x, width, mode=mode, **kwargs))


@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8", "float16"])
@pytest.mark.parametrize("shape, pads", [((2, 3, 4, 5), [0, 0, 1, 2, 0, 0, 2, 1]), ((3, 7), [2, 5, 1, 3]),
                                         ((9,), [4, 7])])
def test_pad_wrap(tmp_path, dtype, shape, pads):
    x = sample(shape, dtype)
    proto = make(helper.make_node("Pad", ["x", "pads"], ["y"], mode="wrap"), {"x": (dtype, shape)},
                 {"y": (dtype, None)}, {"pads": i64(pads)}, opset=19)
    got = check(tmp_path, proto, {"x": x})
    width = [(p, q) for p, q in zip(pads[:len(shape)], pads[len(shape):])]
    np.testing.assert_array_equal(got["y"], np.pad(x, width, mode="wrap"))


@pytest.mark.parametrize("dtype", ["float32", "int32", "float16", "bool"])
def test_pad_with_a_fill_computed_at_run_time(tmp_path, dtype):
    x, v = sample((2, 5, 3), dtype), np.asarray(sample((), dtype, seed=4))
    proto = make(helper.make_node("Pad", ["x", "pads", "v"], ["y"]), {"x": (dtype, (2, 5, 3)), "v": (dtype, ())},
                 {"y": (dtype, None)}, {"pads": i64([1, 0, 2, 0, 3, 1])})
    got = check(tmp_path, proto, {"x": x, "v": v})
    assert (got["y"][0] == v).all() and (got["y"][1:, :5, 2:5] == x).all() and (got["y"][1:, 5:] == v).all()


@pytest.mark.parametrize("opset", [2, 11, 13, 18])
def test_pad_opset_spellings(tmp_path, opset):
    x = sample((2, 3, 4), "float32")
    if opset == 2:
        node = helper.make_node("Pad", ["x"], ["y"], pads=[0, 1, 2, 0, 0, 1], value=1.5)
        inits = {}
    elif opset == 18:  # axes input: pads for the listed axes only, negative axes count from the end
        node = helper.make_node("Pad", ["x", "pads", "value", "axes"], ["y"], mode="edge")
        inits = {"pads": i64([1, 2, 0, 3]), "value": np.float32(0), "axes": i64([-1, 1])}
    else:
        node = helper.make_node("Pad", ["x", "pads", "value"], ["y"], mode="reflect")
        inits = {"pads": i64([0, 1, 2, 0, 0, 1]), "value": np.float32(0)}
    proto = make(node, {"x": ("float32", (2, 3, 4))}, {"y": ("float32", None)}, inits, opset=opset)
    check(tmp_path, proto, {"x": x})


def test_pad_float32_nan_payloads_and_negative_zero_move_exactly(tmp_path):
    x = np.array([[np.nan, -0.0, 1.0], [np.inf, -np.inf, 2.0]], np.float32)
    x.view(np.uint32)[0, 0] = 0x7FC01234
    inits = {"pads": i64([1, 1, 1, 1]), "value": np.array(-0.0, np.float32)}
    proto = make(helper.make_node("Pad", ["x", "pads", "value"], ["y"]), {"x": ("float32", (2, 3))},
                 {"y": ("float32", None)}, inits)
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "b")
    y = edgewasm.load(tmp_path / "b").run({"x": x})["y"]
    assert y.view(np.uint32)[1, 1] == 0x7FC01234 and y.view(np.uint32)[0, 0] == 0x80000000


def test_pad_errors(tmp_path):
    x = {"x": ("float32", (2, 3))}
    bad_mode = make(helper.make_node("Pad", ["x", "pads"], ["y"], mode="mirror"), x, {"y": ("float32", None)},
                    {"pads": i64([1, 1, 1, 1])})
    with pytest.raises(ModelFormatError, match="mode 'mirror'"):
        compile_error(tmp_path, bad_mode)
    runtime_pads = make(helper.make_node("Pad", ["x", "p"], ["y"]), {**x, "p": ("int64", (4,))},
                        {"y": ("float32", None)})
    with pytest.raises(UnsupportedModelError, match="pads must be a constant"):
        compile_error(tmp_path, runtime_pads)
    reflect_empty = make(helper.make_node("Pad", ["x", "pads"], ["y"], mode="reflect"), x, {"y": ("float32", None)},
                         {"pads": i64([-2, 0, 1, 0])})
    with pytest.raises(ModelFormatError, match="reflect padding of an empty axis"):
        compile_error(tmp_path, reflect_empty)
    reflect_far = make(helper.make_node("Pad", ["x", "pads"], ["y"], mode="reflect"), x, {"y": ("float32", None)},
                       {"pads": i64([0, 3, 0, 0])})
    with pytest.raises(ModelFormatError, match="reflect pads 3, 0 of axis 1 exceed"):
        compile_error(tmp_path, reflect_far)
    wrap_early = make(helper.make_node("Pad", ["x", "pads"], ["y"], mode="wrap"), x, {"y": ("float32", None)},
                      {"pads": i64([0, 1, 0, 0])})
    with pytest.raises(ModelFormatError, match="'wrap' needs opset 19"):
        compile_error(tmp_path, wrap_early)
