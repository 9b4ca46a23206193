"""Fixes found by the onnx node conformance run, each through the public API against onnxruntime on
the original graph, with other shapes and attribute values than onnx's cases: graph outputs known at
compile time (Shape, Size, Constant, a folded chain) are still written by the module; Constant in
every attribute spelling; CastLike of a constant (the expanded function bodies of Relu, Gelu,
PRelu, Softplus ...); Bitwise ops' reference graph; float64 unary ops computed in float64."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm.errors import ModelFormatError, UnsupportedModelError

FLOAT, DOUBLE, INT64, INT32 = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64, TensorProto.INT32


def model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(*i) for i in inputs],
                              [helper.make_tensor_value_info(*o) for o in outputs], list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def compile_and_run(tmp_path, proto, feeds):
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    got = edgewasm.load(tmp_path / "b").run(feeds)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    want = dict(zip([o.name for o in proto.graph.output], session.run(None, feeds)))
    return got, want


def assert_same(got, want, rtol=1e-4, atol=1e-5):
    assert set(got) == set(want)
    for name in want:
        assert got[name].dtype == want[name].dtype, (name, got[name].dtype, want[name].dtype)
        assert got[name].shape == want[name].shape, (name, got[name].shape, want[name].shape)
        if want[name].dtype.kind == "f":
            np.testing.assert_allclose(got[name], want[name], rtol=rtol, atol=atol)
        else:
            np.testing.assert_array_equal(got[name], want[name])


# -- graph outputs known at compile time ----------------------------------------------------------------


@pytest.mark.parametrize("start,end", [(None, None), (1, None), (-2, None), (0, -1), (2, 1), (-9, 9)])
def test_shape_output_is_written_by_the_module(tmp_path, start, end):
    attrs = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
    proto = model([helper.make_node("Shape", ["x"], ["s"], **attrs), helper.make_node("Relu", ["x"], ["r"])],
                  [("x", FLOAT, [2, 3, 4, 1])], [("s", INT64, ["d"]), ("r", FLOAT, [2, 3, 4, 1])], opset=15)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 1)).astype(np.float32)
    got, want = compile_and_run(tmp_path, proto, {"x": x})
    assert_same(got, want)


def test_size_and_folded_chain_outputs(tmp_path):
    """Size, and a constant that run-time nodes read too (the copy must not steal it from them)."""
    c = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5, "c")
    proto = model([helper.make_node("Size", ["x"], ["n"]), helper.make_node("Neg", ["c"], ["negc"]),
                   helper.make_node("Add", ["x", "negc"], ["y"])],
                  [("x", FLOAT, [2, 3])], [("n", INT64, []), ("negc", FLOAT, [2, 3]), ("y", FLOAT, [2, 3])], [c])
    x = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    got, want = compile_and_run(tmp_path, proto, {"x": x})
    assert_same(got, want)


@pytest.mark.parametrize("attr,value,kind,shape", [
    ("value_float", 2.5, FLOAT, []), ("value_floats", [1.0, -2.0, 3.5], FLOAT, [3]), ("value_int", -7, INT64, []),
    ("value_ints", [4, 5, -6, 7], INT64, [4]),
    ("value", numpy_helper.from_array(np.array([[True, False]]), "v"), TensorProto.BOOL, [1, 2]),
    ("value", numpy_helper.from_array(np.array([3, 250], np.uint8), "v"), TensorProto.UINT8, [2]),
])
def test_constant_spellings_as_outputs(tmp_path, attr, value, kind, shape):
    """A model with no input at all whose output is a Constant."""
    proto = model([helper.make_node("Constant", [], ["k"], **{attr: value})], [], [("k", kind, shape)])
    got, want = compile_and_run(tmp_path, proto, {})
    assert_same(got, want)


def test_constant_value_float_feeds_run_time_math(tmp_path):
    proto = model([helper.make_node("Constant", [], ["a"], value_float=0.25),
                   helper.make_node("Constant", [], ["b"], value_floats=[1.0, 2.0, -3.0]),
                   helper.make_node("Mul", ["x", "a"], ["t"]), helper.make_node("Add", ["t", "b"], ["y"])],
                  [("x", FLOAT, [2, 3])], [("y", FLOAT, [2, 3])])
    x = np.random.default_rng(2).standard_normal((2, 3)).astype(np.float32)
    got, want = compile_and_run(tmp_path, proto, {"x": x})
    assert_same(got, want)


def test_sparse_constant(tmp_path):
    sparse = helper.make_sparse_tensor(numpy_helper.from_array(np.array([1.5, -2.0], np.float32), "vals"),
                                       numpy_helper.from_array(np.array([1, 5], np.int64), "idx"), [2, 3])
    proto = model([helper.make_node("Constant", [], ["k"], sparse_value=sparse),
                   helper.make_node("Add", ["x", "k"], ["y"])], [("x", FLOAT, [2, 3])], [("y", FLOAT, [2, 3])])
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    x = np.ones((2, 3), np.float32)
    got = edgewasm.load(tmp_path / "b").run({"x": x})["y"]
    np.testing.assert_array_equal(got, x + np.array([[0, 1.5, 0], [0, 0, -2.0]], np.float32))


def test_constant_refusals(tmp_path):
    proto = model([helper.make_node("Constant", [], ["k"], value_strings=["a"])], [], [("k", TensorProto.STRING, [1])])
    (tmp_path / "s.onnx").write_bytes(proto.SerializeToString())
    with pytest.raises(UnsupportedModelError, match="string"):
        edgewasm.compile(tmp_path / "s.onnx", tmp_path / "s")
    node = helper.make_node("Constant", [], ["k"], value_float=1.0)
    node.attribute.append(helper.make_attribute("value_int", 2))
    proto = model([node, helper.make_node("Add", ["x", "k"], ["y"])], [("x", FLOAT, [1])], [("y", FLOAT, [1])])
    (tmp_path / "t.onnx").write_bytes(proto.SerializeToString())
    with pytest.raises(ModelFormatError, match="Constant"):
        edgewasm.compile(tmp_path / "t.onnx", tmp_path / "t")


# -- CastLike of a constant (function bodies) ---------------------------------------------------------


@pytest.mark.parametrize("dtype,np_dtype", [(FLOAT, np.float32), (INT32, np.int32), (DOUBLE, np.float64)])
def test_castlike_of_a_constant_folds(tmp_path, dtype, np_dtype):
    """Relu's function body: Max(x, CastLike(0.0, x)) for any dtype; here with a threshold of 1.75."""
    proto = model([helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(np.array(1.75, np.float32), "k")),
                   helper.make_node("CastLike", ["k", "x"], ["kc"]), helper.make_node("Max", ["x", "kc"], ["y"])],
                  [("x", dtype, [3, 5])], [("y", dtype, [3, 5])], opset=15)
    x = (np.random.default_rng(3).standard_normal((3, 5)) * 4).astype(np_dtype)
    got, want = compile_and_run(tmp_path, proto, {"x": x})
    assert_same(got, want)


