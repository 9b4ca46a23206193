"""CNN operators through the public API (compile, load, run) against onnxruntime: Conv (strides,
pads, auto_pad, dilations, groups, depthwise, 1-D/3-D), ConvTranspose, MaxPool/AveragePool
(ceil_mode, count_include_pad), global pools, BatchNormalization (folded and not), Pad, Clip;
the layout pass and folds; typed errors; and MobileNetV2- and ResNet-style networks."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

import edgewasm
from edgewasm.engines import run_onnxruntime
from edgewasm.errors import UnsupportedModelError
from edgewasm.frontend.onnx import import_onnx
from edgewasm.passes.conv_fold import fold_into_convolutions
from edgewasm.passes.layout import channels_last

from cnn_models import make_mobilenet_v2, make_resnet
from models import make_model
from oracles import ort_outputs
from test_compile import compile_and_compare


def randn(*shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def single_node_model(op, x_shape, y_rank=None, inits=None, opset=17, extra_inputs=(), **attrs):
    inits = dict(inits or {})
    node = helper.make_node(op, ["x", *inits, *extra_inputs], ["y"], name=f"{op.lower()}_under_test", **attrs)
    rank = y_rank or len(x_shape)
    return make_model([node], [("x", list(x_shape))], [("y", [f"d{i}" for i in range(rank)])], inits, opset=opset)


def check(tmp_path, proto, x, batch=1):
    return compile_and_compare(tmp_path, proto, {"x": x}, batch=batch)


CONV_CASES = {  # name: (x shape, weight shape, attributes)
    "stride2_pad1": ((1, 3, 9, 8), (5, 3, 3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1])),
    "asymmetric_pads": ((1, 4, 7, 9), (6, 4, 3, 2), dict(pads=[0, 2, 1, 0], strides=[1, 2])),
    "same_upper": ((1, 3, 10, 7), (4, 3, 3, 3), dict(auto_pad="SAME_UPPER", strides=[2, 2])),
    "same_lower": ((1, 3, 10, 7), (4, 3, 4, 4), dict(auto_pad="SAME_LOWER", strides=[3, 2])),
    "valid": ((1, 3, 10, 7), (4, 3, 5, 3), dict(auto_pad="VALID")),
    "dilated": ((1, 5, 12, 11), (7, 5, 3, 3), dict(dilations=[2, 3], pads=[2, 3, 1, 0])),
    "groups": ((2, 6, 8, 8), (9, 2, 3, 3), dict(group=3, pads=[1, 1, 1, 1])),
    "depthwise_3x3_s2": ((2, 11, 9, 10), (11, 1, 3, 3), dict(group=11, strides=[2, 2], pads=[1, 1, 1, 1])),
    "depthwise_5x5": ((1, 13, 9, 9), (13, 1, 5, 5), dict(group=13, pads=[2, 2, 2, 2])),
    "depthwise_multiplier": ((1, 5, 7, 7), (10, 1, 3, 3), dict(group=5, pads=[1, 1, 1, 1])),
    "pointwise": ((3, 13, 5, 6), (17, 13, 1, 1), {}),
    "pointwise_stride2": ((1, 12, 9, 9), (20, 12, 1, 1), dict(strides=[2, 2])),
    "pointwise_groups": ((1, 8, 5, 5), (6, 4, 1, 1), dict(group=2)),
    "conv1d": ((2, 4, 17), (6, 4, 3), dict(strides=[2], pads=[1, 0])),
    "conv3d": ((1, 3, 5, 6, 7), (4, 3, 3, 2, 3), dict(pads=[1, 0, 1, 1, 1, 0], strides=[1, 2, 2])),
    "one_pixel_out": ((1, 16, 3, 3), (10, 16, 3, 3), {}),
}


@pytest.mark.parametrize("name", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_matches_onnxruntime(tmp_path, name, bias):
    x_shape, w_shape, attrs = CONV_CASES[name]
    inits = {"w": randn(*w_shape, seed=1, scale=0.5)}
    if bias:
        inits["b"] = randn(w_shape[0], seed=2)
    proto = single_node_model("Conv", x_shape, inits=inits, **attrs)
    check(tmp_path, proto, randn(*x_shape), batch=x_shape[0])


CONV_TRANSPOSE_CASES = {
    "stride2": ((1, 4, 5, 6), (4, 3, 3, 3), dict(strides=[2, 2])),
    "pads_output_padding": ((2, 3, 4, 5), (3, 5, 3, 4), dict(strides=[3, 2], pads=[1, 0, 0, 1], output_padding=[1, 1])),
    "output_shape": ((1, 2, 4, 4), (2, 3, 3, 3), dict(strides=[2, 2], output_shape=[10, 9])),
    "same_upper": ((1, 2, 4, 3), (2, 3, 3, 3), dict(strides=[2, 2], auto_pad="SAME_UPPER")),
    "dilated_groups": ((1, 4, 5, 5), (4, 3, 2, 2), dict(group=2, dilations=[2, 2], strides=[2, 1])),
    "conv_transpose_1d": ((1, 3, 7), (3, 2, 4), dict(strides=[3])),
}


@pytest.mark.parametrize("name", CONV_TRANSPOSE_CASES)
def test_conv_transpose_matches_onnxruntime(tmp_path, name):
    x_shape, w_shape, attrs = CONV_TRANSPOSE_CASES[name]
    out_channels = w_shape[1] * attrs.get("group", 1)
    inits = {"w": randn(*w_shape, seed=3), "b": randn(out_channels, seed=4)}
    check(tmp_path, single_node_model("ConvTranspose", x_shape, inits=inits, **attrs), randn(*x_shape),
          batch=x_shape[0])


POOL_CASES = {
    "max_3x3_s2_pad": ("MaxPool", (1, 5, 11, 10), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    "max_ceil": ("MaxPool", (2, 3, 8, 7), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    "max_dilated": ("MaxPool", (1, 6, 9, 9), dict(kernel_shape=[2, 3], dilations=[2, 2], pads=[1, 0, 1, 2])),
    "max_same_upper": ("MaxPool", (1, 4, 7, 6), dict(kernel_shape=[3, 2], strides=[2, 2], auto_pad="SAME_UPPER")),
    "max_1d": ("MaxPool", (2, 5, 13), dict(kernel_shape=[3], strides=[2])),
    "max_3d": ("MaxPool", (1, 3, 5, 6, 4), dict(kernel_shape=[2, 2, 2], strides=[2, 1, 2])),
    "avg_excluding_pad": ("AveragePool", (1, 7, 9, 10), dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])),
    "avg_including_pad": ("AveragePool", (1, 7, 9, 10), dict(kernel_shape=[3, 3], pads=[1, 2, 1, 0],
                                                             count_include_pad=1)),
    "avg_ceil_overhang": ("AveragePool", (2, 5, 8, 7), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                                            ceil_mode=1, count_include_pad=1)),
    "avg_ceil_excluding": ("AveragePool", (1, 3, 8, 6), dict(kernel_shape=[2, 3], strides=[3, 2], ceil_mode=1)),
    "avg_same_lower": ("AveragePool", (1, 4, 7, 7), dict(kernel_shape=[2, 2], auto_pad="SAME_LOWER")),
    "avg_3d": ("AveragePool", (1, 2, 5, 4, 6), dict(kernel_shape=[2, 3, 2], pads=[1, 1, 0, 0, 1, 1])),
}


@pytest.mark.parametrize("name", POOL_CASES)
def test_pool_matches_onnxruntime(tmp_path, name):
    op, x_shape, attrs = POOL_CASES[name]
    check(tmp_path, single_node_model(op, x_shape, **attrs), randn(*x_shape), batch=x_shape[0])


def test_dilated_average_pool_opset19(tmp_path):
    attrs = dict(kernel_shape=[3, 2], dilations=[2, 3], strides=[2, 1], ceil_mode=1, count_include_pad=1,
                 pads=[1, 1, 1, 1])
    check(tmp_path, single_node_model("AveragePool", (1, 5, 11, 10), opset=19, **attrs), randn(1, 5, 11, 10))


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("x_shape", [(2, 7, 5, 6), (1, 9, 4), (1, 3, 2, 3, 4)])
def test_global_pools(tmp_path, op, x_shape):
    check(tmp_path, single_node_model(op, x_shape), randn(*x_shape), batch=x_shape[0])


def bn_params(channels, seed=5):
    rng = np.random.default_rng(seed)
    return {"gamma": rng.uniform(0.5, 1.5, channels).astype(np.float32), "beta": randn(channels, seed=seed + 1),
            "mean": randn(channels, seed=seed + 2), "var": rng.uniform(0.5, 2.0, channels).astype(np.float32)}


@pytest.mark.parametrize("x_shape", [(2, 5, 4, 3), (3, 6), (1, 7, 9)])
def test_batchnorm_alone(tmp_path, x_shape):
    proto = single_node_model("BatchNormalization", x_shape, inits=bn_params(x_shape[1]), epsilon=1e-3)
    check(tmp_path, proto, randn(*x_shape), batch=x_shape[0])


@pytest.mark.parametrize("x_shape", [(2, 5, 4, 3), (4, 6), (3, 7, 9)])
def test_batchnorm_training_mode_matches_the_onnx_reference(tmp_path, x_shape):
    """training_mode=1: batch statistics and the running mean/var outputs (onnxruntime has no
    training kernel, so onnx's reference evaluator is the judge)."""
    from onnx.reference import ReferenceEvaluator

    names = ["y", "running_mean", "running_var"]
    node = helper.make_node("BatchNormalization", ["x", "gamma", "beta", "mean", "var"], names, training_mode=1,
                            momentum=0.8, epsilon=1e-3)
    shapes = [list(x_shape), [x_shape[1]], [x_shape[1]]]
    proto = make_model([node], [("x", list(x_shape))], list(zip(names, shapes)), bn_params(x_shape[1]), opset=15)
    x = randn(*x_shape, seed=3, scale=2)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "bundle", batch=x_shape[0])
    got = edgewasm.load(tmp_path / "bundle").run({"x": x})
    want = dict(zip(names, ReferenceEvaluator(proto).run(None, {"x": x})))
    for name in names:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-5)
    ref = run_onnxruntime(tmp_path / "bundle", {"x": x})  # the reference.onnx spells the decomposition
    for name in names:
        np.testing.assert_allclose(ref[name], want[name], rtol=1e-4, atol=1e-5)


