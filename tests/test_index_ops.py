"""The run-time index ops through the public API (edgewasm.compile / load / run) against
onnxruntime on the original graph: GatherElements, GatherND (batch_dims), ScatterElements and
Scatter (reductions, duplicate indices), ScatterND (reductions, duplicates) and OneHot, in every
opset spelling, over element dtypes of every size and int32/int64 indices (negative ones too),
with indices, data and updates computed at run time or constant. An index out of range at run
time raises IndexOutOfRangeError naming the node and leaves the model usable; constant ones are
refused at compile time. The variant's reference.onnx must compute the same (onnxruntime).

Where onnxruntime has no kernel for a dtype combination (float16 reductions; it registers OneHot
for a few combinations only), onnx's reference evaluator is the oracle instead."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator

import edgewasm
from edgewasm.engines import run_onnxruntime
from edgewasm.errors import IndexOutOfRangeError, ModelFormatError, UnsupportedModelError

NP = {name: helper.np_dtype_to_tensor_dtype(np.dtype(name)) for name in
      ("float32", "float64", "float16", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "bool")}


def model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, NP[d], s) for n, d, s in inputs],
                              [helper.make_tensor_value_info(n, NP[d], None) for n, d in outputs], list(inits))
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    proto = onnx.shape_inference.infer_shapes(proto)  # the outputs' shapes
    for output in proto.graph.output:  # a malformed node infers none: leave it open
        if not output.type.tensor_type.HasField("shape"):
            output.type.tensor_type.shape.dim.add().dim_param = "n"
    return proto


def const(name, value):
    return helper.make_tensor(name, NP[np.asarray(value).dtype.name], np.shape(value),
                              np.asarray(value).reshape(-1).tolist())


ORT_LACKS = ("Could not find an implementation", "is not supported with")


def ort_lacks(exc: Exception) -> bool:
    return any(text in str(exc) for text in ORT_LACKS)


def oracle(proto, feeds, use_reference=False):
    """onnxruntime on the original graph, or onnx's reference evaluator where onnxruntime has no
    kernel for the dtypes (float16 reductions, most OneHot combinations) or when asked."""
    names = [o.name for o in proto.graph.output]
    if not use_reference:
        try:
            session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
            return dict(zip(names, session.run(None, feeds)))
        except Exception as exc:
            if not ort_lacks(exc):
                raise
    return dict(zip(names, ReferenceEvaluator(proto).run(None, feeds)))


def compile_model(tmp_path, proto):
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    return edgewasm.load(tmp_path / "b")


def assert_same(got, want):
    assert set(got) == set(want)
    for name in want:
        g, w = np.asarray(got[name]), np.asarray(want[name])
        assert g.dtype == w.dtype and g.shape == w.shape, (name, g.dtype, g.shape, w.dtype, w.shape)
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
        else:
            np.testing.assert_array_equal(g, w)


def check(tmp_path, proto, feeds, use_reference=False, reference_graph=True):
    """Module == oracle on the original graph; the variant's reference.onnx == the same."""
    loaded = compile_model(tmp_path, proto)
    want = oracle(proto, feeds, use_reference)
    assert_same(loaded.run(feeds), want)
    if reference_graph:
        try:
            assert_same(run_onnxruntime(tmp_path / "b", feeds), want)
        except Exception as exc:
            if not ort_lacks(exc):
                raise
    return loaded


def data_of(shape, dtype, rng):
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(shape) * 4).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -100), min(info.max, 100), shape, endpoint=True).astype(dtype)


def index_of(shape, dim, dtype, rng):
    return rng.integers(-dim, dim, shape).astype(dtype)


DTYPES = ["float32", "float16", "float64", "int64", "int32", "int8", "uint8", "uint16", "uint64", "bool"]


# -- GatherElements -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_gather_elements_every_dtype(tmp_path, dtype, index_dtype):
    rng = np.random.default_rng(len(dtype) * 3 + len(index_dtype))
    proto = model([helper.make_node("GatherElements", ["x", "i"], ["y"], axis=1)],
                  [("x", dtype, [3, 4, 5]), ("i", index_dtype, [2, 6, 5])], [("y", dtype)], opset=13)
    check(tmp_path, proto, {"x": data_of((3, 4, 5), dtype, rng), "i": index_of((2, 6, 5), 4, index_dtype, rng)})


