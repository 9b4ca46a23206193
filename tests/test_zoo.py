"""The model zoo: graphs written by real exporters compile, run on wasmtime and match onnxruntime.

Each model in tests/zoo/ (see tests/zoo/zoo.py) is restored with its seeded weight fills, compiled
with `edgewasm.compile(path, out, shapes=meta["shapes"])`, run on wasmtime through `edgewasm.load`
on the zoo's inputs, and compared output by output with onnxruntime on the restored (original)
graph: floats within atol 1e-4 + rtol 1e-3, integer and bool outputs exactly, dtypes and shapes
equal. Select with `pytest -m zoo`, leave out with `-m "not zoo"`.
"""

from __future__ import annotations

import numpy as np
import pytest

from zoo import zoo

pytestmark = pytest.mark.zoo

ATOL = 1e-4
RTOL = 1e-3


def onnxruntime_outputs(proto, feeds) -> dict[str, np.ndarray]:
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_model_matches_onnxruntime(name, tmp_path):
    import edgewasm

    info = zoo.meta(name)
    proto = zoo.load(name)
    source = tmp_path / f"{name}.onnx"
    source.write_bytes(proto.SerializeToString())
    feeds = zoo.inputs(name)
    want = onnxruntime_outputs(proto, feeds)

    out_dir = tmp_path / "bundle"
    edgewasm.compile(str(source), str(out_dir), shapes=info["shapes"])
    model = edgewasm.load(str(out_dir))
    got = model.run(feeds)

    problems, max_diff = zoo.compare(got, want, atol=ATOL, rtol=RTOL)
    assert not problems, f"{name} ({info['exporter']}), max abs difference {max_diff:.3g}: " + "; ".join(problems)
