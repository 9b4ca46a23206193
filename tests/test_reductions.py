"""Reductions and order statistics end to end (edgewasm.compile / load / run against onnxruntime on
the original graph): ReduceMax, ReduceMin, ReduceSum, ReduceMean, ReduceProd, ReduceL1, ReduceL2,
ReduceSumSquare, ReduceLogSum, ReduceLogSumExp, ArgMax, ArgMin, TopK and CumSum, in every axes
spelling of their opsets, keepdims, noop_with_empty_axes, empty sets, several dtypes, run-time
data; the variant's reference.onnx; and the typed errors."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import edgewasm
from edgewasm.engines import run_onnxruntime
from edgewasm.errors import ModelFormatError, UnsupportedModelError
from kernels import reference_reduce as ref
from oracles import compile_and_run, ort_outputs

REDUCE_OPS = ["ReduceMax", "ReduceMin", "ReduceSum", "ReduceMean", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"]
KIND = {op: kind for op, kind in zip(REDUCE_OPS, ref.OPS)}
AXES_INPUT_FROM = {op: 13 if op == "ReduceSum" else 18 for op in REDUCE_OPS}
ATTRIBUTE_OPSET = {op: 11 if op == "ReduceSum" else 13 for op in REDUCE_OPS}
ORT_TOLERANCE = {"float16": (2e-3, 1e-3)}  # float16 results round once; onnxruntime's go through float32 sums


def np_dtype(name: str) -> np.dtype:
    return ref.np_dtype(name)


def build(nodes, inputs: dict[str, np.ndarray], outputs: list[str], inits: dict[str, np.ndarray] | None = None,
          opset: int = 18) -> onnx.ModelProto:
    """A model whose graph inputs have the arrays' dtypes and shapes; outputs typed by shape inference."""
    nodes = nodes if isinstance(nodes, list) else [nodes]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
                     for n, v in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in outputs],
        [onnx.numpy_helper.from_array(np.asarray(v), n) for n, v in (inits or {}).items()])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    del proto.graph.output[:]
    proto.graph.output.extend(inferred.graph.output)
    return proto


def assert_matches(got: dict, want: dict, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    assert set(got) == set(want)
    for name, expected in want.items():
        actual = got[name]
        assert actual.dtype == expected.dtype, (name, actual.dtype, expected.dtype)
        assert actual.shape == expected.shape, (name, actual.shape, expected.shape)
        if expected.dtype.kind == "f":
            np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol,
                                       err_msg=name)
        else:
            np.testing.assert_array_equal(actual, expected, err_msg=name)


def check(tmp_path, proto, feeds, dtype: str = "float32"):
    got = compile_and_run(tmp_path, proto, feeds)
    rtol, atol = ORT_TOLERANCE.get(dtype, (1e-4, 1e-5))
    assert_matches(got, ort_outputs(proto, feeds), rtol, atol)
    return got


def data(op: str, dtype: str, shape, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    target = np_dtype(dtype)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith(("int", "uint")):
        if op == "ReduceProd":  # products that fit the dtype (overflow: tests/kernels/test_x_reduce.py)
            return rng.choice(np.array([1, 1, 1, 1, 1, 2] + ([-1] if dtype.startswith("int") else [3]), target), shape)
        lo = 1 if op == "ReduceLogSum" or dtype.startswith("uint") else -6
        return rng.integers(lo, 7, shape).astype(target)
    values = rng.standard_normal(shape) * (0.8 if op == "ReduceProd" else 2)
    return (np.abs(values) + 0.2 if op == "ReduceLogSum" else values).astype(target)


def reduce_node(op: str, opset: int, axes, keepdims: int, inits: dict, **attrs):
    inputs = ["x"]
    if axes is not None:
        if opset >= AXES_INPUT_FROM[op]:
            inits["axes"] = np.array(axes, np.int64)
            inputs.append("axes")
        else:
            attrs["axes"] = axes
    return helper.make_node(op, inputs, ["y"], keepdims=keepdims, **attrs)


# -- ReduceX --------------------------------------------------------------------------------------

# (axes spelling, axes, keepdims): adjacent axes (rows or columns), non-adjacent ones (gathered
# first), all axes (absent), a negative axis
SPELLINGS = [("attribute", [1], 1), ("input", [0, 2], 0), ("input", None, 0), ("attribute", [-1], 0),
             ("input", [1, 2], 1)]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "int64"])
