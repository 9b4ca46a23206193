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
          "float64": TensorProto.DOUBLE, "int8": TensorProto.INT8, "bfloat16": TensorProto.BFLOAT16,
          "uint16": TensorProto.UINT16}
MAIN_DTYPES = ["float32", "int64", "bool", "float16", "uint8"]
NotImplementedError_ = ort.capi.onnxruntime_pybind11_state.NotImplemented


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
                                  value.astype(np.float32).reshape(-1).tolist())  # exact both ways
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


def oracle(proto, feeds):
    """onnxruntime on the original graph; onnx's reference evaluator where onnxruntime has no kernel
    for the dtype (DepthToSpace of int64 or bool, Trilu of uint8 or bool, some EyeLike dtypes)."""
    try:
        session = ort_session(proto)
    except NotImplementedError_ as exc:
        if "Could not find an implementation" not in str(exc):
            raise
        from onnx.reference import ReferenceEvaluator

        values = ReferenceEvaluator(proto).run(None, feeds)
        return {o.name: np.asarray(v) for o, v in zip(proto.graph.output, values)}
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


def check(tmp_path, proto, feeds, exact=True, shapes=None, reference=True, rtol=1e-4, atol=1e-5):
    """Compile, run, compare with onnxruntime on the original graph and on the variant's
    reference.onnx; returns the module's outputs."""
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle", shapes=shapes)
    got = edgewasm.load(tmp_path / "bundle").run(feeds)
    want = oracle(proto, feeds)
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
                np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol,
                                           err_msg=name)
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


# -- Split -----------------------------------------------------------------------------------------

SPLITS = [  # (opset, shape, axis, how, chunks the outputs get)
    (2, (6, 4), 0, "attribute", [2, 4]),
    (11, (3, 10), -1, "attribute", [3, 3, 4]),
    (11, (4, 6), 1, "equal", [2, 2, 2]),
    (13, (2, 9, 3), 1, "input", [1, 0, 8]),
    (13, (12,), 0, "equal", [4, 4, 4]),
    (18, (2, 7, 3), 1, "num_outputs", [3, 3, 1]),
    (18, (10, 4), 0, "num_outputs", [4, 4, 2]),
    (18, (2, 9), 1, "num_outputs", [3, 3, 3, 0]),  # ceil(9/4) chunks: the last one empty
    (18, (3,), 0, "num_outputs", [1, 1, 1, 0]),
    (18, (2, 8), 1, "input", [5, 3]),
]


@pytest.mark.parametrize("dtype", MAIN_DTYPES)
@pytest.mark.parametrize("opset, shape, axis, how, chunks", SPLITS)
def test_split_every_spelling_and_dtype(tmp_path, dtype, opset, shape, axis, how, chunks):
    outputs = [f"y{i}" for i in range(len(chunks))]
    inputs, inits, attrs = ["x"], {}, {"axis": axis}
    if how == "attribute":
        attrs["split"] = chunks
    elif how == "input":
        inputs.append("split")
        inits["split"] = i64(chunks)
    elif how == "num_outputs":
        attrs["num_outputs"] = len(chunks)
    proto = make(helper.make_node("Split", inputs, outputs, **attrs), {"x": (dtype, shape)},
                 {o: (dtype, None) for o in outputs}, inits, opset=opset)
    x = sample(shape, dtype)
    got = check(tmp_path, proto, {"x": x})
    for name, part in zip(outputs, np.split(x, np.cumsum(chunks)[:-1], axis=axis)):
        np.testing.assert_array_equal(got[name], part)


def test_split_feeding_other_ops_and_a_single_output(tmp_path):
    """GPT-2's attention split: a [batch, seq, 3 * hidden] projection into q, k, v that are read on."""
    nodes = [helper.make_node("Split", ["x"], ["q", "k", "v"], axis=2, num_outputs=3),
             helper.make_node("Add", ["q", "k"], ["qk"]), helper.make_node("Mul", ["qk", "v"], ["y"]),
             helper.make_node("Split", ["x"], ["whole"], axis=0, num_outputs=1)]
    proto = make(nodes, {"x": ("float32", (2, 5, 12))}, {"y": ("float32", None), "whole": ("float32", None)})
    check(tmp_path, proto, {"x": sample((2, 5, 12), "float32")})


