"""A 2-layer transformer encoder, built as PyTorch exports it, compiled and run in wasmtime:
outputs match onnxruntime within atol 1e-4, runs are deterministic, and the shape math folds."""

from __future__ import annotations

import numpy as np
import pytest

import edgewasm
from edgewasm.engines import run_onnxruntime, within_contract

from transformer_models import encoder_inputs, make_encoder, ort_run

BATCH = 2


@pytest.fixture(scope="module", params=[False, True], ids=["gelu-erf-pattern", "gelu-op"])
def encoder(request, tmp_path_factory):
    proto = make_encoder(gelu_op=request.param)
    root = tmp_path_factory.mktemp("encoder")
    (root / "encoder.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(root / "encoder.onnx", root / "bundle", batch=BATCH)
    return proto, root / "bundle"


def test_encoder_matches_onnxruntime(encoder):
    proto, bundle = encoder
    inputs = encoder_inputs(BATCH)
    got = edgewasm.load(bundle).run(inputs)["y"]
    want = ort_run(proto, inputs)["y"]
    assert got.shape == want.shape == (BATCH, 16, 64)
    assert within_contract(got, want, atol=1e-4, rtol=0), np.abs(got - want).max()
    assert within_contract(got, want), np.abs(got - want).max()  # the fp32 contract holds too
    reference = run_onnxruntime(bundle, inputs)["y"]  # the variant's reference.onnx
    assert within_contract(reference, want, atol=1e-4, rtol=0)


def test_encoder_is_deterministic_and_masks_padding(encoder):
    _, bundle = encoder
    model = edgewasm.load(bundle)
    inputs = encoder_inputs(BATCH)
    first = model.run(inputs)["y"]
    assert np.array_equal(first.view(np.uint32), model.run(inputs)["y"].view(np.uint32))
    changed = dict(inputs, x=inputs["x"].copy())
    changed["x"][1, -1] += 5.0  # a padded token of row 1: kept tokens must not see it
    again = model.run(changed)["y"]
    assert np.array_equal(again[0], first[0])
    assert np.allclose(again[1, :-3], first[1, :-3], atol=1e-6)


def test_shape_math_folds_and_kernels_are_the_expected_ones(encoder):
    _, bundle = encoder
    variant = edgewasm.load(bundle).variant
    assert {"f32_gemm_4x8", "f32_gemm_pack_b", "f32_softmax", "f32_layernorm", "x_copy_nd"} <= set(variant.kernels)
    assert not any("gather" in k and k != "x_copy_nd" for k in variant.kernels)