def test_weight_standardized_conv_folds_its_batchnorm(tmp_path):
    """NFNet's ScaledStdConv as timm exports it: the weights go through a training-mode
    BatchNormalization (every input a constant) and a Reshape before the Conv, which needs them at
    compile time, so the BatchNormalization folds."""
    w = randn(1, 6, 36, seed=11, scale=0.2)  # (1, out, in * kh * kw)
    nodes = [helper.make_node("BatchNormalization", ["w", "gain", "zeros", "zeros", "ones"], ["w_std", "w_mean", "w_var"], training_mode=1,
                              epsilon=1e-5, momentum=0.0),
             helper.make_node("Reshape", ["w_std", "w_shape"], ["w4"]),
             helper.make_node("Conv", ["x", "w4", "b"], ["y"], pads=[1, 1, 1, 1])]
    inits = {"w": w, "gain": np.linspace(0.5, 1.5, 6, dtype=np.float32), "zeros": np.zeros(6, np.float32),
             "ones": np.ones(6, np.float32), "w_shape": np.array([6, 4, 3, 3], np.int64), "b": randn(6, seed=12)}
    proto = make_model(nodes, [("x", [1, 4, 7, 7])], [("y", [1, 6, 7, 7])], inits, opset=15)
    check(tmp_path, proto, randn(1, 4, 7, 7, seed=13))
    assert "f32_igemm_4x8" in edgewasm.load(tmp_path / "bundle").variant.kernels


