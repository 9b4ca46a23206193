"""Every kind of compressed variant gives the same bits in Chromium (Pyodide) as in wasmtime:
fp16 and sparse weights expanded by init(), the integer kernels, pruned and factorized graphs,
and a model onnxruntime quantized itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import edgewasm
from edgewasm.variants import Options

from bits import assert_same_bits
from models import make_mlp
from quant_models import (activation_cnn, input_batches, matmul_mlp, ort_quantize_dynamic, ort_quantize_static,
                         residual_cnn, se_cnn, small_cnn, static_cnn)

pytestmark = pytest.mark.browser

VARIANTS = ("fp32", "fp16", "int8", "int16", "int16+prune", "fp32+prune", "fp16+prune", "int8+prune",
            "fp32+structured+distill", "int8+lowrank", "fp32+structured+prune+lowrank+distill")
SPECIALS = np.array([np.inf, -np.inf, -0.0, 1e30, -1e30, 1e-40, 3.4e38], np.float32)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("variants")
    rng = np.random.default_rng(0)
    options = Options(prune=0.6, prune_structured=0.5, low_rank="0.4",
                      distill={"x": rng.standard_normal((300, 37)).astype(np.float32)})
    (root / "mlp.onnx").write_bytes(make_mlp([37, 29, 21, 11]).SerializeToString())
    edgewasm.compile(root / "mlp.onnx", root / "mlp", batch=3, variants=",".join(VARIANTS), options=options,
                     chunk_bytes=1024)
    calibrated = Options(prune_structured=0.5, calibrate=options.distill, distill=options.distill)
    edgewasm.compile(root / "mlp.onnx", root / "static", batch=3, variants="int8,int8+structured+distill",
                     options=calibrated)
    (root / "ort.onnx").write_bytes(ort_quantize_dynamic(matmul_mlp([19, 14, 6])).SerializeToString())
    edgewasm.compile(root / "ort.onnx", root / "ort", batch=5)
    static = ort_quantize_static(make_mlp([19, 14, 6], batch=5, softmax=False),
                                 rng.standard_normal((40, 19)).astype(np.float32), 5)
    (root / "ort_static.onnx").write_bytes(static.SerializeToString())
    edgewasm.compile(root / "ort_static.onnx", root / "ort_static", batch=5)
    cnn = small_cnn([{"m": 6, "kernel": [3, 3], "pads": [1, 1, 1, 1]}, {"m": 6, "kernel": [3, 3], "group": 6},
                     {"m": 4, "kernel": [1, 1]}], [2, 3, 7, 7])
    (root / "cnn.onnx").write_bytes(cnn.SerializeToString())
    edgewasm.compile(root / "cnn.onnx", root / "cnn", batch=2, variants="fp32,int8,fp16,int16")
    (root / "ort_cnn.onnx").write_bytes(ort_quantize_dynamic(cnn).SerializeToString())
    edgewasm.compile(root / "ort_cnn.onnx", root / "ort_cnn", batch=2)
    # transformers.js's q8: uint8 weights per tensor, offsets in the qdu8 panels (4x8c2, 1x4c2, convolutions)
    uint8 = ort_quantize_dynamic(matmul_mlp([19, 24, 6]), per_channel=False, weights="QUInt8")
    (root / "ort_u8.onnx").write_bytes(uint8.SerializeToString())
    edgewasm.compile(root / "ort_u8.onnx", root / "ort_u8", batch=5)
    (root / "ort_u8_cnn.onnx").write_bytes(ort_quantize_dynamic(cnn, per_channel=False, weights="QUInt8")
                                           .SerializeToString())
    edgewasm.compile(root / "ort_u8_cnn.onnx", root / "ort_u8_cnn", batch=2)
    static_cnn_model = static_cnn([{"m": 8, "kernel": [3, 3], "pads": [1, 1, 1, 1], "pool": True},
                                   {"m": 8, "kernel": [3, 3], "pads": [1, 1, 1, 1], "group": 8},
                                   {"m": 6, "kernel": [1, 1], "relu": False}], [2, 3, 8, 8])
    calibration = rng.standard_normal((12, 3, 8, 8)).astype(np.float32)
    for name, fmt, per_channel in (("ort_static_cnn", "QOperator", True), ("ort_qdq_cnn", "QDQ", False)):
        quantized = ort_quantize_static(static_cnn_model, calibration, 2, fmt=fmt, per_channel=per_channel)
        (root / f"{name}.onnx").write_bytes(quantized.SerializeToString())
        edgewasm.compile(root / f"{name}.onnx", root / name, batch=2)
    (root / "static_cnn.onnx").write_bytes(static_cnn_model.SerializeToString())
    edgewasm.compile(root / "static_cnn.onnx", root / "static_cnn", batch=2, variants="int8",
                     options=Options(calibrate={"x": calibration}))
    edgewasm.compile(root / "mlp.onnx", root / "int16_b6", batch=6, variants="int16")  # the 4-row int16 GEMM
    (root / "act_cnn.onnx").write_bytes(activation_cnn().SerializeToString())  # static int8 lookup tables
    edgewasm.compile(root / "act_cnn.onnx", root / "static_act", batch=2, variants="int8",
                     options=Options(calibrate={"x": rng.standard_normal((16, 3, 9, 9)).astype(np.float32)}))
    (root / "res_cnn.onnx").write_bytes(residual_cnn().SerializeToString())  # static int8 residual adds
    edgewasm.compile(root / "res_cnn.onnx", root / "static_res", batch=2, variants="int8",
                     options=Options(calibrate={"x": rng.standard_normal((16, 3, 8, 8)).astype(np.float32)}))
    (root / "se_cnn.onnx").write_bytes(se_cnn().SerializeToString())  # static int8 squeeze-excitation product
    edgewasm.compile(root / "se_cnn.onnx", root / "static_se", variants="int8",
                     options=Options(calibrate={"x": rng.standard_normal((16, 3, 7, 7)).astype(np.float32)}))
    return {"mlp": root / "mlp", "int16_b6": root / "int16_b6", "static": root / "static", "ort": root / "ort",
            "ort_static": root / "ort_static",
            "cnn": root / "cnn", "ort_cnn": root / "ort_cnn", "ort_static_cnn": root / "ort_static_cnn",
            "ort_qdq_cnn": root / "ort_qdq_cnn", "static_cnn": root / "static_cnn", "static_act": root / "static_act",
            "static_res": root / "static_res", "static_se": root / "static_se", "ort_u8": root / "ort_u8",
            "ort_u8_cnn": root / "ort_u8_cnn"}


def inputs_for(model) -> list[dict[str, np.ndarray]]:
    spec = model.inputs[0]
    sets = [{spec.name: x} for x in input_batches(spec.shape, 4, seed=1)]
    special = np.random.default_rng(2).standard_normal(spec.shape).astype(np.float32).reshape(-1)
    special[: SPECIALS.size] = SPECIALS
    return sets + [{spec.name: special.reshape(spec.shape)}]


@pytest.mark.parametrize("variant", VARIANTS)
def test_compressed_variant_matches_wasmtime_bit_for_bit(browser, bundles, variant):
    server = edgewasm.load(bundles["mlp"], variant)
    for inputs in inputs_for(server):
        expected = server.run(inputs)
        actual = browser.run(bundles["mlp"], inputs, variant=variant)
        assert sorted(actual) == sorted(expected)
        for name in expected:
            assert_same_bits(actual[name], expected[name])


@pytest.mark.parametrize("variant", ["int8", "fp16", "int16"])
def test_compressed_cnn_matches_wasmtime_bit_for_bit(browser, bundles, variant):
    server = edgewasm.load(bundles["cnn"], variant)
    for inputs in inputs_for(server):
        expected = server.run(inputs)
        for name, value in browser.run(bundles["cnn"], inputs, variant=variant).items():
            assert_same_bits(value, expected[name])


@pytest.mark.parametrize("variant", ["int8", "int8+structured+distill"])
def test_static_int8_variant_matches_wasmtime_bit_for_bit(browser, bundles, variant):
    server = edgewasm.load(bundles["static"], variant)
    assert server.variant.report["methods"][-2] == "int8 static"
    for inputs in inputs_for(server):
        expected = server.run(inputs)
        for name, value in browser.run(bundles["static"], inputs, variant=variant).items():
            assert_same_bits(value, expected[name])


@pytest.mark.parametrize("bundle, kernel", [("int16_b6", "qds16_f32_qc16w_gemm_4x4c2"), ("ort", "qu8_dynquant"),
                                            ("ort_static", "qu8_qc8w_gemm_4x8c2"),
                                            ("ort_cnn", "u8_im2col"), ("ort_static_cnn", "u8_maxpool_c16"),
                                            ("ort_qdq_cnn", "u8_transpose"), ("static_cnn", "u8_im2col"),
                                            ("static_act", "x8_lut"), ("static_res", "qu8_vadd"),
                                            ("static_se", "qu8_vmul_channels"),
                                            ("ort_u8", "qdu8_f32_qc8w_gemm_4x8c2"), ("ort_u8_cnn", "u8_im2col")])
def test_onnxruntime_quantized_model_matches_wasmtime_bit_for_bit(browser, bundles, bundle, kernel):
    server = edgewasm.load(bundles[bundle])
    assert kernel in server.variant.kernels
    for inputs in inputs_for(server):
        expected = server.run(inputs)
        for name, value in browser.run(bundles[bundle], inputs).items():
            assert_same_bits(value, expected[name])