# -- Bitwise ops (opset 18) -------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot"])
@pytest.mark.parametrize("dtype,np_dtype", [(TensorProto.INT64, np.int64), (TensorProto.UINT32, np.uint32),
                                            (TensorProto.INT8, np.int8)])
def test_bitwise_ops_broadcast(tmp_path, op, dtype, np_dtype):
    rng = np.random.default_rng(4)
    info = np.iinfo(np_dtype)
    a = rng.integers(info.min, info.max, (2, 1, 5), dtype=np_dtype, endpoint=True)
    b = rng.integers(info.min, info.max, (3, 1), dtype=np_dtype, endpoint=True)
    inputs = ["a"] if op == "BitwiseNot" else ["a", "b"]
    proto = model([helper.make_node(op, inputs, ["y"])],
                  [("a", dtype, [2, 1, 5])] + ([] if op == "BitwiseNot" else [("b", dtype, [3, 1])]),
                  [("y", dtype, [2, 3, 5] if op != "BitwiseNot" else [2, 1, 5])], opset=18)
    feeds = {"a": a} if op == "BitwiseNot" else {"a": a, "b": b}
    got, want = compile_and_run(tmp_path, proto, feeds)
    assert_same(got, want)


# -- float64 unary ops compute in float64 ---------------------------------------------------------------