@pytest.mark.parametrize("form", ["inference", "training", "training_var_only", "spatial0"])
def test_batchnorm_of_constants_folds_as_onnx_defines_it(tmp_path, form):
    """A BatchNormalization whose inputs are all constants is computed at compile time; its outputs
    (here graph outputs) are onnx's reference values, whichever outputs the node names."""
    from onnx.reference import ReferenceEvaluator

    shape = (3, 5, 4) if form != "spatial0" else (2, 3, 4)
    params = bn_params(5) if form != "spatial0" else {k: v.reshape(3, 4) for k, v in bn_params(12).items()}
    outputs = {"inference": ["y"], "training": ["y", "rm", "rv"], "training_var_only": ["y", "", "rv"],
               "spatial0": ["y"]}[form]
    attrs = dict(training_mode=1, momentum=0.7) if form.startswith("training") else {}
    if form == "spatial0":
        attrs["spatial"] = 0
    nodes = [helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], outputs, epsilon=1e-3,
                              **attrs),
             helper.make_node("Add", ["x", "y"], ["z"])]
    opset = 7 if form == "spatial0" else 15
    named = [o for o in outputs if o and o != "y"]
    proto = make_model(nodes, [("x", list(shape))],
                       [("z", list(shape))] + [(o, [shape[1]]) for o in named],
                       {"c": randn(*shape, seed=21, scale=2), **params}, opset=opset)
    x = randn(*shape, seed=22)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "bundle", batch=shape[0])
    got = edgewasm.load(tmp_path / "bundle").run({"x": x})
    if form == "spatial0":  # statistics per activation (onnx's evaluator has no spatial=0)
        p = {k: v.astype(np.float64) for k, v in params.items()}
        c = proto.graph.initializer[0]
        want = {"z": x + ((numpy_helper.to_array(c) - p["mean"]) / np.sqrt(p["var"] + 1e-3) * p["gamma"] + p["beta"])}
    else:
        want = dict(zip(["z", *named], ReferenceEvaluator(proto).run(None, {"x": x})))
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-5, atol=1e-6)


def conv_bn_relu6(consumers=1, transpose=False):
    """Conv(Transpose) -> BatchNormalization -> Clip(0, 6) [-> a second reader of the conv output]."""
    w = randn(*((4, 6, 3, 3) if transpose else (6, 4, 3, 3)), seed=7, scale=0.3)
    op = "ConvTranspose" if transpose else "Conv"
    nodes = [helper.make_node(op, ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["n"], name="bn"),
             helper.make_node("Clip", ["n", "lo", "hi"], ["y"], name="relu6")]
    outputs = [("y", [1, 6, 7, 7])]
    if consumers == 2:
        nodes.append(helper.make_node("Relu", ["c"], ["r"], name="other_reader"))
        outputs.append(("r", [1, 6, 7, 7]))
    inits = {"w": w, "b": randn(6, seed=8), **bn_params(6), "lo": np.float32(0), "hi": np.float32(6)}
    return make_model(nodes, [("x", [1, 4, 7, 7])], outputs, inits)


