"""Structured pruning, low-rank and distillation on convolutions: a MobileNet-style block
(conv -> 1x1 expand -> depthwise -> 1x1 project -> 3x3 conv -> pool -> dense) gets fewer channels
and FLOPs, computes what its own reference.onnx computes, and distillation pulls it back toward
the teacher."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

import edgewasm
from edgewasm.engines import run_onnxruntime, within_contract
from edgewasm.errors import CompressionError
from edgewasm.variants import Options

from models import make_model
from quant_models import input_batches

SHAPE = (2, 3, 12, 12)


def conv_block(seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)

    def w(*shape):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))).astype(np.float32)

    def b(n):
        return (0.1 * rng.standard_normal(n)).astype(np.float32)

    weights = {"w0": w(16, 3, 3, 3), "b0": b(16), "w1": w(32, 16, 1, 1), "b1": b(32), "wd": w(32, 1, 3, 3),
               "bd": b(32), "w2": w(16, 32, 1, 1), "b2": b(16), "w3": w(24, 16, 3, 3), "b3": b(24),
               "wf": w(10, 24), "bf": b(10)}
    nodes = [
        helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c0"], ["r0"]),
        helper.make_node("Conv", ["r0", "w1", "b1"], ["c1"]),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"]),
        helper.make_node("Conv", ["r1", "wd", "bd"], ["cd"], pads=[1, 1, 1, 1], group=32),
        helper.make_node("Clip", ["cd", "lo", "hi"], ["rd"]),
        helper.make_node("Conv", ["rd", "w2", "b2"], ["c2"]),
        helper.make_node("Conv", ["c2", "w3", "b3"], ["c3"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c3"], ["r3"]),
        helper.make_node("GlobalAveragePool", ["r3"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], transB=1),
    ]
    weights.update(lo=np.float32(0), hi=np.float32(6))
    return make_model(nodes, [("x", list(SHAPE))], [("y", [SHAPE[0], 10])], weights)


def compile_block(tmp_path, variants: str, **options):
    proto = conv_block()
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", batch=SHAPE[0], variants=variants, options=Options(**options))
    return tmp_path / "b"


def conv_weight_shapes(bundle, variant) -> list[tuple[int, ...]]:
    model = onnx.load(bundle / variant / "reference.onnx")
    return sorted(tuple(i.dims) for i in model.graph.initializer if len(i.dims) == 4)


def teacher_data(samples: int = 64) -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(9).standard_normal((samples, *SHAPE[1:])).astype(np.float32)}


def check_runs_its_reference(bundle, variant):
    model = edgewasm.load(bundle, variant)
    for x in input_batches(SHAPE, 3, seed=4):
        assert within_contract(model.run({"x": x})["y"], run_onnxruntime(bundle, {"x": x}, variant)["y"])
    return model


def test_structured_pruning_removes_conv_channels_through_the_depthwise(tmp_path):
    bundle = compile_block(tmp_path, "fp32,fp32+structured", prune_structured=0.5)
    shapes = conv_weight_shapes(bundle, "fp32+structured")
    # conv0 16 -> 8 (read by expand), expand 32 -> 16 with the depthwise (read by project);
    # project's 16 channels meet conv3 (group 1): 16 -> 8; conv3 feeds the pool: kept.
    assert shapes == sorted([(8, 3, 3, 3), (16, 8, 1, 1), (16, 1, 3, 3), (8, 16, 1, 1), (24, 8, 3, 3)]), shapes
    model = check_runs_its_reference(bundle, "fp32+structured")
    steps = next(s for s in model.variant.report["steps"] if s["pass"] == "structured pruning")
    assert any("through" in layer for layer in steps["layers"])
    assert model.variant.report["compression"]["flops_vs_fp32"] < 0.5


def test_distillation_refits_pruned_convolutions(tmp_path):
    bundle = compile_block(tmp_path, "fp32+structured+distill", prune_structured=0.5, distill=teacher_data())
    model = check_runs_its_reference(bundle, "fp32+structured+distill")
    step = next(s for s in model.variant.report["steps"] if s["pass"] == "distillation")
    assert step["after"]["rms_error"] < 0.9 * step["before"]["rms_error"], step
    assert all(layer["rms_error_after"] <= layer["rms_error_before"] for layer in step["layers"])
    assert len(step["layers"]) >= 2  # convolutions refit, not only the dense head


def test_low_rank_factorizes_pointwise_convolutions(tmp_path):
    bundle = compile_block(tmp_path, "fp32+lowrank", low_rank="0.25")
    model = check_runs_its_reference(bundle, "fp32+lowrank")
    layers = next(s for s in model.variant.report["steps"] if s["pass"] == "low-rank")["layers"]
    factorized = {layer["layer"] for layer in layers if layer["factorized"]}
    assert len(factorized) >= 2  # the 1x1 expand and project (and the dense head at this ratio)
    shapes = conv_weight_shapes(bundle, "fp32+lowrank")
    assert (4, 16, 1, 1) in shapes and (32, 4, 1, 1) in shapes  # expand 16 -> 32 at rank 4


def test_low_rank_without_a_factorizable_layer_says_so(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])]
    proto = make_model(nodes, [("x", [1, 4, 6, 6])], [("y", [1, 4, 6, 6])],
                       {"w": np.ones((4, 4, 3, 3), np.float32)})
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    with pytest.raises(CompressionError, match="no Gemm/MatMul or 1x1 convolution"):
        edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", variants="fp32+lowrank")