def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


F32 = lambda v: float(np.float32(v))  # noqa: E731  (attributes are float32)
# op, attributes, float64 reference (ONNX's definitions, float32 attributes widened)
F64_CASES = [
    ("Exp", {}, np.exp), ("Log", {}, np.log), ("Sqrt", {}, np.sqrt), ("Sigmoid", {}, _sigmoid), ("Tanh", {}, np.tanh),
    ("Softplus", {}, _softplus), ("Softsign", {}, lambda x: x / (1 + np.abs(x))),
    ("Elu", {"alpha": 0.4}, lambda x: np.where(x < 0, F32(0.4) * np.expm1(x), x)),
    ("Selu", {"alpha": 1.3, "gamma": 0.9}, lambda x: F32(0.9) * np.where(x <= 0, F32(1.3) * np.expm1(x), x)),
    ("LeakyRelu", {"alpha": 0.2}, lambda x: np.where(x < 0, F32(0.2) * x, x)),
    ("HardSigmoid", {"alpha": 0.3, "beta": 0.45}, lambda x: np.clip(F32(0.3) * x + F32(0.45), 0, 1)),
    ("HardSwish", {}, lambda x: x * np.clip(F32(1 / 6) * x + 0.5, 0, 1)),
    ("ThresholdedRelu", {"alpha": 0.35}, lambda x: np.where(x > F32(0.35), x, 0)),
    ("Shrink", {"lambd": 0.6, "bias": 0.2},
     lambda x: np.where(x < -F32(0.6), x + F32(0.2), np.where(x > F32(0.6), x - F32(0.2), 0))),
    ("Mish", {}, lambda x: x * np.tanh(_softplus(x))),
    ("Gelu", {"approximate": "tanh"}, lambda x: x * _sigmoid(2 * np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
]


@pytest.mark.parametrize("op,attrs,reference", F64_CASES, ids=[op for op, _, _ in F64_CASES])
def test_float64_unary_ops(tmp_path, op, attrs, reference):
    """Against onnxruntime at the contract's tolerance (its double kernels go through float for some
    ops and lose small arguments to exp(x) - 1), and against numpy's float64 at 1e-12: computed in
    float64, not through float32."""
    x = np.random.default_rng(5).standard_normal((3, 7)) * 2.5
    if op in ("Log", "Sqrt"):
        x = np.abs(x) + 1e-3
    x[0, :3] = [1e-9, -1e-9, 0.0] if op not in ("Log", "Sqrt") else [1e-9, 3e-7, 1.0]
    proto = model([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", DOUBLE, [3, 7])], [("y", DOUBLE, [3, 7])],
                  opset=20 if op == "Gelu" else 18)
    got, want = compile_and_run(tmp_path, proto, {"x": x})
    assert_same(got, want)
    np.testing.assert_allclose(got["y"], reference(x), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("op,reference", [("Sinh", np.sinh), ("Cosh", np.cosh), ("Asinh", np.arcsinh),
                                          ("Acosh", np.arccosh), ("Atanh", np.arctanh)])
def test_float64_hyperbolic_ops_against_numpy(tmp_path, op, reference):
    """onnxruntime has no float64 kernels for these (the spec allows double): numpy's float64 is the reference."""
    x = np.random.default_rng(6).uniform(-0.95, 0.95, (4, 5))
    if op == "Acosh":
        x = 1 + np.abs(x) * 9
    x[0, 0] = 1e-10 if op != "Acosh" else 1.0
    proto = model([helper.make_node(op, ["x"], ["y"])], [("x", DOUBLE, [4, 5])], [("y", DOUBLE, [4, 5])])
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    got = edgewasm.load(tmp_path / "b").run({"x": x})["y"]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, reference(x), rtol=1e-13, atol=0)


def test_float64_log_sum_exp_as_its_function_body(tmp_path):
    """ReduceLogSumExp's expanded body on double: Exp, ReduceSum, Log, all in float64."""
    x = np.random.default_rng(7).standard_normal((2, 3, 4)) * 3
    proto = model([helper.make_node("Exp", ["x"], ["e"]), helper.make_node("ReduceSum", ["e", "axes"], ["s"], keepdims=0),
                   helper.make_node("Log", ["s"], ["y"])], [("x", DOUBLE, [2, 3, 4])], [("y", DOUBLE, [2, 4])],
                  [numpy_helper.from_array(np.array([1], np.int64), "axes")])
    got, want = compile_and_run(tmp_path, proto, {"x": x})
    assert_same(got, want, rtol=1e-13, atol=0)


@pytest.mark.parametrize("op,reference,low,high", [
    ("Sin", np.sin, -40, 40), ("Cos", np.cos, -40, 40), ("Tan", np.tan, -1.5, 1.5), ("Asin", np.arcsin, -1, 1),
    ("Acos", np.arccos, -1, 1), ("Atan", np.arctan, -30, 30),
    ("Erf", np.vectorize(__import__("math").erf), -5, 5),
    ("Gelu", np.vectorize(lambda v: 0.5 * v * __import__("math").erfc(-v / np.sqrt(2))), -9, 9)])
def test_float64_trigonometric_erf_gelu(tmp_path, op, reference, low, high):
    """Sin and Cos against onnxruntime too; its CPU provider has no float64 Tan, Asin, Acos, Atan, Erf or Gelu."""
    x = RNG.uniform(low, high, (3, 11))
    proto = model([helper.make_node(op, ["x"], ["y"])], [("x", DOUBLE, [3, 11])], [("y", DOUBLE, [3, 11])],
                  opset=20 if op == "Gelu" else 17)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    got = edgewasm.load(tmp_path / "b").run({"x": x})["y"]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, reference(x), rtol=1e-13, atol=1e-300)
    if op in ("Sin", "Cos"):
        got, want = compile_and_run(tmp_path, proto, {"x": x})
        assert_same(got, want, rtol=1e-13, atol=1e-15)


# -- Dropout's mask at inference ------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", [None, 0.3])
def test_dropout_mask_at_inference_is_all_true(tmp_path, ratio):
    inputs = ["x"] + (["r"] if ratio is not None else [])
    inits = [numpy_helper.from_array(np.array(ratio, np.float32), "r")] if ratio is not None else []
    proto = model([helper.make_node("Dropout", inputs, ["y", "mask"]), helper.make_node("Cast", ["mask"], ["m"], to=FLOAT),
                   helper.make_node("Mul", ["y", "m"], ["z"])],
                  [("x", FLOAT, [2, 5])], [("z", FLOAT, [2, 5]), ("mask", TensorProto.BOOL, [2, 5])], inits)
    x = np.random.default_rng(8).standard_normal((2, 5)).astype(np.float32)
    got, want = compile_and_run(tmp_path, proto, {"x": x})
    assert_same(got, want)


# -- conformance binding: inputs whose value is an output's shape ---------------------------------------


def _case(nodes, inputs, outputs, opset=17):
    from edgewasm.conformance import Case

    proto = model(nodes, [(name, kind, list(value.shape)) for name, kind, value in inputs],
                  [(name, kind, list(value.shape)) for name, kind, value in outputs], opset=opset)
    proto.opset_import.append(helper.make_opsetid("com.example", 1))
    vis = {vi.name: vi for vi in proto.graph.input}
    return Case("c", nodes[0].op_type, proto, [(vis[name], value) for name, _, value in inputs],
                [(vo, value) for vo, (_, _, value) in zip(proto.graph.output, outputs)])


def test_binding_compiles_in_only_the_inputs_that_are_an_output_shape(tmp_path):
    from edgewasm.conformance import compile_case

    shape = np.array([2, 3], np.int64)
    x = np.ones((2, 3), np.float32)
    case = _case([helper.make_node("ConstantOfShape", ["s"], ["c"],
                                   value=numpy_helper.from_array(np.array([2.5], np.float32), "v")),
                  helper.make_node("Add", ["x", "c"], ["y"])],
                 [("s", INT64, shape), ("x", FLOAT, x)], [("y", FLOAT, x + 2.5)])
    compiled = compile_case(case, tmp_path)
    assert compiled.baked == ("s",) and set(compiled.inputs) == {"x"}  # x stays at run time
    got = edgewasm.load(compiled.bundle).run(compiled.inputs)["y"]
    np.testing.assert_array_equal(got, x + 2.5)


def test_binding_compiles_in_range_bounds(tmp_path):
    from edgewasm.conformance import compile_case

    case = _case([helper.make_node("Range", ["a", "b", "d"], ["y"])],
                 [("a", INT32, np.array(10, np.int32)), ("b", INT32, np.array(-3, np.int32)),
                  ("d", INT32, np.array(-4, np.int32))], [("y", INT32, np.arange(10, -3, -4, dtype=np.int32))])
    compiled = compile_case(case, tmp_path)
    assert set(compiled.baked) == {"a", "b", "d"}
    np.testing.assert_array_equal(edgewasm.load(compiled.bundle).run({})["y"], np.arange(10, -3, -4, dtype=np.int32))


def test_binding_does_not_compile_in_other_refused_inputs(tmp_path):
    """A refusal that is not about an output shape compiles nothing more in: an int32 Sin (computed
    on floats only) would fold if its input were compiled in, and must be reported as refused instead."""
    from edgewasm.conformance import compile_case

    x = np.arange(-3, 3, dtype=np.int32)
    case = _case([helper.make_node("Sin", ["x"], ["y"])], [("x", INT32, x)], [("y", INT32, x)])
    with pytest.raises(UnsupportedModelError, match="float32 only"):
        compile_case(case, tmp_path)


# -- float64 MatMul, Gemm, Softmax, LogSoftmax, PRelu, BatchNormalization, LayerNormalization ------------

RNG = np.random.default_rng(11)


def _f64(*shape):
    return RNG.standard_normal(shape)


def _check_f64(tmp_path, proto, feeds):
    got, want = compile_and_run(tmp_path, proto, feeds)
    assert_same(got, want, rtol=1e-12, atol=1e-14)  # float64 computed in float64, not through float32


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)), ((3, 4), (4,)),
                                   ((4,), (4,))])