@pytest.mark.parametrize("transpose", [False, True])
def test_batchnorm_and_relu6_fold_into_conv(tmp_path, transpose):
    proto = conv_bn_relu6(transpose=transpose)
    check(tmp_path, proto, randn(1, 4, 7, 7, scale=3))
    variant = edgewasm.load(tmp_path / "bundle").variant
    assert len(variant.report["fusions"]) == 2
    assert set(variant.kernels) == {"f32_igemm_4x8", "f32_transpose"}


def test_batchnorm_not_folded_when_conv_output_is_shared(tmp_path):
    check(tmp_path, conv_bn_relu6(consumers=2), randn(1, 4, 7, 7, scale=3))
    assert "f32_scaleshift_c4" in edgewasm.load(tmp_path / "bundle").variant.kernels


def test_batchnorm_folds_into_gemm(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=1),
             helper.make_node("BatchNormalization", ["h", "gamma", "beta", "mean", "var"], ["n"]),
             helper.make_node("Relu", ["n"], ["y"])]
    inits = {"w": randn(7, 9, seed=9), "b": randn(7, seed=10), **bn_params(7)}
    check(tmp_path, make_model(nodes, [("x", [3, 9])], [("y", [3, 7])], inits), randn(3, 9), batch=3)
    assert edgewasm.load(tmp_path / "bundle").variant.kernels == ["f32_gemm_1x8"]


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize("pads", [[0, 0, 1, 2, 0, 0, 2, 1], [0, 1, 0, 3, 1, 0, 2, -1]])
def test_pad_modes(tmp_path, mode, pads):
    inits = {"pads": np.array(pads, np.int64), "value": np.float32(-1.5)}
    proto = single_node_model("Pad", (2, 3, 5, 6), inits=inits if mode == "constant" else {"pads": inits["pads"]},
                              mode=mode)
    check(tmp_path, proto, randn(2, 3, 5, 6), batch=2)


def test_pad_wrap_and_axes_opset19(tmp_path):
    inits = {"pads": np.array([2, 1, 3, 2], np.int64)}
    node = helper.make_node("Pad", ["x", "pads", "", "axes"], ["y"], mode="wrap")
    proto = make_model([node], [("x", [1, 3, 5, 6])], [("y", [1, 3, 10, 9])],
                       {**inits, "axes": np.array([2, -1], np.int64)}, opset=19)
    check(tmp_path, proto, randn(1, 3, 5, 6))


def test_zero_pad_folds_into_conv(tmp_path):
    """TensorFlow-style explicit Pad + VALID Conv: the Pad becomes the Conv's padding."""
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"]),
             helper.make_node("Conv", ["p", "w"], ["c"], strides=[2, 2]),
             helper.make_node("Relu", ["c"], ["y"])]
    inits = {"pads": np.array([0, 0, 1, 1, 0, 0, 2, 2], np.int64), "w": randn(5, 3, 3, 3, seed=11)}
    check(tmp_path, make_model(nodes, [("x", [1, 3, 8, 8])], [("y", [1, 5, 5, 5])], inits), randn(1, 3, 8, 8))
    variant = edgewasm.load(tmp_path / "bundle").variant
    assert "f32_pad_rows" not in variant.kernels and len(variant.report["fusions"]) == 2


@pytest.mark.parametrize("bounds", [(0.0, 6.0), (-1.0, None), (None, 0.5), (2.0, -1.0)])
def test_clip_inputs_and_fusion(tmp_path, bounds):
    lo, hi = bounds
    inits = {"w": randn(4, 3, 3, 3, seed=12)}
    inputs = ["c", "lo" if lo is not None else "", "hi" if hi is not None else ""]
    if lo is not None:
        inits["lo"] = np.float32(lo)
    if hi is not None:
        inits["hi"] = np.float32(hi)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Clip", inputs, ["y"])]
    check(tmp_path, make_model(nodes, [("x", [1, 3, 6, 6])], [("y", [1, 4, 6, 6])], inits), randn(1, 3, 6, 6, scale=3))


def test_clip_opset6_attributes(tmp_path):
    proto = single_node_model("Clip", (2, 9), opset=6, min=-0.5, max=0.25)
    check(tmp_path, proto, randn(2, 9), batch=2)


def layout_after_passes(proto):
    graph, _ = channels_last(import_onnx(proto))
    graph, _ = fold_into_convolutions(graph)
    return [node.op for node in graph.nodes]