def test_split_errors(tmp_path):
    x = {"x": ("float32", (2, 7))}
    uneven = make(helper.make_node("Split", ["x"], ["a", "b"], axis=1), x, {"a": ("float32", (2, 3)), "b": ("float32", (2, 4))},
                  opset=13)
    with pytest.raises(ModelFormatError, match="does not split into 2 equal parts"):
        compile_error(tmp_path, uneven)
    wrong_sum = make(helper.make_node("Split", ["x", "s"], ["a", "b"], axis=1), x,
                     {"a": ("float32", (2, 3)), "b": ("float32", (2, 3))}, {"s": i64([3, 3])}, opset=13)
    with pytest.raises(ModelFormatError, match=r"chunks \[3, 3\] do not split an axis of 7"):
        compile_error(tmp_path, wrong_sum)
    runtime = make(helper.make_node("Split", ["x", "s"], ["a", "b"], axis=1), {**x, "s": ("int64", (2,))},
                   {"a": ("float32", (2, 3)), "b": ("float32", (2, 4))}, opset=13)
    with pytest.raises(UnsupportedModelError, match="split must be a constant"):
        compile_error(tmp_path, runtime)


# -- Tile ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", MAIN_DTYPES)
@pytest.mark.parametrize("shape, repeats", [((2, 3), [2, 3]), ((3, 1, 4), [1, 5, 1]), ((5,), [4]),
                                            ((2, 3, 4), [1, 1, 3]), ((2, 2), [0, 2]), ((1, 3, 2, 2), [2, 1, 2, 1])])
def test_tile(tmp_path, dtype, shape, repeats):
    x = sample(shape, dtype)
    proto = make(helper.make_node("Tile", ["x", "r"], ["y"]), {"x": (dtype, shape)}, {"y": (dtype, None)},
                 {"r": i64(repeats)})
    got = check(tmp_path, proto, {"x": x})
    np.testing.assert_array_equal(got["y"], np.tile(x, repeats))


def test_tile_opset_1_tiles_and_axis(tmp_path):
    x = sample((2, 3), "float32")
    proto = make(helper.make_node("Tile", ["x", "tiles", "axis"], ["y"]), {"x": ("float32", (2, 3))},
                 {"y": ("float32", (2, 9))}, {"tiles": i64(3), "axis": i64(1)}, opset=5)
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "b")
    np.testing.assert_array_equal(edgewasm.load(tmp_path / "b").run({"x": x})["y"], np.tile(x, [1, 3]))


def test_tile_of_a_run_time_repeat_count_is_refused(tmp_path):
    proto = make(helper.make_node("Tile", ["x", "r"], ["y"]), {"x": ("float32", (2, 3)), "r": ("int64", (2,))},
                 {"y": ("float32", (2, 3))})
    with pytest.raises(UnsupportedModelError, match="repeats must be a constant"):
        compile_error(tmp_path, proto)


# -- DepthToSpace / SpaceToDepth -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", MAIN_DTYPES)
@pytest.mark.parametrize("mode", ["DCR", "CRD"])
@pytest.mark.parametrize("shape, block", [((1, 8, 2, 3), 2), ((2, 18, 3, 2), 3), ((1, 4, 1, 1), 1)])
def test_depth_to_space(tmp_path, dtype, mode, shape, block):
    proto = make(helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=block, mode=mode), {"x": (dtype, shape)},
                 {"y": (dtype, None)})
    check(tmp_path, proto, {"x": sample(shape, dtype)})