def test_float64_matmul(tmp_path, sa, sb):
    out = list(np.matmul(np.zeros(sa), np.zeros(sb)).shape)
    proto = model([helper.make_node("MatMul", ["a", "b"], ["y"])], [("a", DOUBLE, list(sa)), ("b", DOUBLE, list(sb))],
                  [("y", DOUBLE, out)])
    _check_f64(tmp_path, proto, {"a": _f64(*sa), "b": _f64(*sb)})


def test_float64_matmul_by_constant_and_int64_matmul(tmp_path):
    w = numpy_helper.from_array(_f64(3, 2), "w")
    proto = model([helper.make_node("MatMul", ["a", "w"], ["y"])], [("a", DOUBLE, [4, 3])], [("y", DOUBLE, [4, 2])], [w])
    _check_f64(tmp_path, proto, {"a": _f64(4, 3)})
    proto = model([helper.make_node("MatMul", ["a", "b"], ["y"])], [("a", INT64, [2, 3]), ("b", INT64, [3, 2])],
                  [("y", INT64, [2, 2])])
    a, b = RNG.integers(-50, 50, (2, 3)), RNG.integers(-50, 50, (3, 2))
    (tmp_path / "i.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "i.onnx", tmp_path / "i")
    got = edgewasm.load(tmp_path / "i").run({"a": a, "b": b})["y"]
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, a @ b)