@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("axis, shape, index_shape", [(0, (5,), (7,)), (-1, (3, 4), (3, 2)), (0, (3, 4), (2, 4)),
                                                      (-3, (2, 3, 4), (5, 1, 4)), (2, (2, 1, 6), (1, 1, 3))])
def test_gather_elements_axes_and_opsets(tmp_path, opset, axis, shape, index_shape):
    rng = np.random.default_rng(sum(shape) + opset)
    proto = model([helper.make_node("GatherElements", ["x", "i"], ["y"], axis=axis)],
                  [("x", "float32", list(shape)), ("i", "int64", list(index_shape))], [("y", "float32")], opset=opset)
    dim = shape[axis]
    check(tmp_path, proto, {"x": data_of(shape, "float32", rng), "i": index_of(index_shape, dim, "int64", rng)})


def test_gather_elements_constant_table_and_constant_indices(tmp_path):
    """A constant table read at run-time indices, and constant indices into run-time data."""
    rng = np.random.default_rng(4)
    table = data_of((6, 3), "int64", rng)
    fixed = np.array([[2, -1, 0], [1, 1, -3]], np.int32)
    proto = model([helper.make_node("GatherElements", ["table", "i"], ["a"]),
                   helper.make_node("GatherElements", ["x", "fixed"], ["b"], axis=1)],
                  [("i", "int64", [4, 3]), ("x", "float16", [2, 3])], [("a", "int64"), ("b", "float16")],
                  [const("table", table), const("fixed", fixed)], opset=13)
    check(tmp_path, proto, {"i": index_of((4, 3), 6, "int64", rng), "x": data_of((2, 3), "float16", rng)})


# -- GatherND -------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_nd_every_dtype(tmp_path, dtype):
    rng = np.random.default_rng(len(dtype))
    proto = model([helper.make_node("GatherND", ["x", "i"], ["y"])],
                  [("x", dtype, [4, 3, 5]), ("i", "int64", [2, 3, 2])], [("y", dtype)], opset=13)
    i = np.stack([index_of((2, 3), 4, "int64", rng), index_of((2, 3), 3, "int64", rng)], -1)
    check(tmp_path, proto, {"x": data_of((4, 3, 5), dtype, rng), "i": i})


@pytest.mark.parametrize("opset, batch_dims, shape, index_shape", [
    (11, 0, (5, 4), (3, 1)), (11, 0, (5, 4), (2, 2, 2)), (12, 1, (2, 5, 4), (2, 3, 1)), (12, 1, (3, 4, 2), (3, 2)),
    (13, 2, (2, 3, 4, 5), (2, 3, 2, 1)), (13, 1, (2, 3, 4, 5), (2, 1, 3)), (13, 0, (2, 3, 4), (6, 3)),
])
def test_gather_nd_batch_dims_and_opsets(tmp_path, opset, batch_dims, shape, index_shape):
    rng = np.random.default_rng(opset + batch_dims + len(index_shape))
    attrs = {"batch_dims": batch_dims} if opset >= 12 else {}
    proto = model([helper.make_node("GatherND", ["x", "i"], ["y"], **attrs)],
                  [("x", "float32", list(shape)), ("i", "int64", list(index_shape))], [("y", "float32")], opset=opset)
    k = index_shape[-1]
    i = np.stack([index_of(index_shape[:-1], d, "int64", rng) for d in shape[batch_dims:batch_dims + k]], -1)
    check(tmp_path, proto, {"x": data_of(shape, "float32", rng), "i": i})


def test_gather_nd_constant_indices_into_data_and_indices_into_a_constant_table(tmp_path):
    rng = np.random.default_rng(8)
    table = data_of((5, 2, 3), "float32", rng)
    fixed = np.array([[0, -1], [4, 1], [-5, 0]], np.int64)
    proto = model([helper.make_node("GatherND", ["x", "fixed"], ["a"]),
                   helper.make_node("GatherND", ["table", "i"], ["b"], batch_dims=0)],
                  [("x", "int8", [5, 2, 3]), ("i", "int64", [4, 1])], [("a", "int8"), ("b", "float32")],
                  [const("table", table), const("fixed", fixed)], opset=13)
    check(tmp_path, proto, {"x": data_of((5, 2, 3), "int8", rng), "i": index_of((4, 1), 5, "int64", rng)})