@pytest.mark.parametrize("op", REDUCE_OPS)
def test_reduce_against_onnxruntime(tmp_path, op, dtype):
    if op == "ReduceLogSumExp" and dtype.startswith("int"):
        pytest.skip("integer log-sum-exp: tested against ONNX's function body below (onnxruntime's differs)")
    x = data(op, dtype, (3, 4, 5))
    for i, (spelling, axes, keepdims) in enumerate(SPELLINGS):
        opset = AXES_INPUT_FROM[op] if spelling == "input" else ATTRIBUTE_OPSET[op]
        inits: dict = {}
        proto = build(reduce_node(op, opset, axes, keepdims, inits), {"x": x}, ["y"], inits, opset)
        check(tmp_path / str(i), proto, {"x": x}, dtype)


def test_integer_log_sum_exp_follows_the_onnx_function_body(tmp_path):
    """ONNX defines integer ReduceLogSumExp as Cast to double, Exp, ReduceSum, Log, CastLike (which
    truncates); onnxruntime truncates the log of the shifted sum instead (floor for negative results)."""
    x = np.array([[1, 2, 2], [-1, -2, -2], [3, 4, 0], [7, 7, 7], [100, 90, 1]], np.int32)
    proto = build(helper.make_node("ReduceLogSumExp", ["x", "axes"], ["y"], keepdims=0), {"x": x}, ["y"],
                  {"axes": np.array([1], np.int64)})
    got = compile_and_run(tmp_path, proto, {"x": x})["y"]
    expected = np.trunc(np.log(np.exp(x.astype(np.float64)).sum(axis=1))).astype(np.int32)
    np.testing.assert_array_equal(got, expected)
    assert got.tolist() == [2, 0, 4, 8, 100]


def test_integer_overflow_saturates_as_onnxruntime(tmp_path):
    """int32 sums, products, L1 and sums of squares are exact in 64 bits, then saturate to int32."""
    x = np.array([[2**30, 2**30, 2**30, -2**30], [-2**16, 2**16, 1, 1], [-2**16, 2**16, -1, 1], [2**30, 2**30, -2**31, 5]],
                 np.int32)
    for i, op in enumerate(("ReduceSum", "ReduceProd", "ReduceL1", "ReduceSumSquare", "ReduceMean")):
        proto = build(helper.make_node(op, ["x", "axes"], ["y"], keepdims=0), {"x": x}, ["y"],
                      {"axes": np.array([1], np.int64)})
        got = check(tmp_path / str(i), proto, {"x": x}, "int32")
        if op == "ReduceProd":
            assert got["y"].tolist() == [-2**31, -2**31, 2**31 - 1, -2**31]


@pytest.mark.parametrize("op", REDUCE_OPS)
def test_reduce_noop_with_empty_axes(tmp_path, op):
    """Over no axes each element is reduced alone: the identity, or |x|, x^2, log x, ..."""
    x = data(op, "float32", (2, 3, 4), seed=1)
    for i, axes in enumerate((None, [])):
        inits = {} if axes is None else {"axes": np.array(axes, np.int64)}
        node = helper.make_node(op, ["x"] + list(inits), ["y"], noop_with_empty_axes=1, keepdims=0)
        check(tmp_path / str(i), build(node, {"x": x}, ["y"], inits, AXES_INPUT_FROM[op]), {"x": x})


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_reduce_empty_sets(tmp_path, dtype):
    x = np.zeros((2, 0, 3), np_dtype(dtype))
    for i, op in enumerate(REDUCE_OPS):
        if op in ("ReduceLogSum", "ReduceLogSumExp") and dtype.startswith("int"):
            continue  # the log of an empty integer sum: -inf saturated (see tests/kernels/test_x_reduce.py)
        inits: dict = {}
        proto = build(reduce_node(op, 18, [1], 1, inits), {"x": x}, ["y"], inits, 18)
        got = check(tmp_path / str(i), proto, {"x": x}, dtype)
        assert got["y"].shape == (2, 1, 3)