@pytest.mark.parametrize("trans_a,trans_b,alpha,beta,c_shape,c_const", [
    (0, 0, 1.0, 1.0, None, False), (1, 0, 0.5, 1.0, [5], True), (0, 1, 1.0, -2.0, [3, 5], False),
    (1, 1, 2.5, 0.25, [3, 1], True), (0, 0, 1.0, 3.0, [], False)])
def test_float64_gemm(tmp_path, trans_a, trans_b, alpha, beta, c_shape, c_const):
    sa, sb = ([4, 3] if trans_a else [3, 4]), ([5, 4] if trans_b else [4, 5])
    inputs, inits, feeds = [("a", DOUBLE, sa), ("b", DOUBLE, sb)], [], {"a": _f64(*sa), "b": _f64(*sb)}
    names = ["a", "b"]
    if c_shape is not None:
        names.append("c")
        value = _f64(*c_shape) if c_shape else np.array(0.75)
        if c_const:
            inits.append(numpy_helper.from_array(value, "c"))
        else:
            inputs.append(("c", DOUBLE, c_shape))
            feeds["c"] = value
    proto = model([helper.make_node("Gemm", names, ["y"], transA=trans_a, transB=trans_b, alpha=alpha, beta=beta)],
                  inputs, [("y", DOUBLE, [3, 5])], inits)
    _check_f64(tmp_path, proto, feeds)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("axis,opset", [(-1, 13), (1, 13), (0, 13), (1, 11), (2, 11)])
