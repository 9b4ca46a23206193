"""ONNX files whose weights live in an external data file, as torch.onnx.export(..., dynamo=True)
writes them by default (tests/data/torch_two_file: model.onnx + model.onnx.data, as exported):
compiled from any working directory by the CLI, the API and the bench; a missing or truncated data
file, or bytes that need one, are one-line errors that name the file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import edgewasm
from edgewasm.errors import ModelFormatError

TORCH_EXPORT = Path(__file__).parent / "data" / "torch_two_file"


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "edgewasm.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def reference(x):
    session = ort.InferenceSession(str(TORCH_EXPORT / "model.onnx"), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_the_proto_really_keeps_its_weights_outside():
    proto = onnx.load(TORCH_EXPORT / "model.onnx", load_external_data=False)
    assert any(init.data_location == onnx.TensorProto.EXTERNAL for init in proto.graph.initializer)


def test_cli_compiles_torch_two_file_export_from_another_directory(tmp_path):
    result = cli("compile", TORCH_EXPORT / "model.onnx", "-o", tmp_path / "b", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model = edgewasm.load(tmp_path / "b")
    x = np.random.default_rng(0).standard_normal((1, 3, 16, 16)).astype(np.float32)
    (name,) = [t.name for t in model.inputs]
    np.testing.assert_allclose(next(iter(model.run({name: x}).values())), reference(x), rtol=1e-4, atol=1e-5)


def test_api_compiles_by_path_and_by_loaded_proto(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    edgewasm.compile(TORCH_EXPORT / "model.onnx", tmp_path / "by_path")
    edgewasm.compile(onnx.load(TORCH_EXPORT / "model.onnx"), tmp_path / "by_proto")
    x = np.ones((1, 3, 16, 16), np.float32)
    outputs = [next(iter(edgewasm.load(tmp_path / b).run({"x": x}).values())) for b in ("by_path", "by_proto")]
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_allclose(outputs[0], reference(x), rtol=1e-4, atol=1e-5)


def test_bench_takes_the_two_file_model_from_another_directory(tmp_path):
    result = cli("bench", "--models", "", "--model", TORCH_EXPORT / "model.onnx", "--engines", "wasmtime,onnxruntime",
                 "--repeats", "1", "--cold-starts", "1", "--json", tmp_path / "bench.json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (row,) = json.loads((tmp_path / "bench.json").read_text())["models"]
    assert {engine: r["status"] for engine, r in row["results"].items()} == {"wasmtime": "ok", "onnxruntime": "ok"}


def test_missing_truncated_and_unreachable_data_are_one_line_errors(tmp_path):
    shutil.copy(TORCH_EXPORT / "model.onnx", tmp_path / "model.onnx")
    result = cli("compile", tmp_path / "model.onnx", "-o", tmp_path / "b", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot read the external data file" in result.stderr and "model.onnx.data" in result.stderr
    data = (TORCH_EXPORT / "model.onnx.data").read_bytes()
    (tmp_path / "model.onnx.data").write_bytes(data[: len(data) // 2])
    result = cli("compile", tmp_path / "model.onnx", "-o", tmp_path / "b", cwd=tmp_path)
    assert result.returncode == 2 and "is truncated" in result.stderr and str(tmp_path) in result.stderr
    with pytest.raises(ModelFormatError, match="stored in the external file 'model.onnx.data'.*compile the .onnx file by its path"):
        edgewasm.compile((TORCH_EXPORT / "model.onnx").read_bytes(), tmp_path / "c")


def test_a_data_location_outside_the_model_directory_is_refused(tmp_path):
    proto = onnx.load(TORCH_EXPORT / "model.onnx", load_external_data=False)
    for init in proto.graph.initializer:
        for entry in init.external_data:
            if entry.key == "location":
                entry.value = "../model.onnx.data"
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "model.onnx").write_bytes(proto.SerializeToString())
    shutil.copy(TORCH_EXPORT / "model.onnx.data", tmp_path / "model.onnx.data")
    with pytest.raises(ModelFormatError, match="is not a file inside the model's directory"):
        edgewasm.compile(tmp_path / "inner" / "model.onnx", tmp_path / "b")