@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin"])
def test_reduce_max_min_of_bool(tmp_path, op):
    x = np.random.default_rng(2).random((3, 4, 2)) < 0.3
    for i, (axes, keepdims) in enumerate((([1], 0), ([0, 2], 1), (None, 0))):
        inits: dict = {}
        proto = build(reduce_node(op, 20, axes, keepdims, inits), {"x": x}, ["y"], inits, 20)
        check(tmp_path / str(i), proto, {"x": x}, "bool")


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint16", "uint32", "uint64", "bfloat16"])
@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin", "ReduceSum", "ReduceMean", "ReduceProd", "ReduceL2"])
def test_reduce_dtypes_onnxruntime_lacks(tmp_path, op, dtype):
    """Against the scalar reference of the generic kernel (onnxruntime computes few of these)."""
    x = data(op, dtype, (3, 5, 4), seed=3)
    node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=0)
    proto = build(node, {"x": x}, ["y"], {"axes": np.array([0, 2], np.int64)}, 18)
    got = compile_and_run(tmp_path, proto, {"x": x})["y"]
    gathered = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(5, 12, 1)  # kept axis first, reduced ones in order
    want = ref.x_reduce(gathered, KIND[op], 5, 12, 1).reshape(5)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


def test_reduce_of_a_scalar_and_of_size_one_axes(tmp_path):
    x = np.array(-2.5, np.float32)
    for i, op in enumerate(["ReduceSum", "ReduceL1", "ReduceLogSumExp"]):
        proto = build(helper.make_node(op, ["x"], ["y"], keepdims=1), {"x": x}, ["y"], opset=18)
        check(tmp_path / f"s{i}", proto, {"x": x})
    # size-1 axes between reduced ones keep the reduction in one pass (no gather)
    x = data("ReduceMax", "float32", (2, 5, 1, 3, 4))
    proto = build(helper.make_node("ReduceMax", ["x", "axes"], ["y"], keepdims=0), {"x": x}, ["y"],
                  {"axes": np.array([1, 3], np.int64)})
    check(tmp_path / "ones", proto, {"x": x})
    assert "x_copy_nd" not in edgewasm.load(tmp_path / "ones" / "bundle").variant.kernels


def test_reduce_kernels_per_dtype(tmp_path):
    """float32 hot reductions take the SIMD128 kernels; ReduceProd and other dtypes the generic one."""
    expected = {"ReduceMax": "f32_rmax", "ReduceMin": "f32_rmax", "ReduceL1": "f32_rnorm", "ReduceL2": "f32_rnorm",
                "ReduceSumSquare": "f32_rnorm", "ReduceLogSumExp": "f32_rlogsumexp", "ReduceProd": "x_reduce"}
    for op, kernel in expected.items():
        for dtype in ("float32", "float64"):
            x = data(op, dtype, (2, 9))
            proto = build(helper.make_node(op, ["x", "axes"], ["y"]), {"x": x}, ["y"], {"axes": np.array([1], np.int64)})
            check(tmp_path / op / dtype, proto, {"x": x}, dtype)
            kernels = edgewasm.load(tmp_path / op / dtype / "bundle").variant.kernels
            assert kernels == [kernel if dtype == "float32" else "x_reduce"], (op, dtype, kernels)
    x = data("ReduceLogSum", "float32", (2, 9))
    proto = build(helper.make_node("ReduceLogSum", ["x", "axes"], ["y"]), {"x": x}, ["y"], {"axes": np.array([1], np.int64)})
    check(tmp_path / "logsum", proto, {"x": x})
    assert edgewasm.load(tmp_path / "logsum" / "bundle").variant.kernels == ["f32_rsum", "f32_vlog"]


