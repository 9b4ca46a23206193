"""`edgewasm compile --chunk-bytes`: the size of the weight chunks pages fetch in parallel and cache."""

from __future__ import annotations

import json

from edgewasm.cli import EXIT_OK, EXIT_USAGE, main

from models import make_mlp


def test_chunk_bytes_sets_the_chunk_size_and_is_validated(tmp_path, capsys):
    onnx_path = tmp_path / "mlp.onnx"
    onnx_path.write_bytes(make_mlp([64, 48, 10]).SerializeToString())
    assert main(["compile", str(onnx_path), "-o", str(tmp_path / "b"), "--chunk-bytes", "1024"]) == EXIT_OK
    chunks = json.loads((tmp_path / "b" / "manifest.json").read_text())["variants"]["fp32"]["weights"]
    assert len(chunks) > 3 and all(c["nbytes"] == 1024 for c in chunks[:-1]) and 0 < chunks[-1]["nbytes"] <= 1024
    assert [c["offset"] - chunks[0]["offset"] for c in chunks] == [1024 * i for i in range(len(chunks))]
    assert main(["compile", str(onnx_path), "-o", str(tmp_path / "c"), "--chunk-bytes", "1000"]) == EXIT_USAGE
    assert "--chunk-bytes must be a positive multiple of 16" in capsys.readouterr().err