def test_float64_softmax(tmp_path, op, axis, opset):
    x = _f64(2, 3, 4) * 5
    x[0, 0, 0] = 700.0  # exp overflows without the max shift
    proto = model([helper.make_node(op, ["x"], ["y"], axis=axis)], [("x", DOUBLE, [2, 3, 4])], [("y", DOUBLE, [2, 3, 4])],
                  opset=opset)
    _check_f64(tmp_path, proto, {"x": x})


@pytest.mark.parametrize("slope_shape,const", [([4], True), ([3, 1], False), ([1], False), ([2, 3, 4], True)])
def test_float64_prelu(tmp_path, slope_shape, const):
    inputs, inits, feeds = [("x", DOUBLE, [2, 3, 4])], [], {"x": _f64(2, 3, 4)}
    slope = _f64(*slope_shape) * 0.3
    if const:
        inits.append(numpy_helper.from_array(slope, "s"))
    else:
        inputs.append(("s", DOUBLE, slope_shape))
        feeds["s"] = slope
    proto = model([helper.make_node("PRelu", ["x", "s"], ["y"])], inputs, [("y", DOUBLE, [2, 3, 4])], inits)
    _check_f64(tmp_path, proto, feeds)


@pytest.mark.parametrize("shape,const", [([2, 3, 4, 2], True), ([3, 3], True), ([1, 3, 5], False)])
def test_float64_batch_norm(tmp_path, shape, const):
    c = shape[1]
    params = {"s": _f64(c), "b": _f64(c), "m": _f64(c), "v": np.abs(_f64(c)) + 0.1}
    inputs, inits, feeds = [("x", DOUBLE, shape)], [], {"x": _f64(*shape)}
    for name, value in params.items():
        if const:
            inits.append(numpy_helper.from_array(value, name))
        else:
            inputs.append((name, DOUBLE, [c]))
            feeds[name] = value
    proto = model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
                  inputs, [("y", DOUBLE, shape)], inits, opset=15)
    _check_f64(tmp_path, proto, feeds)


@pytest.mark.parametrize("axis,with_bias,stats", [(-1, True, False), (1, False, False), (0, True, True)])
def test_float64_layer_norm(tmp_path, axis, with_bias, stats):
    shape = [2, 3, 4]
    normalized = shape[axis:]
    inits = [numpy_helper.from_array(_f64(*normalized), "s")] + (
        [numpy_helper.from_array(_f64(*normalized), "b")] if with_bias else [])
    outputs = [("y", DOUBLE, shape)]
    stat_shape = shape[:axis % 3] + [1] * len(normalized)
    if stats:
        outputs += [("mean", FLOAT, stat_shape), ("inv", FLOAT, stat_shape)]
    node = helper.make_node("LayerNormalization", ["x", "s"] + (["b"] if with_bias else []),
                            ["y"] + (["mean", "inv"] if stats else []), axis=axis, epsilon=1e-4)
    proto = model([node], [("x", DOUBLE, shape)], outputs, inits)
    got, want = compile_and_run(tmp_path, proto, {"x": _f64(*shape) * 3 + 1})
    assert_same({"y": got["y"]}, {"y": want["y"]}, rtol=1e-12, atol=1e-14)
    if stats:  # the stash dtype (float32 by default)
        assert_same({k: got[k] for k in ("mean", "inv")}, {k: want[k] for k in ("mean", "inv")})