def test_reduce_nan_propagates_in_max_and_min(tmp_path):
    """edgewasm's max/min propagate NaN (numpy, ONNX's reference); onnxruntime's depend on position."""
    x = np.array([[1, np.nan, 3, 2, 0, 1], [4, 5, 6, 7, 8, 9]], np.float32)
    for op in ("ReduceMax", "ReduceMin"):
        proto = build(helper.make_node(op, ["x", "axes"], ["y"], keepdims=0), {"x": x}, ["y"],
                      {"axes": np.array([1], np.int64)})
        got = compile_and_run(tmp_path / op, proto, {"x": x})["y"]
        assert np.isnan(got[0]) and got[1] == (9 if op == "ReduceMax" else 4)


def test_reference_graph_runs_in_onnxruntime(tmp_path):
    """The variant's reference.onnx: Reduce nodes with axes inputs, bool through uint8, noop, ArgMax,
    TopK's two outputs, CumSum."""
    x = data("ReduceMax", "float32", (3, 4, 5))
    b = np.random.default_rng(4).random((3, 4)) < 0.5
    i = np.random.default_rng(5).integers(-5, 5, (3, 4)).astype(np.int64)
    nodes = [helper.make_node("ReduceL2", ["x", "ax02"], ["l2"], keepdims=0),
             helper.make_node("ReduceMean", ["x", "ax1"], ["mean"], keepdims=1),
             helper.make_node("ReduceLogSumExp", ["x"], ["lse"], noop_with_empty_axes=1),
             helper.make_node("ReduceMax", ["b", "ax1"], ["any"], keepdims=0),
             helper.make_node("ArgMin", ["x"], ["arg"], axis=2, select_last_index=1),
             helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=1, largest=0),
             helper.make_node("CumSum", ["i", "ax1s"], ["cum"], exclusive=1, reverse=1)]
    inits = {"ax02": np.array([0, 2], np.int64), "ax1": np.array([1], np.int64), "k": np.array([2], np.int64),
             "ax1s": np.array(1, np.int64)}
    outputs = ["l2", "mean", "lse", "any", "arg", "values", "indices", "cum"]
    proto = build(nodes, {"x": x, "b": b, "i": i}, outputs, inits, 20)
    feeds = {"x": x, "b": b, "i": i}
    got = check(tmp_path, proto, feeds)
    assert_matches(run_onnxruntime(tmp_path / "bundle", feeds), got)


# -- ArgMax / ArgMin ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "int64", "int8", "uint8"])
@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
def test_argreduce_against_onnxruntime(tmp_path, op, dtype):
    rng = np.random.default_rng(6)
    x = data("ReduceMax", dtype, (3, 6, 4), seed=6)
    if dtype.startswith(("int", "uint")):
        x = (x % 3).astype(x.dtype)  # ties
    else:
        x[rng.random(x.shape) < 0.1] = np.nan  # onnxruntime's NaN rule
        x[0, :, 0] = 1.5  # an all-tied column
    cases = [(11, {"axis": 1}), (11, {"axis": -1, "keepdims": 0}), (12, {"axis": 0, "select_last_index": 1}),
             (13, {"axis": 1, "keepdims": 0, "select_last_index": 1}), (13, {})]
    for i, (opset, attrs) in enumerate(cases):
        proto = build(helper.make_node(op, ["x"], ["y"], **attrs), {"x": x}, ["y"], opset=opset)
        check(tmp_path / str(i), proto, {"x": x}, dtype)


