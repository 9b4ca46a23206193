"""The CLI as a user runs it: a real subprocess, exit codes 0/1/2, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from models import make_mlp as mlp


def edgewasm(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "edgewasm.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def odd_mlp(tmp_path_factory):
    """The issue's model nobody tuned for: MLP 100-37-13 with odd sizes at batch 3."""
    root = tmp_path_factory.mktemp("cli")
    (root / "mlp.onnx").write_bytes(mlp([100, 37, 13]).SerializeToString())
    result = edgewasm("compile", root / "mlp.onnx", "-o", root / "bundle", "--batch", 3)
    assert result.returncode == 0, result.stderr
    assert (root / "bundle" / "manifest.json").is_file()
    return root


def test_run_wasmtime_and_onnxruntime_write_npz(odd_mlp):
    x = np.random.default_rng(1).standard_normal((3, 100)).astype(np.float32)
    np.save(odd_mlp / "x.npy", x)
    outs = {}
    for engine in ("wasmtime", "onnxruntime"):
        out = odd_mlp / f"{engine}.npz"
        result = edgewasm("run", odd_mlp / "bundle", "--input", f"x={odd_mlp / 'x.npy'}", "--engine", engine, "-o", out)
        assert result.returncode == 0, result.stderr
        assert "y: shape [3, 13]" in result.stdout
        outs[engine] = np.load(out)["y"]
    assert np.allclose(outs["wasmtime"], outs["onnxruntime"], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("args,message", [
    (("compile", "missing.onnx", "-o", "out"), "no such ONNX file"),
    (("run", "nowhere"), "not a bundle"),
    (("frobnicate",), ""),
])
def test_usage_errors_exit_2_without_traceback(odd_mlp, args, message):
    result = edgewasm(*args, cwd=odd_mlp)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_inputs_exit_2(odd_mlp):
    np.save(odd_mlp / "wrong.npy", np.zeros((2, 100), np.float32))
    result = edgewasm("run", odd_mlp / "bundle", "--input", f"x={odd_mlp / 'wrong.npy'}")
    assert result.returncode == 2 and "shape (2, 100), expected (3, 100)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    (odd_mlp / "bad.onnx").write_bytes(b"not onnx at all")
    result = edgewasm("compile", odd_mlp / "bad.onnx", "-o", odd_mlp / "x")
    assert result.returncode == 2 and "not a valid ONNX model" in result.stderr


@pytest.mark.browser
def test_check_agrees_on_all_three_engines(odd_mlp):
    result = edgewasm("check", odd_mlp / "bundle")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "browser vs wasmtime bit-identical: yes" in result.stdout
    assert "within atol 1e-5 + rtol 1e-4" in result.stdout


@pytest.mark.browser
def test_check_fails_when_an_engine_disagrees(odd_mlp, tmp_path):
    """Swap in a reference.onnx of a different model: check must notice and exit 1."""
    import json
    import shutil

    from edgewasm.bundle import sha256

    bundle = shutil.copytree(odd_mlp / "bundle", tmp_path / "b")
    other = mlp([100, 37, 13], seed=7).SerializeToString()
    (bundle / "fp32" / "reference.onnx").write_bytes(other)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["variants"]["fp32"]["reference"].update(sha256=sha256(other), nbytes=len(other))
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    result = edgewasm("check", bundle)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "OUTSIDE" in result.stdout


def test_memory_limit_flag_raises_or_lowers_the_hosts_limit(odd_mlp):
    """A model that needs more than the default limit is run by raising it from the CLI;
    the refusal names the flag. Here the limit goes below what the MLP needs, then back above it."""
    x = np.random.default_rng(2).standard_normal((3, 100)).astype(np.float32)
    np.save(odd_mlp / "x.npy", x)
    args = ("run", odd_mlp / "bundle", "--input", f"x={odd_mlp / 'x.npy'}")
    refused = edgewasm(*args, "--memory-limit", "0.01")
    assert refused.returncode == 2, refused.stderr
    assert "MiB of linear memory; the runtime limit is 0.0 MiB" in refused.stderr
    assert "--memory-limit MIB" in refused.stderr and "Traceback" not in refused.stderr
    assert edgewasm(*args, "--memory-limit", "512").returncode == 0
    assert "positive" in edgewasm(*args, "--memory-limit", "0").stderr


@pytest.mark.browser
def test_check_memory_limit_and_tolerance_flags(odd_mlp):
    """check passes the limit to both module hosts (the page too) and compares at the given tolerance."""
    refused = edgewasm("check", odd_mlp / "bundle", "--memory-limit", "0.01")
    assert refused.returncode == 2 and "--memory-limit MIB" in refused.stderr
    result = edgewasm("check", odd_mlp / "bundle", "--memory-limit", "256", "--atol", "0", "--rtol", "0")
    assert "bit-identical: yes" in result.stdout and "atol 0 + rtol 0" in result.stdout
    loose = edgewasm("check", odd_mlp / "bundle", "--memory-limit", "256", "--atol", "1e-3", "--rtol", "1e-3")
    assert loose.returncode == 0 and "within atol 0.001 + rtol 0.001" in loose.stdout


@pytest.mark.browser
def test_check_weighs_a_difference_against_onnxruntimes_own_noise(tmp_path):
    """A tolerance of zero: the difference to onnxruntime is outside it, so check measures how far
    onnxruntime moves when its graph optimizations (Conv+BatchNorm fusion here) are off, passes exactly
    when the difference is within twice that, and --strict ignores it."""
    import re

    from cnn_models import make_mobilenet_v2

    (tmp_path / "m.onnx").write_bytes(make_mobilenet_v2(width=0.35, resolution=64, classes=10).SerializeToString())
    assert edgewasm("compile", tmp_path / "m.onnx", "-o", tmp_path / "b").returncode == 0
    result = edgewasm("check", tmp_path / "b", "--atol", "0", "--rtol", "0")
    line = next(line for line in result.stdout.splitlines() if "bit-identical" in line)
    diff, noise = map(float, re.search(r"= ([0-9.e+-]+) .*levels \(([0-9.e+-]+)\)", line).groups())
    assert diff > 0 and noise > 0, line
    assert ("but within" in line) == (diff <= 2 * noise) == (result.returncode == 0), result.stdout
    strict = edgewasm("check", tmp_path / "b", "--atol", "0", "--rtol", "0", "--strict")
    assert strict.returncode == 1 and "levels" not in strict.stdout