def test_nd_ops_read_int32_indices_too(tmp_path):
    """The spec's GatherND/ScatterND indices are int64 (onnxruntime has no int32 kernel): int32 ones
    are read as well, checked against onnx's reference evaluator; the variant's reference graph
    casts them to int64, and onnxruntime runs it."""
    rng = np.random.default_rng(9)
    proto = model([helper.make_node("GatherND", ["x", "i"], ["a"], batch_dims=1),
                   helper.make_node("ScatterND", ["x", "j", "u"], ["b"], reduction="add")],
                  [("x", "float32", [3, 4, 2]), ("i", "int32", [3, 2, 1]), ("j", "int32", [2, 2]),
                   ("u", "float32", [2, 2])], [("a", "float32"), ("b", "float32")], opset=16)
    feeds = {"x": data_of((3, 4, 2), "float32", rng), "i": index_of((3, 2, 1), 4, "int32", rng),
             "j": np.array([[1, -1], [1, 3]], np.int32), "u": data_of((2, 2), "float32", rng)}
    check(tmp_path, proto, feeds, use_reference=True)


# -- ScatterElements / Scatter -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_scatter_elements_every_dtype(tmp_path, dtype, index_dtype):
    rng = np.random.default_rng(len(dtype) * 5 + len(index_dtype))
    i = np.stack([rng.permutation(6)[:4] - 6 * rng.integers(0, 2, 4) for _ in range(3)]).astype(index_dtype)
    proto = model([helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=-1)],
                  [("x", dtype, [3, 6]), ("i", index_dtype, [3, 4]), ("u", dtype, [3, 4])], [("y", dtype)], opset=13)
    check(tmp_path, proto, {"x": data_of((3, 6), dtype, rng), "i": i, "u": data_of((3, 4), dtype, rng)})


@pytest.mark.parametrize("opset, reduction", [(16, "add"), (16, "mul"), (18, "max"), (18, "min"), (18, "none")])
@pytest.mark.parametrize("dtype", ["float32", "int64", "int32", "float16", "float64", "int8", "uint8"])
def test_scatter_elements_reductions_with_duplicates(tmp_path, opset, reduction, dtype):
    rng = np.random.default_rng(opset + len(reduction) + len(dtype))
    attrs = {} if reduction == "none" else {"reduction": reduction}
    proto = model([helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=0, **attrs)],
                  [("x", dtype, [4, 5]), ("i", "int64", [7, 5]), ("u", dtype, [7, 5])], [("y", dtype)], opset=opset)
    if reduction == "none":  # duplicates are left open without a reduction: distinct targets per column
        i = np.stack([rng.permutation(4) for _ in range(5)], 1) - 4 * rng.integers(0, 2, (4, 5))
        proto = model([helper.make_node("ScatterElements", ["x", "i", "u"], ["y"], axis=0)],
                      [("x", dtype, [4, 5]), ("i", "int64", [4, 5]), ("u", dtype, [4, 5])], [("y", dtype)], opset=opset)
        u = data_of((4, 5), dtype, rng)
    else:
        i = index_of((7, 5), 4, "int64", rng)  # 7 updates onto 4 rows per column: duplicates
        u = data_of((7, 5), dtype, rng)
        if dtype in ("float16", "int8", "uint8") and reduction == "mul":
            u = np.where(np.abs(u.astype(np.float64)) > 3, 2, u).astype(dtype)  # products stay in range
    check(tmp_path, proto, {"x": data_of((4, 5), dtype, rng), "i": i, "u": u})