def test_argmax_of_other_dtypes_against_the_reference(tmp_path):
    for dtype in ("bfloat16", "uint64", "int16", "uint16", "uint32"):
        x = data("ReduceMax", dtype, (2, 7, 3), seed=7)
        proto = build(helper.make_node("ArgMax", ["x"], ["y"], axis=1, keepdims=0), {"x": x}, ["y"], opset=13)
        got = compile_and_run(tmp_path / dtype, proto, {"x": x})["y"]
        np.testing.assert_array_equal(got, ref.argreduce(x, 2, 7, 3, False, False))


# -- TopK -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "int64", "int8", "uint8"])
def test_topk_against_onnxruntime(tmp_path, dtype):
    x = data("ReduceMax", dtype, (3, 20, 4), seed=8)
    if dtype.startswith(("int", "uint")):
        x = (x % 5).astype(x.dtype)  # ties: lower index first
    elif dtype == "float32":
        x[1, ::3, 2] = np.nan
        x[2, :, 1] = -0.0
    cases = [(1, {"axis": 1, "k": 3}, None), (10, {"axis": -1}, 2), (11, {"axis": 1}, 20),
             (11, {"axis": 1, "largest": 0}, 17), (11, {"axis": 0, "largest": 0, "sorted": 1}, 2), (11, {}, 1)]
    # TopK-1 and -10 take floats only; onnxruntime cannot run a float16 TopK below opset 11
    cases = [c for c in cases if dtype in ("float32", "float64") or c[0] >= 11]
    for i, (opset, attrs, k) in enumerate(cases):
        inits = {} if k is None else {"k": np.array([k], np.int64)}
        node = helper.make_node("TopK", ["x"] + list(inits), ["values", "indices"], **attrs)
        check(tmp_path / str(i), build(node, {"x": x}, ["values", "indices"], inits, opset), {"x": x}, dtype)


def test_topk_unsorted_returns_the_same_set(tmp_path):
    x = data("ReduceMax", "float32", (4, 30), seed=9)
    node = helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=1, sorted=0)
    proto = build(node, {"x": x}, ["values", "indices"], {"k": np.array([5], np.int64)}, 11)
    got = compile_and_run(tmp_path, proto, {"x": x})
    want = ort_outputs(proto, {"x": x})
    assert (np.sort(got["indices"], axis=1) == np.sort(want["indices"], axis=1)).all()
    assert (np.take_along_axis(x, got["indices"], axis=1) == got["values"]).all()


# -- CumSum ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "float16"])
def test_cumsum_against_onnxruntime(tmp_path, dtype):
    x = data("ReduceSum", dtype, (3, 7, 4), seed=10)
    cases = [(11, 1, np.int64, {}), (11, -1, np.int32, {"exclusive": 1}), (14, 0, np.int64, {"reverse": 1}),
             (14, 1, np.int32, {"exclusive": 1, "reverse": 1}), (14, -3, np.int64, {})]
    for i, (opset, axis, axis_dtype, attrs) in enumerate(cases):
        if dtype == "float16" and opset < 14:
            continue
        node = helper.make_node("CumSum", ["x", "axis"], ["y"], **attrs)
        proto = build(node, {"x": x}, ["y"], {"axis": np.array(axis, axis_dtype)}, opset)
        check(tmp_path / str(i), proto, {"x": x}, dtype)


def test_cumsum_of_a_mask_as_position_ids(tmp_path):
    """What text exporters emit: positions = cumsum(mask) * mask + padding_idx, in int64 at run time."""
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], np.int64)
    nodes = [helper.make_node("CumSum", ["mask", "axis"], ["c"]), helper.make_node("Mul", ["c", "mask"], ["m"]),
             helper.make_node("Add", ["m", "pad"], ["pos"])]
    proto = build(nodes, {"mask": mask}, ["pos"], {"axis": np.array(1, np.int64), "pad": np.array(1, np.int64)}, 14)
    got = check(tmp_path, proto, {"mask": mask}, "int64")
    assert got["pos"].tolist() == [[2, 3, 4, 1, 1], [2, 3, 4, 5, 6]]