@pytest.mark.parametrize("dtype", MAIN_DTYPES)
@pytest.mark.parametrize("shape, block", [((1, 2, 4, 6), 2), ((2, 3, 6, 3), 3)])
def test_space_to_depth_and_back(tmp_path, dtype, shape, block):
    nodes = [helper.make_node("SpaceToDepth", ["x"], ["d"], blocksize=block),
             helper.make_node("DepthToSpace", ["d"], ["y"], blocksize=block, mode="DCR")]
    proto = make(nodes, {"x": (dtype, shape)}, {"d": (dtype, None), "y": (dtype, None)})
    x = sample(shape, dtype)
    got = check(tmp_path, proto, {"x": x})
    np.testing.assert_array_equal(got["y"], x)


def test_depth_to_space_errors(tmp_path):
    proto = make(helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2), {"x": ("float32", (1, 6, 2, 2))},
                 {"y": ("float32", (1, 1, 4, 4))})
    with pytest.raises(ModelFormatError, match="6 channels are not a multiple of blocksize"):
        compile_error(tmp_path, proto)
    proto = make(helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=2), {"x": ("float32", (1, 1, 3, 4))},
                 {"y": ("float32", (1, 4, 1, 2))})
    with pytest.raises(ModelFormatError, match="3x4 is not a multiple of blocksize 2"):
        compile_error(tmp_path, proto)


# -- Trilu -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", MAIN_DTYPES)
@pytest.mark.parametrize("upper", [0, 1])
@pytest.mark.parametrize("shape, k", [((4, 5), None), ((4, 5), 2), ((2, 3, 5, 4), -1), ((3, 3), -5), ((6, 2), 7)])
def test_trilu(tmp_path, dtype, upper, shape, k):
    inputs, inits = ["x"], {}
    if k is not None:
        inputs.append("k")
        inits["k"] = i64(k)
    proto = make(helper.make_node("Trilu", inputs, ["y"], upper=upper), {"x": (dtype, shape)}, {"y": (dtype, None)},
                 inits, opset=14)
    x = sample(shape, dtype)
    got = check(tmp_path, proto, {"x": x})
    np.testing.assert_array_equal(got["y"], (np.triu if upper else np.tril)(x, k or 0))


def test_trilu_with_a_run_time_k_is_refused(tmp_path):
    proto = make(helper.make_node("Trilu", ["x", "k"], ["y"]), {"x": ("float32", (3, 3)), "k": ("int64", ())},
                 {"y": ("float32", (3, 3))}, opset=14)
    with pytest.raises(UnsupportedModelError, match="k must be a constant"):
        compile_error(tmp_path, proto)


# -- EyeLike ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, out", [("float32", None), ("int64", None), ("float32", "int32"),
                                        ("int32", "float16"), ("uint8", "bool"), ("float16", "float64")])
@pytest.mark.parametrize("shape, k", [((4, 4), 0), ((3, 5), 1), ((5, 3), -2), ((2, 3), 4)])
def test_eye_like_as_a_graph_output(tmp_path, dtype, out, shape, k):
    attrs = {"k": k} if k else {}
    if out is not None:
        attrs["dtype"] = DTYPES[out]
    proto = make(helper.make_node("EyeLike", ["x"], ["y"], **attrs), {"x": (dtype, shape)},
                 {"y": (out or dtype, None)}, opset=9)
    got = check(tmp_path, proto, {"x": sample(shape, dtype)})
    np.testing.assert_array_equal(got["y"], np.eye(*shape, k=k).astype(out or dtype))


def test_eye_like_read_by_another_op_folds(tmp_path):
    nodes = [helper.make_node("EyeLike", ["x"], ["eye"], k=1), helper.make_node("Add", ["x", "eye"], ["y"])]
    proto = make(nodes, {"x": ("int64", (3, 4))}, {"y": ("int64", None)})
    check(tmp_path, proto, {"x": sample((3, 4), "int64")})