@pytest.mark.parametrize("opset", [9, 10])
@pytest.mark.parametrize("axis", [0, 1])
def test_scatter_the_deprecated_spelling(tmp_path, opset, axis):
    rng = np.random.default_rng(opset + axis)
    i = np.array([[1, 0, 2], [0, 2, 1]], np.int64) if axis == 0 else np.array([[2, 0], [1, 3], [0, 1]], np.int64)
    u_shape = i.shape
    proto = model([helper.make_node("Scatter", ["x", "i", "u"], ["y"], axis=axis)],
                  [("x", "float32", [3, 4]), ("i", "int64", list(u_shape)), ("u", "float32", list(u_shape))],
                  [("y", "float32")], opset=opset)
    check(tmp_path, proto, {"x": data_of((3, 4), "float32", rng), "i": i, "u": data_of(u_shape, "float32", rng)})


def test_scatter_elements_constant_data_indices_or_updates(tmp_path):
    rng = np.random.default_rng(11)
    base = data_of((3, 5), "int32", rng)
    fixed = np.array([[0, 4], [-1, 2], [3, -5]], np.int64)
    proto = model([helper.make_node("ScatterElements", ["base", "i", "u"], ["a"], axis=1, reduction="add"),
                   helper.make_node("ScatterElements", ["x", "fixed", "u"], ["b"], axis=1),
                   helper.make_node("ScatterElements", ["x", "i", "ones"], ["c"], axis=1, reduction="mul")],
                  [("x", "int32", [3, 5]), ("i", "int64", [3, 2]), ("u", "int32", [3, 2])],
                  [("a", "int32"), ("b", "int32"), ("c", "int32")],
                  [const("base", base), const("fixed", fixed), const("ones", np.full((3, 2), -2, np.int32))], opset=16)
    check(tmp_path, proto, {"x": data_of((3, 5), "int32", rng), "i": index_of((3, 2), 5, "int64", rng),
                            "u": data_of((3, 2), "int32", rng)})


# -- ScatterND ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter_nd_every_dtype(tmp_path, dtype):
    rng = np.random.default_rng(len(dtype) + 40)
    proto = model([helper.make_node("ScatterND", ["x", "i", "u"], ["y"])],
                  [("x", dtype, [4, 3, 5]), ("i", "int64", [2, 2, 2]), ("u", dtype, [2, 2, 5])], [("y", dtype)], opset=13)
    i = np.array([[[0, 1], [3, -1]], [[-2, 0], [1, 1]]], np.int64)
    check(tmp_path, proto, {"x": data_of((4, 3, 5), dtype, rng), "i": i, "u": data_of((2, 2, 5), dtype, rng)})


@pytest.mark.parametrize("opset, reduction", [(11, "none"), (13, "none"), (16, "add"), (16, "mul"), (18, "max"),
                                              (18, "min")])
@pytest.mark.parametrize("dtype", ["float32", "int64", "int32", "float64", "float16"])
def test_scatter_nd_reductions_with_duplicates(tmp_path, opset, reduction, dtype):
    rng = np.random.default_rng(opset + len(reduction) + len(dtype))
    attrs = {} if reduction == "none" else {"reduction": reduction}
    if reduction == "none":
        i = np.array([[2], [0], [-1]], np.int64)  # distinct rows (duplicates are left open without a reduction)
    else:
        i = np.array([[2], [0], [-2], [0], [2], [1]], np.int64)
    proto = model([helper.make_node("ScatterND", ["x", "i", "u"], ["y"], **attrs)],
                  [("x", dtype, [4, 6]), ("i", "int64", list(i.shape)), ("u", dtype, [len(i), 6])], [("y", dtype)],
                  opset=opset)
    check(tmp_path, proto, {"x": data_of((4, 6), dtype, rng), "i": i, "u": data_of((len(i), 6), dtype, rng)})


