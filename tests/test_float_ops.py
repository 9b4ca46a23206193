"""float32 math, activations and normalizations through the public API (compile, load, run in
wasmtime): Sin .. Atanh, Softplus, Softsign, Elu, Selu, Celu, Mish, ThresholdedRelu, Shrink, Swish, PRelu,
InstanceNormalization, GroupNormalization (opsets 18 and 21), RMSNormalization, LpNormalization and
MeanVarianceNormalization, every attribute, against onnxruntime on the original graph within the
fp32 contract (atol 1e-5 + rtol 1e-4), and the variant's reference.onnx too; errors are typed."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgewasm
from edgewasm.engines import run_onnxruntime, within_contract
from edgewasm.errors import ModelFormatError, UnsupportedModelError

from transformer_models import IR_VERSION, op_model, ort_run

f32 = np.float32


def check(tmp_path, proto, inputs, atol=1e-5, rtol=1e-4):
    """Compile, run in wasmtime, compare with onnxruntime on the original model and on the
    variant's reference.onnx; returns the module's outputs."""
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    got = edgewasm.load(tmp_path / "bundle").run(inputs)
    want = ort_run(proto, inputs)
    reference = run_onnxruntime(tmp_path / "bundle", inputs)
    assert set(got) == set(want)
    for name in want:
        assert got[name].dtype == want[name].dtype and got[name].shape == want[name].shape, name
        assert within_contract(got[name], want[name], atol=atol, rtol=rtol), (name, _worst(got[name], want[name]))
        assert within_contract(reference[name], want[name], atol=atol, rtol=rtol), ("reference", name)
    return got


def _worst(a, b):
    diff = np.abs(a.astype(np.float64) - b)
    i = np.unravel_index(np.nanargmax(diff), diff.shape) if diff.size else ()
    return f"max |diff| {np.nanmax(diff) if diff.size else 0} at {i}: got {a[i]!r} want {b[i]!r}"


def uniform(lo, hi, *shape, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(f32)


def randn(*shape, seed=0, scale=1.0):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape) * scale, f32)


def compile_error(tmp_path, proto):
    path = tmp_path / "bad.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bad_bundle")


def raw_model(nodes, inputs, outputs, constants=None, opset=17):
    """A model without shape inference (for graphs the checker or inference would refuse)."""
    nodes = [nodes] if isinstance(nodes, onnx.NodeProto) else nodes
    first_shape, first_dtype = next(iter(inputs.values()))  # outputs are declared like the first input
    graph = helper.make_graph(
        nodes, "bad",
        [helper.make_tensor_value_info(n, dtype, list(s)) for n, (s, dtype) in inputs.items()],
        [helper.make_tensor_value_info(n, first_dtype, list(first_shape)) for n in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in (constants or {}).items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=IR_VERSION)


# -- unary math and activations ------------------------------------------------------------------

# op: (input range, opset)
UNARY = {
    "Sin": ((-10, 10), 17), "Cos": ((-10, 10), 17), "Tan": ((-1.5, 1.5), 17),
    "Asin": ((-1, 1), 17), "Acos": ((-1, 1), 17), "Atan": ((-20, 20), 17),
    "Sinh": ((-10, 10), 17), "Cosh": ((-10, 10), 17), "Asinh": ((-50, 50), 17),
    "Acosh": ((1, 50), 17), "Atanh": ((-0.999, 0.999), 17),
    "Softplus": ((-30, 30), 17), "Softsign": ((-30, 30), 17), "Elu": ((-10, 10), 17),
    "Selu": ((-10, 10), 17), "Celu": ((-10, 10), 12), "Mish": ((-20, 20), 18),
    "ThresholdedRelu": ((-3, 3), 17), "Shrink": ((-3, 3), 17), "Swish": ((-30, 30), 24),
}


@pytest.mark.parametrize("op", UNARY)
@pytest.mark.parametrize("shape", [(37,), (2, 3, 5)])
def test_unary_default_attributes(tmp_path, op, shape):
    (lo, hi), opset = UNARY[op]
    proto = op_model(helper.make_node(op, ["x"], ["y"]), {"x": shape}, ["y"], opset=opset)
    check(tmp_path, proto, {"x": uniform(lo, hi, *shape, seed=len(op))})


@pytest.mark.parametrize("op, attrs", [
    ("Elu", {"alpha": 0.3}), ("Elu", {"alpha": 2.5}),
    ("Selu", {"alpha": 1.2}), ("Selu", {"gamma": 0.7}), ("Selu", {"alpha": 2.0, "gamma": 3.0}),
    ("Celu", {"alpha": 0.4}), ("Celu", {"alpha": 3.0}),
    ("ThresholdedRelu", {"alpha": 0.5}), ("ThresholdedRelu", {"alpha": -1.25}),
    ("Shrink", {"lambd": 1.5}), ("Shrink", {"bias": 0.25}), ("Shrink", {"lambd": 0.0, "bias": -1.0}),
    ("Swish", {"alpha": 1.702}), ("Swish", {"alpha": -0.5}),
])
def test_unary_attributes(tmp_path, op, attrs):
    (lo, hi), opset = UNARY[op]
    proto = op_model(helper.make_node(op, ["x"], ["y"], **attrs), {"x": (3, 7)}, ["y"], opset=opset)
    check(tmp_path, proto, {"x": uniform(lo, hi, 3, 7, seed=3)})


@pytest.mark.parametrize("op", ["Sin", "Cos"])
def test_rotary_embedding_arguments(tmp_path, op):
    """Llama/Qwen/Mistral rotary tables: sin/cos of position * inv_freq, positions up to 1e5."""
    positions = np.concatenate([np.arange(64), np.random.default_rng(0).integers(0, 100_000, 64)]).astype(f32)
    inv_freq = (1.0 / (10000.0 ** (np.arange(0, 32, 2) / 32))).astype(f32)
    proto = op_model([helper.make_node("Mul", ["p", "f"], ["angles"]), helper.make_node(op, ["angles"], ["y"])],
                     {"p": (128, 1)}, ["y"], {"f": inv_freq[None, :]})
    check(tmp_path, proto, {"p": positions[:, None]})


def test_trigonometric_large_and_special_values(tmp_path):
    x = np.array([0.0, -0.0, 1e-30, 3.1415927, -1.5707964, 100.0, 12345.678, -99999.5, 1e5, 1.05e6, -7e5,
                  np.inf, -np.inf, np.nan], f32)
    nodes = [helper.make_node(op, ["x"], [f"y_{op}"]) for op in ("Sin", "Cos", "Atan", "Sinh", "Asinh", "Softplus")]
    proto = op_model(nodes, {"x": x.shape}, [n.output[0] for n in nodes])
    got = check(tmp_path, proto, {"x": x})
    assert np.signbit(got["y_Sin"][1]) and np.signbit(got["y_Atan"][1])


def test_inverse_functions_outside_their_domain_give_nan(tmp_path):
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, np.inf], f32)
    nodes = [helper.make_node(op, ["x"], [f"y_{op}"]) for op in ("Asin", "Acos", "Acosh", "Atanh")]
    proto = op_model(nodes, {"x": x.shape}, [n.output[0] for n in nodes])
    check(tmp_path, proto, {"x": x})


@pytest.mark.parametrize("op", ["Sin", "Softplus", "Elu", "Erf"])  # float64 computes in float64 (test_conformance_fixes)
def test_unary_refuses_integers(tmp_path, op):
    proto = raw_model(helper.make_node(op, ["x"], ["y"]), {"x": ((4,), TensorProto.INT32)}, ["y"])
    with pytest.raises(UnsupportedModelError, match=f"{op} is computed in float32 only"):
        compile_error(tmp_path, proto)


@pytest.mark.parametrize("op", ["Sin", "Softplus", "Elu", "Shrink"])
def test_unary_on_float16_computes_in_float32_between_casts(tmp_path, op):
    x = np.linspace(-3, 3, 11).astype(np.float16)
    proto = raw_model(helper.make_node(op, ["x"], ["y"]), {"x": ((11,), TensorProto.FLOAT16)}, ["y"])
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "half")
    got = edgewasm.load(tmp_path / "half").run({"x": x})["y"]
    wide = raw_model(helper.make_node(op, ["x"], ["y"]), {"x": ((11,), TensorProto.FLOAT)}, ["y"])
    path.write_bytes(wide.SerializeToString())
    edgewasm.compile(path, tmp_path / "wide")
    want = edgewasm.load(tmp_path / "wide").run({"x": x.astype(f32)})["y"].astype(np.float16)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))


# -- PRelu ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape_x, shape_s", [((2, 3, 4, 5), (1,)), ((2, 3, 4, 5), (3, 1, 1)), ((2, 3, 4, 5), (5,)),
                                              ((2, 3, 4, 5), (2, 3, 4, 5)), ((3, 7), (3, 1)), ((4, 3, 5), (1, 3, 1)),
                                              ((5,), ())])
@pytest.mark.parametrize("runtime", [False, True])
def test_prelu_slope_broadcast(tmp_path, shape_x, shape_s, runtime):
    slope = uniform(-0.5, 0.5, *shape_s, seed=1)
    node = helper.make_node("PRelu", ["x", "slope"], ["y"])
    if runtime:
        proto = op_model(node, {"x": shape_x, "slope": shape_s}, ["y"])
        got = check(tmp_path, proto, {"x": randn(*shape_x, seed=2), "slope": slope})
    else:
        proto = op_model(node, {"x": shape_x}, ["y"], {"slope": slope})
        got = check(tmp_path, proto, {"x": randn(*shape_x, seed=2)})
    x = randn(*shape_x, seed=2)
    assert np.array_equal(got["y"], np.where(x < 0, x * np.broadcast_to(slope, shape_x), x))  # one IEEE rounding


def test_prelu_one_valued_slope_is_a_leaky_relu(tmp_path):
    proto = op_model(helper.make_node("PRelu", ["x", "slope"], ["y"]), {"x": (2, 3, 4)}, ["y"],
                     {"slope": np.full((3, 1), 0.25, f32)})
    check(tmp_path, proto, {"x": randn(2, 3, 4)})
    from edgewasm.frontend.onnx import import_onnx
    assert [n.op for n in import_onnx(proto, batch=1).nodes] == ["LeakyRelu"]


def test_prelu_errors(tmp_path):
    bad = raw_model(helper.make_node("PRelu", ["x", "slope"], ["y"]), {"x": ((3,), TensorProto.FLOAT)}, ["y"],
                    {"slope": np.ones((2, 3), f32)})
    with pytest.raises(ModelFormatError, match="does not broadcast"):
        compile_error(tmp_path, bad)
    half = raw_model(helper.make_node("PRelu", ["x", "slope"], ["y"]), {"x": ((3,), TensorProto.DOUBLE)}, ["y"],
                     {"slope": np.ones((3,), np.float32)})  # float64 PRelu computes in float64; mixed dtypes do not
    with pytest.raises(UnsupportedModelError, match="float32 only"):
        compile_error(tmp_path, half)


# -- InstanceNormalization and GroupNormalization ---------------------------------------------

@pytest.mark.parametrize("shape", [(2, 3, 5), (1, 4, 3, 5), (2, 3, 2, 2, 3), (3, 4, 2), (1, 8, 33)])
@pytest.mark.parametrize("epsilon", [None, 1e-2])
def test_instance_norm(tmp_path, shape, epsilon):
    c = shape[1]
    attrs = {} if epsilon is None else {"epsilon": epsilon}
    proto = op_model(helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], **attrs), {"x": shape}, ["y"],
                     {"s": uniform(0.5, 2, c, seed=1), "b": randn(c, seed=2)})
    check(tmp_path, proto, {"x": randn(*shape, seed=3, scale=3.0) + 1})


def test_instance_norm_of_one_element_is_the_bias(tmp_path):
    """One spatial element: x - mean is exactly 0, so y is B exactly. (onnxruntime's E[x^2] - E[x]^2
    leaves rounding noise of up to 2e-4 there: it is no oracle for this case.)"""
    path = tmp_path / "m.onnx"
    bias = randn(4, seed=2)
    proto = op_model(helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"]), {"x": (3, 4, 1)}, ["y"],
                     {"s": uniform(0.5, 2, 4, seed=1), "b": bias})
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    got = edgewasm.load(tmp_path / "bundle").run({"x": randn(3, 4, 1, seed=3, scale=3.0)})["y"]
    assert np.array_equal(got, np.broadcast_to(bias[None, :, None], (3, 4, 1)))


def test_instance_norm_runtime_parameters_and_constant_channels(tmp_path):
    proto = op_model(helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"]), {"x": (2, 3, 8), "s": (3,),
                                                                                        "b": (3,)}, ["y"])
    x = randn(2, 3, 8, seed=4)
    x[1, 2] = 5.0  # a constant channel: variance 0, output = bias
    check(tmp_path, proto, {"x": x, "s": uniform(0.5, 2, 3, seed=5), "b": randn(3, seed=6)})


def test_instance_norm_errors(tmp_path):
    node = helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"])
    wrong = raw_model(node, {"x": ((2, 3, 4), TensorProto.FLOAT)}, ["y"], {"s": np.ones(4, f32), "b": np.ones(3, f32)})
    with pytest.raises(ModelFormatError, match="scale of shape"):
        compile_error(tmp_path, wrong)
    half = raw_model(node, {"x": ((2, 3, 4), TensorProto.INT32)}, ["y"],  # float64 computes in float64
                     {"s": np.ones(3, np.int32), "b": np.ones(3, np.int32)})
    with pytest.raises(UnsupportedModelError, match="float32 only"):
        compile_error(tmp_path, half)
    flat = raw_model(node, {"x": ((2, 3), TensorProto.FLOAT)}, ["y"], {"s": np.ones(3, f32), "b": np.ones(3, f32)})
    with pytest.raises(ModelFormatError, match="needs rank >= 3"):  # as onnxruntime
        compile_error(tmp_path, flat)


def group_norm_model(attrs, shape, params, opset, runtime=False):
    """GroupNormalization's output shape is declared (onnx's strict inference gives it none)."""
    node = helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], **attrs)
    if runtime:
        return raw_model(node, {"x": (shape, TensorProto.FLOAT), "s": (params.shape, TensorProto.FLOAT),
                                "b": (params.shape, TensorProto.FLOAT)}, ["y"], opset=opset)
    return raw_model(node, {"x": (shape, TensorProto.FLOAT)}, ["y"], {"s": params, "b": params[::-1] - 0.5},
                     opset=opset)


@pytest.mark.parametrize("opset", [18, 21])
@pytest.mark.parametrize("shape, groups", [((2, 6, 5), 3), ((1, 4, 3, 3), 1), ((2, 4, 7), 4), ((1, 8, 2, 3), 2)])
@pytest.mark.parametrize("epsilon", [None, 1e-3])
def test_group_norm(tmp_path, opset, shape, groups, epsilon):
    c = shape[1]
    params = groups if opset == 18 else c  # opset 18: per group; opset 21: per channel
    attrs = {"num_groups": groups, **({} if epsilon is None else {"epsilon": epsilon})}
    proto = group_norm_model(attrs, shape, uniform(0.5, 2, params, seed=1), opset)
    check(tmp_path, proto, {"x": randn(*shape, seed=3, scale=2.0) - 1})


def test_group_norm_21_runtime_parameters_and_stash_type(tmp_path):
    proto = group_norm_model({"num_groups": 2, "stash_type": 1}, (2, 4, 6), np.ones(4, f32), 21, runtime=True)
    check(tmp_path, proto, {"x": randn(2, 4, 6, seed=7), "s": uniform(0.5, 2, 4, seed=8), "b": randn(4, seed=9)})


def test_group_norm_errors(tmp_path):
    def model(attrs, s=4, opset=21):
        return raw_model(helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], **attrs),
                         {"x": ((1, 4, 3), TensorProto.FLOAT)}, ["y"], {"s": np.ones(s, f32), "b": np.ones(s, f32)},
                         opset=opset)
    with pytest.raises(ModelFormatError, match="do not split into num_groups=3"):
        compile_error(tmp_path, model({"num_groups": 3}))
    with pytest.raises(ModelFormatError, match="num_groups"):
        compile_error(tmp_path, model({}))
    with pytest.raises(UnsupportedModelError, match="stash_type=10"):
        compile_error(tmp_path, model({"num_groups": 2, "stash_type": 10}))
    with pytest.raises(ModelFormatError, match="must have 2 values"):  # opset 18: one scale per group
        compile_error(tmp_path, model({"num_groups": 2}, s=4, opset=18))


# -- RMSNormalization ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape, axis, scale_shape", [
    ((2, 3, 8), None, (8,)), ((2, 3, 8), -1, (1, 8)), ((2, 3, 8), -2, (3, 8)), ((2, 3, 8), 1, (3, 1)),
    ((2, 3, 8), 0, (2, 3, 8)), ((4, 33), 1, (1,)), ((2, 3, 5), -1, (3, 1)), ((2, 3, 5), -1, (2, 1, 5)),
])
@pytest.mark.parametrize("runtime", [False, True])
def test_rms_norm(tmp_path, shape, axis, scale_shape, runtime):
    attrs = {} if axis is None else {"axis": axis}
    node = helper.make_node("RMSNormalization", ["x", "s"], ["y"], **attrs)
    scale = uniform(0.5, 2, *scale_shape, seed=1)
    x = randn(*shape, seed=2, scale=3.0)
    if runtime:
        check(tmp_path, op_model(node, {"x": shape, "s": scale_shape}, ["y"], opset=23), {"x": x, "s": scale})
    else:
        check(tmp_path, op_model(node, {"x": shape}, ["y"], {"s": scale}, opset=23), {"x": x})


def test_rms_norm_epsilon_and_zero_rows(tmp_path):
    node = helper.make_node("RMSNormalization", ["x", "s"], ["y"], epsilon=0.5, stash_type=1)
    x = randn(3, 6, seed=3)
    x[1] = 0
    check(tmp_path, op_model(node, {"x": (3, 6)}, ["y"], {"s": uniform(0.5, 2, 6)}, opset=23), {"x": x})


def test_rms_norm_errors(tmp_path):
    def model(shape_s, attrs=None, dtype=TensorProto.FLOAT):
        np_dtype = np.float64 if dtype == TensorProto.DOUBLE else f32
        return raw_model(helper.make_node("RMSNormalization", ["x", "s"], ["y"], **(attrs or {})),
                         {"x": ((2, 4), dtype)}, ["y"], {"s": np.ones(shape_s, np_dtype)}, opset=23)
    with pytest.raises(ModelFormatError, match="does not broadcast"):
        compile_error(tmp_path, model((3,)))
    with pytest.raises(ModelFormatError, match="axis 2 is out of range"):
        compile_error(tmp_path, model((4,), {"axis": 2}))
    with pytest.raises(UnsupportedModelError, match="float32 only"):  # float64 computes in float64
        compile_error(tmp_path, model((4,), dtype=TensorProto.INT32))


# -- LpNormalization and MeanVarianceNormalization --------------------------------------------

@pytest.mark.parametrize("p", [None, 1, 2])
@pytest.mark.parametrize("shape, axis", [((3, 4, 5), None), ((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1),
                                         ((7,), 0), ((2, 3, 1), 1)])
def test_lp_norm(tmp_path, p, shape, axis):
    attrs = {k: v for k, v in (("p", p), ("axis", axis)) if v is not None}
    x = randn(*shape, seed=4)
    if len(shape) == 3:
        x[0, :, 0] = 0  # an all-zero slice along axis 1
        x[1, 0, :] = 0  # ... and along the last axis
    check(tmp_path, op_model(helper.make_node("LpNormalization", ["x"], ["y"], **attrs), {"x": shape}, ["y"]),
          {"x": x})


def test_lp_norm_errors(tmp_path):
    node = helper.make_node("LpNormalization", ["x"], ["y"], p=3)
    with pytest.raises(ModelFormatError, match="p=3"):
        compile_error(tmp_path, raw_model(node, {"x": ((2, 3), TensorProto.FLOAT)}, ["y"]))


@pytest.mark.parametrize("opset", [9, 13, 18])
@pytest.mark.parametrize("shape, axes", [((2, 3, 4, 5), None), ((2, 3, 4, 5), [2, 3]), ((2, 3, 4, 5), [1]),
                                         ((2, 3, 4, 5), [0, 1, 2, 3]), ((2, 3, 4, 5), [1, 3]),
                                         ((2, 3, 4, 5), [-1, 0]), ((3, 7), [0]), ((3, 7), [1])])
def test_mean_variance_norm(tmp_path, opset, shape, axes):
    attrs = {} if axes is None else {"axes": axes}
    node = helper.make_node("MeanVarianceNormalization", ["x"], ["y"], **attrs)
    if axes is None:  # onnx's strict inference fails on the function body's default axes: declare the shape
        proto = raw_model(node, {"x": (shape, TensorProto.FLOAT)}, ["y"], opset=opset)
    else:
        proto = op_model(node, {"x": shape}, ["y"], opset=opset)
    check(tmp_path, proto, {"x": randn(*shape, seed=5, scale=2.0) + 3})


def test_mean_variance_norm_refuses_other_dtypes(tmp_path):
    node = helper.make_node("MeanVarianceNormalization", ["x"], ["y"])
    with pytest.raises(UnsupportedModelError, match="float32 only"):
        compile_error(tmp_path, raw_model(node, {"x": ((1, 2, 3, 4), TensorProto.INT32)}, ["y"], opset=13))