# -- Compress --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", MAIN_DTYPES)
@pytest.mark.parametrize("shape, axis, keep", [((3, 4), 0, [1, 0, 1]), ((3, 4), 1, [0, 1, 1]),
                                               ((2, 3, 4), -1, [1, 1, 0, 1]), ((2, 3), None, [0, 1, 1, 0, 1]),
                                               ((3, 2), 0, [0, 0, 0])])
def test_compress_with_a_constant_condition(tmp_path, dtype, shape, axis, keep):
    attrs = {} if axis is None else {"axis": axis}
    proto = make(helper.make_node("Compress", ["x", "c"], ["y"], **attrs), {"x": (dtype, shape)},
                 {"y": (dtype, None)}, {"c": np.array(keep, bool)}, opset=11)
    x = sample(shape, dtype)
    got = check(tmp_path, proto, {"x": x})
    np.testing.assert_array_equal(got["y"], np.compress(keep, x, axis=axis))


def test_compress_with_a_run_time_condition_is_refused(tmp_path):
    proto = make(helper.make_node("Compress", ["x", "c"], ["y"], axis=0), {"x": ("float32", (3, 2)), "c": ("bool", (3,))},
                 {"y": ("float32", None)}, opset=11)
    with pytest.raises(UnsupportedModelError, match="condition must be a constant"):
        compile_error(tmp_path, proto)


# -- CenterCropPad ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", MAIN_DTYPES)
@pytest.mark.parametrize("shape, target, axes", [((5, 6, 3), [3, 9, 3], None), ((4, 7, 2), [6, 2], [0, 1]),
                                                 ((3, 10, 8), [7, 5], [-1, -2]), ((2, 4), [4, 2], [1, 0])])
def test_center_crop_pad(tmp_path, dtype, shape, target, axes):
    attrs = {} if axes is None else {"axes": axes}
    proto = make(helper.make_node("CenterCropPad", ["x", "s"], ["y"], **attrs), {"x": (dtype, shape)},
                 {"y": (dtype, None)}, {"s": i64(target)})
    check(tmp_path, proto, {"x": sample(shape, dtype)})


# -- ReverseSequence -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", MAIN_DTYPES)
@pytest.mark.parametrize("time_axis", [0, 1])
@pytest.mark.parametrize("constant", [True, False])
def test_reverse_sequence(tmp_path, dtype, time_axis, constant):
    time, batch = 5, 4
    shape = (time, batch, 3) if time_axis == 0 else (batch, time, 2, 2)
    lens = i64([5, 0, 2, 1])
    inputs = {"x": (dtype, shape)}
    if not constant:
        inputs["lens"] = ("int64", (batch,))
    proto = make(helper.make_node("ReverseSequence", ["x", "lens"], ["y"], time_axis=time_axis, batch_axis=1 - time_axis),
                 inputs, {"y": (dtype, None)}, {"lens": lens} if constant else None, opset=10)
    feeds = {"x": sample(shape, dtype)}
    if not constant:
        feeds["lens"] = lens
    check(tmp_path, proto, feeds)


def test_reverse_sequence_rank_2_and_lengths_out_of_range(tmp_path):
    proto = make(helper.make_node("ReverseSequence", ["x", "lens"], ["y"], time_axis=1, batch_axis=0),
                 {"x": ("float16", (3, 6)), "lens": ("int64", (3,))}, {"y": ("float16", None)}, opset=10)
    x = sample((3, 6), "float16")
    check(tmp_path, proto, {"x": x, "lens": i64([6, 3, 1])})
    model = edgewasm.load(tmp_path / "bundle")
    for bad in ([7, 1, 1], [1, -1, 1]):
        with pytest.raises(edgewasm.errors.IndexOutOfRangeError, match="ReverseSequence node .*sequence length"):
            model.run({"x": x, "lens": i64(bad)})
    assert model.run({"x": x, "lens": i64([0, 0, 0])})["y"].tobytes() == x.tobytes()  # still usable
    constant = make(helper.make_node("ReverseSequence", ["x", "lens"], ["y"]), {"x": ("float32", (3, 2))},
                    {"y": ("float32", None)}, {"lens": i64([4, 1])}, opset=10)
    with pytest.raises(ModelFormatError, match=r"sequence_lens \[4, 1\] must lie in \[0, 3\]"):
        compile_error(tmp_path, constant)


