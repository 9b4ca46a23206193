"""`/api/infer` on a `--threads N` build: `edgewasm serve --threads K` runs it on min(K, N) threads
per request, with the bits of the single-threaded build."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from starlette.testclient import TestClient

import edgewasm
from edgewasm.serve import create_app

from models import make_mlp

BATCH = 9


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    dist = root / "dist"
    (dist / "models").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>t</title>")
    (root / "m.onnx").write_bytes(make_mlp([301, 517, 263, 11], batch=BATCH).SerializeToString())
    edgewasm.compile(root / "m.onnx", dist / "models" / "single", batch=BATCH)
    edgewasm.compile(root / "m.onnx", dist / "models" / "threaded", batch=BATCH, threads=3)
    return dist


def infer(client, model: str, x: np.ndarray) -> tuple[bytes, int]:
    body = {"model": model, "inputs": {"x": {"shape": list(x.shape), "b64": base64.b64encode(x.tobytes()).decode()}}}
    response = client.post("/api/infer", json=body)
    assert response.status_code == 200, response.text
    return base64.b64decode(response.json()["outputs"]["y"]["b64"]), response.json()["threads"]


@pytest.mark.parametrize("threads", [None, 1, 2, 3, 8])
def test_infer_runs_a_threaded_build_on_the_threads_asked_with_the_same_bits(dist, threads):
    x = np.random.default_rng(3).standard_normal((BATCH, 301)).astype(np.float32)
    want = edgewasm.load(dist / "models" / "single").run({"x": x})["y"].tobytes()
    report = edgewasm.load(dist / "models" / "threaded", threads=1).variant.report["threads"]
    assert report["split_calls"] > 0  # the model really is split, so k threads really compute
    with TestClient(create_app(dist, threads=threads)) as client:
        got, used = infer(client, "threaded", x)
        assert got == want
        expected = min(threads, 3) if threads is not None else edgewasm.load(dist / "models" / "threaded").instance.threads
        assert used == expected
        assert infer(client, "threaded", x) == (want, used)  # the threads are reused, the bits stay
        assert infer(client, "single", x) == (want, 1)  # a default build runs on one thread whatever K is


def test_serve_threads_reaches_the_api_in_one_process_and_in_worker_processes(dist, monkeypatch):
    import edgewasm.serve as serve_package
    from edgewasm.cli import main
    from edgewasm.serve.workers import DIST_VARIABLE, THREADS_VARIABLE, app_from_environment

    calls = []
    monkeypatch.setattr(serve_package, "serve", lambda dist, **options: calls.append(options))
    assert main(["serve", "--dist", str(dist), "--threads", "2"]) == 0
    assert calls[-1]["threads"] == 2
    assert main(["serve", "--dist", str(dist), "--threads", "0"]) == 2  # a usage error
    monkeypatch.setenv(DIST_VARIABLE, str(dist))
    monkeypatch.setenv(THREADS_VARIABLE, "2")  # what serve_workers hands every uvicorn worker process
    x = np.random.default_rng(4).standard_normal((BATCH, 301)).astype(np.float32)
    with TestClient(app_from_environment()) as client:
        assert infer(client, "threaded", x)[1] == 2