@pytest.mark.parametrize("dtype,np_dtype", [(INT32, np.int32), (INT64, np.int64)])
def test_integer_prelu(tmp_path, dtype, np_dtype):
    x = RNG.integers(-20, 20, (2, 5)).astype(np_dtype)
    slope = RNG.integers(-3, 4, (5,)).astype(np_dtype)
    proto = model([helper.make_node("PRelu", ["x", "s"], ["y"])], [("x", dtype, [2, 5]), ("s", dtype, [5])],
                  [("y", dtype, [2, 5])])
    got, want = compile_and_run(tmp_path, proto, {"x": x, "s": slope})
    assert_same(got, want)


# -- Gemm with B computed at run time ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype,np_dtype", [(FLOAT, np.float32), (TensorProto.FLOAT16, np.float16)])
@pytest.mark.parametrize("trans_a,trans_b,alpha,beta,c_shape", [
    (0, 0, 1.0, 1.0, None), (1, 0, 0.5, 1.0, [5]), (0, 1, 1.0, -2.0, [3, 5]), (1, 1, 2.5, 0.25, [3, 1])])
def test_gemm_with_run_time_b(tmp_path, dtype, np_dtype, trans_a, trans_b, alpha, beta, c_shape):
    sa, sb = ([4, 3] if trans_a else [3, 4]), ([5, 4] if trans_b else [4, 5])
    feeds = {"a": RNG.standard_normal(sa).astype(np_dtype), "b": RNG.standard_normal(sb).astype(np_dtype)}
    inputs = [("a", dtype, sa), ("b", dtype, sb)]
    if c_shape is not None:
        inputs.append(("c", dtype, c_shape))
        feeds["c"] = RNG.standard_normal(c_shape).astype(np_dtype)
    proto = model([helper.make_node("Gemm", [name for name, _, _ in inputs], ["y"], transA=trans_a, transB=trans_b,
                                    alpha=alpha, beta=beta)], inputs, [("y", dtype, [3, 5])])
    got, want = compile_and_run(tmp_path, proto, feeds)
    if np_dtype == np.float16:  # computed in float32 between casts: one float16 rounding apart
        assert_same(got, want, rtol=2e-3, atol=2e-3)
    else:
        assert_same(got, want)


@pytest.mark.parametrize("dtype,np_dtype", [(FLOAT, np.float32), (TensorProto.FLOAT16, np.float16)])
@pytest.mark.parametrize("shape", [[2, 3, 4, 2], [3, 3]])
def test_batch_norm_with_run_time_parameters(tmp_path, dtype, np_dtype, shape):
    c = shape[1]
    params = {"s": RNG.standard_normal(c), "b": RNG.standard_normal(c), "m": RNG.standard_normal(c),
              "v": np.abs(RNG.standard_normal(c)) + 0.1}
    feeds = {"x": RNG.standard_normal(shape).astype(np_dtype), **{k: v.astype(np_dtype) for k, v in params.items()}}
    proto = model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
                  [("x", dtype, shape)] + [(name, dtype, [c]) for name in params], [("y", dtype, shape)], opset=15)
    got, want = compile_and_run(tmp_path, proto, feeds)
    tolerance = {"rtol": 2e-3, "atol": 2e-3} if np_dtype == np.float16 else {}
    assert_same(got, want, **tolerance)


# -- float64 normalizations ---------------------------------------------------------------------------


@pytest.mark.parametrize("axis,p", [(-1, 2), (0, 1), (1, 2)])
def test_float64_lp_norm(tmp_path, axis, p):
    x = _f64(3, 4, 2)
    x[1, :, :] = 0.0 if axis == 1 else x[1, :, :]  # a zero row (axis 1) stays zero
    proto = model([helper.make_node("LpNormalization", ["x"], ["y"], axis=axis, p=p)], [("x", DOUBLE, [3, 4, 2])],
                  [("y", DOUBLE, [3, 4, 2])])
    _check_f64(tmp_path, proto, {"x": x})


@pytest.mark.parametrize("axis,scale_shape", [(-1, [5]), (1, [4, 5]), (0, [3, 1, 5])])
def test_float64_rms_norm(tmp_path, axis, scale_shape):
    proto = model([helper.make_node("RMSNormalization", ["x", "s"], ["y"], axis=axis, epsilon=1e-3)],
                  [("x", DOUBLE, [3, 4, 5]), ("s", DOUBLE, scale_shape)], [("y", DOUBLE, [3, 4, 5])], opset=23)
    _check_f64(tmp_path, proto, {"x": _f64(3, 4, 5), "s": _f64(*scale_shape)})