def test_scatter_nd_whole_slices_elements_and_constants(tmp_path):
    """k = rank (single elements), k = 1 (whole rows) with constant data, constant indices."""
    rng = np.random.default_rng(12)
    fixed = np.array([[1, 2, 0], [0, 0, 3], [1, -1, -1]], np.int64)
    proto = model([helper.make_node("ScatterND", ["x", "fixed", "u"], ["a"], reduction="add"),
                   helper.make_node("ScatterND", ["table", "rows", "w"], ["b"])],
                  [("x", "float32", [2, 3, 4]), ("u", "float32", [3]), ("rows", "int64", [2, 1]),
                   ("w", "float32", [2, 3, 4])], [("a", "float32"), ("b", "float32")],
                  [const("fixed", fixed), const("table", data_of((2, 3, 4), "float32", rng))], opset=16)
    check(tmp_path, proto, {"x": data_of((2, 3, 4), "float32", rng), "u": data_of((3,), "float32", rng),
                            "rows": np.array([[1], [-2]], np.int64), "w": data_of((2, 3, 4), "float32", rng)})


# -- OneHot ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("opset", [9, 11])
@pytest.mark.parametrize("axis, shape", [(-1, (2, 3)), (0, (4,)), (1, (2, 3)), (-2, (3, 2)), (2, (2, 1, 3))])
def test_onehot_axes_negative_and_out_of_range_indices(tmp_path, opset, axis, shape):
    rng = np.random.default_rng(opset + axis + 10)
    proto = model([helper.make_node("OneHot", ["i", "depth", "v"], ["y"], axis=axis)],
                  [("i", "int64", list(shape)), ("v", "float32", [2])], [("y", "float32")],
                  [const("depth", np.array(5, np.int64))], opset=opset)
    i = rng.integers(-7, 8, shape).astype(np.int64)  # -7, -6, 5, 6, 7 are out of range: all-off rows
    check(tmp_path, proto, {"i": i, "v": np.array([-0.5, 3.0], np.float32)})


def onehot_numpy(i, depth, axis, values):
    """OneHot as onnxruntime computes it: indices truncated to integers, negative ones + depth, out
    of range ones all off (onnx's reference evaluator does not truncate float indices and cannot
    subtract bools)."""
    k = np.trunc(i).astype(np.int64) if i.dtype.kind == "f" else i.astype(np.int64)
    k = np.where(k < 0, k + depth, k)
    axis = axis % (i.ndim + 1)
    hit = np.expand_dims(k, axis) == np.arange(depth).reshape((depth,) + (1,) * (i.ndim - axis))
    return np.where(hit, values[1], values[0]).astype(values.dtype)


@pytest.mark.parametrize("index_dtype, value_dtype, depth_dtype, ort_has_it", [
    ("int64", "int64", "int64", True), ("int32", "float32", "int32", True), ("float32", "float32", "float32", True),
    ("int64", "int32", "float32", True), ("int64", "float16", "int64", True),
    ("uint8", "bool", "int64", False), ("int8", "uint16", "int32", False), ("float64", "int8", "float64", False),
    ("uint64", "float64", "uint16", False),
])
def test_onehot_dtypes(tmp_path, index_dtype, value_dtype, depth_dtype, ort_has_it):
    rng = np.random.default_rng(len(index_dtype + value_dtype + depth_dtype))
    proto = model([helper.make_node("OneHot", ["i", "depth", "v"], ["y"])],
                  [("i", index_dtype, [3, 4]), ("v", value_dtype, [2])], [("y", value_dtype)],
                  [const("depth", np.array([6], depth_dtype))], opset=11)
    lo = 0 if np.dtype(index_dtype).kind == "u" else -7
    i = rng.integers(lo, 8, (3, 4))
    if np.dtype(index_dtype).kind == "f":
        i = i + np.sign(i) * 0.5  # truncated toward zero
    values = np.array([0, 1], value_dtype) if value_dtype == "bool" else np.array([3, 65533 if value_dtype == "uint16" else -2], value_dtype)
    feeds = {"i": i.astype(index_dtype), "v": values}
    if ort_has_it:
        check(tmp_path, proto, feeds)
        assert_same(oracle(proto, feeds), {"y": onehot_numpy(feeds["i"], 6, -1, values)})  # the numpy oracle is ORT's
    else:
        got = compile_model(tmp_path, proto).run(feeds)
        assert_same(got, {"y": onehot_numpy(feeds["i"], 6, -1, values)})