def test_cumsum_wraps_and_keeps_float32_precision(tmp_path):
    x = np.array([[2**24, 1, 1, 1]], np.float32)
    proto = build(helper.make_node("CumSum", ["x", "axis"], ["y"]), {"x": x}, ["y"], {"axis": np.array(1, np.int64)}, 14)
    assert check(tmp_path / "f", proto, {"x": x})["y"].tolist() == [[2**24] * 4]
    i = np.array([[2**31 - 1, 1, 1]], np.int32)
    proto = build(helper.make_node("CumSum", ["x", "axis"], ["y"]), {"x": i}, ["y"], {"axis": np.array(1, np.int64)}, 14)
    assert check(tmp_path / "i", proto, {"x": i}, "int32")["y"].tolist() == [[2**31 - 1, -2**31, -2**31 + 1]]


# -- errors ---------------------------------------------------------------------------------------

def compile_error(tmp_path, proto):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "bundle")


def test_errors_are_typed_and_name_the_node(tmp_path):
    x = np.zeros((2, 3), np.float32)

    def model(node, inputs, inits=None, opset=18):
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                                  [helper.make_tensor_value_info(o, TensorProto.FLOAT, ["d"]) for o in node.output],
                                  [onnx.numpy_helper.from_array(v, n) for n, v in (inits or {}).items()])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)

    float_x = [("x", TensorProto.FLOAT, x.shape)]
    cases = [
        (model(helper.make_node("ReduceMax", ["x", "axes"], ["y"], name="r"),
               float_x + [("axes", TensorProto.INT64, [1])]), UnsupportedModelError, "axes must be a constant"),
        (model(helper.make_node("ReduceSum", ["x", "axes"], ["y"], name="r"), [("x", TensorProto.BOOL, x.shape)],
               {"axes": np.array([1], np.int64)}), UnsupportedModelError, "dtype bool"),
        (model(helper.make_node("ReduceMin", ["x", "axes"], ["y"], name="r"), float_x, {"axes": np.array([1, -1], np.int64)}),
         ModelFormatError, "repeated axes"),
        (model(helper.make_node("ReduceL2", ["x"], ["y"], name="r", axes=[2]), float_x, opset=13),
         ModelFormatError, "out of range"),
        (model(helper.make_node("ArgMax", ["x"], ["y"], name="a", axis=1), [("x", TensorProto.FLOAT, [2, 0])], opset=13),
         ModelFormatError, "empty"),
        (model(helper.make_node("TopK", ["x", "k"], ["v", "i"], name="t"), float_x, {"k": np.array([4], np.int64)}, 11),
         ModelFormatError, "k = 4"),
        (model(helper.make_node("TopK", ["x", "k"], ["v", "i"], name="t"), float_x + [("k", TensorProto.INT64, [1])], opset=11),
         UnsupportedModelError, "K must be a constant"),
        (model(helper.make_node("CumSum", ["x", "axis"], ["y"], name="c"), float_x + [("axis", TensorProto.INT64, [])], opset=14),
         UnsupportedModelError, "axis must be a constant"),
        (model(helper.make_node("ReduceMax", ["x", "axes"], ["y"], name="r"), [("x", TensorProto.FLOAT8E4M3FN, x.shape)],
               {"axes": np.array([0], np.int64)}, opset=19), UnsupportedModelError, "float8_e4m3fn"),
    ]
    for i, (proto, error, message) in enumerate(cases):
        with pytest.raises(error, match=message) as caught:
            compile_error(tmp_path / str(i), proto)
        assert "\n" not in str(caught.value) and "node '" in str(caught.value), str(caught.value)
