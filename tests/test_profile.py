"""A --profile build: one entry point per layer, timed by the host, same outputs as `run`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import edgewasm
from edgewasm.errors import BundleError
from edgewasm.runtime.sandbox import module_interface

from models import make_mlp


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("profile")
    (root / "m.onnx").write_bytes(make_mlp([20, 16, 12, 5]).SerializeToString())
    edgewasm.compile(root / "m.onnx", root / "plain", batch=2)
    edgewasm.compile(root / "m.onnx", root / "profiled", batch=2, profile=True)
    return root


def test_layers_reproduce_run_bit_for_bit(bundles):
    x = np.random.default_rng(0).standard_normal((2, 20)).astype(np.float32)
    model = edgewasm.load(bundles / "profiled")
    want = model.run({"x": x})["y"]
    result = model.profile({"x": x})
    assert np.array_equal(result["outputs"]["y"].view(np.uint32), want.view(np.uint32))
    assert np.array_equal(edgewasm.load(bundles / "plain").run({"x": x})["y"].view(np.uint32), want.view(np.uint32))
    layers = result["layers"]
    assert [layer["export"] for layer in layers] == [f"layer_{i}" for i in range(len(layers))]
    assert [layer["node"] for layer in layers] == ["fc0", "fc1", "fc2", "softmax"]  # Relu lives in the GEMMs
    assert all(layer["ms"] >= 0 for layer in layers)


def test_only_profile_builds_export_layers(bundles):
    _, plain = module_interface((bundles / "plain" / "fp32" / "model.wasm").read_bytes())
    _, profiled = module_interface((bundles / "profiled" / "fp32" / "model.wasm").read_bytes())
    assert set(plain) == {"memory", "run"}
    assert set(profiled) == {"memory", "run", "layer_0", "layer_1", "layer_2", "layer_3"}
    with pytest.raises(BundleError, match="compile it with `edgewasm compile --profile`"):
        edgewasm.load(bundles / "plain").profile({"x": np.zeros((2, 20), np.float32)})


def test_run_profile_prints_a_table(bundles, tmp_path):
    np.save(tmp_path / "x.npy", np.ones((2, 20), np.float32))
    result = subprocess.run([sys.executable, "-m", "edgewasm.cli", "run", bundles / "profiled", "--profile",
                             "--input", f"x={tmp_path / 'x.npy'}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "layer_0" and lines[0].endswith("fc0")
    assert lines[4].startswith("     total")