def test_onehot_constant_values_and_constant_indices(tmp_path):
    proto = model([helper.make_node("OneHot", ["i", "depth", "v"], ["a"], axis=0),
                   helper.make_node("OneHot", ["fixed", "depth", "w"], ["b"])],
                  [("i", "int64", [5]), ("w", "float32", [2])], [("a", "int64"), ("b", "float32")],
                  [const("depth", np.array(3, np.int64)), const("v", np.array([7, 9], np.int64)),
                   const("fixed", np.array([[0, -1, 3], [2, -4, 1]], np.int64))], opset=11)
    check(tmp_path, proto, {"i": np.array([0, 2, -1, 5, -3], np.int64), "w": np.array([0.25, -1.5], np.float32)})


# -- out of range at run time, and compile-time errors -------------------------------------------

def test_out_of_range_indices_raise_naming_the_node_and_the_model_stays_usable(tmp_path):
    rng = np.random.default_rng(13)
    nodes = [helper.make_node("GatherElements", ["x", "ie"], ["ge"], axis=1, name="ge_node"),
             helper.make_node("GatherND", ["x", "ind"], ["gn"], name="gn_node"),
             helper.make_node("ScatterElements", ["x", "ie", "ue"], ["se"], axis=1, reduction="add", name="se_node"),
             helper.make_node("ScatterND", ["x", "ind", "und"], ["sn"], name="sn_node")]
    proto = model(nodes, [("x", "float32", [3, 4]), ("ie", "int64", [3, 2]), ("ue", "float32", [3, 2]),
                          ("ind", "int64", [2, 2]), ("und", "float32", [2])],
                  [("ge", "float32"), ("gn", "float32"), ("se", "float32"), ("sn", "float32")], opset=16)
    loaded = compile_model(tmp_path, proto)
    good = {"x": data_of((3, 4), "float32", rng), "ie": np.array([[0, 3], [-4, 1], [2, 2]], np.int64),
            "ue": data_of((3, 2), "float32", rng), "ind": np.array([[2, -1], [0, 3]], np.int64),
            "und": np.array([1.5, -2.0], np.float32)}
    want = oracle(proto, good)
    assert_same(loaded.run(good), want)
    for name, where, bad, node in [("ie", (1, 0), 4, "GatherElements node 'ge_node'"),
                                   ("ie", (2, 1), -5, "GatherElements node 'ge_node'"),
                                   ("ind", (1, 0), 3, "GatherND node 'gn_node'"),
                                   ("ind", (0, 1), -5, "GatherND node 'gn_node'")]:
        feeds = {k: v.copy() for k, v in good.items()}
        feeds[name][where] = bad
        with pytest.raises(IndexOutOfRangeError, match=f"{node}: an index is out of range"):
            loaded.run(feeds)
        assert_same(loaded.run(good), want)  # still usable, same results
    # the scatters come after the gathers: check them on models of their own
    for op, attrs, node in [("ScatterElements", {"axis": 1}, "ScatterElements node 'n'"),
                            ("ScatterND", {}, "ScatterND node 'n'")]:
        nd = op == "ScatterND"
        proto = model([helper.make_node(op, ["x", "i", "u"], ["y"], name="n", **attrs)],
                      [("x", "int64", [3, 4]), ("i", "int64", [2, 2] if nd else [3, 2]), ("u", "int64", [2] if nd else [3, 2])],
                      [("y", "int64")], opset=13)
        sub = tmp_path / op
        sub.mkdir()
        loaded = compile_model(sub, proto)
        feeds = {"x": data_of((3, 4), "int64", rng), "i": np.array([[2, -1], [0, 3]] if nd else [[0, 1], [2, 3], [-1, -4]]),
                 "u": data_of((2,) if nd else (3, 2), "int64", rng)}
        want = oracle(proto, feeds)
        feeds["i"][1, 1] = 4 if not nd else -5
        with pytest.raises(IndexOutOfRangeError, match=f"{node}: an index is out of range"):
            loaded.run(feeds)
        feeds["i"][1, 1] = 3
        assert_same(loaded.run(feeds), want)


