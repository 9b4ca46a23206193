"""RotaryEmbedding (opset 23) through the public API (compile, load, run in wasmtime), compared with
onnx's reference implementation (and onnxruntime for float32): 3D and 4D inputs, interleaved,
partial rotation, position_ids as a graph input / a constant / absent, float16 and bfloat16, errors."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference.ops.op_rotary_embedding import rotary_embedding

import edgewasm
from edgewasm.errors import IndexOutOfRangeError, ModelFormatError, UnsupportedModelError

CODES = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16, "bfloat16": TensorProto.BFLOAT16}
NP = {"float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


def model(x_shape, cache_shape, pos, dtype="float32", const_pos=None, **attrs):
    code = CODES[dtype]
    inputs = ["x", "cos", "sin"] + (["pos"] if pos or const_pos is not None else [])
    node = helper.make_node("RotaryEmbedding", inputs, ["y"], **attrs)
    graph_inputs = [helper.make_tensor_value_info("x", code, x_shape),
                    helper.make_tensor_value_info("cos", code, cache_shape),
                    helper.make_tensor_value_info("sin", code, cache_shape)]
    inits = []
    if const_pos is not None:
        inits.append(numpy_helper.from_array(const_pos, "pos"))
    elif pos:
        graph_inputs.append(helper.make_tensor_value_info("pos", TensorProto.INT64, pos))
    graph = helper.make_graph([node], "g", graph_inputs, [helper.make_tensor_value_info("y", code, x_shape)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)], ir_version=10)


def run(tmp_path, proto, feeds):
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    return edgewasm.load(tmp_path / "bundle").run(feeds)["y"]


def caches(rng, rows, half, dtype):
    angle = rng.uniform(-3, 3, (rows, half) if isinstance(rows, int) else rows + (half,))
    return np.cos(angle).astype(NP[dtype]), np.sin(angle).astype(NP[dtype])


CASES = [  # x shape (4D: B,H,S,D; 3D: B,S,H*D), num_heads, rotary_embedding_dim, interleaved
    ((2, 3, 5, 8), 0, 0, 0), ((2, 3, 5, 8), 0, 0, 1), ((1, 2, 7, 10), 0, 6, 0), ((1, 2, 7, 10), 0, 6, 1),
    ((2, 5, 12), 3, 0, 0), ((2, 5, 12), 3, 0, 1), ((3, 4, 20), 2, 4, 1), ((1, 1, 4), 1, 2, 0),
]


@pytest.mark.parametrize("x_shape, heads, rd, inter", CASES)
@pytest.mark.parametrize("positions", ["input", "constant", "absent"])
def test_matches_reference(tmp_path, x_shape, heads, rd, inter, positions):
    rng = np.random.default_rng(1)
    batch, seq = x_shape[0], (x_shape[2] if len(x_shape) == 4 else x_shape[1])
    head = x_shape[3] if len(x_shape) == 4 else x_shape[2] // heads
    half = (rd or head) // 2
    attrs = {"interleaved": inter}
    if heads:
        attrs["num_heads"] = heads
    if rd:
        attrs["rotary_embedding_dim"] = rd
    x = rng.standard_normal(x_shape).astype(np.float32)
    pos = rng.integers(0, 11, (batch, seq)).astype(np.int64)
    if positions == "absent":
        cos, sin = caches(rng, (batch, seq), half, "float32")
        proto = model(x_shape, cos.shape, None, **attrs)
        feeds, want = {"x": x, "cos": cos, "sin": sin}, rotary_embedding(x, cos, sin, None, inter, rd, heads)
    else:
        cos, sin = caches(rng, 11, half, "float32")
        const = pos if positions == "constant" else None
        proto = model(x_shape, cos.shape, list(pos.shape) if const is None else None, const_pos=const, **attrs)
        feeds = {"x": x, "cos": cos, "sin": sin} | ({"pos": pos} if const is None else {})
        want = rotary_embedding(x, cos, sin, pos, inter, rd, heads)
    got = run(tmp_path, proto, feeds)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)
    import onnxruntime as ort
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(got, sess.run(None, feeds)[0], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_computes_in_float32(tmp_path, dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4, 8)).astype(NP[dtype])
    cos, sin = caches(rng, 9, 4, dtype)
    pos = rng.integers(0, 9, (2, 4)).astype(np.int64)
    got = run(tmp_path, model(x.shape, cos.shape, [2, 4], dtype, interleaved=1), {"x": x, "cos": cos, "sin": sin, "pos": pos})
    want = rotary_embedding(*(a.astype(np.float32) for a in (x, cos, sin)), pos, 1, 0, 0).astype(NP[dtype])
    assert got.dtype == NP[dtype] and got.shape == want.shape
    np.testing.assert_array_equal(got.astype(np.float32), want.astype(np.float32))


def test_position_out_of_range_at_run_time(tmp_path):
    cos, sin = caches(np.random.default_rng(3), 4, 4, "float32")
    proto = model((1, 1, 2, 8), cos.shape, [1, 2])
    x = np.ones((1, 1, 2, 8), np.float32)
    with pytest.raises(IndexOutOfRangeError):
        run(tmp_path, proto, {"x": x, "cos": cos, "sin": sin, "pos": np.array([[0, 4]], np.int64)})


def compile_error(tmp_path, proto):
    path = tmp_path / "bad.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bad_bundle")


def test_errors(tmp_path):
    with pytest.raises(ModelFormatError, match="num_heads"):
        compile_error(tmp_path, model((1, 2, 12), (1, 2, 6), None))
    with pytest.raises(ModelFormatError, match="rotary_embedding_dim"):
        compile_error(tmp_path, model((1, 2, 3, 8), (1, 3, 2), None, rotary_embedding_dim=5))
    with pytest.raises(ModelFormatError, match="cos"):
        compile_error(tmp_path, model((1, 2, 3, 8), (1, 3, 3), None))
    bad = model((1, 2, 3, 8), (4, 4), [1, 3])
    bad.graph.input[0].type.tensor_type.elem_type = TensorProto.DOUBLE
    bad.graph.input[1].type.tensor_type.elem_type = TensorProto.DOUBLE
    bad.graph.input[2].type.tensor_type.elem_type = TensorProto.DOUBLE
    bad.graph.output[0].type.tensor_type.elem_type = TensorProto.DOUBLE
    with pytest.raises(UnsupportedModelError, match="float16"):
        compile_error(tmp_path, bad)


# -- refusals of a shape that is a run-time value name the graph inputs it comes from ------------

def test_range_refusal_names_the_graph_input(tmp_path):
    # n = Cast(Add(size, 1)): Range's limit is an intermediate; the refusal names 'size'
    nodes = [helper.make_node("Add", ["size", "one"], ["s1"]), helper.make_node("Cast", ["s1"], ["lim"], to=TensorProto.FLOAT),
             helper.make_node("Range", ["zero", "lim", "step"], ["y"])]
    inits = [numpy_helper.from_array(np.array(1, np.int64), "one"), numpy_helper.from_array(np.float32(0), "zero"),
             numpy_helper.from_array(np.float32(1), "step")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("size", TensorProto.INT64, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    with pytest.raises(UnsupportedModelError, match=r"output shape is the value of \['size'\] \(through \['lim'\]\)"):
        compile_error(tmp_path, proto)


def test_loop_trip_count_refusal_names_the_graph_input(tmp_path):
    body = helper.make_graph([helper.make_node("Identity", ["c"], ["c_out"]), helper.make_node("Identity", ["v"], ["v_out"])],
                             "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                                      helper.make_tensor_value_info("c", TensorProto.BOOL, []),
                                      helper.make_tensor_value_info("v", TensorProto.FLOAT, [2])],
                             [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
                              helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [2])])
    nodes = [helper.make_node("Mul", ["n", "two"], ["m"]), helper.make_node("Loop", ["m", "", "x"], ["y"], body=body)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("n", TensorProto.INT64, []),
                                           helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
                              [numpy_helper.from_array(np.array(2, np.int64), "two")])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    with pytest.raises(UnsupportedModelError, match=r"trip count M is computed at run time.*output shape is the value of \['n'\]"):
        compile_error(tmp_path, proto)