def test_layout_pass_leaves_transposes_only_at_the_borders():
    """MobileNetV2: one transpose of the input; the head's [N, C, 1, 1] transpose (a view) feeds Flatten."""
    ops = layout_after_passes(make_mobilenet_v2(0.35, 32, 10, blocks=[(1, 16, 1, 1), (6, 24, 2, 2)]))
    assert ops.count("LayoutTranspose") == 2
    assert ops[0] == "LayoutTranspose" and ops[-4:] == ["Pool", "LayoutTranspose", "Reshape", "Gemm"]
    assert "ScaleShift" not in ops and "Clamp" not in ops  # folded into the convolutions
    assert "Add" in ops  # the residual Add runs channels-last


def test_layout_pass_keeps_a_channels_first_reader(tmp_path):
    """A Flatten of a spatial map needs NCHW: the transpose before it stays; the Conv branch and
    the elementwise ops between convolutions stay NHWC."""
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("Conv", ["r", "w2"], ["b"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["b", "r"], ["s"]),
             helper.make_node("Flatten", ["s"], ["f"]),
             helper.make_node("Gemm", ["f", "wf"], ["y"])]
    inits = {"w1": randn(4, 3, 3, 3, seed=13), "w2": randn(4, 4, 3, 3, seed=14), "wf": randn(4 * 25, 3, seed=15)}
    proto = make_model(nodes, [("x", [1, 3, 5, 5])], [("y", [1, 3]), ("s", [1, 4, 5, 5])], inits)
    assert layout_after_passes(proto).count("LayoutTranspose") == 2
    compile_and_compare(tmp_path, proto, {"x": randn(1, 3, 5, 5)})


def _tf2onnx_style(head_perm, expose_nchw: bool = False):
    """A Keras model as tf2onnx exports it: an NHWC input, Transpose(0, 3, 1, 2) before each Conv,
    Transpose(0, 2, 3, 1) after it, activations in NHWC between; then a head Transpose `head_perm`
    of the last NCHW map (the graph output), and optionally that NCHW map as an output too."""
    t = lambda x, y, perm: helper.make_node("Transpose", [x], [y], perm=perm)
    nodes = [t("x", "x1", [0, 3, 1, 2]), helper.make_node("Conv", ["x1", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             t("c1", "h1", [0, 2, 3, 1]), helper.make_node("Relu", ["h1"], ["r1"]),
             t("r1", "x2", [0, 3, 1, 2]), helper.make_node("Conv", ["x2", "w2"], ["c2"], pads=[1, 1, 1, 1]),
             t("c2", "y", head_perm)]
    inits = {"w1": randn(8, 3, 3, 3, seed=21), "w2": randn(6, 8, 3, 3, seed=22)}
    out_shape = [[1, 6, 7, 5][p] for p in head_perm]
    outputs = [("y", out_shape)] + ([("c2", [1, 6, 7, 5])] if expose_nchw else [])
    return make_model(nodes, [("x", [1, 7, 5, 3])], outputs, inits)


@pytest.mark.parametrize("head_perm, expose_nchw, transposes", [
    ([0, 2, 3, 1], False, 0),  # back to NHWC: the convolutions' own layout, no transpose at all
    ([0, 2, 3, 1], True, 1),  # the NCHW map is an output too: its one transpose stays
    ([0, 3, 2, 1], False, 1),  # another permutation: one transpose instead of two
])
def test_graph_transposes_compose_with_the_layout_transposes(tmp_path, head_perm, expose_nchw, transposes):
    proto = _tf2onnx_style(head_perm, expose_nchw)
    graph, _ = channels_last(import_onnx(proto))
    moves = [n.op for n in graph.nodes if n.op == "LayoutTranspose" or  # an identity Transpose is a view
             (n.op == "Transpose" and n.attrs["perm"] != sorted(n.attrs["perm"]))]
    assert [n.op for n in graph.nodes].count("Conv") == 2 and len(moves) == transposes, graph.nodes
    compile_and_compare(tmp_path, proto, {"x": randn(1, 7, 5, 3)})


@pytest.mark.parametrize("perm, moves", [([0, 3, 4, 1, 2], 0), ([0, 1, 3, 4, 2], 1)])
def test_a_detection_heads_split_and_permute_needs_no_nchw_copy(tmp_path, perm, moves):
    """Conv -> view(N, A, K, H, W) -> permute: the view splits only the channels, so it is a view of
    the NHWC output, and (0, 3, 4, 1, 2) (torchvision's SSD/RetinaNet heads) moves no data at all."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Reshape", ["c", "shape"], ["v"]),
             helper.make_node("Transpose", ["v"], ["t"], perm=perm),
             helper.make_node("Reshape", ["t", "flat"], ["y"])]
    out = int(np.prod([[1, 3, 4, 5, 6][p] for p in perm]))
    inits = {"w": randn(12, 2, 3, 3, seed=41), "shape": np.array([1, 3, 4, 5, 6], np.int64),
             "flat": np.array([1, out], np.int64)}
    proto = make_model(nodes, [("x", [1, 2, 5, 6])], [("y", [1, out])], inits)
    graph, _ = channels_last(import_onnx(proto))
    moving = [n.op for n in graph.nodes[1:] if n.op == "LayoutTranspose" or
              (n.op == "Transpose" and n.attrs["perm"] != sorted(n.attrs["perm"]))]
    assert len(moving) == moves, graph.nodes
    compile_and_compare(tmp_path, proto, {"x": randn(1, 2, 5, 6)})


@pytest.mark.parametrize("op, axes, follows", [
    ("ReduceMean", [2, 3], True),  # a squeeze-excitation's spatial mean: a mean over NHWC rows
    ("ReduceSum", [1], True),  # the channel axis: NHWC's last
    ("ReduceMax", [2, 3], True),
    ("ReduceMean", [1, 2], False),  # C and H are not adjacent in NHWC: the map goes back to NCHW
])
def test_reductions_that_keep_their_axes_stay_channels_last(tmp_path, op, axes, follows):
    """Conv -> Reduce(keepdims) -> Mul back onto the map (a squeeze-excitation gate): the reduction
    follows the convolution's layout when its axes stay one run, so no transpose is left inside."""
    inits = {"w": randn(8, 3, 3, 3, seed=31), "w2": randn(4, 8, 1, 1, seed=32)}
    if op == "ReduceSum":  # axes are an input from opset 13
        inits["axes"] = np.array(axes, np.int64)
        reduce = helper.make_node(op, ["c", "axes"], ["m"], keepdims=1)
    else:
        reduce = helper.make_node(op, ["c"], ["m"], axes=axes, keepdims=1)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), reduce,
             helper.make_node("Mul", ["c", "m"], ["g"]),
             helper.make_node("Conv", ["g", "w2"], ["y"])]
    proto = make_model(nodes, [("x", [1, 3, 6, 5])], [("y", [1, 4, 6, 5])], inits, opset=17)
    graph, _ = channels_last(import_onnx(proto))
    inside = [n for n in graph.nodes[1:-1] if n.op == "LayoutTranspose" and graph.info(n.inputs[0]).size > 8]
    assert (not inside) == follows, [(n.attrs, graph.info(n.inputs[0]).shape) for n in inside]
    compile_and_compare(tmp_path, proto, {"x": randn(1, 3, 6, 5)})