@pytest.mark.parametrize("nodes, inputs, inits, opset, error, message", [
    ([helper.make_node("GatherElements", ["x", "i"], ["y"])], [("x", "float32", [3, 4])],
     [const("i", np.array([[3, 0, 0, 1]], np.int64))], 13, ModelFormatError, "constant index is out of range"),
    ([helper.make_node("GatherND", ["x", "i"], ["y"])], [("x", "float32", [3, 4])],
     [const("i", np.array([[0, 0, 0]], np.int64))], 13, ModelFormatError, "tuples of 3 coordinates"),
    ([helper.make_node("GatherND", ["x", "i"], ["y"], batch_dims=1)], [("x", "float32", [3, 4]), ("i", "int64", [2, 1])],
     [], 13, ModelFormatError, "batch dims"),
    ([helper.make_node("ScatterElements", ["x", "i", "x"], ["y"], reduction="max")],
     [("x", "float32", [3]), ("i", "int64", [3])], [], 16, ModelFormatError, "needs opset >= 18"),
    ([helper.make_node("ScatterND", ["x", "i", "u"], ["y"])], [("x", "float32", [3, 4]), ("u", "float32", [2])],
     [const("i", np.array([[0], [1]], np.int64))], 13, ModelFormatError, "updates of shape"),
    ([helper.make_node("GatherElements", ["x", "i"], ["y"])], [("x", "float32", [3]), ("i", "float32", [2])],
     [], 13, ModelFormatError, "indices have dtype float32"),
    ([helper.make_node("OneHot", ["i", "d", "v"], ["y"])], [("i", "int64", [3]), ("d", "int64", []), ("v", "float32", [2])],
     [], 11, UnsupportedModelError, "depth must be a constant"),
    ([helper.make_node("OneHot", ["i", "d", "v"], ["y"])], [("i", "int64", [3]), ("v", "float32", [2])],
     [const("d", np.array(0, np.int64))], 11, ModelFormatError, "at least 1"),
])
def test_malformed_nodes_are_refused_with_one_line(tmp_path, nodes, inputs, inits, opset, error, message):
    proto = model(nodes, inputs, [("y", "float32")], inits, opset=opset)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    with pytest.raises(error, match=message):
        edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")


def test_constant_nodes_fold_as_onnxruntime_computes(tmp_path):
    """GatherElements and OneHot of constants fold at compile time by their units (onnx's reference
    evaluator refuses GatherElements indices smaller than the data, mixes up rows past 32 entries
    on the axis, and does not truncate float OneHot indices)."""
    rng = np.random.default_rng(14)
    table = data_of((2, 40), "float32", rng)
    fixed = np.array([[39, -1, 0]], np.int64)
    proto = model([helper.make_node("GatherElements", ["table", "fixed"], ["ge"], axis=1),
                   helper.make_node("Add", ["ge", "x"], ["a"]),
                   helper.make_node("OneHot", ["fidx", "depth", "fvals"], ["oh"], axis=1),
                   helper.make_node("Add", ["oh", "z"], ["b"])],
                  [("x", "float32", [1, 3]), ("z", "float32", [2, 4, 3])], [("a", "float32"), ("b", "float32")],
                  [const("table", table), const("fixed", fixed), const("depth", np.array(4.0, np.float32)),
                   const("fidx", np.array([[-1.5, 2.7, 7.0], [0.2, -4.9, -3.5]], np.float32)),
                   const("fvals", np.array([0.0, 2.0], np.float32))], opset=13)
    check(tmp_path, proto, {"x": data_of((1, 3), "float32", rng), "z": data_of((2, 4, 3), "float32", rng)})
    flags = np.array([3, 0, 200], np.uint8)
    proto = model([helper.make_node("OneHot", ["flags", "depth", "bools"], ["oh"]),
                   helper.make_node("And", ["oh", "m"], ["y"])], [("m", "bool", [3, 4])], [("y", "bool")],
                  [const("flags", flags), const("depth", np.array(4, np.int64)), const("bools", np.array([False, True]))],
                  opset=11)
    m = rng.integers(0, 2, (3, 4)).astype(bool)
    (tmp_path / "bools").mkdir()
    got = compile_model(tmp_path / "bools", proto).run({"m": m})
    assert_same(got, {"y": onehot_numpy(flags, 4, -1, np.array([False, True])) & m})