@pytest.mark.parametrize("opset,groups", [(21, 2), (21, 3), (18, 3)])
def test_float64_group_norm(tmp_path, opset, groups):
    period = 6 if opset >= 21 else groups
    s, b = numpy_helper.from_array(_f64(period), "s"), numpy_helper.from_array(_f64(period), "b")
    proto = model([helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=groups, epsilon=1e-4)],
                  [("x", DOUBLE, [2, 6, 3, 2])], [("y", DOUBLE, [2, 6, 3, 2])], [s, b], opset=opset)
    x = _f64(2, 6, 3, 2) * 2 + 1
    if opset >= 21:  # onnxruntime computes in float32 (stash_type 1): the contract's tolerance
        got, want = compile_and_run(tmp_path, proto, {"x": x})
        assert_same(got, want)
        got = got["y"]
    else:  # opset 18 (per-group scale and bias): onnxruntime no longer runs it
        (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
        edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
        got = edgewasm.load(tmp_path / "b").run({"x": x})["y"]
    # numpy's float64 (the float32 epsilon attribute widened): computed in float64
    g = x.reshape(2, groups, -1)
    normed = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + float(np.float32(1e-4)))).reshape(x.shape)
    s, b = numpy_helper.to_array(s), numpy_helper.to_array(b)
    if opset >= 21:
        want = normed * s.reshape(6, 1, 1) + b.reshape(6, 1, 1)
    else:
        want = (normed.reshape(2, groups, -1) * s.reshape(groups, 1) + b.reshape(groups, 1)).reshape(x.shape)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_float64_instance_norm_and_mvn(tmp_path):
    """onnxruntime has no float64 kernels for these: numpy's float64 is the reference."""
    x, s, b = _f64(2, 3, 4, 5), _f64(3), _f64(3)
    proto = model([helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], epsilon=1e-3),
                   helper.make_node("MeanVarianceNormalization", ["x"], ["m"], axes=[0, 2])],
                  [("x", DOUBLE, [2, 3, 4, 5]), ("s", DOUBLE, [3]), ("b", DOUBLE, [3])],
                  [("y", DOUBLE, [2, 3, 4, 5]), ("m", DOUBLE, [2, 3, 4, 5])])
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b")
    got = edgewasm.load(tmp_path / "b").run({"x": x, "s": s, "b": b})
    mean, var = x.mean((2, 3), keepdims=True), x.var((2, 3), keepdims=True)
    want = (x - mean) / np.sqrt(var + float(np.float32(1e-3))) * s.reshape(3, 1, 1) + b.reshape(3, 1, 1)
    np.testing.assert_allclose(got["y"], want, rtol=1e-12, atol=1e-14)
    mean, std = x.mean((0, 2), keepdims=True), x.std((0, 2), keepdims=True)
    np.testing.assert_allclose(got["m"], (x - mean) / (std + 1e-9), rtol=1e-12, atol=1e-14)


# -- float64 Pow --------------------------------------------------------------------------------------


@pytest.mark.parametrize("exp_dtype,np_exp", [(DOUBLE, np.float64), (INT64, np.int64), (INT32, np.int32)])
def test_float64_pow(tmp_path, exp_dtype, np_exp):
    x = RNG.uniform(0.1, 4, (3, 4))
    x[0] = [-2.0, -0.5, 0.0, 3.0]  # negative bases with integer exponents, a zero base
    if np_exp == np.float64:
        y = np.array([2.0, 3.0, 2.0, -1.5])
    else:
        y = np.array([2, 3, 4, -1], np_exp)
    proto = model([helper.make_node("Pow", ["x", "y"], ["z"])], [("x", DOUBLE, [3, 4]), ("y", exp_dtype, [4])],
                  [("z", DOUBLE, [3, 4])], opset=15)
    _check_f64(tmp_path, proto, {"x": x, "y": y})