@pytest.mark.parametrize("op, attrs, inputs, message", [
    ("Conv", dict(auto_pad="SAME_UPPER", dilations=[2, 2]), 2, "auto_pad SAME_UPPER with dilations"),
    ("Conv", dict(pads=[1, -1, 0, 0]), 2, "negative pads"),
])
def test_unsupported_attributes_name_node_and_attribute(tmp_path, op, attrs, inputs, message):
    names = ["x", "w", "b", "m", "v"][:inputs]
    inits = {"w": randn(2, 2, 3, 3), "b": randn(2), "m": randn(2), "v": np.ones(2, np.float32)} if inputs > 1 else {}
    node = helper.make_node(op, names, ["y"], name="culprit", **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [1, 2, 6, 6])],
                              [helper.make_tensor_value_info("y", 1, ["a", "b", "c", "d"])],
                              [numpy_helper.from_array(v, k) for k, v in inits.items() if k in names])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    with pytest.raises(UnsupportedModelError, match=f"{op} node 'culprit'.*{message}"):
        edgewasm.compile(proto.SerializeToString(), tmp_path / "b")


def test_maxpool_indices_output_matches_onnxruntime(tmp_path):
    """The Indices output is computed (ops/max_pool_indices.py; tests/test_spatial_ops.py covers it)."""
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], name="argmax", kernel_shape=[2, 2])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", 1, [1, 1, 3, 3]),
                               helper.make_tensor_value_info("i", 7, [1, 1, 3, 3])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    edgewasm.compile(proto.SerializeToString(), tmp_path / "b")
    x = randn(1, 1, 4, 4)
    got = edgewasm.load(tmp_path / "b").run({"x": x})
    want = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_array_equal(got["y"], want[0])
    np.testing.assert_array_equal(got["i"], want[1])


# -- networks ----------------------------------------------------------------------------------


