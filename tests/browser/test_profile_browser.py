"""A --profile build in the page: per-layer entry points timed by the page's clock, the same
bits as `run` and as wasmtime, and the times in `stats()`."""

from __future__ import annotations

import numpy as np
import pytest

import edgewasm

from models import make_mlp

pytestmark = pytest.mark.browser


def test_profile_in_the_page(browser, tmp_path):
    (tmp_path / "m.onnx").write_bytes(make_mlp([20, 16, 5]).SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", profile=True)
    url = browser.register(tmp_path / "b")
    result = browser.evaluate_python(f"""
import array, edgewasm
model = await edgewasm.load({url!r})
x = array.array("f", [0.25 * i for i in range(20)])
ran = model.run({{"x": x}})["y"].tobytes()
profiled = model.profile({{"x": x}})
{{"same": profiled["outputs"]["y"].tobytes() == ran, "ran": list(ran),
  "layers": [layer["node"] for layer in profiled["layers"]],
  "recorded": sorted(model.stats()["latency"]["layers"])}}
""")
    assert result["same"]
    assert result["layers"] == ["fc0", "fc1", "softmax"]
    assert result["recorded"] == ["fc0", "fc1", "softmax"]
    x = (0.25 * np.arange(20, dtype=np.float32))[None]
    want = edgewasm.load(tmp_path / "b").run({"x": x})["y"]
    assert bytes(result["ran"]) == want.tobytes()