# -- Einsum ----------------------------------------------------------------------------------------

EQUATIONS = [  # (equation, input shapes)
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (1, 5, 4, 6)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 8), (2, 3, 5, 8)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(5, 5)]),
    ("bii->bi", [(3, 4, 4)]),
    ("iij,jk->ik", [(3, 3, 4), (4, 2)]),
    ("ij->ji", [(3, 5)]),
    ("ij->", [(3, 5)]),
    ("i,i", [(7,), (7,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("abc,cd,de->abe", [(2, 3, 4), (4, 5), (5, 2)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("Ab,bA", [(3, 4), (4, 3)]),
    ("...j,j", [(2, 3, 4), (4,)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("ijk,ikj->i", [(2, 3, 4), (2, 4, 3)]),
    ("ij,kl->ijkl", [(2, 3), (1, 2)]),
]


@pytest.mark.parametrize("equation, shapes", EQUATIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "float16"])
def test_einsum_equations_and_dtypes(tmp_path, equation, shapes, dtype):
    names = [f"x{i}" for i in range(len(shapes))]
    out = np.einsum(equation, *[np.zeros(s) for s in shapes]).shape
    proto = make(helper.make_node("Einsum", names, ["y"], equation=equation),
                 {n: (dtype, s) for n, s in zip(names, shapes)}, {"y": (dtype, out)}, opset=12)
    feeds = {n: (sample(s, dtype, seed=i) / (10 if dtype.startswith("float") else 100)).astype(dtype)
             for i, (n, s) in enumerate(zip(names, shapes))}
    tolerance = {"float16": (1e-2, 1e-2), "float32": (1e-4, 1e-5), "float64": (1e-9, 1e-12)}.get(dtype)
    got = check(tmp_path, proto, feeds, exact=tolerance is None, **({} if tolerance is None else
                                                                   {"rtol": tolerance[0], "atol": tolerance[1]}))
    want = np.einsum(equation, *[feeds[n].astype(np.float64) for n in names])
    np.testing.assert_allclose(got["y"].astype(np.float64), want, rtol=1e-2 if dtype == "float16" else 1e-5,
                               atol=1e-2 if dtype == "float16" else 1e-5)


@pytest.mark.parametrize("equation, shapes, constant", [
    ("bij,jk->bik", [(2, 3, 4), (4, 5)], 1),
    ("ij,bjk->bik", [(3, 4), (2, 4, 5)], 0),
    ("bii,ij->bj", [(2, 3, 3), (3, 4)], 1),
    ("iij,bj->bi", [(4, 4, 3), (2, 3)], 0),
])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_einsum_with_a_constant_operand(tmp_path, equation, shapes, constant, dtype):
    names = [f"x{i}" for i in range(len(shapes))]
    value = (sample(shapes[constant], dtype, seed=5) / (10 if dtype == "float32" else 100)).astype(dtype)
    inputs = {n: (dtype, s) for i, (n, s) in enumerate(zip(names, shapes)) if i != constant}
    proto = make(helper.make_node("Einsum", names, ["y"], equation=equation), inputs, {"y": (dtype, None)},
                 {names[constant]: value}, opset=12)
    feeds = {n: (sample(s, dtype, seed=i) / (10 if dtype == "float32" else 100)).astype(dtype)
             for i, (n, s) in enumerate(zip(names, shapes)) if i != constant}
    check(tmp_path, proto, feeds, exact=dtype != "float32")


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16"])
def test_einsum_in_dtypes_onnxruntime_lacks(tmp_path, dtype):
    proto = make(helper.make_node("Einsum", ["a", "b"], ["y"], equation="bij,bjk->bik"),
                 {"a": (dtype, (2, 3, 4)), "b": (dtype, (2, 4, 2))}, {"y": (dtype, None)}, opset=12)
    a, b = sample((2, 3, 4), dtype, seed=1) % 8, sample((2, 4, 2), dtype, seed=2) % 8
    got = check(tmp_path, proto, {"a": a, "b": b}, reference=False)
    np.testing.assert_array_equal(got["y"], np.einsum("bij,bjk->bik", a, b).astype(dtype))


def test_einsum_errors(tmp_path):
    def einsum(equation, shapes, dtype="float32"):
        names = [f"x{i}" for i in range(len(shapes))]
        return make(helper.make_node("Einsum", names, ["y"], equation=equation),
                    {n: (dtype, s) for n, s in zip(names, shapes)}, {"y": (dtype, [1])}, opset=12)
    with pytest.raises(ModelFormatError, match="does not fit an input of rank 3"):
        compile_error(tmp_path, einsum("ij->i", [(2, 3, 4)]))
    with pytest.raises(ModelFormatError, match="inputs have ellipses but the output 'i' has none"):
        compile_error(tmp_path, einsum("...i->i", [(2, 3)]))
    with pytest.raises(ModelFormatError, match="label 'j' has sizes 3 and 4"):
        compile_error(tmp_path, einsum("ij,jk->ik", [(2, 3), (4, 5)]))
    with pytest.raises(ModelFormatError, match="repeats a label or names one no input has"):
        compile_error(tmp_path, einsum("ij->k", [(2, 3)]))


def test_constant_data_with_a_run_time_argument(tmp_path):
    """The data is an initializer and only the fill (Pad) or the lengths (ReverseSequence) are inputs."""
    table = sample((4, 3, 2), "int64", seed=3)
    nodes = [helper.make_node("Pad", ["table", "pads", "v"], ["padded"]),
             helper.make_node("ReverseSequence", ["table", "lens"], ["reversed"], time_axis=0, batch_axis=1)]
    proto = make(nodes, {"v": ("int64", ()), "lens": ("int64", (3,))},
                 {"padded": ("int64", None), "reversed": ("int64", None)},
                 {"table": table, "pads": i64([1, 0, 0, 0, 2, 1])})
    check(tmp_path, proto, {"v": np.array(-7, np.int64), "lens": i64([4, 2, 0])})


@pytest.mark.parametrize("dtype", ["float64", "int8", "int32", "uint16", "bfloat16"])
@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_pad_in_more_dtypes(tmp_path, dtype, mode):
    x = sample((3, 4, 5), dtype)
    inits = {"pads": i64([1, 0, 2, 0, 2, 1])}
    inputs = ["x", "pads"]
    if mode == "constant":
        inits["value"] = np.asarray(sample((), dtype, seed=5)).astype(x.dtype)
        inputs.append("value")
    proto = make(helper.make_node("Pad", inputs, ["y"], mode=mode), {"x": (dtype, (3, 4, 5))}, {"y": (dtype, None)},
                 inits)
    got = check(tmp_path, proto, {"x": x}, reference=dtype not in ("bfloat16", "uint16"))  # onnxruntime lacks them
    kwargs = {"constant_values": inits["value"]} if mode == "constant" else {}
    np.testing.assert_array_equal(got["y"].view(np.uint8), np.pad(x, [(1, 0), (0, 2), (2, 1)], mode=mode, **kwargs).view(np.uint8))


def test_einsum_of_bool_is_refused(tmp_path):
    proto = make(helper.make_node("Einsum", ["a"], ["y"], equation="ij->ji"), {"a": ("bool", (2, 3))},
                 {"y": ("bool", (3, 2))}, opset=12)
    with pytest.raises((UnsupportedModelError, ModelFormatError), match="bool"):
        compile_error(tmp_path, proto)