def compare_network(tmp_path, proto, x, atol=1e-4):
    """The module and its reference.onnx both within atol of onnxruntime on the original model
    (dozens of layers accumulate more rounding than one op's contract allows)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "net.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle", batch=x.shape[0])
    got = edgewasm.load(tmp_path / "bundle").run({"x": x})
    want = ort_outputs(proto, {"x": x})
    reference = run_onnxruntime(tmp_path / "bundle", {"x": x})
    (name,) = want
    assert got[name].shape == want[name].shape
    diff = float(np.abs(got[name] - want[name]).max())
    assert diff <= atol, diff
    assert float(np.abs(reference[name] - want[name]).max()) <= atol
    return diff


def test_mobilenet_v2_224(tmp_path):
    """The full-width MobileNetV2 at 224x224 (about 0.3 GMACs)."""
    compare_network(tmp_path, make_mobilenet_v2(1.0, 224), randn(1, 3, 224, 224, seed=21))


def test_mobilenet_v2_reduced_batch2(tmp_path):
    compare_network(tmp_path, make_mobilenet_v2(0.35, 96, classes=37, batch="N", seed=1),
                    randn(2, 3, 96, 96, seed=22))


def test_mobilenet_v2_without_batchnorm(tmp_path):
    """As exporters emit it with BatchNormalization already folded (Conv with a bias)."""
    compare_network(tmp_path, make_mobilenet_v2(0.5, 64, classes=10, seed=2, batchnorm=False),
                    randn(1, 3, 64, 64, seed=23))


def test_resnet_basic_blocks(tmp_path):
    compare_network(tmp_path, make_resnet((2, 2, 2, 2), (16, 32, 64, 128), resolution=112, classes=50, batch="N"),
                    randn(2, 3, 112, 112, seed=24))


def test_layout_pass_follows_elementwise_concat_and_squeeze_excitation(tmp_path):
    """HardSwish, a squeeze-excitation Mul ([N, C, H, W] * [N, C, 1, 1]), a per-channel constant
    Mul and a fire-module channel Concat all run channels-last: two transposes in all."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("HardSwish", ["a"], ["h"]),
        helper.make_node("GlobalAveragePool", ["h"], ["g"]),
        helper.make_node("Conv", ["g", "w2"], ["s1"]),
        helper.make_node("Relu", ["s1"], ["s2"]),
        helper.make_node("Conv", ["s2", "w3"], ["s3"]),
        helper.make_node("HardSigmoid", ["s3"], ["s4"]),
        helper.make_node("Mul", ["h", "s4"], ["se"]),
        helper.make_node("Mul", ["se", "channel_scale"], ["scaled"]),
        helper.make_node("Conv", ["scaled", "e1"], ["x1"]),
        helper.make_node("Conv", ["scaled", "e3"], ["x3"], pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["x1", "x3"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w4"], ["y"]),
    ]
    inits = {"w1": randn(8, 3, 3, 3, seed=1, scale=0.3), "w2": randn(4, 8, 1, 1, seed=2, scale=0.3),
             "w3": randn(8, 4, 1, 1, seed=3, scale=0.3), "channel_scale": randn(8, 1, 1, seed=4),
             "e1": randn(5, 8, 1, 1, seed=5, scale=0.3), "e3": randn(6, 8, 3, 3, seed=6, scale=0.3),
             "w4": randn(7, 11, 1, 1, seed=7, scale=0.3)}
    proto = make_model(nodes, [("x", [1, 3, 9, 9])], [("y", [1, 7, 9, 9])], inits)
    ops = layout_after_passes(proto)
    assert ops.count("LayoutTranspose") == 2 and ops[0] == ops[-1] == "LayoutTranspose"
    compile_and_compare(tmp_path, proto, {"x": randn(1, 3, 9, 9)})


def test_weights_do_not_grow_with_the_batch(tmp_path):
    """Indirection buffers describe one image; each image of a batch is a call of its own."""
    proto = make_resnet((1, 1), (8, 16), resolution=24, classes=5, batch="N")
    sizes = {}
    for batch in (1, 3):
        compare_network(tmp_path / f"b{batch}", proto, randn(batch, 3, 24, 24, seed=batch))
        sizes[batch] = edgewasm.load(tmp_path / f"b{batch}" / "bundle").variant.report["weight_bytes"]
    assert sizes[1] == sizes[3]


def test_both_loop_variants_give_the_same_bits(tmp_path):
    """The i32 at LOOP_VARIANT_OFFSET picks the Cranelift loops with epoch checks (0), the
    load-splat loops (1) or the Cranelift loops without epoch checks (2) of f32_gemm_4x8 /
    f32_igemm_4x8 (backend/codegen.py); the browser host writes 1. Same bits."""
    from edgewasm.runtime.sandbox import LOOP_VARIANT_OFFSET

    proto = make_resnet((1, 1), (8, 16), resolution=32, classes=10)  # a 7x7 RGB stem (im2col + GEMM), 3x3 convs (igemm)
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    model = edgewasm.load(tmp_path / "bundle")
    assert {"f32_gemm_4x8", "f32_igemm_4x8", "u8_im2col"} <= set(model.variant.kernels)
    x = randn(1, 3, 32, 32)
    name = model.inputs[0].name
    assert model.instance.read(LOOP_VARIANT_OFFSET, 4) == (2).to_bytes(4, "little")  # no epoch checks: its loops
    shuffle = model.run({name: x})
    model.instance.write(LOOP_VARIANT_OFFSET, (1).to_bytes(4, "little"))
    load_splat = model.run({name: x})
    model.instance.write(LOOP_VARIANT_OFFSET, (2).to_bytes(4, "little"))
    no_epoch = model.run({name: x})
    model.instance.write(LOOP_VARIANT_OFFSET, (0).to_bytes(4, "little"))
    assert model.run({name: x}).keys() == shuffle.keys()
    for output in shuffle:
        assert np.asarray(shuffle[output]).tobytes() == np.asarray(load_splat[output]).tobytes()
        assert np.asarray(shuffle[output]).tobytes() == np.asarray(no_epoch[output]).tobytes()


def test_codegen_branches_to_the_load_splat_loop():
    from edgewasm.backend.codegen import emit_module
    from edgewasm.backend.plan import MemoryPlan
    from edgewasm.backend.program import Call, Program
    from edgewasm.runtime.sandbox import LOOP_VARIANT_OFFSET

    program = Program(calls=[Call("f32_gemm_4x8", [4, 8, 2, 64, 8, 96, 256, 32, 0.0, 6.0], "gemm"),
                             Call("f32_vclamp", [8, 64, 64, 0.0, 1.0], "clamp")])
    text = emit_module(program, MemoryPlan({}, 64, 64, 1024))
    word = f"(i32.load (i32.const {LOOP_VARIANT_OFFSET}))"
    assert f"(if (i32.eq {word} (i32.const 1)) (then (call $f32_gemm_4x8_ldsplat " in text
    assert f"(if (i32.eq {word} (i32.const 2)) (then (call $f32_gemm_2x16 " in text
    assert "(else (call $f32_gemm_2x16_u4 " in text
    assert "(func $f32_gemm_4x8_ldsplat" in text and "(func $f32_gemm_4x8\n" in text  # 4x8: the 2x16 column tail
    assert "(func $f32_gemm_2x16\n" in text and "(func $f32_gemm_2x16_u4\n" in text
    assert "(call $f32_vclamp " in text and "f32_vclamp_" not in text  # kernels without twins: a plain call


@pytest.mark.parametrize("cg, group, kernel, strides, dilations, pads, batch", [
    (3, 1, (7, 7), (2, 2), (1, 1), (3, 3, 3, 3), 2),   # ResNet's stem, a batch of 2
    (3, 1, (4, 4), (2, 2), (1, 1), (1, 2, 2, 1), 1),   # depth 48, the smallest that takes im2col
    (1, 1, (7, 9), (1, 2), (2, 1), (2, 0, 1, 2), 1),   # one channel, dilated, uneven padding
    (2, 3, (5, 5), (1, 1), (1, 1), (0, 1, 1, 0), 2),   # groups of 2 channels
])
def test_few_channel_convolutions_as_im2col_and_gemm(tmp_path, cg, group, kernel, strides, dilations, pads, batch):
    """Up to IM2COL_MAX_CHANNELS input channels per group over a window of IM2COL_MIN_DEPTH or more
    values run as u8_im2col (rows of taps x cg f32)
    plus a plain GEMM. A fourth input channel with zero weights takes the indirect GEMM instead and
    adds only exact zeros in the same tap-then-channel order, so both give the same bits."""
    from edgewasm.backend.convolution import IM2COL_MAX_CHANNELS, IM2COL_MIN_DEPTH

    assert cg <= IM2COL_MAX_CHANNELS < 4 and cg * kernel[0] * kernel[1] >= IM2COL_MIN_DEPTH
    m = 5 * group
    w = randn(m, cg, *kernel, seed=cg, scale=0.4)
    b = randn(m, seed=7)
    x = randn(batch, group * cg, 13, 11, seed=cg + group)
    attrs = dict(kernel_shape=list(kernel), strides=list(strides), dilations=list(dilations), pads=list(pads), group=group)
    few = single_node_model("Conv", (batch, group * cg, 13, 11), inits={"w": w, "b": b}, **attrs)
    (tmp_path / "few").mkdir()
    (tmp_path / "four").mkdir()
    got = check(tmp_path / "few", few, x, batch=batch)["y"]
    assert "u8_im2col" in edgewasm.load(tmp_path / "few" / "bundle").variant.kernels

    w4 = np.concatenate([w, np.zeros((m, 4 - cg, *kernel), np.float32)], axis=1)
    x4 = np.concatenate([x.reshape(batch, group, cg, 13, 11), randn(batch, group, 4 - cg, 13, 11, seed=9)], axis=2)
    four = single_node_model("Conv", (batch, group * 4, 13, 11), inits={"w": w4, "b": b}, **attrs)
    want = check(tmp_path / "four", four, x4.reshape(batch, group * 4, 13, 11), batch=batch)["y"]
    kernels = edgewasm.load(tmp_path / "four" / "bundle").variant.kernels
    assert "f32_igemm_4x8" in kernels and "u8_im2col" not in kernels
    assert got.tobytes() == want.tobytes()
