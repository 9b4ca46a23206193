"""The transformer and elementwise ops through the public API (compile, load, run in wasmtime):
outputs match onnxruntime within the fp32 contract (atol 1e-5 + rtol 1e-4), and the variant's
reference.onnx agrees too."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

import edgewasm
from edgewasm.engines import run_onnxruntime, within_contract
from edgewasm.errors import ModelFormatError, UnsupportedModelError

from transformer_models import op_model, ort_run


def check(tmp_path, proto, inputs, atol=1e-5, rtol=1e-4):
    """Compile, run in wasmtime, and compare with onnxruntime on the original model and on the
    variant's reference.onnx; returns the module's outputs."""
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    got = edgewasm.load(tmp_path / "bundle").run(inputs)
    want = ort_run(proto, inputs)
    reference = run_onnxruntime(tmp_path / "bundle", inputs)
    assert set(got) == set(want)
    for name in want:
        assert got[name].shape == want[name].shape, (name, got[name].shape, want[name].shape)
        assert within_contract(got[name], want[name], atol=atol, rtol=rtol), (name, _worst(got[name], want[name]))
        assert within_contract(reference[name], want[name], atol=atol, rtol=rtol), name
    return got


def _worst(a, b):
    diff = np.abs(a.astype(np.float64) - b)
    i = np.unravel_index(np.nanargmax(diff), diff.shape) if diff.size else ()
    return f"max |diff| {np.nanmax(diff) if diff.size else 0} at {i}: got {a[i]!r} want {b[i]!r}"


def randn(*shape, seed=0, scale=1.0):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape) * scale, np.float32)


def compile_error(tmp_path, proto):
    path = tmp_path / "bad.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bad_bundle")


# -- binary elementwise with numpy broadcasting -------------------------------------------------

BROADCASTS = [((3, 5), (3, 5)), ((2, 3, 5), (5,)), ((2, 3, 5), (3, 1)), ((4, 1), (1, 6)),
              ((2, 1, 3, 1), (1, 4, 1, 5)), ((1,), (2, 3)), ((), (7,)), ((6, 1, 4, 1, 2), (3, 1, 1, 2))]


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min"])
@pytest.mark.parametrize("shape_a, shape_b", BROADCASTS)
def test_binary_broadcasting_two_activations(tmp_path, op, shape_a, shape_b):
    proto = op_model(helper.make_node(op, ["a", "b"], ["y"]), {"a": shape_a, "b": shape_b}, ["y"])
    check(tmp_path, proto, {"a": randn(*shape_a, seed=1), "b": randn(*shape_b, seed=2) + 3 * (op == "Div")})


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Pow"])
@pytest.mark.parametrize("const_first", [False, True])
@pytest.mark.parametrize("shape_x, shape_c", [((2, 3, 5), ()), ((2, 3, 5), (5,)), ((2, 3, 5), (3, 1)),
                                             ((4,), (3, 4))])
def test_binary_with_a_constant(tmp_path, op, const_first, shape_x, shape_c):
    c = np.abs(randn(*shape_c, seed=3)) + np.float32(0.5)
    x = np.abs(randn(*shape_x, seed=4)) + np.float32(0.1) if op == "Pow" else randn(*shape_x, seed=4)
    inputs = ["c", "x"] if const_first else ["x", "c"]
    proto = op_model(helper.make_node(op, inputs, ["y"]), {"x": shape_x}, ["y"], {"c": c})
    check(tmp_path, proto, {"x": x})


def test_binary_special_values(tmp_path):
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 2.0, -2.0, 0.5, 1e30, -1e-30], np.float32)
    a, b = np.meshgrid(specials, specials)
    ops = ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min")
    nodes = [helper.make_node(op, ["a", "b"], [f"y_{op}"]) for op in ops]
    proto = op_model(nodes, {"a": a.shape, "b": b.shape}, [f"y_{op}" for op in ops])
    check(tmp_path, proto, {"a": a, "b": b})


@pytest.mark.parametrize("exponent", [2.0, 0.5, 1.0, 3.0, -1.0, 0.0, 1.7])
def test_pow_by_constant_exponents(tmp_path, exponent):
    x = randn(3, 7, seed=5, scale=2.0)
    x = np.abs(x) if exponent in (0.5, 1.7) else x
    proto = op_model(helper.make_node("Pow", ["x", "e"], ["y"]), {"x": (3, 7)}, ["y"], {"e": np.float32(exponent)})
    check(tmp_path, proto, {"x": x})


def test_pow_integer_exponent_tensor_and_negative_bases(tmp_path):
    x = randn(2, 5, seed=6, scale=3.0)
    proto = op_model(helper.make_node("Pow", ["x", "e"], ["y"]), {"x": (2, 5)}, ["y"],
                     {"e": np.array([1, 2, 3, -2, 5], np.int64)})
    check(tmp_path, proto, {"x": x})


def test_pow_of_two_activations(tmp_path):
    proto = op_model(helper.make_node("Pow", ["x", "e"], ["y"]), {"x": (4, 6), "e": (6,)}, ["y"])
    check(tmp_path, proto, {"x": np.abs(randn(4, 6, seed=7)) * 3, "e": randn(6, seed=8) * 2})


@pytest.mark.parametrize("op", ["Sum", "Max", "Min"])
@pytest.mark.parametrize("count", [1, 2, 3])
def test_variadic_ops(tmp_path, op, count):
    shapes = [(3, 4), (4,), (1, 4)][:count]
    names = [f"x{i}" for i in range(count)]
    proto = op_model(helper.make_node(op, names, ["y"]), dict(zip(names, shapes)), ["y"])
    check(tmp_path, proto, {n: randn(*s, seed=i) for i, (n, s) in enumerate(zip(names, shapes))})


def test_shapes_that_do_not_broadcast_are_a_model_error(tmp_path):
    proto = op_model(helper.make_node("Add", ["a", "b"], ["y"]), {"a": (3, 4), "b": (3, 4)}, ["y"])
    proto.graph.input[1].type.tensor_type.shape.dim[1].dim_value = 5
    with pytest.raises(ModelFormatError, match="do not broadcast"):
        compile_error(tmp_path, proto)


# -- unary elementwise --------------------------------------------------------------------------

UNARY = [("Sigmoid", {}), ("Tanh", {}), ("Erf", {}), ("Sqrt", {}), ("Exp", {}), ("Log", {}),
         ("LeakyRelu", {}), ("LeakyRelu", {"alpha": 0.3}), ("HardSigmoid", {}),
         ("HardSigmoid", {"alpha": 0.5, "beta": 0.1}), ("HardSwish", {}), ("Relu", {})]


@pytest.mark.parametrize("op, attrs", UNARY, ids=[f"{op}-{attrs}" for op, attrs in UNARY])
@pytest.mark.parametrize("shape", [(1,), (3, 7), (2, 3, 4, 5)])
def test_unary_ops(tmp_path, op, attrs, shape):
    x = randn(*shape, seed=9, scale=3.0)
    if op in ("Sqrt", "Log"):
        x = np.abs(x) + np.float32(1e-3)
    proto = op_model(helper.make_node(op, ["x"], ["y"], **attrs), {"x": shape}, ["y"])
    check(tmp_path, proto, {"x": x})


@pytest.mark.parametrize("approximate", [None, "none", "tanh"])
def test_gelu_opset20(tmp_path, approximate):
    attrs = {} if approximate is None else {"approximate": approximate}
    x = randn(4, 33, seed=10, scale=3.0)
    proto = op_model(helper.make_node("Gelu", ["x"], ["y"], **attrs), {"x": (4, 33)}, ["y"], opset=20)
    check(tmp_path, proto, {"x": x})


def test_gelu_as_exporters_spell_it(tmp_path):
    """x * 0.5 * (1 + erf(x / sqrt(2))), op by op, the pattern PyTorch and TF export."""
    nodes = [helper.make_node("Div", ["x", "sqrt2"], ["s"]), helper.make_node("Erf", ["s"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["p"]), helper.make_node("Mul", ["x", "p"], ["m"]),
             helper.make_node("Mul", ["m", "half"], ["y"])]
    constants = {"sqrt2": np.float32(np.sqrt(2)), "one": np.float32(1), "half": np.float32(0.5)}
    check(tmp_path, op_model(nodes, {"x": (3, 40)}, ["y"], constants), {"x": randn(3, 40, seed=11, scale=3)})


def test_unary_special_values(tmp_path):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 88.0, -88.0, 1e30, -1e30], np.float32)
    ops = ["Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "LeakyRelu", "HardSigmoid", "HardSwish"]
    nodes = [helper.make_node(op, ["x"], [f"y_{op}"]) for op in ops]
    check(tmp_path, op_model(nodes, {"x": x.shape}, [f"y_{op}" for op in ops]), {"x": x})


def test_gelu_with_unknown_approximation_is_unsupported(tmp_path):
    proto = op_model(helper.make_node("Gelu", ["x"], ["y"]), {"x": (2, 3)}, ["y"], opset=20)
    proto.graph.node[0].attribute.append(helper.make_attribute("approximate", "cubic"))
    with pytest.raises(UnsupportedModelError, match="approximate='cubic'"):
        compile_error(tmp_path, proto)


# -- data movement and views ----------------------------------------------------------------------

@pytest.mark.parametrize("shape, perm", [((3, 5), None), ((3, 5), [1, 0]), ((2, 3, 4), [0, 2, 1]),
                                         ((2, 3, 4), [2, 0, 1]), ((2, 5, 3, 4), [0, 2, 1, 3]),
                                         ((1, 16, 4, 16), [0, 2, 3, 1]), ((2, 1, 3), [1, 0, 2]),
                                         ((2, 3, 4, 5, 2), [4, 2, 0, 3, 1])])
def test_transpose(tmp_path, shape, perm):
    attrs = {} if perm is None else {"perm": perm}
    proto = op_model(helper.make_node("Transpose", ["x"], ["y"], **attrs), {"x": shape}, ["y"])
    check(tmp_path, proto, {"x": randn(*shape)}, atol=0, rtol=0)


@pytest.mark.parametrize("starts, ends, axes, steps", [
    ([1], [3], [0], None), ([0, 1], [2, -1], [0, 2], [1, 2]), ([-1], [-1000], [1], [-1]),
    ([4, 3], [0, 0], [2, 1], [-2, -1]), ([0], [2**62], None, None), ([1], [5], [-1], [3]),
])
def test_slice(tmp_path, starts, ends, axes, steps):
    constants = {"starts": np.array(starts, np.int64), "ends": np.array(ends, np.int64)}
    inputs = ["x", "starts", "ends"]
    if axes is not None or steps is not None:
        constants["axes"] = np.array(axes if axes is not None else list(range(len(starts))), np.int64)
        inputs.append("axes")
    if steps is not None:
        constants["steps"] = np.array(steps, np.int64)
        inputs.append("steps")
    proto = op_model(helper.make_node("Slice", inputs, ["y"]), {"x": (3, 4, 6)}, ["y"], constants)
    check(tmp_path, proto, {"x": randn(3, 4, 6)}, atol=0, rtol=0)


def test_empty_slice_inside_the_graph(tmp_path):
    """An empty intermediate concatenated with a real tensor."""
    nodes = [helper.make_node("Slice", ["x", "s", "e", "a"], ["empty"]),
             helper.make_node("Concat", ["empty", "x"], ["y"], axis=2)]
    constants = {"s": np.array([10], np.int64), "e": np.array([20], np.int64), "a": np.array([2], np.int64)}
    check(tmp_path, op_model(nodes, {"x": (3, 4, 6)}, ["y"], constants), {"x": randn(3, 4, 6)}, atol=0, rtol=0)


def test_slice_opset9_attributes(tmp_path):
    node = helper.make_node("Slice", ["x"], ["y"], starts=[0, 1], ends=[2, 100], axes=[0, 1])
    check(tmp_path, op_model(node, {"x": (3, 4)}, ["y"], opset=9), {"x": randn(3, 4)}, atol=0, rtol=0)


@pytest.mark.parametrize("axis, indices", [(0, [2, 0, 1, 2]), (1, [[0, -1], [2, 1]]), (2, 3), (-1, [0, 1, 2]),
                                           (1, [-2])])
def test_gather_with_constant_indices(tmp_path, axis, indices):
    proto = op_model(helper.make_node("Gather", ["x", "i"], ["y"], axis=axis), {"x": (3, 4, 5)}, ["y"],
                     {"i": np.array(indices, np.int64)})
    check(tmp_path, proto, {"x": randn(3, 4, 5)}, atol=0, rtol=0)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_activations_and_constants(tmp_path, axis):
    shapes = {"a": [2, 3, 4], "b": [2, 3, 4]}
    const_shape = [2, 3, 4]
    const_shape[axis] = 5
    b_shape = list(shapes["b"])
    b_shape[axis] = 1
    nodes = helper.make_node("Concat", ["a", "c", "b"], ["y"], axis=axis)
    proto = op_model(nodes, {"a": (2, 3, 4), "b": tuple(b_shape)}, ["y"], {"c": randn(*const_shape, seed=3)})
    check(tmp_path, proto, {"a": randn(2, 3, 4), "b": randn(*b_shape, seed=1)}, atol=0, rtol=0)


@pytest.mark.parametrize("opset", [11, 13])
def test_squeeze_unsqueeze_are_views(tmp_path, opset):
    if opset < 13:
        nodes = [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0, -1]),
                 helper.make_node("Squeeze", ["u"], ["s"], axes=[0]), helper.make_node("Squeeze", ["s"], ["y"])]
        constants = {}
    else:
        nodes = [helper.make_node("Unsqueeze", ["x", "ax"], ["u"]), helper.make_node("Squeeze", ["u", "a0"], ["s"]),
                 helper.make_node("Squeeze", ["s"], ["y"])]
        constants = {"ax": np.array([0, -1], np.int64), "a0": np.array([0], np.int64)}
    nodes.append(helper.make_node("Relu", ["y"], ["r"]))
    proto = op_model(nodes, {"x": (3, 1, 4)}, ["r", "u"], constants, opset=opset)
    check(tmp_path, proto, {"x": randn(3, 1, 4)}, atol=0, rtol=0)


def test_shape_math_folds_into_reshape(tmp_path):
    """PyTorch's multi-head reshape: Shape -> Gather -> Unsqueeze -> Concat -> Reshape, plus Cast,
    Div and Expand on the way; everything but the data path folds at compile time."""
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        helper.make_node("Gather", ["shape", "one"], ["seq"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "axes0"], ["b1"]),
        helper.make_node("Unsqueeze", ["seq", "axes0"], ["s1"]),
        helper.make_node("Cast", ["heads"], ["heads64"], to=7),
        helper.make_node("Div", ["dmodel", "heads64"], ["dhead"]),
        helper.make_node("Concat", ["b1", "s1", "heads64", "dhead"], ["newshape"], axis=0),
        helper.make_node("Reshape", ["x", "newshape"], ["split"]),
        helper.make_node("Transpose", ["split"], ["y"], perm=[0, 2, 1, 3]),
        helper.make_node("Size", ["x"], ["n"]),
        helper.make_node("Cast", ["x"], ["x32"], to=1),
        helper.make_node("Expand", ["x32", "eshape"], ["z"]),
    ]
    constants = {"zero": np.array(0, np.int64), "one": np.array(1, np.int64), "axes0": np.array([0], np.int64),
                 "heads": np.array([4], np.int32), "dmodel": np.array([16], np.int64),
                 "eshape": np.array([2, 1, 1, 1], np.int64)}
    proto = op_model(nodes, {"x": (2, 5, 16)}, ["y", "z"], constants)
    check(tmp_path, proto, {"x": randn(2, 5, 16)}, atol=0, rtol=0)


def test_an_output_shape_that_is_a_run_time_value_is_unsupported(tmp_path):
    graph = helper.make_graph([helper.make_node("Range", ["zero", "n", "one"], ["y"])], "g",
                              [helper.make_tensor_value_info("n", 7, [])], [helper.make_tensor_value_info("y", 7, ["k"])],
                              [helper.make_tensor("zero", 7, [], [0]), helper.make_tensor("one", 7, [], [1])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    with pytest.raises(UnsupportedModelError, match="Range node .*output shape is the value of .*run time"):
        compile_error(tmp_path, proto)


@pytest.mark.parametrize("shape, target", [((3, 1), [2, 3, 4]), ((1, 4), [3, 1]), ((2, 3), [2, 3])])
def test_expand(tmp_path, shape, target):
    proto = op_model(helper.make_node("Expand", ["x", "s"], ["y"]), {"x": shape}, ["y"],
                     {"s": np.array(target, np.int64)})
    check(tmp_path, proto, {"x": randn(*shape)}, atol=0, rtol=0)


# -- MatMul ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape_a, shape_b", [
    ((2, 3, 5), (2, 5, 4)), ((4, 7, 9), (9, 13)), ((2, 1, 5, 6), (3, 6, 7)), ((5,), (5, 3)), ((2, 5), (5,)),
    ((6,), (6,)), ((3, 2, 4), (4,)), ((1, 4, 16, 16), (1, 4, 16, 16)), ((2, 3, 1, 8), (1, 8, 9)), ((3, 4), (4, 9)),
])
def test_matmul_of_two_activations(tmp_path, shape_a, shape_b):
    proto = op_model(helper.make_node("MatMul", ["a", "b"], ["y"]), {"a": shape_a, "b": shape_b}, ["y"])
    check(tmp_path, proto, {"a": randn(*shape_a, seed=1), "b": randn(*shape_b, seed=2)})


@pytest.mark.parametrize("shape_a, shape_b, constant", [
    ((2, 3, 5), (2, 5, 4), "b"), ((3, 5), (2, 5, 4), "b"), ((4, 6), (2, 6, 3), "a"), ((7,), (7, 3), "b"),
    ((3, 5), (5, 2), "a"),
])
def test_matmul_with_a_constant_operand(tmp_path, shape_a, shape_b, constant):
    values = {"a": randn(*shape_a, seed=1), "b": randn(*shape_b, seed=2)}
    inputs = {name: shape for name, shape in (("a", shape_a), ("b", shape_b)) if name != constant}
    proto = op_model(helper.make_node("MatMul", ["a", "b"], ["y"]), inputs, ["y"], {constant: values[constant]})
    check(tmp_path, proto, {name: values[name] for name in inputs})


def test_attention_scores_kernels(tmp_path):
    """Q @ K^T over heads, softmax, @ V: the attention core with activation x activation MatMuls."""
    nodes = [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
             helper.make_node("MatMul", ["q", "kt"], ["s"]),
             helper.make_node("Softmax", ["s"], ["p"], axis=-1),
             helper.make_node("MatMul", ["p", "v"], ["y"])]
    shape = (2, 4, 9, 8)
    proto = op_model(nodes, {"q": shape, "k": shape, "v": shape}, ["y"])
    check(tmp_path, proto, {n: randn(*shape, seed=i) for i, n in enumerate("qkv")})


# -- Softmax, LogSoftmax, LayerNormalization, ReduceMean / ReduceSum ----------------------------

@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("opset, axis", [(13, -1), (13, 0), (13, 1), (13, 2), (13, -2), (11, 1), (11, 0), (11, -1),
                                         (17, None)])
def test_softmax_any_axis(tmp_path, op, opset, axis):
    attrs = {} if axis is None else {"axis": axis}
    proto = op_model(helper.make_node(op, ["x"], ["y"], **attrs), {"x": (3, 4, 5)}, ["y"], opset=opset)
    check(tmp_path, proto, {"x": randn(3, 4, 5, scale=4)})


def test_softmax_axis_followed_by_unit_axes_needs_no_transpose(tmp_path):
    proto = op_model(helper.make_node("Softmax", ["x"], ["y"], axis=1), {"x": (2, 7, 1, 1)}, ["y"], opset=13)
    got = check(tmp_path, proto, {"x": randn(2, 7, 1, 1)})
    assert edgewasm.load(tmp_path / "bundle").variant.kernels == ["f32_softmax"]
    assert np.allclose(got["y"].sum(axis=1), 1, atol=1e-6)


def test_logsoftmax_large_and_special_values(tmp_path):
    x = np.array([[1000, 1001, 1002, 999], [-np.inf, 0, 1, 2], [1e30, -1e30, 0, 5]], np.float32)
    check(tmp_path, op_model(helper.make_node("LogSoftmax", ["x"], ["y"]), {"x": (3, 4)}, ["y"]), {"x": x})


@pytest.mark.parametrize("shape, axis", [((4, 16), -1), ((2, 3, 5), -1), ((2, 3, 5), 1), ((2, 3, 4, 5), 0),
                                         ((3, 7), -2)])
@pytest.mark.parametrize("bias", [True, False])
def test_layer_normalization(tmp_path, shape, axis, bias):
    normalized = shape[axis:]
    constants = {"scale": randn(*normalized, seed=2)}
    inputs = ["x", "scale"]
    if bias:
        constants["bias"] = randn(*normalized, seed=3)
        inputs.append("bias")
    proto = op_model(helper.make_node("LayerNormalization", inputs, ["y"], axis=axis, epsilon=1e-3),
                     {"x": shape}, ["y"], constants)
    check(tmp_path, proto, {"x": randn(*shape, scale=3) + 2})


def test_layer_normalization_with_statistics_and_computed_scale(tmp_path):
    node = helper.make_node("LayerNormalization", ["x", "s", "b"], ["y", "mean", "inv_std"], axis=1)
    proto = op_model(node, {"x": (3, 4, 5), "s": (4, 5), "b": (4, 5)}, ["y", "mean", "inv_std"])
    check(tmp_path, proto, {"x": randn(3, 4, 5), "s": randn(4, 5, seed=1), "b": randn(4, 5, seed=2)})


def test_layer_normalization_broadcast_scale(tmp_path):
    node = helper.make_node("LayerNormalization", ["x", "s"], ["y"], axis=1)
    proto = op_model(node, {"x": (3, 4, 5)}, ["y"], {"s": randn(5, seed=1)})
    check(tmp_path, proto, {"x": randn(3, 4, 5)})


@pytest.mark.parametrize("op, opset", [("ReduceMean", 17), ("ReduceMean", 18), ("ReduceSum", 13), ("ReduceSum", 11)])
@pytest.mark.parametrize("axes, keepdims", [([-1], 1), ([1], 0), ([0, 2], 1), ([1, 2], 0), (None, 1), (None, 0),
                                            ([0, 3], 0)])
def test_reductions(tmp_path, op, opset, axes, keepdims):
    shape = (2, 3, 4, 5)
    constants, inputs, attrs = {}, ["x"], {"keepdims": keepdims}
    if axes is not None:
        if opset >= {"ReduceMean": 18, "ReduceSum": 13}[op]:
            constants["axes"] = np.array(axes, np.int64)
            inputs.append("axes")
        else:
            attrs["axes"] = axes
    proto = op_model(helper.make_node(op, inputs, ["y"], **attrs), {"x": shape}, ["y"], constants, opset=opset)
    check(tmp_path, proto, {"x": randn(*shape, scale=2)})


def test_reduce_noop_with_empty_axes(tmp_path):
    node = helper.make_node("ReduceMean", ["x"], ["y"], noop_with_empty_axes=1)
    proto = op_model([node, helper.make_node("Relu", ["y"], ["z"])], {"x": (2, 3)}, ["z"], opset=18)
    check(tmp_path, proto, {"x": randn(2, 3)})


def test_layer_norm_as_older_exporters_spell_it(tmp_path):
    """opset < 17: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul, Add."""
    nodes = [helper.make_node("ReduceMean", ["x"], ["mu"], axes=[-1]), helper.make_node("Sub", ["x", "mu"], ["d"]),
             helper.make_node("Pow", ["d", "two"], ["sq"]), helper.make_node("ReduceMean", ["sq"], ["var"], axes=[-1]),
             helper.make_node("Add", ["var", "eps"], ["ve"]), helper.make_node("Sqrt", ["ve"], ["std"]),
             helper.make_node("Div", ["d", "std"], ["n"]), helper.make_node("Mul", ["n", "g"], ["ng"]),
             helper.make_node("Add", ["ng", "b"], ["y"])]
    constants = {"two": np.float32(2), "eps": np.float32(1e-5), "g": randn(24, seed=1), "b": randn(24, seed=2)}
    check(tmp_path, op_model(nodes, {"x": (2, 5, 24)}, ["y"], constants, opset=13), {"x": randn(2, 5, 24, scale=3)})


# -- Resize -------------------------------------------------------------------------------------

# onnxruntime computes source coordinates in float32 and, for align_corners, from the integer output
# size; the ONNX reference (which the conformance data follow, and edgewasm too) uses float64 and
# scale * input size. The cases below are ones where both agree (sizes, or scales giving whole sizes
# and no coordinate landing within float32 rounding of a rounding tie).
RESIZE_CASES = [
    ("nearest", {}, (1, 2, 4, 4), [1, 1, 2, 3], None),
    ("nearest", {"nearest_mode": "round_prefer_ceil", "coordinate_transformation_mode": "asymmetric"},
     (1, 1, 5, 4), [1, 1, 1.5, 0.75], None),
    ("nearest", {"nearest_mode": "floor", "coordinate_transformation_mode": "align_corners"}, (2, 3, 4), None,
     [2, 3, 7]),
    ("nearest", {"nearest_mode": "ceil", "coordinate_transformation_mode": "half_pixel"}, (1, 1, 3, 5), None,
     [1, 1, 7, 2]),
    ("linear", {}, (1, 2, 4, 5), [1, 1, 2, 2], None),
    ("linear", {"coordinate_transformation_mode": "align_corners"}, (1, 1, 4, 4), [1, 1, 0.5, 1.75], None),
    ("linear", {"coordinate_transformation_mode": "pytorch_half_pixel"}, (1, 3, 6, 6), None, [1, 3, 3, 1]),
    ("linear", {"coordinate_transformation_mode": "asymmetric"}, (2, 9), None, [3, 4]),
    ("cubic", {}, (1, 1, 4, 4), [1, 1, 2, 1.5], None),
    ("cubic", {"cubic_coeff_a": -0.5, "exclude_outside": 1}, (1, 1, 5, 3), [1, 1, 0.8, 2], None),
]


@pytest.mark.parametrize("mode, attrs, shape, scales, sizes", RESIZE_CASES)
def test_resize(tmp_path, mode, attrs, shape, scales, sizes):
    constants = {"roi": np.zeros(0, np.float32)}
    inputs = ["x", "roi"]
    if scales is not None:
        constants["scales"] = np.array(scales, np.float32)
        inputs.append("scales")
    else:
        constants["scales"] = np.zeros(0, np.float32)
        constants["sizes"] = np.array(sizes, np.int64)
        inputs += ["scales", "sizes"]
    proto = op_model(helper.make_node("Resize", inputs, ["y"], mode=mode, **attrs), {"x": shape}, ["y"], constants,
                     opset=13)
    check(tmp_path, proto, {"x": randn(*shape, scale=2)})


@pytest.mark.parametrize("mode", ["linear", "cubic"])
def test_resize_opset18_antialias_axes_aspect(tmp_path, mode):
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode=mode, antialias=1, axes=[2, 3],
                            keep_aspect_ratio_policy="not_larger")
    proto = op_model(node, {"x": (1, 2, 8, 6)}, ["y"], {"sizes": np.array([3, 5], np.int64)}, opset=18)
    check(tmp_path, proto, {"x": randn(1, 2, 8, 6)})


def test_resize_opset10_nearest_upsample(tmp_path):
    node = helper.make_node("Resize", ["x", "scales"], ["y"], mode="nearest")
    proto = op_model(node, {"x": (1, 1, 2, 3)}, ["y"], {"scales": np.array([1, 1, 2, 3], np.float32)}, opset=10)
    check(tmp_path, proto, {"x": randn(1, 1, 2, 3)}, atol=0, rtol=0)


@pytest.mark.parametrize("mode, roi, extrapolation", [
    ("linear", [0, 0, 0.2, 0.2, 1, 1, 0.8, 0.8], 0.0),
    ("linear", [0, 0, -0.3, 0.4, 1, 1, 1.2, 1.7], 10.0),  # part of the crop lies outside: extrapolated
    ("nearest", [0, 0, 0.1, -0.5, 1, 1, 0.9, 1.5], -2.0),
    ("cubic", [0, 0, 0.25, 0.0, 1, 1, 0.75, 1.0], 0.0)])
def test_resize_tf_crop_and_resize(tmp_path, mode, roi, extrapolation):
    node = helper.make_node("Resize", ["x", "roi", "", "sizes"], ["y"], mode=mode, extrapolation_value=extrapolation,
                            coordinate_transformation_mode="tf_crop_and_resize")
    proto = op_model(node, {"x": (1, 2, 4, 5)}, ["y"], {"roi": np.array(roi, np.float32),
                                                      "sizes": np.array([1, 2, 3, 7], np.int64)}, opset=13)
    check(tmp_path, proto, {"x": randn(1, 2, 4, 5)})


def test_resize_crop_and_resize_needs_a_roi_per_axis(tmp_path):
    node = helper.make_node("Resize", ["x", "roi", "scales"], ["y"], mode="linear",
                            coordinate_transformation_mode="tf_crop_and_resize")
    proto = op_model(node, {"x": (1, 1, 4, 4)}, ["y"], {"roi": np.array([0.2, 0.2, 0.8, 0.8], np.float32),
                                                      "scales": np.array([1, 1, 0.5, 0.5], np.float32)}, opset=13)
    with pytest.raises(ModelFormatError, match="tf_crop_and_resize needs a roi of 8 values"):
        compile_error(tmp_path, proto)
