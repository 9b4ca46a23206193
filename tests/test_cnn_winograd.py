"""Winograd F(2x2, 3x3) convolutions end to end (backend/convolution.py, wasm-kernels/f32_winograd.wat):
odd sizes, every padding form, channel counts that are not multiples of 4, batches, fused
BatchNormalization + ReLU6, tile blocks, against onnxruntime within the fp32 contract; the kernel
selection; and the error next to the direct kernel's."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

import edgewasm
from edgewasm.backend import convolution

from test_cnn import bn_params, check, randn, single_node_model
from models import make_model
from oracles import ort_outputs

WINOGRAD = {"f32_winograd_input_2x2_3x3", "f32_winograd_output_2x2_3x3", "f32_winograd_weights_3x3"}

CASES = {  # name: (x shape, weight shape, attributes)
    "odd_pad1": ((1, 9, 7, 5), (13, 9, 3, 3), dict(pads=[1, 1, 1, 1])),
    "no_pad_odd_out": ((1, 8, 9, 6), (8, 8, 3, 3), {}),
    "asymmetric_pads": ((1, 10, 6, 7), (11, 10, 3, 3), dict(pads=[0, 2, 1, 0])),
    "large_pads": ((1, 12, 4, 5), (9, 12, 3, 3), dict(pads=[3, 1, 2, 4])),
    "same_upper": ((2, 17, 5, 8), (19, 17, 3, 3), dict(auto_pad="SAME_UPPER")),
    "same_lower": ((1, 8, 6, 3), (8, 8, 3, 3), dict(auto_pad="SAME_LOWER")),
    "one_row": ((1, 8, 3, 11), (10, 8, 3, 3), {}),
    "wide_channels": ((1, 70, 6, 6), (33, 70, 3, 3), dict(pads=[1, 1, 1, 1])),
}


@pytest.mark.parametrize("name", CASES)
def test_winograd_conv_matches_onnxruntime(tmp_path, name):
    x_shape, w_shape, attrs = CASES[name]
    inits = {"w": randn(*w_shape, seed=1, scale=0.3), "b": randn(w_shape[0], seed=2)}
    proto = single_node_model("Conv", x_shape, inits=inits, **attrs)
    check(tmp_path, proto, randn(*x_shape, scale=2), batch=x_shape[0])
    assert WINOGRAD <= set(edgewasm.load(tmp_path / "bundle").variant.kernels)


def test_blocks_of_tiles(tmp_path, monkeypatch):
    """An image walked in many blocks of tiles (the last one partial) gives the bits of one block."""
    monkeypatch.setattr(convolution, "WINOGRAD_BLOCK_BYTES", 1)  # 4 tiles per block
    proto = single_node_model("Conv", (1, 9, 11, 9), inits={"w": randn(10, 9, 3, 3, seed=3), "b": randn(10, seed=4)},
                              pads=[1, 1, 1, 1])
    x = randn(1, 9, 11, 9)
    (tmp_path / "small").mkdir(), (tmp_path / "whole").mkdir()
    small = check(tmp_path / "small", proto, x)["y"]
    monkeypatch.setattr(convolution, "WINOGRAD_BLOCK_BYTES", 1 << 30)
    whole = check(tmp_path / "whole", proto, x)["y"]
    assert small.tobytes() == whole.tobytes()


def test_batchnorm_relu6_fold_into_winograd(tmp_path):
    w = randn(12, 8, 3, 3, seed=7, scale=0.5)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["n"], name="bn"),
             helper.make_node("Clip", ["n", "lo", "hi"], ["y"], name="relu6")]
    inits = {"w": w, "b": randn(12, seed=8), **bn_params(12), "lo": np.float32(0), "hi": np.float32(6)}
    proto = make_model(nodes, [("x", [1, 8, 7, 7])], [("y", [1, 12, 7, 7])], inits)
    check(tmp_path, proto, randn(1, 8, 7, 7, scale=3))
    variant = edgewasm.load(tmp_path / "bundle").variant
    assert len(variant.report["fusions"]) == 2
    assert set(variant.kernels) == WINOGRAD | {"f32_gemm_4x8", "f32_transpose"}


@pytest.mark.parametrize("channels, w_shape, attrs", [
    (4, (8, 4, 3, 3), dict(pads=[1, 1, 1, 1])),  # too few input channels
    (8, (4, 8, 3, 3), dict(pads=[1, 1, 1, 1])),  # too few output channels
    (8, (8, 8, 3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1])),
    (8, (8, 8, 3, 3), dict(dilations=[2, 2], pads=[2, 2, 2, 2])),
    (8, (8, 4, 3, 3), dict(group=2, pads=[1, 1, 1, 1])),
    (8, (8, 8, 5, 5), dict(pads=[2, 2, 2, 2])),
])
def test_other_convolutions_keep_the_direct_kernel(tmp_path, channels, w_shape, attrs):
    proto = single_node_model("Conv", (1, channels, 9, 9), inits={"w": randn(*w_shape, seed=5)}, **attrs)
    check(tmp_path, proto, randn(1, channels, 9, 9))
    kernels = set(edgewasm.load(tmp_path / "bundle").variant.kernels)
    assert "f32_igemm_4x8" in kernels and not kernels & WINOGRAD


def test_error_next_to_the_direct_kernel(tmp_path, monkeypatch):
    """The measured error of docs/performance.md: a 64-channel 3x3 layer, Winograd and direct vs
    onnxruntime, both well inside the contract."""
    proto = single_node_model("Conv", (1, 64, 20, 20), inits={"w": randn(64, 64, 3, 3, seed=6, scale=0.06),
                                                              "b": randn(64, seed=7)}, pads=[1, 1, 1, 1])
    x = randn(1, 64, 20, 20)
    want = ort_outputs(proto, {"x": x})["y"]
    errors = {}
    for label, threshold in (("winograd", 8), ("direct", 10**9)):
        (tmp_path / label).mkdir()
        monkeypatch.setattr(convolution, "WINOGRAD_MIN_CHANNELS", threshold)
        got = check(tmp_path / label, proto, x)["y"]
        errors[label] = float(np.abs(got - want).max())
    assert errors["winograd"] <= 1e-5 and errors["direct"] <= 1e-5, errors


@pytest.mark.parametrize("variants", ["fp16", "fp32+prune", "fp16+prune"])
def test_compressed_variants_ship_the_taps(tmp_path, variants):
    """Only the 3x3 taps ship (init() builds U), so float16 and sparse encodings apply to them and
    their expansions run before the transform; outputs match the variant's own reference."""
    proto = single_node_model("Conv", (1, 12, 9, 8), inits={"w": randn(16, 12, 3, 3, seed=9, scale=0.3),
                                                            "b": randn(16, seed=10)}, pads=[1, 1, 1, 1])
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle", variants=variants)
    model = edgewasm.load(tmp_path / "bundle")
    assert WINOGRAD <= set(model.variant.kernels)
    assert model.variant.report["weight_bytes"] <= 4 * (16 * 12 * 9 + 64) + 256  # taps + bias, not 16/9 of them
    x = randn(1, 12, 9, 8)
    got = model.run({"x": x})["y"]
    from edgewasm.engines import run_onnxruntime
    want = run_onnxruntime(tmp_path / "bundle", {"x": x})["y"]
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
